"""Buttons nobody else understood: old layouts, a reloaded KB, forged data."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.i18n import Translate

log = logging.getLogger(__name__)


async def stale(query: CallbackQuery, t: Translate) -> None:
    log.info("unknown callback data %r from %s", (query.data or "")[:64], query.from_user.id)
    await query.answer(t("stale-menu"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(stale)
    return router
