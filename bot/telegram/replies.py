"""Sending answers that may be longer than one message."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.text import split_message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def thread_of(message: object) -> int | None:
    """The forum topic a message belongs to, so replies stay in it (as Message.answer does)."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


async def send_long(bot: Bot, chat_id: int, text: str, *,
                    reply_markup: InlineKeyboardMarkup | None = None,
                    message_thread_id: int | None = None) -> Message | None:
    """Send ``text`` split at paragraph boundaries; the keyboard goes under the last part."""
    parts = split_message(text)
    last: Message | None = None
    for i, part in enumerate(parts):
        last = await bot.send_message(
            chat_id, part, message_thread_id=message_thread_id,
            reply_markup=reply_markup if i == len(parts) - 1 else None,
            link_preview_options=NO_PREVIEW)
    return last
