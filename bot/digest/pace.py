"""Pacing for broadcasts: a global rate, a per-chat rate, and a shared pause for 429s.

Telegram allows about 30 messages per second in all (more with paid broadcasts) and about
one per second into one chat; above that it answers 429 with ``retry_after``. The sender
stays under both limits instead of discovering them:

* the global limiter hands out send slots ``1/rate`` apart (a virtual schedule, so a late
  wake-up does not lose slots). After an idle spell at most ``burst`` seconds of slots may
  be caught up at once (never before the first message), which keeps any window of W
  seconds at or below ``rate x (W + burst) + 1`` messages; Telegram (and the fake API)
  tolerate about one second of burst;
* the per-chat limiter keeps the parts of a multi-part digest ``margin / per_chat_rate``
  apart, counted from the answer to the previous part (:meth:`Pacer.sent`), with a 10 %
  margin, so neither a send that left its slot late nor network jitter brings two parts
  closer than the limit;
* a 429 pauses everybody until ``retry_after`` has passed, and the schedule restarts from
  there without a burst;
* replies to students come first: the running bot shares its pacer with the digests it
  sends (one limiter per token in a process), replies acquire with ``urgent=True``, and a
  digest waits while any reply is waiting for a slot;
* the rate is the bot's, whatever the number of processes sending with its token: when
  ``n`` instances send at once, each keeps to ``rate / n`` (:meth:`Pacer.set_share`, fed by
  the sender from the delivery queue's live leases).

Time is injected (``clock`` and ``sleep``) so the arithmetic is tested without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Global + per-chat limiter with a shared "pause until" (one per process, shared by
    every run so that concurrent runs together stay within the limits)."""

    def __init__(self, rate: float, per_chat_rate: float = 1.0, *, burst: float = 0.1,
                 chat_margin: float = 1.1, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rate <= 0 or per_chat_rate <= 0:
            raise ValueError("rates must be positive")
        self.rate = float(rate)
        self.share = 1  # processes sending with this token right now, this one included
        self.instances = 1  # bot processes alive with this token (shared pacing)
        self.interval = 1.0 / self.rate
        self.chat_interval = chat_margin / float(per_chat_rate)
        self.burst = max(0.0, burst)
        self.clock = clock
        self.sleep = sleep
        self.paused_until = 0.0
        self.pauses = 0
        self._next: float | None = None  # next free global slot; None: not started yet
        self._chat_next: dict[Hashable, float] = {}
        self._acquired = 0
        self.urgent_waiting = 0  # replies waiting for a slot right now

    def pause(self, seconds: float) -> None:
        """A 429 said "retry after ``seconds``": nobody sends before then."""
        until = self.clock() + max(0.0, seconds)
        if until > self.paused_until:
            self.paused_until = until
            self.pauses += 1
        self._next = max(self._next or 0.0, self.paused_until)

    def set_share(self, senders: int) -> None:
        """``senders`` processes (instances) are sending right now, each with its own pacer:
        this one keeps to ``rate / senders`` so that together they stay within the rate.
        Takes effect from the next slot booked."""
        self.share = max(1, int(senders))
        self.interval = max(self.share, self.instances) / self.rate

    def set_instances(self, instances: int) -> None:
        """``instances`` bot processes share the token (bot.telegram.shared_pace): this one
        keeps to ``rate / instances`` for everything it sends, replies included."""
        self.instances = max(1, int(instances))
        self.interval = max(self.share, self.instances) / self.rate

    def reserve(self, chat: Hashable | None = None) -> float:
        """Book the next global slot without waiting, and for ``chat`` the chat's next slot
        after it; returns how many seconds the caller must wait before sending (0: now).
        Callers that were told to wait must check :meth:`still_valid` after waking up.
        :meth:`acquire` reserves only once the chat is ready, so a chat waiting for its own
        limit never holds up the global schedule."""
        now = self.clock()
        if self._next is None:  # first use: no burst credit for the time before it
            self._next = now
        slot = max(self._next, now - self.burst, self.paused_until)
        self._next = slot + self.interval
        if chat is not None:
            self._chat_next[chat] = max(slot, now) + self.chat_interval
        self._acquired += 1
        if self._acquired % 4096 == 0:
            self._prune(now)
        return max(0.0, slot - now)

    def sent(self, chat: Hashable) -> None:
        """The answer for a message into ``chat`` just arrived: its next message waits a
        full chat interval from now. Telegram saw the message before this moment, so the
        spacing it sees is at least the interval however late the send left its slot."""
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0),
                                    self.clock() + self.chat_interval)

    def chat_ready(self, chat: Hashable) -> float:
        """When ``chat`` may get its next message (clock time; in the past: now)."""
        return self._chat_next.get(chat, 0.0)

    def still_valid(self) -> bool:
        """False when a pause began while the caller waited for its slot."""
        return self.paused_until <= self.clock()

    async def acquire(self, chat: Hashable | None = None, *, urgent: bool = False) -> None:
        """Wait for a send slot for ``chat`` (both limits and any pause respected). An
        ``urgent`` caller (a reply to a student) goes ahead of every non-urgent one."""
        if urgent:
            self.urgent_waiting += 1
            try:
                await self._acquire(chat, urgent=True)
            finally:
                self.urgent_waiting -= 1
        else:
            await self._acquire(chat, urgent=False)

    async def _acquire(self, chat: Hashable | None, *, urgent: bool) -> None:
        while True:
            if not urgent and self.urgent_waiting:
                await self.sleep(self.interval)  # a reply is waiting: let it have the slot
                continue
            now = self.clock()
            if self.paused_until > now:
                await self.sleep(self.paused_until - now)
                continue
            chat_ready = self._chat_next.get(chat, 0.0) if chat is not None else 0.0
            if chat_ready > now:
                # Wait for the chat first so it does not hold a global slot meanwhile.
                await self.sleep(chat_ready - now)
                continue
            wait = self.reserve(chat)
            if wait > 0:
                await self.sleep(wait)
                if not self.still_valid():
                    continue
            return

    def _prune(self, now: float) -> None:
        stale = [chat for chat, t in self._chat_next.items() if t <= now]
        for chat in stale:
            del self._chat_next[chat]

    @property
    def tracked_chats(self) -> int:
        return len(self._chat_next)
