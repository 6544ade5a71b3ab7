"""Commands nobody handled, staff commands from non-staff included: the same plain reply."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import Message

from bot.i18n import Translate
from handlers.filters import CommandLike


async def unknown_command(message: Message, t: Translate, bot: Bot) -> None:
    if message.chat.type != "private":
        # In a group, "/cmd" is for every bot and "/cmd@other_bot" for another one: only
        # "/cmd@this_bot" is ours to answer.
        mention = (message.text or "").split(maxsplit=1)[0].partition("@")[2]
        me = await bot.me()
        if not mention or mention.lower() != (me.username or "").lower():
            return
    await message.answer(t("unknown-command"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_command, CommandLike())
    return router
