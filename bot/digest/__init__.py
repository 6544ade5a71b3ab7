"""News digests: planning, a crash-safe persisted delivery queue, paced sending, schedules.

Modules: :mod:`~bot.digest.plan` (pure: who gets which items, rendering),
:mod:`~bot.digest.pace` (pure: rate limits), :mod:`~bot.digest.queue` (database),
:mod:`~bot.digest.client` (the Bot API over aiohttp: no aiogram in a digest process),
:mod:`~bot.digest.sender` (sending, Telegram's answers), :mod:`~bot.digest.schedule` (cron slots),
:mod:`~bot.digest.service` (the running engine), :mod:`~bot.digest.cli` (commands),
:mod:`~tests.support.digest` (helpers for tests and benchmarks).

Wiring into the bot (the scheduler, instant digests after KB reloads, feed polling)::

    service = await start_digests(app, bot)   # once the app and its Bot exist
    ...
    await service.stop()                      # at shutdown, before the database closes

and into the command line: ``bot.digest.cli.add_parser`` / ``run_command``
(``python -m bot digest send [--now]``, ``python -m bot digest status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DigestService", "Summary", "on_news_added", "run_due", "start_digests", "status"]

if TYPE_CHECKING:
    from bot.digest.sender import Summary
    from bot.digest.service import DigestService, on_news_added, run_due, start_digests, status


def __getattr__(name: str) -> Any:
    # Lazy: importing bot.digest.plan (e.g. from handlers) must not pull in APScheduler.
    if name == "Summary":
        from bot.digest.sender import Summary

        return Summary
    if name in ("DigestService", "on_news_added", "run_due", "start_digests", "status"):
        from bot.digest import service

        return getattr(service, name)
    raise AttributeError(name)
