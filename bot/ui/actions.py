"""Action entries (news.latest, bot.subscribe): the engine names the action, features
register what it does (handlers.get_actions, wired by the composition root). The entry's own
answer is shown first, then the action runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translate
from bot.knowledge import Entry
from bot.knowledge.models import NewsItem

if TYPE_CHECKING:
    from bot.services import Services


@dataclass
class ActionContext:
    bot: Bot
    chat_id: int
    user_id: int
    lang: str
    t: Translate
    entry: Entry
    services: Services
    session: AsyncSession
    news: NewsItem | None = None  # show_news: this item (the question was about it)
    thread_id: int | None = None  # the forum topic the question came from


Action = Callable[[ActionContext], Awaitable[None]]
