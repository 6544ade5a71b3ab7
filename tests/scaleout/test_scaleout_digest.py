"""Digests from several instances on one PostgreSQL database, for real.

Two ``python -m bot.digest send`` processes (the code of ``python -m bot digest send``; the
bot's scheduler runs the same service) start at the same moment against one temporary
PostgreSQL database and one fake Bot API served by this test. The fake API enforces a global
limit, which both instances are configured with and share, so the run lasts several
seconds. Both find the same daily slot due, so they race to create and plan it; both then
claim rows (``FOR UPDATE SKIP LOCKED``) and send. One of them is SIGKILLed mid-run; the other
takes over its claimed rows once their lease (short here) expires; a last ``send`` (what
cron or the bot's resume loop does next) settles the rows the dead one left "sending"
(``uncertain``: never resent). Per-chat counts come from the fake API.

Two variants of the kill:

* ``anywhere``: at the Nth message, whatever the victim is doing. A row it had committed as
  "sending" whose request had not left yet is lost (at most once, by design: Telegram has
  no idempotency key, so an uncertain message is never sent again);
* ``on-the-wire``: the victim is frozen (SIGSTOP) at the Nth message, the fake API answers
  what it had already sent, and it is SIGKILLed only if every row it has marked "sending"
  reached the API (else it goes on, SIGCONT, and is frozen again a moment later). Every
  one of the subscribers then has exactly one copy, the uncertain ones included.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.config import Config
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db.models import Delivery, DigestPayload, DigestRun
from bot.digest import queue, schedule
from bot.digest.pace import Pacer
from bot.digest.service import due_runs
from bot.fakeapi import FakeTelegram
from tests.support.db import postgres_url_or_skip, temporary_database
from tests.support.digest import News, Sub, add_news, add_subscribers
from tests.support.harness import ROOT, TOKEN

SUBSCRIBERS = 10_000
LIMIT = 1000  # the fake API's global limit, and digest.rate: the instances share it
LEASE = 2.0  # digest.lease_seconds: a dead instance's rows come free this fast
KILL_AT = 3000  # messages delivered (by both) when instance A is killed
NEWS = [News("kb:scale", {"en": "Admission 2027 is open", "ru": "Приём 2027 открыт"},
             tags=("admission",))]


def write_config(path: Path, db_url: str, api_url: str) -> Path:
    path.write_text(yaml.safe_dump({
        "database": {"url": db_url},
        "telegram": {"api_server": api_url},
        "knowledge": {"path": str(ROOT / "knowledge"), "watch": False},
        "digest": {"rate": LIMIT, "paid_broadcast": True, "retries": 2,
                   "lease_seconds": LEASE},
    }), encoding="utf-8")
    return path


async def start_sender(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "BOT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.digest", "--config", str(config), "send", "--no-progress",
        "--no-sync", "--json", cwd=str(ROOT), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def finish(proc: asyncio.subprocess.Process, timeout: float) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode()


def held_by(pid: int) -> Any:
    return Delivery.claimed_by.like(f"%:{pid}:%")


@pytest.mark.postgres
@pytest.mark.parametrize("on_the_wire", [False, True], ids=["anywhere", "on-the-wire"])
async def test_two_instances_one_killed_every_subscriber_gets_one_copy(
        tmp_path: Path, on_the_wire: bool) -> None:
    started = time.monotonic()
    async with temporary_database(await postgres_url_or_skip()) as url:
        engine = create_engine(url)
        api = FakeTelegram(token=TOKEN, global_rate=LIMIT, per_chat_rate=1)
        procs: list[asyncio.subprocess.Process] = []
        try:
            await upgrade(engine)
            sessions = create_sessionmaker(engine)
            await add_news(sessions, NEWS)
            await add_subscribers(sessions, [Sub(i, "en" if i % 2 else "ru")
                                             for i in range(1, SUBSCRIBERS + 1)])
            for i in range(1, SUBSCRIBERS + 1):
                api.add_chat(i)
            await api.start()
            config = write_config(tmp_path / "config.yaml", url, api.base_url)

            copies: Counter[int] = Counter()
            victim: dict[str, Any] = {"proc": None, "killed_at": None}
            reached = asyncio.Event()

            def on_message(record: dict[str, Any]) -> None:
                if record["method"] != "sendMessage":
                    return
                copies[record["chat_id"]] += 1
                proc = victim["proc"]
                if proc is None or reached.is_set() or copies.total() < KILL_AT:
                    return
                reached.set()
                if not on_the_wire:
                    # Killed while its messages are on their way, wherever they are: the
                    # answer to this one (if it is A's) never arrives.
                    os.kill(proc.pid, signal.SIGKILL)
                    victim["killed_at"] = copies.total()

            api.subscribe(on_message)
            # Two instances at the same moment: both find the same daily slot due.
            a, b = await asyncio.gather(start_sender(config), start_sender(config))
            procs += [a, b]
            victim["proc"] = a
            if on_the_wire:
                await asyncio.wait_for(reached.wait(), 40)
                victim["freezes"] = await kill_on_the_wire(sessions, a.pid, copies)
                victim["killed_at"] = copies.total()
            code_a, out_a, err_a = await finish(a, 60)
            assert code_a == -signal.SIGKILL, (out_a, err_a[-3000:])
            async with sessions() as s:  # what A held when it died
                held_by_a = dict((await s.execute(
                    select(Delivery.status, func.count()).where(held_by(a.pid))
                    .group_by(Delivery.status))).all())
                a_pending = set((await s.execute(select(Delivery.id).where(
                    held_by(a.pid), Delivery.status == "pending"))).scalars())
                a_sending = set((await s.execute(select(Delivery.chat_id).where(
                    held_by(a.pid), Delivery.status == "sending"))).scalars())
            assert held_by_a.get("sent", 0) > 0, held_by_a  # A really was sending
            assert a_pending, held_by_a  # and held claimed rows somebody must take over

            code_b, out_b, err_b = await finish(b, 60)
            assert code_b == 0, err_b
            # B took over A's claimed rows once their lease expired.
            async with sessions() as s:
                taken = dict((await s.execute(
                    select(Delivery.status, func.count()).where(Delivery.id.in_(a_pending))
                    .group_by(Delivery.status))).all())
            assert taken == {"sent": len(a_pending)}, (taken, out_b, err_b[-3000:])

            # The next ``send`` (cron, or the bot's resume loop): settles what A left
            # "sending" (uncertain: never resent) and finishes the run.
            c = await start_sender(config)
            procs.append(c)
            code_c, out_c, err_c = await finish(c, 60)
            assert code_c == 0, err_c

            async with sessions() as s:
                runs = (await s.execute(select(DigestRun))).scalars().all()
                daily = [r for r in runs if r.kind == "daily"]
                assert len(daily) == 1, [(r.kind, r.slot) for r in runs]  # planned once
                run = daily[0]
                rows = (await s.execute(select(Delivery.chat_id, Delivery.status).where(
                    Delivery.run_id == run.id))).all()
                payloads = await s.scalar(select(func.count()).select_from(DigestPayload)
                                          .where(DigestPayload.run_id == run.id))
            assert run.status == "done"
            assert payloads == 2  # en and ru, though two planners raced
            status_of = dict(rows)
            assert len(rows) == len(status_of) == SUBSCRIBERS  # one delivery per subscriber
            statuses = Counter(status_of.values())
            assert set(statuses) <= {"sent", "uncertain"}, statuses
            assert await queue.counts(sessions, run.id) == {
                **dict.fromkeys(("pending", "sending", "failed", "blocked"), 0),
                "sent": statuses["sent"], "uncertain": statuses["uncertain"]}

            assert set(copies) <= set(status_of)
            assert max(copies.values()) == 1  # nobody got the digest twice
            for chat, st in status_of.items():
                if st == "sent":
                    assert copies[chat] == 1, chat
            # Uncertain are exactly the rows A had marked "sending" when it died.
            uncertain = {c for c, st in status_of.items() if st == "uncertain"}
            assert uncertain == a_sending
            lost = sorted(c for c in uncertain if copies[c] == 0)
            print(f"\n[{'on-the-wire' if on_the_wire else 'anywhere'}] {SUBSCRIBERS} "
                  f"subscribers; A killed at {victim['killed_at']} messages "
                  f"(freezes: {victim.get('freezes', 0)}) holding "
                  f"{held_by_a}; B took over {len(a_pending)} claimed rows; uncertain "
                  f"{len(uncertain)} ({len(uncertain) - len(lost)} had arrived, {len(lost)} "
                  f"had not); copies: {dict(Counter(copies.values()))}, "
                  f"{SUBSCRIBERS - len(copies)} without; 429s {api.stats.rate_limited}; "
                  f"{time.monotonic() - started:.1f} s\nB: {out_b.strip()}\n"
                  f"C: {out_c.strip()}")
            # Every subscriber has exactly one copy, but for a message that was lost in the
            # dead process (marked sending, its request had not left): at most once.
            assert len(copies) == SUBSCRIBERS - len(lost)
            if on_the_wire:
                assert not lost and len(copies) == SUBSCRIBERS
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await engine.dispose()
            await api.stop()


async def kill_on_the_wire(sessions: Any, pid: int, copies: Counter[int],
                           attempts: int = 40) -> int:
    """SIGKILL ``pid`` at a moment when every row it has committed as "sending" has reached
    the fake API (is in ``copies``); returns how many freezes that took."""
    for attempt in range(1, attempts + 1):
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(0.3)  # the fake API answers whatever it had sent before
        async with sessions() as s:
            sending = set((await s.execute(select(Delivery.chat_id).where(
                held_by(pid), Delivery.status == "sending"))).scalars())
        # Prefer a moment with messages on their way (the interesting case) while it lasts.
        if sending <= copies.keys() and (sending or attempt > attempts // 2):
            os.kill(pid, signal.SIGKILL)
            return attempt
        os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(0.05 * (attempt % 4))
    raise AssertionError(f"no moment found to kill {pid} with its messages on the wire")


# --- the pieces, in process ------------------------------------------------------------------


@pytest.mark.postgres
async def test_two_instances_planning_one_slot_at_once_make_one_run(tmp_path: Path) -> None:
    """The scheduled jobs of two instances fire at the same moment: each has its own engine
    (connection pool), both create and plan the slot's run; the unique (kind, slot) and the
    planners' locking leave one run with one delivery per subscriber."""
    n = 3000
    async with temporary_database(await postgres_url_or_skip()) as url:
        engines = [create_engine(url) for _ in range(2)]
        try:
            await upgrade(engines[0])
            sessions = [create_sessionmaker(e) for e in engines]
            await add_news(sessions[0], NEWS)
            await add_subscribers(sessions[0], [Sub(i, "en" if i % 2 else "ru")
                                                for i in range(1, n + 1)])
            config = Config.model_validate({"database": {"url": url}})
            now = queue.utcnow()
            [due] = [d for d in await due_runs(config, sessions[0], now) if d.kind == "daily"]
            assert due.slot == schedule.slot_of(due.fire)
            gate = asyncio.Event()

            async def plan(sessions_: Any) -> queue.PlanResult:
                await gate.wait()
                return await queue.plan_run_detailed(sessions_, "daily", due.slot, now,
                                                     batch_size=200)

            tasks = [asyncio.create_task(plan(s)) for s in sessions]
            await asyncio.sleep(0.05)
            gate.set()
            results = await asyncio.gather(*tasks)
            assert results[0].run_id == results[1].run_id
            assert sum(r.deliveries for r in results) == n
            print(f"\nplanned by each instance: {[r.deliveries for r in results]}")
            async with sessions[0]() as s:
                runs = (await s.execute(select(DigestRun.kind, DigestRun.slot,
                                               DigestRun.status))).all()
                users = (await s.execute(select(Delivery.user_id))).scalars().all()
                payloads = await s.scalar(select(func.count()).select_from(DigestPayload))
            assert runs == [("daily", due.slot, "sending")]
            assert sorted(users) == list(range(1, n + 1))
            assert payloads == 2
            # The slot is no longer due for either instance.
            for s_ in sessions:
                assert [d.kind for d in await due_runs(config, s_, now)] == ["weekly"]
        finally:
            for e in engines:
                await e.dispose()


@pytest.mark.postgres
async def test_instances_count_each_other_and_share_the_rate() -> None:
    """Each instance paces itself to rate / (instances sending now): those holding open rows
    of an unfinished run under a live lease, not known dead."""
    pacer = Pacer(1000)
    assert pacer.interval == pytest.approx(0.001)
    pacer.set_share(2)
    assert (pacer.share, pacer.interval) == (2, pytest.approx(0.002))
    pacer.set_share(0)
    assert (pacer.share, pacer.interval) == (1, pytest.approx(0.001))

    async with temporary_database(await postgres_url_or_skip()) as url:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            sessions = create_sessionmaker(engine)
            await add_news(sessions, NEWS)
            await add_subscribers(sessions, [Sub(i) for i in range(1, 101)])
            run_id = await queue.plan_run(sessions, "daily", "share")
            me = queue.make_worker_id()
            assert await queue.live_senders(sessions, me) == 1
            others = ["hostA:1:a", "hostB:1:b"]
            for w in others:
                assert await queue.claim(sessions, run_id, w, 10, 300)
            await queue.claim(sessions, run_id, me, 10, 300)
            assert await queue.live_senders(sessions, me) == 3
            dead_here = f"{queue._HOST}:{2**22 + 12345}:dead"  # this host, no such process
            assert await queue.claim(sessions, run_id, dead_here, 10, 300)
            assert await queue.live_senders(sessions, me) == 3
            expired = queue.utcnow().replace(year=2000)
            async with sessions() as s:  # hostB's lease ran out: it is gone
                await s.execute(Delivery.__table__.update().where(
                    Delivery.claimed_by == "hostB:1:b").values(lease_until=expired))
                await s.commit()
            assert await queue.live_senders(sessions, me) == 2
            async with sessions() as s:  # hostA's rows are all sent: it is done
                await s.execute(Delivery.__table__.update().where(
                    Delivery.claimed_by == "hostA:1:a").values(status="sent"))
                await s.commit()
            assert await queue.live_senders(sessions, me) == 1
        finally:
            await engine.dispose()


async def test_rows_whose_lease_ran_out_while_queued_are_not_sent_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender's leases run out while its claimed rows wait in its queue (a stalled
    renewal; short leases, which make takeovers fast, make it likelier): its next claim
    returns those rows again. They must not be queued twice, since both jobs would pass
    the claim check (same worker) and send."""
    from datetime import timedelta

    from bot.digest.sender import create_digest_client
    from bot.digest.service import DigestService

    n = 900
    claimed: Counter[int] = Counter()
    claim = queue.claim

    async def claim_with_a_stalled_renewal(*args: Any, **kwargs: Any) -> list[queue.Job]:
        if len(claimed) and "now" not in kwargs:  # the second claim: every lease ran out
            kwargs["now"] = queue.utcnow() + timedelta(hours=1)
        jobs = await claim(*args, **kwargs)
        claimed.update(j.id for j in jobs)
        return jobs

    monkeypatch.setattr(queue, "claim", claim_with_a_stalled_renewal)
    api = FakeTelegram(token=TOKEN, per_chat_rate=1)
    copies: Counter[int] = Counter()
    api.subscribe(lambda r: copies.update([r["chat_id"]]) if r["method"] == "sendMessage"
                  else None)
    await api.start()
    config = Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
        "telegram": {"api_server": api.base_url},
        "digest": {"rate": 300, "paid_broadcast": True}})
    engine = create_engine(config.database.url)
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        await add_news(sessions, NEWS)
        await add_subscribers(sessions, [Sub(i) for i in range(1, n + 1)])
        for i in range(1, n + 1):
            api.add_chat(i)
        service = DigestService(config, sessions, create_digest_client(config, token=TOKEN),
                                own_client=True)
        try:
            summary = await asyncio.wait_for(service.run("daily", "lease"), 60)
        finally:
            await service.stop()
        assert sum(1 for k in claimed.values() if k > 1) > 100  # queued rows came back
        assert summary.sent == summary.messages == n
        assert len(copies) == n and max(copies.values()) == 1
    finally:
        await engine.dispose()
        await api.stop()
