"""Planning a digest run into the queue: who gets which items, as deliveries and payloads.

Planning works in batches of subscribers. Each batch inserts its deliveries *and* advances
those subscribers' cursors in one transaction, so after a crash a subscriber either has a
delivery in the run and an advanced cursor, or neither. A planner that restarts (same kind
and slot: :func:`plan_run` returns the existing run) continues with the subscribers that
have no delivery in the run yet. Each batch first writes the run row, which on SQLite takes
the database write lock before anything is read, and on PostgreSQL serialises the planners
of one run; the subscriber rows are read ``FOR UPDATE`` there, so two runs planned at once
(a scheduled one and a ``--now``) cannot both take the same subscriber's items.

What each subscriber gets is decided by :mod:`bot.digest.plan` (pure); the statements are in
:mod:`bot.db`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError

from bot.db import deliveries, digest_payloads, digest_runs, news, subscriptions
from bot.digest import plan
from bot.digest.runs import Sessions, get_or_create_run, get_run, news_snapshot
from bot.i18n import Translator

FREQUENCY_OF_KIND: Final[dict[str, str]] = {"instant": "instant", "daily": "daily",
                                             "weekly": "weekly"}
PLAN_BATCH: Final = 1000


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
        payload_ids = await digest_payloads.ids_by_digest(s, run.id)
    items: dict[int, plan.Item] = {}
    loaded_above: int | None = None  # items with id > this are in ``items``
    after = -(2**63)
    batch_no = 0
    while True:
        for attempt in range(5):
            new_payloads: dict[str, int] = {}
            try:
                async with sessions() as s:
                    if not await digest_runs.lock_planning(s, run.id):
                        await s.rollback()  # another planner finished this run meanwhile
                        return result
                    rows = await subscriptions.unplanned(
                        s, run.id, after=after, limit=batch_size, frequency=frequency,
                        cursor_below=upto)
                    if not rows:
                        await digest_runs.mark_planned(s, run.id)
                        await s.commit()
                        return result
                    low = min(r.cursor for r in rows)
                    if loaded_above is None or low < loaded_above:
                        below = upto if loaded_above is None else loaded_above
                        found = await news.between(s, low, below)
                        items.update((r.id, _item_of(r)) for r in found)
                        loaded_above = low
                    candidates = sorted(items.values(), key=lambda it: it.id)
                    recipients = []
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
                            pid = await digest_payloads.add(s, run.id, key, messages, ids)
                            new_payloads[key] = pid
                        recipients.append((pid, r.user_id, r.chat_id))
                    planned = await deliveries.add_pending(s, run.id, recipients)
                    await subscriptions.advance_cursors(s, [r.user_id for r in rows], upto)
                    await s.commit()
            except IntegrityError:
                # Another planner of the same run got there first (PostgreSQL: a payload
                # with the same digest): re-read what it stored and redo this batch.
                if attempt == 4:
                    raise
                async with sessions() as s:
                    payload_ids = await digest_payloads.ids_by_digest(s, run.id)
                continue
            break
        payload_ids.update(new_payloads)
        result.subscribers += len(rows)
        result.deliveries += planned
        result.payloads += len(new_payloads)
        after = rows[-1].user_id
        batch_no += 1
        if after_batch is not None:
            await after_batch(batch_no, result.deliveries)
