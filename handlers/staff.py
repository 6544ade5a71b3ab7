"""Staff commands: /reload, /stats, /close, /ban, /unban (/unanswered and /kb are in
handlers.teach). Only senders listed in staff.admins reach these handlers; every action is
written to the audit table."""

from __future__ import annotations

import contextlib

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit, users
from bot.db import handoffs as store
from bot.db.handoffs import OpenConversations
from bot.i18n import Translate, Translator, language_of
from bot.services import Knowledge, Reload
from bot.staff import stats
from bot.telegram.replies import send_long
from bot.ui.reports import reload_report
from handlers.filters import IsStaff

MAX_DAYS = 3650


def _days(command: CommandObject, default: int) -> int | None:
    arg = (command.args or "").strip()
    if not arg:
        return default
    return int(arg) if arg.isdigit() and 0 < int(arg) <= MAX_DAYS else None


async def reload_cmd(message: Message, bot: Bot, session: AsyncSession, reload: Reload,
                     t: Translate) -> None:
    result = await reload()
    await audit.record(session, message.from_user.id, "reload",
                       "ok" if result.ok else f"{len(result.errors)} error(s)")
    await send_long(bot, message.chat.id, reload_report(result, t),
                    message_thread_id=message.message_thread_id)


async def stats_cmd(message: Message, command: CommandObject, session: AsyncSession,
                    knowledge: Knowledge, lang: str, t: Translate) -> None:
    days = _days(command, 7)
    if days is None:
        await message.answer(t("staff-usage-days"))
        return
    st = await stats.collect(session, days)
    await audit.record(session, message.from_user.id, "stats", f"days={days}")
    titles = stats.topic_titles(knowledge.kb, lang)
    await message.answer(stats.render(st, t, titles))
    await message.answer_photo(BufferedInputFile(stats.chart_png(st, t, titles),
                                                 "questions.png"))


async def _conversation(message: Message, session: AsyncSession):
    if message.reply_to_message:
        conv = await store.find_by_staff_message(session, message.chat.id,
                                                 message.reply_to_message.message_id)
        if conv:
            return conv
    if message.message_thread_id and message.is_topic_message:
        return await store.find_by_topic(session, message.chat.id, message.message_thread_id)
    return None


async def close_cmd(message: Message, bot: Bot, session: AsyncSession, config: Config,
                    translator: Translator, conversations: OpenConversations,
                    t: Translate) -> None:
    conv = await _conversation(message, session)
    if conv is None:
        await message.answer(t("staff-not-a-conversation"))
        return
    if not await store.close(session, conv, message.from_user.id):
        await message.answer(t("staff-already-closed"))
        return
    await session.commit()
    conversations.invalidate()
    await audit.record(session, message.from_user.id, "close", f"handoff={conv.id}")
    user = await users.get_user(session, conv.user_id)
    lang = (user.language if user else None) or language_of(
        user.language_code if user else None, config.bot.default_language)
    with contextlib.suppress(TelegramAPIError):  # a student who blocked us needs no notice
        # In private (the conversation's user), never in a group it may have started in.
        await bot.send_message(conv.user_id,
                               translator.get(lang, "handoff-closed-student"))
    await message.answer(t("staff-closed"))


async def _target(message: Message, command: CommandObject, session: AsyncSession) -> int | None:
    arg = (command.args or "").strip()
    if arg.lstrip("-").isdigit():
        return int(arg)
    conv = await _conversation(message, session)
    return conv.user_id if conv else None


async def ban_cmd(message: Message, command: CommandObject, session: AsyncSession,
                  t: Translate, conversations: OpenConversations) -> None:
    target = await _target(message, command, session)
    if target is None:
        await message.answer(t("staff-ban-usage"))
        return
    await store.ban(session, target, message.from_user.id)
    conv = await store.open_for(session, target)
    if conv:
        await store.close(session, conv, message.from_user.id)
        await session.commit()
        conversations.invalidate()
    await audit.record(session, message.from_user.id, "ban", f"user={target}")
    await message.answer(t("staff-banned", user_id=target))


async def unban_cmd(message: Message, command: CommandObject, session: AsyncSession,
                    t: Translate) -> None:
    target = await _target(message, command, session)
    if target is None:
        await message.answer(t("staff-ban-usage"))
        return
    await store.unban(session, target)
    await audit.record(session, message.from_user.id, "unban", f"user={target}")
    await message.answer(t("staff-unbanned", user_id=target))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff())
    router.message.register(reload_cmd, Command("reload"))
    router.message.register(stats_cmd, Command("stats"))
    router.message.register(close_cmd, Command("close"))
    router.message.register(ban_cmd, Command("ban"))
    router.message.register(unban_cmd, Command("unban"))
    return router
