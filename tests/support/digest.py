"""Helpers for digest tests and benchmarks: subscribers and news rows in bulk, and a
virtual clock for the pacer. Nothing here runs in production."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, null

from bot.db.models import NewsItem, Subscription, User, utcnow


@dataclass(frozen=True)
class Sub:
    """A subscriber to create: a users row first, then the subscription."""

    user_id: int
    lang: str = "en"
    frequency: str = "daily"
    tags: tuple[str, ...] | None = None
    cursor: int = 0
    active: bool = True
    blocked: bool = False
    chat_id: int | None = None


async def add_subscribers(sessions: Any, subs: Iterable[Sub], chunk: int = 5000) -> int:
    """Insert users and subscriptions directly (no UI), in chunks; returns how many."""
    now = utcnow()
    subs = list(subs)
    async with sessions() as s:
        for i in range(0, len(subs), chunk):
            part = subs[i:i + chunk]
            await s.execute(insert(User), [
                {"id": x.user_id, "first_name": f"User {x.user_id}", "language_code": x.lang,
                 "first_seen": now, "last_seen": now, "blocked": x.blocked} for x in part])
            await s.execute(insert(Subscription), [
                {"user_id": x.user_id, "chat_id": x.chat_id or x.user_id,
                 "frequency": x.frequency, "lang": x.lang,
                 "tags": null() if x.tags is None else list(x.tags), "active": x.active,
                 "cursor": x.cursor, "created_at": now, "updated_at": now} for x in part])
        await s.commit()
    return len(subs)


@dataclass(frozen=True)
class News:
    key: str
    title: dict[str, str]
    summary: dict[str, str] | None = None
    tags: tuple[str, ...] = ()
    published: datetime = datetime(2026, 11, 20, tzinfo=UTC)
    url: str | None = "https://www.bsmu.by/"
    source: str = "kb"
    withdrawn: bool = False


async def add_news(sessions: Any, items: Sequence[News]) -> list[int]:
    """Insert news rows in order; returns their ids."""
    ids = []
    async with sessions() as s:
        for it in items:
            row = NewsItem(key=it.key, source=it.source, published=it.published, url=it.url,
                           tags=list(it.tags), withdrawn=it.withdrawn,
                           content={"title": dict(it.title),
                                    "summary": dict(it.summary or {}),
                                    "body": dict(it.summary or {})})
            s.add(row)
            await s.flush()
            ids.append(row.id)
        await s.commit()
    return ids


class VirtualTime:
    """A clock and a ``sleep`` for the pacer in which time only moves when every task is
    asleep: :meth:`run` jumps to the earliest wake-up, so tests of pacing are exact and
    instantaneous."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), fut))
        await fut

    async def run(self, *coros: Awaitable[Any], limit: float = 1e6) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                break
            if not self._sleepers:
                continue
            wake, _, fut = heapq.heappop(self._sleepers)
            if wake - self.now > limit:
                raise TimeoutError("virtual time limit exceeded")
            self.now = max(self.now, wake)
            fut.set_result(None)
        return [t.result() for t in tasks]
