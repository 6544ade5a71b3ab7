"""Presenting the engine's result in a chat: answer, "did you mean", or fallback."""

from __future__ import annotations

from urllib.parse import urlparse

from aiogram import Bot

from bot.i18n import Translate
from bot.knowledge import Entry
from bot.matching import MatchResult
from bot.services import Services
from bot.telegram.replies import NO_PREVIEW, send_long, send_unread
from bot.ui import keyboards
from bot.ui.actions import ActionContext

OUTCOMES = {"answer": "answered", "suggest": "suggested", "fallback": "fallback"}


def fallback_text(services: Services, t: Translate) -> str:
    site = services.config.bot.website
    # Without a staff chat the hand-off button gives the contacts: promise no sending.
    key = "fallback" if services.config.staff.chat_id is not None else "fallback-no-staff"
    return t(key, website=site, website_host=urlparse(site).netloc or site)


async def send_entry(bot: Bot, chat_id: int, entry: Entry, lang: str, t: Translate,
                     services: Services, *, user_id: int, session, question_id: int = 0,
                     thread_id: int | None = None) -> None:
    kb = services.knowledge.kb
    markup = keyboards.answer_keyboard(entry, kb, lang, t, question_id=question_id)
    # Answers are sent without reading Telegram's reply back (bot.telegram.session).
    if entry.action:
        await send_long(bot, chat_id, entry.answer_in(lang), reply_markup=markup,
                        message_thread_id=thread_id, result=False)
        action = services.actions.get(entry.action)
        if action:
            await action(ActionContext(bot, chat_id, user_id, lang, t, entry, services, session,
                                       thread_id=thread_id))
        return
    await send_long(bot, chat_id, entry.answer_in(lang), reply_markup=markup,
                    message_thread_id=thread_id, result=False)


async def present(bot: Bot, chat_id: int, result: MatchResult, t: Translate,
                  services: Services, *, user_id: int, session, question_id: int,
                  thread_id: int | None = None) -> None:
    if result.kind == "answer" and result.news is not None and (
            action := services.actions.get(result.action or "")):
        # A question about one news item: the item itself, not the news entry's answer.
        await action(ActionContext(bot, chat_id, user_id, result.lang, t, result.entry,
                                   services, session, news=result.news, thread_id=thread_id))
    elif result.kind == "answer":
        await send_entry(bot, chat_id, result.entry, result.lang, t, services,
                         user_id=user_id, session=session, question_id=question_id,
                         thread_id=thread_id)
    elif result.kind == "suggest":
        await send_unread(bot, chat_id, t("did-you-mean"), message_thread_id=thread_id,
                          reply_markup=keyboards.suggestions_keyboard(
                              result.suggestions, result.lang, t, question_id))
    else:
        text = fallback_text(services, t)
        await send_unread(bot, chat_id, text, message_thread_id=thread_id,
                          reply_markup=keyboards.fallback_keyboard(t, question_id, text),
                          link_preview_options=NO_PREVIEW)
