"""/start, /help and /menu: the welcome and the topic menu."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Translate
from bot.services import Knowledge
from bot.text.normalize import clip
from bot.ui import keyboards


async def start(message: Message, t: Translate, lang: str, knowledge: Knowledge) -> None:
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
