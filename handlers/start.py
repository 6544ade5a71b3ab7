"""/start, /help and /menu: the welcome and the topic menu; ``/start <payload>`` from a deep
link (t.me/<bot>?start=tuition-fees) opens that answer instead."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot.i18n import Translate
from bot.knowledge.deeplinks import entry_for
from bot.services import Knowledge, Services
from bot.telegram.replies import thread_of
from bot.text.normalize import clip
from bot.ui import keyboards
from bot.ui.answers import send_entry

log = logging.getLogger(__name__)


async def start(message: Message, command: CommandObject, bot: Bot, t: Translate, lang: str,
                knowledge: Knowledge, services: Services, session) -> None:
    if command.args:
        entry = entry_for(knowledge.kb, command.args.strip())
        if entry is not None and message.from_user is not None:
            # The answer exactly as to a question in the student's language (no question
            # row: nothing was asked, so the buttons carry none).
            await send_entry(bot, message.chat.id, entry, lang, t, services,
                             user_id=message.from_user.id, session=session,
                             thread_id=thread_of(message))
            return
        log.info("unknown deep link %r: the welcome instead", command.args[:64])
    name = escape(clip(message.from_user.first_name if message.from_user else "", 64))
    await message.answer(t("welcome", name=name),
                         reply_markup=keyboards.main_menu(knowledge.kb, lang))


async def help_(message: Message, t: Translate) -> None:
    await message.answer(t("help"))


async def menu(message: Message, t: Translate, lang: str, knowledge: Knowledge) -> None:
    await message.answer(t("menu-title"), reply_markup=keyboards.main_menu(knowledge.kb, lang))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(menu, Command("menu"))
    return router
