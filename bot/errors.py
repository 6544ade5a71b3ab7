"""Exceptions shared by the bot and the command line, in a module that imports nothing heavy
(``bot.app`` re-exports them; the digest CLI must not load aiogram to report them)."""

from __future__ import annotations

import re

#: What BotFather gives: the bot's id, a colon, then letters, digits, ``_`` and ``-`` (the
#: token goes into request URLs, so nothing else is let through).
TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


class TokenError(Exception):
    """BOT_TOKEN is missing or malformed: reported as a one-line error, not a traceback."""


def check_token(token: str | None) -> str:
    """The token if it has BotFather's shape, else :class:`TokenError`."""
    if not token:
        raise TokenError("BOT_TOKEN is not set: export the token BotFather gave you")
    if not TOKEN_SHAPE.fullmatch(token):
        raise TokenError("BOT_TOKEN is malformed: expected <digits>:<letters>, as given by "
                         "BotFather")
    return token
