"""FakeTelegram: an in-process Telegram Bot API server for tests, console mode and benchmarks.

The bot under test talks to it over real HTTP exactly as it talks to api.telegram.org, so
the whole client stack (session, serialization, retries, polling or webhook) is exercised.
Test code drives it from the other side: simulated users create updates, injected faults and
rate limits provoke the failures production sees, and recorded calls show what the bot did.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from .chats import ChatsMixin
from .errors import ApiError, bad_request
from .faults import FaultPlan, FaultsMixin, RateLimiter, normalize_chat_id
from .methods import METHODS, SEND_METHODS
from .params import Params, Upload
from .state import Chat, FileStore, Stats, UpdateQueue
from .users import FakeUser
from .waiting import WaitingMixin
from .webhook import WebhookMixin, WebhookWorker

log = logging.getLogger("bot.fakeapi")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=_dumps(body).encode(), status=status,
                        content_type="application/json")


class FakeTelegram(ChatsMixin, FaultsMixin, WebhookMixin, WaitingMixin):
    """Fake Bot API server; see the package docstring for a walkthrough.

    This class owns the state, the lifecycle, the HTTP endpoints and method dispatch; the
    helpers tests call come from mixins, one module each: chats and simulated people
    (chats.py), injected faults and flood limits (faults.py), webhook registration
    (webhook.py), records and inspection (inspection.py) and waiting (waiting.py).
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "bsmu_test_bot",
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
        *,
        bot_first_name: str = "BSMU Test Bot",
        callback_ttl: float = 15.0,
        history_limit: int | None = None,
        strict_media: bool = False,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id, "is_bot": True, "first_name": bot_first_name,
            "username": bot_username,
        }
        self.me: dict[str, Any] = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        #: Seconds before an unanswered callback query can no longer be answered.
        self.callback_ttl = callback_ttl
        #: Reject uploaded "photos" that are not PNG/JPEG/GIF/WebP (IMAGE_PROCESS_FAILED).
        self.strict_media = strict_media
        #: Artificial delay before answering any method except getUpdates.
        self.latency = 0.0

        self.chats: dict[int, Chat] = {}
        self._usernames: dict[str, Chat] = {}
        self.users: dict[int, FakeUser] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.faults = FaultPlan()
        self.limiter = RateLimiter(global_rate, per_chat_rate)
        self.rate_limited_methods: set[str] = set(SEND_METHODS)
        self.stats = Stats()

        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.settings: dict[tuple[str, Any], Any] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[dict[str, Any]] = []
        self.deleted: list[dict[str, Any]] = []
        self.topics: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.closed = False
        self.logged_out = False

        self._history_limit = history_limit
        self._sent: list[dict[str, Any]] = []
        self._sent_base = 0
        self._calls: deque[dict[str, Any]] = deque(maxlen=history_limit)
        self._call_seq = 0
        self._marks: dict[int | None, tuple[int, int]] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._subscribers: list[Callable[[dict[str, Any]], Any]] = []
        self._webhook_worker = WebhookWorker(self)
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None
        self.port: int | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application; exposed so it can be mounted in another server."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = a free port); returns ``base_url``."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False,
                               shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        site = web.SockSite(runner, sock, backlog=2048)
        await site.start()
        self._runner = runner
        self.port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{self.port}"
        if self.webhook:
            self._webhook_worker.start()
        return self.base_url

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and close the listener."""
        self.updates.shutdown()
        await self._webhook_worker.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """``{base_url}/bot{token}``: prefix of every method URL."""
        return f"{self.base_url}/bot{self.token}"

    def file_url(self, file_path: str) -> str:
        return f"{self.base_url}/file/bot{self.token}/{file_path}"

    # --- HTTP ------------------------------------------------------------------------------

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        stored = self.files.by_path(request.match_info["path"])
        if stored is None:
            return _json_response({"ok": False, "error_code": 404, "description": "Not Found"},
                                  404)
        data = stored.data if stored.data is not None else b"\0" * (stored.file_size or 0)
        return web.Response(body=data, content_type=stored.mime_type or
                            "application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            self.stats.requests += 1
            self.stats.errors += 1
            self.stats.by_error[401] += 1
            return _json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        try:
            raw = await self._read_params(request)
        except ApiError as err:
            return _json_response(err.to_json(), err.error_code)
        try:
            result = await self.execute(request.match_info["method"], raw, via="http")
        except ApiError as err:
            return _json_response(err.to_json(), err.error_code)
        except ConnectionResetError:
            # Injected drop: cut the TCP connection so the client sees no response at all.
            transport = request.transport
            if transport is not None:
                transport.abort()
            return web.Response(status=499)
        return _json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query) if request.query_string else {}
        if not request.body_exists:
            return raw
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(data, dict):
                    raise bad_request("JSON object expected")
                raw.update(data)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or not part.name:
                    continue
                if part.filename is not None:
                    raw[part.name] = Upload(part.filename, part.headers.get("Content-Type"),
                                            bytes(await part.read()))
                else:
                    raw[part.name] = await part.text()
        else:
            form = await request.post()
            for key, value in form.items():
                raw[key] = value if isinstance(value, str) else Upload(
                    value.filename, value.content_type, value.file.read()
                )
        return raw

    # --- method execution ------------------------------------------------------------------

    async def execute(self, method: str, params: dict[str, Any], *, via: str = "direct") -> Any:
        """Run a Bot API method in-process (no HTTP) with all checks, faults and recording.

        Raises ApiError like the HTTP endpoint would answer, or ConnectionResetError for an
        injected dropped connection.
        """
        stats = self.stats
        stats.requests += 1
        lower = method.lower()
        entry = METHODS.get(lower)
        name = entry[0] if entry else method
        stats.by_method[name] += 1
        p = Params(params)
        record: dict[str, Any] = {"method": name, "params": p, "via": via, "time": time.time()}
        fault = None
        try:
            if entry is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self.faults.take(lower, normalize_chat_id(params.get("chat_id"))) if (
                self.faults.faults
            ) else None
            if fault is not None:
                stats.injected += 1
            if fault is not None and not fault.after:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.drop_connection:
                    stats.dropped += 1
                    record["dropped"] = True
                    raise ConnectionResetError("injected dropped connection")
                err = fault.error()
                if err is not None:
                    raise err
            if self.latency and lower != "getupdates":
                await asyncio.sleep(self.latency)
            result = await entry[1](self, p)
        except ApiError as err:
            stats.errors += 1
            stats.by_error[err.error_code] += 1
            record.update(ok=False, result=None, error=err.to_json())
            self._record_call(record)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s -> %s %s", name, err.error_code, err.description)
            raise
        except ConnectionResetError:
            record.update(ok=False, result=None, error=None)
            self._record_call(record)
            raise
        stats.ok += 1
        record.update(ok=True, result=result, error=None)
        self._record_call(record)
        if fault is not None and fault.after:  # carried out; the answer is late or never comes
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop_connection:
                stats.dropped += 1
                record["dropped"] = True
                raise ConnectionResetError("injected dropped connection after the call")
        return result
