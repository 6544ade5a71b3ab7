"""What changed between two knowledge bases (for reload summaries and ``kb diff``), and what
a reload did."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.knowledge.models import Entry, KnowledgeBase
from bot.knowledge.yamlsource import Problem


@dataclass(frozen=True)
class KBDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # id -> changed fields
    # id -> what changed, one line each (see :func:`entry_changes`); not part of equality.
    details: dict[str, list[str]] = field(default_factory=dict, compare=False)
    news_added: list[str] = field(default_factory=list)
    news_removed: list[str] = field(default_factory=list)
    news_changed: list[str] = field(default_factory=list)
    categories_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.news_added
                    or self.news_removed or self.news_changed or self.categories_changed)

    def lines(self, detail: bool = True) -> list[str]:
        """The changes, a line each; with ``detail`` each changed entry is followed by what
        changed in it (old → new text, phrasings added and removed), indented."""
        if self.empty:
            return ["no changes"]
        out = []
        if self.added:
            out.append(f"entries added ({len(self.added)}): {', '.join(self.added)}")
        if self.removed:
            out.append(f"entries removed ({len(self.removed)}): {', '.join(self.removed)}")
        if self.changed:
            out.append(f"entries changed ({len(self.changed)}):")
            for eid, fields in self.changed.items():
                out.append(f"  {eid}: {', '.join(fields)}")
                if detail:
                    out.extend(f"    {line}" for line in self.details.get(eid, []))
        if self.news_added:
            out.append(f"news added ({len(self.news_added)}): {', '.join(self.news_added)}")
        if self.news_removed:
            out.append(f"news removed ({len(self.news_removed)}): "
                       f"{', '.join(self.news_removed)}")
        if self.news_changed:
            out.append(f"news changed ({len(self.news_changed)}): "
                       f"{', '.join(self.news_changed)}")
        if self.categories_changed:
            out.append("categories changed")
        return out


FIELDS = ("category", "title", "questions", "answer", "keywords", "related", "source",
          "verified", "action", "news")


#: How much of a changed text is shown around the change, and at most of each side.
CONTEXT = 24
EXCERPT = 100
MAX_LISTED = 10  # phrasings or keywords added (or removed) listed per language


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def excerpts(old: str, new: str, context: int = CONTEXT,
             limit: int = EXCERPT) -> tuple[str, str]:
    """The part of ``old`` and ``new`` that differs, with ``context`` characters around it
    (cut at a space where one is near) and "…" where text was left out; each side at most
    about ``limit`` characters. Whitespace runs count as one space."""
    a, b = _one_line(old), _one_line(new)
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(a), len(b)) - prefix
           and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]):
        suffix += 1
    start = max(0, prefix - context)
    if start:
        space = a.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 and prefix - space <= 2 * context else start

    def piece(text: str) -> str:
        end = min(len(text), len(text) - suffix + context)
        if end < len(text):
            space = text.find(" ", end)
            end = space if 0 <= space <= end + context else end
        body = text[start:end].strip()
        if len(body) > limit:
            body = body[:limit - 1].rstrip() + " …"
        elif end < len(text):
            body += " …"
        return ("… " if start else "") + body

    return piece(a), piece(b)


def _listed(items: list[str]) -> str:
    shown = ", ".join(_quote(_one_line(i)) for i in items[:MAX_LISTED])
    return shown + (f", … +{len(items) - MAX_LISTED}" if len(items) > MAX_LISTED else "")


def entry_changes(a: Entry, b: Entry) -> list[str]:
    """What changed between two versions of an entry, a line per field and language:
    ``answer [en]: "…old…" → "…new…"``, ``questions [ru]: + "…"`` / ``- "…"``,
    ``category: old → new``."""
    out: list[str] = []
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x == y:
            continue
        if isinstance(x, dict) or isinstance(y, dict):
            for lang in sorted(set(x) | set(y)):
                old, new = x.get(lang), y.get(lang)
                if old == new:
                    continue
                where = f"{name} [{lang}]"
                if isinstance(old or new, list):
                    out.extend(_list_change(where, old or [], new or [], _listed))
                elif old is None:
                    out.append(f"{where}: added {_quote(excerpts('', new)[1])}")
                elif new is None:
                    out.append(f"{where}: removed")
                else:
                    before, after = excerpts(old, new)
                    out.append(f"{where}: {_quote(before)} → {_quote(after)}")
        elif isinstance(x, list) or isinstance(y, list):
            out.extend(_list_change(name, x, y, ", ".join))
        else:
            out.append(f"{name}: {x} → {y}")
    return out


def diff(old: KnowledgeBase, new: KnowledgeBase) -> KBDiff:
    changed = {}
    details = {}
    for eid in sorted(set(old.entries) & set(new.entries)):
        a, b = old.entries[eid], new.entries[eid]
        fields = [f for f in FIELDS if getattr(a, f) != getattr(b, f)]
        if fields:
            changed[eid] = fields
            details[eid] = entry_changes(a, b)
    old_news = {n.id: n for n in old.news}
    new_news = {n.id: n for n in new.news}

    def strip(n):
        return n.model_dump(exclude={"line", "file"})

    cats_old = {c.id: c.model_dump(exclude={"line", "file"}) for c in old.categories.values()}
    cats_new = {c.id: c.model_dump(exclude={"line", "file"}) for c in new.categories.values()}
    return KBDiff(
        added=sorted(set(new.entries) - set(old.entries)),
        removed=sorted(set(old.entries) - set(new.entries)),
        changed=changed,
        details=details,
        news_added=sorted(set(new_news) - set(old_news)),
        news_removed=sorted(set(old_news) - set(new_news)),
        news_changed=sorted(i for i in set(old_news) & set(new_news)
                            if strip(old_news[i]) != strip(new_news[i])),
        categories_changed=cats_old != cats_new,
    )


@dataclass
class ReloadResult:
    """What a reload did: refused (``ok`` False, the errors) or swapped in (the changes)."""

    ok: bool
    problems: list[Problem] = field(default_factory=list)
    changes: KBDiff | None = None
    new_news_ids: list[int] = field(default_factory=list)  # news_items rows added

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


def _list_change(where: str, old: list, new: list, show: Callable[[list], str]) -> list[str]:
    """Lines for a list field: what was added, what was removed, or that only the order
    changed."""
    added = [i for i in new if i not in old]
    removed = [i for i in old if i not in new]
    lines = []
    if added:
        lines.append(f"{where}: + {show(added)}")
    if removed:
        lines.append(f"{where}: - {show(removed)}")
    return lines or [f"{where}: reordered"]
