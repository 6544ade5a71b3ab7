"""The knowledge base as a spreadsheet (bot/knowledge/workbook.py) and ``kb export`` /
``kb import``: the round trip without edits changes nothing; edits become the store's edits
and land in the YAML with comments kept; every broken workbook is refused with its cell."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app.cli import main
from bot.knowledge import load_knowledge
from bot.knowledge.store import KbStore
from bot.knowledge.workbook import (
    ENTRIES,
    MAX_BYTES,
    WorkbookError,
    edits_for,
    export_from,
    export_workbook,
    prepare,
    read_workbook,
    save,
)
from tests.support.kb import KNOWLEDGE, copy_knowledge


@pytest.fixture(scope="module")
def shipped():
    kb, _ = load_knowledge(KNOWLEDGE)
    return kb, export_workbook(kb, "v1")


def edited(data: bytes, change: Callable) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ENTRIES]
    cols = {c.value: i + 1 for i, c in enumerate(ws[1])}
    change(wb, ws, cols)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row_of(ws, entry_id: str) -> int:
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == entry_id)


def cell(entry_id: str, column: str, value) -> Callable:
    def change(wb, ws, cols):
        ws.cell(row_of(ws, entry_id), cols[column]).value = value
    return change


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.yaml"))
            if ".history" not in p.parts}


def test_round_trip_without_edits_is_no_change(shipped) -> None:
    kb, data = shipped
    up = read_workbook(data, kb)
    assert up.ok, up.errors
    assert up.version == "v1"
    assert up.empty and up.summary_lines() == ["no changes"]
    assert edits_for(kb, up) == []
    assert up.warnings == []


def test_the_workbook_explains_itself_and_hides_the_version(shipped) -> None:
    kb, data = shipped
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["How to edit", "Entries", "News", "Out of scope", "meta"]
    assert wb["meta"].sheet_state == "hidden"
    ws = wb[ENTRIES]
    assert [c.value for c in ws[1]] == [
        "id", "category", "title (en)", "title (ru)", "answer (en)", "answer (ru)",
        "phrasings (en)", "phrasings (ru)", "keywords (en)", "keywords (ru)", "related",
        "source", "verified"]
    assert ws.freeze_panes == "B2"
    assert ws.max_row == len(kb.entries) + 1
    assert ws["E2"].alignment.wrap_text
    helptext = "\n".join(str(c.value) for row in wb["How to edit"].iter_rows() for c in row
                         if c.value)
    assert "one question per line" in helptext and "по одному вопросу на строку" in helptext


def test_text_that_looks_like_a_formula_stays_text(shipped) -> None:
    kb, _ = shipped
    entry = kb.entries["tuition.fees"]
    odd = entry.model_copy(update={"source": "=SUM(A1) is not a formula here"})
    kb2 = type(kb)(**{**kb.__dict__, "entries": {**kb.entries, entry.id: odd}})
    up = read_workbook(export_workbook(kb2, "v"), kb2)
    assert up.ok and up.empty


@pytest.mark.parametrize("change, expected", [
    (cell("tuition.fees", "answer (ru)", "<b>Стоимость"),
     "answer (ru): <b> is never closed"),
    (cell("about.history", "id", "about.overview"), "id: duplicate id (first in row"),
    (cell("visa.process", "answer (ru)", None), "answer (ru): empty: this cell is required"),
    (cell("visa.process", "phrasings (en)", "  "), "phrasings (en): empty: this cell is "
                                                    "required"),
    (cell("visa.process", "id", "Visa"), "id: not a valid id"),
    (cell("visa.process", "category", "nowhere"), "category: unknown category 'nowhere'"),
    (cell("visa.process", "related", "no.such"), "related: related id 'no.such' does not"),
    (cell("visa.process", "answer (en)", 42), "answer (en): a number (42) where text belongs"),
    (cell("visa.process", "verified", "maybe"), "verified: 'maybe': write yes or no"),
    (cell("visa.process", "title (en)", "=A1"), "title (en): a formula (=A1)"),
    (cell("visa.process", "answer (en)", "x" * 5000),
     "answer (en): is 5000 characters; Telegram's limit is 4096"),
])
def test_each_mistake_is_named_by_its_cell(shipped, change, expected) -> None:
    kb, data = shipped
    up = read_workbook(edited(data, change), kb)
    assert not up.ok and up.kb is None
    text = "\n".join(str(e) for e in up.errors)
    assert expected in text
    assert all(str(e).startswith("Entries!") for e in up.errors), text


def test_the_row_and_column_letter(shipped) -> None:
    kb, data = shipped

    def change(wb, ws, cols):
        ws.cell(12, cols["answer (ru)"]).value = "<b>x"

    (err,) = read_workbook(edited(data, change), kb).errors
    assert str(err) == "Entries!F12: answer (ru): <b> is never closed"


def test_a_phrasing_in_two_entries_names_the_language_column(shipped) -> None:
    kb, data = shipped
    other = kb.entries["visa.process"].questions["ru"][0]

    def change(wb, ws, cols):
        c = ws.cell(row_of(ws, "tuition.fees"), cols["phrasings (ru)"])
        c.value += "\n" + other

    errors = [str(e) for e in read_workbook(edited(data, change), kb).errors]
    assert any("phrasings (ru): phrasing" in e and "is also in visa.process" in e
               for e in errors), errors


@pytest.mark.parametrize("change, expected", [
    (lambda wb, ws, cols: setattr(ws.cell(1, cols["answer (ru)"]), "value", "Answer RU"),
     "Entries: the column 'answer (ru)' is missing (renamed or deleted?): put back the "
     "header row as exported; unknown column F1 'Answer RU': was it renamed?"),
    (lambda wb, ws, cols: ws.delete_cols(cols["keywords (en)"]),
     "Entries: the column 'keywords (en)' is missing (renamed or deleted?): put back the "
     "header row as exported"),
    (lambda wb, ws, cols: wb.remove(wb["News"]), "News: the sheet is missing"),
    (lambda wb, ws, cols: (wb.remove(wb["meta"]), wb.remove(wb["How to edit"])),
     "the workbook does not say which version"),
])
def test_structure_mistakes(shipped, change, expected) -> None:
    kb, data = shipped
    up = read_workbook(edited(data, change), kb)
    assert any(str(e).startswith(expected) for e in up.errors), up.errors


def test_news_and_out_of_scope_sheets_are_checked(shipped) -> None:
    kb, data = shipped
    phrasing = kb.entries["visa.process"].questions["en"][0]

    def change(wb, ws, cols):
        wb["News"]["C2"] = "<i>headline"
        wb["News"]["B2"] = "yesterday"
        wb["Out of scope"].append(["en", phrasing])
        wb["Out of scope"].append(["fr", "quelle heure est-il"])

    errors = [str(e) for e in read_workbook(edited(data, change), kb).errors]
    assert "News!B2: date: 'yesterday': not a date (YYYY-MM-DD)" in errors
    assert any(e.startswith("Out of scope!A") and "'fr': write en or ru" in e for e in errors)


@pytest.mark.parametrize("blob, expected", [
    (b"just text named .xlsx", "not an Excel workbook (.xlsx) even if its name says so"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old Excel 97-2003 (.xls)"),
    (b"PK" + b"\0" * (MAX_BYTES + 1), "at most 5 MB is accepted"),
])
def test_files_that_are_not_workbooks(shipped, blob, expected) -> None:
    kb, _ = shipped
    with pytest.raises(WorkbookError, match=r".*") as info:
        read_workbook(blob, kb)
    assert expected in str(info.value)


def test_a_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.xml", "<x/>")
    kb, _ = load_knowledge(KNOWLEDGE)
    with pytest.raises(WorkbookError, match="OpenDocument"):
        read_workbook(buf.getvalue(), kb)


def test_edits_land_in_the_yaml_with_comments_kept(tmp_path: Path) -> None:
    root = copy_knowledge(tmp_path / "kb")
    store = KbStore(root, tmp_path / "history")
    data, _, _ = export_from(store)

    def change(wb, ws, cols):
        r = row_of(ws, "tuition.fees")
        ws.cell(r, cols["answer (en)"]).value = "The fee is <b>4,900 USD</b> a year."
        ws.cell(r, cols["phrasings (en)"]).value += "\nyearly fee in dollars"
        ws.cell(r, cols["verified"]).value = "yes"
        n = ws.max_row + 1
        for col, value in {"id": "about.mascot", "category": "about", "answer (en)": "A bison.",
                           "answer (ru)": "Зубр.", "verified": "yes",
                           "phrasings (en)": "what is the mascot\nbsmu mascot\nuniversity mascot",
                           "phrasings (ru)": "талисман бгму\nкакой талисман\nталисман вуза"
                           }.items():
            ws.cell(n, cols[col]).value = value
        ws.delete_rows(row_of(ws, "smalltalk.goodbye"))  # nothing links to it
        wb["Out of scope"].append(["en", "what is the weather in Minsk"])

    before = files(root)
    prepared = prepare(store, edited(data, change))
    up = prepared.upload
    assert up.ok, up.errors
    assert up.changes.added == ["about.mascot"]
    assert up.changes.removed == ["smalltalk.goodbye"]
    assert list(up.changes.changed) == ["tuition.fees"]
    assert up.out_of_scope_added == [("en", "what is the weather in Minsk")]
    version = save(store, prepared, "test")
    assert version == store.version().id
    after = files(root)
    changed = sorted(f for f in after if after[f] != before.get(f))
    assert changed == ["about.yaml", "out_of_scope.yaml", "smalltalk.yaml", "tuition.yaml"]
    new_kb, _ = load_knowledge(root)
    assert new_kb.entries["tuition.fees"].answer["en"].strip() == \
        "The fee is <b>4,900 USD</b> a year."
    assert "yearly fee in dollars" in new_kb.entries["tuition.fees"].questions["en"]
    assert "about.mascot" in new_kb.entries and "smalltalk.goodbye" not in new_kb.entries
    text = after["tuition.yaml"].decode()
    assert text.startswith(before["tuition.yaml"].decode().split("\n")[0])  # comment kept
    # Exporting again and importing without edits: nothing more to change.
    again = prepare(store, export_from(store)[0])
    assert again.upload.ok and again.upload.empty


def test_a_stale_workbook_is_detected(tmp_path: Path) -> None:
    root = copy_knowledge(tmp_path / "kb")
    store = KbStore(root, tmp_path / "history")
    data, _, _ = export_from(store)
    first = prepare(store, edited(data, cell("visa.process", "source", "one")))
    save(store, first, "Ivan")
    second = prepare(store, edited(data, cell("visa.process", "source", "two")))
    assert second.stale and second.last_change.author == "Ivan"


# --- the command line ------------------------------------------------------------------------


def test_cli_export_then_import(tmp_path: Path, capsys) -> None:
    root = copy_knowledge(tmp_path / "kb")
    out = tmp_path / "k.xlsx"
    assert main(["kb", "export", str(out), "--knowledge", str(root)]) == 0
    assert "32 entries" in capsys.readouterr().out or out.exists()
    assert main(["kb", "import", str(out), "--knowledge", str(root)]) == 0
    assert capsys.readouterr().out.strip() == "no changes"
    out.write_bytes(edited(out.read_bytes(), cell("tuition.fees", "answer (ru)", "<b>x")))
    before = files(root)
    assert main(["kb", "import", str(out), "--knowledge", str(root)]) == 2
    err = capsys.readouterr().err
    assert "Entries!F" in err and "answer (ru): <b> is never closed" in err
    assert files(root) == before


def test_cli_dry_run_writes_nothing_and_a_real_run_writes(tmp_path: Path, capsys) -> None:
    root = copy_knowledge(tmp_path / "kb")
    out = tmp_path / "k.xlsx"
    main(["kb", "export", str(out), "--knowledge", str(root)])
    out.write_bytes(edited(out.read_bytes(), cell("tuition.fees", "source", "price list 2025")))
    before = files(root)
    assert main(["kb", "import", str(out), "--dry-run", "--knowledge", str(root)]) == 0
    assert "dry run: nothing was written" in capsys.readouterr().out
    assert files(root) == before
    assert main(["kb", "import", str(out), "--knowledge", str(root), "--author", "t"]) == 0
    assert "written: spreadsheet: 1 changed" in capsys.readouterr().out
    assert b"price list 2025" in (root / "tuition.yaml").read_bytes()
    # The same workbook again: made from the version before that change.
    assert main(["kb", "import", str(out), "--knowledge", str(root)]) == 2
    assert "export again" in capsys.readouterr().err


def test_cli_bad_files_are_usage_errors(tmp_path: Path, capsys) -> None:
    root = copy_knowledge(tmp_path / "kb")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    assert main(["kb", "import", str(bad), "--knowledge", str(root)]) == 2
    assert "not an Excel workbook" in capsys.readouterr().err
    assert main(["kb", "import", str(tmp_path / "none.xlsx"), "--knowledge", str(root)]) == 2
    assert main(["kb", "export", str(tmp_path / "no" / "k.xlsx"), "--knowledge",
                 str(root)]) == 2


def test_news_items_changed_and_added_from_the_news_sheet(tmp_path: Path) -> None:
    root = copy_knowledge(tmp_path / "kb")
    store = KbStore(root, tmp_path / "history")
    data, _, _ = export_from(store)

    def change(wb, ws, cols):
        wb["News"]["C2"] = "A new headline"
        wb["News"].append(["2026-12-01-open-day", "2026-12-01", "Open day",
                           "День открытых дверей", "Come and see.", "Приходите.",
                           "The <b>open day</b> is on Saturday.", "В субботу.",
                           "https://www.bsmu.by/", "events", "", "yes"])

    prepared = prepare(store, edited(data, change))
    assert prepared.upload.ok, prepared.upload.errors
    assert prepared.upload.summary_lines() == [
        "news added (1): 2026-12-01-open-day", "news changed (1): 2023-03-03-amu-cooperation"]
    save(store, prepared, "test")
    kb, _ = load_knowledge(root)
    assert kb.news_item("2023-03-03-amu-cooperation").title["en"] == "A new headline"
    assert kb.news_item("2026-12-01-open-day").tags == ["events"]
    assert (root / "news" / "2026-12-01-open-day.yaml").is_file()
    assert prepare(store, export_from(store)[0]).upload.empty


def test_without_the_hidden_sheet_the_version_comes_from_the_first_sheet(shipped) -> None:
    """Some programs drop hidden sheets: the version line of "How to edit" still says it."""
    kb, _ = shipped
    data = edited(export_workbook(kb, "0123456789abcdef"),
                  lambda wb, ws, cols: wb.remove(wb["meta"]))
    up = read_workbook(data, kb)
    assert up.ok and up.version == "0123456789abcdef"


def test_mistakes_in_cells_and_between_entries_come_in_one_answer(shipped) -> None:
    kb, data = shipped

    def change(wb, ws, cols):
        ws.cell(row_of(ws, "visa.process"), cols["answer (en)"]).value = 42
        ws.cell(row_of(ws, "tuition.fees"), cols["related"]).value = "no.such"

    errors = [str(e) for e in read_workbook(edited(data, change), kb).errors]
    assert len(errors) == 2, errors
    assert "answer (en): a number (42) where text belongs" in errors[0]
    assert "related: related id 'no.such' does not exist" in errors[1]
    # visa.process was refused for its cell: entries linking to it are not blamed too.


def test_undo_after_an_import_restores_the_files_byte_for_byte(tmp_path: Path) -> None:
    root = copy_knowledge(tmp_path / "kb")
    store = KbStore(root, tmp_path / "history")
    data, _, _ = export_from(store)
    before = files(root)

    def change(wb, ws, cols):
        ws.cell(row_of(ws, "tuition.fees"), cols["answer (ru)"]).value = "Стоимость: 4 900 USD."
        ws.delete_rows(row_of(ws, "smalltalk.goodbye"))
        wb["Out of scope"].append(["ru", "какая погода в Минске"])

    save(store, prepare(store, edited(data, change)), "test")
    assert files(root) != before
    store.undo(author="test")
    assert files(root) == before


def test_a_deleted_out_of_scope_row_removes_the_example(tmp_path: Path) -> None:
    root = copy_knowledge(tmp_path / "kb")
    store = KbStore(root, tmp_path / "history")
    data, kb, _ = export_from(store)
    first = kb.out_of_scope[0].text
    prepared = prepare(store, edited(data, lambda wb, ws, cols: wb["Out of scope"]
                                     .delete_rows(2)))
    assert prepared.upload.summary_lines() == [
        f"out-of-scope examples removed (1): [{kb.out_of_scope[0].lang}] {first}"]
    before = (root / "out_of_scope.yaml").read_text()
    save(store, prepared, "test")
    after = (root / "out_of_scope.yaml").read_text()
    assert after.count(first) == before.count(first) - 1
    assert len(after.splitlines()) == len(before.splitlines()) - 1
    assert after.startswith(before.split("\n")[0])  # the header comment stays
    new_kb, _ = load_knowledge(root)
    assert len(new_kb.out_of_scope) == len(kb.out_of_scope) - 1
