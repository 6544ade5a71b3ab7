"""The ``digest_runs`` table: one row per digest run (kind, slot) or staff broadcast.

Like the other data-access modules, every function takes an ``AsyncSession`` and does not
commit: the digest engine (bot.digest) owns the transactions. A run goes ``planning`` →
``sending`` → ``done`` (broadcasts start as ``draft``, see :mod:`bot.db.broadcasts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DigestRun, utcnow

R = DigestRun.__table__

#: Statuses of a run somebody still has to finish (plan, or send).
UNFINISHED: Final[tuple[str, ...]] = ("planning", "sending")


async def get(session: AsyncSession, kind: str, slot: str) -> Row[Any] | None:
    return (await session.execute(select(R).where(R.c.kind == kind, R.c.slot == slot))).first()


async def add(session: AsyncSession, kind: str, slot: str, *, status: str,
              created_by: int | None = None, started_at: datetime | None = None,
              note: str | None = None) -> int:
    """Insert a run; its id. IntegrityError when (kind, slot) exists."""
    return (await session.execute(insert(R).values(
        kind=kind, slot=slot, status=status, created_by=created_by,
        started_at=started_at or utcnow(), note=note).returning(R.c.id))).scalar_one()


async def unfinished(session: AsyncSession) -> Sequence[Row[Any]]:
    """Runs still planning or sending, oldest first."""
    return (await session.execute(select(R).where(R.c.status.in_(UNFINISHED))
                                  .order_by(R.c.id))).all()


async def latest(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """The last ``limit`` runs, newest first."""
    return (await session.execute(select(R).order_by(R.c.id.desc()).limit(limit))).all()


async def status_of(session: AsyncSession, run_id: int) -> str | None:
    return await session.scalar(select(R.c.status).where(R.c.id == run_id))


async def lock_planning(session: AsyncSession, run_id: int) -> bool:
    """Write the run row first, if it is still planning (False: it is not). SQLite then
    holds the write lock before anything is read (no stale snapshot, no
    SQLITE_BUSY_SNAPSHOT); PostgreSQL locks the row, serialising the planners of the run."""
    res = await session.execute(update(R).where(R.c.id == run_id, R.c.status == "planning")
                                .values(status="planning"))
    return bool(res.rowcount)


async def mark_planned(session: AsyncSession, run_id: int) -> None:
    """Planning is complete: the run is ``sending``."""
    await session.execute(update(R).where(R.c.id == run_id).values(
        status="sending", planned_at=utcnow()))


async def mark_done(session: AsyncSession, run_id: int) -> None:
    """A ``sending`` run becomes ``done``."""
    await session.execute(update(R).where(R.c.id == run_id, R.c.status == "sending")
                          .values(status="done", finished_at=utcnow()))
