"""RSS/Atom feeds as a second news source (``news.feeds`` in config.yaml).

Feeds are downloaded here with aiohttp — with a timeout and a size limit — and only the
downloaded bytes are handed to feedparser, which is never given a URL (it would fetch it
itself, without either limit). Each entry becomes a ``news_items`` row with source "feed"
and key ``"feed:" + sha1(guid or link)``, so an entry seen again in a later poll, or in two
feeds, is stored once; an entry whose text changed is updated in place and never re-sent.

Feed HTML is not trusted: titles and summaries are reduced to plain text and escaped, so
what is stored is Telegram-safe HTML like the knowledge base's own news. Feeds say one
language at most: the text is stored under that language when it is one the bot speaks,
otherwise under both "en" and "ru" (readers of either language see the original text).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urljoin

import aiohttp
import feedparser
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import NewsItem, utcnow
from bot.text import tghtml

log = logging.getLogger(__name__)

FEED_PREFIX: Final = "feed:"
SOURCE: Final = "feed"
LANGS: Final = ("en", "ru")
TIMEOUT: Final = 15.0  # seconds for one feed, connection to last byte
MAX_BYTES: Final = 2 * 1024 * 1024
MAX_ENTRIES: Final = 50  # newest entries taken from one feed per poll
MAX_TITLE: Final = 200
MAX_SUMMARY: Final = 1000
USER_AGENT: Final = "bsmu-bot feed reader (+https://www.bsmu.by)"
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"[ \t\r\f\v]+")
_BLOCK_RE = re.compile(r"(?i)<\s*(br|/?p|/?div|/?li|/?h[1-6]|/?tr)\b[^>]*>")
_TOPIC_RE = re.compile(r"[^\W\d_][\w-]*")


class FeedError(Exception):
    """A feed could not be fetched or parsed (the message says why, for the log)."""


@dataclass(frozen=True)
class FeedEntry:
    key: str
    url: str | None
    published: datetime
    tags: tuple[str, ...]
    content: dict[str, dict[str, str]]


@dataclass
class PollResult:
    new_ids: list[int] = field(default_factory=list)
    updated: int = 0
    entries: int = 0  # entries seen in all feeds
    errors: dict[str, str] = field(default_factory=dict)  # url -> why it failed


# --- parsing ---------------------------------------------------------------------------------


def entry_key(identity: str) -> str:
    return FEED_PREFIX + hashlib.sha1(identity.strip().encode()).hexdigest()


def clean_text(raw: str | None, limit: int) -> str:
    """Feed HTML (or text) -> escaped plain text, whitespace tidied, at most ``limit``
    visible characters (cut at a word, with an ellipsis)."""
    if not raw:
        return ""
    text = _BLOCK_RE.sub("\n", raw)
    text = html.unescape(_TAG_RE.sub("", text))
    lines = [_SPACE_RE.sub(" ", line).strip() for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if len(text) > limit:
        cut = text[:limit - 1]
        if " " in cut[limit // 2:]:
            cut = cut.rsplit(" ", 1)[0]
        text = cut.rstrip(" ,.;:") + "…"
    return tghtml.escape(text)


def _language(feed: Any) -> str | None:
    code = (feed.get("language") or "").lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else None


def _published(entry: Any, now: datetime) -> datetime:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return min(when, now)  # a date in the future is a feed's mistake
    return now


def _topics(entry: Any) -> tuple[str, ...]:
    found: list[str] = []
    for tag in entry.get("tags") or ():
        term = (tag.get("term") or "").strip().lower().replace(" ", "-")
        if _TOPIC_RE.fullmatch(term) and term not in found:
            found.append(term[:40])
    return tuple(found)


def _link(entry: Any, base: str) -> str | None:
    link = (entry.get("link") or "").strip()
    if link and base:
        link = urljoin(base, link)
    return link[:2000] if link.startswith(("http://", "https://")) else None


def parse(body: bytes, url: str = "", *, now: datetime | None = None,
          max_entries: int = MAX_ENTRIES) -> list[FeedEntry]:
    """Entries of an RSS or Atom document (oldest first, newest ``max_entries``). Raises
    FeedError when the bytes are not a feed at all."""
    now = now or utcnow()
    # A content type as if feedparser had fetched it (without one it flags every document
    # as malformed). No base URL: feedparser would resolve opaque <guid>s against it, so
    # one guid would hash differently per feed address; links are resolved here instead.
    parsed = feedparser.parse(body, response_headers={"content-type": "application/xml"})
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception")
        raise FeedError(f"not a valid feed: {reason}" if reason else "not a valid feed")
    if not parsed.get("version") and not parsed.get("entries"):
        raise FeedError("not an RSS or Atom feed")
    lang = _language(parsed.get("feed") or {})
    langs = (lang,) if lang else LANGS
    entries: list[FeedEntry] = []
    for entry in parsed.get("entries") or ():
        link = _link(entry, url)
        identity = (entry.get("id") or "").strip() or link
        title = clean_text(entry.get("title"), MAX_TITLE)
        summary = clean_text(entry.get("summary") or entry.get("description"), MAX_SUMMARY)
        if not identity:
            if not title:
                continue
            identity = f"{url}\n{title}"
        if not title and not summary:
            continue
        title = title or clean_text(summary, 80)
        content = {"title": dict.fromkeys(langs, title),
                   "summary": dict.fromkeys(langs, summary),
                   "body": dict.fromkeys(langs, summary)}
        entries.append(FeedEntry(entry_key(identity), link, _published(entry, now),
                                 _topics(entry), content))
    entries.sort(key=lambda e: e.published)
    return entries[-max_entries:] if max_entries else entries


# --- fetching --------------------------------------------------------------------------------


async def fetch(http: aiohttp.ClientSession, url: str, *, timeout: float = TIMEOUT,
                max_bytes: int = MAX_BYTES) -> bytes:
    """The feed's bytes; FeedError on a timeout, an HTTP error or a body over the limit."""
    try:
        async with asyncio.timeout(timeout):
            async with http.get(url, headers={"User-Agent": USER_AGENT,
                                              "Accept": "application/rss+xml, "
                                              "application/atom+xml, application/xml, "
                                              "text/xml;q=0.9, */*;q=0.5"}) as resp:
                if resp.status != 200:
                    raise FeedError(f"HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise FeedError(f"feed larger than {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FeedError(f"feed larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
    except TimeoutError:
        raise FeedError(f"no complete answer within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from exc


# --- storing ---------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert


async def store(session: AsyncSession, entries: Iterable[FeedEntry]) -> tuple[list[int], int]:
    """Insert new entries (in publication order, so ids follow it), update changed ones;
    returns (new ids, number updated). The caller commits."""
    unique: dict[str, FeedEntry] = {}
    for e in entries:
        unique.setdefault(e.key, e)
    if not unique:
        return [], 0
    table = NewsItem.__table__
    existing = {r.key: r for r in (await session.execute(
        select(table.c.key, table.c.id, table.c.content, table.c.url, table.c.tags)
        .where(table.c.key.in_(list(unique))))).all()}
    new_ids: list[int] = []
    updated = 0
    now = utcnow()
    for e in sorted(unique.values(), key=lambda e: e.published):
        row = existing.get(e.key)
        if row is None:
            stmt = _insert(session)(table).values(
                key=e.key, source=SOURCE, published=e.published, url=e.url,
                tags=list(e.tags), content=e.content, withdrawn=False, first_seen=now,
                updated_at=now).on_conflict_do_nothing(index_elements=["key"]
                                                       ).returning(table.c.id)
            new_id = (await session.execute(stmt)).scalar()
            if new_id is not None:  # None: another poller inserted it meanwhile
                new_ids.append(int(new_id))
        elif (row.content, row.url, list(row.tags or ())) != (e.content, e.url, list(e.tags)):
            await session.execute(update(table).where(table.c.id == row.id).values(
                content=e.content, url=e.url, tags=list(e.tags), updated_at=now))
            updated += 1
    return new_ids, updated


async def poll(urls: Sequence[str], sessions: async_sessionmaker[AsyncSession], *,
               http: aiohttp.ClientSession | None = None, timeout: float = TIMEOUT,
               max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> PollResult:
    """Fetch every feed (concurrently), store their entries in one transaction. A feed that
    fails is logged and reported in ``errors``; the others still count."""
    result = PollResult()
    if not urls:
        return result
    own = http is None
    client = http or aiohttp.ClientSession()
    try:
        bodies = await asyncio.gather(*(fetch(client, u, timeout=timeout, max_bytes=max_bytes)
                                        for u in urls), return_exceptions=True)
    finally:
        if own:
            await client.close()
    entries: list[FeedEntry] = []
    for url, body in zip(urls, bodies, strict=True):
        if isinstance(body, BaseException):
            if not isinstance(body, FeedError | Exception):
                raise body
            result.errors[url] = str(body)
            log.warning("feed %s: %s", url, body)
            continue
        try:
            found = parse(body, url, max_entries=max_entries)
        except FeedError as exc:
            result.errors[url] = str(exc)
            log.warning("feed %s: %s", url, exc)
            continue
        result.entries += len(found)
        entries.extend(found)
    if entries:
        async with sessions() as session:
            result.new_ids, result.updated = await store(session, entries)
            await session.commit()
    if result.new_ids:
        log.info("feeds: %d new item(s)", len(result.new_ids))
    return result
