"""Retries for outgoing API calls. aiogram itself retries nothing on sendMessage: a reply hit
by 429 or a 5xx would simply be lost. Polling (getUpdates) has its own backoff and is not
retried here; it only lingers a little after a partial batch (``poll_linger``).

Messages go out through the process's pacer (bot.digest.pace.Pacer, shared with the digests
this process sends) as urgent: a burst of students is answered at the token's rate, ahead of
digests, instead of everyone discovering flood control at once. A 429 pauses every sender
for ``retry_after`` and the reply waits its turn; it is not a failed attempt, and it turns
into an error only when flood control would keep it waiting more than ``max_retry_after``
seconds in all."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, Response, SendChatAction, TelegramMethod

from bot.digest.pace import Pacer

log = logging.getLogger(__name__)
POLL_LIMIT = 100  # getUpdates' default (and largest) batch
OnForbidden = Callable[[int], Awaitable[None]]


@dataclass
class RetryStats:
    retry_after_waits: int = 0
    server_retries: int = 0
    forbidden: int = 0
    gave_up: int = 0


@dataclass
class RetryMiddleware(BaseRequestMiddleware):
    retries: int = 5
    max_retry_after: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    on_forbidden: OnForbidden | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    stats: RetryStats = field(default_factory=RetryStats)
    on_retry_after: Callable[[], None] | None = None  # metrics
    on_poll: Callable[[], None] | None = None  # a getUpdates came back: Telegram reachable
    #: After a getUpdates that brought some updates but not a full batch, wait until this
    #: long (seconds) after it before polling again, so that under load one poll brings
    #: several updates instead of one round trip per update. 0: poll again at once.
    poll_linger: float = 0.0
    #: The token's limiter; messages (send*, copy*, forward*, edit*) wait for a slot.
    pacer: Pacer | None = None
    #: Called with retry_after on a 429 (shares the pause with other instances).
    on_flood: Callable[[float], Awaitable[None]] | None = None
    clock: Callable[[], float] = time.monotonic
    _polled_at: float = field(default=0.0, init=False, repr=False)
    _polled: int = field(default=0, init=False, repr=False)  # updates the last poll brought
    _tasks: set[asyncio.Task] = field(default_factory=set, init=False, repr=False)

    async def __call__(self, make_request: NextRequestMiddlewareType, bot: Bot,
                       method: TelegramMethod) -> Response:
        if isinstance(method, GetUpdates):
            if self.poll_linger > 0 and 0 < self._polled < (method.limit or POLL_LIMIT):
                wait = self._polled_at + self.poll_linger - self.clock()
                if wait > 0:
                    await self.sleep(wait)
            response = await make_request(bot, method)
            self._polled_at = self.clock()
            self._polled = len(response) if isinstance(response, list) else 0
            if self.on_poll:
                self.on_poll()
            return response
        if isinstance(method, SendChatAction):
            # "typing…" is cosmetic: not retried (the handler waits for it to end) and a
            # failure costs only the indicator, not an error in the answer's task.
            try:
                return await make_request(bot, method)
            except TelegramAPIError as exc:
                log.debug("sendChatAction failed: %s", exc)
                return False  # type: ignore[return-value]  # what the call returns: the result
        attempt = 0
        flood_waited = 0.0
        paced = self.pacer is not None and _is_message(method)
        while True:
            try:
                if paced:
                    await self.pacer.acquire(urgent=True)  # type: ignore[union-attr]
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                flood_waited += exc.retry_after
                if flood_waited > self.max_retry_after:
                    self.stats.gave_up += 1
                    raise
                self.stats.retry_after_waits += 1
                if self.on_retry_after:
                    self.on_retry_after()
                log.warning("%s: flood control, waiting %ss", type(method).__name__,
                            exc.retry_after)
                if self.on_flood is not None:
                    task = asyncio.create_task(self.on_flood(exc.retry_after))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if paced:
                    self.pacer.pause(exc.retry_after)  # type: ignore[union-attr]
                else:
                    await self.sleep(exc.retry_after)
                continue  # waiting out flood control is not a failed attempt
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self.retries:
                    self.stats.gave_up += 1
                    raise
                self.stats.server_retries += 1
                delay = min(self.max_delay, self.base_delay * 2 ** attempt)
                delay *= random.uniform(0.8, 1.2)
                log.warning("%s failed (%s), retry in %.1fs", type(method).__name__, exc, delay)
                await self.sleep(delay)
            except TelegramForbiddenError:
                self.stats.forbidden += 1
                chat_id = getattr(method, "chat_id", None)
                if self.on_forbidden and isinstance(chat_id, int) and chat_id > 0:
                    # In the background: the request usually comes from a handler whose
                    # database transaction is still open (and may hold the user's row), so
                    # writing from here would wait for that transaction, and it for us.
                    task = asyncio.create_task(self._forbidden(chat_id))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                raise
            attempt += 1

    async def _forbidden(self, chat_id: int) -> None:
        try:
            await self.on_forbidden(chat_id)  # type: ignore[misc]
        except Exception:
            log.exception("could not mark chat %s as blocked", chat_id)

    async def drain(self) -> None:
        """Wait for the on_forbidden calls still running (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


_MESSAGE_PREFIXES = ("Send", "Copy", "Forward", "Edit")


def _is_message(method: TelegramMethod) -> bool:
    """A call Telegram counts against the bot's message rate."""
    return type(method).__name__.startswith(_MESSAGE_PREFIXES)
