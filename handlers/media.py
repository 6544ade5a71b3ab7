"""Photos, stickers, voice, documents, locations...: a polite hint that the bot reads text."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.i18n import Translate
from handlers.filters import PrivateChat


async def not_text(message: Message, t: Translate) -> None:
    await message.answer(t("non-text"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(not_text, PrivateChat())
    return router
