"""Read ``knowledge/*.yaml`` into a :class:`KnowledgeBase`, collecting every problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.knowledge.models import Category, Entry, KnowledgeBase, NewsItem, OutOfScope
from bot.knowledge.yamlsource import Problem, YAMLSyntaxError, line_of, parse

TOP_KEYS = {"categories", "entries", "synonyms", "neutral", "out_of_scope"}
NEWS_DIR = "news"  # knowledge/news/*.yaml: files with a top-level 'news' list


class KBError(Exception):
    """The knowledge base has errors; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        super().__init__(f"{len(errors)} error(s) in the knowledge base:\n" +
                         "\n".join(str(p) for p in errors))


class _FileReader:
    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display
        self.problems: list[Problem] = []

    def error(self, line: int | None, entry: str | None, message: str) -> None:
        self.problems.append(Problem("error", self.display, line, entry, message))

    def read(self, top_keys: set[str] = TOP_KEYS) -> tuple[dict[str, Any], Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error(None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
            return {}, None
        try:
            data, node = parse(text)
        except YAMLSyntaxError as exc:
            self.error(exc.line, None, f"YAML syntax error: {exc.message}")
            return {}, None
        if data is None:
            return {}, node
        if not isinstance(data, dict):
            self.error(1, None, "the file must be a mapping with 'entries', 'categories', "
                                "'synonyms' or 'neutral'")
            return {}, node
        for key in data:
            if key not in top_keys:
                self.error(line_of(node, [key]), None,
                           f"unknown top-level key {key!r} (expected one of "
                           f"{', '.join(sorted(top_keys))})")
        return data, node


def _schema_problems(reader: _FileReader, node: Any, base: list, exc: ValidationError,
                     entry_id: str | None) -> None:
    for err in exc.errors():
        loc = [p for p in err["loc"]]
        where = ".".join(str(p) for p in loc) or "(entry)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        reader.error(line_of(node, base + loc), entry_id, f"{where}: {msg}")


def _items(reader: _FileReader, data: dict, node: Any, key: str) -> list[tuple[int, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        reader.error(line_of(node, [key]), None, f"'{key}' must be a list")
        return []
    return list(enumerate(value))


@dataclass
class Collected:
    """Everything read from a directory, before the cross-file checks."""

    entries: list[Entry] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    synonyms: list[list[str]] = field(default_factory=list)
    neutral: list[str] = field(default_factory=list)
    news: list[NewsItem] = field(default_factory=list)
    out_of_scope: list[OutOfScope] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # ids of entries that failed the schema


def _words_list(reader: _FileReader, node: Any, loc: list, raw: Any, minimum: int) -> list[str]:
    if not isinstance(raw, list) or len(raw) < minimum or not all(
            isinstance(w, str) and w.strip() for w in raw):
        reader.error(line_of(node, loc), None,
                     f"must be a list of at least {minimum} non-empty word(s)")
        return []
    return [str(w) for w in raw]


def read_directory(directory: Path) -> Collected:
    out = Collected()
    entries, categories, problems, broken = out.entries, out.categories, out.problems, out.broken
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        display = str(path)
        reader = _FileReader(path, display)
        data, node = reader.read()
        for i, raw in _items(reader, data, node, "categories"):
            base = ["categories", i]
            if not isinstance(raw, dict):
                reader.error(line_of(node, base), None, "a category must be a mapping")
                continue
            try:
                categories.append(Category.model_validate(
                    {**raw, "line": line_of(node, base) or 0, "file": display}))
            except ValidationError as exc:
                _schema_problems(reader, node, base, exc, raw.get("id"))
        for i, raw in _items(reader, data, node, "entries"):
            base = ["entries", i]
            if not isinstance(raw, dict):
                reader.error(line_of(node, base), None, "an entry must be a mapping")
                continue
            entry_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            try:
                entries.append(Entry.model_validate(
                    {**raw, "line": line_of(node, base) or 0, "file": display}))
            except ValidationError as exc:
                _schema_problems(reader, node, base, exc, entry_id)
                if entry_id:
                    broken.add(entry_id)
        for i, raw in _items(reader, data, node, "synonyms"):
            group = _words_list(reader, node, ["synonyms", i], raw, 2)
            if group:
                out.synonyms.append(group)
        if "neutral" in data:
            out.neutral.extend(_words_list(reader, node, ["neutral"], data["neutral"], 1))
        for i, raw in _items(reader, data, node, "out_of_scope"):
            base = ["out_of_scope", i]
            if not isinstance(raw, dict):
                reader.error(line_of(node, base), None,
                             'an out-of-scope example must be a mapping: {lang: en, text: "..."}')
                continue
            try:
                out.out_of_scope.append(OutOfScope.model_validate(
                    {**raw, "line": line_of(node, base) or 0, "file": display}))
            except ValidationError as exc:
                _schema_problems(reader, node, base, exc, None)
        problems.extend(reader.problems)
    if not files:
        problems.append(Problem("error", str(directory), None, None,
                                "no knowledge-base files (*.yaml) found"))
    news_files = sorted([*(directory / NEWS_DIR).glob("*.yaml"),
                         *(directory / NEWS_DIR).glob("*.yml")])
    for path in news_files:
        reader = _FileReader(path, str(path))
        data, node = reader.read({"news"})
        for i, raw in _items(reader, data, node, "news"):
            base = ["news", i]
            if not isinstance(raw, dict):
                reader.error(line_of(node, base), None, "a news item must be a mapping")
                continue
            item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            try:
                out.news.append(NewsItem.model_validate(
                    {**raw, "line": line_of(node, base) or 0, "file": str(path)}))
            except ValidationError as exc:
                _schema_problems(reader, node, base, exc, item_id)
                if item_id:
                    broken.add(item_id)
        problems.extend(reader.problems)
    out.files = [str(p) for p in [*files, *news_files]]
    return out


def load_knowledge(directory: str | Path, *, strict: bool = True
                   ) -> tuple[KnowledgeBase, list[Problem]]:
    """Load and validate. With ``strict`` (the default) any error raises :class:`KBError`."""
    from bot.knowledge.validate import cross_check

    directory = Path(directory)
    if not directory.is_dir():
        problem = Problem("error", str(directory), None, None, "not a directory")
        raise KBError([problem])
    found = read_directory(directory)
    kb, more = cross_check(found)
    problems = found.problems + more
    if strict and any(p.level == "error" for p in problems):
        raise KBError(problems)
    return kb, problems
