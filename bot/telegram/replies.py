"""Sending answers that may be longer than one message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.telegram.session import SendMessageUnread
from bot.text.split import split_message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
log = logging.getLogger(__name__)


def thread_of(message: object) -> int | None:
    """The forum topic a message belongs to, so replies stay in it (as Message.answer does)."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


async def send_long(bot: Bot, chat_id: int, text: str, *,
                    reply_markup: InlineKeyboardMarkup | None = None,
                    message_thread_id: int | None = None,
                    result: bool = True) -> Message | None:
    """Send ``text`` split at paragraph boundaries; the keyboard goes under the last part.
    Returns the last message sent, or None with ``result=False`` (the answers are then not
    parsed: see bot.telegram.session.SendMessageUnread)."""
    parts = split_message(text)
    last: Message | None = None
    for i, part in enumerate(parts):
        markup = reply_markup if i == len(parts) - 1 else None
        if result:
            last = await bot.send_message(
                chat_id, part, message_thread_id=message_thread_id, reply_markup=markup,
                link_preview_options=NO_PREVIEW)
        else:
            await send_unread(bot, chat_id, part, message_thread_id=message_thread_id,
                              reply_markup=markup, link_preview_options=NO_PREVIEW)
    return last


async def send_unread(bot: Bot, chat_id: int, text: str, **kwargs: Any) -> None:
    """``bot.send_message`` for a caller that does not read the sent message."""
    await bot(SendMessageUnread(chat_id=chat_id, text=text, **kwargs))


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


class TypingAfter:
    """``async with TypingAfter(bot, chat_id, delay=1):`` shows "typing…" in the chat only
    if the block takes longer than ``delay`` seconds, then every ``interval`` seconds until
    it ends, like aiogram's ``ChatActionSender(initial_sleep=delay)``. A quick block costs
    one timer, not a task, two events and a lock (ChatActionSender's, at every answer)."""

    def __init__(self, bot: Bot, chat_id: int, *, message_thread_id: int | None = None,
                 delay: float = 1.0, interval: float = 5.0) -> None:
        self.bot, self.chat_id, self.thread_id = bot, chat_id, message_thread_id
        self.delay, self.interval = delay, interval
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    async def __aenter__(self) -> TypingAfter:
        self._timer = asyncio.get_running_loop().call_later(self.delay, self._start)
        return self

    def _start(self) -> None:
        self._timer = None
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._worker(self._stop))

    async def _worker(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            try:
                await self.bot.send_chat_action(chat_id=self.chat_id, action="typing",
                                                message_thread_id=self.thread_id)
            except Exception as exc:  # cosmetic: the answer goes on without it
                log.debug("typing indicator failed: %s", exc)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval - (loop.time() - started))

    async def __aexit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            # As ChatActionSender: a chat action being sent is let finish, not cut off.
            self._stop.set()  # type: ignore[union-attr]
            await self._task
            self._task = None
