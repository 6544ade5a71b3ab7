"""The persisted delivery queue on SQLite and PostgreSQL: planning (crash-safe, exactly one
delivery per subscriber), claiming (disjoint under concurrency), recovery, group commit."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery, DigestPayload, DigestRun, Subscription, User, utcnow
from bot.digest import queue
from tests.support.digest import News, Sub, add_news, add_subscribers

Sessions = async_sessionmaker[AsyncSession]  # the ``sessions`` fixture: SQLite and PostgreSQL


NEWS = [
    News("kb:a", {"en": "Admission opens", "ru": "Приём открыт"}, tags=("admission",)),
    News("kb:s", {"en": "New lab", "ru": "Новая лаборатория"}, tags=("science",)),
    News("kb:w", {"en": "Withdrawn", "ru": "Снято"}, tags=("admission",), withdrawn=True),
]


async def deliveries(sessions: Sessions, run_id: int | None = None) -> list[Delivery]:
    async with sessions() as s:
        q = select(Delivery).order_by(Delivery.user_id)
        if run_id is not None:
            q = q.where(Delivery.run_id == run_id)
        return list((await s.execute(q)).scalars())


async def cursors(sessions: Sessions) -> dict[int, int]:
    async with sessions() as s:
        return dict((await s.execute(select(Subscription.user_id, Subscription.cursor)))
                    .all())


async def items_of(sessions: Sessions, d: Delivery) -> list[int]:
    async with sessions() as s:
        return list((await s.get(DigestPayload, d.payload_id)).items)


# --- planning --------------------------------------------------------------------------------


async def test_plan_creates_one_delivery_per_subscriber_with_their_items(sessions) -> None:
    ids = await add_news(sessions, NEWS)
    await add_subscribers(sessions, [
        Sub(1, "en"), Sub(2, "ru"), Sub(3, "en", tags=("science",)),
        Sub(4, "ru", tags=("sport",)),  # nothing matches: no digest, cursor still moves
        Sub(5, "en", frequency="weekly"), Sub(6, "en", cursor=ids[-1]),  # nothing new
        Sub(7, "en", active=False), Sub(8, "en", blocked=True), Sub(9, "en")])
    result = await queue.plan_run_detailed(sessions, "daily", "2026-11-24T10:00+03:00")
    assert not result.resumed and result.deliveries == 4
    rows = await deliveries(sessions)
    assert [d.user_id for d in rows] == [1, 2, 3, 9]
    assert all(d.status == "pending" and d.chat_id == d.user_id for d in rows)
    assert await items_of(sessions, rows[0]) == [ids[1], ids[0]]  # newest first
    assert await items_of(sessions, rows[2]) == [ids[1]]
    # 1 and 9 share a payload; 2 (ru) and 3 (science only) have their own.
    assert rows[0].payload_id == rows[3].payload_id
    assert len({d.payload_id for d in rows}) == 3 == result.payloads
    async with sessions() as s:
        ru = await s.get(DigestPayload, rows[1].payload_id)
        assert "Новая лаборатория" in ru.messages[0] and "Снято" not in ru.messages[0]
        run = await s.get(DigestRun, result.run_id)
        assert run.status == "sending" and run.planned_at is not None
    c = await cursors(sessions)
    top = ids[-1]
    assert c[1] == c[2] == c[3] == c[4] == c[9] == top
    assert c[5] == 0 and c[7] == 0 and c[8] == 0  # other frequency, inactive, blocked


async def test_same_slot_returns_the_same_run_and_plans_nothing_twice(sessions) -> None:
    await add_news(sessions, NEWS)
    await add_subscribers(sessions, [Sub(i) for i in range(1, 6)])
    first = await queue.plan_run(sessions, "daily", "slot-1")
    again = await queue.plan_run_detailed(sessions, "daily", "slot-1")
    assert again.run_id == first and again.resumed and again.deliveries == 0
    assert len(await deliveries(sessions)) == 5
    other = await queue.plan_run_detailed(sessions, "daily", "slot-2")  # cursors moved
    assert other.run_id != first and other.deliveries == 0


async def test_unknown_kind_is_refused(sessions) -> None:
    with pytest.raises(ValueError):
        await queue.plan_run(sessions, "broadcast", "x")


async def test_crash_mid_planning_resumes_without_doubles_or_gaps(sessions) -> None:
    await add_news(sessions, NEWS)
    await add_subscribers(sessions, [Sub(i, "en" if i % 2 else "ru") for i in range(1, 26)])

    class Crash(Exception):
        pass

    async def crash_after_second_batch(batch: int, planned: int) -> None:
        if batch == 2:
            raise Crash

    with pytest.raises(Crash):
        await queue.plan_run(sessions, "daily", "s", batch_size=7,
                             after_batch=crash_after_second_batch)
    half = await deliveries(sessions)
    assert len(half) == 14  # two committed batches, nothing of the third
    c = await cursors(sessions)
    assert sum(1 for v in c.values() if v > 0) == 14  # cursors moved with their batch only
    result = await queue.plan_run_detailed(sessions, "daily", "s", batch_size=7)
    assert result.resumed and result.deliveries == 11
    rows = await deliveries(sessions)
    assert sorted(d.user_id for d in rows) == list(range(1, 26))
    assert all(v > 0 for v in (await cursors(sessions)).values())
    async with sessions() as s:  # the resumed planner reused the stored payloads
        assert await s.scalar(select(func.count()).select_from(DigestPayload)) == 2


async def test_concurrent_runs_never_give_one_subscriber_the_same_items_twice(sessions):
    """A scheduled run and a forced one planned at the same moment: each subscriber's
    items land in exactly one of them (the cursor moves with the delivery)."""
    await add_news(sessions, NEWS)
    await add_subscribers(sessions, [Sub(i) for i in range(1, 301)])
    await asyncio.gather(*(queue.plan_run(sessions, "daily", f"slot-{k}", batch_size=50)
                           for k in range(3)))
    rows = await deliveries(sessions)
    assert sorted(d.user_id for d in rows) == list(range(1, 301))


async def test_concurrent_planners_of_one_run(sessions) -> None:
    """Two instances planning the same slot at once (both got the run row)."""
    await add_news(sessions, NEWS)
    await add_subscribers(sessions, [Sub(i, "en" if i % 3 else "ru") for i in range(1, 201)])
    ids = await asyncio.gather(*(queue.plan_run(sessions, "daily", "same", batch_size=30)
                                 for _ in range(3)))
    assert len(set(ids)) == 1
    rows = await deliveries(sessions)
    assert sorted(d.user_id for d in rows) == list(range(1, 201))


# --- claiming, recovery, writing --------------------------------------------------------------


async def planned(sessions: Sessions, n: int = 30) -> int:
    await add_news(sessions, NEWS)
    await add_subscribers(sessions, [Sub(i) for i in range(1, n + 1)])
    return await queue.plan_run(sessions, "daily", "slot")


async def test_claims_are_disjoint_under_concurrency(sessions) -> None:
    run_id = await planned(sessions, 120)
    workers = [f"{queue._HOST}:1:w{i}" for i in range(4)]

    async def drain(worker: str) -> list[int]:
        got: list[int] = []
        while batch := await queue.claim(sessions, run_id, worker, 7, 300):
            got.extend(j.id for j in batch)
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(drain(w) for w in workers))
    every = [i for r in results for i in r]
    assert len(every) == len(set(every)) == 120
    rows = await deliveries(sessions)
    assert all(d.claimed_by in workers and d.lease_until > utcnow() for d in rows)


async def test_leases_expire_and_release_gives_back(sessions) -> None:
    run_id = await planned(sessions, 10)
    a, b = "hostA:1:a", "hostB:1:b"
    got = await queue.claim(sessions, run_id, a, 4, 300)
    assert [j.user_id for j in got] == [1, 2, 3, 4]
    assert [j.user_id for j in await queue.claim(sessions, run_id, b, 100, 300)] == list(
        range(5, 11))
    assert await queue.claim(sessions, run_id, b, 100, 300) == []
    later = utcnow() + timedelta(seconds=301)
    assert len(await queue.claim(sessions, run_id, b, 100, 300, now=later)) == 10
    assert await queue.release(sessions, run_id, b) == 10
    assert len(await queue.claim(sessions, run_id, a, 100, 300)) == 10


async def test_recovery_after_a_dead_worker(sessions) -> None:
    run_id = await planned(sessions, 8)
    me = queue.make_worker_id()
    host = me.split(":")[0]
    dead = f"{host}:{2**22 + 12345}:dead"  # no such pid
    elsewhere = "other-host:1:x"  # alive for all we know
    assert queue.worker_is_dead(dead, me) and not queue.worker_is_dead(elsewhere, me)
    rows = await deliveries(sessions)
    plan = {1: (dead, "sending"), 2: (dead, "pending"), 3: (elsewhere, "sending"),
            4: (elsewhere, "pending"), 5: (me, "sending")}
    async with sessions() as s:
        for d in rows:
            if d.user_id in plan:
                worker, status = plan[d.user_id]
                await s.execute(update(Delivery).where(Delivery.id == d.id).values(
                    claimed_by=worker, status=status,
                    lease_until=utcnow() + timedelta(seconds=300)))
        await s.commit()
    result = await queue.recover(sessions, run_id, me)
    assert (result.uncertain, result.released) == (1, 1)
    status = {d.user_id: (d.status, d.claimed_by) for d in await deliveries(sessions)}
    assert status[1] == ("uncertain", dead)  # may have arrived: never resent
    assert status[2] == ("pending", None)  # never tried: claimable again
    assert status[3] == ("sending", elsewhere) and status[4] == ("pending", elsewhere)
    assert status[5] == ("sending", me)  # our own rows are ours to finish
    # Once the other host's lease runs out, its rows are settled the same way.
    result = await queue.recover(sessions, run_id, me, now=utcnow() + timedelta(seconds=400))
    assert result.uncertain == 1
    claimable = await queue.claim(sessions, run_id, me, 100, 300,
                                  now=utcnow() + timedelta(seconds=400))
    assert {j.user_id for j in claimable} == {2, 4, 6, 7, 8}


def test_worker_liveness_rules() -> None:
    me = queue.make_worker_id()
    host, pid, _token = me.split(":")
    assert not queue.worker_is_dead(me, me)
    assert queue.worker_is_dead(f"{host}:{pid}:other", me)  # this PID is ours now (PID 1)
    assert not queue.worker_is_dead(f"{host}:{os.getppid()}:t", me)  # parent is alive
    assert not queue.worker_is_dead("garbage", me)


async def test_writer_group_commit_and_lost_claims(sessions) -> None:
    run_id = await planned(sessions, 6)
    me, other = "h:1:me", "h:2:other"
    jobs = await queue.claim(sessions, run_id, me, 6, 300)
    writer = queue.DeliveryWriter(sessions, me, 300)
    # Another worker took row 6 meanwhile (our lease had expired, say).
    async with sessions() as s:
        await s.execute(update(Delivery).where(Delivery.id == jobs[5].id)
                        .values(claimed_by=other))
        await s.commit()
    await asyncio.gather(*(writer.mark_sending(j) for j in jobs[:5]))
    with pytest.raises(queue.LostClaim):
        await writer.mark_sending(jobs[5])
    jobs[0].status, jobs[0].parts_sent, jobs[0].sent_at = "sent", 1, utcnow()
    jobs[1].status, jobs[1].last_error, jobs[1].attempts = "failed", "Bad Request: x", 1
    jobs[2].status, jobs[2].last_error = "blocked", "Forbidden: bot was blocked by the user"
    for j in jobs[:3]:
        writer.update(j)
    writer.block_user(jobs[2].user_id)
    jobs[5].status = "sent"
    writer.update(jobs[5])  # not ours: must not overwrite the other worker's row
    await writer.flush()
    await writer.close()
    rows = {d.user_id: d for d in await deliveries(sessions)}
    assert rows[1].status == "sent" and rows[1].parts_sent == 1 and rows[1].sent_at
    assert rows[2].status == "failed" and rows[2].last_error == "Bad Request: x"
    assert rows[3].status == "blocked"
    assert rows[4].status == rows[5].status == "sending"
    assert rows[6].status == "pending" and rows[6].claimed_by == other
    async with sessions() as s:
        assert (await s.get(Subscription, 3)).active is False
        user = await s.get(User, 3)
        assert user.blocked and user.blocked_at
        assert (await s.get(Subscription, 1)).active is True
    assert writer.commits >= 1


async def test_writer_renews_leases(sessions) -> None:
    run_id = await planned(sessions, 3)
    me = "h:1:me"
    jobs = await queue.claim(sessions, run_id, me, 3, 1.0)
    writer = queue.DeliveryWriter(sessions, me, 1.0)
    writer.add_run(run_id)
    writer.update(jobs[0])
    await asyncio.sleep(1.3)  # past the original lease; renewed every 0.5 s meanwhile
    await writer.flush()
    assert await queue.claim(sessions, run_id, "h:2:thief", 10, 300) == []
    writer.remove_run(run_id)
    await writer.close()


async def test_revert_and_mark_uncertain_only_touch_sending_rows(sessions) -> None:
    run_id = await planned(sessions, 3)
    me = "h:1:me"
    jobs = await queue.claim(sessions, run_id, me, 3, 300)
    writer = queue.DeliveryWriter(sessions, me, 300)
    for j in jobs[:2]:
        await writer.mark_sending(j)
    await writer.close()
    assert await queue.revert_sending(sessions, [jobs[0].id, jobs[2].id], me) == 1
    assert await queue.mark_uncertain(sessions, [jobs[1].id, jobs[2].id]) == 1
    status = [d.status for d in await deliveries(sessions)]
    assert status == ["pending", "uncertain", "pending"]


async def test_status_and_finishing(sessions) -> None:
    run_id = await planned(sessions, 4)
    assert await queue.finish_if_done(sessions, run_id) == 4
    async with sessions() as s:
        await s.execute(update(Delivery).values(status="sent"))
        await s.commit()
    assert await queue.finish_if_done(sessions, run_id) == 0
    [row] = await queue.status(sessions)
    assert row.status == "done" and row.finished_at and row.total == 4
    assert row.deliveries["sent"] == 4 and row.payloads == 1
    assert row.as_dict()["slot"] == "slot"
    assert await queue.unfinished_runs(sessions) == []
    assert (await queue.counts(sessions, run_id))["sent"] == 4


async def test_payload_cache_is_single_flight(sessions) -> None:
    run_id = await planned(sessions, 2)
    [d, _] = await deliveries(sessions, run_id)
    cache = queue.PayloadCache(sessions)
    results = await asyncio.gather(*(cache.get(d.payload_id) for _ in range(50)))
    assert all(r == results[0] and r for r in results)
    assert len(cache._cache) == 1
