"""Redis: flood counters and conversation state shared by every instance."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.digest.pace import Pacer
from bot.telegram.flood import Verdict
from bot.telegram.flood_redis import RedisFloodGuard
from bot.telegram.shared_pace import SharedPace
from tests.support.harness import ask, make_config, running_bot
from tests.support.redis import redis_url_or_skip

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis():
    client = Redis.from_url(await redis_url_or_skip())
    yield client
    await client.aclose()


async def test_flood_window_is_shared_between_instances(redis) -> None:
    prefix = f"test:{secrets.token_hex(4)}"
    a = RedisFloodGuard(redis, messages=3, seconds=0.5, prefix=prefix)
    b = RedisFloodGuard(redis, messages=3, seconds=0.5, prefix=prefix)  # another instance
    verdicts = [await g.check(7) for g in (a, b, a, b, a, b)]
    assert verdicts == [Verdict.OK, Verdict.OK, Verdict.OK, Verdict.WARN, Verdict.DROP,
                        Verdict.DROP]
    assert await a.check(8) is Verdict.OK  # other users are not affected
    await asyncio.sleep(0.6)
    assert await b.check(7) is Verdict.OK  # the window has passed
    assert await redis.ttl(f"{prefix}:7") >= -1  # keys expire by themselves
    await redis.delete(f"{prefix}:7", f"{prefix}:7:warned", f"{prefix}:8")


async def test_conversation_state_survives_a_switch_of_instance(tmp_path: Path, redis) -> None:
    """/human on one instance, the typed question handled by another: the FSM state lives in
    Redis, so the second instance knows the student is writing to the admissions team."""
    redis_url = await redis_url_or_skip()
    await redis.flushdb()  # the test database (15 by default), not production data
    staff = {"admins": [900], "chat_id": -100900}
    cfg = make_config(tmp_path, staff=staff, redis={"url": redis_url})
    async with running_bot(tmp_path, config=cfg) as first:
        user = first.api.user(4242, first_name="Ann")
        first.api.group(-100900, "Staff")
        await user.send_text("/human")
        await first.api.wait_for(1, chat_id=4242)
    # A second instance (same database, same Redis, new process state) takes the next update.
    async with running_bot(tmp_path, config=cfg) as second:
        user = second.api.user(4242, first_name="Ann")
        second.api.group(-100900, "Staff")
        await user.send_text("Can my diploma be apostilled by you?")
        staff_msgs = await second.api.wait_for(1, chat_id=-100900)
        assert "Can my diploma be apostilled by you?" in staff_msgs[0]["text"]


async def test_a_webhook_burst_of_twice_the_pool_fails_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Webhook mode hands every pending update to the dispatcher at once. The in-flight limit
    applies before aiogram's FSM middleware reads Redis, and the pool waits for a free
    connection instead of raising MaxConnectionsError."""
    redis_url = await redis_url_or_skip()
    cfg = make_config(tmp_path, redis={"url": redis_url})
    async with running_bot(tmp_path, config=cfg) as h:
        pool = h.app.redis.connection_pool
        n = 2 * pool.max_connections
        users = [h.api.user(500_000 + i, first_name="Student", register=True)
                 for i in range(n)]
        updates = [{"update_id": 10_000 + i, "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "how much are the fees?",
            "chat": {"id": u.id, "type": "private", "first_name": "Student"},
            "from": {"id": u.id, "is_bot": False, "first_name": "Student"}}}
            for i, u in enumerate(users)]
        with caplog.at_level(logging.ERROR):
            await asyncio.gather(*(h.app.dispatcher.feed_webhook_update(h.bot, update)
                                   for update in updates))
        failures = [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.ERROR]
        assert not failures, failures[:3]
        for u in users:
            (reply,) = h.api.sent(u.id)
            assert reply["text"].startswith("<b>Tuition fees</b>")
        assert h.app.inflight.peak <= cfg.telegram.max_concurrent_updates


async def test_instances_share_the_tokens_rate_and_its_flood_pauses(redis) -> None:
    """Two instances with one token: each keeps to half the rate once they see each other,
    a 429 one of them met pauses the other too, and a stopped instance leaves the count."""
    token = f"123:{secrets.token_hex(8)}"
    a, b = Pacer(30), Pacer(30)
    pa = SharedPace(redis, a, token, tick=0.05, alive=0.5)
    pb = SharedPace(redis, b, token, tick=0.05, alive=0.5)
    await pa.beat()
    assert a.interval == pytest.approx(1 / 30)  # alone so far
    await pb.beat()
    await pa.beat()
    assert (pa.instances, pb.instances) == (2, 2)
    assert a.interval == pytest.approx(2 / 30) and b.interval == pytest.approx(2 / 30)

    await pa.publish_pause(3)
    await pb.beat()
    assert b.paused_until - b.clock() == pytest.approx(3, abs=0.3)
    assert token not in pa.members_key and token not in pa.pause_key

    pb.start()
    await pb.stop()  # leaves the set at once
    await pa.beat()
    assert pa.instances == 1 and a.interval == pytest.approx(1 / 30)
    await redis.delete(pa.members_key, pa.pause_key)


async def test_a_running_bot_with_redis_shares_its_pace(tmp_path: Path) -> None:
    redis_url = await redis_url_or_skip()
    cfg = make_config(tmp_path, redis={"url": redis_url})
    async with running_bot(tmp_path, config=cfg) as h:
        await h.app.start_background(h.bot)
        shared = h.app.shared_pace
        assert shared is not None and shared.pacer is h.bot.session.pacer
        for _ in range(50):
            if await h.app.redis.zscore(shared.members_key, shared.instance):
                break
            await asyncio.sleep(0.05)
        assert await h.app.redis.zscore(shared.members_key, shared.instance)
        h.api.fail_next("sendMessage", 429, retry_after=2)
        (reply,) = await ask(h, h.api.user(4343, "Flood"), "fees?", timeout=10)
        assert reply["text"].startswith("<b>Tuition fees</b>")
        for _ in range(50):  # the pause went to Redis for the other instances
            if await h.app.redis.get(shared.pause_key):
                break
            await asyncio.sleep(0.05)
        assert await h.app.redis.get(shared.pause_key)
