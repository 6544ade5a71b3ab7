"""``python -m bot link ENTRY``: the deep link (t.me/<bot>?start=<payload>) that opens one
answer, for the university's web pages, posters and e-mails."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import re
import sys
from pathlib import Path

from bot.config import Config, TokenError, check_token
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.knowledge.deeplinks import MAX_PAYLOAD, entry_for, link, payload_of

USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
GETME_TIMEOUT = 10  # seconds


class LinkError(Exception):
    """One line for the user; ``code`` is the exit status (2: usage or configuration)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``link`` subcommand, registered with bot.app.cli's dispatcher."""
    from bot.app.cli import COMMANDS

    p = sub.add_parser("link", help="print the t.me link that opens one answer",
                       description="Print the deep link t.me/<bot>?start=<payload> that opens "
                       "an entry's answer: the payload is the id with '.' as '-', or an alias.")
    p.add_argument("entry", help="entry id (tuition.fees) or one of its aliases")
    p.add_argument("--username", metavar="NAME",
                   help="the bot's username; without it, asked from Telegram (getMe, BOT_TOKEN)")
    p.add_argument("--knowledge", help="knowledge-base directory (default: knowledge.path)")
    COMMANDS["link"] = cmd_link


def cmd_link(args: argparse.Namespace, config: Config) -> int:
    try:
        kb, _ = load_knowledge(Path(args.knowledge or config.knowledge.path))
        payload = payload_for(kb, args.entry)
        username = args.username or asyncio.run(bot_username(config))
        m = USERNAME.fullmatch(username)
        if not m:
            raise LinkError(f"{username!r} is not a Telegram bot username")
    except LinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    print(link(m.group(1), payload))
    return 0


def payload_for(kb: KnowledgeBase, name: str) -> str:
    """The payload for an entry id, or the alias (or payload) itself when it names one."""
    entry = kb.entries.get(name)
    if entry is not None:
        payload = payload_of(entry.id)
        if len(payload) > MAX_PAYLOAD:
            raise LinkError(f"{entry.id} is longer than a deep link allows ({MAX_PAYLOAD} "
                            f"characters): add a short alias in {entry.file}:{entry.line}")
        return payload
    entry = entry_for(kb, name)
    if entry is None:
        close = difflib.get_close_matches(name, list(kb.entries), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise LinkError(f"no entry or alias {name!r} in the knowledge base{hint}")
    return next((a for a in entry.aliases if a.lower() == name.lower()), payload_of(entry.id))


async def bot_username(config: Config) -> str:
    """The bot's username from getMe (telegram.api_server when set)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

    hint = "or pass --username NAME"
    try:
        token = check_token(config.token.get_secret_value() if config.token else None)
    except TokenError as exc:
        raise LinkError(f"{exc}, {hint}") from None
    server = config.telegram.api_server
    session = AiohttpSession(api=TelegramAPIServer.from_base(server)) if server \
        else AiohttpSession()
    bot = Bot(token, session=session)
    try:
        me = await bot.get_me(request_timeout=GETME_TIMEOUT)
    except TelegramUnauthorizedError:
        raise LinkError(f"Telegram rejected BOT_TOKEN (Unauthorized): check it, {hint}") \
            from None
    except TelegramAPIError as exc:
        raise LinkError(f"could not ask Telegram for the bot's username (getMe: {exc}); "
                        f"check the network, {hint}", code=1) from None
    finally:
        await session.close()
    if not me.username:
        raise LinkError(f"getMe returned no username, {hint}", code=1)
    return me.username
