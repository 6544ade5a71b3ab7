"""/id in any chat: the chat's id and the sender's user id, so the IT person can fill in
``BOT_STAFF_CHAT_ID`` and ``BOT_STAFF_ADMINS`` without a third-party bot."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translate


def id_text(message: Message, t: Translate) -> str:
    chat = message.chat
    user = message.from_user
    anonymous = message.sender_chat is not None or user is None or user.is_bot
    kind = chat.type + (", forum" if chat.is_forum else "")
    if chat.type == "private":
        own = chat.id
        return "\n".join([t("id-user", user_id=own), "", t("id-hint-private", user_id=own)])
    lines = [t("id-chat", chat_id=str(chat.id), chat_type=kind)]
    lines.append(t("id-anonymous") if anonymous else t("id-user", user_id=user.id))
    lines += ["", t("id-hint-group", chat_id=str(chat.id))]
    return "\n".join(lines)


async def show_ids(message: Message, t: Translate) -> None:
    await message.answer(id_text(message, t))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_ids, Command("id"))
    return router
