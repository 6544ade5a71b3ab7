"""/news: the latest news, paginated; an item in full; Back to the list.

The list comes from the database (bot.db.news: KB items and feed items together). Items
linked from KB entries (and found by questions) are looked up by their KB id, and shown
from the KB itself when the database does not have them yet.
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import news as store
from bot.i18n import Translate
from bot.knowledge import Entry
from bot.news import render
from bot.services import Knowledge
from bot.telegram.replies import NO_PREVIEW, edit_or_send, send_long, send_unread, thread_of
from bot.text import tghtml
from bot.ui import keyboards
from bot.ui.actions import ActionContext
from bot.ui.callbacks import NewsKb, NewsList, NewsShow


def _tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.digest.timezone)


def _linking(knowledge: Knowledge, kb_id: str | None) -> list[Entry]:
    """The entries that link to this KB news item (partnerships.amu for the AMU item)."""
    if not kb_id:
        return []
    return [e for e in knowledge.kb.entries.values() if kb_id in e.news]


async def list_page(session: AsyncSession, config: Config, lang: str, t: Translate,
                    page: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    """Text and keyboard of one page of the list (the page number is clamped)."""
    size = config.news.page_size
    total = await store.count(session)
    if not total:
        return t("news-none"), keyboards.news_list_keyboard([], 0, 1, t)
    pages = max(1, math.ceil(total / size))
    page = min(max(page, 0), pages - 1)
    rows = await store.latest(session, size, page * size)
    views = [render.view_from_row(r, lang, _tz(config)) for r in rows]
    first = page * size + 1
    text = render.list_text(views, t, page=page, pages=pages, first_number=first)
    items = [(v.id, render.button_label(v, first + i)) for i, v in enumerate(views)]
    return text, keyboards.news_list_keyboard(items, page, pages, t)


async def send_list(bot: Bot, chat_id: int, session: AsyncSession, config: Config,
                    lang: str, t: Translate, page: int = 0, *,
                    thread_id: int | None = None) -> None:
    text, markup = await list_page(session, config, lang, t, page)
    await send_unread(bot, chat_id, text, reply_markup=markup, message_thread_id=thread_id,
                      link_preview_options=NO_PREVIEW)


async def kb_item_view(session: AsyncSession, config: Config, knowledge: Knowledge,
                       kb_id: str, lang: str) -> render.NewsView | None:
    """A KB news item: from the database if it is there, else from the live KB."""
    row = await store.by_kb_id(session, kb_id)
    if row is not None and not row.withdrawn:
        return render.view_from_row(row, lang, _tz(config))
    item = knowledge.kb.news_item(kb_id)
    return render.view_from_kb(item, lang) if item is not None else None


async def send_kb_item(bot: Bot, chat_id: int, kb_id: str, session: AsyncSession,
                       config: Config, knowledge: Knowledge, lang: str, t: Translate, *,
                       thread_id: int | None = None) -> bool:
    """Send a KB news item in full (split at paragraphs if long); False if it is gone."""
    view = await kb_item_view(session, config, knowledge, kb_id, lang)
    if view is None:
        await bot.send_message(chat_id, t("news-gone"), message_thread_id=thread_id)
        return False
    text = render.item_text(view, t)
    markup = keyboards.news_item_keyboard(t, lang, related=_linking(knowledge, kb_id), text=text)
    await send_long(bot, chat_id, text, reply_markup=markup, message_thread_id=thread_id)
    return True


# -- handlers -----------------------------------------------------------------------------


async def news_command(message: Message, bot: Bot, session: AsyncSession, config: Config,
                       lang: str, t: Translate) -> None:
    await send_list(bot, message.chat.id, session, config, lang, t,
                    thread_id=thread_of(message))


async def on_list(query: CallbackQuery, callback_data: NewsList, session: AsyncSession,
                  config: Config, lang: str, t: Translate) -> None:
    await query.answer()
    text, markup = await list_page(session, config, lang, t, callback_data.page)
    await edit_or_send(query, text, markup, edit=callback_data.edit)


async def on_show(query: CallbackQuery, callback_data: NewsShow, bot: Bot,
                  session: AsyncSession, config: Config, knowledge: Knowledge, lang: str,
                  t: Translate) -> None:
    row = await store.get(session, callback_data.id) if callback_data.id > 0 else None
    if row is None or query.message is None:
        await query.answer(t("news-gone"), show_alert=True)
        return
    await query.answer()
    view = render.view_from_row(row, lang, _tz(config))
    text = render.item_text(view, t)
    markup = keyboards.news_item_keyboard(t, lang, page=max(0, callback_data.page),
                                          related=_linking(knowledge, view.kb_id), text=text)
    if tghtml.visible_length(text) <= tghtml.MAX_MESSAGE:
        await edit_or_send(query, text, markup)  # the list turns into the item, and back
    else:
        await send_long(bot, query.message.chat.id, text, reply_markup=markup,
                        message_thread_id=thread_of(query.message))


async def on_kb_item(query: CallbackQuery, callback_data: NewsKb, bot: Bot,
                     session: AsyncSession, config: Config, knowledge: Knowledge, lang: str,
                     t: Translate) -> None:
    view = await kb_item_view(session, config, knowledge, callback_data.id, lang)
    if view is None or query.message is None:
        await query.answer(t("news-gone"), show_alert=True)
        return
    await query.answer()
    text = render.item_text(view, t)
    markup = keyboards.news_item_keyboard(t, lang, related=_linking(knowledge, callback_data.id),
                                          text=text)
    await send_long(bot, query.message.chat.id, text, reply_markup=markup,
                    message_thread_id=thread_of(query.message))


async def show_news(ctx: ActionContext) -> None:
    """The action of news.latest: the news item the question was about, else the first page
    of the latest news."""
    config, knowledge = ctx.services.config, ctx.services.knowledge
    if ctx.news is not None:
        await send_kb_item(ctx.bot, ctx.chat_id, ctx.news.id, ctx.session, config, knowledge,
                           ctx.lang, ctx.t, thread_id=ctx.thread_id)
    else:
        await send_list(ctx.bot, ctx.chat_id, ctx.session, config, ctx.lang, ctx.t,
                        thread_id=ctx.thread_id)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(news_command, Command("news"))
    router.callback_query.register(on_list, NewsList.filter())
    router.callback_query.register(on_show, NewsShow.filter())
    router.callback_query.register(on_kb_item, NewsKb.filter())
    return router
