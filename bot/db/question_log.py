"""Questions written in batches: one transaction for all the questions waiting to be stored.

Every free-text question is stored (staff see what was asked and what went unanswered), and
its row id goes into the answer's buttons, so the handler waits for the row. Written one
transaction per question, through SQLAlchemy and aiosqlite's worker thread, that write cost
about 2.2 ms of CPU per question, more than the answer engine and aiogram together
(bench/updates.py --bot minimal: 884 questions/s without it, 282 with it). Here a single
writer task takes every question queued meanwhile and stores them with one multi-row
INSERT … RETURNING and one commit; each handler gets its own row's id back. Under light
load a batch is one question and nothing waits longer than before; under load the batches
grow by themselves (no timer).

Text is made storable first (bot.db.models.storable: no NUL for PostgreSQL, no lone
surrogates). A batch that breaks a constraint or that the database refuses for one row's data
is retried row by row, so one bad row (say, its user was deleted meanwhile) fails only its
own question.

When the database cannot be reached (refused, dropped, locked beyond the busy timeout:
bot.db.health.is_outage) the students are still answered: their handlers get 0 instead of a
row id (answers without the buttons that need one), the rows are kept in memory (at most
``max_kept``, the oldest dropped beyond that, with a count in the log) and written, users
first, as soon as the database is back; one warning marks the outage, not one per update.
Any other error fails the batch at once, and each handler reports it as any other error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.health import DbHealth, is_outage
from bot.db.models import Question
from bot.db.questions import Outcome, question_row
from bot.db.users import ensure_users

log = logging.getLogger(__name__)
_QUESTIONS = Question.__table__
_INSERT_RETURNING_ID = _QUESTIONS.insert().returning(_QUESTIONS.c.id,
                                                     sort_by_parameter_order=True)
MAX_BATCH = 500
MAX_KEPT = 100_000  # questions kept in memory during an outage (about 40 MB at most)
RETRY_MAX = 30.0  # seconds between attempts to write the kept questions, at most


class QuestionLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 max_batch: int = MAX_BATCH, health: DbHealth | None = None,
                 max_kept: int = MAX_KEPT) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self.health = health or DbHealth()
        self.max_kept = max_kept
        self.batches = 0  # transactions written (tests read it)
        self.dropped = 0  # kept questions dropped because the buffer was full
        self._queue: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._kept: list[dict[str, Any]] = []  # written when the database is back
        self._writing_kept = 0  # taken out of _kept, being written
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._flusher: asyncio.Task | None = None
        self._closed = False

    @property
    def kept(self) -> int:
        """Questions waiting in memory for the database to come back (or being written)."""
        return len(self._kept) + self._writing_kept

    async def record(self, *, user_id: int, chat_id: int, text: str, lang: str,
                     matched_id: str | None, score: float, outcome: Outcome) -> int:
        """Store one question (as bot.db.questions.record_question checks and cuts it) and
        return its id once it is committed. The user row must exist (foreign key)."""
        if self._closed:
            raise RuntimeError("the question log is closed")
        row = question_row(user_id=user_id, chat_id=chat_id, text=text, lang=lang,
                           matched_id=matched_id, score=score, outcome=outcome)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="question-log")
        # A handler cancelled meanwhile does not take its row out of the batch.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Write what is queued (and, if the database answers, what was kept during an
        outage), then stop; later ``record`` calls raise."""
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._kept:
            with contextlib.suppress(Exception):
                await self._write_kept()
        if self._kept:
            log.error("%d questions asked during the database outage could not be stored",
                      len(self._kept))

    async def _run(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    batch = self._queue[:self.max_batch]
                    del self._queue[:self.max_batch]
                    await self._write(batch)
                if self._closed:
                    return
        finally:  # cancelled: nobody waits for ever
            queued, self._queue = self._queue, []
            for _, future in queued:
                _settle(future, exc=RuntimeError("the question log stopped"))

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[int]]]) -> None:
        if not self.health.usable():
            self._keep(batch)
            return
        try:
            ids = await self._insert([row for row, _ in batch])
        except (IntegrityError, DataError) as exc:  # one row's data: the others can go in
            if len(batch) == 1:
                await self._write_one_again(batch[0], exc)
                return
            log.warning("storing %d questions at once failed (%s); one by one",
                        len(batch), exc)
            for item in batch:
                await self._write([item])
            return
        except Exception as exc:
            if is_outage(exc):  # down or locked: answer now, store later
                self.health.failed(exc)
                self._keep(batch)
                return
            for _, future in batch:  # no row would do better
                _settle(future, exc=exc)
            return
        self.health.ok()
        for (_, future), qid in zip(batch, ids, strict=True):
            _settle(future, qid)

    async def _write_one_again(self, item: tuple[dict[str, Any], asyncio.Future[int]],
                               exc: Exception) -> None:
        """A row the database refused. After an outage its user row may be missing (it could
        not be written then): write that first and try once more."""
        row, future = item
        if isinstance(exc, IntegrityError) and self.health.outages:
            try:
                async with self.sessionmaker() as session:
                    await ensure_users(session, [row["user_id"]])
                    await session.commit()
                _settle(future, (await self._insert([row]))[0])
                return
            except Exception as again:
                exc = again
        _settle(future, exc=exc)

    def _keep(self, batch: list[tuple[dict[str, Any], asyncio.Future[int]]]) -> None:
        for row, future in batch:
            self._kept.append(row)
            _settle(future, 0)
        if len(self._kept) > self.max_kept:
            over = len(self._kept) - self.max_kept
            del self._kept[:over]
            self.dropped += over
            log.error("database still unreachable: %d kept questions dropped (%d in all); "
                      "the newest %d are kept", over, self.dropped, self.max_kept)
        if not self._closed and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_kept(), name="question-log-kept")

    async def _flush_kept(self) -> None:
        """Write the kept questions once the database answers again (backing off)."""
        delay = self.health.probe_seconds
        while self._kept:
            await asyncio.sleep(delay)
            try:
                await self._write_kept()
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("storing %d kept questions failed", len(self._kept))
                self.health.failed(exc)
                delay = min(RETRY_MAX, delay * 2)
                continue
            self.health.ok()

    async def _write_kept(self) -> None:
        written = 0
        while self._kept:
            rows = self._kept[:self.max_batch]
            del self._kept[:len(rows)]  # taken out while written; back in front on failure
            self._writing_kept = len(rows)
            try:
                async with self.sessionmaker() as session:
                    await ensure_users(session, [row["user_id"] for row in rows])
                    try:
                        await session.execute(insert(Question), rows)
                        await session.commit()
                    except (IntegrityError, DataError):
                        await session.rollback()
                        await self._write_kept_one_by_one(rows)
            except BaseException:
                self._kept[:0] = rows
                raise
            finally:
                self._writing_kept = 0
            written += len(rows)
            self.batches += 1
        log.info("stored %d questions kept during the database outage", written)

    async def _write_kept_one_by_one(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            async with self.sessionmaker() as session:
                try:
                    await ensure_users(session, [row["user_id"]])
                    await session.execute(insert(Question), [row])
                    await session.commit()
                except (IntegrityError, DataError) as exc:
                    log.warning("a kept question could not be stored: %s", exc)

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        # Core, not the ORM: the rows are plain dicts and only their ids come back, and the
        # ORM's bulk path cost about 0.4 ms of CPU more per batch (and more per row).
        engine = self.sessionmaker.kw.get("bind")
        if engine is None:  # a sessionmaker bound per session: the ORM path
            stmt = insert(Question).returning(Question.id, sort_by_parameter_order=True)
            async with self.sessionmaker() as session:
                ids = list((await session.scalars(stmt, rows)).all())
                await session.commit()
        else:
            async with engine.begin() as conn:
                ids = list((await conn.execute(_INSERT_RETURNING_ID, rows)).scalars())
        self.batches += 1
        return ids


def _settle(future: asyncio.Future[int], qid: int = 0, *,
            exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(qid)
