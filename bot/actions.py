"""Action entries (news.latest, bot.subscribe): the engine names the action, features
register what it does. Until a feature registers, the entry's own answer is shown with an
honest note."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot

from bot.i18n import Translate
from bot.knowledge import Entry


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


Action = Callable[[ActionContext], Awaitable[None]]


async def _news_placeholder(ctx: ActionContext) -> None:
    await ctx.bot.send_message(ctx.chat_id, ctx.t("news-none"))


async def _subscribe_placeholder(ctx: ActionContext) -> None:
    await ctx.bot.send_message(ctx.chat_id, ctx.t("subscribe-unavailable"))


DEFAULT_ACTIONS: dict[str, Action] = {
    "show_news": _news_placeholder,
    "subscribe": _subscribe_placeholder,
}
