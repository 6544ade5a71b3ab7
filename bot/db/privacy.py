"""Personal data: a student's /forget, and the daily purge of old questions.

Both delete question rows, and both first fold them into ``question_daily`` (anonymous
counts per UTC day, matched entry, language and outcome; no text, no user), so statistics
over any period keep their totals (bot.staff.stats reads the counts plus the live rows).

Folding is exactly-once even when two processes do it at the same moment: the rows are
deleted with ``DELETE … RETURNING`` and only what a statement actually deleted is counted,
in the same transaction. On PostgreSQL a second DELETE of the same rows waits for the first
and then finds them gone; SQLite runs one writer at a time. So the purge needs no lock or
leader: every instance of the bot may run it, and running it twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import dialect_insert as _insert
from bot.db.models import (
    OUTCOMES,
    Delivery,
    Feedback,
    Handoff,
    HandoffMessage,
    Question,
    QuestionDaily,
    Subscription,
    User,
    utcnow,
)

#: Question rows deleted per transaction by the purge (a short write lock each time).
PURGE_BATCH = 1000


@dataclass(frozen=True)
class Forgotten:
    """How many rows of each kind :func:`forget_user` deleted."""

    questions: int = 0
    votes: int = 0
    subscriptions: int = 0
    deliveries: int = 0
    handoffs: int = 0
    handoff_messages: int = 0
    users: int = 0

    @property
    def total(self) -> int:
        return sum(vars(self).values())


async def forget_user(session: AsyncSession, user_id: int) -> Forgotten:
    """Delete everything stored about ``user_id``: questions (folded into the anonymous
    daily counts first), votes, the news subscription and its digest deliveries, hand-off
    conversations and their staff-chat message links, and the user row.

    Runs in the caller's transaction (only flushes): commit once for all of it. Kept: the
    anonymous counts, a hand-off ban staff imposed (``handoff_bans``: a staff decision, not
    the student's data to erase), and the audit trail of staff actions."""
    votes = await _delete(session, delete(Feedback).where(Feedback.user_id == user_id))
    handoff_ids = select(Handoff.id).where(Handoff.user_id == user_id).scalar_subquery()
    messages = await _delete(session, delete(HandoffMessage)
                             .where(HandoffMessage.handoff_id.in_(handoff_ids)))
    handoffs = await _delete(session, delete(Handoff).where(Handoff.user_id == user_id))
    questions = await _fold(session, Question.user_id == user_id)
    deliveries = await _delete(session, delete(Delivery).where(Delivery.user_id == user_id))
    subscriptions = await _delete(session, delete(Subscription)
                                  .where(Subscription.user_id == user_id))
    users = await _delete(session, delete(User).where(User.id == user_id))
    await session.flush()
    return Forgotten(questions=questions, votes=votes, subscriptions=subscriptions,
                     deliveries=deliveries, handoffs=handoffs, handoff_messages=messages,
                     users=users)


def purge_cutoff(keep_days: int, now: datetime | None = None) -> datetime:
    """Questions created before this moment are purged: midnight UTC ``keep_days`` days
    before today, so whole days go at once and at least ``keep_days`` days stay."""
    today = (now or utcnow()).astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=keep_days), time(), UTC)


async def purge_questions(sessions: async_sessionmaker[AsyncSession], keep_days: int | None,
                          *, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Fold and delete questions older than ``keep_days`` (``privacy.keep_questions_days``;
    None or 0 keeps them forever) in transactions of ``batch`` rows; returns how many rows
    this call deleted. Safe to run in several processes at once (see the module)."""
    if not keep_days:
        return 0
    cutoff = purge_cutoff(keep_days, now)
    total = 0
    while True:
        async with sessions() as session:
            ids = list(await session.scalars(
                select(Question.id).where(Question.created_at < cutoff)
                .order_by(Question.id).limit(batch)))
            if not ids:
                return total
            total += await _fold(session, Question.id.in_(ids))
            await session.commit()


async def _delete(session: AsyncSession, stmt) -> int:
    result = await session.execute(stmt, execution_options={"synchronize_session": False})
    return max(result.rowcount or 0, 0)


async def _fold(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Delete the questions matching ``where`` and add them to the daily counts."""
    rows = (await session.execute(
        delete(Question).where(where)
        .returning(Question.created_at, Question.matched_id, Question.lang, Question.outcome),
        execution_options={"synchronize_session": False})).all()
    await add_counts(session, ((c.date(), m, lang, o) for c, m, lang, o in rows))
    return len(rows)


async def add_counts(session: AsyncSession,
                     rows: Iterable[tuple[date, str | None, str, str]]) -> None:
    """Add questions, given as (UTC day, matched entry or None, language, outcome), to
    ``question_daily``: one upsert adding to the existing counts."""
    counts: dict[tuple[date, str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(OUTCOMES, 0))
    for day, entry, lang, outcome in rows:
        counts[(day, entry or "", lang)][outcome] += 1
    if not counts:
        return
    insert = _insert(session)(QuestionDaily)
    stmt = insert.values([{"day": d, "entry_id": e, "lang": lang, **n}
                          for (d, e, lang), n in sorted(counts.items())])
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "entry_id", "lang"],
        set_={o: getattr(QuestionDaily, o) + getattr(stmt.excluded, o) for o in OUTCOMES})
    await session.execute(stmt)
