"""What a user sees of the bot before and around the chat: the command menu, the description
(shown in an empty chat, before Start) and the short description (profile page, shared links),
in English (the default for every other language) and Russian, from the locale files."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.i18n import LANGUAGES, Translator

log = logging.getLogger(__name__)
DEFAULT_LANGUAGE = "en"  # shown to users of every language without texts of its own
MAX_DESCRIPTION = 512  # Bot API limits
MAX_SHORT_DESCRIPTION = 120


def texts(translator: Translator, lang: str,
          commands: Sequence[str]) -> tuple[list[BotCommand], str, str]:
    """The command menu, description and short description in ``lang``."""
    menu = [BotCommand(command=c, description=translator.get(lang, f"cmd-{c}"))
            for c in commands]
    return (menu, translator.get(lang, "bot-description")[:MAX_DESCRIPTION],
            translator.get(lang, "bot-short-description")[:MAX_SHORT_DESCRIPTION])


async def set_profile(bot: Bot, translator: Translator, commands: Sequence[str]) -> bool:
    """Set the command menu and both descriptions for every language. A failure is one
    warning, not a failed start-up: the bot works without them (False returned)."""
    try:
        for lang in LANGUAGES:
            code = None if lang == DEFAULT_LANGUAGE else lang
            menu, description, short = texts(translator, lang, commands)
            await bot.set_my_commands(menu, scope=BotCommandScopeDefault(), language_code=code)
            await bot.set_my_description(description=description, language_code=code)
            await bot.set_my_short_description(short_description=short, language_code=code)
    except TelegramAPIError as exc:
        log.warning("could not set the bot's command menu and description (%s); "
                    "the bot runs without them until the next start", exc)
        return False
    return True
