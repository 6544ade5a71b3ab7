"""What the fake server remembers: chats and their messages, files, pending updates, counters.

Kept free of HTTP so the same state serves the aiohttp handlers, the in-process helpers that
simulate users, and webhook delivery.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

#: Update types Telegram sends when allowed_updates is not specified (or is empty).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass
class Chat:
    """A chat the bot can see; message ids are per chat and shared by users and the bot."""

    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    is_forum: bool = False
    #: Description of the 403 every call into this chat gets (blocked, deactivated, kicked).
    forbidden: str | None = None
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Order of arrival, including messages later deleted (for transcripts).
    history: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: ChatMember objects set by tests (user id -> status and rights); getChatMember derives
    #: the others (see methods/members.py).
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    _json: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def set_member(self, user_id: int, status: str, **rights: Any) -> None:
        """Make ``user_id`` (the bot's id included) a member of this chat with ``status``
        ("creator", "administrator", "member", "restricted", "left", "kicked"); rights
        not given are False, e.g. ``set_member(bot_id, "administrator",
        can_manage_topics=True)``."""
        self.members[user_id] = {"status": status, **rights}

    def to_json(self) -> dict[str, Any]:
        """The Chat object embedded in every Message (cached: it is built per message)."""
        if self._json is None:
            obj: dict[str, Any] = {"id": self.id, "type": self.type}
            if self.type == "private":
                obj["first_name"] = self.first_name or "User"
                if self.last_name:
                    obj["last_name"] = self.last_name
            else:
                obj["title"] = self.title or f"Chat {self.id}"
                if self.is_forum:
                    obj["is_forum"] = True
            if self.username:
                obj["username"] = self.username
            self._json = obj
        return self._json

    def full_info(self) -> dict[str, Any]:
        """ChatFullInfo for getChat: the Chat fields plus the always-present extras."""
        # ChatFullInfo: accepted_gift_types is required since Bot API 9.0.
        return {**self.to_json(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True,
                                        "unique_gifts": True, "premium_subscription": True,
                                        "gifts_from_channels": True}}

    def allocate_id(self, wanted: int | None = None) -> int:
        if wanted is not None:
            self.next_message_id = max(self.next_message_id, wanted + 1)
            return wanted
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def store(self, message: dict[str, Any]) -> None:
        self.messages[message["message_id"]] = message
        self.history.append((message["message_id"], message))


@dataclass
class StoredFile:
    """A file the bot uploaded or a simulated user sent; served back through getFile."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    data: bytes | None = None
    file_size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    #: The small PhotoSize Telegram adds next to every photo (created on first use).
    thumb: StoredFile | None = None

    def file_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_size is not None:
            obj["file_size"] = self.file_size
        obj["file_path"] = self.file_path
        return obj


_EXT = {"photo": "jpg", "voice": "oga", "sticker": "webp", "video": "mp4", "audio": "mp3"}
_PREFIX = {"photo": "AgAC", "document": "BQAC", "voice": "AwAC", "sticker": "CAAC"}


class FileStore:
    """file_id -> StoredFile, plus file_path lookup for the /file/bot<token>/ endpoint."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def add(
        self,
        kind: str,
        data: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        self._counter += 1
        n = self._counter
        ext = _EXT.get(kind)
        if ext is None:
            ext = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        folder = {"photo": "photos", "document": "documents", "voice": "voice"}.get(
            kind, kind + "s"
        )
        stored = StoredFile(
            file_id=f"{_PREFIX.get(kind, 'BAAC')}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:06d}{secrets.token_urlsafe(4)}",
            kind=kind,
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            file_size=len(data) if data is not None else file_size,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)


def update_type(update: dict[str, Any]) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


class UpdateQueue:
    """Pending updates with Telegram's getUpdates semantics.

    ``offset`` confirms (forgets) everything below it; a negative offset keeps only the last
    ``-offset`` updates. Only one long poll may wait at a time: a second one terminates the
    first with 409, which is how Telegram exposes two bot instances polling one token.
    """

    def __init__(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._next_id = 1
        self._allowed: frozenset[str] | None = None
        self._poller: asyncio.Future[str] | None = None
        self._event: asyncio.Event | None = None

    def __len__(self) -> int:
        return len(self._updates)

    @property
    def pending(self) -> list[dict[str, Any]]:
        return list(self._updates)

    @property
    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        uid = update.get("update_id")
        if isinstance(uid, int):
            self._next_id = max(self._next_id, uid + 1)
        else:
            update = {"update_id": self._next_id, **update}
            self._next_id += 1
        self._updates.append(update)
        self._wake("update")
        if self._event is not None:
            self._event.set()
        return update

    def _wake(self, reason: str) -> None:
        poller = self._poller
        if poller is not None and not poller.done():
            poller.set_result(reason)

    def set_allowed(self, allowed: Any) -> None:
        """Telegram remembers allowed_updates across calls; [] restores the default set."""
        if allowed is None:
            return
        self._allowed = frozenset(allowed) if allowed else None

    def is_allowed(self, update: dict[str, Any]) -> bool:
        utype = update_type(update)
        if self._allowed is None:
            return utype not in DEFAULT_EXCLUDED_UPDATES
        return utype in self._allowed

    def confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        ups = self._updates
        if offset < 0:
            while len(ups) > -offset:
                ups.popleft()
            return
        while ups and ups[0]["update_id"] < offset:
            ups.popleft()

    def take(self, limit: int) -> list[dict[str, Any]]:
        """Return up to ``limit`` allowed updates, silently forgetting disallowed ones."""
        result: list[dict[str, Any]] = []
        ups = self._updates
        if self._allowed is None and not ups:
            return result
        filtered = False
        for upd in ups:
            if self.is_allowed(upd):
                result.append(upd)
                if len(result) >= limit:
                    break
            else:
                filtered = True
        if filtered:
            self._updates = deque(u for u in ups if self.is_allowed(u))
        return result

    def first(self) -> dict[str, Any] | None:
        """Oldest deliverable update for the webhook worker."""
        while self._updates:
            upd = self._updates[0]
            if self.is_allowed(upd):
                return upd
            self._updates.popleft()
        return None

    def remove_first(self, update_id: int) -> None:
        if self._updates and self._updates[0]["update_id"] == update_id:
            self._updates.popleft()

    def clear(self) -> None:
        self._updates.clear()

    async def poll(self, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        self.confirm(offset)
        result = self.take(limit)
        if result or timeout <= 0:
            self._wake(CONFLICT_POLL)
            return result
        self._wake(CONFLICT_POLL)
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._poller = fut
        try:
            await asyncio.wait((fut,), timeout=timeout)
        finally:
            if self._poller is fut:
                self._poller = None
        if fut.done() and fut.result() == CONFLICT_POLL:
            raise ApiError(409, CONFLICT_POLL)
        return self.take(limit)

    def shutdown(self) -> None:
        """Release a waiting long poll so the server can stop without waiting out its timeout."""
        self._wake("shutdown")


@dataclass
class Stats:
    """Counters for benchmarks: how much went through, how much was refused and why."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    sent: int = 0
    edited: int = 0
    deleted: int = 0
    rate_limited: int = 0
    injected: int = 0
    dropped: int = 0
    updates: int = 0
    webhook_deliveries: int = 0
    webhook_errors: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_error: Counter[int] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def too_many_requests(self) -> int:
        """Every 429 returned, whether from the rate limiter or an injected fault."""
        return self.by_error[429]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "sent": self.sent,
            "edited": self.edited,
            "deleted": self.deleted,
            "rate_limited": self.rate_limited,
            "too_many_requests": self.too_many_requests,
            "injected": self.injected,
            "dropped": self.dropped,
            "updates": self.updates,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_errors": self.webhook_errors,
            "by_method": dict(self.by_method),
            "by_error": dict(self.by_error),
            "elapsed": time.monotonic() - self.started,
        }

    def reset(self) -> None:
        fresh = Stats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))
