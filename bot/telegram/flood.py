"""Per-user flood protection: a sliding window, pure and clock-injected for tests."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable
from enum import Enum
from typing import Protocol


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"  # first message over the limit: tell the user once
    DROP = "drop"  # later ones: ignore silently


class FloodCheck(Protocol):
    """Per-user flood protection: :class:`FloodGuard` in this process, or
    :class:`~bot.telegram.flood_redis.RedisFloodGuard` shared by every instance (async)."""

    def check(self, user_id: int, now: float) -> Verdict | Awaitable[Verdict]: ...


class FloodGuard:
    def __init__(self, messages: int, seconds: float, max_users: int = 100_000):
        self.limit = messages
        self.window = seconds
        self.max_users = max_users
        self._hits: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int, now: float) -> Verdict:
        hits = self._hits.get(user_id)
        if hits is None:
            if len(self._hits) >= self.max_users:
                self._prune(now)
            hits = self._hits[user_id] = deque()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._warned.pop(user_id, None)
            return Verdict.OK
        if user_id in self._warned:
            return Verdict.DROP
        self._warned[user_id] = now
        return Verdict.WARN

    def _prune(self, now: float) -> None:
        for uid in [u for u, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[uid]
            self._warned.pop(uid, None)
