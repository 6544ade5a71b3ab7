"""Small data-access functions used by the handlers.

Each takes an ``AsyncSession``, does its work with as few statements as possible, and only
flushes: the caller (usually a middleware, one transaction per update) decides when to
commit. Writes that race in practice — the same user sending several messages at once, a
double-tapped vote button — are single ``INSERT ... ON CONFLICT`` statements, because
select-then-insert loses such races with an IntegrityError.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, func, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    MAX_QUESTION_LENGTH,
    OUTCOMES,
    VOTES,
    Feedback,
    Question,
    User,
    UTCDateTime,
    utcnow,
)

Outcome = Literal["answered", "suggested", "fallback"]
VoteResult = Literal["new", "changed", "same"]

_REFRESH = {"populate_existing": True}  # make RETURNING rows overwrite identity-map copies


def _insert(session: AsyncSession) -> Any:
    """The dialect's own ``insert`` construct, the one that has ``on_conflict_*``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts are implemented for sqlite and postgresql, not {name}")


async def upsert_user(
    session: AsyncSession,
    user_id: int,
    *,
    username: str | None,
    first_name: str | None,
    language_code: str | None,
) -> User:
    """Record that ``user_id`` wrote to us: create the user or refresh what Telegram says.

    Names and ``language_code`` are overwritten, ``None`` included (a removed username is
    gone). A user who writes to us has evidently unblocked the bot, so ``blocked`` is
    cleared. The user's own ``language`` choice and ``first_seen`` are kept.
    """
    now = utcnow()
    insert = _insert(session)(User)
    stmt = insert.values(
        id=user_id,
        username=username,
        first_name=first_name,
        language_code=language_code,
        first_seen=now,
        last_seen=now,
        blocked=False,
        blocked_at=None,
    ).on_conflict_do_update(
        index_elements=[User.id],
        set_={
            "username": insert.excluded.username,
            "first_name": insert.excluded.first_name,
            "language_code": insert.excluded.language_code,
            "last_seen": insert.excluded.last_seen,
            "blocked": False,
            "blocked_at": None,
        },
    )
    result = await session.scalars(stmt.returning(User), execution_options=_REFRESH)
    return result.one()


async def set_language(session: AsyncSession, user_id: int, lang: str | None) -> User:
    """Store the user's /language choice (``None`` = follow Telegram's ``language_code``).

    An upsert rather than an UPDATE, so the choice is not silently lost for a user whose
    row does not exist yet.
    """
    now = utcnow()
    stmt = (
        _insert(session)(User)
        .values(id=user_id, language=lang, first_seen=now, last_seen=now, blocked=False)
        .on_conflict_do_update(index_elements=[User.id], set_={"language": lang})
    )
    result = await session.scalars(stmt.returning(User), execution_options=_REFRESH)
    return result.one()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user, or None if they never wrote to us."""
    return await session.get(User, user_id)


async def mark_blocked(session: AsyncSession, user_id: int, blocked: bool = True) -> bool:
    """Flag (or unflag) a user who blocked the bot; False if there is no such user.

    ``blocked_at`` keeps the time the block was first noticed, so repeated 403s from a
    broadcast do not move it.
    """
    now = literal(utcnow(), UTCDateTime())
    blocked_at = func.coalesce(User.blocked_at, now) if blocked else None
    stmt = update(User).where(User.id == user_id).values(blocked=blocked, blocked_at=blocked_at)
    result = await session.scalars(
        stmt.returning(User),
        execution_options={**_REFRESH, "synchronize_session": False},
    )
    return result.one_or_none() is not None


async def record_question(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    text: str,
    lang: str,
    matched_id: str | None,
    score: float,
    outcome: Outcome,
) -> Question:
    """Log a question and how it was handled. The user row must exist (foreign key).

    Text is cut to Telegram's 4096-character message limit, so a pasted essay cannot bloat
    the table. ``matched_id`` should be the best guess even when nothing was answered.
    """
    question = Question(**question_row(user_id=user_id, chat_id=chat_id, text=text, lang=lang,
                                       matched_id=matched_id, score=score, outcome=outcome))
    session.add(question)
    await session.flush()
    return question


def question_row(*, user_id: int, chat_id: int, text: str, lang: str, matched_id: str | None,
                 score: float, outcome: Outcome) -> dict[str, Any]:
    """The checked column values of one questions row (see :func:`record_question`)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    return {"user_id": user_id, "chat_id": chat_id, "text": text[:MAX_QUESTION_LENGTH],
            "lang": lang, "matched_id": matched_id, "score": float(score),
            "outcome": outcome, "created_at": utcnow()}


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
