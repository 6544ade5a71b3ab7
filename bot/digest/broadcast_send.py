"""Sending a confirmed staff broadcast: planning its deliveries, handing them to the digest
engine, and reporting to the staff member (see :mod:`bot.digest.broadcast` for the whole
life of a broadcast). The statements are in :mod:`bot.db`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy.exc import IntegrityError

from bot.db import broadcasts, deliveries, digest_payloads, digest_runs, subscriptions
from bot.digest import queue
from bot.digest.broadcast_drafts import Filters, dump_note, parse_note
from bot.digest.client import ApiError, BotApiClient, RetryAfter
from bot.digest.pace import Pacer
from bot.digest.summary import Progress, Summary
from bot.i18n import Translator

log = logging.getLogger(__name__)

#: Progress edits of the status message: at most this often (seconds), besides 25/50/75 %.
PROGRESS_EVERY: Final = 5.0
#: How often the reporter looks at the run's counts (seconds).
POLL_EVERY: Final = 1.0


class Engine(Protocol):
    """What a broadcast needs of the digest engine (bot.digest.service.DigestService)."""

    sessions: queue.Sessions
    client: BotApiClient
    pacer: Pacer
    translator: Translator

    async def send_planned(self, run_id: int, *,
                           prepare: Callable[[], Awaitable[Any]] | None = None,
                           progress: Progress | None = None) -> Summary: ...


# --- planning --------------------------------------------------------------------------------


async def plan(sessions: queue.Sessions, run_id: int, filters: Filters, *,
               batch_size: int = queue.PLAN_BATCH) -> int:
    """Plan (or finish planning) the run: one pending delivery per matching subscriber, in
    batches; then ``sending``. Returns the deliveries created in this call."""
    async with sessions() as s:
        payload_id = await digest_payloads.first_of_run(s, run_id)
    if payload_id is None:
        raise RuntimeError(f"broadcast run {run_id} has no payload")
    created = 0
    after = -(2**63)
    while True:
        for attempt in range(5):
            try:
                async with sessions() as s:
                    # Write the run row first: SQLite takes the write lock before reading,
                    # PostgreSQL serialises the planners of this run.
                    if not await digest_runs.lock_planning(s, run_id):
                        await s.rollback()  # planned meanwhile (or not confirmed)
                        return created
                    rows = await subscriptions.unplanned(s, run_id, after=after,
                                                         limit=batch_size, lang=filters.lang)
                    if not rows:
                        await digest_runs.mark_planned(s, run_id)
                        await s.commit()
                        return created
                    planned = await deliveries.add_pending(
                        s, run_id, [(payload_id, r.user_id, r.chat_id) for r in rows
                                    if filters.wants(r.tags)])
                    await s.commit()
            except IntegrityError:  # another planner of this run inserted the same rows
                if attempt == 4:
                    raise
                continue
            break
        created += planned
        after = rows[-1].user_id


# --- sending and reporting -------------------------------------------------------------------


@dataclass
class RunState:
    id: int
    status: str
    note: dict[str, Any]

    @property
    def filters(self) -> Filters:
        return Filters(self.note.get("tag"), self.note.get("lang"))

    @property
    def target(self) -> tuple[int, int] | None:
        """(chat, status message) to report to, when known."""
        chat, message = self.note.get("chat"), self.note.get("message")
        return (int(chat), int(message)) if chat is not None and message is not None else None


async def load_run(sessions: queue.Sessions, run_id: int) -> RunState | None:
    async with sessions() as s:
        row = await broadcasts.state(s, run_id)
    return RunState(row.id, row.status, parse_note(row.note)) if row else None


async def deliver(service: Engine, run_id: int, *,
                  progress: Progress | None = None) -> Summary:
    """Finish planning a confirmed broadcast and send it through ``service`` (the running
    bot's digest engine, or the CLI's), reporting to the staff member meanwhile. Also what
    resuming an unfinished broadcast does."""
    state = await load_run(service.sessions, run_id)
    if state is None or state.status not in ("planning", "sending"):
        return Summary()
    reporter = Reporter(service, state) if state.target else None
    task = asyncio.create_task(reporter.run(), name=f"broadcast-{run_id}-report") \
        if reporter else None

    async def prepare() -> None:
        n = await plan(service.sessions, run_id, state.filters)
        if n:
            log.info("broadcast %d: planned %d deliveries (%s)", run_id, n,
                     state.filters.describe())

    try:
        summary = await service.send_planned(run_id, prepare=prepare, progress=progress)
    except BaseException:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        raise
    if summary.done:
        log.info("broadcast %d: %s", run_id, summary.line())
    if task is not None and reporter is not None:
        reporter.finish()
        await task
    return summary


class Reporter:
    """Keeps the staff member's status message up to date while the run is sent, and
    reports the final counts once. Runs beside the sender; its messages go through the
    engine's pacer (they count towards the global rate like any other)."""

    def __init__(self, service: Engine, state: RunState, *,
                 every: float = PROGRESS_EVERY, poll: float = POLL_EVERY) -> None:
        self.service = service
        self.run_id = state.id
        self.note = state.note
        self.chat_id, self.message_id = state.target or (0, 0)
        self.thread_id = state.note.get("thread")
        translator: Translator = service.translator
        self.t = translator.for_lang(str(state.note.get("ui") or "en"))
        self.every = every
        self.poll = poll
        self.edits = 0
        self._finishing = False
        self._wake = asyncio.Event()
        self._last_text: str | None = None
        self._last_edit = asyncio.get_running_loop().time()  # "sending…" was just shown
        self._last_quarter = 0

    def finish(self) -> None:
        """The sender is done here: look once more (final report if the run is done), then
        stop; a run still held elsewhere is reported by whoever finishes it."""
        self._finishing = True
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                finishing = self._finishing
                async with self.service.sessions() as s:
                    status = await digest_runs.status_of(s, self.run_id)
                counts = await queue.counts(self.service.sessions, self.run_id)
                if status == "done":
                    await self._final(counts)
                    return
                if finishing or status is None:
                    return
                if status == "sending":
                    await self._progress(counts)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                self._wake.clear()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("broadcast %d: reporting failed", self.run_id)

    def _args(self, counts: dict[str, int]) -> dict[str, Any]:
        total = sum(counts.values())
        done = sum(counts[st] for st in queue.FINAL)
        # The id as text: Fluent would group its digits ("#1,234").
        return {"id": str(self.run_id), "total": total, "done": done,
                "percent": done * 100 // total if total else 100, "sent": counts["sent"],
                "failed": counts["failed"], "blocked": counts["blocked"],
                "uncertain": counts["uncertain"]}

    async def _progress(self, counts: dict[str, int]) -> None:
        args = self._args(counts)
        if not args["total"]:
            return
        quarter = min(3, args["done"] * 4 // args["total"])
        loop = asyncio.get_running_loop()
        due = quarter > self._last_quarter or loop.time() - self._last_edit >= self.every
        text = self.t("broadcast-progress", **args)
        if not due or text == self._last_text:
            return
        self._last_quarter = max(self._last_quarter, quarter)
        self._last_edit = loop.time()
        self._last_text = text
        await self._edit(text)

    async def _edit(self, text: str) -> None:
        pacer = self.service.pacer
        await pacer.acquire(self.chat_id)
        try:
            await self.service.client.edit_message_text(self.chat_id, self.message_id, text)
            self.edits += 1
        except RetryAfter as exc:
            pacer.pause(exc.retry_after)
        except ApiError as exc:  # "message is not modified", deleted: never mind
            log.debug("broadcast %d: status edit failed: %s", self.run_id, exc)

    async def _claim_report(self) -> bool:
        """Set the note's ``reported`` flag unless set: compare-and-set on the whole note."""
        async with self.service.sessions() as s:
            current = await broadcasts.note(s, self.run_id)
            note = parse_note(current)
            if note.get("reported"):
                return False
            note["reported"] = True
            moved = await broadcasts.replace_note(s, self.run_id, current, dump_note(note))
            await s.commit()
        return moved

    async def _final(self, counts: dict[str, int]) -> None:
        if not await self._claim_report():
            return
        text = self.t("broadcast-finished", **self._args(counts))
        pacer = self.service.pacer
        for _ in range(5):  # a new message (it notifies), then the status message
            await pacer.acquire(self.chat_id)
            try:
                await self.service.client.send_message(
                    self.chat_id, text, message_thread_id=self.thread_id)
                break
            except RetryAfter as exc:
                pacer.pause(exc.retry_after)
            except ApiError as exc:
                log.warning("broadcast %d: could not send the final report: %s",
                            self.run_id, exc)
                break
        await self._edit(text)
