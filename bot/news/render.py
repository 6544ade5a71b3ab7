"""News items as chat messages: the paginated list and the whole item (no I/O).

Where the text comes from decides how far it is trusted. KB items are Telegram HTML written
by staff and validated by ``kb check``: used as they are. Feed items are stored as escaped
plain text (bot.news.feeds): used as they are when they are exactly that (no tags, nothing
Telegram would reject), otherwise escaped here, so a feed can never inject formatting or
links. Whatever comes out passes :func:`bot.text.tghtml.problems`.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import urlparse

from bot.db import news as store
from bot.db.models import NewsItem as NewsRow
from bot.i18n import Translate
from bot.knowledge.models import NewsItem as KbNewsItem
from bot.text import tghtml

LIST_SUMMARY = 350  # characters of a summary in the list; the item itself shows everything
SHORT_SUMMARIES = (LIST_SUMMARY, 150, 0)  # tried in turn until a page fits one message


@dataclass(frozen=True)
class NewsView:
    """One news item in one language, every text field safe Telegram HTML."""

    title: str
    summary: str
    body: str
    published: date
    url: str | None
    tags: tuple[str, ...] = ()
    id: int | None = None  # news_items.id, when it comes from the database
    kb_id: str | None = None  # the KB's id, for KB items


def safe_html(text: str | None, trusted: bool) -> str:
    """Trusted text is HTML already (kept unless Telegram would reject it, then shown as
    its plain text). Untrusted text must be escaped plain text (entities, no tags); else it
    is taken for raw text and escaped."""
    return _safe_html((text or "").strip(), trusted)


@functools.lru_cache(maxsize=1024)
def _safe_html(text: str, trusted: bool) -> str:
    # The same items are shown again and again (every "what's new?"): checking their HTML
    # was ~0.3 ms a list. A pure function of its arguments, so a cache cannot go stale.
    if tghtml.problems(text):
        return tghtml.escape(tghtml.plain_text(text) if trusted else text)
    if trusted or "<" not in text:
        return text
    return tghtml.escape(text)


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links; None for anything else (javascript:, relative...)."""
    if not url:
        return None
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc or any(
            c.isspace() for c in url):
        return None
    return url


def _local_date(moment: datetime, tz: tzinfo | None) -> date:
    return moment.astimezone(tz or UTC).date()


def view_from_row(row: NewsRow, lang: str, tz: tzinfo | None = None) -> NewsView:
    trusted = row.source == "kb"
    summary = safe_html(store.text(row, "summary", lang), trusted)
    body = safe_html(store.text(row, "body", lang), trusted) or summary
    kb_id = row.key[len(store.KB_PREFIX):] if row.key.startswith(store.KB_PREFIX) else None
    return NewsView(title=safe_html(store.text(row, "title", lang), trusted), summary=summary,
                    body=body, published=_local_date(row.published, tz),
                    url=safe_url(row.url), tags=tuple(row.tags or ()), id=row.id, kb_id=kb_id)


def view_from_kb(item: KbNewsItem, lang: str) -> NewsView:
    return NewsView(title=safe_html(item.text("title", lang), True),
                    summary=safe_html(item.text("summary", lang), True),
                    body=safe_html(item.text("body", lang), True), published=item.date,
                    url=safe_url(item.url), tags=tuple(item.tags), kb_id=item.id)


def format_date(day: date, t: Translate) -> str:
    # Day and year as strings: Fluent would group the digits of a number ("2,023").
    return t("news-date", day=str(day.day), month=day.month, year=str(day.year))


def link(url: str | None, t: Translate) -> str:
    if not url:
        return ""
    return f'🔗 <a href="{html.escape(url, quote=True)}">{t("news-read-more")}</a>'


def shorten(text: str, limit: int) -> str:
    """``text`` (safe HTML) cut to about ``limit`` visible characters at a word boundary;
    a cut text loses its formatting (cutting inside tags would break them)."""
    if tghtml.visible_length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    plain = " ".join(tghtml.plain_text(text).split())
    cut = plain[:limit]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return tghtml.escape(cut.rstrip(" ,.;:—-")) + "…"


def list_entry(view: NewsView, number: int, t: Translate, summary_limit: int) -> str:
    lines = [f"<b>{number}. {view.title}</b>", f"<i>{format_date(view.published, t)}</i>"]
    if summary_limit and (summary := shorten(view.summary, summary_limit)):
        lines.append(summary)
    if view.url:
        lines.append(link(view.url, t))
    return "\n".join(lines)


def list_text(views: list[NewsView], t: Translate, *, page: int = 0, pages: int = 1,
              first_number: int = 1) -> str:
    """One page of the list: title, date, summary and link of each item, newest first.
    Summaries are shortened as much as needed for the page to fit one message."""
    if not views:
        return t("news-none")
    head = t("news-list-title")
    if pages > 1:
        head += "\n" + t("menu-page", page=page + 1, pages=pages)
    text = head
    for limit in SHORT_SUMMARIES:
        items = [list_entry(v, first_number + i, t, limit) for i, v in enumerate(views)]
        text = "\n\n".join([head, *items])
        if tghtml.visible_length(text) <= tghtml.MAX_MESSAGE:
            break
    return text


def item_text(view: NewsView, t: Translate) -> str:
    """The whole item: title, date, body and link (split into messages by the sender)."""
    parts = [f"<b>{view.title}</b>\n<i>{format_date(view.published, t)}</i>", view.body]
    if view.url:
        parts.append(link(view.url, t))
    return "\n\n".join(p for p in parts if p)


def button_label(view: NewsView, number: int | None = None) -> str:
    """A short plain-text label (the keyboard shortens it further)."""
    title = " ".join(tghtml.plain_text(view.title).split())
    return f"{number}. {title}" if number is not None else f"📰 {title}"
