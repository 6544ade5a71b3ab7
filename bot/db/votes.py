"""The ``feedback`` table: 👍/👎 votes on answer messages, one per user and message."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import REFRESH as _REFRESH
from bot.db.engine import dialect_insert as _insert
from bot.db.models import VOTES, Feedback, utcnow

VoteResult = Literal["new", "changed", "same"]


async def record_vote(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    message_id: int,
    entry_id: str,
    vote: int,
    question_id: int | None = None,
) -> VoteResult:
    """Store a user's vote on one answer message; returns "new", "changed" or "same".

    One vote per (user, chat, message): voting again replaces it. Two statements, each
    atomic: ``INSERT ... ON CONFLICT DO NOTHING`` tells whether the vote is new (on
    PostgreSQL it waits for a concurrent insert of the same key to finish), then an UPDATE
    restricted to a different vote tells "changed" from "same" without reading first.
    """
    if vote not in VOTES:
        raise ValueError(f"vote must be +1 or -1, not {vote!r}")
    now = utcnow()
    inserted = await session.execute(
        _insert(session)(Feedback)
        .values(
            user_id=user_id,
            chat_id=chat_id,
            message_id=message_id,
            entry_id=entry_id,
            question_id=question_id,
            vote=vote,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "chat_id", "message_id"])
        .returning(Feedback.id)
    )
    if inserted.scalar_one_or_none() is not None:
        return "new"
    values: dict[str, Any] = {"vote": vote, "entry_id": entry_id, "updated_at": now}
    if question_id is not None:
        values["question_id"] = question_id
    changed = await session.scalars(
        update(Feedback)
        .where(
            and_(
                Feedback.user_id == user_id,
                Feedback.chat_id == chat_id,
                Feedback.message_id == message_id,
                Feedback.vote != vote,
            )
        )
        .values(**values)
        .returning(Feedback),
        execution_options={**_REFRESH, "synchronize_session": False},
    )
    return "changed" if changed.one_or_none() is not None else "same"
