"""The knowledge base as a spreadsheet, for staff: ``/kb export`` sends ``knowledge.xlsx``;
the edited workbook sent back as a document is checked, the changes shown with Confirm /
Cancel, and Confirm writes them (bot.knowledge.store), reloads and records who did it.

Staff are ``staff.admins`` writing in the staff chat or in private. For anyone else none of
this exists: ``/kb export`` gets the unknown-command reply and a document the usual
"I read text" hint (handlers.unknown, handlers.media).

No state is kept between the preview and Confirm: the preview replies to the uploaded
document, and Confirm downloads and checks that document again, then writes it only if the
knowledge base is still the version the workbook was exported from.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from html import escape

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit
from bot.i18n import Translate
from bot.knowledge import KBError
from bot.knowledge import workbook as wbk
from bot.knowledge.store import KbInvalid, KbStore, StaleVersion
from bot.knowledge.store import store_for as kb_store_for
from bot.services import Reload
from bot.telegram.replies import NO_PREVIEW
from bot.text.split import split_message
from handlers.filters import KbSubcommand, StaffPlace

log = logging.getLogger(__name__)

FILE_NAME = "knowledge.xlsx"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Taken from staff and checked: an .xls, .ods or .csv gets "save it as .xlsx".
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
MAX_SHOWN_ERRORS = 30
MAX_SHOWN_WARNINGS = 10


class SheetCb(CallbackData, prefix="ks1"):
    """Confirm (``ok``) or cancel the upload the pressed preview replies to; ``v`` the KB
    version it was checked against."""

    ok: bool
    v: str


class WorkbookUpload(Filter):
    """A document named .xlsx (or sent as one). In the staff chat, not a reply into a
    student's conversation or topic (those go to the student, handlers.handoff) — except a
    reply to the bot's own export."""

    async def __call__(self, message: Message, config: Config, bot: Bot) -> bool:  # type: ignore[override]
        doc = message.document
        if doc is None:
            return False
        name = (doc.file_name or "").lower()
        if not (name.endswith(SPREADSHEETS) or doc.mime_type == XLSX_MIME):
            return False
        if message.chat.type == "private":
            return True
        if message.is_topic_message:
            return False
        reply = message.reply_to_message
        if reply is None:
            return True
        me = await bot.me()
        return bool(reply.from_user and reply.from_user.id == me.id and reply.document
                    and (reply.document.file_name or "").lower().endswith(".xlsx"))


def store_for(config: Config) -> KbStore:
    """The store of the configured KB (history in knowledge.history_path when set)."""
    return kb_store_for(config.knowledge)


def author_of(user) -> str:
    return f"{user.full_name} (id {user.id})"


async def _run(fn, *args):
    """Files and the workbook are read in a worker thread: the bot keeps answering."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


# --- /kb export ------------------------------------------------------------------------------


async def export_cmd(message: Message, bot: Bot, config: Config, session: AsyncSession,
                     t: Translate) -> None:
    store = store_for(config)
    try:
        data, kb, version = await _run(wbk.export_from, store)
    except KBError:
        await message.answer(t("sheet-export-broken"))
        return
    await audit.record(session, message.from_user.id, "kb export", f"version={version}")
    caption = t("sheet-export-caption", entries=len(kb.entries), news=len(kb.news),
                examples=len(getattr(kb, "out_of_scope", ())), version=version)
    await message.answer_document(BufferedInputFile(data, FILE_NAME), caption=caption)


# --- the upload ------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f}"


async def _download(bot: Bot, doc: Document, t: Translate) -> bytes | str:
    """The document's bytes, or the message to send instead. The size is checked before
    downloading (Telegram says it) and after (the bytes)."""
    limit = wbk.MAX_BYTES // 1048576
    if doc.file_size and doc.file_size > wbk.MAX_BYTES:
        return t("sheet-too-big", size=_mb(doc.file_size), limit=limit)
    try:
        file = await bot.get_file(doc.file_id)
        if file.file_size and file.file_size > wbk.MAX_BYTES:
            return t("sheet-too-big", size=_mb(file.file_size), limit=limit)
        buf = io.BytesIO()
        await bot.download_file(file.file_path, buf, timeout=60)
    except (TimeoutError, TelegramAPIError, OSError) as exc:
        if "too big" in str(exc):
            return t("sheet-too-big", size=_mb(doc.file_size or 0), limit=limit)
        return t("sheet-download-failed", error=escape(str(exc)[:200]))
    data = buf.getvalue()
    if len(data) > wbk.MAX_BYTES:
        return t("sheet-too-big", size=_mb(len(data)), limit=limit)
    return data


async def _check(bot: Bot, doc: Document, config: Config, t: Translate
                 ) -> wbk.Prepared | str:
    """The checked upload (perhaps stale: the caller says so), or the message that says why
    nothing can change."""
    data = await _download(bot, doc, t)
    if isinstance(data, str):
        return data
    try:
        prepared = await _run(wbk.prepare, store_for(config), data)
    except wbk.WorkbookError as exc:
        return t("sheet-not-workbook", reason=escape(str(exc)[:1].upper() + str(exc)[1:]))
    except KBError:
        return t("sheet-export-broken")
    if prepared.stale:
        return prepared
    up = prepared.upload
    if not up.ok:
        lines = [t("sheet-errors-title", count=len(up.errors))]
        lines += [f"• {escape(str(e))}" for e in up.errors[:MAX_SHOWN_ERRORS]]
        if len(up.errors) > MAX_SHOWN_ERRORS:
            lines.append(t("sheet-errors-more", count=len(up.errors) - MAX_SHOWN_ERRORS))
        return "\n".join(lines)
    if up.empty:
        return t("sheet-no-changes")
    return prepared


def _stale(theirs: str | None, current: str, last, t: Translate) -> str:
    who = ""
    if last is not None:
        who = t("sheet-stale-who", author=escape(last.author),
                when=last.at.strftime("%Y-%m-%d %H:%M UTC"))
    return t("sheet-stale", theirs=escape(theirs or "?"), current=current, who=who)


def _refused(prepared: wbk.Prepared, last, author: str, t: Translate) -> str:
    """Why Confirm did nothing: this very workbook was saved already (a second tap), or
    the KB changed since it was exported."""
    up = prepared.upload
    if (last is not None and last.author == author and last.before.id == up.version
            and last.summary == wbk.summary_of(up)):
        return t("sheet-already-saved")
    return _stale(up.version, prepared.version, last, t)


def _preview(prepared: wbk.Prepared, t: Translate) -> str:
    up = prepared.upload
    lines = [t("sheet-preview-title")]
    lines += [escape(line) for line in up.summary_lines()]
    if up.warnings:
        lines += ["", t("sheet-warnings", count=len(up.warnings))]
        lines += [f"• {escape(str(w))}" for w in up.warnings[:MAX_SHOWN_WARNINGS]]
        if len(up.warnings) > MAX_SHOWN_WARNINGS:
            lines.append(t("sheet-errors-more", count=len(up.warnings) - MAX_SHOWN_WARNINGS))
    lines += ["", t("sheet-preview-confirm")]
    return "\n".join(lines)


def _keyboard(version: str, t: Translate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-sheet-confirm"),
                             callback_data=SheetCb(ok=True, v=version).pack()),
        InlineKeyboardButton(text=t("btn-sheet-cancel"),
                             callback_data=SheetCb(ok=False, v=version).pack()),
    ]])


async def upload(message: Message, bot: Bot, config: Config, t: Translate) -> None:
    result = await _check(bot, message.document, config, t)
    reply = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
    if isinstance(result, wbk.Prepared) and result.stale:
        result = _stale(result.upload.version, result.version, result.last_change, t)
    if isinstance(result, str):
        for part in split_message(result):
            await message.answer(part, reply_parameters=reply, link_preview_options=NO_PREVIEW)
        return
    parts = split_message(_preview(result, t))
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        # The last part carries the buttons and replies to the document: Confirm finds the
        # workbook there.
        await message.answer(part, link_preview_options=NO_PREVIEW,
                             reply_parameters=reply if last else None,
                             reply_markup=_keyboard(result.version, t) if last else None)


# --- Confirm / Cancel ------------------------------------------------------------------------


async def _close_preview(query: CallbackQuery, note: str) -> None:
    """The preview loses its buttons; ``note`` (what happened) replies to it."""
    msg = query.message
    if not isinstance(msg, Message):
        return
    with contextlib.suppress(TelegramBadRequest):
        await msg.edit_reply_markup(reply_markup=None)
    reply = ReplyParameters(message_id=msg.message_id, allow_sending_without_reply=True)
    for part in split_message(note):
        await msg.answer(part, reply_parameters=reply, link_preview_options=NO_PREVIEW)


async def confirm(query: CallbackQuery, callback_data: SheetCb, bot: Bot, config: Config,
                  session: AsyncSession, reload: Reload, t: Translate) -> None:
    msg = query.message
    if not callback_data.ok:
        await query.answer()
        await _close_preview(query, t("sheet-cancelled"))
        return
    doc = msg.reply_to_message.document if isinstance(msg, Message) and \
        msg.reply_to_message else None
    if doc is None:
        await query.answer(t("sheet-gone"), show_alert=True)
        return
    await query.answer(t("sheet-saving"))
    result = await _check(bot, doc, config, t)
    if isinstance(result, str):
        await _close_preview(query, result)
        return
    store = store_for(config)
    author = author_of(query.from_user)
    if result.stale or result.version != callback_data.v:
        await _close_preview(query, _refused(result, result.last_change, author, t))
        return
    try:
        await _run(wbk.save, store, result, author)
    except StaleVersion:
        last = next(iter(await _run(store.history, 1)), None)
        await _close_preview(query, _refused(result, last, author, t))
        return
    except KbInvalid as exc:
        lines = [t("sheet-invalid")] + [f"• {escape(str(p))}" for p in exc.errors[:20]]
        await _close_preview(query, "\n".join(lines))
        return
    summary = wbk.summary_of(result.upload)
    log.info("KB changed from a workbook by %s: %s", author, summary)
    await audit.record(session, query.from_user.id, "kb import", summary)
    outcome = await reload()
    note = t("sheet-saved", name=escape(query.from_user.full_name),
             summary=escape(summary.removeprefix("spreadsheet: ")))
    if not outcome.ok:
        note += "\n" + t("sheet-saved-reload-failed",
                         error=escape("; ".join(str(p) for p in outcome.errors[:3])))
    await _close_preview(query, note)


def create_router() -> Router:
    router = Router(name=__name__)
    place = StaffPlace()
    router.message.register(export_cmd, Command("kb"), KbSubcommand("export"), place)
    router.message.register(upload, place, WorkbookUpload())
    router.callback_query.register(confirm, SheetCb.filter(), place)
    return router

