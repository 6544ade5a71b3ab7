"""News subscriptions: one row per user (the ``subscriptions`` table).

Like :mod:`bot.db.users`, every function takes an ``AsyncSession`` and only flushes; the
caller commits. ``tags`` is ``None`` for every topic, else the chosen topics. ``cursor`` is
the last ``news_items.id`` the subscriber was sent: a new subscription starts at the newest
item (no flood of old news as the first digest), and unsubscribing keeps the row, so
re-subscribing (or Undo) restores the old settings and cursor.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, exists, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import deliveries
from bot.db.engine import dialect_insert as _insert
from bot.db.models import FREQUENCIES, NewsItem, Subscription, User, utcnow

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


# --- recipients of digests and broadcasts (bot.digest) ---------------------------------------

S = Subscription.__table__
U = User.__table__


def _reachable(lang: str | None = None) -> Any:
    """Active subscriptions of users who have not blocked the bot (optionally: of one news
    language)."""
    query = (select(S.c.user_id, S.c.chat_id, S.c.lang, S.c.tags, S.c.cursor)
             .join(U, U.c.id == S.c.user_id)
             .where(S.c.active.is_(True), U.c.blocked.is_(False)))
    return query if lang is None else query.where(S.c.lang == lang)


async def count_reachable(session: AsyncSession, lang: str | None = None) -> int:
    return int(await session.scalar(_reachable(lang).with_only_columns(func.count())) or 0)


async def reachable_tags(session: AsyncSession, lang: str | None = None) -> list[Any]:
    """The topics (None: every topic) of each reachable subscriber."""
    return list((await session.execute(_reachable(lang).with_only_columns(S.c.tags)))
                .scalars())


async def unplanned(session: AsyncSession, run_id: int, *, after: int, limit: int,
                    lang: str | None = None, frequency: str | None = None,
                    cursor_below: int | None = None) -> Sequence[Row[Any]]:
    """The next ``limit`` reachable subscribers by user id (above ``after``) with no
    delivery in the run yet: (user_id, chat_id, lang, tags, cursor). On PostgreSQL their
    rows are locked ``FOR UPDATE``, so two runs planned at once cannot both take the same
    subscriber's items."""
    query = _reachable(lang).where(S.c.user_id > after,
                                   ~deliveries.planned_for(run_id, S.c.user_id))
    if frequency is not None:
        query = query.where(S.c.frequency == frequency)
    if cursor_below is not None:
        query = query.where(S.c.cursor < cursor_below)
    query = query.order_by(S.c.user_id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=S)
    return (await session.execute(query)).all()


async def advance_cursors(session: AsyncSession, user_ids: Sequence[int], upto: int) -> None:
    """The subscribers were given everything up to news item ``upto``."""
    stamp = utcnow()
    for chunk in deliveries.chunked(user_ids):
        await session.execute(update(S).where(S.c.user_id.in_(chunk), S.c.cursor < upto)
                              .values(cursor=upto, updated_at=stamp))


async def deactivate_blocked(session: AsyncSession, user_ids: Sequence[int],
                             when: datetime) -> None:
    """These users blocked the bot (Telegram said 403): their subscriptions become inactive
    and the users are marked blocked (the first time noticed is kept)."""
    for chunk in deliveries.chunked(user_ids):
        await session.execute(update(S).where(S.c.user_id.in_(chunk)).values(
            active=False, updated_at=when))
        await session.execute(update(U).where(U.c.id.in_(chunk), U.c.blocked.is_(False))
                              .values(blocked=True, blocked_at=when))


async def instant_waiting(session: AsyncSession, upto: int) -> bool:
    """Does a reachable instant subscriber have news up to ``upto`` not sent yet?"""
    return bool(await session.scalar(select(exists().where(
        S.c.active.is_(True), S.c.frequency == "instant", S.c.cursor < upto,
        U.c.id == S.c.user_id, U.c.blocked.is_(False)))))
