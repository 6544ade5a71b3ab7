"""What a user sees of the bot before and around the chat: the command menu, the description
(shown in an empty chat, before Start) and the short description (profile page, shared links),
in English and Russian from the locale files; users of other languages see the texts of
``bot.default_language``, the language the bot answers them in."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.i18n import LANGUAGES, Translator

log = logging.getLogger(__name__)
MAX_DESCRIPTION = 512  # Bot API limits
MAX_SHORT_DESCRIPTION = 120


def texts(translator: Translator, lang: str,
          commands: Sequence[str]) -> tuple[list[BotCommand], str, str]:
    """The command menu, description and short description in ``lang``."""
    menu = [BotCommand(command=c, description=translator.get(lang, f"cmd-{c}"))
            for c in commands]
    return (menu, translator.get(lang, "bot-description")[:MAX_DESCRIPTION],
            translator.get(lang, "bot-short-description")[:MAX_SHORT_DESCRIPTION])


async def set_profile(bot: Bot, translator: Translator, commands: Sequence[str],
                      default: str = "en") -> bool:
    """Set the command menu and both descriptions for every language (``default``'s as
    Telegram's default). A failure is one warning, not a failed start-up: the bot works
    without them (False returned)."""
    try:
        for lang in sorted(LANGUAGES, key=lambda code: code != default):
            code = None if lang == default else lang
            menu, description, short = texts(translator, lang, commands)
            await bot.set_my_commands(menu, scope=BotCommandScopeDefault(), language_code=code)
            await bot.set_my_description(description=description, language_code=code)
            await bot.set_my_short_description(short_description=short, language_code=code)
    except TelegramAPIError as exc:
        log.warning("could not set the bot's command menu and description (%s); "
                    "the bot runs without them until the next start", exc)
        return False
    return True
