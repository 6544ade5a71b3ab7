"""The news list in the database: synchronised from the KB, read by /news and digests."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import NewsItem as NewsRow
from bot.knowledge import KnowledgeBase
from bot.knowledge.models import NewsItem

KB_PREFIX = "kb:"


def kb_content(item: NewsItem) -> dict:
    return {"title": dict(item.title), "summary": dict(item.summary), "body": dict(item.body)}


def kb_published(item: NewsItem) -> datetime:
    return datetime.combine(item.date, time(0, 0), tzinfo=UTC)


async def sync_kb_news(session: AsyncSession, kb: KnowledgeBase) -> list[int]:
    """Make news_items match the KB's news. New items get new ids (so every subscriber gets
    them once); edited ones are updated in place (never re-sent); removed ones are
    withdrawn. Returns the ids of new items. The caller commits."""
    rows = {r.key: r for r in (await session.execute(
        select(NewsRow).where(NewsRow.source == "kb"))).scalars()}
    new_rows = []
    for item in kb.news:
        key = KB_PREFIX + item.id
        content, published = kb_content(item), kb_published(item)
        row = rows.pop(key, None)
        if row is None:
            row = NewsRow(key=key, source="kb", published=published, url=item.url,
                          tags=list(item.tags), content=content)
            session.add(row)
            new_rows.append(row)
        elif (row.content, row.tags, row.url, row.published, row.withdrawn) != (
                content, list(item.tags), item.url, published, False):
            row.content, row.tags, row.url = content, list(item.tags), item.url
            row.published, row.withdrawn = published, False
    for row in rows.values():
        row.withdrawn = True
    await session.flush()
    return [r.id for r in new_rows]


async def latest(session: AsyncSession, limit: int, offset: int = 0) -> list[NewsRow]:
    """Visible items, newest first (by publication date, then order of appearance)."""
    query = (select(NewsRow).where(NewsRow.withdrawn.is_(False))
             .order_by(NewsRow.published.desc(), NewsRow.id.desc()).limit(limit).offset(offset))
    return list((await session.execute(query)).scalars())


async def count(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(NewsRow).where(NewsRow.withdrawn.is_(False))) or 0


async def get(session: AsyncSession, news_id: int) -> NewsRow | None:
    row = await session.get(NewsRow, news_id)
    return None if row is None or row.withdrawn else row


async def by_kb_id(session: AsyncSession, kb_id: str) -> NewsRow | None:
    return await session.scalar(select(NewsRow).where(NewsRow.key == KB_PREFIX + kb_id))


def text(row: NewsRow, field: str, lang: str) -> str:
    values: dict[str, str] = row.content.get(field) or {}
    return values.get(lang) or next(iter(values.values()), "")


async def between(session: AsyncSession, after: int, upto: int) -> list[Any]:
    """Rows (Core, not entities) of the items with ``after < id <= upto``, withdrawn ones
    included: what digest planning chooses from."""
    table = NewsRow.__table__
    query = select(table).where(table.c.id > after, table.c.id <= upto)
    return list((await session.execute(query)).all())
