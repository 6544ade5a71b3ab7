"""Composition root: the one place that assembles the bot (routers, middlewares, services)
and its running modes (polling/webhook, console, command line, KB reload)."""

from bot.telegram.lazy_models import defer_aiogram_models

# Before anything imports aiogram: its ~400 types are built as they are first used instead
# of all at import (155 MB and ~4 s of the bot's start; see bot/telegram/lazy_models.py).
defer_aiogram_models()
