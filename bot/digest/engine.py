"""The digest engine of a process: :class:`DigestService`.

:class:`DigestService` owns one pacer and one group-commit writer for the process, plans and
sends runs, and (in the bot) runs the APScheduler jobs: daily and weekly cron triggers in
``digest.timezone``, an instant check every ``instant_check_seconds``, and a feed poll
every ``news.poll_minutes`` when feeds are configured.

Runs of one kind are processed one at a time (an instant run never overtakes the previous
one); runs of different kinds run side by side through the shared pacer, so a daily digest
to 100,000 people (over an hour at 25/s) does not hold instant news back, and together they
stay within the limits.

How the bot and the CLI start and use it: :mod:`bot.digest.service`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from bot.config import Config
from bot.db import subscriptions
from bot.db.models import utcnow
from bot.digest import broadcast_send, queue, schedule
from bot.digest.client import BotApiClient
from bot.digest.options import SendOptions, make_pacer
from bot.digest.pace import Pacer
from bot.digest.sender import RunSender
from bot.digest.summary import Progress, Summary
from bot.i18n import Translator

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

#: A scheduled slot missed while the bot was down is still sent at start-up if it is at
#: most this old (a daily digest at 15:00 instead of 10:00 beats none; a weekly one on
#: Thursday would rather wait for Monday).
CATCH_UP: Final = timedelta(hours=6)
#: How often the running bot looks for unfinished runs to take over (seconds).
RESUME_EVERY: Final = 60.0
KINDS: Final = ("instant", "daily", "weekly")
#: Kinds of unfinished runs a restarted engine resumes: digests, and staff broadcasts
#: (planned by bot.digest.broadcast_send, sent by :meth:`DigestService.send_planned`).
RESUMABLE: Final = (*KINDS, "broadcast")


class DigestService:
    """``client`` sends the messages (see bot.digest.client); with ``own_client`` the
    service closes it in :meth:`stop`."""

    def __init__(self, config: Config, sessions: queue.Sessions, client: BotApiClient, *,
                 translator: Translator | None = None, worker_id: str | None = None,
                 pacer: Pacer | None = None, options: SendOptions | None = None,
                 own_client: bool = False) -> None:
        self.config = config
        self.sessions = sessions
        self.client = client
        self.own_client = own_client
        self.translator = translator or Translator()
        self.worker_id = worker_id or queue.make_worker_id()
        self.pacer = pacer or make_pacer(config.digest)
        self.options = options or SendOptions.from_config(config.digest)
        self.writer = queue.DeliveryWriter(sessions, self.worker_id,
                                           self.options.lease_seconds)
        self.payloads = queue.PayloadCache(sessions)
        self.scheduler: AsyncIOScheduler | None = None
        self.summary = Summary()  # everything this service did so far
        self._locks = {kind: asyncio.Lock() for kind in KINDS}
        self._senders: set[RunSender] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._instant_busy = False
        self._instant_again = False
        self._stopping = False
        self._active_runs: set[int] = set()
        self._running: set[asyncio.Task[Any]] = set()  # tasks inside run()
        self._last_resume = 0.0

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, scheduler: bool = True, catch_up: bool = True) -> None:
        """Resume unfinished runs, send a recently missed slot, start the scheduler."""
        self._last_resume = asyncio.get_running_loop().time()
        await self.resume_unfinished()
        if catch_up:
            for due in await due_runs(self.config, self.sessions, utcnow(), max_age=CATCH_UP):
                self.spawn(self.run(due.kind, due.slot), f"digest-{due.kind}")
        if scheduler:
            self.scheduler = self._build_scheduler()
            self.scheduler.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling, let messages on their way finish (up to ``timeout``), give the
        rest back to the queue; a later start resumes them."""
        self._stopping = True
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for sender in list(self._senders):
            sender.request_stop()
        # Spawned tasks, and runs awaited by callers (CLI, tests): messages on their way
        # finish before the writer and the client's session close.
        busy = (set(self._tasks) | self._running) - {asyncio.current_task()}
        if busy:
            _, pending = await asyncio.wait(busy, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.writer.close()
        if self.own_client:
            await self.client.close()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` began: nothing new should be started on this service."""
        return self._stopping

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task:
        task = asyncio.create_task(self._guard(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _guard(coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("digest task failed")
            return None

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until no spawned task is running (tests)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- runs --------------------------------------------------------------------------------

    async def run(self, kind: str, slot: str, *, progress: Progress | None = None,
                  now: datetime | None = None) -> Summary:
        """Plan (or resume) the run of (kind, slot) and send this worker's share of it."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            async with self._locks[kind]:
                if self._stopping:
                    return Summary()
                result = await queue.plan_run_detailed(self.sessions, kind, slot, now,
                                                       translator=self.translator)
                summary = await self._send(result.run_id, progress)
                summary.planned += result.deliveries
                if result.deliveries or summary.done:
                    log.info("digest %s %s: planned %d; %s", kind, slot, result.deliveries,
                             summary.line())
                return summary
        finally:
            if task is not None:
                self._running.discard(task)

    async def resume(self, run: queue.RunInfo, progress: Progress | None = None) -> Summary:
        """Finish an unfinished run (its planning too)."""
        if run.kind == "broadcast":
            return await broadcast_send.deliver(self, run.id, progress=progress)
        return await self.run(run.kind, run.slot, progress=progress)

    async def send_planned(self, run_id: int, *,
                           prepare: Callable[[], Awaitable[Any]] | None = None,
                           progress: Progress | None = None) -> Summary:
        """Send a run planned outside :meth:`run` (a staff broadcast, see
        bot.digest.broadcast_send) now, through this service's pacer and writer, side by side
        with the digests. ``prepare`` (finishing the run's planning) runs first, while the
        run already counts as active here, so :meth:`resume_unfinished` does not start it a
        second time meanwhile. An empty Summary when stopping or already sending it here."""
        if self._stopping or run_id in self._active_runs:
            return Summary()
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        self._active_runs.add(run_id)
        try:
            if prepare is not None:
                await prepare()
            if self._stopping:
                return Summary()
            return await self._send(run_id, progress)
        finally:
            self._active_runs.discard(run_id)
            if task is not None:
                self._running.discard(task)

    async def _send(self, run_id: int, progress: Progress | None) -> Summary:
        sender = RunSender(self.sessions, self.client, run_id, pacer=self.pacer,
                           writer=self.writer, options=self.options,
                           worker_id=self.worker_id, payloads=self.payloads,
                           progress=progress)
        self._senders.add(sender)
        self._active_runs.add(run_id)
        try:
            summary = await sender.run()
        finally:
            self._senders.discard(sender)
            self._active_runs.discard(run_id)
        self.summary.merge(summary)
        return summary

    async def run_scheduled(self, kind: str, now: datetime | None = None) -> Summary | None:
        """The job of a daily/weekly trigger: the slot is the fire time just passed."""
        now = now or utcnow()
        fire = schedule.last_fire(schedule.triggers(self.config.digest)[kind], now)
        if fire is None:
            return None
        return await self.run(kind, schedule.slot_of(fire), now=now)

    async def check_instant(self) -> Summary | None:
        """Send new items to instant subscribers, if any has something new."""
        if self._instant_busy:  # a check is running: it will look again when done
            self._instant_again = True
            return None
        self._instant_busy = True
        total: Summary | None = None
        try:
            while True:
                self._instant_again = False
                upto = await queue.news_snapshot(self.sessions)
                if upto and await self._instant_waiting(upto):
                    summary = await self.run("instant", schedule.instant_slot(upto))
                    total = summary if total is None else total.merge(summary)
                if not self._instant_again or self._stopping:
                    return total
        finally:
            self._instant_busy = False

    async def _instant_waiting(self, upto: int) -> bool:
        run = await queue.get_run(self.sessions, "instant", schedule.instant_slot(upto))
        if run is not None and run.status == "done":
            return False  # that slot ran; newcomers with older cursors wait for the next item
        async with self.sessions() as s:
            return await subscriptions.instant_waiting(s, upto)

    def news_added(self, ids: list[int] | None = None) -> asyncio.Task | None:
        """New news items are in the database (KB reload, feed poll): instant run now."""
        if self._stopping:
            return None
        return self.spawn(self.check_instant(), "digest-instant")

    async def on_reload(self, result: Any) -> None:
        """Hook for ``Services.on_reload`` (bot.app.reload.ReloadResult)."""
        if getattr(result, "new_news_ids", None):
            self.news_added(list(result.new_news_ids))

    async def poll_feeds(self) -> list[int]:
        """Poll the configured feeds; new items trigger an instant run."""
        from bot.news import feeds

        urls = self.config.news.feeds
        if not urls:
            return []
        result = await feeds.poll(urls, self.sessions)
        if result.new_ids:
            self.news_added(result.new_ids)
        return result.new_ids

    # --- scheduler ---------------------------------------------------------------------------

    def _build_scheduler(self) -> AsyncIOScheduler:
        news = self.config.news
        return schedule.build_scheduler(
            self.config.digest, scheduled=self._job_scheduled, instant=self._job_instant,
            feeds=self._job_feeds if news.feeds else None, feed_minutes=news.poll_minutes)

    # Jobs return at once and leave the work to tasks: a daily run may take an hour, and a
    # job still "running" would make APScheduler skip (and warn about) the next checks.

    async def _job_scheduled(self, kind: str) -> None:
        self.spawn(self.run_scheduled(kind), f"digest-{kind}")

    async def _job_instant(self) -> None:
        if not self._instant_busy:
            self.spawn(self.check_instant(), "digest-instant")
        else:
            self._instant_again = True
        now = asyncio.get_running_loop().time()
        if now - self._last_resume >= RESUME_EVERY:
            self._last_resume = now
            self.spawn(self.resume_unfinished(), "digest-resume")

    async def resume_unfinished(self) -> None:
        """Pick up runs nobody here works on: left by a dead instance (their rows come
        free when the leases expire), or stopped half-way."""
        for run in await queue.unfinished_runs(self.sessions):
            if run.kind in RESUMABLE and run.id not in self._active_runs and not self._stopping:
                self.spawn(self.resume(run), f"digest-resume-{run.id}")

    async def _job_feeds(self) -> None:
        self.spawn(self.poll_feeds(), "news-feeds")


async def due_runs(config: Config, sessions: queue.Sessions, now: datetime, *,
                   max_age: timedelta | None = None) -> list[schedule.Due]:
    """Daily/weekly slots at or before ``now`` that have no run yet."""
    found = []
    for due in schedule.due_slots(config.digest, now, max_age):
        if await queue.get_run(sessions, due.kind, due.slot) is None:
            found.append(due)
    return found
