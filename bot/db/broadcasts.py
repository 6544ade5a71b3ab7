"""Staff broadcast drafts and their notes, in the digest tables: a broadcast is a
``digest_runs`` row of kind ``broadcast`` (slot ``broadcast:<token>``) with one payload, and
a JSON ``note`` (filters, where to report, whether the report went out).

Every function takes an ``AsyncSession`` and does not commit; the life of a broadcast is in
:mod:`bot.digest.broadcast`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import digest_payloads, digest_runs
from bot.db.models import StaffAction

R = digest_runs.R

KIND: Final = "broadcast"
DRAFT: Final = "draft"


def slot_of(token: str) -> str:
    return f"{KIND}:{token}"


async def add_draft(session: AsyncSession, token: str, *, created_by: int,
                    started_at: datetime, note: str, digest: str, messages: list[str]) -> int:
    """A draft run and its payload; the run's id."""
    run_id = await digest_runs.add(session, KIND, slot_of(token), status=DRAFT,
                                   created_by=created_by, started_at=started_at, note=note)
    await digest_payloads.add(session, run_id, digest, messages, [])
    return run_id


async def get(session: AsyncSession, token: str) -> Row[Any] | None:
    """The broadcast of this token, in whatever state."""
    return (await session.execute(select(R).where(R.c.kind == KIND,
                                                  R.c.slot == slot_of(token)))).first()


async def drop_draft(session: AsyncSession, run_id: int) -> bool:
    """Delete a draft and its payload, only if it still is a draft (a concurrent Confirm
    wins or loses whole)."""
    moved = await session.execute(update(R).where(R.c.id == run_id, R.c.status == DRAFT)
                                  .values(status="cancelled"))
    if not moved.rowcount:
        return False
    await digest_payloads.delete_of_run(session, run_id)
    await session.execute(delete(R).where(R.c.id == run_id))
    return True


async def drafts_before(session: AsyncSession, cutoff: datetime) -> Sequence[int]:
    """Ids of the drafts created before ``cutoff``."""
    return (await session.execute(select(R.c.id).where(
        R.c.kind == KIND, R.c.status == DRAFT, R.c.started_at < cutoff))).scalars().all()


async def confirm(session: AsyncSession, run_id: int, *, user_id: int,
                  created_after: datetime, now: datetime, note: str, audit: str) -> bool:
    """The draft → ``planning`` (started now, with the new note) if it still is a draft of
    ``user_id`` created after ``created_after``, with the staff audit row ``audit``. False
    when it is not (nothing written)."""
    moved = await session.execute(update(R).where(
        R.c.id == run_id, R.c.status == DRAFT, R.c.created_by == user_id,
        R.c.started_at >= created_after,
    ).values(status="planning", started_at=now, note=note))
    if not moved.rowcount:
        return False
    session.add(StaffAction(user_id=user_id, action="broadcast", details=audit))
    return True


async def state(session: AsyncSession, run_id: int) -> Row[Any] | None:
    """(id, status, note) of the run."""
    return (await session.execute(select(R.c.id, R.c.status, R.c.note)
                                  .where(R.c.id == run_id))).first()


async def note(session: AsyncSession, run_id: int) -> str | None:
    return await session.scalar(select(R.c.note).where(R.c.id == run_id))


async def replace_note(session: AsyncSession, run_id: int, current: str | None,
                       new: str) -> bool:
    """Compare-and-set: store ``new`` if the note still is ``current``."""
    moved = await session.execute(update(R).where(R.c.id == run_id, R.c.note == current)
                                  .values(note=new))
    return bool(moved.rowcount)
