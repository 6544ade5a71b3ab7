"""Group commit of delivery states: :class:`DeliveryWriter`, one per process.

A message is durable as ``sending`` before it goes out, and becomes ``sent`` (or
``pending`` again between the parts of a multi-part digest, or after a retryable error)
afterwards; see :mod:`bot.digest.queue`. The statements are in :mod:`bot.db.deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.db import deliveries, subscriptions
from bot.db.models import utcnow
from bot.digest.claims import Job
from bot.digest.runs import Sessions

log = logging.getLogger(__name__)


class WriterError(RuntimeError):
    """The database refused to record delivery states: sending must stop."""


class LostClaim(RuntimeError):
    """The row is no longer this worker's (its lease expired and another worker took it, or
    a recovery settled it): its message must not be sent from here."""


class DeliveryWriter:
    """Group commit of delivery states for all the workers of a process.

    :meth:`mark_sending` (awaited before a message goes out) returns once the row is
    committed as ``sending`` — and only if this worker still holds the row's claim, else
    it raises :class:`LostClaim`. :meth:`update` (outcomes) only queues the state.
    Everything queued is written in one transaction per round, the latest state per row
    winning, so at 1,000 messages/s the database sees tens of commits per second, not
    thousands. Leases of this worker's open rows are renewed every ``lease_seconds / 3``.
    """

    def __init__(self, sessions: Sessions, worker_id: str, lease_seconds: float, *,
                 retries: int = 5) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.retries = retries
        self.commits = 0
        self.rows_written = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._sending: dict[int, asyncio.Future[None]] = {}
        self._blocked: dict[int, datetime] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._runs: dict[int, int] = {}  # run id -> active senders (lease renewal)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failed: BaseException | None = None
        self._last_renew = 0.0

    # -- producer side --

    def add_run(self, run_id: int) -> None:
        self._runs[run_id] = self._runs.get(run_id, 0) + 1

    def remove_run(self, run_id: int) -> None:
        left = self._runs.get(run_id, 0) - 1
        if left > 0:
            self._runs[run_id] = left
        else:
            self._runs.pop(run_id, None)

    def update(self, job: Job) -> None:
        """Queue ``job``'s state (committed with the next round, not awaited)."""
        self._pending[job.id] = deliveries.state(
            job.id, self.worker_id, status=job.status, parts_sent=job.parts_sent,
            attempts=job.attempts, last_error=job.last_error, sent_at=job.sent_at)
        self._kick()

    def block_user(self, user_id: int) -> None:
        self._blocked[user_id] = utcnow()
        self._kick()

    async def mark_sending(self, job: Job) -> None:
        """Commit ``job`` as ``sending`` (with its other fields); raises LostClaim when the
        row is not this worker's any more, WriterError when the database fails."""
        if self._failed is not None:
            raise WriterError(str(self._failed)) from self._failed
        job.status = "sending"
        self.update(job)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sending[job.id] = fut
        self._kick()
        await fut

    def _kick(self) -> None:
        self._ensure_task()
        self._wake.set()

    # -- writer task --

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="digest-writer")

    def _idle(self) -> bool:
        return not (self._pending or self._sending or self._blocked or self._waiters)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_renew = loop.time()
        renew_every = max(0.5, self.lease_seconds / 3)
        while True:
            timeout = max(0.0, self._last_renew + renew_every - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            renew = bool(self._runs) and loop.time() - self._last_renew >= renew_every
            if renew:
                self._last_renew = loop.time()
            await self._round(renew)
            if self._closing and self._idle():
                return

    async def _round(self, renew: bool = False) -> None:
        pending, self._pending = self._pending, {}
        sending, self._sending = self._sending, {}
        blocked, self._blocked = self._blocked, {}
        waiters, self._waiters = self._waiters, []
        lost: set[int] = set()
        error: BaseException | None = None
        if pending or blocked or renew:
            for attempt in range(self.retries + 1):
                try:
                    lost = await self._write(pending, list(sending), blocked, renew)
                    error = None
                    break
                except DBAPIError as exc:  # e.g. "database is locked" beyond busy_timeout
                    error = exc
                    log.warning("digest writer: %s (attempt %d)", exc, attempt + 1)
                    await asyncio.sleep(min(2.0, 0.05 * 2 ** attempt))
        if error is not None:
            self._failed = error
            log.error("digest writer gave up: %s", error)
            for fut in [*sending.values(), *waiters]:
                if not fut.done():
                    fut.set_exception(WriterError(str(error)))
            for key, value in pending.items():  # keep outcomes for a later round, but
                if key not in sending:  # never a "sending" mark whose send was called off
                    self._pending.setdefault(key, value)
            return
        self.commits += 1
        self.rows_written += len(pending)
        for job_id, fut in sending.items():
            if fut.done():
                continue
            if job_id in lost:
                fut.set_exception(LostClaim(f"delivery {job_id} is no longer ours"))
            else:
                fut.set_result(None)
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _write(self, pending: dict[int, dict[str, Any]], sending: list[int],
                     blocked: dict[int, datetime], renew: bool) -> set[int]:
        async with self.sessions() as s:
            await deliveries.write_states(s, list(pending.values()))
            # The rows were just written as "sending" above, if they were still ours;
            # whatever is not sending-and-ours now must not be sent.
            ours = await deliveries.held_sending(s, sending, self.worker_id)
            if blocked:
                await subscriptions.deactivate_blocked(s, list(blocked), max(blocked.values()))
            if renew and self._runs:
                await deliveries.renew_leases(
                    s, list(self._runs), self.worker_id,
                    utcnow() + timedelta(seconds=self.lease_seconds))
            await s.commit()
        return {j for j in sending if j not in ours}

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        if self._task is None and self._idle():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._kick()
        await fut

    async def close(self) -> None:
        """Write what is queued and stop the writer task."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 30)
        except TimeoutError:
            self._task.cancel()
        self._task = None
        self._closing = False
