"""The ``questions`` table: every question asked and how it was handled.

Most questions are stored in batches by :mod:`bot.db.question_log`; this module has the
single-row insert, the row's checked values, and the guard for ids that arrive in callback
data (which a client can forge).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MAX_QUESTION_LENGTH, OUTCOMES, Question, utcnow

Outcome = Literal["answered", "suggested", "fallback"]


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


async def own_question(session: AsyncSession, question_id: int, user_id: int) -> Question | None:
    """The question ``question_id`` if ``user_id`` asked it, else None.

    Question ids travel in callback data, which a client can forge: a button may act on a
    question only when it is the caller's own."""
    if question_id <= 0:
        return None
    question = await session.get(Question, question_id)
    return question if question is not None and question.user_id == user_id else None
