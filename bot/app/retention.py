"""The daily purge of old questions in the running bot (``privacy.keep_questions_days``).

An APScheduler job, like the digests: every day at 03:30 in ``digest.timezone`` (a quiet
hour), and once shortly after start-up, so a bot restarted every night still purges. Every
instance of a scaled-out bot runs it: bot.db.privacy.purge_questions folds each row exactly
once however many run at the same moment, and a second run finds nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.db.privacy import purge_questions

log = logging.getLogger(__name__)
PURGE_AT = (3, 30)  # hour, minute in digest.timezone
FIRST_RUN_AFTER = 60.0  # seconds after start-up: the bot is serving by then


class DailyPurge:
    def __init__(self, config: Config, sessions: async_sessionmaker[AsyncSession], *,
                 first_run_after: float = FIRST_RUN_AFTER) -> None:
        self.keep_days = config.privacy.keep_questions_days
        self.timezone = config.digest.timezone
        self.sessions = sessions
        self.first_run_after = first_run_after
        self.scheduler: Any = None
        self.purged = 0  # rows this process deleted so far
        self._running: asyncio.Task | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.keep_days)

    def start(self) -> None:
        """Schedule the purge (nothing when questions are kept forever)."""
        if not self.enabled:
            return
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger

        tz = ZoneInfo(self.timezone)
        self.scheduler = AsyncIOScheduler(timezone=tz, event_loop=asyncio.get_running_loop())
        hour, minute = PURGE_AT
        self.scheduler.add_job(
            self._job, CronTrigger(hour=hour, minute=minute, timezone=tz), id="purge-questions",
            next_run_time=datetime.now(tz) + timedelta(seconds=self.first_run_after),
            max_instances=1, coalesce=True, misfire_grace_time=3600, replace_existing=True)
        self.scheduler.start()

    async def run(self) -> int:
        """Purge now; returns how many questions this run deleted."""
        n = await purge_questions(self.sessions, self.keep_days)
        self.purged += n
        if n:
            log.info("purged %d question(s) older than %d days (kept as daily counts)",
                     n, self.keep_days)
        return n

    async def _job(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.run()
        except Exception:  # the next day tries again
            log.exception("purging old questions failed")
        finally:
            self._running = None

    async def stop(self) -> None:
        """Stop scheduling; a purge under way is cancelled (its batch rolls back)."""
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
        task = self._running
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
