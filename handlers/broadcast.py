"""/broadcast (staff): a one-off message to every subscriber, or those of one topic or one
language, shown as a preview with Confirm/Cancel and delivered by the digest engine.

``/broadcast [tag:<topic>] [lang:en|ru] <text>`` (Telegram HTML), or ``/broadcast [filters]``
in reply to a message whose text or caption (with its formatting) is the content. The
preview is the message exactly as subscribers will get it, followed by how many active
subscribers match and the buttons; only the staff member who created it can confirm it.
The draft, the sending, the progress reports and the resumption after a restart are in
:mod:`bot.digest.broadcast`. Like every staff command, it does not exist for anyone else.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.digest import broadcast as bc
from bot.i18n import Translate
from bot.services import Knowledge
from bot.telegram.replies import NO_PREVIEW, thread_of
from handlers.filters import IsStaff
from handlers.subscriptions import topics

log = logging.getLogger(__name__)


class BroadcastCb(CallbackData, prefix="bc1"):
    """Confirm (``ok``) or cancel (``no``) the draft broadcast ``token``."""

    op: str
    token: str


def describe(filters: bc.Filters, t: Translate) -> str:
    parts = []
    if filters.tag:
        parts.append(t("broadcast-filter-tag", tag=escape(filters.tag)))
    if filters.lang:
        parts.append(t("broadcast-filter-lang", lang=filters.lang))
    return ", ".join(parts) or t("broadcast-filter-all")


def _keyboard(token: str, count: int, t: Translate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-broadcast-send", count=count),
                             callback_data=BroadcastCb(op="ok", token=token).pack()),
        InlineKeyboardButton(text=t("btn-broadcast-cancel"),
                             callback_data=BroadcastCb(op="no", token=token).pack()),
    ]])


def _content(message: Message, text: str) -> str:
    """The text after the filters, else the replied-to message's text or caption as HTML."""
    reply = message.reply_to_message
    if text or reply is None or not (reply.text or reply.caption):
        return text
    return reply.html_text


def _refusal(error: bc.UsageError, t: Translate) -> str:
    params = dict(error.params)
    if error.key == "broadcast-invalid-html":
        params = {"problems": "\n".join(f"• {escape(p)}" for p in params["shown"])}
    elif "filter" in params:
        params["filter"] = escape(str(params["filter"]))
    return t(error.key, **params)


async def broadcast_cmd(message: Message, command: CommandObject, bot: Bot,
                        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
                        knowledge: Knowledge, t: Translate, lang: str) -> None:
    try:
        filters, text = bc.parse_command(command.args)
        text = _content(message, text)
        if not text:
            raise bc.UsageError("broadcast-usage")
        messages = bc.render(text)
    except bc.UsageError as error:
        await message.answer(_refusal(error, t))
        return
    recipients = await bc.count_recipients(session, filters)
    known = topics(knowledge.kb)
    if filters.tag and filters.tag not in known and not recipients.chose_tag:
        await message.answer(t("broadcast-unknown-topic", tag=escape(filters.tag),
                               topics=", ".join(f"<code>{escape(k)}</code>" for k in known)))
        return
    if not recipients.total:
        await message.answer(t("broadcast-no-recipients", filters=describe(filters, t)))
        return
    thread = thread_of(message)
    try:  # the preview: exactly what subscribers will get (the sender's parameters)
        for part in messages:
            await bot.send_message(message.chat.id, part, parse_mode=ParseMode.HTML,
                                   link_preview_options=NO_PREVIEW, message_thread_id=thread)
    except TelegramBadRequest as exc:
        await message.answer(t("broadcast-rejected", error=escape(exc.message)))
        return
    sessions = sessionmaker
    await bc.purge_expired(sessions)
    draft = await bc.create_draft(
        sessions, messages=messages, filters=filters, created_by=message.from_user.id,
        chat_id=message.chat.id, thread_id=thread, ui_lang=lang, recipients=recipients.total)
    minutes = int(bc.DRAFT_TTL.total_seconds() // 60)
    await message.answer(
        t("broadcast-preview", count=recipients.total, filters=describe(filters, t),
          parts=len(messages), minutes=minutes),
        reply_markup=_keyboard(draft.token, recipients.total, t))


async def _edit(query: CallbackQuery, text: str) -> None:
    msg = query.message
    if msg is None or isinstance(msg, InaccessibleMessage):
        return
    try:
        await msg.edit_text(text, reply_markup=None, link_preview_options=NO_PREVIEW)
    except TelegramAPIError as exc:
        log.debug("broadcast: could not edit the preview message: %s", exc)


async def on_button(query: CallbackQuery, callback_data: BroadcastCb,
                    sessionmaker: async_sessionmaker[AsyncSession], config: Config,
                    t: Translate, digests: Any = None) -> None:
    sessions = sessionmaker
    user_id = query.from_user.id
    draft = await bc.get_draft(sessions, callback_data.token)
    if draft is None or draft.expired():
        if draft is not None:
            await bc.purge_expired(sessions)
        await query.answer(t("broadcast-stale"), show_alert=True)
        if query.message is not None and getattr(query.message, "reply_markup", None):
            await _edit(query, t("broadcast-stale"))  # dead buttons go
        return
    if draft.created_by != user_id or not config.is_admin(user_id):
        await query.answer(t("broadcast-not-yours"), show_alert=True)
        return
    if draft.status != bc.DRAFT:
        await query.answer(t("broadcast-already", id=str(draft.run_id)), show_alert=True)
        return
    if callback_data.op != "ok":
        if await bc.cancel_draft(sessions, draft):
            await query.answer()
            await _edit(query, t("broadcast-cancelled"))
        else:
            await query.answer(t("broadcast-already", id=str(draft.run_id)), show_alert=True)
        return
    msg = query.message
    if msg is None or isinstance(msg, InaccessibleMessage):
        await query.answer(t("broadcast-stale"), show_alert=True)
        return
    if not await bc.confirm_draft(sessions, draft, user_id, chat_id=msg.chat.id,
                                  message_id=msg.message_id, thread_id=thread_of(msg)):
        await query.answer(t("broadcast-already", id=str(draft.run_id)), show_alert=True)
        return
    await query.answer()
    count = draft.note.get("recipients", 0)
    if digests is not None and not digests.stopping:
        await _edit(query, t("broadcast-started", id=str(draft.run_id), count=count))
        digests.spawn(bc.deliver(digests, draft.run_id), f"broadcast-{draft.run_id}")
    else:
        # No engine in this process (it is stopping): the run is persisted in "planning",
        # and the engine of any instance resumes it (at start-up, or within a minute).
        await _edit(query, t("broadcast-queued", id=str(draft.run_id), count=count))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff())
    router.message.register(broadcast_cmd, Command("broadcast"))
    router.callback_query.register(on_button, BroadcastCb.filter())
    return router
