"""Who works on which deliveries: worker ids, claims under a lease, and recovery after a
worker died holding rows.

* **Claiming** marks up to N pending rows (unclaimed, or whose lease ran out) with this
  worker's id and a lease, in one statement, so concurrent workers (processes or
  instances) get disjoint rows.
* **Recovery** (:func:`recover`): rows a dead worker left in ``sending`` may or may not have
  reached the user, so they become ``uncertain`` and are never resent; its ``pending``
  rows are released to be claimed again. A worker is known dead when its lease expired, or
  at once when it ran on this host and its process is gone (worker ids are
  ``host:pid:token``), which is what makes a restart after ``kill -9`` resume immediately.

The statements are in :mod:`bot.db.deliveries`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.db import deliveries
from bot.db.models import utcnow
from bot.digest.runs import Sessions

log = logging.getLogger(__name__)

UNCERTAIN_NOTE: Final = "interrupted while sending: not resent (it may have arrived)"


# --- workers ---------------------------------------------------------------------------------


_HOST = socket.gethostname()[:40] or "localhost"
_TOKEN = secrets.token_hex(4)


def make_worker_id() -> str:
    """``host:pid:token`` of this process (the token tells a restarted PID 1 from its
    predecessor, as in containers)."""
    return f"{_HOST}:{os.getpid()}:{_TOKEN}"


def worker_is_dead(worker_id: str, me: str | None = None) -> bool:
    """True when ``worker_id`` certainly no longer runs: it ran on this host and its process
    is gone (or this process now has its PID). False when alive or unknown (another host:
    then only its lease expiring frees its rows)."""
    me = me or make_worker_id()
    try:
        host, pid_text, token = worker_id.rsplit(":", 2)
        my_host, my_pid, my_token = me.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != my_host:
        return False
    if pid_text == my_pid:
        return token != my_token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


# --- claims ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Job:
    """A claimed delivery as the sender works on it (the writer stores its state)."""

    id: int
    run_id: int
    payload_id: int
    user_id: int
    chat_id: int
    parts_sent: int = 0
    attempts: int = 0
    status: str = "pending"
    last_error: str | None = None
    sent_at: datetime | None = None


async def claim(sessions: Sessions, run_id: int, worker_id: str, limit: int,
                lease_seconds: float, now: datetime | None = None) -> list[Job]:
    """Take up to ``limit`` pending deliveries of the run (unclaimed, or whose lease ran
    out) for ``worker_id``, oldest first."""
    now = now or utcnow()
    async with sessions() as s:
        rows = await deliveries.claim(s, run_id, worker_id, limit, now=now,
                                      lease_until=now + timedelta(seconds=lease_seconds))
        await s.commit()
    jobs = [Job(r.id, r.run_id, r.payload_id, r.user_id, r.chat_id, r.parts_sent, r.attempts)
            for r in rows]
    jobs.sort(key=lambda j: j.id)
    return jobs


async def live_senders(sessions: Sessions, worker_id: str,
                       now: datetime | None = None) -> int:
    """How many workers (processes, instances) are sending digests right now, this one
    included: those holding open rows of an unfinished run under a lease that has not
    expired and are not known dead. Each paces itself to its share of the bot's rate."""
    now = now or utcnow()
    async with sessions() as s:
        holders = await deliveries.leaseholders(s, besides=worker_id, now=now)
    return 1 + sum(1 for w in holders if not worker_is_dead(w, worker_id))


# --- recovery and giving back ----------------------------------------------------------------


@dataclass
class Recovered:
    uncertain: int = 0  # were "sending" under a dead worker: now "uncertain"
    released: int = 0  # were claimed by a dead worker: claimable again


async def recover(sessions: Sessions, run_id: int, worker_id: str,
                  now: datetime | None = None) -> Recovered:
    """Clean up after workers that died while holding rows of the run (see module doc)."""
    now = now or utcnow()
    async with sessions() as s:
        holders = await deliveries.holders(s, run_id, besides=worker_id)
    dead = [w for w in holders if worker_is_dead(w, worker_id)]
    async with sessions() as s:
        uncertain = await deliveries.settle_abandoned(s, run_id, besides=worker_id, dead=dead,
                                                      now=now, note=UNCERTAIN_NOTE)
        released = await deliveries.release(s, run_id, dead, now=now)
        await s.commit()
    if uncertain or released:
        log.warning("digest run %s: %d delivery(ies) left sending by a dead worker marked "
                    "uncertain, %d released", run_id, uncertain, released)
    return Recovered(uncertain, released)


async def release(sessions: Sessions, run_id: int, worker_id: str,
                  ids: Sequence[int] | None = None) -> int:
    """Give back this worker's pending (unsent) claims of the run (all, or ``ids``)."""
    async with sessions() as s:
        total = await deliveries.release(s, run_id, [worker_id], ids)
        await s.commit()
    return total


async def mark_uncertain(sessions: Sessions, ids: Sequence[int]) -> int:
    """Rows this process itself left in ``sending`` (a send cancelled mid-flight)."""
    async with sessions() as s:
        total = await deliveries.mark_uncertain(s, ids, UNCERTAIN_NOTE)
        await s.commit()
    return total


async def revert_sending(sessions: Sessions, ids: Sequence[int], worker_id: str) -> int:
    """Rows this worker marked ``sending`` but whose message never left (the send was
    cancelled before it started): pending again."""
    async with sessions() as s:
        total = await deliveries.revert_sending(s, ids, worker_id)
        await s.commit()
    return total
