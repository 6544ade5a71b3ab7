"""Staff broadcasts: a one-off message to every active subscriber (or those of one topic, or
one language), delivered through the digest engine's persisted queue with the same pacing and
guarantees as digests.

The life of a broadcast, all of it in the digest tables:

1. **Draft.** ``/broadcast`` stores a ``digest_runs`` row of kind ``broadcast`` in status
   ``draft`` (slot ``broadcast:<token>``, the token travels in the Confirm/Cancel buttons)
   and its one payload: the messages exactly as previewed. The filters, the preview's chat
   and the staff member's language are in the row's ``note`` (JSON). A draft lives
   :data:`DRAFT_TTL`; older ones are refused and purged. Drafts are in the database, not in
   memory, so a button works whichever instance gets the callback, and a double tap (or two
   instances) confirms it once.
2. **Confirm** (only by its creator): ``draft`` → ``planning`` in one conditional UPDATE,
   with the audit row in the same transaction. **Cancel** deletes the draft.
3. **Planning** (:func:`plan`): one pending delivery per matching active subscriber (not
   blocked), in batches of :data:`~bot.digest.queue.PLAN_BATCH`, each batch one transaction.
   A planner that restarts continues with the subscribers that have no delivery in the run
   yet, as :func:`bot.digest.queue.plan_run` does; then the run becomes ``sending``.
4. **Sending** is the digest engine's (:meth:`DigestService.send_planned`): the shared pacer
   and group-commit writer, 429 pauses, 5xx retries, 403 → subscription inactive, nothing
   sent twice, and an unfinished broadcast is resumed after a restart like any run
   (:meth:`DigestService.resume` comes here, :func:`deliver`).
5. **Reporting** (:class:`Reporter`): the staff member's status message is edited with the
   progress (at 25/50/75 % and at most every :data:`PROGRESS_EVERY` seconds otherwise), and
   the final counts are reported once: a flag in the note is set with compare-and-set before
   the report goes out, so once even across instances and restarts.

Filters: ``tag`` matches the subscribers who chose that topic and those who chose every
topic (as a digest item with that tag would); ``lang`` the language of their news.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import StaffAction, utcnow
from bot.digest import queue
from bot.digest.client import ApiError, RetryAfter
from bot.digest.queue import D, P, R, S, Sessions, U
from bot.digest.sender import Progress, Summary
from bot.i18n import LANGUAGES, Translator
from bot.text import tghtml
from bot.text.split import split_message

if TYPE_CHECKING:
    from bot.digest.service import DigestService

log = logging.getLogger(__name__)

KIND: Final = "broadcast"
DRAFT: Final = "draft"
DRAFT_TTL: Final = timedelta(minutes=30)
#: Progress edits of the status message: at most this often (seconds), besides 25/50/75 %.
PROGRESS_EVERY: Final = 5.0
#: How often the reporter looks at the run's counts (seconds).
POLL_EVERY: Final = 1.0
MAX_PROBLEMS: Final = 10
_FILTER = re.compile(r"(tag|lang):(\S*)(?:\s+|$)", re.IGNORECASE)
_TAG = re.compile(r"[\w.-]{1,64}")


# --- the command -----------------------------------------------------------------------------


class UsageError(ValueError):
    """The command cannot be used as given; ``key`` and ``args`` are the staff's message."""

    def __init__(self, key: str, **args: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = args


@dataclass(frozen=True)
class Filters:
    tag: str | None = None
    lang: str | None = None

    def wants(self, tags: Sequence[str] | None) -> bool:
        """Does a subscriber with these topics get it? No topics chosen = every topic."""
        return self.tag is None or not tags or self.tag in tags

    def describe(self) -> str:
        """For the audit trail and logs: ``tag=admission lang=ru`` or ``all``."""
        parts = [f"tag={self.tag}"] if self.tag else []
        if self.lang:
            parts.append(f"lang={self.lang}")
        return " ".join(parts) or "all"

    def as_dict(self) -> dict[str, str | None]:
        return {"tag": self.tag, "lang": self.lang}


def parse_command(args: str | None) -> tuple[Filters, str]:
    """``[tag:<topic>] [lang:en|ru] <text>`` → the filters and the text (as written, only
    stripped). Filters come first, each at most once; raises :class:`UsageError`."""
    rest = (args or "").lstrip()
    found: dict[str, str] = {}
    while m := _FILTER.match(rest):
        name, value = m.group(1).lower(), m.group(2)
        if name in found:
            raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        if name == "lang":
            value = value.lower()
            if value not in LANGUAGES:
                raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        elif not _TAG.fullmatch(value):
            raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        found[name] = value
        rest = rest[m.end():]
    return Filters(found.get("tag"), found.get("lang")), rest.strip()


def render(text: str) -> list[str]:
    """The messages subscribers get: ``text`` (Telegram HTML) split to Telegram's limit.
    Raises :class:`UsageError` listing what Telegram would reject."""
    found = tghtml.problems(text)
    if found:
        shown = found[:MAX_PROBLEMS]
        if len(found) > MAX_PROBLEMS:
            shown.append(f"… +{len(found) - MAX_PROBLEMS}")
        raise UsageError("broadcast-invalid-html", problems=found, shown=shown)
    parts = split_message(text)
    if not parts:
        raise UsageError("broadcast-usage")
    return parts


@dataclass
class Recipients:
    total: int = 0  # active subscribers the broadcast would reach now
    chose_tag: int = 0  # of them, those who chose the filter's topic explicitly


def _recipients_query(filters: Filters) -> Any:
    query = (select(S.c.user_id, S.c.chat_id, S.c.tags).join(U, U.c.id == S.c.user_id)
             .where(S.c.active.is_(True), U.c.blocked.is_(False)))
    if filters.lang:
        query = query.where(S.c.lang == filters.lang)
    return query


async def count_recipients(session: AsyncSession, filters: Filters) -> Recipients:
    """How many active subscribers match now. Topics are JSON lists, matched here in Python
    (portable: SQLite and PostgreSQL store JSON differently)."""
    if filters.tag is None:
        query = _recipients_query(filters).with_only_columns(func.count())
        return Recipients(int(await session.scalar(query) or 0))
    found = Recipients()
    result = await session.execute(_recipients_query(filters).with_only_columns(S.c.tags))
    for tags in result.scalars():
        if filters.wants(tags):
            found.total += 1
            found.chose_tag += bool(tags)
    return found


# --- drafts ----------------------------------------------------------------------------------


@dataclass
class Draft:
    run_id: int
    token: str
    status: str
    created_by: int | None
    created_at: datetime | None
    note: dict[str, Any] = field(default_factory=dict)

    @property
    def filters(self) -> Filters:
        return Filters(self.note.get("tag"), self.note.get("lang"))

    def expired(self, now: datetime | None = None) -> bool:
        return self.status == DRAFT and (
            self.created_at is None or self.created_at < (now or utcnow()) - DRAFT_TTL)


def _slot(token: str) -> str:
    return f"{KIND}:{token}"


def _note(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dump(note: dict[str, Any]) -> str:
    return json.dumps(note, ensure_ascii=False, sort_keys=True)


async def create_draft(sessions: Sessions, *, messages: list[str], filters: Filters,
                       created_by: int, chat_id: int, thread_id: int | None, ui_lang: str,
                       recipients: int) -> Draft:
    """Store a draft and its payload (committed before the buttons are shown)."""
    token = secrets.token_hex(8)
    note = {**filters.as_dict(), "chat": chat_id, "thread": thread_id, "ui": ui_lang,
            "recipients": recipients}
    digest = hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()
    now = utcnow()
    async with sessions() as s:
        run_id = (await s.execute(insert(R).values(
            kind=KIND, slot=_slot(token), status=DRAFT, created_by=created_by,
            started_at=now, note=_dump(note)).returning(R.c.id))).scalar_one()
        await s.execute(insert(P).values(run_id=run_id, digest=digest, messages=messages,
                                         items=[]))
        await s.commit()
    return Draft(run_id, token, DRAFT, created_by, now, note)


def _draft(row: Any) -> Draft:
    return Draft(row.id, row.slot.partition(":")[2], row.status, row.created_by,
                 row.started_at, _note(row.note))


async def get_draft(sessions: Sessions, token: str) -> Draft | None:
    """The broadcast of this token, in whatever state (None: cancelled, purged, unknown)."""
    async with sessions() as s:
        row = (await s.execute(select(R).where(R.c.kind == KIND,
                                               R.c.slot == _slot(token)))).first()
    return _draft(row) if row else None


async def _drop(s: AsyncSession, run_id: int) -> bool:
    """Delete a draft, only if it still is one (a concurrent Confirm wins or loses whole)."""
    moved = await s.execute(update(R).where(R.c.id == run_id, R.c.status == DRAFT)
                            .values(status="cancelled"))
    if not moved.rowcount:
        return False
    await s.execute(delete(P).where(P.c.run_id == run_id))
    await s.execute(delete(R).where(R.c.id == run_id))
    return True


async def cancel_draft(sessions: Sessions, draft: Draft) -> bool:
    async with sessions() as s:
        dropped = await _drop(s, draft.run_id)
        await s.commit()
    return dropped


async def purge_expired(sessions: Sessions, now: datetime | None = None) -> int:
    """Delete drafts older than :data:`DRAFT_TTL` (nobody confirmed them in time)."""
    cutoff = (now or utcnow()) - DRAFT_TTL
    async with sessions() as s:
        ids = (await s.execute(select(R.c.id).where(
            R.c.kind == KIND, R.c.status == DRAFT, R.c.started_at < cutoff))).scalars().all()
        dropped = 0
        for run_id in ids:
            dropped += await _drop(s, run_id)
        await s.commit()
    return dropped


async def confirm_draft(sessions: Sessions, draft: Draft, user_id: int, *, chat_id: int,
                        message_id: int, thread_id: int | None) -> bool:
    """``draft`` → ``planning`` if it still is an unexpired draft of ``user_id``; the status
    message is recorded for the reporter and the action audited in the same transaction.
    False: someone (or a double tap) got there first, or it expired."""
    note = {**draft.note, "chat": chat_id, "message": message_id, "thread": thread_id,
            "reported": False}
    now = utcnow()
    async with sessions() as s:
        moved = await s.execute(update(R).where(
            R.c.id == draft.run_id, R.c.status == DRAFT, R.c.created_by == user_id,
            R.c.started_at >= now - DRAFT_TTL,
        ).values(status="planning", started_at=now, note=_dump(note)))
        if not moved.rowcount:
            await s.rollback()
            return False
        s.add(StaffAction(user_id=user_id, action="broadcast",
                          details=f"run={draft.run_id} {draft.filters.describe()} "
                                  f"recipients={draft.note.get('recipients')}"))
        await s.commit()
    draft.status, draft.note = "planning", note
    return True


# --- planning --------------------------------------------------------------------------------


async def plan(sessions: Sessions, run_id: int, filters: Filters, *,
               batch_size: int = queue.PLAN_BATCH) -> int:
    """Plan (or finish planning) the run: one pending delivery per matching subscriber, in
    batches; then ``sending``. Returns the deliveries created in this call."""
    async with sessions() as s:
        payload_id = await s.scalar(select(P.c.id).where(P.c.run_id == run_id)
                                    .order_by(P.c.id).limit(1))
    if payload_id is None:
        raise RuntimeError(f"broadcast run {run_id} has no payload")
    created = 0
    after = -(2**63)
    while True:
        for attempt in range(5):
            try:
                async with sessions() as s:
                    # Write the run row first: SQLite takes the write lock before reading,
                    # PostgreSQL serialises the planners of this run (queue._lock_run).
                    moved = await s.execute(update(R).where(
                        R.c.id == run_id, R.c.status == "planning").values(status="planning"))
                    if not moved.rowcount:  # planned meanwhile (or not confirmed)
                        await s.rollback()
                        return created
                    planned = select(D.c.id).where(D.c.run_id == run_id,
                                                   D.c.user_id == S.c.user_id)
                    query = (_recipients_query(filters)
                             .where(S.c.user_id > after, ~planned.exists())
                             .order_by(S.c.user_id).limit(batch_size))
                    if s.get_bind().dialect.name == "postgresql":
                        query = query.with_for_update(of=S)
                    rows = (await s.execute(query)).all()
                    if not rows:
                        await s.execute(update(R).where(R.c.id == run_id).values(
                            status="sending", planned_at=utcnow()))
                        await s.commit()
                        return created
                    stamp = utcnow()
                    deliveries = [
                        {"run_id": run_id, "payload_id": payload_id, "user_id": r.user_id,
                         "chat_id": r.chat_id, "status": "pending", "parts_sent": 0,
                         "attempts": 0, "created_at": stamp, "updated_at": stamp}
                        for r in rows if filters.wants(r.tags)]
                    if deliveries:
                        await s.execute(insert(D), deliveries)
                    await s.commit()
            except IntegrityError:  # another planner of this run inserted the same rows
                if attempt == 4:
                    raise
                continue
            break
        created += len(deliveries)
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


async def load_run(sessions: Sessions, run_id: int) -> RunState | None:
    async with sessions() as s:
        row = (await s.execute(select(R.c.id, R.c.status, R.c.note)
                               .where(R.c.id == run_id))).first()
    return RunState(row.id, row.status, _note(row.note)) if row else None


async def deliver(service: DigestService, run_id: int, *,
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

    def __init__(self, service: DigestService, state: RunState, *,
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
                    status = await s.scalar(select(R.c.status).where(R.c.id == self.run_id))
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
            current = await s.scalar(select(R.c.note).where(R.c.id == self.run_id))
            note = _note(current)
            if note.get("reported"):
                return False
            note["reported"] = True
            moved = await s.execute(update(R).where(R.c.id == self.run_id, R.c.note == current)
                                    .values(note=_dump(note)))
            await s.commit()
        return bool(moved.rowcount)

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
