"""Digests end to end: the real engine, SQLite and the fake Telegram Bot API over HTTP.

Subscribers are inserted directly (users first), news come from the shipped knowledge base
plus a YAML file added by the test; per-chat message counts are read from the fake API,
which enforces a global rate and 1 message/s per chat exactly as configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db.models import Delivery, Subscription, User
from bot.db.news import sync_kb_news
from bot.digest import queue
from bot.digest.sender import SendOptions, create_digest_client
from bot.digest.service import DigestService, run_due, status
from bot.fakeapi import FakeTelegram
from bot.knowledge import load_knowledge
from bot.text import tghtml
from tests.support.digest import News, Sub, add_news, add_subscribers
from tests.support.harness import TOKEN, copy_knowledge

NEW_NEWS = """
news:
  - id: 2026-11-20-admission-open
    date: 2026-11-20
    tags: [admission]
    title: {en: "Admission 2027 is open", ru: "Открыт приём 2027"}
    summary: {en: "Applications are accepted from today.", ru: "Заявления принимаются."}
    body: {en: "Details.", ru: "Подробности."}
  - id: 2026-11-21-new-lab
    date: 2026-11-21
    tags: [science]
    title: {en: "A new simulation lab", ru: "Новый симуляционный центр"}
    summary: {en: "Students train on simulators.", ru: "Студенты тренируются на симуляторах."}
    body: {en: "Details.", ru: "Подробности."}
  - id: 2026-11-22-partners
    date: 2026-11-22
    tags: [international, partnerships]
    title: {en: "Two new partner universities", ru: "Два новых университета-партнёра"}
    summary: {en: "Exchange programmes start in spring.", ru: "Обмен начнётся весной."}
    body: {en: "Details.", ru: "Подробности."}
"""
TITLES = {
    "admission": {"en": "Admission 2027 is open", "ru": "Открыт приём 2027"},
    "science": {"en": "A new simulation lab", "ru": "Новый симуляционный центр"},
    "partners": {"en": "Two new partner universities", "ru": "Два новых университета-партнёра"},
}
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Env:
    api: FakeTelegram
    config: Config
    sessions: Sessions
    tmp: Path

    def client(self):
        return create_digest_client(self.config, token=TOKEN)

    def service(self, **options) -> DigestService:
        opts = SendOptions.from_config(self.config.digest, base_delay=0.01, **options)
        return DigestService(self.config, self.sessions, self.client(), options=opts,
                             own_client=True)

    def texts(self, chat_id: int) -> list[str]:
        return [r["text"] for r in self.api.sent(chat_id)]


def config_for(tmp: Path, base_url: str, **digest) -> Config:
    return Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{tmp / 'bot.db'}"},
        "telegram": {"api_server": base_url},
        "knowledge": {"path": str(tmp / "kb"), "watch": False},
        "digest": {"rate": 30, "retries": 2, **digest}})


@contextlib.asynccontextmanager
async def environment(tmp: Path, rate: float = 30, **digest) -> AsyncIterator[Env]:
    api = FakeTelegram(token=TOKEN, global_rate=rate, per_chat_rate=1)
    await api.start()
    config = config_for(tmp, api.base_url, rate=rate, **digest)
    engine = create_engine(config.database.url)
    await upgrade(engine)
    try:
        yield Env(api, config, create_sessionmaker(engine), tmp)
    finally:
        await engine.dispose()
        await api.stop()


async def sync_kb(env: Env) -> list[int]:
    kb, _ = load_knowledge(env.config.knowledge.path)
    async with env.sessions() as s:
        ids = await sync_kb_news(s, kb)
        await s.commit()
    return ids


async def max_news_id(env: Env) -> int:
    return await queue.news_snapshot(env.sessions)


def register(env: Env, *chats: int) -> None:
    for chat in chats:
        env.api.user(chat, first_name=f"User {chat}", register=True)


async def test_each_subscriber_gets_exactly_one_message_with_exactly_their_items(tmp_path):
    async with environment(tmp_path) as env:
        copy_knowledge(tmp_path / "kb")
        await sync_kb(env)  # the shipped news exist before anyone subscribed
        start = await max_news_id(env)
        subs = [
            Sub(1, "en", "daily"), Sub(2, "ru", "daily"),
            Sub(3, "en", "weekly", ("admission",)),
            Sub(4, "ru", "instant", ("science", "international")),
            Sub(5, "en", "daily", ("sport",)),  # no item for this topic: no message
            Sub(6, "ru", "weekly"), Sub(7, "en", "instant"),
            Sub(8, "en", "daily", active=False),  # unsubscribed
        ]
        await add_subscribers(env.sessions, [Sub(**{**s.__dict__, "cursor": start})
                                             for s in subs])
        register(env, *range(1, 9))
        (tmp_path / "kb" / "news" / "2026-11-new.yaml").write_text(
            textwrap.dedent(NEW_NEWS), encoding="utf-8")
        assert len(await sync_kb(env)) == 3

        async with env.client() as client:
            summary = await run_due(env.config, env.sessions, client, force=True)
        assert (summary.sent, summary.failed, summary.blocked, summary.uncertain) == (6, 0, 0, 0)

        expected = {1: ("en", {"admission", "science", "partners"}),
                    2: ("ru", {"admission", "science", "partners"}),
                    3: ("en", {"admission"}), 4: ("ru", {"science", "partners"}),
                    6: ("ru", {"admission", "science", "partners"}),
                    7: ("en", {"admission", "science", "partners"})}
        for chat in range(1, 9):
            texts = env.texts(chat)
            if chat not in expected:
                assert texts == [], chat
                continue
            assert len(texts) == 1, (chat, texts)
            lang, topics = expected[chat]
            text = texts[0]
            for topic, titles in TITLES.items():
                assert (titles[lang] in text) == (topic in topics), (chat, topic)
            other = "ru" if lang == "en" else "en"
            assert not any(t[other] in text for t in TITLES.values())
            assert "Azerbaijan" not in text and "Азербайджан" not in text  # older news
            sent = env.api.sent(chat)[0]
            assert sent["parse_mode"] == "HTML"
            assert sent["params"]["link_preview_options"] == {"is_disabled": True}
        assert env.api.stats.rate_limited == 0  # the pacer kept to the limits
        assert env.api.stats.errors == 0
        runs = await status(env.sessions)
        assert [r.kind for r in runs] == ["instant", "weekly", "daily"]
        assert all(r.status == "done" for r in runs)
        assert sum(r.deliveries["sent"] for r in runs) == 6

        # Nothing new: a second forced run sends nothing at all.
        async with env.client() as client:
            again = await run_due(env.config, env.sessions, client, force=True)
        assert again.sent == 0 and sum(len(env.texts(c)) for c in range(1, 9)) == 6


async def seed_simple(env: Env, n: int, **sub) -> list[int]:
    ids = await add_news(env.sessions, [News("kb:one", {"en": "Hello", "ru": "Привет"})])
    await add_subscribers(env.sessions, [Sub(i, **sub) for i in range(1, n + 1)])
    register(env, *range(1, n + 1))
    return ids


async def test_429_5xx_dropped_403_and_400(tmp_path: Path) -> None:
    async with environment(tmp_path) as env:
        await seed_simple(env, 12)
        api = env.api
        api.fail_next("sendMessage", 429, retry_after=1, times=2)
        api.fail_next("sendMessage", 502, description="Bad Gateway", chat_id=3, times=2)
        api.fail_next("sendMessage", None, drop_connection=True, chat_id=4, times=2)
        api.block(5)
        api.deactivate(6)
        api.fail_next("sendMessage", 400, description="Bad Request: can't parse entities",
                      chat_id=7)
        api.fail_next("sendMessage", 500, description="Internal Server Error", chat_id=8,
                      times=3)  # retries: 2, so the third failure is final
        service = env.service()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        summary = await service.run("daily", "faults")
        await service.stop()
        assert loop.time() - t0 >= 1.0  # the 429's retry_after was honoured
        counts = {c: len(env.texts(c)) for c in range(1, 13)}
        # Chat 4's connection dropped mid-request: it may have arrived, so it is uncertain
        # and never resent (a drop that came after delivery would otherwise mean two copies).
        assert counts == {c: 0 if c in (4, 5, 6, 7, 8) else 1 for c in range(1, 13)}
        assert (summary.sent, summary.blocked, summary.failed) == (7, 2, 2)
        assert summary.uncertain == 1
        assert summary.retry_after_waits == 2 and summary.retries >= 3
        async with env.sessions() as s:
            rows = {d.user_id: d for d in (await s.execute(select(Delivery))).scalars()}
            assert rows[5].status == rows[6].status == "blocked"
            assert "blocked by the user" in rows[5].last_error
            assert "deactivated" in rows[6].last_error
            assert rows[7].status == "failed" and "can't parse entities" in rows[7].last_error
            assert rows[8].status == "failed" and "Internal Server Error" in rows[8].last_error
            assert rows[8].attempts == 3
            assert rows[3].status == "sent" and rows[3].attempts == 2
            assert rows[4].status == "uncertain" and "ServerDisconnected" in rows[4].last_error
            for uid in (5, 6):
                assert (await s.get(Subscription, uid)).active is False
                assert (await s.get(User, uid)).blocked is True
            assert (await s.get(Subscription, 7)).active is True
        [run] = await status(env.sessions)
        assert run.status == "done"
        assert run.deliveries == {"pending": 0, "sending": 0, "sent": 7, "failed": 2,
                                  "blocked": 2, "uncertain": 1}
        # 403 is never retried: exactly one call into each blocked chat.
        forbidden = [c for c in api.calls("sendMessage") if c["params"]["chat_id"] in (5, 6)]
        assert len(forbidden) == 2
        assert len([c for c in api.calls("sendMessage") if c["params"]["chat_id"] == 4]) == 1


async def test_ambiguous_failures_are_never_resent(tmp_path: Path) -> None:
    """The API carried the request out, then the answer was lost: the connection dropped, or
    the answer came after the client's timeout. Each subscriber has exactly one copy."""
    async with environment(tmp_path) as env:
        await seed_simple(env, 40)
        api = env.api
        for chat in range(1, 11):
            api.fail_next("sendMessage", None, drop_connection=True, after=True, chat_id=chat)
        for chat in range(11, 16):
            api.fail_next("sendMessage", None, delay=2.5, after=True, chat_id=chat)
        service = env.service(request_timeout=1)
        summary = await service.run("daily", "ambiguous")
        await service.stop()
        counts = {c: len(env.texts(c)) for c in range(1, 41)}
        assert counts == dict.fromkeys(range(1, 41), 1)  # nobody twice, nobody without
        assert (summary.sent, summary.uncertain) == (25, 15)
        async with env.sessions() as s:
            rows = {d.user_id: d for d in (await s.execute(select(Delivery))).scalars()}
        assert {rows[c].status for c in range(1, 16)} == {"uncertain"}
        assert "no answer within 1 s" in rows[11].last_error
        assert {rows[c].status for c in range(16, 41)} == {"sent"}


async def wait_for_attempt(env, timeout: float = 60.0) -> None:
    """Until a delivery records a failed attempt (the digest writer commits in batches)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with env.sessions() as s:
            if (await s.execute(select(Delivery).where(Delivery.attempts >= 1))).first():
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no delivery attempt recorded in {timeout} s")


async def test_a_refused_connection_is_retried(tmp_path: Path) -> None:
    """Nothing can have arrived when no connection was made: those are retried."""
    async with environment(tmp_path) as env:
        await seed_simple(env, 3)
        port = env.api.port
        await env.api.stop()  # connection refused until it is back
        # Retried every 50 ms at most and without a limit, so the outage may last as long
        # as this machine needs to see a refused attempt recorded (a fixed sleep was too
        # short on a loaded machine: no attempt had been made yet).
        service = env.service(retries=10_000, max_delay=0.05)
        task = asyncio.create_task(service.run("daily", "refused"))
        await wait_for_attempt(env)
        await env.api.start(port=port)
        summary = await task
        await service.stop()
        assert {c: len(env.texts(c)) for c in (1, 2, 3)} == {1: 1, 2: 1, 3: 1}
        assert summary.retries >= 1 and summary.uncertain == 0


async def test_long_digest_arrives_in_parts_spaced_for_the_chat(tmp_path: Path) -> None:
    async with environment(tmp_path) as env:
        summary = ("A long summary with <b>bold</b>, <i>italics</i> &amp; entities. " * 12)
        items = [News(f"kb:{i}", {"en": f"Item number {i}"}, {"en": summary},
                      published=datetime(2026, 11, i, tzinfo=UTC)) for i in range(1, 12)]
        await add_news(env.sessions, items)
        await add_subscribers(env.sessions, [Sub(1), Sub(2)])
        register(env, 1, 2)
        service = env.service()
        result = await service.run("daily", "long")
        await service.stop()
        assert result.sent == 2
        records = env.api.sent(1)
        assert len(records) >= 2 and result.messages == 2 * len(records)
        assert env.api.stats.rate_limited == 0
        times = [r["message"]["date"] for r in records]
        assert times == sorted(times)
        calls = [c["time"] for c in env.api.calls("sendMessage")
                 if c["params"]["chat_id"] == 1 and c["ok"]]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(calls))
        text = "\n".join(r["text"] for r in records)
        for i in range(1, 12):
            assert text.count(f"<b>Item number {i}</b>") == 1
        assert text.index("Item number 11") < text.index("Item number 1<")  # newest first
        for r in records:
            assert tghtml.problems(r["text"]) == []


async def test_scheduled_slots_are_sent_once(tmp_path: Path) -> None:
    async with environment(tmp_path) as env:
        await seed_simple(env, 2, frequency="daily")
        await add_subscribers(env.sessions, [Sub(3, frequency="weekly")])
        register(env, 3)
        # Tuesday 24 Nov 2026, 10:05 in Minsk: today's daily slot and Monday's weekly slot.
        now = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)
        client = env.client()
        try:
            first = await run_due(env.config, env.sessions, client, now=now)
            again = await run_due(env.config, env.sessions, client, now=now)
        finally:
            await client.close()
        assert first.sent == 3 and again.sent == 0 and again.runs == []
        slots = {(r.kind, r.slot) for r in await status(env.sessions)}
        assert slots == {("daily", "2026-11-24T10:00+03:00"),
                         ("weekly", "2026-11-23T10:00+03:00")}
        assert [len(env.texts(c)) for c in (1, 2, 3)] == [1, 1, 1]


async def test_a_run_planned_by_another_instance_meanwhile_gets_this_ones_share(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ``digest send`` started together: this one looks for unfinished runs before the
    other has planned today's slot, and for due slots after it has. It must still send
    (here: everything, as the other instance is gone), not exit with nothing done."""
    async with environment(tmp_path) as env:
        await seed_simple(env, 5, frequency="daily")
        now = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)
        slot = "2026-11-24T10:00+03:00"
        real = queue.unfinished_runs
        looks = []

        async def unfinished_then_other_plans(sessions):
            found = await real(sessions)
            looks.append([r.id for r in found])
            if len(looks) == 1:  # the other instance plans the slot right after this look
                await queue.plan_run_detailed(env.sessions, "daily", slot, now)
            return found

        monkeypatch.setattr(queue, "unfinished_runs", unfinished_then_other_plans)
        client = env.client()
        try:
            summary = await run_due(env.config, env.sessions, client, now=now)
        finally:
            await client.close()
        assert looks[0] == [] and len(looks) == 2
        assert summary.sent == 5 and summary.remaining == 0
        runs = {(r.kind, r.slot): r.status for r in await status(env.sessions)}
        assert runs[("daily", slot)] == "done"
        assert set(runs.values()) == {"done"}
        assert [len(env.texts(c)) for c in range(1, 6)] == [1] * 5


async def test_graceful_stop_mid_run_then_resume_sends_the_rest_once(tmp_path) -> None:
    async with environment(tmp_path, rate=20) as env:
        await seed_simple(env, 40)
        service = env.service()
        task = asyncio.create_task(service.run("daily", "stop"))
        await env.api.wait_for(10, timeout=10)
        await service.stop()
        await task
        first = sum(len(env.texts(c)) for c in range(1, 41))
        assert 10 <= first < 40
        [run] = await status(env.sessions)
        assert run.status == "sending" and run.deliveries["pending"] == 40 - first
        assert run.deliveries["sending"] == 0 and run.deliveries["uncertain"] == 0
        async with env.sessions() as s:  # claims were given back
            held = await s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.status == "pending", Delivery.claimed_by.is_not(None)))
            assert held == 0
        # A restarted bot resumes it at start-up (the CLI's run_due: see the kill test).
        again = env.service()
        await again.start(scheduler=False, catch_up=False)
        await again.idle(30)
        await again.stop()
        assert again.summary.sent == 40 - first
        assert [len(env.texts(c)) for c in range(1, 41)] == [1] * 40
        [run] = await status(env.sessions)
        assert run.status == "done" and run.deliveries["sent"] == 40


async def test_instant_digest_follows_a_kb_reload_and_the_scheduler_runs(tmp_path) -> None:
    from bot.app.factory import build_app, create_bot
    from bot.app.reload import reload_knowledge

    # Daily and weekly slots whose last firing is long past the catch-up window, so that
    # start-up sends none of them whatever the time of day the test runs at.
    minsk = datetime.now(ZoneInfo("Europe/Minsk")) - timedelta(hours=12)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(minsk.weekday() - 2) % 7]
    async with environment(tmp_path, instant_check_seconds=0.5,
                           daily=f"0 {minsk.hour} * * *",
                           weekly=f"0 {minsk.hour} * * {weekday}") as env:
        copy_knowledge(tmp_path / "kb")
        app = await build_app(env.config)  # migrates and syncs the KB news
        bot = create_bot(env.config, token=TOKEN, api_server=env.api.base_url)
        start = await max_news_id(env)
        await add_subscribers(env.sessions, [Sub(1, "ru", "instant", cursor=start),
                                             Sub(2, "en", "daily", cursor=start)])
        register(env, 1, 2)
        await app.start_background(bot)  # start_digests, wired into the app
        service = app.digests
        try:
            assert {j.id for j in service.scheduler.get_jobs()} == {
                "digest-daily", "digest-weekly", "digest-instant"}
            assert service.on_reload in app.services.on_reload
            (tmp_path / "kb" / "news" / "2026-11-new.yaml").write_text(
                textwrap.dedent(NEW_NEWS), encoding="utf-8")
            result = await reload_knowledge(app.services)
            assert len(result.new_news_ids) == 3
            [record] = await env.api.wait_for(1, chat_id=1, timeout=10)
            assert all(t["ru"] in record["text"] for t in TITLES.values())
            # The periodic instant check finds nothing more; the daily subscriber waits.
            await asyncio.sleep(1.2)
            assert len(env.texts(1)) == 1 and env.texts(2) == []
        finally:
            await service.stop()
            await app.close()
            await bot.session.close()
        assert service.on_reload not in app.services.on_reload
        runs = await status(env.sessions)
        assert [(r.kind, r.status) for r in runs] == [("instant", "done")]


async def test_unauthorized_token_stops_the_run_and_keeps_everything_queued(tmp_path):
    async with environment(tmp_path) as env:
        await seed_simple(env, 5)
        env.api.fail_next("sendMessage", 401, description="Unauthorized", times=100)
        service = env.service()
        from bot.digest.sender import FatalSendError

        with pytest.raises(FatalSendError):
            await service.run("daily", "401")
        await service.stop()
        [run] = await status(env.sessions)
        assert run.deliveries["pending"] == 5 and run.status == "sending"


async def test_multi_part_digests_do_not_hold_workers_through_per_chat_waits(tmp_path):
    """40 two-part digests at 30 messages/s with 8 workers: the chats' one-second gaps
    overlap, so the run takes about 80 / 30 s, not 40 x 1.1 s / 8 workers."""
    async with environment(tmp_path) as env:
        summary = ("A long summary with <b>bold</b>, <i>italics</i> &amp; entities. " * 12)
        await add_news(env.sessions, [
            News(f"kb:{i}", {"en": f"Item number {i}"}, {"en": summary},
                 published=datetime(2026, 11, i, tzinfo=UTC)) for i in range(1, 12)])
        await add_subscribers(env.sessions, [Sub(i) for i in range(1, 41)])
        register(env, *range(1, 41))
        service = env.service()
        assert service.options.workers == 8
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        result = await service.run("daily", "parts")
        elapsed = loop.time() - t0
        await service.stop()
        assert result.sent == 40 and result.messages == 80
        assert [len(env.texts(c)) for c in range(1, 41)] == [2] * 40
        assert env.api.stats.rate_limited == 0
        assert elapsed < 4.8, elapsed
