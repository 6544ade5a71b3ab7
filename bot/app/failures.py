"""What the command line prints when a command fails: one or two lines naming the key, file
or URL and saying what to do, and the exit code (2: usage or configuration, 1: run time).
The traceback is for ``--debug`` or ``LOG_LEVEL=DEBUG`` only (bot/app/cli.py decides)."""

from __future__ import annotations

import errno
from dataclasses import dataclass

USAGE = 2  # the command line or the configuration must change
RUNTIME = 1  # something outside failed (network, database, files) or a check failed


@dataclass(frozen=True)
class Failure:
    message: str
    code: int


def explain(exc: BaseException) -> Failure | None:
    """The message and exit code for a known kind of failure, None for an unexpected one."""
    from bot.app.reach import TelegramUnreachable
    from bot.app.runner import RedisUnavailable, RunError
    from bot.config import ConfigError, TokenError
    from bot.db.probe import DatabaseUnavailable
    from bot.digest.schedule import ScheduleError
    from bot.knowledge import KBError

    if isinstance(exc, ConfigError | TokenError | RunError):
        return Failure(str(exc), USAGE)
    if isinstance(exc, ScheduleError):
        return Failure(f"digest: {exc}; fix digest.daily / digest.weekly", USAGE)
    if isinstance(exc, KBError | DatabaseUnavailable | TelegramUnreachable | RedisUnavailable):
        return Failure(str(exc), RUNTIME)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return Failure(f"cannot listen: {exc.strerror or exc}; another process uses the port "
                       "(telegram.webhook.port or monitoring.port): stop it or change the port",
                       RUNTIME)
    network = _network(exc)
    if network is not None:
        return Failure(network, RUNTIME)
    if isinstance(exc, OSError) and exc.filename is not None:
        return Failure(f"{exc.filename}: {exc.strerror or exc}", RUNTIME)
    return None


def _network(exc: BaseException) -> str | None:
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
    from aiohttp import ClientError

    if isinstance(exc, TelegramNetworkError):
        from bot.app.reach import network_reason

        return (f"lost the connection to the Telegram Bot API: {network_reason(exc)}; "
                "check the network")
    if isinstance(exc, TelegramAPIError):
        return f"the Telegram Bot API refused {exc.method.__api_method__}: {exc.message}"
    if isinstance(exc, ClientError):
        return f"network error: {type(exc).__name__}: {exc}"
    return None


def unexpected(exc: BaseException) -> Failure:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return Failure(f"unexpected {type(exc).__name__}{': ' + text if text else ''} "
                   "(run again with --debug for the traceback)", RUNTIME)
