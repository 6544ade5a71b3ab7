"""aiogram routers, one feature each, assembled in the order they must be tried.

Each module builds its router in ``create_router()``: a router can belong to one dispatcher
only, and tests build many dispatchers in one process.
"""

from __future__ import annotations

from aiogram import Router

from bot.config import Config


def get_routers(config: Config) -> list[Router]:
    from handlers import browse, errors, feedback, language, media, questions, stale, start

    # Free text and the catch-alls come last: they take whatever the others did not.
    modules = (errors, start, language, browse, feedback, questions, media, stale)
    return [m.create_router() for m in modules]
