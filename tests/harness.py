"""Run the production bot against the fake Bot API, through real long polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot

from bot.app import App, build_app, create_bot
from bot.config import Config
from bot.fakeapi import FakeTelegram
from bot.telegram.retry import RetryMiddleware

ROOT = Path(__file__).resolve().parents[1]
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
            "knowledge": {"path": str(ROOT / "knowledge"), "watch": False}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return Config.model_validate(data)


@contextlib.asynccontextmanager
async def running_bot(tmp_path: Path, config: Config | None = None,
                      **sections) -> AsyncIterator[Harness]:
    config = config or make_config(tmp_path, **sections)
    api = FakeTelegram(token=TOKEN, bot_username="bsmu_test_bot")
    await api.start()
    app = await build_app(config)
    bot = create_bot(config, token=TOKEN, api_server=api.base_url,
                     on_forbidden=app.mark_blocked)
    harness = Harness(api, app, bot, config)
    harness.retry.base_delay = 0.01  # keep backoff real but short
    polling = asyncio.create_task(app.dispatcher.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=1))
    try:
        yield harness
    finally:
        await app.dispatcher.stop_polling()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(polling, 10)
        await app.close()
        await bot.session.close()
        await api.stop()
