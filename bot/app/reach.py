"""Can the bot talk to Telegram? One getMe without retries, before anything else starts, so
that a wrong token or no network is one line naming the API URL instead of a minute of
retries and tracebacks (the running bot keeps its retries for transient failures)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from bot.config import Config, TokenError, check_token
from bot.telegram.session import JsonSession

DEFAULT_API = "https://api.telegram.org"


class TelegramUnreachable(Exception):
    """No answer from the Bot API (network, DNS, proxy, a self-hosted server down)."""


def api_url(config: Config) -> str:
    """The Bot API base URL the bot uses (without the token)."""
    return (config.telegram.api_server or DEFAULT_API).rstrip("/")


def config_token(config: Config) -> str:
    """BOT_TOKEN, checked for BotFather's shape (:class:`TokenError` otherwise)."""
    return check_token(config.token.get_secret_value() if config.token else None)


def plain_bot(config: Config, token: str, *, timeout: float = 15.0) -> Bot:
    """A Bot without the retry middleware: one attempt per call, for checks."""
    server = config.telegram.api_server
    api = TelegramAPIServer.from_base(server) if server else None
    session = JsonSession(api=api, timeout=timeout) if api else JsonSession(timeout=timeout)
    return Bot(token, session=session)


def network_reason(exc: TelegramNetworkError) -> str:
    text = exc.message.removeprefix("HTTP Client says - ")
    return text.splitlines()[0][:200] if text else "no answer"


async def get_me(bot: Bot, config: Config) -> User:
    """getMe, with failures as :class:`TokenError` (rejected token) or
    :class:`TelegramUnreachable`, each one line saying what to do."""
    try:
        return await bot.get_me()
    except (TelegramUnauthorizedError, TelegramNotFound) as exc:
        # 401 for a revoked token, 404 for one that never existed.
        raise TokenError(f"Telegram rejected BOT_TOKEN ({exc.message}): copy the token from "
                         "@BotFather again (/mybots > API Token)") from exc
    except TelegramNetworkError as exc:
        raise TelegramUnreachable(
            f"cannot reach the Telegram Bot API at {api_url(config)}: {network_reason(exc)}; "
            "check the network, DNS and proxy, or telegram.api_server") from exc
    except TelegramAPIError as exc:
        raise TelegramUnreachable(f"the Telegram Bot API at {api_url(config)} answered "
                                  f"getMe with an error: {exc.message}") from exc


async def reach_telegram(config: Config) -> User:
    """Check BOT_TOKEN's shape, then getMe once: the bot's account, or a one-line error."""
    bot = plain_bot(config, config_token(config))
    try:
        return await get_me(bot, config)
    finally:
        await bot.session.close()
