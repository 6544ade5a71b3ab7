"""News digests: planning, a crash-safe persisted delivery queue, paced sending, schedules.

Modules, from the bottom up: :mod:`~bot.digest.plan` (pure: who gets which items,
rendering), :mod:`~bot.digest.pace` (pure: rate limits), :mod:`~bot.digest.schedule` (cron
slots, the scheduler's jobs), :mod:`~bot.digest.client` (the Bot API over aiohttp: no aiogram
in a digest process); the persisted queue (:mod:`~bot.digest.queue` gathers it):
:mod:`~bot.digest.runs`, :mod:`~bot.digest.planner`, :mod:`~bot.digest.claims`,
:mod:`~bot.digest.writer`, :mod:`~bot.digest.payloads`, its SQL in ``bot.db.digest_runs``,
``bot.db.deliveries``, ``bot.db.digest_payloads``; sending: :mod:`~bot.digest.summary`,
:mod:`~bot.digest.options`, :mod:`~bot.digest.sender` (Telegram's answers); staff broadcasts:
:mod:`~bot.digest.broadcast` (:mod:`~bot.digest.broadcast_drafts`,
:mod:`~bot.digest.broadcast_send`); :mod:`~bot.digest.engine` (the running engine,
DigestService), :mod:`~bot.digest.service` (its entry points), :mod:`~bot.digest.cli`
(commands). Helpers for tests and benchmarks: ``tests.support.digest``.

Wiring into the bot (the scheduler, instant digests after KB reloads, feed polling)::

    service = await start_digests(config, sessionmaker, bot, translator)
    dispatcher["digests"] = service                 # handlers (staff /broadcast) use it
    services.on_reload.append(service.on_reload)    # instant digests after KB reloads
    ...
    await service.stop()                            # at shutdown, before the database closes

and into the command line: ``bot.digest.cli.add_parser`` / ``run_command``
(``python -m bot digest send [--now]``, ``python -m bot digest status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DigestService", "Summary", "on_news_added", "run_due", "start_digests", "status"]

if TYPE_CHECKING:
    from bot.digest.service import DigestService, on_news_added, run_due, start_digests, status
    from bot.digest.summary import Summary


def __getattr__(name: str) -> Any:
    # Lazy: importing bot.digest.plan (e.g. from handlers) must not pull in APScheduler.
    if name == "Summary":
        from bot.digest.summary import Summary

        return Summary
    if name in ("DigestService", "on_news_added", "run_due", "start_digests", "status"):
        from bot.digest import service

        return getattr(service, name)
    raise AttributeError(name)
