"""Injected failures and flood limits.

Tests need to provoke the failures a production bot must survive (429 with ``retry_after``,
a user who blocked the bot, a 5xx, a connection cut mid-request) deterministically, so faults
are queued explicitly and consumed by the next matching call. Rate limits are separate because
benchmarks need them to emerge from traffic, the way Telegram's flood control does.
FaultsMixin puts both on FakeTelegram as fail_next() and set_rate_limits().
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, make_error


@dataclass
class Fault:
    """One queued failure; ``times`` counts down as matching calls consume it."""

    method: str | None  # lowercase method name; None matches any method except getUpdates
    error_code: int | None
    retry_after: int | None
    description: str | None
    chat_id: int | str | None
    times: int
    drop_connection: bool = False
    parameters: dict[str, Any] | None = None
    delay: float = 0.0
    after: bool = False  # delay/drop after the call was carried out (the answer is lost)

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.method is None:
            if method == "getupdates":
                return False
        elif self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def error(self) -> ApiError | None:
        if self.error_code is None:
            return None
        return make_error(self.error_code, self.description, self.retry_after, self.parameters)


@dataclass
class FaultPlan:
    """FIFO of faults; the first matching one fires, so tests can script a sequence."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        if not self.faults:
            return None
        for idx, fault in enumerate(self.faults):
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[idx]
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


class TokenBucket:
    """Continuous-refill bucket holding at most one second of traffic.

    A bucket (not fixed windows) avoids the double burst at window edges, so a sender that
    respects ``retry_after`` converges to exactly ``rate`` per second, as with Telegram.
    """

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def retry_after(self, now: float) -> int:
        """0 if a token is available, else whole seconds until one is (at least 1)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))

    def take(self) -> None:
        self.tokens -= 1.0


class RateLimiter:
    """Global and per-chat flood control; a refused message is neither delivered nor charged."""

    def __init__(self, global_rate: float | None = None, per_chat_rate: float | None = None):
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self._global: TokenBucket | None = None
        self._chats: dict[Any, TokenBucket] = {}
        self.configure(global_rate, per_chat_rate)

    def configure(self, global_rate: float | None, per_chat_rate: float | None) -> None:
        now = time.monotonic()
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self._global = TokenBucket(global_rate, now) if global_rate else None
        self._chats = {}

    @property
    def enabled(self) -> bool:
        return self._global is not None or bool(self.per_chat_rate)

    def acquire(self, chat_key: Any) -> int:
        """Charge one message; return 0 on success or the retry_after to report."""
        now = time.monotonic()
        chat_bucket = None
        wait = 0
        if self.per_chat_rate:
            chat_bucket = self._chats.get(chat_key)
            if chat_bucket is None:
                chat_bucket = self._chats[chat_key] = TokenBucket(self.per_chat_rate, now)
            wait = chat_bucket.retry_after(now)
        if self._global is not None:
            wait = max(wait, self._global.retry_after(now))
        if wait:
            return wait
        if chat_bucket is not None:
            chat_bucket.take()
        if self._global is not None:
            self._global.take()
        return 0


def normalize_chat_id(value: Any) -> int | str | None:
    """Normalise a chat_id parameter so faults match whether it came as int or string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


class FaultsMixin:
    """fail_next() and flood limits; part of FakeTelegram, which runs the queued faults."""

    faults: FaultPlan
    limiter: RateLimiter

    def fail_next(
        self,
        method: str | None = None,
        error_code: int | None = 429,
        retry_after: int | None = 2,
        description: str | None = None,
        chat_id: Any = None,
        times: int = 1,
        *,
        drop_connection: bool = False,
        parameters: dict[str, Any] | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching calls fail instead of running.

        ``method`` None or "*" matches any method except getUpdates; ``chat_id`` narrows it
        to one chat. ``drop_connection`` closes the TCP connection without answering;
        ``error_code=None`` with ``delay`` just slows the call down. ``after=True`` carries
        the call out first (the message is delivered) and then delays or drops the answer:
        the ambiguous failures a client cannot tell from "nothing happened".
        """
        if after and error_code is not None:
            raise ValueError("after=True is for delay or drop_connection, not an error answer")
        fault = Fault(
            method=None if method in (None, "*") else method.lower(),  # type: ignore[union-attr]
            error_code=error_code,
            retry_after=retry_after,
            description=description,
            chat_id=normalize_chat_id(chat_id.id if hasattr(chat_id, "id") else chat_id),
            times=times,
            drop_connection=drop_connection,
            parameters=parameters,
            delay=delay,
            after=after,
        )
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_rate_limits(
        self, global_rate: float | None = None, per_chat_rate: float | None = None
    ) -> None:
        """Change flood limits (messages per second); None disables that limit."""
        self.limiter.configure(global_rate, per_chat_rate)

    @property
    def global_rate(self) -> float | None:
        return self.limiter.global_rate

    @property
    def per_chat_rate(self) -> float | None:
        return self.limiter.per_chat_rate
