"""Chats the bot can see, the simulated users and groups in them, and the updates they push."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import bad_request
from .state import Chat
from .users import FakeGroup, FakeUser

if TYPE_CHECKING:
    from aiohttp import web

    from .state import UpdateQueue
    from .webhook import WebhookWorker

FORBIDDEN = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
DEACTIVATED = "Forbidden: user is deactivated"


class ChatsMixin:
    """Chat registry, simulated people and update queueing; part of FakeTelegram."""

    bot_user: dict[str, Any]
    chats: dict[int, Chat]
    users: dict[int, FakeUser]
    callback_queries: dict[str, dict[str, Any]]
    updates: UpdateQueue
    webhook: dict[str, Any] | None
    _usernames: dict[str, Chat]
    _marks: dict[int | None, tuple[int, int]]
    _sent: list[dict[str, Any]]
    _sent_base: int
    _call_seq: int
    _runner: web.AppRunner | None
    _webhook_worker: WebhookWorker

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
