"""News subscriptions: one row per user (the ``subscriptions`` table).

Like :mod:`bot.db.users`, every function takes an ``AsyncSession`` and only flushes; the
caller commits. ``tags`` is ``None`` for every topic, else the chosen topics. ``cursor`` is
the last ``news_items.id`` the subscriber was sent: a new subscription starts at the newest
item (no flood of old news as the first digest), and unsubscribing keeps the row, so
re-subscribing (or Undo) restores the old settings and cursor.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, Final

from sqlalchemy import func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import dialect_insert as _insert
from bot.db.models import FREQUENCIES, NewsItem, Subscription, utcnow

DEFAULT_FREQUENCY: Final = "daily"
MAX_TAGS: Final = 50

class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

UNSET: Any = _Unset()  # "leave as it is" (``tags=None`` means every topic)
_REFRESH = {"populate_existing": True}

def normalize_tags(tags: Iterable[str] | None) -> list[str] | None:
    """Sorted, without duplicates; an empty choice means every topic (``None``)."""
    if tags is None:
        return None
    if isinstance(tags, str):
        raise TypeError("tags must be a list of topics, not one string")
    out = sorted({str(t) for t in tags})
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} topics")
    return out or None

def _tags_value(tags: list[str] | None) -> Any:
    """Every topic is SQL NULL (not JSON null), so ``tags IS NULL`` finds it on both
    backends."""
    return null() if tags is None else tags

def toggle_tag(tags: list[str] | None, tag: str) -> list[str] | None:
    """The topics after tapping ``tag``: add it, or remove it (none left = every topic)."""
    current = set(tags or ())
    current ^= {tag}
    return normalize_tags(current)

def _check_frequency(frequency: str) -> None:
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, not {frequency!r}")

async def max_news_id(session: AsyncSession) -> int:
    """The newest news_items.id (withdrawn ones included: ids are order of appearance)."""
    return await session.scalar(select(func.max(NewsItem.id))) or 0

async def get(session: AsyncSession, user_id: int) -> Subscription | None:
    return await session.get(Subscription, user_id, populate_existing=True)

async def subscribe(session: AsyncSession, user_id: int, chat_id: int, lang: str,
                    frequency: str = DEFAULT_FREQUENCY,
                    tags: Iterable[str] | None = None) -> Subscription:
    """Subscribe (or re-subscribe) ``user_id`` with these settings, active from now on.

    A new row starts with cursor = the newest news item; an existing row (also an
    unsubscribed one) keeps its cursor, so coming back never floods old news. One
    statement, so two simultaneous /subscribe do not collide. The user row must exist.
    """
    _check_frequency(frequency)
    tags = normalize_tags(tags)
    now = utcnow()
    cursor = await max_news_id(session)
    stmt = _insert(session)(Subscription).values(
        user_id=user_id, chat_id=chat_id, frequency=frequency, tags=_tags_value(tags), lang=lang,
        active=True, cursor=cursor, created_at=now, updated_at=now, unsubscribed_at=None)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Subscription.user_id],
        set_={"chat_id": chat_id, "frequency": frequency, "tags": stmt.excluded.tags,
              "lang": lang, "active": True, "unsubscribed_at": None, "updated_at": now},
    ).returning(Subscription)
    return (await session.execute(stmt, execution_options=_REFRESH)).scalar_one()

async def update_settings(session: AsyncSession, user_id: int, *, frequency: str = UNSET,
                          tags: Iterable[str] | None = UNSET, lang: str = UNSET,
                          chat_id: int = UNSET) -> Subscription | None:
    """Change some settings (active or not); None when the user has no subscription."""
    values: dict[str, Any] = {}
    if frequency is not UNSET:
        _check_frequency(frequency)
        values["frequency"] = frequency
    if tags is not UNSET:
        values["tags"] = _tags_value(normalize_tags(tags))
    if lang is not UNSET:
        values["lang"] = lang
    if chat_id is not UNSET:
        values["chat_id"] = chat_id
    return await _update(session, user_id, values)

async def toggle_topic(session: AsyncSession, user_id: int, tag: str,
                       offered: Collection[str]) -> tuple[Subscription | None, bool]:
    """Flip one topic of an active subscription: read and write in one transaction with the
    row locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so two quick taps handled at the
    same time, by one instance or by two, both count; the second waits for the first.

    Returns ``(subscription, changed)``: ``changed`` is False when there is no active
    subscription, or when ``tag`` is neither offered nor chosen (a stale menu). SQLite
    ignores FOR UPDATE and lets one writer in at a time; within one process the caller
    serialises a user's taps (handlers/subscriptions.py), as SQLite runs one instance.
    Commit soon after: the lock is held until then.
    """
    sub = await session.scalar(select(Subscription).where(Subscription.user_id == user_id)
                               .with_for_update().execution_options(populate_existing=True))
    if sub is None or not sub.active:
        return sub, False
    chosen = sub.tags or []
    if tag not in offered and tag not in chosen:
        return sub, False
    tags = _tags_value(normalize_tags(toggle_tag(chosen, tag)))
    return await _update(session, user_id, {"tags": tags}), True

async def unsubscribe(session: AsyncSession, user_id: int) -> Subscription | None:
    """Stop sending; settings and cursor stay for an Undo. None when there is no row."""
    sub = await get(session, user_id)
    if sub is None or not sub.active:
        return sub
    return await _update(session, user_id, {"active": False, "unsubscribed_at": utcnow()})

async def resubscribe(session: AsyncSession, user_id: int,
                      chat_id: int | None = None) -> Subscription | None:
    """Undo an unsubscribe: active again with the old settings and cursor."""
    values: dict[str, Any] = {"active": True, "unsubscribed_at": None}
    if chat_id is not None:
        values["chat_id"] = chat_id
    return await _update(session, user_id, values)

async def count_by(session: AsyncSession, frequency: str | None = None,
                   lang: str | None = None, *, active: bool = True) -> int:
    """How many (active) subscriptions, optionally of one frequency and/or language."""
    query = select(func.count()).select_from(Subscription).where(Subscription.active == active)
    if frequency is not None:
        query = query.where(Subscription.frequency == frequency)
    if lang is not None:
        query = query.where(Subscription.lang == lang)
    return await session.scalar(query) or 0

async def counts(session: AsyncSession, *, active: bool = True) -> dict[tuple[str, str], int]:
    """Subscriptions per (frequency, lang), for statistics."""
    rows = await session.execute(
        select(Subscription.frequency, Subscription.lang, func.count())
        .where(Subscription.active == active)
        .group_by(Subscription.frequency, Subscription.lang))
    return {(f, lang): n for f, lang, n in rows}

async def _update(session: AsyncSession, user_id: int,
                  values: dict[str, Any]) -> Subscription | None:
    if not values:
        return await get(session, user_id)
    stmt = (update(Subscription).where(Subscription.user_id == user_id)
            .values(**values, updated_at=utcnow()).returning(Subscription))
    return (await session.execute(stmt, execution_options=_REFRESH)).scalar_one_or_none()
