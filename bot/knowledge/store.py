"""The one way the knowledge base is written: validated edits, atomically, with history.

Every change (from Telegram, the spreadsheet import or the command line) goes through
:meth:`KbStore.apply`: the edits are made with ruamel.yaml's round trip (comments, key
order, quoting and flow style kept), the result is checked with the rules of ``kb check``
in a scratch copy, and only then are the changed files replaced (temporary file + rename).
Before that the previous bytes of each changed file are kept under the history directory,
so :meth:`KbStore.undo` restores them byte for byte.

A file lock (``fcntl.flock`` on ``<root>/.kb.lock``) serialises writers, whether they are
two staff members in one process or two instances on a shared volume; a change prepared
against an older version (``base``) is refused with :class:`StaleVersion`, never merged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from bot.knowledge.loader import NEWS_DIR, KBError, load_knowledge
from bot.knowledge.models import LANGS
from bot.knowledge.yamlsource import Problem
from bot.text.normalize import normalize

HISTORY_DIR = ".history"
LOCK_FILE = ".kb.lock"
KEEP_HISTORY = 100  # changes kept; older snapshots are deleted
OUT_OF_SCOPE_FILE = "out_of_scope.yaml"
OUT_OF_SCOPE_KEY = "out_of_scope"
# Per-language mappings: a `set` edit replaces only the languages it names.
PER_LANGUAGE = ("title", "answer", "questions", "keywords")

Op = Literal["set", "add_phrasings", "remove_phrasings", "add_entry", "remove_entry",
             "add_out_of_scope", "remove_out_of_scope", "set_news", "add_news", "remove_news"]


@dataclass(frozen=True)
class KbVersion:
    id: str  # content hash of the KB directory's YAML files


class StaleVersion(Exception):
    """The change was prepared against an older version of the knowledge base."""

    def __init__(self, expected: KbVersion | None, current: KbVersion):
        self.expected = expected
        self.current = current
        super().__init__(f"the knowledge base changed (prepared against "
                         f"{expected.id if expected else '?'}, now {current.id})")


class KbInvalid(Exception):
    """The edited knowledge base would not pass ``kb check``; nothing was written."""

    def __init__(self, errors: list[Problem]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s):\n" + "\n".join(str(p) for p in errors))


class EditError(KbInvalid):
    """An edit cannot be made at all (unknown entry id, no such file…)."""

    def __init__(self, message: str):
        super().__init__([Problem("error", "edit", None, None, message)])


@dataclass(frozen=True)
class EntryEdit:
    """One change to the KB. Build with the class methods:

    - ``EntryEdit.set(id, answer={"en": "…"}, verified=True, source="…")``: set fields of
      an entry; ``title``/``answer``/``questions``/``keywords`` replace only the languages
      given; a value of ``None`` removes the field (or that language).
    - ``EntryEdit.add_phrasings(id, "en", ["…"])`` / ``remove_phrasings``: one language's
      ``questions`` (duplicates of the entry's own phrasings are skipped).
    - ``EntryEdit.add_entry({"id": …, "category": …, …}, file="tuition.yaml")``: appended to
      ``file`` (default: ``<category>.yaml``, created when missing).
    - ``EntryEdit.remove_entry(id)``.
    - ``EntryEdit.add_out_of_scope("en", ["what is the weather in Minsk"])``.
    - ``EntryEdit.set_news(id, **fields)``, ``add_news({...}, file=…)``, ``remove_news(id)``
      for items under ``news/``.
    """

    op: Op
    entry_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    lang: str | None = None
    phrasings: tuple[str, ...] = ()
    file: str | None = None  # relative to the KB root, for add_entry / add_news

    @classmethod
    def set(cls, entry_id: str, **fields: Any) -> EntryEdit:
        return cls("set", entry_id, fields)

    @classmethod
    def add_phrasings(cls, entry_id: str, lang: str, phrasings: Sequence[str]) -> EntryEdit:
        return cls("add_phrasings", entry_id, lang=lang, phrasings=tuple(phrasings))

    @classmethod
    def remove_phrasings(cls, entry_id: str, lang: str, phrasings: Sequence[str]) -> EntryEdit:
        return cls("remove_phrasings", entry_id, lang=lang, phrasings=tuple(phrasings))

    @classmethod
    def add_entry(cls, entry: Mapping[str, Any], file: str | None = None) -> EntryEdit:
        return cls("add_entry", str(entry.get("id")), dict(entry), file=file)

    @classmethod
    def remove_entry(cls, entry_id: str) -> EntryEdit:
        return cls("remove_entry", entry_id)

    @classmethod
    def add_out_of_scope(cls, lang: str, examples: Sequence[str]) -> EntryEdit:
        return cls("add_out_of_scope", lang=lang, phrasings=tuple(examples))

    @classmethod
    def remove_out_of_scope(cls, lang: str, examples: Sequence[str]) -> EntryEdit:
        """Out-of-scope examples deleted (matched by their normalised text; the spreadsheet
        import, bot.knowledge.workbook, uses it for deleted rows)."""
        return cls("remove_out_of_scope", lang=lang, phrasings=tuple(examples))

    @classmethod
    def set_news(cls, news_id: str, **fields: Any) -> EntryEdit:
        return cls("set_news", news_id, fields)

    @classmethod
    def add_news(cls, item: Mapping[str, Any], file: str | None = None) -> EntryEdit:
        return cls("add_news", str(item.get("id")), dict(item), file=file)

    @classmethod
    def remove_news(cls, news_id: str) -> EntryEdit:
        return cls("remove_news", news_id)


@dataclass(frozen=True)
class HistoryItem:
    id: str  # "000042": the order of changes
    author: str
    at: datetime
    summary: str
    before: KbVersion
    after: KbVersion
    files: tuple[str, ...]  # changed files, relative to the KB root
    undoes: str | None = None  # the id of the change this one undid
    undone_by: str | None = None


# ---------------------------------------------------------------------------- YAML round trip


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a long phrasing or answer line
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True
    return y


def _load(text: str) -> Any:
    return _yaml().load(text)


def _dump(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def _scalar(value: Any, like: Any = None) -> Any:
    """A string in the style of the value it replaces: a block ``|`` for multi-line text."""
    if not isinstance(value, str):
        return value
    if "\n" in value.strip("\n") or isinstance(like, LiteralScalarString):
        return LiteralScalarString(value)
    return DoubleQuotedScalarString(value)


def _plain(value: Any) -> Any:
    """Plain Python data → ruamel nodes (strings quoted, multi-line as blocks)."""
    if isinstance(value, Mapping):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _plain(v)
        return m
    if isinstance(value, (list, tuple)):
        s = CommentedSeq(_plain(v) for v in value)
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value) and len(value) <= 3:
            s.fa.set_flow_style()
        return s
    return _scalar(value)


# ------------------------------------------------------------------------------ the store


def _digest(files: Mapping[str, bytes]) -> KbVersion:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel] + b"\0")
    return KbVersion(h.hexdigest()[:16])


class KbStore:
    def __init__(self, root: Path, history_dir: Path | None = None):
        self.root = Path(root)
        self.history_dir = Path(history_dir) if history_dir else self.root / HISTORY_DIR

    # -- reading

    def _yaml_files(self) -> list[Path]:
        found: list[Path] = []
        for folder in (self.root, self.root / NEWS_DIR):
            found += [*folder.glob("*.yaml"), *folder.glob("*.yml")]
        return sorted(p for p in found if p.is_file())

    def _read_all(self) -> dict[str, bytes]:
        return {p.relative_to(self.root).as_posix(): p.read_bytes() for p in self._yaml_files()}

    def version(self) -> KbVersion:
        return _digest(self._read_all())

    # -- locking

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- writing

    def apply(self, edits: list[EntryEdit], *, author: str, summary: str,
              base: KbVersion | None = None) -> KbVersion:
        with self._locked():
            before = self._read_all()
            current = _digest(before)
            if base is not None and base != current:
                raise StaleVersion(base, current)
            new = _Editor(self.root, before).run(edits)
            changed = {rel: data for rel, data in new.items() if before.get(rel) != data}
            return self._save(before, current, changed, author, summary)

    def replace_files(self, files: Mapping[str, bytes], *, author: str, summary: str,
                      base: KbVersion | None = None) -> KbVersion:
        """Write whole files (paths relative to the root) made some other way, e.g. ``kb
        apply``'s text insertions: the same validation, lock, history and atomic write."""
        with self._locked():
            before = self._read_all()
            current = _digest(before)
            if base is not None and base != current:
                raise StaleVersion(base, current)
            for rel in files:
                if ".." in Path(rel).parts or Path(rel).is_absolute():
                    raise EditError(f"{rel}: not a file of the knowledge base")
            changed = {rel: data for rel, data in files.items() if before.get(rel) != data}
            return self._save(before, current, changed, author, summary)

    def _save(self, before: Mapping[str, bytes], current: KbVersion,
              changed: Mapping[str, bytes], author: str, summary: str) -> KbVersion:
        """Validate the KB with ``changed`` applied, record the history, write (under the
        lock, which the caller holds)."""
        if not changed:
            return current
        self._validate({**before, **changed})
        after = _digest({**before, **changed})
        self._record(author, summary, current, after, before, changed)
        self._write(changed)
        return after

    def undo(self, *, author: str, base: KbVersion | None = None) -> KbVersion:
        with self._locked():
            current = _digest(self._read_all())
            if base is not None and base != current:
                raise StaleVersion(base, current)
            target = next((h for h in self._items() if h.undoes is None and not h.undone_by),
                          None)
            if target is None:
                raise LookupError("nothing to undo")
            if target.after != current:
                # Someone changed the files outside the store since: undoing would lose it.
                raise StaleVersion(target.after, current)
            snap = self.history_dir / target.id
            manifest = json.loads((snap / "manifest.json").read_text("utf-8"))
            restore: dict[str, bytes | None] = {}
            for rel, existed in manifest["previous"].items():
                restore[rel] = (snap / "files" / rel).read_bytes() if existed else None
            before = self._read_all()
            previous_now = {rel: before.get(rel) for rel in restore}
            after_files = {k: v for k, v in {**before, **restore}.items() if v is not None}
            after = _digest(after_files)
            item_id = self._record(author, f"undo: {target.summary}", current, after,
                                   previous_now, restore, undoes=target.id)
            self._write(restore)
            manifest["undone_by"] = item_id
            _atomic_write(snap / "manifest.json",
                          json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            return after

    def history(self, limit: int = 20) -> list[HistoryItem]:
        """Newest first."""
        return list(self._items())[:limit]

    # -- internals

    def _items(self) -> Iterator[HistoryItem]:
        if not self.history_dir.is_dir():
            return
        for snap in sorted(self.history_dir.iterdir(), reverse=True):
            path = snap / "manifest.json"
            if not path.is_file():
                continue
            try:
                m = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            yield HistoryItem(id=snap.name, author=m["author"],
                              at=datetime.fromisoformat(m["at"]), summary=m["summary"],
                              before=KbVersion(m["before"]), after=KbVersion(m["after"]),
                              files=tuple(m["previous"]), undoes=m.get("undoes"),
                              undone_by=m.get("undone_by"))

    def _validate(self, files: Mapping[str, bytes]) -> None:
        with tempfile.TemporaryDirectory(prefix="kb-check-") as tmp:
            trial = Path(tmp)
            for rel, data in files.items():
                (trial / rel).parent.mkdir(parents=True, exist_ok=True)
                (trial / rel).write_bytes(data)
            try:
                _, problems = load_knowledge(trial, strict=False)
            except KBError as exc:
                problems = exc.problems
        errors = [_relocate(p, trial, self.root) for p in problems if p.level == "error"]
        if errors:
            raise KbInvalid(errors)

    def _record(self, author: str, summary: str, before: KbVersion, after: KbVersion,
                previous: Mapping[str, bytes | None], changed: Mapping[str, bytes | None],
                undoes: str | None = None) -> str:
        self.history_dir.mkdir(parents=True, exist_ok=True)
        last = max((p.name for p in self.history_dir.iterdir() if p.name.isdigit()),
                   default="0")
        item_id = f"{int(last) + 1:06d}"
        snap = self.history_dir / item_id
        tmp = self.history_dir / f".{item_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "files").mkdir(parents=True)
        existed: dict[str, bool] = {}
        for rel in changed:
            data = previous.get(rel)
            existed[rel] = data is not None
            if data is not None:
                (tmp / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / "files" / rel).write_bytes(data)
        manifest = {"author": author, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "summary": summary, "before": before.id, "after": after.id,
                    "previous": existed, "undoes": undoes}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                           "utf-8")
        os.replace(tmp, snap)
        self._prune()
        return item_id

    def _prune(self) -> None:
        snaps = sorted(p for p in self.history_dir.iterdir() if p.name.isdigit())
        for old in snaps[:-KEEP_HISTORY]:
            shutil.rmtree(old, ignore_errors=True)

    def _write(self, files: Mapping[str, bytes | None]) -> None:
        for rel, data in files.items():
            path = self.root / rel
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _relocate(p: Problem, trial: Path, root: Path) -> Problem:
    """A problem found in the scratch copy, named by the real file."""
    file = p.file
    with contextlib.suppress(ValueError):
        file = str(root / Path(p.file).relative_to(trial))
    return Problem(p.level, file, p.line, p.entry, p.message)


# ---------------------------------------------------------------------------- the editor


class _Editor:
    """Applies edits to parsed files in memory; ``run`` returns every file's new bytes."""

    def __init__(self, root: Path, files: Mapping[str, bytes]):
        self.root = root
        self.files = files
        self.docs: dict[str, Any] = {}
        self.touched: set[str] = set()  # only these are written (others were only searched)

    def doc(self, rel: str) -> Any:
        if rel not in self.docs:
            raw = self.files.get(rel)
            try:
                self.docs[rel] = _load(raw.decode("utf-8")) if raw is not None else None
            except Exception as exc:  # a file broken before this change: say which
                raise EditError(f"{rel}: cannot be edited, it does not parse ({exc})") from exc
        return self.docs[rel]

    def run(self, edits: list[EntryEdit]) -> dict[str, bytes]:
        for edit in edits:
            getattr(self, f"_{edit.op}")(edit)
        out: dict[str, bytes] = {}
        for rel, data in self.docs.items():
            if data is not None and rel in self.touched:
                out[rel] = _dump(data).encode("utf-8")
        return out

    # -- finding things

    def _find(self, key: str, item_id: str | None) -> tuple[str, CommentedSeq, int]:
        folder_news = key == "news"
        for rel in sorted(self.files):
            if folder_news != rel.startswith(f"{NEWS_DIR}/"):
                continue
            data = self.doc(rel)
            seq = data.get(key) if isinstance(data, Mapping) else None
            if not isinstance(seq, list):
                continue
            for i, item in enumerate(seq):
                if isinstance(item, Mapping) and item.get("id") == item_id:
                    self.touched.add(rel)
                    return rel, seq, i
        raise EditError(f"no {'news item' if folder_news else 'entry'} with id {item_id!r}")

    def _entry(self, entry_id: str | None) -> CommentedMap:
        _, seq, i = self._find("entries", entry_id)
        return seq[i]

    # -- operations

    def _set(self, edit: EntryEdit, key: str = "entries") -> None:
        _, seq, i = self._find(key, edit.entry_id)
        _set_fields(seq[i], edit.fields)

    def _set_news(self, edit: EntryEdit) -> None:
        self._set(edit, "news")

    def _add_phrasings(self, edit: EntryEdit) -> None:
        entry = self._entry(edit.entry_id)
        lang = _lang(edit.lang)
        questions = entry.get("questions")
        if not isinstance(questions, dict):
            questions = entry["questions"] = CommentedMap()
        seq = questions.get(lang)
        if not isinstance(seq, list):
            seq = questions[lang] = CommentedSeq()
        seen = {normalize(str(q)) for q in seq}
        for text in edit.phrasings:
            text = " ".join(str(text).split())
            if text and normalize(text) not in seen:
                seen.add(normalize(text))
                seq.append(DoubleQuotedScalarString(text))

    def _remove_phrasings(self, edit: EntryEdit) -> None:
        entry = self._entry(edit.entry_id)
        seq = (entry.get("questions") or {}).get(_lang(edit.lang))
        if not isinstance(seq, list):
            return
        drop = {normalize(t) for t in edit.phrasings}
        for i in reversed(range(len(seq))):
            if normalize(str(seq[i])) in drop:
                del seq[i]

    def _add_entry(self, edit: EntryEdit, key: str = "entries") -> None:
        item_id = edit.fields.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise EditError(f"a new {'entry' if key == 'entries' else 'news item'} needs an id")
        try:
            self._find(key, item_id)
        except EditError:
            pass
        else:
            raise EditError(f"id {item_id!r} already exists")
        if edit.file:
            rel = edit.file
        elif key == "news":
            rel = f"{NEWS_DIR}/{item_id}.yaml"
        else:
            rel = f"{edit.fields.get('category') or 'entries'!s}.yaml"
        if "/" in rel.replace(f"{NEWS_DIR}/", "", 1) or ".." in rel:
            raise EditError(f"{rel}: not a file of the knowledge base")
        data = self.doc(rel)
        self.touched.add(rel)
        if data is None:
            data = self.docs[rel] = CommentedMap()
        if key not in data or not isinstance(data[key], list):
            data[key] = CommentedSeq()
        data[key].append(_plain(edit.fields))

    def _add_news(self, edit: EntryEdit) -> None:
        self._add_entry(edit, "news")

    def _remove_entry(self, edit: EntryEdit, key: str = "entries") -> None:
        _, seq, i = self._find(key, edit.entry_id)
        del seq[i]

    def _remove_news(self, edit: EntryEdit) -> None:
        self._remove_entry(edit, "news")

    def _add_out_of_scope(self, edit: EntryEdit) -> None:
        """Appended to ``out_of_scope.yaml``'s list as ``{lang: en, text: "…"}`` (the engine's
        schema, bot/knowledge/models.py OutOfScope), in the style of the items there."""
        lang = _lang(edit.lang)
        rel = OUT_OF_SCOPE_FILE
        data = self.doc(rel)
        self.touched.add(rel)
        if data is None:
            data = self.docs[rel] = CommentedMap()
        target = data.get(OUT_OF_SCOPE_KEY)
        if not isinstance(target, list):
            target = data[OUT_OF_SCOPE_KEY] = CommentedSeq()
        seen = {normalize(_example_text(x)) for x in target}
        flow = not target or (isinstance(target[-1], CommentedMap)
                              and target[-1].fa.flow_style())
        for text in edit.phrasings:
            text = " ".join(str(text).split())
            if not text or normalize(text) in seen:
                continue
            seen.add(normalize(text))
            item = CommentedMap([("lang", lang), ("text", DoubleQuotedScalarString(text))])
            if flow:
                item.fa.set_flow_style()
            target.append(item)

    def _remove_out_of_scope(self, edit: EntryEdit) -> None:
        """Drop the examples whose normalised text is listed (rows deleted from the
        spreadsheet's "Out of scope" sheet, bot.knowledge.workbook)."""
        _lang(edit.lang)
        data = self.doc(OUT_OF_SCOPE_FILE)
        target = data.get(OUT_OF_SCOPE_KEY) if isinstance(data, Mapping) else None
        if not isinstance(target, list):
            return
        drop = {normalize(t) for t in edit.phrasings}
        for i in reversed(range(len(target))):
            if normalize(_example_text(target[i])) in drop:
                del target[i]
                self.touched.add(OUT_OF_SCOPE_FILE)


def _lang(lang: str | None) -> str:
    if lang not in LANGS:
        raise EditError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def _example_text(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("text") or item.get("question") or item.get("example") or "")
    return str(item)


def _set_fields(item: CommentedMap, fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        if value is None:
            item.pop(key, None)
            continue
        if key in PER_LANGUAGE and isinstance(value, Mapping):
            current = item.get(key)
            if not isinstance(current, dict):
                current = CommentedMap()
                _insert_key(item, key, current)
            for lang, text in value.items():
                if text is None:
                    current.pop(lang, None)
                elif isinstance(text, (list, tuple)):
                    old = current.get(lang)
                    new = _plain(list(text))
                    if isinstance(old, CommentedSeq) and old.fa.flow_style():
                        new.fa.set_flow_style()
                    elif isinstance(old, CommentedSeq):
                        new.fa.set_block_style()
                    current[lang] = new
                else:
                    current[lang] = _scalar(text, current.get(lang))
            if not current:
                item.pop(key, None)
            continue
        new = _plain(value) if not isinstance(value, str) else _scalar(value, item.get(key))
        if key in item:
            item[key] = new
        else:
            _insert_key(item, key, new)


# Where a missing key goes: after the first of these present in the entry.
_AFTER = {"verified_by": ("verified", "source"), "verified_at": ("verified_by", "verified"),
          "verified": ("source",), "source": ("news", "related", "keywords", "answer")}


def _insert_key(item: CommentedMap, key: str, value: Any) -> None:
    keys = list(item.keys())
    for anchor in _AFTER.get(key, ()):
        if anchor in keys:
            item.insert(keys.index(anchor) + 1, key, value)
            return
    item[key] = value


def store_for(knowledge: Any) -> KbStore:
    """The store of the configured KB: ``knowledge`` is ``config.knowledge`` (path and
    history_path)."""
    return KbStore(Path(knowledge.path), getattr(knowledge, "history_path", None))
