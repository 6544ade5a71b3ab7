"""Sending answers that may be longer than one message."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.text.split import split_message

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


async def edit_or_send(query: CallbackQuery, text: str,
                       markup: InlineKeyboardMarkup | None, edit: bool = True) -> None:
    """Edit the pressed menu in place (answers to questions stay and get a new message);
    a new message when it cannot be edited (too old, not ours), nothing when unchanged."""
    msg = query.message
    if edit and isinstance(msg, Message):
        try:
            await msg.edit_text(text, reply_markup=markup, link_preview_options=NO_PREVIEW)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    if msg is not None:
        await query.bot.send_message(msg.chat.id, text, reply_markup=markup,
                                     message_thread_id=thread_of(msg),
                                     link_preview_options=NO_PREVIEW)
