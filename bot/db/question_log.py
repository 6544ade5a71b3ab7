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
own question; any other error (the database is down, or
locked beyond the busy timeout) fails the whole batch at once, without a retry per row that
could only fail the same way, and each handler reports it as any other error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Question
from bot.db.questions import Outcome, question_row

log = logging.getLogger(__name__)
MAX_BATCH = 500


class QuestionLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 max_batch: int = MAX_BATCH) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self.batches = 0  # transactions written (tests read it)
        self._queue: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closed = False

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
        """Write what is queued, then stop; later ``record`` calls raise."""
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

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
        try:
            ids = await self._insert([row for row, _ in batch])
        except (IntegrityError, DataError) as exc:  # one row's data: the others can go in
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            log.warning("storing %d questions at once failed (%s); one by one",
                        len(batch), exc)
            for item in batch:
                await self._write([item])
            return
        except Exception as exc:  # the database is down or locked: no row would do better
            for _, future in batch:
                _settle(future, exc=exc)
            return
        for (_, future), qid in zip(batch, ids, strict=True):
            _settle(future, qid)

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        stmt = insert(Question).returning(Question.id, sort_by_parameter_order=True)
        async with self.sessionmaker() as session:
            ids = list((await session.scalars(stmt, rows)).all())
            await session.commit()
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
