"""aiogram routers, one feature each, assembled in the order they must be tried.

Each module builds its router in ``create_router()``: a router can belong to one dispatcher
only, and tests build many dispatchers in one process. The composition root (bot.app) is the
only caller of :func:`get_routers` and :func:`get_actions`.
"""

from __future__ import annotations

from aiogram import Router

from bot.config import Config
from bot.ui.actions import Action


def get_routers(config: Config) -> list[Router]:
    from handlers import (
        broadcast,
        browse,
        errors,
        feedback,
        handoff,
        ids,
        kb_sheet,
        language,
        media,
        news,
        privacy,
        questions,
        staff,
        stale,
        start,
        subscriptions,
        teach,
        unknown,
    )

    # /id first: it answers anyone, in any chat (the IT person learns the ids with it).
    # Staff commands first (invisible to others; kb_sheet's workbook upload comes before the
    # hand-off, which takes every staff message in the staff chat), the news, subscription
    # and privacy commands before the hand-off (they work during a conversation too), the
    # hand-off before free text (an open conversation takes the student's messages), unknown
    # commands before questions, and the catch-alls last: they take whatever the others did not.
    modules = (errors, ids, staff, teach, kb_sheet, broadcast, start, language, browse, feedback,
               news, subscriptions, privacy, handoff, unknown, questions, media, stale)
    return [m.create_router() for m in modules]


def get_actions() -> dict[str, Action]:
    """What action entries do (``action:`` in the KB): the features that own them say."""
    from handlers import news, subscriptions

    return {"show_news": news.show_news, "subscribe": subscriptions.subscribe_action}
