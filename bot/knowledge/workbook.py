"""The knowledge base as a spreadsheet (``knowledge.xlsx``) for staff who do not edit YAML.

:func:`export_workbook` writes the KB: a sheet that explains the columns, the entries (one
row each, English and Russian side by side), the news items and the out-of-scope examples,
and, in a hidden sheet, the version of the KB the workbook was made from.

:func:`read_workbook` reads an edited workbook back and checks it with the rules of
``kb check`` (:func:`bot.knowledge.validate.cross_check`); every problem names its cell
("Entries!F12: answer (ru): <b> is never closed"). Nothing here writes files: the result
says what would change (:class:`~bot.knowledge.diff.KBDiff`) and which edits would do it;
bot.knowledge.store writes them.

Formulas are refused, not evaluated: a cached value may be missing (files written by
programs that do not calculate) or out of date, and staff should see exactly the text the
bot will send.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from bot.knowledge.diff import KBDiff, diff
from bot.knowledge.loader import Collected
from bot.knowledge.models import ID_PATTERN, LANGS, Entry, KnowledgeBase, NewsItem
from bot.knowledge.validate import cross_check
from bot.knowledge.yamlsource import Problem
from bot.text.normalize import normalize

#: The largest workbook accepted (the shipped KB exports to about 60 KB; 1,000 entries to
#: about 1 MB). Telegram's getFile serves at most 20 MB, the bot refuses far earlier.
MAX_BYTES = 5 * 1024 * 1024
#: Unpacked size of the xlsx parts: an xlsx is a zip, a tiny file can unpack to gigabytes.
MAX_UNPACKED = 100 * 1024 * 1024
MAX_ROWS = 20_000
#: Errors listed in full; the rest are counted.
MAX_ERRORS = 50

HELP_SHEET = "How to edit"
ENTRIES = "Entries"
NEWS = "News"
OUT_OF_SCOPE = "Out of scope"
META = "meta"  # hidden: the KB version the workbook was exported from
FORMAT = 1


@dataclass(frozen=True)
class Column:
    header: str
    field: str  # the Entry/NewsItem field
    lang: str | None = None
    width: int = 20
    kind: str = "text"  # text | lines | words | bool | date
    required: bool = False  # the cell must not be empty
    en: str = ""
    ru: str = ""


def _cols(*spec: Column) -> tuple[Column, ...]:
    return spec


ENTRY_COLUMNS = _cols(
    Column("id", "id", width=30, required=True,
           en="The entry's stable name, lowercase words joined by dots: tuition.fees. Never "
              "change the id of an existing entry (statistics use it). A new row with a new "
              "id adds an entry; deleting a row removes the entry.",
           ru="Постоянное имя записи: слова латиницей в нижнем регистре через точку, "
              "например tuition.fees. Не меняйте id существующей записи (по нему ведётся "
              "статистика). Новая строка с новым id добавляет запись; удалённая строка "
              "удаляет запись."),
    Column("category", "category", width=16, required=True,
           en="The topic menu the entry belongs to (choose from the list).",
           ru="Раздел меню, к которому относится запись (выберите из списка)."),
    Column("title (en)", "title", "en", width=26,
           en="The button label in English (short).",
           ru="Надпись на кнопке по-английски (коротко)."),
    Column("title (ru)", "title", "ru", width=26,
           en="The button label in Russian.",
           ru="Надпись на кнопке по-русски."),
    Column("answer (en)", "answer", "en", width=70, required=True,
           en="What the bot answers in English. Formatting: <b>bold</b>, <i>italic</i>, "
              "<a href=\"https://…\">link</a>; every tag you open must be closed; write "
              "&lt; for < and &amp; for &.",
           ru="Ответ бота по-английски. Оформление: <b>жирный</b>, <i>курсив</i>, "
              "<a href=\"https://…\">ссылка</a>; каждый открытый тег нужно закрыть; вместо "
              "< пишите &lt;, вместо & — &amp;."),
    Column("answer (ru)", "answer", "ru", width=70, required=True,
           en="What the bot answers in Russian (same rules).",
           ru="Ответ бота по-русски (те же правила)."),
    Column("phrasings (en)", "questions", "en", width=45, kind="lines", required=True,
           en="How students ask in English, one question per line (Alt+Enter in Excel, "
              "Ctrl+Enter in Google Sheets). Short, long and misspelt ones all help; at "
              "least 3 are best.",
           ru="Как студенты спрашивают по-английски, по одному вопросу на строку (Alt+Enter "
              "в Excel, Ctrl+Enter в Google Таблицах). Полезны короткие, длинные и с "
              "опечатками; лучше не меньше трёх."),
    Column("phrasings (ru)", "questions", "ru", width=45, kind="lines", required=True,
           en="How students ask in Russian, one per line.",
           ru="Как студенты спрашивают по-русски, по одному на строку."),
    Column("keywords (en)", "keywords", "en", width=20, kind="words",
           en="Optional: words that point to this entry, separated by commas.",
           ru="Необязательно: слова, указывающие на эту запись, через запятую."),
    Column("keywords (ru)", "keywords", "ru", width=20, kind="words",
           en="Optional: the same in Russian.",
           ru="Необязательно: то же по-русски."),
    Column("related", "related", width=30, kind="words",
           en="Optional: ids of entries offered as follow-up buttons, separated by commas.",
           ru="Необязательно: id записей, которые бот предложит следом, через запятую."),
    Column("source", "source", width=26,
           en="Where the facts come from (a page, a document, a person).",
           ru="Откуда взяты сведения (страница, документ, сотрудник)."),
    Column("verified", "verified", width=10, kind="bool", required=True,
           en="yes = the facts are confirmed by the admissions office; no = to be checked.",
           ru="yes — сведения подтверждены приёмной комиссией; no — нужно проверить."),
)

NEWS_COLUMNS = _cols(
    Column("id", "id", width=30, required=True,
           en="The item's name: lowercase, digits, dashes: 2024-05-01-open-day.",
           ru="Имя новости: латиница в нижнем регистре, цифры, дефисы: 2024-05-01-open-day."),
    Column("date", "date", width=12, kind="date", required=True,
           en="The date of the news (YYYY-MM-DD).", ru="Дата новости (ГГГГ-ММ-ДД)."),
    Column("title (en)", "title", "en", width=30, required=True,
           en="Headline in English.", ru="Заголовок по-английски."),
    Column("title (ru)", "title", "ru", width=30, required=True,
           en="Headline in Russian.", ru="Заголовок по-русски."),
    Column("summary (en)", "summary", "en", width=45, required=True,
           en="One or two sentences shown in lists and digests.",
           ru="Одно-два предложения для списков и рассылок."),
    Column("summary (ru)", "summary", "ru", width=45, required=True,
           en="The same in Russian.", ru="То же по-русски."),
    Column("body (en)", "body", "en", width=60, required=True,
           en="The full text in English (same formatting as answers).",
           ru="Полный текст по-английски (оформление как в ответах)."),
    Column("body (ru)", "body", "ru", width=60, required=True,
           en="The full text in Russian.", ru="Полный текст по-русски."),
    Column("url", "url", width=30,
           en="Optional: the page of the news (https://…).",
           ru="Необязательно: страница новости (https://…)."),
    Column("tags", "tags", width=20, kind="words",
           en="Optional: lowercase words separated by commas (subscribers choose by tag).",
           ru="Необязательно: слова латиницей через запятую (подписчики выбирают по ним)."),
    Column("source", "source", width=26, en="Where the news comes from.",
           ru="Источник новости."),
    Column("verified", "verified", width=10, kind="bool", required=True,
           en="yes or no, as for entries.", ru="yes или no, как у записей."),
)

OUT_OF_SCOPE_COLUMNS = _cols(
    Column("lang", "lang", width=8, required=True,
           en="en or ru.", ru="en или ru."),
    Column("text", "text", width=70, required=True,
           en="A question the bot should not answer from the knowledge base (\"what is the "
              "weather in Minsk\"): similar questions get the polite fallback.",
           ru="Вопрос, на который бот не должен отвечать из базы знаний («какая погода в "
              "Минске»): на похожие вопросы бот ответит вежливым отказом."),
)

SHEETS: dict[str, tuple[Column, ...]] = {
    ENTRIES: ENTRY_COLUMNS, NEWS: NEWS_COLUMNS, OUT_OF_SCOPE: OUT_OF_SCOPE_COLUMNS}

INTRO_EN = (
    "Edit the sheets Entries, News and Out of scope, save as .xlsx (Excel, LibreOffice or "
    "Google Sheets: File → Download → Microsoft Excel) and send the file back to the bot. "
    "The bot checks everything first, shows what would change and waits for Confirm; a "
    "file with mistakes changes nothing, and each mistake is named by sheet, row and column "
    "(Entries!F12 = sheet Entries, column F, row 12). Do not rename or delete columns; "
    "type text, not formulas. Upload the file you exported: if someone changed the "
    "knowledge base meanwhile, export again and redo your change.")
INTRO_RU = (
    "Правьте листы Entries, News и Out of scope, сохраните файл как .xlsx (Excel, "
    "LibreOffice или Google Таблицы: Файл → Скачать → Microsoft Excel) и отправьте его "
    "боту. Бот сначала всё проверит, покажет, что изменится, и будет ждать подтверждения; "
    "файл с ошибками ничего не меняет, а каждая ошибка указана с листом, строкой и "
    "столбцом (Entries!F12 — лист Entries, столбец F, строка 12). Не переименовывайте и не "
    "удаляйте столбцы; пишите текст, а не формулы. Загружайте тот файл, который "
    "выгрузили: если кто-то тем временем изменил базу знаний, выгрузите её заново и "
    "повторите правку.")


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellError:
    """A problem with its place: ``Entries!F12: answer (ru): <b> is never closed``."""

    sheet: str | None
    row: int | None
    column: str | None  # the letter
    what: str | None  # the column's header
    message: str
    level: str = "error"

    def __str__(self) -> str:
        place = ""
        if self.sheet:
            place = self.sheet + ("!" + (self.column or "") + str(self.row) if self.row
                                  else f"!{self.column}1" if self.column else "")
        parts = [p for p in (place, self.what) if p]
        return ": ".join([*parts, self.message])


class WorkbookError(Exception):
    """The file cannot be read as a workbook at all (one message, no cells)."""


# --- export ----------------------------------------------------------------------------------


def _lines(values: Iterable[str]) -> str:
    return "\n".join(values)


def _words(values: Iterable[str]) -> str:
    return ", ".join(values)


def entry_row(e: Entry) -> list[Any]:
    out: list[Any] = []
    for c in ENTRY_COLUMNS:
        value = getattr(e, c.field)
        if c.lang:
            value = value.get(c.lang, [] if c.kind in ("lines", "words") else "")
        if c.kind == "lines":
            value = _lines(value)
        elif c.kind == "words":
            value = _words(value)
        elif c.kind == "bool":
            value = "yes" if value else "no"
        elif isinstance(value, str):
            value = value.strip()
        out.append(value if value is not None else "")
    return out


def news_row(n: NewsItem) -> list[Any]:
    out: list[Any] = []
    for c in NEWS_COLUMNS:
        value = getattr(n, c.field)
        if c.lang:
            value = value.get(c.lang, "")
        if c.kind == "words":
            value = _words(value)
        elif c.kind == "bool":
            value = "yes" if value else "no"
        elif c.kind == "date":
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip()
        out.append(value if value is not None else "")
    return out


def out_of_scope_of(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The KB's out-of-scope examples as (lang, text)."""
    return [(x.lang or "", x.text) for x in getattr(kb, "out_of_scope", ())]


def export_workbook(kb: KnowledgeBase, version: str) -> bytes:
    """The KB as xlsx bytes; ``version`` (:meth:`KbStore.version`'s id) goes in a hidden
    sheet, so an upload made from an older version can be refused."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")

    help_ws = wb.active
    help_ws.title = HELP_SHEET
    help_ws.column_dimensions["A"].width = 18
    help_ws.column_dimensions["B"].width = 60
    help_ws.column_dimensions["C"].width = 60
    help_ws.append(["", "English", "Русский"])
    help_ws.append(["", INTRO_EN, INTRO_RU])
    for sheet, columns in SHEETS.items():
        help_ws.append([])
        help_ws.append([sheet])
        help_ws.cell(help_ws.max_row, 1).font = bold
        for c in columns:
            must = (" Required.", " Обязательно.") if c.required else ("", "")
            help_ws.append([c.header, c.en + must[0], c.ru + must[1]])
    help_ws.append([])
    help_ws.append(["version", f"Exported from knowledge-base version {version}.",
                    f"Выгружено из версии базы знаний {version}."])
    for row in help_ws.iter_rows():
        for cell in row:
            cell.alignment = wrap
    for cell in help_ws[1]:
        cell.font = bold

    def table(title: str, columns: Sequence[Column], rows: Iterable[list[Any]]):
        ws = wb.create_sheet(title)
        ws.append([c.header for c in columns])
        for cell in ws[1]:
            cell.font = bold
            cell.fill = head_fill
        for i, c in enumerate(columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        for values in rows:
            ws.append(values)
            r = ws.max_row
            longest = 1
            for i, value in enumerate(values, 1):
                cell = ws.cell(r, i)
                if isinstance(value, str):
                    if value.startswith("="):
                        cell.data_type = "s"  # text that looks like a formula stays text
                    width = columns[i - 1].width
                    lines = sum(1 + len(line) // max(width, 1) for line in value.split("\n"))
                    longest = max(longest, lines)
                cell.alignment = wrap
            ws.row_dimensions[r].height = min(15 * longest, 200)
        ws.freeze_panes = "B2" if title != OUT_OF_SCOPE else "A2"
        ws.auto_filter.ref = ws.dimensions
        return ws

    entries = table(ENTRIES, ENTRY_COLUMNS, (entry_row(e) for e in kb.entries.values()))
    news = table(NEWS, NEWS_COLUMNS, (news_row(n) for n in kb.news))
    table(OUT_OF_SCOPE, OUT_OF_SCOPE_COLUMNS,
          ([lang, text] for lang, text in out_of_scope_of(kb)))

    def choices(ws, columns: Sequence[Column], header: str, values: Sequence[str]) -> None:
        col = get_column_letter(next(i for i, c in enumerate(columns, 1) if c.header == header))
        dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"',
                            allow_blank=True, showErrorMessage=True)
        dv.error = "Choose from the list / выберите из списка"
        ws.add_data_validation(dv)
        dv.add(f"{col}2:{col}{MAX_ROWS}")

    choices(entries, ENTRY_COLUMNS, "verified", ["yes", "no"])
    choices(news, NEWS_COLUMNS, "verified", ["yes", "no"])
    cats = sorted(kb.categories)
    if len(",".join(cats)) < 250:  # Excel's limit for an inline list
        choices(entries, ENTRY_COLUMNS, "category", cats)

    meta = wb.create_sheet(META)
    meta.append(["kb_version", version])
    meta.append(["format", FORMAT])
    meta.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import ----------------------------------------------------------------------------------


@dataclass
class Upload:
    """What an uploaded workbook proposes, checked against the current KB."""

    version: str | None  # the KB version it was exported from
    errors: list[CellError] = field(default_factory=list)
    warnings: list[CellError] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)  # proposed, in sheet order
    news: list[NewsItem] = field(default_factory=list)
    out_of_scope: list[tuple[str, str]] = field(default_factory=list)
    out_of_scope_read: bool = False  # the sheet was there (else: left as it is)
    kb: KnowledgeBase | None = None  # the proposed KB (None when there are errors)
    changes: KBDiff | None = None
    out_of_scope_added: list[tuple[str, str]] = field(default_factory=list)
    out_of_scope_removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        return (self.changes is None or self.changes.empty) and not (
            self.out_of_scope_added or self.out_of_scope_removed)

    def summary_lines(self) -> list[str]:
        """What would change, a line each (entries, phrasings, answers old → new, news,
        out-of-scope examples)."""
        lines = [] if self.changes is None or self.changes.empty else self.changes.lines()
        if self.out_of_scope_added:
            lines.append(f"out-of-scope examples added ({len(self.out_of_scope_added)}): "
                         + ", ".join(f"[{lang}] {text}"
                                     for lang, text in self.out_of_scope_added[:10]))
        if self.out_of_scope_removed:
            lines.append(f"out-of-scope examples removed ({len(self.out_of_scope_removed)}): "
                         + ", ".join(f"[{lang}] {text}"
                                     for lang, text in self.out_of_scope_removed[:10]))
        return lines or ["no changes"]


class _Sheet:
    """One table of the workbook: its header row mapped to columns, cell checks."""

    def __init__(self, name: str, rows: list[tuple[Any, ...]], columns: Sequence[Column],
                 errors: list[CellError]):
        from openpyxl.utils import get_column_letter

        self.name = name
        self.columns = columns
        self.errors = errors
        self.letter = get_column_letter
        header = rows[0] if rows else ()
        found: dict[str, int] = {}
        unknown: list[tuple[int, str]] = []
        for i, cell in enumerate(header):
            value = _value(cell)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            key = " ".join(str(value).split()).lower()
            if key in found:
                self.error(1, i, None, f"the column {str(value)!r} appears twice")
            elif any(c.header == key for c in columns):
                found[key] = i
            else:
                unknown.append((i, str(value)))
        self.index: dict[str, int] = {}
        for c in columns:
            if c.header in found:
                self.index[c.header] = found[c.header]
                continue
            hint = ""
            if unknown:
                hint = "; unknown column" + ("s " if len(unknown) > 1 else " ") + ", ".join(
                    f"{self.letter(i + 1)}1 {name!r}" for i, name in unknown) + \
                    ": was it renamed?"
            self.errors.append(CellError(name, None, None, None,
                                         f"the column {c.header!r} is missing (renamed or "
                                         f"deleted?): put back the header row as exported"
                                         + hint))
        self.complete = len(self.index) == len(columns)
        self.rows = rows[1:]

    def filled(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(row number as the spreadsheet shows it, values) of every row that is not blank."""
        for offset, values in enumerate(self.rows):
            if not _blank(values):
                yield offset + 2, values

    def read(self, row_no: int, values: tuple[Any, ...]) -> tuple[dict[str, Any], bool]:
        """The row's cells by header, and whether they were all read without an error."""
        before = len(self.errors)
        cells = {c.header: self.cell(row_no, values, c) for c in self.columns}
        return cells, len(self.errors) == before

    def error(self, row: int, col: int | None, what: str | None, message: str,
              level: str = "error") -> CellError:
        err = CellError(self.name, row, self.letter(col + 1) if col is not None else None,
                        what, message, level)
        self.errors.append(err)
        return err

    def cell(self, row_no: int, values: tuple[Any, ...], c: Column) -> Any:
        """The cell's value as the column's kind, or None (empty or refused with an error)."""
        i = self.index[c.header]
        raw = values[i] if i < len(values) else None
        if _is_formula(raw):
            self.error(row_no, i, c.header, f"a formula ({_value(raw)}): type the text itself "
                       "(copy the cells, then paste as values only)")
            return None
        value = _value(raw)
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n")
            if not value.strip():
                value = None
        if value is None:
            if c.required:
                self.error(row_no, i, c.header, "empty: this cell is required")
            return None
        if c.kind == "bool":
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower() if isinstance(value, str) else None
            if word in ("yes", "true", "да", "y", "1"):
                return True
            if word in ("no", "false", "нет", "n", "0"):
                return False
            self.error(row_no, i, c.header, f"{_shown(value)}: write yes or no")
            return None
        if c.kind == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value.strip())
                except ValueError:
                    pass
            self.error(row_no, i, c.header, f"{_shown(value)}: not a date (YYYY-MM-DD)")
            return None
        if isinstance(value, bool | int | float):
            self.error(row_no, i, c.header,
                       f"a number ({value}) where text belongs: format the cell as "
                       "text or type an apostrophe first ('2024)")
            return None
        if isinstance(value, datetime | date):
            self.error(row_no, i, c.header,
                       f"a date ({value:%Y-%m-%d}) where text belongs: format the cell as "
                       "text")
            return None
        text = str(value)
        if c.kind == "lines":
            return [" ".join(line.split()) for line in text.split("\n") if line.strip()]
        if c.kind == "words":
            return [w.strip() for w in re.split(r"[,;\n]+", text) if w.strip()]
        return text.strip()


def _is_formula(cell: Any) -> bool:
    return getattr(cell, "data_type", None) == "f"


def _value(cell: Any) -> Any:
    value = getattr(cell, "value", cell)
    if type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        return getattr(value, "text", str(value))
    return value


def _shown(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _blank(values: tuple[Any, ...]) -> bool:
    for cell in values:
        v = _value(cell)
        if v is not None and not (isinstance(v, str) and not v.strip()):
            return False
    return True


def _open(data: bytes):
    """The workbook, or :class:`WorkbookError` saying in one line what the file is."""
    from openpyxl import load_workbook

    if len(data) > MAX_BYTES:
        raise WorkbookError(f"the file is {len(data) / 1048576:.1f} MB; at most "
                            f"{MAX_BYTES // 1048576} MB is accepted")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise WorkbookError("this is an old Excel 97-2003 (.xls) file or a password-protected "
                            "workbook: save it as Excel Workbook (.xlsx), without a password")
    not_xlsx = ("the file is not an Excel workbook (.xlsx) even if its name says so: open it "
                "in Excel, LibreOffice or Google Sheets and save or download it as .xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise WorkbookError(not_xlsx) from exc
    if "xl/workbook.xml" not in names:
        if "content.xml" in names:
            raise WorkbookError("this is an OpenDocument spreadsheet (.ods): save it as Excel "
                                "Workbook (.xlsx)")
        raise WorkbookError(not_xlsx)
    if unpacked > MAX_UNPACKED:
        raise WorkbookError(f"the workbook unpacks to {unpacked // 1048576} MB; at most "
                            f"{MAX_UNPACKED // 1048576} MB is accepted")
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(f"{not_xlsx} ({type(exc).__name__})") from exc


def _version(wb) -> str | None:
    """The version the workbook was exported from: the hidden sheet, else the line the
    first sheet shows (for programs that drop hidden sheets)."""
    if META in wb.sheetnames:
        for row in wb[META].iter_rows(max_row=5, max_col=2, values_only=True):
            if row and row[0] == "kb_version" and len(row) > 1 and row[1]:
                return str(row[1]).strip()
    if HELP_SHEET in wb.sheetnames:
        for row in wb[HELP_SHEET].iter_rows(max_col=2, values_only=True):
            if row and row[0] == "version" and len(row) > 1 and isinstance(row[1], str):
                m = re.search(r"version ([0-9a-f]{8,64})\b", row[1])
                if m:
                    return m.group(1)
    return None


def _rows(ws) -> list[tuple[Any, ...]]:
    out = []
    for i, row in enumerate(ws.iter_rows()):
        if i > MAX_ROWS:
            break
        out.append(tuple(row))
    return out


def read_workbook(data: bytes, current: KnowledgeBase) -> Upload:
    """Read an uploaded workbook, check it like ``kb check`` and compare it with ``current``.
    :class:`WorkbookError` when the file is not a readable workbook at all."""
    wb = _open(data)
    try:
        up = Upload(version=_version(wb))
        errors: list[CellError] = []
        sheets = {}
        for name, columns in SHEETS.items():
            if name not in wb.sheetnames:
                if name == OUT_OF_SCOPE:
                    continue  # older exports: the examples stay as they are
                errors.append(CellError(name, None, None, None,
                                        "the sheet is missing (renamed or deleted?)"))
                continue
            rows = _rows(wb[name])
            if len(rows) > MAX_ROWS:
                errors.append(CellError(name, None, None, None,
                                        f"more than {MAX_ROWS} rows"))
                continue
            sheets[name] = _Sheet(name, rows, columns, errors)
    finally:
        wb.close()
    if up.version is None:
        errors.append(CellError(None, None, None, None,
                                "the workbook does not say which version of the knowledge "
                                "base it was exported from (its hidden 'meta' sheet and the "
                                "version line of 'How to edit' are missing): export a fresh "
                                "one and make the changes there"))
    entries_sheet, news_sheet = sheets.get(ENTRIES), sheets.get(NEWS)
    broken: set[str] = set()  # ids of rows refused above: not "does not exist" again below
    entries = _read_entries(entries_sheet, current, broken) \
        if entries_sheet and entries_sheet.complete else []
    news = _read_news(news_sheet, current, broken) \
        if news_sheet and news_sheet.complete else []
    oos_sheet = sheets.get(OUT_OF_SCOPE)
    oos: list[Any] = list(getattr(current, "out_of_scope", ()))
    if oos_sheet is not None and oos_sheet.complete:
        oos = _read_out_of_scope(oos_sheet)
        up.out_of_scope = [(x.lang or "", x.text) for x in oos]
        up.out_of_scope_read = True
    up.errors = [e for e in errors if e.level == "error"]
    up.warnings = [e for e in errors if e.level == "warning"]
    if not (entries_sheet and entries_sheet.complete and news_sheet and news_sheet.complete):
        return up
    # The cross-entry rules run even after mistakes in cells: every mistake in one answer.
    kb, problems = _check(entries, news, oos, current, broken)
    for p in problems:
        err = _place(p, entries_sheet, news_sheet, oos_sheet, entries)
        if err is not None:
            (up.errors if err.level == "error" else up.warnings).append(err)
    up.entries = {e.id: e for e in entries}
    up.news = news
    if up.errors:
        return up
    up.kb = kb
    up.changes = diff(current, kb)
    if up.out_of_scope_read:
        old = out_of_scope_of(current)
        new = [(x.lang or "", x.text) for x in kb.out_of_scope] \
            if hasattr(kb, "out_of_scope") else up.out_of_scope
        keyed_old = {normalize(text) for _, text in old}
        keyed_new = {normalize(text) for _, text in new}
        up.out_of_scope_added = [x for x in new if normalize(x[1]) not in keyed_old]
        up.out_of_scope_removed = [x for x in old if normalize(x[1]) not in keyed_new]
    return up


_ID_HELP = "lowercase Latin letters, digits and _, at least two parts joined by dots " \
           "(tuition.fees)"


def _friendly(msg: str, loc: tuple) -> str:
    if "should match pattern" in msg:
        if ID_PATTERN in msg or loc[:1] == ("id",):
            return f"not a valid id: {_ID_HELP}"
        return "not in the expected form"
    return msg.removeprefix("Value error, ")


def _same_text(old: str | None, new: str | None) -> bool:
    """Spreadsheets drop a trailing newline and change line ends: not a change."""
    if old is None or new is None:
        return old == new
    return old.strip() == new.strip()


def _read_entries(sheet: _Sheet, current: KnowledgeBase, broken: set[str]) -> list[Entry]:
    out: list[Entry] = []
    by_header = {c.header: c for c in sheet.columns}
    for row_no, values in sheet.filled():
        cells, read = sheet.read(row_no, values)
        if not read and cells["id"] is None:
            continue
        entry_id = cells["id"]
        old = current.entries.get(entry_id) if entry_id else None
        raw: dict[str, Any] = {"id": entry_id, "category": cells["category"],
                               "title": {}, "answer": {}, "questions": {}, "keywords": {}}
        for header, value in cells.items():
            c = by_header[header]
            if c.lang is None or value is None:
                continue
            if c.field in ("answer", "title") and old is not None:
                previous = getattr(old, c.field).get(c.lang)
                if _same_text(previous, value):
                    value = previous
            elif c.kind in ("lines", "words") and old is not None:
                previous = getattr(old, c.field).get(c.lang) or []
                if sorted(previous) == sorted(value):
                    value = list(previous)  # reordered only: not a change
            raw[c.field][c.lang] = value
        raw["related"] = cells["related"] or []
        if old is not None and sorted(old.related) == sorted(raw["related"]):
            raw["related"] = list(old.related)
        raw["source"] = cells["source"]
        if old is not None and _same_text(old.source, raw["source"]):
            raw["source"] = old.source
        raw["verified"] = cells["verified"] if cells["verified"] is not None else True
        if old is not None:  # what the sheet does not show stays as it is
            raw.update(action=old.action, news=list(old.news), aliases=list(old.aliases))
        if not read or raw["category"] is None:
            broken.add(entry_id)
            continue
        try:
            out.append(Entry.model_validate({**raw, "line": row_no, "file": ENTRIES}))
        except ValidationError as exc:
            broken.add(entry_id)
            for err in exc.errors():
                loc = tuple(err["loc"])
                col = _entry_column(loc)
                i = sheet.index[col.header] if col else sheet.index["id"]
                sheet.error(row_no, i, col.header if col else "id", _friendly(err["msg"], loc))
    return out


def _entry_column(loc: tuple) -> Column | None:
    if not loc:
        return None
    name = loc[0]
    lang = loc[1] if len(loc) > 1 and loc[1] in LANGS else None
    for c in ENTRY_COLUMNS:
        if c.field == name and (c.lang is None or c.lang == lang):
            return c
    return None


def _read_news(sheet: _Sheet, current: KnowledgeBase, broken: set[str]) -> list[NewsItem]:
    out: list[NewsItem] = []
    old_by_id = {n.id: n for n in current.news}
    for row_no, values in sheet.filled():
        cells, read = sheet.read(row_no, values)
        if not read:
            if cells["id"]:
                broken.add(cells["id"])
            continue
        old = old_by_id.get(cells["id"])
        raw: dict[str, Any] = {"title": {}, "summary": {}, "body": {}}
        for c in sheet.columns:
            value = cells[c.header]
            if c.lang is None:
                raw[c.field] = value
            else:
                if old is not None and _same_text(getattr(old, c.field).get(c.lang), value):
                    value = getattr(old, c.field)[c.lang]
                raw[c.field][c.lang] = value
        raw["tags"] = raw["tags"] or []
        if old is not None and _same_text(old.source, raw["source"]):
            raw["source"] = old.source
        try:
            out.append(NewsItem.model_validate({**raw, "line": row_no, "file": NEWS}))
        except ValidationError as exc:
            broken.add(str(raw["id"]))
            for err in exc.errors():
                loc = tuple(err["loc"])
                col = next((c for c in NEWS_COLUMNS if c.field == loc[0] and (
                    c.lang is None or (len(loc) > 1 and c.lang == loc[1]))), None)
                header = col.header if col else "id"
                msg = err["msg"]
                if "should match pattern" in msg:
                    msg = ("an address starting with https://" if header == "url" else
                           "lowercase letters, digits, '.', '-' and '_' only")
                sheet.error(row_no, sheet.index[header], header,
                            msg.removeprefix("Value error, "))
    return out


def _read_out_of_scope(sheet: _Sheet) -> list[Any]:
    from bot.knowledge import models

    out: list[Any] = []
    for row_no, values in sheet.filled():
        lang_col, text_col = sheet.columns
        lang = sheet.cell(row_no, values, lang_col)
        text = sheet.cell(row_no, values, text_col)
        if lang is not None and lang.lower() not in LANGS:
            sheet.error(row_no, sheet.index["lang"], "lang", f"{_shown(lang)}: write en or ru")
            continue
        if lang and text:
            out.append(models.OutOfScope(lang=lang.lower(), text=" ".join(text.split()),
                                         line=row_no, file=OUT_OF_SCOPE))
    return out


def _check(entries: list[Entry], news: list[NewsItem], out_of_scope: list[Any],
           current: KnowledgeBase, broken: set[str] = frozenset()
           ) -> tuple[KnowledgeBase, list[Problem]]:
    """The proposed KB and its problems: ``kb check``'s cross-file rules, with the current
    categories, synonyms and neutral words (the workbook does not edit those)."""
    found = Collected(entries=list(entries), categories=list(current.categories.values()),
                      synonyms=[list(g) for g in current.synonyms],
                      neutral=sorted(current.neutral), news=list(news),
                      files=list(current.files), broken=set(broken))
    if hasattr(found, "out_of_scope"):
        found.out_of_scope = list(out_of_scope)
    kb, problems = cross_check(found)
    return kb, problems


_FIELD_HEADER = {"questions": "phrasings"}


def _place(p: Problem, entries_sheet: _Sheet, news_sheet: _Sheet, oos_sheet: _Sheet | None,
           entries: list[Entry]) -> CellError | None:
    """A problem of cross_check named by its cell (None: one the workbook cannot cause)."""
    msg = p.message
    if p.file == ENTRIES:
        sheet = entries_sheet
        row_entry = next((e for e in entries if e.line == p.line), None)
    elif p.file == NEWS:
        sheet = news_sheet
        row_entry = None
    elif p.file == OUT_OF_SCOPE and oos_sheet is not None:
        msg = re.sub(r"\(first at [^:]*:(\d+)\)", r"(first in row \1)", msg)
        return CellError(OUT_OF_SCOPE, p.line, oos_sheet.letter(oos_sheet.index["text"] + 1),
                         "text", msg, p.level)
    else:
        if p.level == "error":  # e.g. a category file: not the workbook's doing, but it blocks
            return CellError(None, None, None, None, str(p))
        if p.entry and "required topic" in msg:
            return CellError(ENTRIES, None, None, None,
                             f"{p.entry}: a topic the bot needs is missing (was its row "
                             "deleted?)", "warning")
        return None
    header = "id"
    m = re.match(r"(\w+)\.(en|ru)(?::| is)", msg)
    if m:
        header = f"{_FIELD_HEADER.get(m.group(1), m.group(1))} ({m.group(2)})"
        msg = msg[len(m.group(1)) + len(m.group(2)) + 1:].lstrip(": ")
        msg = msg.replace("Telegram would reject the HTML: ", "")
    elif m := re.match(r"missing (en|ru) version of '(\w+)'", msg):
        header = f"{_FIELD_HEADER.get(m.group(2), m.group(2))} ({m.group(1)})"
        msg = "missing: " + ("at least one phrasing is needed" if m.group(2) == "questions"
                             else "write it in both English and Russian")
    elif m := re.match(r"only \d+ (en|ru) phrasing", msg):
        header = f"phrasings ({m.group(1)})"
    elif msg.startswith("unknown category"):
        header = "category"
        msg += " (choose one from the list)"
    elif "related" in msg:
        header = "related"
    elif msg.startswith("phrasing "):
        m = re.match(r"phrasing '(.*)' is", msg) or re.match(r'phrasing "(.*)" is', msg)
        key = normalize(m.group(1)) if m else ""
        header = "phrasings (en)"
        if row_entry is not None:
            for lang in LANGS:
                if any(normalize(q) == key for q in row_entry.questions.get(lang, [])):
                    header = f"phrasings ({lang})"
                    break
    elif msg.startswith("duplicate"):
        msg = re.sub(r"\(first at [^:]*:(\d+)\)", r"(first in row \1)", msg)
    if p.file == NEWS and header not in sheet.index:
        header = "id"
    if header not in sheet.index:
        header = "id"
    return CellError(sheet.name, p.line, sheet.letter(sheet.index[header] + 1), header, msg,
                     p.level)


# --- the change set --------------------------------------------------------------------------


def _text_like(old: str | None, new: str) -> str:
    """Keep the YAML's convention of a final newline on block answers."""
    if old is not None and old.endswith("\n") and not new.endswith("\n"):
        return new + "\n"
    return new


def _per_lang(old: dict, new: dict, text: bool) -> dict | None:
    out: dict = {}
    for lang in sorted(set(old) | set(new)):
        a, b = old.get(lang), new.get(lang)
        if a == b:
            continue
        out[lang] = None if b is None else (_text_like(a, b) if text else list(b))
    return out or None


def _entry_fields(e: Entry) -> dict[str, Any]:
    """A new entry as the YAML will hold it (empty optional fields left out)."""
    data: dict[str, Any] = {"id": e.id, "category": e.category}
    if e.title:
        data["title"] = dict(e.title)
    data["questions"] = {lang: list(q) for lang, q in e.questions.items()}
    data["answer"] = dict(e.answer)
    if e.keywords:
        data["keywords"] = {lang: list(k) for lang, k in e.keywords.items()}
    if e.related:
        data["related"] = list(e.related)
    if e.source:
        data["source"] = e.source
    data["verified"] = e.verified
    return data


def _news_fields(n: NewsItem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": n.id, "date": n.date}
    if n.tags:
        data["tags"] = list(n.tags)
    if n.url:
        data["url"] = n.url
    if n.source:
        data["source"] = n.source
    data["verified"] = n.verified
    for name in ("title", "summary", "body"):
        data[name] = dict(getattr(n, name))
    return data


def edits_for(current: KnowledgeBase, up: Upload) -> list:
    """The :class:`~bot.knowledge.store.EntryEdit` list that turns ``current`` into what the
    workbook proposes: entries and news items added, changed (only the fields and languages
    that changed; phrasings removed, then added) and removed; out-of-scope examples added."""
    from bot.knowledge.store import EntryEdit

    out: list = []
    for eid, new in up.entries.items():
        old = current.entries.get(eid)
        if old is None:
            out.append(EntryEdit.add_entry(_entry_fields(new)))
            continue
        fields: dict[str, Any] = {}
        for name, text in (("title", True), ("answer", True), ("keywords", False)):
            change = _per_lang(getattr(old, name), getattr(new, name), text)
            if change:
                fields[name] = change
        for name in ("category", "related", "source", "verified"):
            if getattr(old, name) != getattr(new, name):
                fields[name] = getattr(new, name)
        if fields:
            out.append(EntryEdit.set(eid, **fields))
        for lang in LANGS:
            before, after = old.questions.get(lang, []), new.questions.get(lang, [])
            removed = [q for q in before if q not in after]
            added = [q for q in after if q not in before]
            if removed:
                out.append(EntryEdit.remove_phrasings(eid, lang, removed))
            if added:
                out.append(EntryEdit.add_phrasings(eid, lang, added))
    out.extend(EntryEdit.remove_entry(eid) for eid in current.entries
               if eid not in up.entries)
    old_news = {n.id: n for n in current.news}
    new_news = {n.id: n for n in up.news}
    for nid, n in new_news.items():
        o = old_news.get(nid)
        if o is None:
            out.append(EntryEdit.add_news(_news_fields(n)))
            continue
        a, b = _news_fields(o), _news_fields(n)
        fields = {}
        for k in sorted(set(a) | set(b)):
            if a.get(k) == b.get(k):
                continue
            if k in ("title", "summary", "body"):
                fields[k] = {lang: _text_like(a[k].get(lang), text)
                             for lang, text in b[k].items()}
            else:
                fields[k] = b.get(k)
        if fields:
            out.append(EntryEdit.set_news(nid, **fields))
    out.extend(EntryEdit.remove_news(nid) for nid in old_news if nid not in new_news)
    for lang in LANGS:
        texts = [text for x_lang, text in up.out_of_scope_added if x_lang == lang]
        if texts:
            out.append(EntryEdit.add_out_of_scope(lang, texts))
    if up.out_of_scope_removed:
        for lang in LANGS:
            texts = [text for x_lang, text in up.out_of_scope_removed if x_lang == lang]
            if texts:
                out.append(EntryEdit.remove_out_of_scope(lang, texts))
    return out


def summary_of(up: Upload) -> str:
    """One line for the history: "spreadsheet: 1 added, 2 changed, 0 removed"."""
    c = up.changes
    parts = []
    if c is not None:
        for label, items in (("added", c.added), ("changed", c.changed),
                             ("removed", c.removed)):
            if items:
                parts.append(f"{len(items)} {label}")
        news = len(c.news_added) + len(c.news_changed) + len(c.news_removed)
        if news:
            parts.append(f"{news} news")
    oos = len(up.out_of_scope_added) + len(up.out_of_scope_removed)
    if oos:
        parts.append(f"{oos} out-of-scope")
    return "spreadsheet: " + (", ".join(parts) or "no changes")


# --- from files to files (the bot's handlers and the command line) ---------------------------


@dataclass
class Prepared:
    """An upload checked against the files as they are now."""

    upload: Upload
    current: KnowledgeBase
    version: str  # the files' version now
    last_change: Any = None  # the newest HistoryItem, for "changed since by …"

    @property
    def stale(self) -> bool:
        return self.upload.version is not None and self.upload.version != self.version


def export_from(store) -> tuple[bytes, KnowledgeBase, str]:
    """Export the files under ``store.root`` (a :class:`~bot.knowledge.store.KbStore`):
    the workbook, the KB it shows and its version. :class:`KBError` when they have errors."""
    from bot.knowledge.loader import load_knowledge

    for _ in range(3):  # a change landing between hashing and reading: read again
        version = store.version().id
        kb, _problems = load_knowledge(store.root)
        if store.version().id == version:
            break
    return export_workbook(kb, version), kb, version


def prepare(store, data: bytes) -> Prepared:
    """Read an uploaded workbook against the files under ``store.root``.
    :class:`WorkbookError` for a file that is not a workbook, :class:`KBError` when the
    files themselves have errors."""
    from bot.knowledge.loader import load_knowledge

    version = store.version().id
    current, _problems = load_knowledge(store.root)
    up = read_workbook(data, current)
    prepared = Prepared(up, current, version)
    if prepared.stale:
        prepared.last_change = next(iter(store.history(limit=1)), None)
    return prepared


def save(store, prepared: Prepared, author: str) -> str:
    """Write what a checked upload changes (only when it has no errors and is not stale);
    the new version. Raises the store's StaleVersion or KbInvalid."""
    from bot.knowledge.store import KbVersion

    up = prepared.upload
    if not up.ok or up.version is None:
        raise ValueError("the workbook has errors")
    edits = edits_for(prepared.current, up)
    return store.apply(edits, author=author, summary=summary_of(up),
                       base=KbVersion(up.version)).id
