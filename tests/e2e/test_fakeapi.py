"""The fake Bot API server, exercised over plain HTTP the way any client would use it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.fakeapi import FakeTelegram
from bot.fakeapi.users import TINY_PNG

TOKEN = "123456:TEST"


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="bsmu_test_bot") as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, api: FakeTelegram, method: str, *, form: bool = False,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """POST a method as JSON (or as a urlencoded form, the way aiogram sends it)."""
    url = f"{api.api_url}/{method}"
    if form:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        resp = await http.post(url, data=data)
    else:
        resp = await http.post(url, json=params)
    async with resp:
        return resp.status, await resp.json()


async def sent_ok(http: aiohttp.ClientSession, api: FakeTelegram, **params: Any) -> dict:
    status, body = await call(http, api, "sendMessage", **params)
    assert status == 200, body
    return body["result"]


def keyboard(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": d or "?", "callback_data": d} for d in data]]}


# --- basics ---------------------------------------------------------------------------------


async def test_get_me_and_routing(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, api, "getMe")
    assert status == 200 and body["ok"] is True
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "bsmu_test_bot"

    async with http.get(f"{api.api_url}/GETME") as resp:  # method names are case-insensitive
        assert (await resp.json())["result"]["username"] == "bsmu_test_bot"

    async with http.post(f"{api.base_url}/bot999:WRONG/getMe") as resp:
        assert resp.status == 401
        assert await resp.json() == {"ok": False, "error_code": 401,
                                     "description": "Unauthorized"}

    status, body = await call(http, api, "sendTelepathy")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


# --- getUpdates -----------------------------------------------------------------------------


async def test_get_updates_offset_confirms(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(1001, first_name="Ann", language_code="ru")
    await user.send_text("/start")
    await user.send_text("hello")

    _, body = await call(http, api, "getUpdates")
    updates = body["result"]
    assert [u["message"]["text"] for u in updates] == ["/start", "hello"]
    first = updates[0]["message"]
    assert first["from"] == {"id": 1001, "is_bot": False, "first_name": "Ann",
                             "language_code": "ru"}
    assert first["chat"] == {"id": 1001, "type": "private", "first_name": "Ann"}
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert updates[1]["message"]["message_id"] == first["message_id"] + 1

    # Without a new offset the same updates come again; offset = last id + 1 confirms them.
    _, again = await call(http, api, "getUpdates", form=True, offset="0")
    assert [u["update_id"] for u in again["result"]] == [u["update_id"] for u in updates]
    _, body = await call(http, api, "getUpdates", offset=updates[0]["update_id"] + 1)
    assert [u["message"]["text"] for u in body["result"]] == ["hello"]
    _, body = await call(http, api, "getUpdates", offset=updates[-1]["update_id"] + 1)
    assert body["result"] == []
    assert api.pending_updates == []


async def test_get_updates_limit_and_allowed_updates(
    api: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    user = api.user(1002)
    for i in range(5):
        await user.send_text(f"m{i}")
    _, body = await call(http, api, "getUpdates", limit=2)
    assert len(body["result"]) == 2

    api.inject_update({"edited_message": {"message_id": 1, "chat": {"id": 1002, "type":
                                          "private", "first_name": "Test"}, "text": "e"}})
    _, body = await call(http, api, "getUpdates", allowed_updates=["edited_message"])
    assert [u.get("edited_message", {}).get("text") for u in body["result"]] == ["e"]


async def test_long_poll_times_out_empty(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    _, body = await call(http, api, "getUpdates", timeout=1)
    assert body == {"ok": True, "result": []}
    assert 0.9 <= time.monotonic() - started < 3


async def test_long_poll_woken_by_update(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    poll = asyncio.create_task(call(http, api, "getUpdates", form=True, timeout="30"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    update = api.inject_update({"message": {"chat": {"id": 77, "type": "private",
                                                      "first_name": "X"}, "text": "ping"}})
    _, body = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 1
    assert body["result"] == [update]
    assert update["message"]["message_id"] == 1
    # The injected message made the chat known.
    await sent_ok(http, api, chat_id=77, text="pong")


async def test_second_poll_terminates_first(
    api: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, api, "getUpdates", timeout=30))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(call(http, api, "getUpdates", timeout=1))
    status, body = await asyncio.wait_for(first, 5)
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert (await second)[1]["result"] == []


# --- sendMessage ----------------------------------------------------------------------------


async def test_send_message_ok(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(2001, first_name="Bo")
    incoming = await user.send_text("hi")
    markup = keyboard("lang:en", "lang:ru")
    msg = await sent_ok(
        http, api, chat_id=2001, text="<b>Welcome</b>, &lt;friend&gt;!", parse_mode="HTML",
        reply_markup=markup, reply_parameters={"message_id": incoming["message_id"]},
        link_preview_options={"is_disabled": True},
    )
    assert msg["message_id"] == incoming["message_id"] + 1
    assert msg["from"]["is_bot"] is True and msg["from"]["id"] == 123456
    assert msg["chat"]["id"] == 2001 and isinstance(msg["date"], int)
    assert msg["text"] == "Welcome, <friend>!"
    assert msg["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
    assert msg["reply_markup"] == markup
    assert msg["reply_to_message"]["text"] == "hi"

    # Same call as a form, as aiogram sends it: nested objects are JSON strings.
    status, body = await call(http, api, "sendMessage", form=True, chat_id="2001",
                              text="second", reply_markup=markup)
    assert status == 200 and body["result"]["message_id"] == msg["message_id"] + 1
    assert body["result"]["reply_markup"] == markup

    records = api.sent(2001)
    assert [r["text"] for r in records] == ["<b>Welcome</b>, &lt;friend&gt;!", "second"]
    assert records[0]["plain_text"] == "Welcome, <friend>!"
    assert records[0]["parse_mode"] == "HTML"
    assert records[0]["reply_markup"] == markup
    assert records[1]["params"]["reply_markup"] == markup
    assert [c["method"] for c in api.calls("sendMessage")] == ["sendMessage"] * 2


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Hello <br> world", 'Unsupported start tag "br" at byte offset 6'),
        ("Привет <br>", 'Unsupported start tag "br" at byte offset 13'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("plain</b>", "Unexpected end tag at byte offset 5"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ],
)
async def test_html_errors(
    api: FakeTelegram, http: aiohttp.ClientSession, text: str, description: str
) -> None:
    api.add_chat(3001)
    status, body = await call(http, api, "sendMessage", chat_id=3001, text=text,
                              parse_mode="HTML")
    assert status == 400
    assert body == {"ok": False, "error_code": 400,
                    "description": f"Bad Request: can't parse entities: {description}"}
    assert api.sent() == []
    assert api.calls("sendMessage")[0]["error"]["error_code"] == 400


async def test_html_accepted_markup(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(3002)
    text = ('<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>'
            '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span>'
            '<tg-spoiler>q</tg-spoiler><a href="https://bsmu.by">a</a>'
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><code>c</code>'
            '<pre><code class="language-python">x</code></pre>'
            '<blockquote expandable>z</blockquote> a > b &amp; &#169; &#x263A; &quot;')
    msg = await sent_ok(http, api, chat_id=3002, text=text, parse_mode="html")
    assert msg["text"].endswith('z a > b & © ☺ "')
    types = [e["type"] for e in msg["entities"]]
    assert "expandable_blockquote" in types and "custom_emoji" in types
    assert {"type": "pre", "offset": 15, "length": 1, "language": "python"} in msg["entities"]


async def test_markdown_v2_reserved_character(
    api: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    api.add_chat(3003)
    status, body = await call(http, api, "sendMessage", chat_id=3003, text="Done.",
                              parse_mode="MarkdownV2")
    assert status == 400
    assert body["description"] == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
        "with the preceding '\\'"
    )
    msg = await sent_ok(http, api, chat_id=3003, text="*Done*\\.", parse_mode="MarkdownV2")
    assert msg["text"] == "Done."


async def test_text_length_and_empty(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(3004)
    # Tags do not count: 4096 characters of text inside <b> is fine, 4097 is not.
    await sent_ok(http, api, chat_id=3004, text=f"<b>{'я' * 4096}</b>", parse_mode="HTML")
    status, body = await call(http, api, "sendMessage", chat_id=3004, text="x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    for empty in ("", "   ", "<b> </b>"):
        status, body = await call(http, api, "sendMessage", chat_id=3004, text=empty,
                                  parse_mode="HTML")
        assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await call(http, api, "sendMessage", chat_id=3004)
    assert body["description"] == "Bad Request: message text is empty"


async def test_chat_not_found(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.user(4001)  # a user who never wrote to the bot is not a known chat
    status, body = await call(http, api, "sendMessage", chat_id=4001, text="hi")
    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    status, body = await call(http, api, "sendMessage", text="hi")
    assert body["description"] == "Bad Request: chat_id is empty"
    api.user(4001, register=True)
    await sent_ok(http, api, chat_id=4001, text="hi")


@pytest.mark.parametrize("data", ["x" * 65, "", "я" * 33])
async def test_bad_callback_data(
    api: FakeTelegram, http: aiohttp.ClientSession, data: str
) -> None:
    api.add_chat(4002)
    status, body = await call(http, api, "sendMessage", chat_id=4002, text="pick",
                              reply_markup=keyboard(data))
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


async def test_caption_too_long(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(4003)
    status, body = await call(http, api, "sendPhoto", chat_id=4003, photo="https://x.y/a.jpg",
                              caption="c" * 1025)
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")


# --- faults ---------------------------------------------------------------------------------


async def test_injected_429_then_success(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(5001)
    api.fail_next("sendMessage", error_code=429, retry_after=3, chat_id=5001)
    status, body = await call(http, api, "sendMessage", chat_id=5001, text="a")
    assert status == 429
    assert body == {"ok": False, "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3}}
    assert api.sent() == []
    await sent_ok(http, api, chat_id=5001, text="a")
    assert [r["text"] for r in api.sent(5001)] == ["a"]
    assert api.stats.too_many_requests == 1 and api.stats.injected == 1


@pytest.mark.parametrize(
    ("code", "description"),
    [(403, "Forbidden: bot was blocked by the user"), (500, "Internal Server Error"),
     (502, "Bad Gateway")],
)
async def test_injected_error_codes(
    api: FakeTelegram, http: aiohttp.ClientSession, code: int, description: str
) -> None:
    api.add_chat(5002)
    api.fail_next("sendMessage", error_code=code, times=2)
    for _ in range(2):
        status, body = await call(http, api, "sendMessage", chat_id=5002, text="x")
        assert (status, body["description"]) == (code, description)
    await sent_ok(http, api, chat_id=5002, text="x")


async def test_block_and_deactivate(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(5003, register=True)
    api.block(user.id)
    for method, extra in (("sendMessage", {"text": "x"}), ("sendChatAction",
                                                          {"action": "typing"})):
        status, body = await call(http, api, method, chat_id=5003, **extra)
        assert (status, body) == (403, {"ok": False, "error_code": 403,
                                        "description": "Forbidden: bot was blocked by the user"})
    api.unblock(user.id)
    await sent_ok(http, api, chat_id=5003, text="back")
    api.deactivate(user.id)
    status, body = await call(http, api, "sendMessage", chat_id=5003, text="x")
    assert (status, body["description"]) == (403, "Forbidden: user is deactivated")
    assert len(api.sent(5003)) == 1


async def test_drop_connection(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(5004)
    api.fail_next("sendMessage", drop_connection=True)
    with pytest.raises(aiohttp.ClientError):
        await call(http, api, "sendMessage", chat_id=5004, text="lost")
    assert api.sent() == [] and api.stats.dropped == 1
    assert api.calls("sendMessage")[0]["dropped"] is True
    await sent_ok(http, api, chat_id=5004, text="retried")


async def test_global_rate_limit(http: aiohttp.ClientSession) -> None:
    async with FakeTelegram(token=TOKEN, global_rate=20) as api:
        for chat_id in range(6000, 6010):
            api.add_chat(chat_id)
        started = time.monotonic()
        results = await asyncio.gather(*(
            call(http, api, "sendMessage", chat_id=6000 + i % 10, text=f"n{i}")
            for i in range(60)
        ))
        elapsed = time.monotonic() - started
        limited = [body for status, body in results if status == 429]
        delivered = [body for status, body in results if status == 200]
        assert len(limited) + len(delivered) == 60
        # A one-second burst of 20, plus whatever refilled while the burst was being served.
        assert 20 <= len(delivered) <= 21 + int(elapsed * 20)
        assert limited
        for body in limited:
            retry = body["parameters"]["retry_after"]
            assert isinstance(retry, int) and retry >= 1
            assert body["description"] == f"Too Many Requests: retry after {retry}"
        # Refused messages are not delivered and are counted.
        assert len(api.sent()) == len(delivered) == api.stats.sent
        assert api.stats.rate_limited == len(limited) == api.stats.too_many_requests
        # Refusals do not consume capacity: after a refill the sender gets through again.
        await asyncio.sleep(0.2)
        assert (await call(http, api, "sendMessage", chat_id=6000, text="later"))[0] == 200


async def test_per_chat_rate_limit(http: aiohttp.ClientSession) -> None:
    async with FakeTelegram(token=TOKEN, per_chat_rate=1) as api:
        api.add_chat(6100)
        api.add_chat(6101)
        assert (await call(http, api, "sendMessage", chat_id=6100, text="1"))[0] == 200
        status, body = await call(http, api, "sendMessage", chat_id=6100, text="2")
        assert status == 429 and body["parameters"]["retry_after"] == 1
        assert (await call(http, api, "sendMessage", chat_id=6101, text="1"))[0] == 200


# --- media ----------------------------------------------------------------------------------


async def test_multipart_send_photo(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(7001)
    form = aiohttp.FormData()
    form.add_field("chat_id", "7001")
    form.add_field("caption", "<i>Campus</i>")
    form.add_field("parse_mode", "HTML")
    form.add_field("reply_markup", json.dumps(keyboard("more")))
    form.add_field("photo", "attach://upload1")  # aiogram style: field points at the part
    form.add_field("upload1", TINY_PNG, filename="campus.png", content_type="image/png")
    async with http.post(f"{api.api_url}/sendPhoto", data=form) as resp:
        body = await resp.json()
    assert resp.status == 200, body
    msg = body["result"]
    assert msg["caption"] == "Campus"
    assert msg["caption_entities"] == [{"type": "italic", "offset": 0, "length": 6}]
    assert msg["reply_markup"] == keyboard("more")
    photo = msg["photo"][-1]
    assert {"file_id", "file_unique_id", "width", "height"} <= photo.keys()
    assert (photo["width"], photo["height"]) == (1, 1)

    record = api.sent(7001)[0]
    assert record["method"] == "sendPhoto" and record["caption"] == "<i>Campus</i>"
    assert record["params"]["upload1"]["upload"] == "campus.png"

    _, body = await call(http, api, "getFile", file_id=photo["file_id"])
    async with http.get(api.file_url(body["result"]["file_path"])) as resp:
        assert await resp.read() == TINY_PNG

    # Re-sending by file_id reuses the file; the same upload as a part named "photo" works too.
    again = await call(http, api, "sendPhoto", chat_id=7001, photo=photo["file_id"])
    assert again[1]["result"]["photo"][-1]["file_id"] == photo["file_id"]
    form = aiohttp.FormData()
    form.add_field("chat_id", "7001")
    form.add_field("photo", TINY_PNG, filename="p.png", content_type="image/png")
    async with http.post(f"{api.api_url}/sendPhoto", data=form) as resp:
        assert resp.status == 200
    status, body = await call(http, api, "sendPhoto", chat_id=7001, photo="nonsense")
    assert status == 400
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"


async def test_send_document_multipart(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(7002)
    form = aiohttp.FormData()
    form.add_field("chat_id", "7002")
    form.add_field("document", b"a,b\n1,2\n", filename="list.csv", content_type="text/csv")
    async with http.post(f"{api.api_url}/sendDocument", data=form) as resp:
        doc = (await resp.json())["result"]["document"]
    assert doc["file_name"] == "list.csv" and doc["mime_type"] == "text/csv"
    assert doc["file_size"] == 8


# --- webhook --------------------------------------------------------------------------------


async def test_webhook_delivery_with_secret(
    api: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        if "message" in update and update["message"]["text"] == "reply inline":
            # Answering with a method in the body makes Telegram execute it.
            return web.json_response({"method": "sendMessage",
                                      "chat_id": update["message"]["chat"]["id"],
                                      "text": "from webhook reply"})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/hook"
        status, body = await call(http, api, "setWebhook", url=url, secret_token="s3cr3t_-X")
        assert (status, body["result"]) == (200, True)
        _, info = await call(http, api, "getWebhookInfo")
        assert info["result"]["url"] == url

        status, body = await call(http, api, "getUpdates")
        assert status == 409 and "webhook is active" in body["description"]

        user = api.user(8001)
        sent = await user.send_text("hello webhook")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cr3t_-X"
        assert update["message"] == sent and isinstance(update["update_id"], int)

        await user.send_text("reply inline")
        await asyncio.wait_for(received.get(), 5)
        [record] = await api.wait_for(1, chat_id=user.id)
        assert record["text"] == "from webhook reply"
        assert api.calls("sendMessage")[0]["via"] == "webhook_reply"

        await call(http, api, "deleteWebhook")
        await user.send_text("polled")
        _, body = await call(http, api, "getUpdates")
        assert [u["message"]["text"] for u in body["result"]] == ["polled"]
    finally:
        await runner.cleanup()


async def test_webhook_retries_failed_delivery(api: FakeTelegram) -> None:
    attempts: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        attempts.append(1)
        return web.Response(status=500 if len(attempts) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await api.execute("setWebhook", {"url": f"http://127.0.0.1:{runner.addresses[0][1]}/hook"})
        await api.user(8002).send_text("x")
        for _ in range(100):
            if not api.pending_updates:
                break
            await asyncio.sleep(0.02)
        assert len(attempts) == 2 and api.pending_updates == []
        info = api.webhook_info()
        assert info["last_error_message"].startswith("Wrong response from the webhook: 500")
    finally:
        await runner.cleanup()


# --- interaction ----------------------------------------------------------------------------


async def test_press_edit_and_answer(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(9001)
    await user.send_text("/start")
    msg = await sent_ok(http, api, chat_id=9001, text="Pick", reply_markup=keyboard("a", "b"))
    [record] = await api.wait_for(1, chat_id=user.id)

    with pytest.raises(ValueError, match="no button"):
        await user.press(record, "zzz")
    query_id = await user.press(record, "b")
    _, body = await call(http, api, "getUpdates")
    query = body["result"][-1]["callback_query"]
    assert query["id"] == query_id and query["data"] == "b"
    assert query["message"]["message_id"] == msg["message_id"]
    assert query["from"]["id"] == 9001

    status, body = await call(http, api, "answerCallbackQuery", callback_query_id=query_id,
                              text="Saved", show_alert=True)
    assert status == 200
    answer = await api.wait_callback_answer(query_id)
    assert (answer["text"], answer["show_alert"], answer["data"]) == ("Saved", True, "b")
    status, body = await call(http, api, "answerCallbackQuery", callback_query_id=query_id)
    assert body["description"] == ("Bad Request: query is too old and response timeout "
                                   "expired or query ID is invalid")

    edit = {"chat_id": 9001, "message_id": msg["message_id"]}
    status, body = await call(http, api, "editMessageText", text="Pick",
                              reply_markup=keyboard("a", "b"), **edit)
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified: ")
    status, body = await call(http, api, "editMessageText", text="Picked b", **edit)
    assert status == 200 and "reply_markup" not in body["result"]
    assert "edit_date" in body["result"]
    assert api.message(9001, msg["message_id"])["text"] == "Picked b"
    assert api.sent(9001, method="editMessageText")[0]["text"] == "Picked b"
    status, body = await call(http, api, "editMessageText", chat_id=9001, message_id=999,
                              text="x")
    assert body["description"] == "Bad Request: message to edit not found"

    status, body = await call(http, api, "deleteMessage", **edit)
    assert body["result"] is True and api.message(9001, msg["message_id"]) is None
    status, body = await call(http, api, "deleteMessage", **edit)
    assert body["description"] == "Bad Request: message to delete not found"


async def test_wait_for_timeout_is_helpful(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(9002)
    await user.send_text("/help")
    await call(http, api, "sendMessage", chat_id=9002, text="<br>", parse_mode="HTML")
    with pytest.raises(TimeoutError) as excinfo:
        await api.wait_for(1, chat_id=user.id, timeout=0.2)
    text = str(excinfo.value)
    assert "sent nothing" in text and 'Unsupported start tag "br"' in text


async def test_commands_per_scope(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    commands = [{"command": "start", "description": "Start"},
                {"command": "help", "description": "Help"}]
    await call(http, api, "setMyCommands", commands=commands)
    await call(http, api, "setMyCommands", form=True, commands=commands[:1],
               scope={"type": "all_private_chats"}, language_code="ru")
    assert (await call(http, api, "getMyCommands"))[1]["result"] == commands
    _, body = await call(http, api, "getMyCommands", scope={"type": "all_private_chats"},
                         language_code="ru")
    assert body["result"] == commands[:1]
    assert api.commands[("all_private_chats", "ru")] == commands[:1]
    status, body = await call(http, api, "setMyCommands",
                              commands=[{"command": "Bad-Name", "description": "x"}])
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    await call(http, api, "deleteMyCommands")
    assert (await call(http, api, "getMyCommands"))[1]["result"] == []


async def test_forum_group_copy_forward(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    forum = api.group(-1001234567890, "Applicants", is_forum=True)
    user = api.user(9003, username="ann")
    status, body = await call(http, api, "createForumTopic", chat_id=forum.id, name="Visas")
    assert status == 200
    thread = body["result"]["message_thread_id"]
    assert body["result"]["name"] == "Visas"

    question = await user.send_text("How long is a visa?", chat=forum, thread_id=thread)
    assert question["chat"]["is_forum"] is True and question["message_thread_id"] == thread
    msg = await sent_ok(http, api, chat_id=forum.id, text="90 days", message_thread_id=thread)
    assert msg["message_thread_id"] == thread and msg["is_topic_message"] is True
    status, body = await call(http, api, "sendMessage", chat_id=forum.id, text="x",
                              message_thread_id=424242)
    assert body["description"] == "Bad Request: message thread not found"

    admins = api.group(-100777, "Admins")
    _, body = await call(http, api, "copyMessage", chat_id=admins.id, from_chat_id=forum.id,
                         message_id=question["message_id"])
    copied = api.message(admins.id, body["result"]["message_id"])
    assert copied["text"] == "How long is a visa?" and copied["from"]["is_bot"] is True
    _, body = await call(http, api, "forwardMessage", chat_id=admins.id, from_chat_id=forum.id,
                         message_id=question["message_id"])
    assert body["result"]["forward_origin"]["sender_user"]["id"] == 9003
    _, body = await call(http, api, "copyMessage", chat_id=admins.id, from_chat_id=forum.id,
                         message_id=99999)
    assert body["description"] == "Bad Request: message to copy not found"

    status, body = await call(http, api, "setMessageReaction", chat_id=forum.id,
                              message_id=question["message_id"],
                              reaction=[{"type": "emoji", "emoji": "👍"}])
    assert body["result"] is True
    assert api.reactions(forum.id, question["message_id"])[0]["emoji"] == "👍"
    _, body = await call(http, api, "getChat", chat_id=forum.id)
    assert body["result"]["type"] == "supergroup" and body["result"]["is_forum"] is True


async def test_user_media_helpers(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(9004)
    photo = await user.send_photo(caption="my passport")
    sticker = await user.send_sticker()
    voice = await user.send_voice()
    doc = await user.send_document("cv.pdf")
    loc = await user.send_location()
    assert photo["photo"][-1]["width"] == 1280 and photo["caption"] == "my passport"
    assert sticker["sticker"]["emoji"] == "👍" and voice["voice"]["duration"] == 3
    assert doc["document"]["file_name"] == "cv.pdf" and "latitude" in loc["location"]
    _, body = await call(http, api, "getFile", file_id=doc["document"]["file_id"])
    async with http.get(api.file_url(body["result"]["file_path"])) as resp:
        assert (await resp.read()).startswith(b"%PDF")
    _, body = await call(http, api, "getUpdates")
    kinds = [next(k for k in u["message"] if k in ("photo", "sticker", "voice", "document",
                                                   "location")) for u in body["result"]]
    assert kinds == ["photo", "sticker", "voice", "document", "location"]


async def test_wait_for_semantics(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    user = api.user(9100)
    await user.send_text("/start")
    await sent_ok(http, api, chat_id=9100, text="one")
    # The reply already arrived: waiting starts at the user's action, so it is not missed.
    assert [r["text"] for r in await api.wait_for(1, chat_id=user)] == ["one"]

    waiter = asyncio.create_task(api.wait_for(lambda r: "three" in r["text"], chat_id=9100))
    for text in ("two", "three"):
        await sent_ok(http, api, chat_id=9100, text=text)
    assert [r["text"] for r in await waiter] == ["three"]

    mark = api.mark()
    await call(http, api, "sendChatAction", chat_id=9100, action="typing")
    await sent_ok(http, api, chat_id=9100, text="four")
    assert [r["text"] for r in await api.wait_for(1, since=mark)] == ["four"]
    assert (await api.wait_for_call("sendChatAction"))["params"]["action"] == "typing"
    assert api.chat_actions[-1]["action"] == "typing"


async def test_wait_for_many_messages_is_linear(api: FakeTelegram) -> None:
    api.add_chat(9200)
    waiter = asyncio.create_task(api.wait_for(3000, chat_id=9200, timeout=10))
    await asyncio.sleep(0)
    started = time.monotonic()
    for i in range(3000):
        await api.execute("sendMessage", {"chat_id": 9200, "text": f"m{i}"})
    assert len(await waiter) == 3000
    assert time.monotonic() - started < 3


async def test_inject_raw_callback_query(api: FakeTelegram, http: aiohttp.ClientSession) -> None:
    api.add_chat(9300)
    msg = await sent_ok(http, api, chat_id=9300, text="x", reply_markup=keyboard("go"))
    update = api.inject_update({"callback_query": {
        "id": "q-1", "from": {"id": 9300, "is_bot": False, "first_name": "Z"},
        "message": msg, "chat_instance": "1", "data": "go",
    }})
    assert update["update_id"] >= 1
    status, _ = await call(http, api, "answerCallbackQuery", callback_query_id="q-1")
    assert status == 200
    assert api.callback_answers[0]["data"] == "go"
