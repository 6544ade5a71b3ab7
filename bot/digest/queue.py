"""The persisted delivery queue: planning a run, claiming deliveries, recording outcomes.

One ``digest_runs`` row per (kind, slot); one ``deliveries`` row per (run, subscriber). The
invariants that make a crash (even ``kill -9``) lose nothing and send nothing twice:

* **Planning** works in batches of subscribers. Each batch inserts its deliveries *and*
  advances those subscribers' cursors in one transaction, so after a crash a subscriber
  either has a delivery in the run and an advanced cursor, or neither. A planner that
  restarts (same kind and slot: :func:`plan_run` returns the existing run) continues with
  the subscribers that have no delivery in the run yet. Each batch first writes the run
  row, which on SQLite takes the database write lock before anything is read, and on
  PostgreSQL serialises the planners of one run; the subscriber rows are read ``FOR
  UPDATE`` there, so two runs planned at once (a scheduled one and a ``--now``) cannot both
  take the same subscriber's items.
* **Claiming** marks up to N pending rows with this worker's id and a lease, in one
  ``UPDATE ... WHERE id IN (SELECT ... LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING``
  statement, so concurrent workers (processes or instances) get disjoint rows.
* **Sending**: a row is committed as ``sending`` before its message goes out (group commit,
  :class:`DeliveryWriter`), and becomes ``sent`` (or ``pending`` again between the parts
  of a multi-part digest, or after a retryable error) afterwards.
* **Recovery** (:func:`recover`): rows a dead worker left in ``sending`` may or may not have
  reached the user, so they become ``uncertain`` and are never resent; its ``pending``
  rows are released to be claimed again. A worker is known dead when its lease expired, or
  at once when it ran on this host and its process is gone (worker ids are
  ``host:pid:token``), which is what makes a restart after ``kill -9`` resume immediately.

Only portable SQL is used (SQLite and PostgreSQL); Core statements keep the hot paths cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    DELIVERY_STATUSES,
    Delivery,
    DigestPayload,
    DigestRun,
    NewsItem,
    Subscription,
    User,
    utcnow,
)
from bot.digest import plan
from bot.i18n import Translator

log = logging.getLogger(__name__)

D = Delivery.__table__
P = DigestPayload.__table__
R = DigestRun.__table__
N = NewsItem.__table__
S = Subscription.__table__
U = User.__table__

FINAL: Final[tuple[str, ...]] = ("sent", "failed", "blocked", "uncertain")
OPEN: Final[tuple[str, ...]] = ("pending", "sending")
FREQUENCY_OF_KIND: Final[dict[str, str]] = {"instant": "instant", "daily": "daily",
                                             "weekly": "weekly"}
PLAN_BATCH: Final = 1000
IN_CHUNK: Final = 500  # ids per IN (...) list: far below every backend's parameter limit
UNCERTAIN_NOTE: Final = "interrupted while sending: not resent (it may have arrived)"

Sessions = async_sessionmaker[AsyncSession]


# --- workers ---------------------------------------------------------------------------------


_HOST = socket.gethostname()[:40] or "localhost"
_TOKEN = secrets.token_hex(4)


def make_worker_id() -> str:
    """``host:pid:token`` of this process (the token tells a restarted PID 1 from its
    predecessor, as in containers)."""
    return f"{_HOST}:{os.getpid()}:{_TOKEN}"


def worker_is_dead(worker_id: str, me: str | None = None) -> bool:
    """True when ``worker_id`` certainly no longer runs: it ran on this host and its process
    is gone (or this process now has its PID). False when alive or unknown (another host:
    then only its lease expiring frees its rows)."""
    me = me or make_worker_id()
    try:
        host, pid_text, token = worker_id.rsplit(":", 2)
        my_host, my_pid, my_token = me.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != my_host:
        return False
    if pid_text == my_pid:
        return token != my_token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


# --- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    slot: str
    status: str
    started_at: datetime | None = None
    planned_at: datetime | None = None
    finished_at: datetime | None = None


def _run_info(row: Any) -> RunInfo:
    return RunInfo(row.id, row.kind, row.slot, row.status, row.started_at, row.planned_at,
                   row.finished_at)


async def get_run(sessions: Sessions, kind: str, slot: str) -> RunInfo | None:
    async with sessions() as s:
        row = (await s.execute(select(R).where(R.c.kind == kind, R.c.slot == slot))).first()
    return _run_info(row) if row else None


async def get_or_create_run(sessions: Sessions, kind: str, slot: str, *,
                            created_by: int | None = None) -> RunInfo:
    """The run of (kind, slot), created in state ``planning`` if it does not exist; whoever
    inserts second (another process, another instance) gets the first one's row."""
    existing = await get_run(sessions, kind, slot)
    if existing is not None:
        return existing
    try:
        async with sessions() as s:
            await s.execute(insert(R).values(kind=kind, slot=slot, status="planning",
                                             created_by=created_by, started_at=utcnow()))
            await s.commit()
    except IntegrityError:
        pass  # created concurrently: fine, read it back
    run = await get_run(sessions, kind, slot)
    if run is None:  # pragma: no cover - the row was deleted in between
        raise RuntimeError(f"digest run {kind} {slot} vanished")
    return run


async def unfinished_runs(sessions: Sessions) -> list[RunInfo]:
    """Runs still planning or sending, oldest first (what a restarted process resumes)."""
    async with sessions() as s:
        rows = (await s.execute(select(R).where(R.c.status.in_(("planning", "sending")))
                                .order_by(R.c.id))).all()
    return [_run_info(r) for r in rows]


async def news_snapshot(sessions: Sessions) -> int:
    """The highest news id so far (0 if none): what a run plans up to."""
    async with sessions() as s:
        return int(await s.scalar(select(func.max(N.c.id))) or 0)


# --- planning --------------------------------------------------------------------------------


@dataclass
class PlanResult:
    run_id: int
    subscribers: int = 0  # subscribers looked at in this call
    deliveries: int = 0  # deliveries created in this call
    payloads: int = 0  # payloads created in this call
    resumed: bool = False  # the run already existed


BatchHook = Callable[[int, int], Awaitable[None]]  # (batch number, deliveries so far)


def _item_of(row: Any) -> plan.Item:
    return plan.Item(id=row.id, published=row.published, url=row.url,
                     tags=tuple(row.tags or ()), content=row.content or {},
                     withdrawn=bool(row.withdrawn))


async def plan_run(sessions: Sessions, kind: str, slot: str, now: datetime | None = None, *,
                   translator: Translator | None = None, batch_size: int = PLAN_BATCH,
                   max_items: int = plan.MAX_ITEMS, created_by: int | None = None,
                   after_batch: BatchHook | None = None) -> int:
    """Create (or resume) the run of (kind, slot) and plan its deliveries; returns the run
    id. Returns at once for a run that is already planned. See the module docstring for
    why this is crash-safe. ``now`` is the moment the run is for (the slot already encodes
    it; timestamps stored are wall-clock). ``after_batch`` is called after each committed
    batch (tests use it to crash mid-planning)."""
    return (await plan_run_detailed(sessions, kind, slot, now, translator=translator,
                                    batch_size=batch_size, max_items=max_items,
                                    created_by=created_by, after_batch=after_batch)).run_id


async def plan_run_detailed(sessions: Sessions, kind: str, slot: str,
                            now: datetime | None = None, *,
                            translator: Translator | None = None,
                            batch_size: int = PLAN_BATCH, max_items: int = plan.MAX_ITEMS,
                            created_by: int | None = None,
                            after_batch: BatchHook | None = None) -> PlanResult:
    frequency = FREQUENCY_OF_KIND.get(kind)
    if frequency is None:
        raise ValueError(f"cannot plan a {kind!r} run (kinds: {sorted(FREQUENCY_OF_KIND)})")
    translator = translator or plan.default_translator()
    existing = await get_run(sessions, kind, slot)
    run = existing or await get_or_create_run(sessions, kind, slot, created_by=created_by)
    result = PlanResult(run.id, resumed=existing is not None)
    if run.status != "planning":
        return result
    upto = await news_snapshot(sessions)
    async with sessions() as s:
        payload_ids: dict[str, int] = dict((await s.execute(
            select(P.c.digest, P.c.id).where(P.c.run_id == run.id))).all())
    items: dict[int, plan.Item] = {}
    loaded_above: int | None = None  # items with id > this are in ``items``
    after = -(2**63)
    batch_no = 0
    while True:
        for attempt in range(5):
            new_payloads: dict[str, int] = {}
            try:
                async with sessions() as s:
                    moved = await _lock_run(s, run.id)
                    if not moved:  # another planner finished this run meanwhile
                        await s.rollback()
                        return result
                    rows = (await s.execute(_subscribers_batch(
                        s, run.id, frequency, upto, after, batch_size))).all()
                    if not rows:
                        await s.execute(update(R).where(R.c.id == run.id).values(
                            status="sending", planned_at=utcnow()))
                        await s.commit()
                        return result
                    low = min(r.cursor for r in rows)
                    if loaded_above is None or low < loaded_above:
                        query = select(N).where(N.c.id > low, N.c.id <= upto)
                        if loaded_above is not None:
                            query = query.where(N.c.id <= loaded_above)
                        items.update((r.id, _item_of(r)) for r in await s.execute(query))
                        loaded_above = low
                    candidates = sorted(items.values(), key=lambda it: it.id)
                    deliveries = []
                    for r in rows:
                        chosen = plan.select_items(
                            (it for it in candidates if it.id > r.cursor), r.cursor, r.tags,
                            upto, max_items)
                        if not chosen:
                            continue
                        ids = [it.id for it in chosen]
                        key = plan.payload_key(r.lang, ids)
                        pid = payload_ids.get(key) or new_payloads.get(key)
                        if pid is None:
                            messages = plan.render(chosen, r.lang, translator, kind=kind)
                            pid = (await s.execute(insert(P).values(
                                run_id=run.id, digest=key, messages=messages, items=ids,
                            ).returning(P.c.id))).scalar_one()
                            new_payloads[key] = pid
                        deliveries.append({
                            "run_id": run.id, "payload_id": pid, "user_id": r.user_id,
                            "chat_id": r.chat_id, "status": "pending", "parts_sent": 0,
                            "attempts": 0, "created_at": utcnow(), "updated_at": utcnow()})
                    if deliveries:
                        await s.execute(insert(D), deliveries)
                    user_ids = [r.user_id for r in rows]
                    stamp = utcnow()
                    for i in range(0, len(user_ids), IN_CHUNK):
                        await s.execute(update(S).where(
                            S.c.user_id.in_(user_ids[i:i + IN_CHUNK]), S.c.cursor < upto,
                        ).values(cursor=upto, updated_at=stamp))
                    await s.commit()
            except IntegrityError:
                # Another planner of the same run got there first (PostgreSQL: a payload
                # with the same digest): re-read what it stored and redo this batch.
                if attempt == 4:
                    raise
                async with sessions() as s:
                    payload_ids = dict((await s.execute(
                        select(P.c.digest, P.c.id).where(P.c.run_id == run.id))).all())
                continue
            break
        payload_ids.update(new_payloads)
        result.subscribers += len(rows)
        result.deliveries += len(deliveries)
        result.payloads += len(new_payloads)
        after = rows[-1].user_id
        batch_no += 1
        if after_batch is not None:
            await after_batch(batch_no, result.deliveries)


async def _lock_run(s: AsyncSession, run_id: int) -> bool:
    """Write the run row first: SQLite then holds the write lock before reading anything
    (no stale snapshot, no SQLITE_BUSY_SNAPSHOT), PostgreSQL locks the row."""
    res = await s.execute(update(R).where(R.c.id == run_id, R.c.status == "planning")
                          .values(status="planning"))
    return bool(res.rowcount)


def _subscribers_batch(s: AsyncSession, run_id: int, frequency: str, upto: int, after: int,
                       limit: int) -> Any:
    planned = select(D.c.id).where(D.c.run_id == run_id, D.c.user_id == S.c.user_id)
    query = (select(S.c.user_id, S.c.chat_id, S.c.lang, S.c.tags, S.c.cursor)
             .join(U, U.c.id == S.c.user_id)
             .where(S.c.active.is_(True), S.c.frequency == frequency, S.c.cursor < upto,
                    S.c.user_id > after, U.c.blocked.is_(False), ~planned.exists())
             .order_by(S.c.user_id).limit(limit))
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=S)
    return query


# --- claiming and recovery ------------------------------------------------------------------


@dataclass(slots=True)
class Job:
    """A claimed delivery as the sender works on it; ``params`` is what the writer stores."""

    id: int
    run_id: int
    payload_id: int
    user_id: int
    chat_id: int
    parts_sent: int = 0
    attempts: int = 0
    status: str = "pending"
    last_error: str | None = None
    sent_at: datetime | None = None

    def params(self) -> dict[str, Any]:
        return {"b_id": self.id, "b_status": self.status, "b_parts": self.parts_sent,
                "b_attempts": self.attempts, "b_error": self.last_error,
                "b_sent_at": self.sent_at, "b_now": utcnow()}


async def claim(sessions: Sessions, run_id: int, worker_id: str, limit: int,
                lease_seconds: float, now: datetime | None = None) -> list[Job]:
    """Take up to ``limit`` pending deliveries of the run (unclaimed, or whose lease ran
    out) for ``worker_id``, oldest first."""
    now = now or utcnow()
    async with sessions() as s:
        ids = (select(D.c.id)
               .where(D.c.run_id == run_id, D.c.status == "pending",
                      or_(D.c.claimed_by.is_(None), D.c.lease_until < now))
               .order_by(D.c.id).limit(limit))
        if s.get_bind().dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        stmt = (update(D).where(D.c.id.in_(ids))
                .values(claimed_by=worker_id, lease_until=now + timedelta(seconds=lease_seconds),
                        updated_at=now)
                .returning(D.c.id, D.c.run_id, D.c.payload_id, D.c.user_id, D.c.chat_id,
                           D.c.parts_sent, D.c.attempts))
        rows = (await s.execute(stmt)).all()
        await s.commit()
    jobs = [Job(r.id, r.run_id, r.payload_id, r.user_id, r.chat_id, r.parts_sent, r.attempts)
            for r in rows]
    jobs.sort(key=lambda j: j.id)
    return jobs


async def live_senders(sessions: Sessions, worker_id: str,
                       now: datetime | None = None) -> int:
    """How many workers (processes, instances) are sending digests right now, this one
    included: those holding open rows of an unfinished run under a lease that has not
    expired and are not known dead. Each paces itself to its share of the bot's rate."""
    now = now or utcnow()
    unfinished = select(R.c.id).where(R.c.status.in_(("planning", "sending")))
    async with sessions() as s:
        holders = (await s.execute(
            select(D.c.claimed_by).distinct().where(
                D.c.run_id.in_(unfinished), D.c.status.in_(OPEN),
                D.c.claimed_by.is_not(None), D.c.claimed_by != worker_id,
                D.c.lease_until >= now))).scalars().all()
    return 1 + sum(1 for w in holders if not worker_is_dead(w, worker_id))


@dataclass
class Recovered:
    uncertain: int = 0  # were "sending" under a dead worker: now "uncertain"
    released: int = 0  # were claimed by a dead worker: claimable again


async def recover(sessions: Sessions, run_id: int, worker_id: str,
                  now: datetime | None = None) -> Recovered:
    """Clean up after workers that died while holding rows of the run (see module doc)."""
    now = now or utcnow()
    async with sessions() as s:
        holders = (await s.execute(
            select(D.c.claimed_by).distinct().where(
                D.c.run_id == run_id, D.c.status.in_(OPEN), D.c.claimed_by.is_not(None),
                D.c.claimed_by != worker_id))).scalars().all()
    dead = [w for w in holders if worker_is_dead(w, worker_id)]
    async with sessions() as s:
        gone = or_(D.c.lease_until < now, D.c.claimed_by.in_(dead)) if dead else (
            D.c.lease_until < now)
        res = await s.execute(
            update(D).where(D.c.run_id == run_id, D.c.status == "sending",
                            D.c.claimed_by != worker_id, gone)
            .values(status="uncertain", last_error=UNCERTAIN_NOTE, updated_at=now))
        uncertain = res.rowcount or 0
        released = 0
        if dead:
            res = await s.execute(
                update(D).where(D.c.run_id == run_id, D.c.status == "pending",
                                D.c.claimed_by.in_(dead))
                .values(claimed_by=None, lease_until=None, updated_at=now))
            released = res.rowcount or 0
        await s.commit()
    if uncertain or released:
        log.warning("digest run %s: %d delivery(ies) left sending by a dead worker marked "
                    "uncertain, %d released", run_id, uncertain, released)
    return Recovered(uncertain, released)


async def release(sessions: Sessions, run_id: int, worker_id: str,
                  ids: Sequence[int] | None = None) -> int:
    """Give back this worker's pending (unsent) claims of the run (all, or ``ids``)."""
    async with sessions() as s:
        conditions = [D.c.run_id == run_id, D.c.status == "pending",
                      D.c.claimed_by == worker_id]
        total = 0
        chunks = [None] if ids is None else [ids[i:i + IN_CHUNK]
                                             for i in range(0, len(ids), IN_CHUNK)]
        for chunk in chunks:
            where = conditions if chunk is None else [*conditions, D.c.id.in_(chunk)]
            res = await s.execute(update(D).where(*where).values(
                claimed_by=None, lease_until=None, updated_at=utcnow()))
            total += res.rowcount or 0
        await s.commit()
    return total


async def mark_uncertain(sessions: Sessions, ids: Sequence[int]) -> int:
    """Rows this process itself left in ``sending`` (a send cancelled mid-flight)."""
    total = 0
    async with sessions() as s:
        for i in range(0, len(ids), IN_CHUNK):
            res = await s.execute(update(D).where(
                D.c.id.in_(ids[i:i + IN_CHUNK]), D.c.status == "sending",
            ).values(status="uncertain", last_error=UNCERTAIN_NOTE, updated_at=utcnow()))
            total += res.rowcount or 0
        await s.commit()
    return total


async def revert_sending(sessions: Sessions, ids: Sequence[int], worker_id: str) -> int:
    """Rows this worker marked ``sending`` but whose message never left (the send was
    cancelled before it started): pending again."""
    total = 0
    async with sessions() as s:
        for i in range(0, len(ids), IN_CHUNK):
            res = await s.execute(update(D).where(
                D.c.id.in_(ids[i:i + IN_CHUNK]), D.c.status == "sending",
                D.c.claimed_by == worker_id,
            ).values(status="pending", updated_at=utcnow()))
            total += res.rowcount or 0
        await s.commit()
    return total


async def counts(sessions: Sessions, run_id: int) -> dict[str, int]:
    """Deliveries of the run by status (every status present, zeros included)."""
    async with sessions() as s:
        rows = (await s.execute(select(D.c.status, func.count()).where(D.c.run_id == run_id)
                                .group_by(D.c.status))).all()
    found = dict(rows)
    return {st: int(found.get(st, 0)) for st in DELIVERY_STATUSES}


async def finish_if_done(sessions: Sessions, run_id: int) -> int:
    """Mark the run done when no delivery is pending or sending; returns how many still
    are (held by other workers, or waiting for a lease to expire)."""
    async with sessions() as s:
        left = int(await s.scalar(select(func.count()).select_from(D).where(
            D.c.run_id == run_id, D.c.status.in_(OPEN))) or 0)
        if left == 0:
            await s.execute(update(R).where(R.c.id == run_id, R.c.status == "sending")
                            .values(status="done", finished_at=utcnow()))
            await s.commit()
    return left


# --- status ----------------------------------------------------------------------------------


@dataclass
class RunStatus:
    id: int
    kind: str
    slot: str
    status: str
    started_at: datetime | None
    planned_at: datetime | None
    finished_at: datetime | None
    deliveries: dict[str, int] = field(default_factory=dict)
    payloads: int = 0

    @property
    def total(self) -> int:
        return sum(self.deliveries.values())

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat(timespec="seconds") if t else None

        return {"id": self.id, "kind": self.kind, "slot": self.slot, "status": self.status,
                "started_at": iso(self.started_at), "planned_at": iso(self.planned_at),
                "finished_at": iso(self.finished_at), "deliveries": dict(self.deliveries),
                "total": self.total, "payloads": self.payloads}


async def status(sessions: Sessions, limit: int = 10) -> list[RunStatus]:
    """The last ``limit`` runs, newest first, with their deliveries counted by status."""
    async with sessions() as s:
        runs = (await s.execute(select(R).order_by(R.c.id.desc()).limit(limit))).all()
        ids = [r.id for r in runs]
        by_run: dict[int, dict[str, int]] = {i: dict.fromkeys(DELIVERY_STATUSES, 0)
                                             for i in ids}
        payloads: dict[int, int] = {}
        if ids:
            for run_id, st, n in (await s.execute(
                    select(D.c.run_id, D.c.status, func.count()).where(D.c.run_id.in_(ids))
                    .group_by(D.c.run_id, D.c.status))):
                by_run[run_id][st] = int(n)
            payloads = dict((await s.execute(
                select(P.c.run_id, func.count()).where(P.c.run_id.in_(ids))
                .group_by(P.c.run_id))).all())
    return [RunStatus(r.id, r.kind, r.slot, r.status, r.started_at, r.planned_at,
                      r.finished_at, by_run[r.id], int(payloads.get(r.id, 0))) for r in runs]


# --- payloads --------------------------------------------------------------------------------


class PayloadCache:
    """Messages of payloads by id; runs have few distinct payloads, so a small LRU. Loads
    are single-flight: a hundred workers starting on the same payload cause one query."""

    def __init__(self, sessions: Sessions, size: int = 2048) -> None:
        self.sessions = sessions
        self.size = size
        self._cache: OrderedDict[int, asyncio.Future[list[str]]] = OrderedDict()

    async def get(self, payload_id: int) -> list[str]:
        fut = self._cache.get(payload_id)
        if fut is not None:
            self._cache.move_to_end(payload_id)
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._cache[payload_id] = fut
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        try:
            async with self.sessions() as s:
                messages = await s.scalar(select(P.c.messages).where(P.c.id == payload_id))
        except BaseException as exc:
            self._cache.pop(payload_id, None)
            fut.set_exception(exc)
            fut.exception()  # retrieved: the waiters get it through their own await
            raise
        fut.set_result(list(messages or []))
        return fut.result()


# --- group commit ----------------------------------------------------------------------------


_UPDATE = (update(D).where(D.c.id == bindparam("b_id"), D.c.claimed_by == bindparam("b_me"))
           .values(status=bindparam("b_status"), parts_sent=bindparam("b_parts"),
                   attempts=bindparam("b_attempts"), last_error=bindparam("b_error"),
                   sent_at=bindparam("b_sent_at"), updated_at=bindparam("b_now")))


class WriterError(RuntimeError):
    """The database refused to record delivery states: sending must stop."""


class LostClaim(RuntimeError):
    """The row is no longer this worker's (its lease expired and another worker took it, or
    a recovery settled it): its message must not be sent from here."""


class DeliveryWriter:
    """Group commit of delivery states for all the workers of a process.

    :meth:`mark_sending` (awaited before a message goes out) returns once the row is
    committed as ``sending`` — and only if this worker still holds the row's claim, else
    it raises :class:`LostClaim`. :meth:`update` (outcomes) only queues the state.
    Everything queued is written in one transaction per round, the latest state per row
    winning, so at 1,000 messages/s the database sees tens of commits per second, not
    thousands. Leases of this worker's open rows are renewed every ``lease_seconds / 3``.
    """

    def __init__(self, sessions: Sessions, worker_id: str, lease_seconds: float, *,
                 retries: int = 5) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.retries = retries
        self.commits = 0
        self.rows_written = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._sending: dict[int, asyncio.Future[None]] = {}
        self._blocked: dict[int, datetime] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._runs: dict[int, int] = {}  # run id -> active senders (lease renewal)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failed: BaseException | None = None
        self._last_renew = 0.0

    # -- producer side --

    def add_run(self, run_id: int) -> None:
        self._runs[run_id] = self._runs.get(run_id, 0) + 1

    def remove_run(self, run_id: int) -> None:
        left = self._runs.get(run_id, 0) - 1
        if left > 0:
            self._runs[run_id] = left
        else:
            self._runs.pop(run_id, None)

    def update(self, job: Job) -> None:
        """Queue ``job``'s state (committed with the next round, not awaited)."""
        params = job.params()
        params["b_me"] = self.worker_id
        self._pending[job.id] = params
        self._kick()

    def block_user(self, user_id: int) -> None:
        self._blocked[user_id] = utcnow()
        self._kick()

    async def mark_sending(self, job: Job) -> None:
        """Commit ``job`` as ``sending`` (with its other fields); raises LostClaim when the
        row is not this worker's any more, WriterError when the database fails."""
        if self._failed is not None:
            raise WriterError(str(self._failed)) from self._failed
        job.status = "sending"
        self.update(job)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sending[job.id] = fut
        self._kick()
        await fut

    def _kick(self) -> None:
        self._ensure_task()
        self._wake.set()

    # -- writer task --

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="digest-writer")

    def _idle(self) -> bool:
        return not (self._pending or self._sending or self._blocked or self._waiters)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_renew = loop.time()
        renew_every = max(0.5, self.lease_seconds / 3)
        while True:
            timeout = max(0.0, self._last_renew + renew_every - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            renew = bool(self._runs) and loop.time() - self._last_renew >= renew_every
            if renew:
                self._last_renew = loop.time()
            await self._round(renew)
            if self._closing and self._idle():
                return

    async def _round(self, renew: bool = False) -> None:
        pending, self._pending = self._pending, {}
        sending, self._sending = self._sending, {}
        blocked, self._blocked = self._blocked, {}
        waiters, self._waiters = self._waiters, []
        lost: set[int] = set()
        error: BaseException | None = None
        if pending or blocked or renew:
            for attempt in range(self.retries + 1):
                try:
                    lost = await self._write(pending, list(sending), blocked, renew)
                    error = None
                    break
                except DBAPIError as exc:  # e.g. "database is locked" beyond busy_timeout
                    error = exc
                    log.warning("digest writer: %s (attempt %d)", exc, attempt + 1)
                    await asyncio.sleep(min(2.0, 0.05 * 2 ** attempt))
        if error is not None:
            self._failed = error
            log.error("digest writer gave up: %s", error)
            for fut in [*sending.values(), *waiters]:
                if not fut.done():
                    fut.set_exception(WriterError(str(error)))
            for key, value in pending.items():  # keep outcomes for a later round, but
                if key not in sending:  # never a "sending" mark whose send was called off
                    self._pending.setdefault(key, value)
            return
        self.commits += 1
        self.rows_written += len(pending)
        for job_id, fut in sending.items():
            if fut.done():
                continue
            if job_id in lost:
                fut.set_exception(LostClaim(f"delivery {job_id} is no longer ours"))
            else:
                fut.set_result(None)
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _write(self, pending: dict[int, dict[str, Any]], sending: list[int],
                     blocked: dict[int, datetime], renew: bool) -> set[int]:
        lost: set[int] = set()
        async with self.sessions() as s:
            if pending:
                await s.execute(_UPDATE, list(pending.values()))
            for i in range(0, len(sending), IN_CHUNK):
                chunk = sending[i:i + IN_CHUNK]
                # The rows were just written as "sending" above, if they were still ours;
                # whatever is not sending-and-ours now must not be sent.
                ours = set((await s.execute(select(D.c.id).where(
                    D.c.id.in_(chunk), D.c.claimed_by == self.worker_id,
                    D.c.status == "sending"))).scalars())
                lost.update(j for j in chunk if j not in ours)
            if blocked:
                ids = list(blocked)
                when = max(blocked.values())
                for i in range(0, len(ids), IN_CHUNK):
                    chunk = ids[i:i + IN_CHUNK]
                    await s.execute(update(S).where(S.c.user_id.in_(chunk)).values(
                        active=False, updated_at=when))
                    await s.execute(update(U).where(U.c.id.in_(chunk),
                                                    U.c.blocked.is_(False))
                                    .values(blocked=True, blocked_at=when))
            if renew and self._runs:
                await s.execute(update(D).where(
                    D.c.run_id.in_(list(self._runs)), D.c.claimed_by == self.worker_id,
                    D.c.status.in_(OPEN),
                ).values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds)))
            await s.commit()
        return lost

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        if self._task is None and self._idle():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._kick()
        await fut

    async def close(self) -> None:
        """Write what is queued and stop the writer task."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 30)
        except TimeoutError:
            self._task.cancel()
        self._task = None
        self._closing = False
