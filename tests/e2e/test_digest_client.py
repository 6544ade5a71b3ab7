"""The digests' Bot API client (bot.digest.client): Telegram's answers turned into results and
exceptions, against a tiny aiohttp server that answers what each test wants and against the
fake Bot API; how the sender treats them; and that the digest path never imports aiogram."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.config import Config, TokenError
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db.models import Delivery
from bot.digest import client as tg
from bot.digest.client import BotApiClient
from bot.digest.pace import Pacer
from bot.digest.sender import SendOptions, create_digest_client
from bot.digest.service import DigestService
from bot.fakeapi import FakeTelegram
from tests.support.digest import News, Sub, add_news, add_subscribers
from tests.support.harness import ROOT, TOKEN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Stub:
    """An HTTP server whose answer is ``self.handler``; records every request."""

    def __init__(self) -> None:
        self.handler: Handler = self.ok
        self.requests: list[dict[str, Any]] = []
        self.base = ""

    @staticmethod
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, "result": {"message_id": 7, "chat": {"id": 1}}})

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append({"path": request.path, "content_type": request.content_type,
                              "json": json.loads(body) if body else None})
        return await self.handler(request)


@contextlib.asynccontextmanager
async def stub_server() -> AsyncIterator[Stub]:
    stub = Stub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub._dispatch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stub.base = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        await runner.cleanup()


def answer(status: int, body: Any = None, *, text: str | None = None,
           headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if text is not None:
            return web.Response(status=status, text=text, content_type="text/html",
                                headers=headers)
        return web.json_response(body, status=status, headers=headers)
    return handler


def error(code: int, description: str, **parameters: Any) -> Handler:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return answer(code, body)


@contextlib.asynccontextmanager
async def client_for(stub: Stub, **kwargs: Any) -> AsyncIterator[BotApiClient]:
    async with BotApiClient(TOKEN, api_server=stub.base, **kwargs) as client:
        yield client


# --- answers ---------------------------------------------------------------------------------


async def test_ok_returns_the_result_and_the_body_is_json() -> None:
    async with stub_server() as stub, client_for(stub) as client:
        result = await client.send_message(42, "<b>Hi</b> Привет")
        assert result == {"message_id": 7, "chat": {"id": 1}}
        await client.send_message(42, "paid", allow_paid_broadcast=True, message_thread_id=5,
                                  parse_mode=None, disable_preview=False)
        await client.edit_message_text(42, 7, "edited")
    first, paid, edit = stub.requests
    assert first["path"] == f"/bot{TOKEN}/sendMessage"
    assert first["content_type"] == "application/json"
    assert first["json"] == {"chat_id": 42, "text": "<b>Hi</b> Привет", "parse_mode": "HTML",
                             "link_preview_options": {"is_disabled": True}}
    assert paid["json"] == {"chat_id": 42, "text": "paid", "message_thread_id": 5,
                            "allow_paid_broadcast": True}
    assert edit["path"] == f"/bot{TOKEN}/editMessageText"
    assert edit["json"] == {"chat_id": 42, "message_id": 7, "text": "edited",
                            "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}


@pytest.mark.parametrize(("handler", "kind", "code", "text"), [
    (error(400, "Bad Request: chat not found"), tg.BadRequest, 400, "chat not found"),
    (error(401, "Unauthorized"), tg.Unauthorized, 401, "Unauthorized"),
    (error(403, "Forbidden: bot was blocked by the user"), tg.Forbidden, 403, "blocked"),
    (error(404, "Not Found"), tg.ApiError, 404, "Not Found"),
    (error(500, "Internal Server Error"), tg.ServerError, 500, "Internal Server Error"),
    (error(502, "Bad Gateway"), tg.ServerError, 502, "Bad Gateway"),
    # A proxy's HTML error page: no Telegram answer, classified by the status alone.
    (answer(502, text="<html><h1>502 Bad Gateway</h1></html>"), tg.ServerError, 502,
     "HTTP 502 Bad Gateway (no Telegram answer in the body)"),
    (answer(403, text=""), tg.Forbidden, 403, "HTTP 403"),
    (answer(200, {"ok": False, "error_code": 400, "description": "Bad Request: odd"}),
     tg.BadRequest, 400, "odd"),
])
async def test_error_answers(handler: Handler, kind: type[tg.ApiError], code: int,
                             text: str) -> None:
    async with stub_server() as stub, client_for(stub) as client:
        stub.handler = handler
        with pytest.raises(tg.ApiError) as info:
            await client.send_message(1, "x")
    assert type(info.value) is kind
    assert info.value.error_code == code and info.value.method == "sendMessage"
    assert text in info.value.description and text in str(info.value)


async def test_retry_after_from_the_parameters_the_header_or_a_default() -> None:
    async with stub_server() as stub, client_for(stub) as client:
        stub.handler = error(429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(tg.RetryAfter) as info:
            await client.send_message(1, "x")
        assert info.value.retry_after == 7 and info.value.error_code == 429
        assert "Too Many Requests" in info.value.description
        stub.handler = answer(429, text="slow down", headers={"Retry-After": "3"})
        with pytest.raises(tg.RetryAfter) as info:
            await client.send_message(1, "x")
        assert info.value.retry_after == 3
        stub.handler = error(429, "Too Many Requests")
        with pytest.raises(tg.RetryAfter) as info:
            await client.send_message(1, "x")
        assert info.value.retry_after == tg.DEFAULT_RETRY_AFTER


@pytest.mark.parametrize("handler", [
    answer(200, text="<html>hello</html>"),
    answer(200, {"result": {"message_id": 1}}),  # JSON, but no "ok"
    answer(200, [1, 2]),
])
async def test_an_unreadable_2xx_answer_is_a_bad_answer_not_an_error(handler) -> None:
    async with stub_server() as stub, client_for(stub) as client:
        stub.handler = handler
        with pytest.raises(tg.BadAnswer) as info:
            await client.send_message(1, "x")
    assert not isinstance(info.value, (tg.ApiError, tg.NetworkError))
    assert info.value.status == 200


async def test_network_errors_connection_refused_dropped_and_timeout() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with BotApiClient(TOKEN, api_server=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(tg.NotSent) as info:
            await client.send_message(1, "x")
        assert "ClientConnectorError" in str(info.value)
        assert info.value.maybe_sent is False  # nothing left: safe to repeat

    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": True})

    async with stub_server() as stub, client_for(stub) as client:
        stub.handler = drop
        with pytest.raises(tg.NetworkError) as info:
            await client.send_message(1, "x")
        assert info.value.maybe_sent is True  # the request was written: it may have arrived
        stub.handler = slow
        with pytest.raises(tg.NetworkError) as info:
            await client.send_message(1, "x", timeout=0.2)
        assert "no answer within 0.2 s" in str(info.value)
        assert info.value.maybe_sent is True
        stub.handler = stub.ok  # the session survives errors
        assert (await client.send_message(1, "x"))["message_id"] == 7


async def test_the_token_is_never_in_exception_text_or_repr() -> None:
    async def loop_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(str(request.url))  # aiohttp's error quotes the URL

    async with stub_server() as stub, client_for(stub) as client:
        stub.handler = loop_redirect
        with pytest.raises(tg.NetworkError) as info:
            await client.send_message(1, "x")
        assert "TooManyRedirects" in str(info.value)
        assert TOKEN not in str(info.value) and tg.MASK in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        assert TOKEN not in repr(client) and stub.base in repr(client)
        assert client.token == TOKEN


async def test_api_server_template_and_a_running_bots_server() -> None:
    async with stub_server() as stub:
        async with BotApiClient(TOKEN, api_server=stub.base + "/proxy/tg/") as client:
            await client.send_message(1, "x")
        assert stub.requests[-1]["path"] == f"/proxy/tg/bot{TOKEN}/sendMessage"

        # The running bot's aiogram Bot: same token and URL template (aiogram is loaded in
        # the bot process anyway; the client only reads the attributes).
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        server = TelegramAPIServer(base=stub.base + "/bot{token}/test/{method}",
                                   file=stub.base + "/file/bot{token}/test/{path}")
        bot = Bot(TOKEN, session=AiohttpSession(api=server))
        try:
            async with BotApiClient.like(bot, connections=8) as client:
                await client.send_message(1, "x")
                assert client.connections == 8 and client.token == TOKEN
        finally:
            await bot.session.close()
        assert stub.requests[-1]["path"] == f"/bot{TOKEN}/test/sendMessage"
    assert tg.url_template() == "https://api.telegram.org/bot{token}/{method}"


def test_create_digest_client_checks_the_token() -> None:
    config = Config.model_validate({"telegram": {"api_server": "http://127.0.0.1:1/"}})
    client = create_digest_client(config, token=TOKEN)
    assert client.url("sendMessage") == f"http://127.0.0.1:1/bot{TOKEN}/sendMessage"
    with pytest.raises(TokenError, match="not set"):
        create_digest_client(Config.model_validate({}))
    for bad in ("nocolon", "12:has space", "12:a/b", ":abc"):
        with pytest.raises(TokenError, match="malformed"):
            create_digest_client(config, token=bad)


async def test_against_the_fake_bot_api_send_then_edit() -> None:
    async with FakeTelegram(token=TOKEN) as api:
        api.add_chat(5)
        async with BotApiClient(TOKEN, api_server=api.base_url) as client:
            sent = await client.send_message(5, "<b>one</b>")
            assert sent["text"] == "one" and sent["chat"]["id"] == 5
            edited = await client.edit_message_text(5, sent["message_id"], "<i>two</i>")
            assert edited["text"] == "two"
            with pytest.raises(tg.BadRequest, match="not modified"):
                await client.edit_message_text(5, sent["message_id"], "<i>two</i>")
            api.block(5)
            with pytest.raises(tg.Forbidden, match="blocked by the user"):
                await client.send_message(5, "three")
        [record] = api.sent(5, method="sendMessage")
        assert record["parse_mode"] == "HTML"
        assert record["params"]["link_preview_options"] == {"is_disabled": True}
        assert "allow_paid_broadcast" not in record["params"]


# --- how the sender treats them --------------------------------------------------------------


class ScriptedClient:
    """A client whose send_message raises what the script says for a chat, in turn."""

    def __init__(self, script: dict[int, list[Exception]]) -> None:
        self.script = script
        self.calls: list[int] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        self.calls.append(chat_id)
        todo = self.script.get(chat_id)
        if todo:
            raise todo.pop(0)
        return {"message_id": len(self.calls)}

    async def close(self) -> None:
        pass


async def test_sender_outcomes_for_each_kind_of_answer(tmp_path: Path) -> None:
    config = Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
        "digest": {"rate": 30, "retries": 2}})
    engine = create_engine(config.database.url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    try:
        await add_news(sessions, [News("kb:one", {"en": "Hello"})])
        await add_subscribers(sessions, [Sub(i) for i in range(1, 9)])
        client = ScriptedClient({
            2: [tg.BadAnswer("sendMessage", 200, "the answer is not Telegram's JSON")],
            3: [tg.ServerError("sendMessage", 502, "HTTP 502 Bad Gateway"),
                tg.NotSent("sendMessage", "ClientConnectorError: refused")],
            4: [tg.Forbidden("sendMessage", 403, "Forbidden: bot was blocked by the user")],
            5: [tg.BadRequest("sendMessage", 400, "Bad Request: chat not found")],
            6: [tg.RetryAfter("sendMessage", 429, "Too Many Requests", retry_after=0)],
            7: [tg.ServerError("sendMessage", 500, "Internal Server Error")] * 3,
            8: [tg.NetworkError("sendMessage", "ServerDisconnectedError: gone")],
        })
        options = SendOptions.from_config(config.digest, base_delay=0.001)
        service = DigestService(config, sessions, client,  # type: ignore[arg-type]
                                options=options, pacer=Pacer(1000, 100))
        summary = await service.run("daily", "outcomes")
        await service.stop()
        async with sessions() as s:
            rows = {d.user_id: d for d in (await s.execute(select(Delivery))).scalars()}
        status = {uid: row.status for uid, row in rows.items()}
        assert status == {1: "sent", 2: "uncertain", 3: "sent", 4: "blocked", 5: "failed",
                          6: "sent", 7: "failed", 8: "uncertain"}
        assert client.calls.count(2) == 1  # an unreadable 200 is never resent
        assert client.calls.count(3) == 3 and rows[3].attempts == 2
        assert client.calls.count(4) == client.calls.count(5) == 1
        assert client.calls.count(6) == 2 and rows[6].attempts == 0
        assert client.calls.count(7) == 3 and rows[7].attempts == 3
        assert client.calls.count(8) == 1  # dropped after it left: maybe delivered, not resent
        assert "not Telegram's JSON" in rows[2].last_error
        assert rows[4].last_error.startswith("Forbidden: bot was blocked by the user")
        assert rows[5].last_error.startswith("Bad Request: chat not found")
        assert (summary.sent, summary.uncertain, summary.blocked, summary.failed) == (3, 2, 1, 2)
        assert summary.retry_after_waits == 1
    finally:
        await engine.dispose()


# --- no aiogram on the digest path -----------------------------------------------------------


def test_the_digest_path_does_not_import_aiogram() -> None:
    """aiogram's import alone is ~130 MB of RSS: more than a digest process needs in all."""
    code = ("import sys\n"
            "import bot.digest.cli, bot.digest.service, bot.digest.sender, "
            "bot.digest.broadcast, bot.digest.client, bot.config\n"
            "from bot.digest import DigestService, Summary, run_due\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram')\n"
            "print(len(loaded), loaded[:5])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr
