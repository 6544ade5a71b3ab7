"""👍/👎 under answers: one vote per answer message per user, changeable."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import questions, votes
from bot.i18n import Translate
from bot.services import Knowledge
from bot.ui.callbacks import Vote


async def vote(query: CallbackQuery, callback_data: Vote, session: AsyncSession,
               knowledge: Knowledge, t: Translate) -> None:
    if query.message is None or callback_data.entry not in knowledge.kb.entries:
        await query.answer(t("stale-menu"), show_alert=True)
        return
    # Callback data can be forged: link the vote only to this user's own question.
    question = await questions.own_question(session, callback_data.q, query.from_user.id)
    question_id = question.id if question is not None else None
    state = await votes.record_vote(
        session, user_id=query.from_user.id, chat_id=query.message.chat.id,
        message_id=query.message.message_id, entry_id=callback_data.entry,
        vote=1 if callback_data.up else -1, question_id=question_id)
    if state == "same":
        await query.answer(t("vote-same"))
    else:
        await query.answer(t("vote-thanks-up" if callback_data.up else "vote-thanks-down"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(vote, Vote.filter())
    return router
