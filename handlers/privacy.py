"""/privacy says what the bot stores about a student and for how long; /forget deletes it
after a confirmation (bot.db.privacy.forget_user), leaving an audit row without content."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit, privacy
from bot.db.handoffs import OpenConversations
from bot.i18n import Translate
from bot.ui.callbacks import Forget

log = logging.getLogger(__name__)


async def privacy_command(message: Message, config: Config, t: Translate) -> None:
    await message.answer(t("privacy-info", days=config.privacy.keep_questions_days or 0))


def confirm_keyboard(t: Translate, user_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-forget-yes"),
                             callback_data=Forget(user=user_id, ok=True).pack()),
        InlineKeyboardButton(text=t("btn-cancel"),
                             callback_data=Forget(user=user_id).pack())]])


async def forget_command(message: Message, t: Translate) -> None:
    if message.from_user is None:
        return
    await message.answer(t("forget-confirm"),
                         reply_markup=confirm_keyboard(t, message.from_user.id))


async def forget_button(query: CallbackQuery, callback_data: Forget, session: AsyncSession,
                        conversations: OpenConversations, user_context, state: FSMContext,
                        t: Translate) -> None:
    user_id = query.from_user.id
    # In a group anyone sees the buttons, and callback data can be forged: only the user
    # who sent /forget deletes, and only their own data.
    if callback_data.user != user_id:
        await query.answer(t("forget-not-yours"), show_alert=True)
        return
    if not callback_data.ok:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(t("forget-cancelled"))
        return
    gone = await privacy.forget_user(session, user_id)
    await audit.record(session, user_id, "forget")  # that it happened, nothing more
    await session.commit()
    await state.clear()
    # The next update must store the user again (questions need the row) and see the
    # hand-off conversation gone.
    user_context.forget(user_id)
    conversations.invalidate()
    log.info("/forget: a user's data deleted (%d rows)", gone.total)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("forget-done"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(forget_command, Command("forget"))
    router.callback_query.register(forget_button, Forget.filter())
    return router
