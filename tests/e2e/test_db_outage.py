"""PostgreSQL refusing connections mid-traffic: students are answered from the knowledge base
in memory, their questions are kept and stored once the database is back, and the log has
one warning for the outage instead of a traceback per update."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.db import create_engine
from bot.db.models import Question
from bot.i18n import LANGUAGES, Translator
from tests.support.db import postgres_url_or_skip, temporary_database
from tests.support.harness import ask, make_config, running_bot
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.postgres
ERROR_REPLIES = {Translator().get(lang, "error-generic") for lang in LANGUAGES}


async def count_questions(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(Question))).scalar_one()
    finally:
        await engine.dispose()


async def test_students_are_answered_through_a_database_outage(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    admin = await postgres_url_or_skip()
    async with temporary_database(admin) as url:
        parsed = make_url(url)
        proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        await proxy.start()
        proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        config = make_config(tmp_path, database={"url": proxied})
        try:
            with caplog.at_level(logging.INFO):
                async with running_bot(tmp_path, config) as h:
                    before = [h.api.user(90_000 + i, f"Before {i}") for i in range(5)]
                    for u in before:
                        (reply,) = await ask(h, u, "how much are the fees?")
                        assert reply["text"].startswith("<b>Tuition fees</b>")

                    await proxy.cut()  # refused from now on, open connections dropped
                    during = before + [h.api.user(91_000 + i, f"New {i}") for i in range(25)]
                    replies = await asyncio.gather(*(
                        ask(h, u, "сколько стоит обучение?" if i % 2 else "where is bsmu?",
                            timeout=30) for i, u in enumerate(during)))
                    for (reply,) in replies:
                        assert reply["text"] not in ERROR_REPLIES
                        assert reply["text"].startswith(("<b>", "📍"))
                    assert h.app.services.questions.kept == len(during)

                    await proxy.restore()
                    for _ in range(100):  # kept questions go in once the database answers
                        if h.app.services.questions.kept == 0:
                            break
                        await asyncio.sleep(0.2)
                    assert h.app.services.questions.kept == 0
                    assert await count_questions(url) == len(before) + len(during)
                    # And the bot goes on as before.
                    (reply,) = await ask(h, h.api.user(92_000, "After"), "dormitory?")
                    assert reply["text"] not in ERROR_REPLIES
        finally:
            await proxy.close()
    warnings = [r for r in caplog.records if "database unreachable" in r.getMessage()
                and r.name == "bot.db.health"]
    assert len(warnings) == 1
    tracebacks = [r.getMessage()[:200] for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks[:3]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
