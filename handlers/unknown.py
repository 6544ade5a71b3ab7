"""Commands nobody handled, staff commands from non-staff included: the same plain reply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.i18n import Translate


async def unknown_command(message: Message, t: Translate) -> None:
    await message.answer(t("unknown-command"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_command, F.text.regexp(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)"))
    return router
