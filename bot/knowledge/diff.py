"""What changed between two knowledge bases (for reload summaries and ``kb diff``), and what
a reload did."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.knowledge.models import KnowledgeBase
from bot.knowledge.yamlsource import Problem


@dataclass(frozen=True)
class KBDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # id -> changed fields
    news_added: list[str] = field(default_factory=list)
    news_removed: list[str] = field(default_factory=list)
    news_changed: list[str] = field(default_factory=list)
    categories_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.news_added
                    or self.news_removed or self.news_changed or self.categories_changed)

    def lines(self) -> list[str]:
        if self.empty:
            return ["no changes"]
        out = []
        if self.added:
            out.append(f"entries added ({len(self.added)}): {', '.join(self.added)}")
        if self.removed:
            out.append(f"entries removed ({len(self.removed)}): {', '.join(self.removed)}")
        if self.changed:
            out.append(f"entries changed ({len(self.changed)}):")
            out.extend(f"  {eid}: {', '.join(fields)}" for eid, fields in self.changed.items())
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


def diff(old: KnowledgeBase, new: KnowledgeBase) -> KBDiff:
    changed = {}
    for eid in sorted(set(old.entries) & set(new.entries)):
        a, b = old.entries[eid], new.entries[eid]
        fields = [f for f in FIELDS if getattr(a, f) != getattr(b, f)]
        if fields:
            changed[eid] = fields
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
