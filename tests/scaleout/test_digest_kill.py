"""``kill -9`` in the middle of a digest run, for real, then a restart that finishes it.

The sender is ``python -m bot.digest send`` in a subprocess (the same code as ``python -m
bot digest send``), talking HTTP to a FakeTelegram served by this test's event loop. The
fake API SIGKILLs the subprocess from inside its own handler of the Nth message, i.e. while
that message is on its way and its row is durably "sending". The restart resumes the run.
(One kill keeps the test short: every process start pays the imports, a second or more on
a busy machine. ``KILL_AT`` takes more kill points, each needing one more process.)
Counts per chat come from the fake API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db.models import Delivery
from bot.fakeapi import FakeTelegram
from tests.support.digest import News, Sub, add_news, add_subscribers
from tests.support.harness import ROOT, TOKEN

SUBSCRIBERS = 60
KILL_AT = (25,)  # total messages delivered when each process dies


async def test_kill_9_mid_run_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    api = FakeTelegram(token=TOKEN, global_rate=30, per_chat_rate=1)
    await api.start()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "database": {"url": db_url},
        "telegram": {"api_server": api.base_url},
        "knowledge": {"path": str(ROOT / "knowledge"), "watch": False},
        "digest": {"rate": 30, "retries": 2, "lease_seconds": 300},
    }), encoding="utf-8")
    engine = create_engine(db_url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    await add_news(sessions, [News("kb:k", {"en": "Kill test", "ru": "Тест"})])
    await add_subscribers(sessions, [Sub(i, "en" if i % 2 else "ru")
                                     for i in range(1, SUBSCRIBERS + 1)])
    for i in range(1, SUBSCRIBERS + 1):
        api.user(i, register=True)

    current: dict[str, asyncio.subprocess.Process | None] = {"proc": None}
    delivered = 0
    kills = list(KILL_AT)

    def on_message(record: dict) -> None:
        nonlocal delivered
        delivered += 1
        proc = current["proc"]
        if kills and delivered == kills[0] and proc is not None:
            kills.pop(0)
            os.kill(proc.pid, signal.SIGKILL)  # the answer to this message never arrives

    api.subscribe(on_message)
    env = {**os.environ, "BOT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    codes = []
    outputs = []
    try:
        for attempt in range(len(KILL_AT) + 1):
            args = ["--now"] if attempt == 0 else []
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.digest", "--config", str(config), "send",
                "--no-progress", "--no-sync", *args, cwd=str(ROOT), env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            current["proc"] = proc
            out, err = await asyncio.wait_for(proc.communicate(), 90)
            codes.append(proc.returncode)
            outputs.append((out.decode(), err.decode()))
            current["proc"] = None
        assert codes == [-signal.SIGKILL] * len(KILL_AT) + [0], outputs

        async with sessions() as s:
            rows = {d.chat_id: d for d in (await s.execute(select(Delivery).where(
                Delivery.run_id == 1))).scalars()}
        assert len(rows) == SUBSCRIBERS
        statuses = {d.status for d in rows.values()}
        assert statuses <= {"sent", "uncertain"}, statuses  # nothing left open
        counts = {chat: len(api.sent(chat)) for chat in range(1, SUBSCRIBERS + 1)}
        assert max(counts.values()) == 1  # nobody got the digest twice
        uncertain = [c for c, d in rows.items() if d.status == "uncertain"]
        # One message was on its way at each kill; more only if sends overlapped.
        assert 1 <= len(uncertain) <= 2 * len(KILL_AT)
        for chat, d in rows.items():
            if d.status == "sent":
                assert counts[chat] == 1, chat
        # The killed messages had reached Telegram (the fake API counted them before the
        # kill), so in fact every subscriber has exactly one copy.
        missing = [c for c in uncertain if counts[c] == 0]
        assert len(missing) <= len(uncertain) - len(KILL_AT), (uncertain, missing)
        last = outputs[-1][0]
        assert f"sent {SUBSCRIBERS - KILL_AT[-1]}," in last and "uncertain 1" in last, last
        assert api.stats.rate_limited == 0
    finally:
        proc = current["proc"]
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await engine.dispose()
        await api.stop()
