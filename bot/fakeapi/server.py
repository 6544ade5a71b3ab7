"""FakeTelegram: an in-process Telegram Bot API server for tests, console mode and benchmarks.

The bot under test talks to it over real HTTP exactly as it talks to api.telegram.org, so
the whole client stack (session, serialization, retries, polling or webhook) is exercised.
Test code drives it from the other side: simulated users create updates, injected faults and
rate limits provoke the failures production sees, and recorded calls show what the bot did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import ApiError, bad_request
from .faults import Fault, FaultPlan, RateLimiter
from .methods import METHODS, SEND_METHODS
from .params import Params, Upload
from .render import render_message, render_record
from .state import Chat, FileStore, Stats, UpdateQueue
from .users import FakeGroup, FakeUser
from .webhook import WebhookWorker

log = logging.getLogger("bot.fakeapi")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

FORBIDDEN = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
DEACTIVATED = "Forbidden: user is deactivated"


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=_dumps(body).encode(), status=status,
                        content_type="application/json")


class FakeTelegram:
    """Fake Bot API server; see the package docstring for a walkthrough."""

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
        try:
            if entry is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self.faults.take(lower, _chat_key(params.get("chat_id"))) if (
                self.faults.faults
            ) else None
            if fault is not None:
                stats.injected += 1
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
        return result

    def _record_call(self, record: dict[str, Any]) -> None:
        self._call_seq += 1
        record["seq"] = self._call_seq
        self._calls.append(record)
        if self._waiters:
            self.notify()

    def record_sent(self, record: dict[str, Any]) -> None:
        """Called by send/edit methods; feeds sent(), wait_for() and subscribers."""
        sent = self._sent
        record["seq"] = self._sent_base + len(sent)
        sent.append(record)
        limit = self._history_limit
        if limit is not None and len(sent) > limit:
            drop = len(sent) - limit // 2
            del sent[:drop]
            self._sent_base += drop
        if self._waiters:
            self.notify()
        for callback in self._subscribers:
            try:
                callback(record)
            except Exception:
                log.exception("FakeTelegram subscriber failed")

    def notify(self) -> None:
        """Re-evaluate pending wait_for() conditions after any recorded change."""
        if not self._waiters:
            return
        keep = []
        for check, fut in self._waiters:
            if fut.done():
                continue
            try:
                ready = check()
            except Exception as exc:  # a broken predicate must fail the test, not hang it
                fut.set_exception(exc)
                continue
            if ready:
                fut.set_result(None)
            else:
                keep.append((check, fut))
        self._waiters = keep

    # --- chats -----------------------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        *,
        title: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> Chat:
        """Make a chat known to the bot (Telegram answers 'chat not found' otherwise)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            if is_forum:
                type = "supergroup"
            chat = Chat(id=chat_id, type=type, title=title, first_name=first_name,
                        last_name=last_name, username=username, is_forum=is_forum)
            self.chats[chat_id] = chat
            if username:
                self._usernames[username.lower()] = chat
        return chat

    def chat(self, ref: Any) -> Chat:
        """A known chat from an id, Chat, FakeGroup, FakeUser or message dict."""
        if isinstance(ref, Chat):
            return ref
        if isinstance(ref, FakeGroup):
            return ref.chat
        if isinstance(ref, FakeUser):
            return self.private_chat(ref)
        if isinstance(ref, dict):
            ref = ref.get("chat_id", ref.get("chat", {}).get("id"))
        chat = self.chats.get(int(ref))
        if chat is None:
            raise LookupError(f"chat {ref} is not known to FakeTelegram")
        return chat

    def resolve_chat(self, value: Any, name: str = "chat_id") -> Chat:
        """Look a chat_id parameter up the way Telegram does (ids or @usernames)."""
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        chat: Chat | None = None
        if isinstance(value, bool):
            chat = None
        elif isinstance(value, int):
            chat = self.chats.get(value)
        elif isinstance(value, str):
            text = value.strip()
            if text.startswith("@"):
                chat = self._usernames.get(text[1:].lower())
            else:
                try:
                    chat = self.chats.get(int(text))
                except ValueError:
                    chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def private_chat(self, user: FakeUser) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.add_chat(user.id, "private", first_name=user.first_name,
                                 last_name=user.last_name, username=user.username)
        return chat

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        *,
        last_name: str | None = None,
        register: bool = False,
    ) -> FakeUser:
        """A simulated user; their private chat becomes known when they first write
        (or at once with ``register=True``, e.g. for broadcast targets). The same id always
        returns the same helper."""
        existing = self.users.get(user_id)
        if existing is None:
            existing = FakeUser(self, user_id, first_name, language_code, username, last_name)
            self.users[user_id] = existing
        if register:
            self.private_chat(existing)
        return existing

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        is_forum: bool = False,
        *,
        type: str | None = None,
        username: str | None = None,
    ) -> FakeGroup:
        """A group the bot is in; forums are supergroups whose messages carry thread ids."""
        if type is None:
            type = "supergroup" if is_forum or chat_id <= -1_000_000_000_000 else "group"
        return FakeGroup(self, self.add_chat(chat_id, type, title=title, username=username,
                                             is_forum=is_forum))

    def block(self, chat_id: Any, *, notify: bool = False) -> None:
        """Every call into the chat now gets 403 (user blocked the bot / bot was kicked)."""
        chat = self._known_or_private(chat_id)
        chat.forbidden = FORBIDDEN.get(chat.type, FORBIDDEN["private"])
        if notify:
            self._member_update(chat, "member", "kicked")

    def unblock(self, chat_id: Any, *, notify: bool = False) -> None:
        chat = self._known_or_private(chat_id)
        chat.forbidden = None
        if notify:
            self._member_update(chat, "kicked", "member")

    def deactivate(self, chat_id: Any) -> None:
        """The account was deleted: 403 'user is deactivated' from now on."""
        self._known_or_private(chat_id).forbidden = DEACTIVATED

    def _known_or_private(self, ref: Any) -> Chat:
        try:
            return self.chat(ref)
        except LookupError:
            return self.add_chat(int(ref), "private")

    def _member_update(self, chat: Chat, old: str, new: str) -> None:
        user = self.users.get(chat.id)
        actor = user.json if user else {"id": chat.id, "is_bot": False, "first_name": "User"}
        member_new: dict[str, Any] = {"status": new, "user": self.bot_user}
        if new == "kicked":
            member_new["until_date"] = 0
        self.push_update({"my_chat_member": {
            "chat": chat.to_json(), "from": actor, "date": int(time.time()),
            "old_chat_member": {"status": old, "user": self.bot_user},
            "new_chat_member": member_new,
        }}, chat.id)

    # --- faults & limits -------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        error_code: int | None = 429,
        retry_after: int | None = 2,
        description: str | None = None,
        chat_id: Any = None,
        times: int = 1,
        *,
        drop_connection: bool = False,
        parameters: dict[str, Any] | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next ``times`` matching calls fail instead of running.

        ``method`` None or "*" matches any method except getUpdates; ``chat_id`` narrows it
        to one chat. ``drop_connection`` closes the TCP connection without answering;
        ``error_code=None`` with ``delay`` just slows the call down.
        """
        fault = Fault(
            method=None if method in (None, "*") else method.lower(),  # type: ignore[union-attr]
            error_code=error_code,
            retry_after=retry_after,
            description=description,
            chat_id=_chat_key(chat_id.id if hasattr(chat_id, "id") else chat_id),
            times=times,
            drop_connection=drop_connection,
            parameters=parameters,
            delay=delay,
        )
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_rate_limits(
        self, global_rate: float | None = None, per_chat_rate: float | None = None
    ) -> None:
        """Change flood limits (messages per second); None disables that limit."""
        self.limiter.configure(global_rate, per_chat_rate)

    @property
    def global_rate(self) -> float | None:
        return self.limiter.global_rate

    @property
    def per_chat_rate(self) -> float | None:
        return self.limiter.per_chat_rate

    # --- updates ---------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any], chat_id: int | None = None) -> dict[str, Any]:
        """Queue an update (or hand it to the webhook) and mark where replies start."""
        self._marks[None] = (self._sent_base + len(self._sent), self._call_seq)
        if chat_id is not None:
            self._marks[chat_id] = self._marks[None]
        update = self.updates.push(update)
        if self.webhook and self._runner is not None:
            self._webhook_worker.start()
        return update

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary raw update; chats and messages in it become known.

        Returns the update with its update_id (assigned if missing).
        """
        update = dict(update)
        chat_id = None
        for key in ("message", "channel_post", "edited_message", "edited_channel_post",
                    "business_message"):
            msg = update.get(key)
            if isinstance(msg, dict) and isinstance(msg.get("chat"), dict):
                chat = self._chat_from_json(msg["chat"])
                chat_id = chat.id
                msg = dict(msg)
                if "message_id" not in msg:
                    msg["message_id"] = chat.allocate_id()
                elif key in ("message", "channel_post", "business_message"):
                    chat.allocate_id(int(msg["message_id"]))
                msg.setdefault("date", int(time.time()))
                if "message_thread_id" in msg and chat.is_forum:
                    chat.threads.add(int(msg["message_thread_id"]))
                if key.startswith("edited"):
                    chat.messages[msg["message_id"]] = msg
                else:
                    chat.store(msg)
                update[key] = msg
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            message = query.get("message") or {}
            chat_id = (message.get("chat") or {}).get("id")
            self.callback_queries[str(query["id"])] = {
                "created": time.monotonic(), "answered": False,
                "user_id": (query.get("from") or {}).get("id"), "chat_id": chat_id,
                "message_id": message.get("message_id"), "data": query.get("data"),
            }
        return self.push_update(update, chat_id)

    def _chat_from_json(self, obj: dict[str, Any]) -> Chat:
        chat = self.chats.get(int(obj["id"]))
        if chat is None:
            chat = self.add_chat(
                int(obj["id"]), obj.get("type", "private"), title=obj.get("title"),
                first_name=obj.get("first_name"), last_name=obj.get("last_name"),
                username=obj.get("username"), is_forum=bool(obj.get("is_forum")),
            )
        return chat

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return self.updates.pending

    async def set_webhook(self, config: dict[str, Any] | None) -> None:
        self.webhook = config
        if config is None:
            await self._webhook_worker.stop()
        elif self._runner is not None:
            self._webhook_worker.start()
            self._webhook_worker.kick()

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": bool(self.webhook and
                                           self.webhook.get("has_custom_certificate")),
            "pending_update_count": len(self.updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            worker = self._webhook_worker
            if worker.last_error_date:
                info["last_error_date"] = worker.last_error_date
                info["last_error_message"] = worker.last_error_message
        return info

    # --- inspection ------------------------------------------------------------------------

    def sent(
        self, chat_id: Any = None, *, method: str | tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """Successful outgoing messages and edits, in order.

        Each record: method, chat_id, message_id, text / caption (as the bot sent them),
        plain_text (after entity parsing), parse_mode, reply_markup (parsed),
        message_thread_id, params (all parameters), message (the returned Message), seq.
        """
        return self._select(self._sent, chat_id, method)

    def _select(
        self, records: list[dict[str, Any]], chat_id: Any, method: str | tuple[str, ...] | None
    ) -> list[dict[str, Any]]:
        key = None if chat_id is None else self._key(chat_id)
        methods = None if method is None else (
            {method.lower()} if isinstance(method, str) else {m.lower() for m in method}
        )
        return [
            r for r in records
            if (key is None or r["chat_id"] == key)
            and (methods is None or r["method"].lower() in methods)
        ]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every API call received, failed ones included: method, params, ok, result, error."""
        wanted = method.lower() if method else None
        return [
            self._call_view(c) for c in self._calls
            if wanted is None or c["method"].lower() == wanted
        ]

    @staticmethod
    def _call_view(record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record)
        params = view["params"]
        if isinstance(params, Params):
            view["params"] = params.as_dict()
        return view

    def errors(self) -> list[dict[str, Any]]:
        """Calls that were answered with an error (or dropped)."""
        return [self._call_view(c) for c in self._calls if not c["ok"]]

    def message(self, chat_id: Any, message_id: int) -> dict[str, Any] | None:
        """Current state of a message (after edits); None if deleted or unknown."""
        try:
            return self.chat(chat_id).messages.get(message_id)
        except LookupError:
            return None

    def messages(self, chat_id: Any) -> list[dict[str, Any]]:
        """All live messages of a chat (users' and the bot's), oldest first."""
        chat = self.chat(chat_id)
        return [chat.messages[mid] for mid, _ in chat.history if mid in chat.messages]

    def reactions(self, chat_id: Any, message_id: int) -> list[dict[str, Any]]:
        return self.chat(chat_id).reactions.get(message_id, [])

    def locate(
        self, message: Any, default_chat: Chat | None = None
    ) -> tuple[Chat, dict[str, Any]]:
        """Find the current state of a message given a sent-record, Message dict or id."""
        if isinstance(message, int):
            if default_chat is None:
                raise LookupError("a bare message id needs a chat")
            chat, mid = default_chat, message
        elif isinstance(message, dict):
            chat = self.chat(message)
            mid = int(message["message_id"])
        else:
            raise TypeError(f"can't locate a message from {message!r}")
        current = chat.messages.get(mid)
        if current is None:
            raise LookupError(f"message {mid} in chat {chat.id} does not exist (deleted?)")
        return chat, current

    def transcript(self, chat_id: Any) -> str:
        """The chat as a readable log (current state of each message), for debugging."""
        chat = self.chat(chat_id)
        lines = []
        for mid, original in chat.history:
            msg = chat.messages.get(mid)
            sender = "bot" if original.get("from", {}).get("id") == self.bot_id else (
                original.get("from", {}).get("first_name", "user")
            )
            body = "(deleted)" if msg is None else render_message(msg)
            lines.append(f"#{mid} {sender}: {body}".replace("\n", "\n    "))
        return "\n".join(lines)

    def subscribe(self, callback: Callable[[dict[str, Any]], Any]) -> Callable[[], None]:
        """Call ``callback(record)`` for each sent/edited message (console mode prints them).

        Returns a function that unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def mark(self) -> int:
        """Position in the sent log; pass as ``since=`` to wait only for later messages."""
        return self._sent_base + len(self._sent)

    def call_mark(self) -> int:
        """Position in the call log; pass as ``since=`` to wait_for_call()."""
        return self._call_seq

    def reset_records(self) -> None:
        """Forget recorded calls, messages sent and answers (benchmarks between phases)."""
        self._sent_base += len(self._sent)
        self._sent = []
        self._calls.clear()
        self.callback_answers.clear()
        self.chat_actions.clear()
        self.deleted.clear()
        self.stats.reset()

    def _key(self, chat_id: Any) -> int:
        if isinstance(chat_id, (FakeUser, FakeGroup, Chat)):
            return chat_id.id
        return int(chat_id)

    async def _wait(self, check: Callable[[], bool], timeout: float) -> None:
        if check():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((check, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            if not fut.done():
                fut.cancel()

    async def wait_for(
        self,
        predicate_or_count: int | Callable[[dict[str, Any]], bool] = 1,
        chat_id: Any = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
        method: str | tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Wait for bot messages (sent-records, edits included) after a starting point.

        The start is ``since`` (from mark()) or, by default, the moment a simulated user last
        acted in that chat (any chat if chat_id is None), so a reply that arrives before this
        call is not missed. A count waits for at least that many records and returns all of
        them; a predicate returns the records that satisfy it once there is at least one.
        Raises TimeoutError describing what the bot did send.
        """
        key = None if chat_id is None else self._key(chat_id)
        start = since if since is not None else self._marks.get(key, (0, 0))[0]
        methods = None if method is None else (
            {method.lower()} if isinstance(method, str) else {m.lower() for m in method}
        )
        result: list[dict[str, Any]] = []
        cursor = start  # absolute seq of the next record to look at: each check is incremental

        def check() -> bool:
            nonlocal cursor
            sent = self._sent
            for record in sent[max(0, cursor - self._sent_base):]:
                if (key is None or record["chat_id"] == key) and (
                    methods is None or record["method"].lower() in methods
                ) and (not callable(predicate_or_count) or predicate_or_count(record)):
                    result.append(record)
            cursor = self._sent_base + len(sent)
            if callable(predicate_or_count):
                return bool(result)
            return len(result) >= predicate_or_count

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(self._describe_timeout(
                predicate_or_count, key, start, timeout, result
            )) from None
        return result

    async def wait_for_call(
        self,
        method: str,
        timeout: float = 5.0,
        *,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        since: int | None = None,
    ) -> dict[str, Any]:
        """Wait for an API call of ``method`` (successful or not) after the last user action."""
        start = since if since is not None else self._marks.get(None, (0, 0))[1]
        wanted = method.lower()
        found: list[dict[str, Any]] = []
        cursor = start  # highest call seq already examined

        def check() -> bool:
            nonlocal cursor
            fresh = []
            for c in reversed(self._calls):
                if c["seq"] <= cursor:
                    break
                fresh.append(c)
            if fresh:
                cursor = fresh[0]["seq"]
            for c in reversed(fresh):
                if c["method"].lower() == wanted:
                    view = self._call_view(c)
                    if predicate is None or predicate(view):
                        found.append(view)
            return bool(found)

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"FakeTelegram: no {method} call within {timeout}s; recent calls: "
                f"{[(c['method'], c['ok']) for c in list(self._calls)[-10:]]}"
            ) from None
        return found[0]

    async def wait_callback_answer(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the bot answers the callback query returned by FakeUser.press()."""

        def check() -> bool:
            return any(a["callback_query_id"] == query_id for a in self.callback_answers)

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"FakeTelegram: callback query {query_id} was not answered within {timeout}s"
            ) from None
        return next(a for a in self.callback_answers if a["callback_query_id"] == query_id)

    def _describe_timeout(
        self,
        what: Any,
        key: int | None,
        start: int,
        timeout: float,
        got: list[dict[str, Any]],
    ) -> str:
        wanted = f"{what} message(s)" if isinstance(what, int) else "a matching message"
        where = "any chat" if key is None else f"chat {key}"
        lines = [f"FakeTelegram: timed out after {timeout}s waiting for {wanted} in {where} "
                 f"(since #{start})."]
        lo = max(0, start - self._sent_base)
        since = self._select(self._sent[lo:], key, None)
        if since:
            lines.append(f"The bot sent {len(since)} message(s) there since then:")
            for r in since[-10:]:
                lines.append(f"  #{r['seq']} {r['method']} -> {r['chat_id']}: "
                             + render_record(r).replace("\n", "\n      "))
        else:
            lines.append("The bot sent nothing there since then.")
        failed = [c for c in list(self._calls)[-200:] if not c["ok"]][-5:]
        if failed:
            lines.append("Recent failed calls:")
            for c in failed:
                err = c.get("error") or {"description": "connection dropped"}
                lines.append(f"  {c['method']}: {err.get('description')}")
        if len(self.updates):
            lines.append(f"{len(self.updates)} update(s) still pending (the bot has not "
                         "fetched/confirmed them: is it polling, or is a webhook set?).")
        return "\n".join(lines)


def _chat_key(value: Any) -> int | str | None:
    """Normalise a chat_id parameter so faults match whether it came as int or string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text
