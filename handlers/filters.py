"""Filters shared by routers."""

from __future__ import annotations

import re

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message


def is_person(message: Message) -> bool:
    """Written by a person we can know: not an anonymous group admin or a channel (their
    messages carry ``sender_chat`` and come "from" Telegram's service bots), not a bot."""
    user = message.from_user
    return message.sender_chat is None and user is not None and not user.is_bot


class Addressed(Filter):
    """Private chats: always. Groups: only messages that mention the bot or reply to it;
    the mention is removed from the text handed to the handler."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict:
        if message.chat.type == "private":
            return True
        me = await bot.me()
        reply = message.reply_to_message
        if reply and reply.from_user and reply.from_user.id == me.id:
            return True
        text = message.text or ""
        if me.username and f"@{me.username}".lower() in text.lower():
            stripped = re.sub(rf"@{re.escape(me.username)}\b", " ", text, flags=re.I)
            return {"question": " ".join(stripped.split())}
        return False


class IsStaff(Filter):
    """The sender is listed in staff.admins. Staff commands are invisible to everyone else:
    they fall through to the unknown-command reply like any other unknown command."""

    async def __call__(self, event: Message, config) -> bool:  # type: ignore[override]
        user = event.from_user
        return user is not None and config.is_admin(user.id)


class InStaffChat(Filter):
    async def __call__(self, message: Message, config) -> bool:  # type: ignore[override]
        return config.staff.chat_id is not None and message.chat.id == config.staff.chat_id


# Plain async filters instead of aiogram's ``F`` magic: aiogram runs a synchronous filter in
# a worker thread (asyncio.to_thread), three thread hops per message on the hot path.
class HasText(Filter):
    async def __call__(self, message: Message) -> bool:  # type: ignore[override]
        return message.text is not None


class PrivateChat(Filter):
    async def __call__(self, message: Message) -> bool:  # type: ignore[override]
        return message.chat.type == "private"


class NotCommand(Filter):
    async def __call__(self, message: Message) -> bool:  # type: ignore[override]
        return not (message.text or "").startswith("/")


_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)")


class CommandLike(Filter):
    async def __call__(self, message: Message) -> bool:  # type: ignore[override]
        return bool(message.text and _COMMAND.match(message.text))


class StaffPlace(Filter):
    """A staff member (staff.admins) writing in the staff chat or in private: where the
    knowledge-base tools work. Anywhere else, and for anyone else, they do not exist."""

    async def __call__(self, event, config) -> bool:  # type: ignore[override]
        message = event.message if isinstance(event, CallbackQuery) else event
        user = event.from_user
        if user is None or not config.is_admin(user.id) or message is None:
            return False
        chat = message.chat
        return chat.type == "private" or (config.staff.chat_id is not None
                                          and chat.id == config.staff.chat_id)


class KbSubcommand(Filter):
    """``/kb <name> …`` for one of ``names`` ("" = bare ``/kb``)."""

    def __init__(self, *names: str):
        self.names = {n.lower() for n in names}

    async def __call__(self, message: Message) -> bool:  # type: ignore[override]
        parts = (message.text or "").split()
        if not parts or parts[0].split("@")[0].lower() != "/kb":
            return False
        return (parts[1].lower() if len(parts) > 1 else "") in self.names
