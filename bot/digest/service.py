"""The digest engine as the running bot and the CLI use it.

Entry points (see the package's __init__ for the wiring): :func:`start_digests` (the bot),
:func:`run_due` (``digest send``), :func:`status` (``digest status``), :func:`on_news_added`;
the engine itself, :class:`DigestService`, is in :mod:`bot.digest.engine`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import Config
from bot.db.models import utcnow
from bot.digest import queue, schedule
from bot.digest.client import BotApiClient
from bot.digest.engine import (
    CATCH_UP,
    KINDS,
    RESUMABLE,
    RESUME_EVERY,
    DigestService,
    due_runs,
)
from bot.digest.pace import Pacer
from bot.digest.summary import Progress, Summary
from bot.i18n import Translator

__all__ = ["CATCH_UP", "KINDS", "RESUMABLE", "RESUME_EVERY", "DigestService", "due_runs",
           "on_news_added", "run_due", "start_digests", "status"]


async def start_digests(config: Config, sessions: queue.Sessions, bot: Any,
                        translator: Translator, *, scheduler: bool = True,
                        pacer: Pacer | None = None) -> DigestService:
    """Start the digest engine inside the running bot (resume unfinished runs, send a
    recently missed slot, start the scheduler); call ``await service.stop()`` at shutdown,
    before the database closes. ``bot`` is the bot's own aiogram Bot: digests go through a
    client of their own with its token and API server, without the RetryMiddleware (see
    bot.digest.sender). Wiring it into the bot is the caller's: handlers (staff
    /broadcast) expect it as ``digests``, and :meth:`DigestService.on_reload` wants to hear
    of knowledge-base reloads. ``pacer``: the limiter the bot's replies go through, so that
    replies and digests share the token's rate and replies go first."""
    service = DigestService(config, sessions, BotApiClient.like(bot), translator=translator,
                            own_client=True, pacer=pacer)
    await service.start(scheduler=scheduler)
    return service


async def run_due(config: Config, sessions: queue.Sessions, client: BotApiClient, *,
                  now: datetime | None = None, force: bool = False,
                  progress: Progress | None = None, translator: Translator | None = None,
                  worker_id: str | None = None) -> Summary:
    """Run what is due once (``digest send``): finish unfinished runs, then the latest
    daily/weekly slot that has not run, then instant news, then any run another instance
    planned meanwhile. ``force`` (``--now``) runs every
    kind now (slot "now:<time>"). The caller closes ``client``
    (bot.digest.options.create_digest_client)."""
    now = now or utcnow()
    service = DigestService(config, sessions, client, translator=translator,
                            worker_id=worker_id)
    total = Summary()

    async def help_unfinished() -> None:
        for run in await queue.unfinished_runs(sessions):
            if run.kind in RESUMABLE and run.id not in total.runs:
                total.merge(await service.resume(run, progress))

    try:
        await help_unfinished()
        if force:
            slot = schedule.forced_slot(now, config.digest.timezone)
            for kind in ("daily", "weekly", "instant"):
                total.merge(await service.run(kind, slot, progress=progress, now=now))
        else:
            for due in await due_runs(config, sessions, now):
                total.merge(await service.run(due.kind, due.slot, progress=progress, now=now))
            upto = await queue.news_snapshot(sessions)
            if upto and await service._instant_waiting(upto):
                total.merge(await service.run("instant", schedule.instant_slot(upto),
                                              progress=progress, now=now))
        # A run another instance planned after the first look (both started together: it
        # was not unfinished yet, then no longer due) gets this instance's share too.
        await help_unfinished()
    finally:
        await service.stop()
    return total


async def status(sessions: queue.Sessions, limit: int = 10) -> list[queue.RunStatus]:
    """The last runs, newest first, with deliveries counted by status."""
    return await queue.status(sessions, limit)


async def on_news_added(service: DigestService | None, ids: list[int] | None = None) -> None:
    """Tell the running engine that news items were added (no-op without one)."""
    if service is not None:
        service.news_added(ids)
