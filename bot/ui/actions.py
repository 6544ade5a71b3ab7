"""Action entries (news.latest, bot.subscribe): the engine names the action, features
register what it does. The entry's own answer is shown first, then the action runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot

from bot.i18n import Translate
from bot.knowledge import Entry
from bot.knowledge.models import NewsItem


@dataclass
class ActionContext:
    bot: Bot
    chat_id: int
    user_id: int
    lang: str
    t: Translate
    entry: Entry
    services: object
    session: object
    news: NewsItem | None = None  # show_news: this item (the question was about it)
    thread_id: int | None = None  # the forum topic the question came from


Action = Callable[[ActionContext], Awaitable[None]]


async def show_news(ctx: ActionContext) -> None:
    """The news item the question was about, else the first page of the latest news."""
    from handlers import news  # handlers build on bot.*, not the other way round

    if ctx.news is not None:
        await news.send_kb_item(ctx.bot, ctx.chat_id, ctx.news.id, ctx.session, ctx.services,
                                ctx.lang, ctx.t, thread_id=ctx.thread_id)
    else:
        await news.send_list(ctx.bot, ctx.chat_id, ctx.session, ctx.services, ctx.lang, ctx.t,
                             thread_id=ctx.thread_id)


async def subscribe(ctx: ActionContext) -> None:
    """The subscription menu: its current settings, or a Subscribe button. Never subscribes
    by itself: "how do I unsubscribe?" and "stop sending me news" land here too."""
    from handlers import subscriptions

    await subscriptions.send_menu(ctx.bot, ctx.chat_id, ctx.user_id, ctx.session,
                                  ctx.services, ctx.lang, ctx.t, thread_id=ctx.thread_id)


DEFAULT_ACTIONS: dict[str, Action] = {
    "show_news": show_news,
    "subscribe": subscribe,
}
