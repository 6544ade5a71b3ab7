"""Browsing: main menu -> category (paginated) -> answer, with Back and Main menu."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.i18n import Translate
from bot.services import Knowledge, Services
from bot.telegram.replies import edit_or_send, thread_of
from bot.ui import keyboards
from bot.ui.answers import send_entry
from bot.ui.callbacks import Nav, Show


async def navigate(query: CallbackQuery, callback_data: Nav, knowledge: Knowledge,
                   lang: str, t: Translate) -> None:
    kb = knowledge.kb
    if not callback_data.cat:
        await query.answer()
        await edit_or_send(query, t("menu-title"), keyboards.main_menu(kb, lang),
                           callback_data.edit)
        return
    cat = kb.categories.get(callback_data.cat)
    if cat is None or not kb.in_category(cat.id):
        await query.answer(t("stale-menu"), show_alert=True)
        return
    await query.answer()
    title = cat.title.get(lang) or cat.title["en"]
    await edit_or_send(query, t("menu-category", title=title),
                keyboards.category_menu(kb, cat.id, callback_data.page, lang, t),
                callback_data.edit)


async def show(query: CallbackQuery, callback_data: Show, knowledge: Knowledge, lang: str,
               t: Translate, services: Services, bot: Bot, session) -> None:
    kb = knowledge.kb
    entry = kb.entries.get(callback_data.entry)
    if entry is None or (callback_data.cat and callback_data.cat not in kb.categories):
        await query.answer(t("stale-menu"), show_alert=True)
        return
    await query.answer()
    if callback_data.cat and not entry.action:
        markup = keyboards.answer_keyboard(entry, kb, lang, t, category=callback_data.cat)
        await edit_or_send(query, entry.answer_in(lang), markup, edit=True)
        return
    if query.message:
        await send_entry(bot, query.message.chat.id, entry, lang, t, services,
                         user_id=query.from_user.id, session=session,
                         thread_id=thread_of(query.message))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(navigate, Nav.filter())
    router.callback_query.register(show, Show.filter())
    return router
