"""Which news items a subscriber gets, and what the digest looks like: pure functions.

Planning and rendering have no I/O, so the rules are unit-tested directly:

* an item is due to a subscriber when its id is above the subscriber's cursor (ids are the
  order of appearance, so an item is delivered once even when its publication date is older
  than items already sent), it is not withdrawn, and its tags intersect the subscriber's
  topics (``tags`` None or empty: every topic; an untagged item then matches only those);
* a subscription takes part in the runs of its own frequency only;
* a digest is a title line followed by one block per item (title, date, summary, link),
  newest first, packed into messages between items: an item is never cut and no HTML tag
  is ever broken (a single item longer than a whole message, which the KB validator makes
  impossible for staff-written news, falls back to :func:`bot.text.split_message`).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from bot.i18n import Translator
from bot.text import tghtml
from bot.text.split import split_message

#: Newest items in one digest; older ones beyond this are skipped (the cursor still moves
#: past them), so a subscriber returning after a year or a runaway feed cannot produce a
#: digest of hundreds of messages.
MAX_ITEMS: Final = 25
SEPARATOR: Final = "\n\n"
KIND_OF_FREQUENCY: Final[dict[str, str]] = {"instant": "instant", "daily": "daily",
                                             "weekly": "weekly"}


@dataclass(frozen=True, slots=True)
class Item:
    """A news item as planning and rendering need it (see bot.db.models.NewsItem)."""

    id: int
    published: datetime
    url: str | None
    tags: tuple[str, ...]
    content: dict[str, Any]
    withdrawn: bool = False

    @classmethod
    def from_row(cls, row: Any) -> Item:
        return cls(id=row.id, published=row.published, url=row.url,
                   tags=tuple(row.tags or ()), content=row.content or {},
                   withdrawn=bool(row.withdrawn))

    def text(self, field: str, lang: str) -> str:
        values: dict[str, str] = self.content.get(field) or {}
        return values.get(lang) or next(iter(values.values()), "")


def matches_kind(frequency: str, kind: str) -> bool:
    """Does a subscription with this frequency take part in a run of this kind?"""
    return KIND_OF_FREQUENCY.get(frequency) == kind


def wants(topics: Sequence[str] | None, item_tags: Iterable[str]) -> bool:
    """Topic filter: no topics chosen means every item; otherwise the tags must intersect."""
    if not topics:
        return True
    return not set(topics).isdisjoint(item_tags)


def select_items(items: Iterable[Item], cursor: int, topics: Sequence[str] | None,
                 upto: int | None = None, limit: int = MAX_ITEMS) -> list[Item]:
    """The items a subscriber at ``cursor`` gets, newest first (publication date, then id),
    at most ``limit``. ``upto`` bounds the ids considered (the run's snapshot)."""
    due = [it for it in items
           if it.id > cursor and (upto is None or it.id <= upto) and not it.withdrawn
           and wants(topics, it.tags)]
    due.sort(key=lambda it: (it.published, it.id), reverse=True)
    return due[:limit]


def payload_key(lang: str, item_ids: Sequence[int]) -> str:
    """Identity of a digest text within a run: subscribers with the same language and the
    same items share one stored payload."""
    raw = json.dumps([lang, list(item_ids)], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


_translator: Translator | None = None


def default_translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = Translator()
    return _translator


def render_item(item: Item, lang: str, translator: Translator) -> str:
    """One item's block. KB title and summary are Telegram HTML already (validated when the
    KB loads); feed items are stored escaped (bot.news.feeds)."""
    published = item.published
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    date = translator.get(lang, "digest-date", date=published.replace(tzinfo=None))
    lines = [translator.get(lang, "digest-item-title", title=item.text("title", lang).strip(),
                            date=date)]
    summary = item.text("summary", lang).strip()
    if summary:
        lines.append(summary)
    if item.url:
        lines.append(translator.get(lang, "digest-item-link",
                                    url=html.escape(item.url, quote=True)))
    return "\n".join(lines)


def pack(blocks: Sequence[str], limit: int = tghtml.MAX_MESSAGE) -> list[str]:
    """Join blocks with blank lines into as few messages as possible, cutting only between
    blocks; a block longer than ``limit`` on its own is split by split_message (which never
    cuts inside a tag and re-opens formatting in the next part)."""
    messages: list[str] = []
    current: list[str] = []
    length = 0
    sep = tghtml.visible_length(SEPARATOR)
    for block in blocks:
        size = tghtml.visible_length(block)
        if size > limit:
            if current:
                messages.append(SEPARATOR.join(current))
                current, length = [], 0
            messages.extend(split_message(block, limit))
            continue
        if current and length + sep + size > limit:
            messages.append(SEPARATOR.join(current))
            current, length = [], 0
        length += (sep if current else 0) + size
        current.append(block)
    if current:
        messages.append(SEPARATOR.join(current))
    return messages


def render(items: Sequence[Item], lang: str, translator: Translator | None = None, *,
           kind: str = "daily", limit: int = tghtml.MAX_MESSAGE) -> list[str]:
    """The messages of one digest (empty when there are no items)."""
    if not items:
        return []
    translator = translator or default_translator()
    title = translator.get(lang, "digest-title", kind=kind, count=len(items))
    return pack([title, *(render_item(it, lang, translator) for it in items)], limit)
