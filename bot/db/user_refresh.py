"""What Telegram says of users who write again, refreshed in the background, in batches.

The dispatcher records each user at most once a minute (bot.telegram.middlewares.UserContext).
A user it has never seen (since the start) is written on the update's path: the row must
exist before their question is stored, and their own language choice is read back. A user
it knows only needs names, ``language_code`` and ``last_seen`` brought up to date, and
students ask minutes apart, so that refresh came with nearly every question: an UPSERT and a
commit of its own on the update's path. Here the refreshes wait in a queue (one per user) and
a single task writes all that are waiting in one transaction, then reads back each user's
language choice (another instance may have changed it) for the dispatcher's cache.

A refresh never creates a user (one who used /forget meanwhile stays forgotten). Like the
full write, it clears the ``blocked`` flag: a user who writes to us has evidently unblocked
the bot (a digest in another process may have marked them blocked meanwhile). A refresh that
cannot be written (the database is down) is dropped: the next minute brings another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.health import DbHealth, is_outage
from bot.db.models import User, utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 500
_USERS = User.__table__
_UPDATE = _USERS.update().where(_USERS.c.id == bindparam("uid")).values(
    username=bindparam("u_username"), first_name=bindparam("u_first_name"),
    language_code=bindparam("u_language_code"), last_seen=bindparam("u_last_seen"),
    blocked=False, blocked_at=None)


class UserRefresh:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 health: DbHealth | None = None, max_batch: int = MAX_BATCH) -> None:
        self.sessionmaker = sessionmaker
        self.health = health or DbHealth()
        self.max_batch = max_batch
        #: Told each refreshed user's language choice, and which users are no longer stored,
        #: with the ``token`` their refresh was queued with.
        self.on_language: Callable[[int, str | None, Any], None] = lambda *_: None
        self.on_gone: Callable[[int, Any], None] = lambda *_: None
        self.written = 0  # users refreshed (tests read it)
        self.dropped = 0  # refreshes dropped while the database was down
        # id -> (the UPDATE's parameters but last_seen, token)
        self._pending: dict[int, tuple[dict[str, Any], Any]] = {}
        self._task: asyncio.Task | None = None

    def add(self, user_id: int, *, username: str | None, first_name: str | None,
            language_code: str | None, token: Any = None) -> None:
        """Queue a refresh (the latest one per user wins); returns at once. ``token`` comes
        back with the result (the caller tells by it whether the result is still news)."""
        self._pending[user_id] = ({"uid": user_id, "u_username": username,
                                   "u_first_name": first_name,
                                   "u_language_code": language_code}, token)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="user-refresh")

    async def close(self) -> None:
        """Write what is queued, then return."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self._pending:
            await self._run()

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let the updates of this moment queue theirs
            ids = list(self._pending)[:self.max_batch]
            taken = [self._pending.pop(uid) for uid in ids]
            rows = [row for row, _ in taken]
            if not self.health.usable():
                self.dropped += len(rows)
                continue
            try:
                languages = await self._write(rows)
            except Exception as exc:
                self.dropped += len(rows)
                if is_outage(exc):
                    self.health.failed(exc)
                else:
                    log.exception("refreshing %d users failed", len(rows))
                continue
            self.health.ok()
            self.written += len(languages)
            for uid, (_, token) in zip(ids, taken, strict=True):
                if uid in languages:
                    self.on_language(uid, languages[uid], token)
                else:
                    self.on_gone(uid, token)

    async def _write(self, rows: list[dict[str, Any]]) -> dict[int, str | None]:
        now = utcnow()
        for row in rows:
            row["u_last_seen"] = now
        async with self.sessionmaker() as session:
            # One executemany of a plain UPDATE: a user no longer stored matches no row.
            await session.execute(_UPDATE, rows)
            found = await session.execute(
                select(User.id, User.language).where(User.id.in_([r["uid"] for r in rows])))
            languages = {uid: lang for uid, lang in found}
            await session.commit()
        return languages
