"""The ``deliveries`` table: one row per (run, subscriber), the unit of the persisted
delivery queue (see :mod:`bot.digest.queue` for the states and why they are safe).

Every function takes an ``AsyncSession`` and does not commit: which rows to claim, when a
worker counts as dead and how long a lease lasts are the digest engine's decisions; here
are only the statements. Only portable SQL (SQLite and PostgreSQL); Core statements keep
the hot paths cheap. Long id lists go in chunks of :data:`IN_CHUNK`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DELIVERY_STATUSES, Delivery, DigestRun, utcnow

D = Delivery.__table__
R = DigestRun.__table__

FINAL: Final[tuple[str, ...]] = ("sent", "failed", "blocked", "uncertain")
OPEN: Final[tuple[str, ...]] = ("pending", "sending")
IN_CHUNK: Final = 500  # ids per IN (...) list: far below every backend's parameter limit


def chunked(ids: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _for_update(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- planning --------------------------------------------------------------------------------


async def add_pending(session: AsyncSession, run_id: int,
                      recipients: Iterable[tuple[int, int, int]]) -> int:
    """One pending delivery per (payload id, user id, chat id); how many."""
    stamp = utcnow()
    rows = [{"run_id": run_id, "payload_id": payload_id, "user_id": user_id,
             "chat_id": chat_id, "status": "pending", "parts_sent": 0, "attempts": 0,
             "created_at": stamp, "updated_at": stamp}
            for payload_id, user_id, chat_id in recipients]
    if rows:
        await session.execute(insert(D), rows)
    return len(rows)


def planned_for(run_id: int, user_id: Any) -> Any:
    """``EXISTS`` condition: the run has a delivery for ``user_id`` (a column)."""
    return select(D.c.id).where(D.c.run_id == run_id, D.c.user_id == user_id).exists()


# --- claims and recovery ---------------------------------------------------------------------


async def claim(session: AsyncSession, run_id: int, worker_id: str, limit: int, *,
                lease_until: datetime, now: datetime) -> Sequence[Row[Any]]:
    """Mark up to ``limit`` pending rows of the run that are unclaimed or whose lease ran out
    (before ``now``) as ``worker_id``'s, oldest first, in one ``UPDATE ... WHERE id IN
    (SELECT ... LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING``: concurrent workers get
    disjoint rows."""
    ids = (select(D.c.id)
           .where(D.c.run_id == run_id, D.c.status == "pending",
                  or_(D.c.claimed_by.is_(None), D.c.lease_until < now))
           .order_by(D.c.id).limit(limit))
    if _for_update(session):
        ids = ids.with_for_update(skip_locked=True)
    stmt = (update(D).where(D.c.id.in_(ids))
            .values(claimed_by=worker_id, lease_until=lease_until, updated_at=now)
            .returning(D.c.id, D.c.run_id, D.c.payload_id, D.c.user_id, D.c.chat_id,
                       D.c.parts_sent, D.c.attempts))
    return (await session.execute(stmt)).all()


async def holders(session: AsyncSession, run_id: int, *, besides: str) -> list[str]:
    """Workers other than ``besides`` holding open rows of the run."""
    return list((await session.execute(
        select(D.c.claimed_by).distinct().where(
            D.c.run_id == run_id, D.c.status.in_(OPEN), D.c.claimed_by.is_not(None),
            D.c.claimed_by != besides))).scalars())


async def leaseholders(session: AsyncSession, *, besides: str, now: datetime) -> list[str]:
    """Workers other than ``besides`` holding open rows of an unfinished run under a lease
    that has not expired at ``now``."""
    unfinished = select(R.c.id).where(R.c.status.in_(("planning", "sending")))
    return list((await session.execute(
        select(D.c.claimed_by).distinct().where(
            D.c.run_id.in_(unfinished), D.c.status.in_(OPEN),
            D.c.claimed_by.is_not(None), D.c.claimed_by != besides,
            D.c.lease_until >= now))).scalars())


async def settle_abandoned(session: AsyncSession, run_id: int, *, besides: str,
                           dead: Sequence[str], now: datetime, note: str) -> int:
    """Rows of the run left ``sending`` by other workers whose lease ran out or who are
    ``dead`` become ``uncertain`` (with ``note``); how many."""
    gone = or_(D.c.lease_until < now, D.c.claimed_by.in_(dead)) if dead else (
        D.c.lease_until < now)
    res = await session.execute(
        update(D).where(D.c.run_id == run_id, D.c.status == "sending",
                        D.c.claimed_by != besides, gone)
        .values(status="uncertain", last_error=note, updated_at=now))
    return res.rowcount or 0


async def release(session: AsyncSession, run_id: int, workers: Sequence[str],
                  ids: Sequence[int] | None = None, *, now: datetime | None = None) -> int:
    """Pending rows of the run claimed by ``workers`` (all, or those of ``ids``) become
    claimable again; how many."""
    if not workers:
        return 0
    now = now or utcnow()
    conditions = [D.c.run_id == run_id, D.c.status == "pending",
                  D.c.claimed_by.in_(workers)]
    total = 0
    for chunk in ([None] if ids is None else chunked(ids)):
        where = conditions if chunk is None else [*conditions, D.c.id.in_(chunk)]
        res = await session.execute(update(D).where(*where).values(
            claimed_by=None, lease_until=None, updated_at=now))
        total += res.rowcount or 0
    return total


async def mark_uncertain(session: AsyncSession, ids: Sequence[int], note: str) -> int:
    """Rows of ``ids`` still ``sending`` become ``uncertain`` (with ``note``); how many."""
    total = 0
    for chunk in chunked(ids):
        res = await session.execute(update(D).where(
            D.c.id.in_(chunk), D.c.status == "sending",
        ).values(status="uncertain", last_error=note, updated_at=utcnow()))
        total += res.rowcount or 0
    return total


async def revert_sending(session: AsyncSession, ids: Sequence[int], worker_id: str) -> int:
    """Rows of ``ids`` that ``worker_id`` holds in ``sending`` become ``pending``; how
    many."""
    total = 0
    for chunk in chunked(ids):
        res = await session.execute(update(D).where(
            D.c.id.in_(chunk), D.c.status == "sending", D.c.claimed_by == worker_id,
        ).values(status="pending", updated_at=utcnow()))
        total += res.rowcount or 0
    return total


# --- counting --------------------------------------------------------------------------------


async def counts(session: AsyncSession, run_id: int) -> dict[str, int]:
    """The run's deliveries by status (every status present, zeros included)."""
    found = dict((await session.execute(
        select(D.c.status, func.count()).where(D.c.run_id == run_id)
        .group_by(D.c.status))).all())
    return {st: int(found.get(st, 0)) for st in DELIVERY_STATUSES}


async def counts_by_run(session: AsyncSession,
                        run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries by status for each of the runs (every status present)."""
    by_run = {i: dict.fromkeys(DELIVERY_STATUSES, 0) for i in run_ids}
    if run_ids:
        for run_id, st, n in await session.execute(
                select(D.c.run_id, D.c.status, func.count()).where(D.c.run_id.in_(run_ids))
                .group_by(D.c.run_id, D.c.status)):
            by_run[run_id][st] = int(n)
    return by_run


async def count_open(session: AsyncSession, run_id: int) -> int:
    """The run's deliveries still pending or sending."""
    return int(await session.scalar(select(func.count()).select_from(D).where(
        D.c.run_id == run_id, D.c.status.in_(OPEN))) or 0)


# --- group commit ----------------------------------------------------------------------------


_WRITE = (update(D).where(D.c.id == bindparam("b_id"), D.c.claimed_by == bindparam("b_me"))
          .values(status=bindparam("b_status"), parts_sent=bindparam("b_parts"),
                  attempts=bindparam("b_attempts"), last_error=bindparam("b_error"),
                  sent_at=bindparam("b_sent_at"), updated_at=bindparam("b_now")))


def state(delivery_id: int, worker_id: str, *, status: str, parts_sent: int, attempts: int,
          last_error: str | None, sent_at: datetime | None) -> dict[str, Any]:
    """One row's state for :func:`write_states`."""
    return {"b_id": delivery_id, "b_me": worker_id, "b_status": status,
            "b_parts": parts_sent, "b_attempts": attempts, "b_error": last_error,
            "b_sent_at": sent_at, "b_now": utcnow()}


async def write_states(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    """Store :func:`state` rows in one executemany; a row no longer claimed by the state's
    worker is left as it is."""
    if states:
        await session.execute(_WRITE, states)


async def held_sending(session: AsyncSession, ids: Sequence[int], worker_id: str) -> set[int]:
    """Those of ``ids`` that are ``sending`` and claimed by ``worker_id``."""
    found: set[int] = set()
    for chunk in chunked(ids):
        found.update((await session.execute(select(D.c.id).where(
            D.c.id.in_(chunk), D.c.claimed_by == worker_id,
            D.c.status == "sending"))).scalars())
    return found


async def renew_leases(session: AsyncSession, run_ids: Sequence[int], worker_id: str,
                       until: datetime) -> None:
    """Extend the lease of ``worker_id``'s open rows of the runs to ``until``."""
    await session.execute(update(D).where(
        D.c.run_id.in_(run_ids), D.c.claimed_by == worker_id, D.c.status.in_(OPEN),
    ).values(lease_until=until))
