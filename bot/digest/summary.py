"""What runs did: :class:`Summary`, and the progress callback type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[int, int, int], None]  # (run id, deliveries just finished, run's total)


@dataclass
class Summary:
    """What one or more runs did (this process's share of them)."""

    runs: list[int] = field(default_factory=list)
    planned: int = 0  # deliveries created by planning in this call
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    uncertain: int = 0  # found interrupted mid-send by a dead worker (never resent)
    retry_after_waits: int = 0  # 429s honoured
    retries: int = 0  # 5xx / network errors retried
    messages: int = 0  # Telegram messages sent (a digest may take several)
    remaining: int = 0  # still open at the end (held by other workers)
    first_send: float | None = None  # loop time of the first / last message sent
    last_send: float | None = None

    def merge(self, other: Summary) -> Summary:
        self.runs.extend(r for r in other.runs if r not in self.runs)
        for name in ("planned", "sent", "failed", "blocked", "uncertain",
                     "retry_after_waits", "retries", "messages", "remaining"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.first_send is not None:
            self.first_send = min(self.first_send or other.first_send, other.first_send)
        if other.last_send is not None:
            self.last_send = max(self.last_send or other.last_send, other.last_send)
        return self

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked + self.uncertain

    def line(self) -> str:
        text = (f"sent {self.sent}, failed {self.failed}, blocked {self.blocked}, "
                f"uncertain {self.uncertain}; {self.messages} message(s), "
                f"{self.retry_after_waits} 429 wait(s), {self.retries} retry(ies)")
        if self.remaining:
            text += f"; {self.remaining} still held by other workers"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "runs", "planned", "sent", "failed", "blocked", "uncertain",
            "retry_after_waits", "retries", "messages", "remaining")}
