"""/language: the user's choice overrides Telegram's language_code."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import users
from bot.i18n import LANGUAGES, Translate, Translator
from bot.ui import keyboards
from bot.ui.callbacks import SetLang


async def choose(message: Message, t: Translate) -> None:
    await message.answer(t("language-choose"), reply_markup=keyboards.language_keyboard())


async def set_language(query: CallbackQuery, callback_data: SetLang, session: AsyncSession,
                       translator: Translator, user_context) -> None:
    await users.set_language(session, query.from_user.id, callback_data.lang)
    user_context.remember_language(query.from_user.id, callback_data.lang)
    await query.answer()
    if query.message:
        await query.message.answer(translator.get(callback_data.lang, "language-set"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(choose, Command("language"))
    router.callback_query.register(set_language, SetLang.filter(F.lang.in_(LANGUAGES)))
    return router
