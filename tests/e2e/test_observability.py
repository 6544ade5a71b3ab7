"""/healthz and /metrics of a running bot."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from aiohttp import web

from bot.app import observability
from bot.db import create_engine
from tests.support.harness import running_bot


async def _serve(app) -> tuple[web.AppRunner, str]:
    web_app = web.Application()
    observability.add_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


async def test_health_and_metrics(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        runner, base = await _serve(h.app)
        try:
            user = h.api.user(5150)
            await user.send_text("is there a dormitory?")
            await h.api.wait_for(1, chat_id=5150)
            await user.send_text("what is the weather in Minsk tomorrow")
            await h.api.wait_for(1, chat_id=5150)
            async with aiohttp.ClientSession() as http:
                async with http.get(base + "/healthz") as resp:
                    assert resp.status == 200
                    info = json.loads(await resp.text())
                async with http.get(base + "/metrics") as resp:
                    metrics = await resp.text()
            assert info["status"] == "ok" and info["database"] == "ok"
            assert info["kb_entries"] >= 31 and info["last_update"] is not None
            assert info["last_poll"] is not None and info["last_poll"] < 30
            assert 'bsmu_answers_total{outcome="answered"} 1.0' in metrics
            assert 'bsmu_answers_total{outcome="fallback"} 1.0' in metrics
            assert 'bsmu_updates_total{type="message"} 2.0' in metrics
            # An unreachable database turns the health check red.
            dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
            broken = SimpleNamespace(db=dead, services=h.app.services, metrics=h.app.metrics)
            ok, info = await observability.health(broken)
            await dead.dispose()
        finally:
            await runner.cleanup()
        assert not ok and info["status"] == "fail" and info["database"].startswith("error")
