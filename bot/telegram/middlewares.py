"""Dispatcher middlewares: in-flight tracking, one database session per update, the user's
language and record, and per-user flood protection."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update, User

from bot.db import users
from bot.db.health import DbHealth, is_outage
from bot.db.user_refresh import UserRefresh
from bot.i18n import Translator, language_of
from bot.telegram.flood import FloodCheck, Verdict

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)


class InFlight(BaseMiddleware):
    """Counts updates being handled, so shutdown can let them finish, and lets at most
    ``limit`` of them run at once; the others wait their turn here, before they hold a
    database session.

    Without a limit a backlog (a burst, or the updates that piled up at Telegram during a
    restart) becomes thousands of tasks all ready at once: each one's next step then waits
    behind all the others, so every answer is late, not just the last ones. In polling
    mode the same limit makes the next getUpdates wait (App.polling_options), so the
    backlog stays at Telegram and does not even become tasks.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.count = 0  # running and waiting
        self.running = 0
        self.peak = 0  # the most that ran at once
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(limit) if limit else None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            if self._slots is None:
                return await self._run(handler, event, data)
            async with self._slots:
                return await self._run(handler, event, data)
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()

    async def _run(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await handler(event, data)
        finally:
            self.running -= 1

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


class DbSession(BaseMiddleware):
    """One AsyncSession per update, committed when the handler returns.

    Most updates never use it: a question is stored by the batched writer
    (bot.db.question_log) and a known user's row is refreshed in the background
    (bot.db.user_refresh). So handlers
    get a :class:`LazySession`, which makes the session on first use (making one, with its
    ORM Session inside, and checking it afterwards was about 2% of the bot's CPU per
    question on the bench); one that was used is committed when a transaction is open or
    objects are pending, and closed."""

    def __init__(self, sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        lazy = LazySession(self.sessionmaker)
        data["session"] = lazy
        try:
            result = await handler(event, data)
            session = lazy.made
            if session is not None and _pending(session):
                await session.commit()
            return result
        finally:
            session = lazy.made
            if session is not None and (_pending(session) or session.sync_session.identity_map):
                await session.close()  # rolls back what was not committed


class LazySession:
    """Stands for the update's AsyncSession and makes it on first use: every attribute
    (``execute``, ``commit``, ``begin_nested``, ``get_bind``...) is the session's own."""

    __slots__ = ("_factory", "made")

    def __init__(self, factory) -> None:
        self._factory = factory
        self.made = None  # the AsyncSession, once something used it

    def __getattr__(self, name: str) -> Any:
        if self.made is None:
            self.made = self._factory()
        return getattr(self.made, name)


def _pending(session: Any) -> bool:
    sync = session.sync_session
    return sync.in_transaction() or bool(sync.new or sync.dirty or sync.deleted)


class UserContext(BaseMiddleware):
    """Records the user (at most once a minute per user: it is a write on the hot path) and
    gives handlers ``lang`` and ``t`` (the translate function for that language)."""

    REFRESH = 60.0

    def __init__(self, translator: Translator, default_lang: str = "en",
                 cache_size: int = 50_000, health: DbHealth | None = None,
                 refresh: UserRefresh | None = None) -> None:
        self.translator = translator
        self.health = health or DbHealth()
        self.default_lang = default_lang
        self.cache_size = cache_size
        self._seen: dict[int, tuple[float, str | None]] = {}  # id -> (written at, chosen lang)
        # Users already known are refreshed in the background (bot.db.user_refresh).
        self.refresh = refresh
        if refresh is not None:
            refresh.on_language = self._refreshed
            refresh.on_gone = self._gone

    async def close(self) -> None:
        """Write the refreshes still queued."""
        if self.refresh is not None:
            await self.refresh.close()

    def forget(self, user_id: int) -> None:
        self._seen.pop(user_id, None)

    def remember_language(self, user_id: int, lang: str) -> None:
        self._seen[user_id] = (time.monotonic(), lang)

    # A refresh's result counts only while the cache holds what it held when the refresh was
    # queued (the token): a /language choice or a forget meanwhile is newer.
    def _refreshed(self, user_id: int, lang: str | None, token: Any) -> None:
        if self._seen.get(user_id) is token:
            self._seen[user_id] = (token[0], lang)

    def _gone(self, user_id: int, token: Any) -> None:
        if self._seen.get(user_id) is token:
            del self._seen[user_id]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        user: User | None = data.get("event_from_user")
        chosen = None
        wrote = False
        if user is not None and not user.is_bot:
            now = time.monotonic()
            cached = self._seen.get(user.id)
            if cached is not None and self.refresh is not None and now - cached[0] > self.REFRESH:
                # Known: the row exists and the language is known; brought up to date later.
                cached = self._seen[user.id] = (now, cached[1])
                self.refresh.add(user.id, username=user.username, first_name=user.first_name,
                                 language_code=user.language_code, token=cached)
            if (cached is None or now - cached[0] > self.REFRESH) and self.health.usable():
                try:
                    language = await users.touch_user(
                        data["session"], user.id, username=user.username,
                        first_name=user.first_name, language_code=user.language_code)
                    # Committed at once: a short write transaction, and the row survives a
                    # failing handler (the question rows that follow need it).
                    await data["session"].commit()
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    # The database is down: answer anyway, in the language we knew.
                    self.health.failed(exc)
                    with contextlib.suppress(Exception):
                        await data["session"].rollback()
                else:
                    self.health.ok()
                    if len(self._seen) >= self.cache_size:
                        self._seen.clear()
                    cached = self._seen[user.id] = (now, language)
                    wrote = True
            chosen = cached[1] if cached is not None else None
        lang = chosen or language_of(user.language_code if user else None, self.default_lang)
        data["lang"] = lang
        data["t"] = self.translator.for_lang(lang)
        try:
            return await handler(event, data)
        except BaseException:
            # The update's transaction is rolled back, the user row with it: write it again
            # next time (a new user's questions would otherwise break the foreign key).
            if wrote:
                self.forget(user.id)
            raise


class Flood(BaseMiddleware):
    """Drops messages over the per-user limit; the first one over gets a notice."""

    def __init__(self, guard: FloodCheck) -> None:
        self.guard = guard

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Message):
            return await handler(event, data)
        verdict = self.guard.check(user.id, time.monotonic())
        if inspect.isawaitable(verdict):  # the Redis guard, shared by all instances
            verdict = await verdict
        if verdict is Verdict.OK:
            return await handler(event, data)
        log.info("flood: %s from user %s", verdict.value, user.id)
        if verdict is Verdict.WARN and event.chat.type == "private":
            await event.answer(data["t"]("slow-down"))
        return None


class SkipUnreadable(BaseMiddleware):
    """Drops an update that stands only for its id (one aiogram could not read, see
    bot.telegram.session.JsonSession): logged there once, nothing to handle here."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict) -> Any:
        if isinstance(event, Update) and event.model_fields_set <= {"update_id"}:
            return None
        return await handler(event, data)
