"""The ``digest_payloads`` table: the messages of one digest text (or broadcast), shared by
every delivery of the run that has the same text.

Every function takes an ``AsyncSession`` and does not commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DigestPayload

P = DigestPayload.__table__


async def ids_by_digest(session: AsyncSession, run_id: int) -> dict[str, int]:
    """The run's payloads: digest (hash of the text) → id."""
    return dict((await session.execute(
        select(P.c.digest, P.c.id).where(P.c.run_id == run_id))).all())


async def add(session: AsyncSession, run_id: int, digest: str, messages: list[str],
              items: list[int]) -> int:
    """Insert a payload; its id. IntegrityError when the run has this digest already."""
    return (await session.execute(insert(P).values(
        run_id=run_id, digest=digest, messages=messages, items=items,
    ).returning(P.c.id))).scalar_one()


async def messages(session: AsyncSession, payload_id: int) -> list[str]:
    """The payload's messages (empty if there is no such payload)."""
    return list(await session.scalar(select(P.c.messages).where(P.c.id == payload_id)) or [])


async def first_of_run(session: AsyncSession, run_id: int) -> int | None:
    """The id of the run's first payload (a broadcast has one)."""
    return await session.scalar(select(P.c.id).where(P.c.run_id == run_id)
                                .order_by(P.c.id).limit(1))


async def count_by_run(session: AsyncSession, run_ids: Sequence[int]) -> dict[int, int]:
    """Payloads per run, for the runs that have any."""
    if not run_ids:
        return {}
    rows = await session.execute(select(P.c.run_id, func.count()).where(
        P.c.run_id.in_(run_ids)).group_by(P.c.run_id))
    return {run_id: int(n) for run_id, n in rows}


async def delete_of_run(session: AsyncSession, run_id: int) -> None:
    await session.execute(delete(P).where(P.c.run_id == run_id))
