"""Run the production bot against the fake Bot API, through real long polling."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot

from bot.app.factory import App, build_app, create_bot
from bot.config import Config
from bot.fakeapi import FakeTelegram, FakeUser
from bot.telegram.retry import RetryMiddleware
from tests.support.kb import KNOWLEDGE
from tests.support.kb import ROOT as ROOT  # re-exported: tests import both from here
from tests.support.kb import copy_knowledge as copy_knowledge

TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"


@dataclass
class Harness:
    api: FakeTelegram
    app: App
    bot: Bot
    config: Config

    @property
    def retry(self) -> RetryMiddleware:
        return next(m for m in self.bot.session.middleware._middlewares
                    if isinstance(m, RetryMiddleware))


def make_config(tmp_path: Path, **sections) -> Config:
    data = {"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
            "knowledge": {"path": str(KNOWLEDGE), "watch": False}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return Config.model_validate(data)


# BOT_TEST_DB=postgres runs every running_bot test on PostgreSQL instead of SQLite (CI does
# both): each SQLite file URL maps to a fresh PostgreSQL database, the same one each time it
# is used again (a second "instance" on the same database), dropped at the end of the run.
PG_DATABASES: dict[str, str] = {}


async def _database_for(config: Config) -> Config:
    if os.environ.get("BOT_TEST_DB") != "postgres" or not config.database.url.startswith(
            "sqlite"):
        return config
    url = PG_DATABASES.get(config.database.url)
    if url is None:
        import asyncpg
        from sqlalchemy.engine import make_url

        from tests.support.db import _asyncpg_dsn, postgres_url_or_skip

        admin = await postgres_url_or_skip()
        name = f"bsmu_test_e2e_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(_asyncpg_dsn(admin))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        PG_DATABASES[config.database.url] = url
    return config.model_copy(update={"database": config.database.model_copy(
        update={"url": url})})


async def drop_test_databases() -> None:
    from sqlalchemy.engine import make_url

    from tests.support.db import drop_database, postgres_url_or_skip

    if not PG_DATABASES:
        return
    admin = await postgres_url_or_skip()
    for url in PG_DATABASES.values():
        await drop_database(admin, make_url(url).database)
    PG_DATABASES.clear()


@contextlib.asynccontextmanager
async def running_bot(tmp_path: Path, config: Config | None = None,
                      **sections) -> AsyncIterator[Harness]:
    config = await _database_for(config or make_config(tmp_path, **sections))
    api = FakeTelegram(token=TOKEN, bot_username="bsmu_test_bot")
    await api.start()
    app = await build_app(config)
    bot = create_bot(config, token=TOKEN, api_server=api.base_url,
                     on_forbidden=app.mark_blocked, metrics=app.metrics)
    harness = Harness(api, app, bot, config)
    harness.retry.base_delay = 0.01  # keep backoff real but short
    polling = asyncio.create_task(app.dispatcher.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=1,
        **app.polling_options()))
    try:
        yield harness
    finally:
        await app.dispatcher.stop_polling()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(polling, 10)
        await harness.retry.drain()  # users being marked blocked
        await app.close()
        await bot.session.close()
        await api.stop()


# --- helpers for tests driving a running bot ---------------------------------------------------


def buttons(record: dict) -> list[dict]:
    """The inline buttons of a sent-record (or message dict), row by row flattened."""
    rows = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b for row in rows for b in row]


def button(record: dict, text: str) -> str:
    """The callback data of the button labelled ``text`` (fails listing the labels)."""
    for b in buttons(record):
        if b.get("text") == text:
            return b["callback_data"]
    labels = [b.get("text") for b in buttons(record)]
    raise AssertionError(f"no button {text!r}; buttons: {labels}")


async def ask(h: Harness, user: FakeUser, text: str, count: int = 1,
              timeout: float = 5.0) -> list[dict]:
    """Send ``text`` as ``user`` and wait for the bot's next ``count`` messages to them."""
    await user.send_text(text)
    return await h.api.wait_for(count, chat_id=user.id, timeout=timeout)


async def settle(h: Harness, timeout: float = 5.0, quiet: float = 0.1) -> None:
    """Wait until every queued update was fetched and handled and nothing ran for ``quiet``
    seconds: then "the bot sent nothing" is a fact, not a race."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle_since = None
    while loop.time() < deadline:
        busy = bool(h.api.pending_updates) or h.app.inflight.count > 0
        if busy:
            idle_since = None
        elif idle_since is None:
            idle_since = loop.time()
        elif loop.time() - idle_since >= quiet:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the bot did not settle within {timeout}s "
                       f"({len(h.api.pending_updates)} pending, {h.app.inflight.count} running)")
