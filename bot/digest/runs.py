"""Digest runs as the engine sees them: one per (kind, slot), created once by whichever
process or instance gets there first, resumed by anyone until done; and their status.

The SQL is in :mod:`bot.db.digest_runs` and :mod:`bot.db.deliveries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import deliveries, digest_payloads, digest_runs, subscriptions

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    slot: str
    status: str
    started_at: datetime | None = None
    planned_at: datetime | None = None
    finished_at: datetime | None = None


def _run_info(row: Any) -> RunInfo:
    return RunInfo(row.id, row.kind, row.slot, row.status, row.started_at, row.planned_at,
                   row.finished_at)


async def get_run(sessions: Sessions, kind: str, slot: str) -> RunInfo | None:
    async with sessions() as s:
        row = await digest_runs.get(s, kind, slot)
    return _run_info(row) if row else None


async def get_or_create_run(sessions: Sessions, kind: str, slot: str, *,
                            created_by: int | None = None) -> RunInfo:
    """The run of (kind, slot), created in state ``planning`` if it does not exist; whoever
    inserts second (another process, another instance) gets the first one's row."""
    existing = await get_run(sessions, kind, slot)
    if existing is not None:
        return existing
    try:
        async with sessions() as s:
            await digest_runs.add(s, kind, slot, status="planning", created_by=created_by)
            await s.commit()
    except IntegrityError:
        pass  # created concurrently: fine, read it back
    run = await get_run(sessions, kind, slot)
    if run is None:  # pragma: no cover - the row was deleted in between
        raise RuntimeError(f"digest run {kind} {slot} vanished")
    return run


async def unfinished_runs(sessions: Sessions) -> list[RunInfo]:
    """Runs still planning or sending, oldest first (what a restarted process resumes)."""
    async with sessions() as s:
        rows = await digest_runs.unfinished(s)
    return [_run_info(r) for r in rows]


async def news_snapshot(sessions: Sessions) -> int:
    """The highest news id so far (0 if none): what a run plans up to."""
    async with sessions() as s:
        return int(await subscriptions.max_news_id(s))


async def counts(sessions: Sessions, run_id: int) -> dict[str, int]:
    """Deliveries of the run by status (every status present, zeros included)."""
    async with sessions() as s:
        return await deliveries.counts(s, run_id)


async def finish_if_done(sessions: Sessions, run_id: int) -> int:
    """Mark the run done when no delivery is pending or sending; returns how many still
    are (held by other workers, or waiting for a lease to expire)."""
    async with sessions() as s:
        left = await deliveries.count_open(s, run_id)
        if left == 0:
            await digest_runs.mark_done(s, run_id)
            await s.commit()
    return left


# --- status ----------------------------------------------------------------------------------


@dataclass
class RunStatus:
    id: int
    kind: str
    slot: str
    status: str
    started_at: datetime | None
    planned_at: datetime | None
    finished_at: datetime | None
    deliveries: dict[str, int] = field(default_factory=dict)
    payloads: int = 0

    @property
    def total(self) -> int:
        return sum(self.deliveries.values())

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat(timespec="seconds") if t else None

        return {"id": self.id, "kind": self.kind, "slot": self.slot, "status": self.status,
                "started_at": iso(self.started_at), "planned_at": iso(self.planned_at),
                "finished_at": iso(self.finished_at), "deliveries": dict(self.deliveries),
                "total": self.total, "payloads": self.payloads}


async def status(sessions: Sessions, limit: int = 10) -> list[RunStatus]:
    """The last ``limit`` runs, newest first, with their deliveries counted by status."""
    async with sessions() as s:
        runs = await digest_runs.latest(s, limit)
        ids = [r.id for r in runs]
        by_run = await deliveries.counts_by_run(s, ids)
        payloads = await digest_payloads.count_by_run(s, ids)
    return [RunStatus(r.id, r.kind, r.slot, r.status, r.started_at, r.planned_at,
                      r.finished_at, by_run[r.id], payloads.get(r.id, 0)) for r in runs]
