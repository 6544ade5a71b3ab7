"""Several instances behind one webhook address, on one PostgreSQL database: every update is
handled once, whichever instance receives it."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app.factory import build_app, create_bot
from bot.app.runner import build_webhook_app
from bot.fakeapi import FakeTelegram
from tests.support.db import temporary_database
from tests.support.harness import TOKEN, make_config

pytestmark = pytest.mark.postgres
SECRET = "s3cret-token_for-tests"


async def _listen(web_app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


def _round_robin(targets: list[str]) -> web.Application:
    """The smallest reverse proxy: each request to the next instance, headers kept."""
    turn = itertools.cycle(targets)
    session: dict[str, aiohttp.ClientSession] = {}

    async def forward(request: web.Request) -> web.Response:
        http = session.setdefault("s", aiohttp.ClientSession())
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        async with http.post(next(turn) + request.path, data=body, headers=headers) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type=resp.content_type)

    async def close(_app: web.Application) -> None:
        if "s" in session:
            await session["s"].close()

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    app.on_cleanup.append(close)
    return app


async def test_two_instances_behind_one_address(tmp_path: Path) -> None:
    async with temporary_database() as url:
        config = make_config(tmp_path, database={"url": url},
                             telegram={"mode": "webhook"}, bot={"flood": {"messages": 100}})
        api = FakeTelegram(token=TOKEN, bot_username="bsmu_test_bot")
        await api.start()
        apps, bots, runners, urls = [], [], [], []
        try:
            for _ in range(2):
                app = await build_app(config)
                bot = create_bot(config, token=TOKEN, api_server=api.base_url,
                                 on_forbidden=app.mark_blocked, metrics=app.metrics)
                runner, base = await _listen(build_webhook_app(app, bot, SECRET))
                apps.append(app)
                bots.append(bot)
                runners.append(runner)
                urls.append(base)
            proxy, proxy_url = await _listen(_round_robin(urls))
            runners.append(proxy)
            path = config.telegram.webhook.path
            await bots[0].set_webhook(proxy_url + path, secret_token=SECRET)
            users = [api.user(7000 + i, language_code="en") for i in range(10)]
            for round_ in range(4):
                for u in users:
                    await u.send_text("is there a dormitory?" if round_ % 2 else "fees?")
            for u in users:
                await api.wait_for(4, chat_id=u.id, since=0, timeout=20)
            await asyncio.sleep(0.5)  # nothing more may arrive
            for u in users:
                assert len(api.sent(u.id)) == 4, api.transcript(u.id)
            handled = [a.metrics.updates.labels("message")._value.get() for a in apps]
            assert sum(handled) == 40 and min(handled) > 0, handled
            # A wrong secret is refused by every instance.
            async with aiohttp.ClientSession() as http, http.post(
                    urls[1] + path, json={"update_id": 1},
                    headers={"X-Telegram-Bot-Api-Secret-Token": "no"}) as r:
                assert r.status == 401
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
            for app, bot in zip(apps, bots, strict=True):
                await app.close(bot=bot)
                await bot.session.close()
            await api.stop()
