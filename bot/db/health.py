"""Is the database reachable? One shared answer, so an outage costs one warning, not a
traceback per update, and the bot stops knocking on a closed door for every message.

The knowledge base is in memory: while the database is down students are still answered
(bot.db.question_log keeps their questions and writes them when it is back). Whoever meets
an outage reports it with :meth:`DbHealth.failed`; :meth:`DbHealth.usable` then says "not
now" except for one caller every ``probe_seconds``, whose attempt finds out whether the
database is back (:meth:`DbHealth.ok`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)


def is_outage(exc: BaseException) -> bool:
    """An error that says the database cannot be reached (refused, dropped, timed out,
    shutting down, locked), not that a statement or its data is wrong."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OSError, TimeoutError)):  # ConnectionRefusedError, socket errors
        return True
    # asyncpg's own connection errors when raised outside SQLAlchemy's wrapping (connect).
    return type(exc).__module__.startswith("asyncpg") and type(exc).__name__ in {
        "CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError",
        "TooManyConnectionsError", "AdminShutdownError", "CrashShutdownError"}


class DbHealth:
    def __init__(self, *, probe_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.probe_seconds = probe_seconds
        self.clock = clock
        self.down_since: float | None = None
        self.outages = 0
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def usable(self) -> bool:
        """Worth trying the database now: it is up, or it is this caller's turn to probe."""
        if self.down_since is None:
            return True
        now = self.clock()
        if now >= self._next_probe:
            self._next_probe = now + self.probe_seconds
            return True
        return False

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        self._next_probe = now + self.probe_seconds
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            log.warning("database unreachable (%s: %s); answering from the knowledge base in "
                        "memory and keeping questions until it is back",
                        type(exc).__name__, _short(exc))

    def ok(self) -> None:
        if self.down_since is not None:
            log.info("database reachable again after %.0f s", self.clock() - self.down_since)
            self.down_since = None


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else "")[:200]
