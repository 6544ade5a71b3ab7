"""Simulated people: they produce the updates a real client would, so the bot under test
sees well-formed Update/Message/CallbackQuery objects instead of hand-written dicts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .entities import utf16_len
from .methods.common import reply_snapshot
from .methods.interaction import new_query_id
from .methods.media import photo_sizes
from .validate import inline_buttons

if TYPE_CHECKING:
    from .server import FakeTelegram
    from .state import Chat

#: A 1x1 PNG, so sent photos are real images if the bot downloads and inspects them.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

class FakeGroup:
    """A group or forum supergroup the bot is a member of."""

    def __init__(self, api: FakeTelegram, chat: Chat) -> None:
        self.api = api
        self.chat = chat

    @property
    def id(self) -> int:
        return self.chat.id

    @property
    def is_forum(self) -> bool:
        return self.chat.is_forum

    def sent(self) -> list[dict[str, Any]]:
        """What the bot sent into this group."""
        return self.api.sent(self.id)

    def __repr__(self) -> str:
        return f"FakeGroup({self.id}, {self.chat.title!r}, forum={self.chat.is_forum})"


class FakeUser:
    """A Telegram user talking to the bot; their private chat id equals their user id."""

    def __init__(
        self,
        api: FakeTelegram,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
        is_premium: bool = False,
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.is_premium = is_premium

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    @property
    def json(self) -> dict[str, Any]:
        """The User object as it appears in ``from`` fields."""
        obj: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            obj["last_name"] = self.last_name
        if self.username:
            obj["username"] = self.username
        if self.language_code:
            obj["language_code"] = self.language_code
        if self.is_premium:
            obj["is_premium"] = True
        return obj

    @property
    def chat(self) -> Chat:
        """The private chat with the bot; it becomes known to the bot on first use."""
        return self.api.private_chat(self)

    # --- sending ---------------------------------------------------------------------------

    def _resolve_chat(self, chat: Any) -> Chat:
        if chat is None:
            private = self.chat
            if private.forbidden and private.forbidden.endswith("blocked by the user"):
                # Writing to a bot you blocked means you unblocked it first.
                private.forbidden = None
            return private
        return self.api.chat(chat)

    async def _send(
        self,
        content: dict[str, Any],
        chat: Any = None,
        reply_to: Any = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        target = self._resolve_chat(chat)
        msg: dict[str, Any] = {
            "message_id": target.allocate_id(),
            "from": self.json,
            "chat": target.to_json(),
            "date": int(time.time()),
        }
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            if target.is_forum:
                msg["is_topic_message"] = True
                target.threads.add(thread_id)
        if reply_to is not None:
            _, replied = self.api.locate(reply_to, target)
            msg["reply_to_message"] = reply_snapshot(replied)
        msg.update(content)
        target.store(msg)
        self.api.push_update({"message": msg}, target.id)
        return msg

    async def send_text(
        self,
        text: str,
        chat: Any = None,
        reply_to: Any = None,
        entities: list[dict[str, Any]] | None = None,
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Send a text; a leading /command gets its bot_command entity, as clients add it."""
        content: dict[str, Any] = {"text": text}
        ents = list(entities or [])
        if text.startswith("/") and not any(e.get("offset") == 0 for e in ents):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            if len(command) > 1:
                ents.insert(0, {"type": "bot_command", "offset": 0,
                                "length": utf16_len(command)})
        if ents:
            content["entities"] = ents
        return await self._send(content, chat, reply_to, thread_id)

    async def send_photo(
        self,
        caption: str | None = None,
        chat: Any = None,
        reply_to: Any = None,
        *,
        width: int = 1280,
        height: int = 960,
        data: bytes = TINY_PNG,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self.api.files.add("photo", data, mime_type="image/jpeg",
                                    width=width, height=height)
        content: dict[str, Any] = {"photo": photo_sizes(self.api, stored)}
        if caption:
            content["caption"] = caption
        return await self._send(content, chat, reply_to, thread_id)

    async def send_sticker(
        self, emoji: str = "👍", chat: Any = None, *, thread_id: int | None = None
    ) -> dict[str, Any]:
        stored = self.api.files.add("sticker", b"RIFF\0\0\0\0WEBPVP8 ", mime_type="image/webp",
                                    width=512, height=512)
        sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji, "set_name": "TestPack",
                   "file_size": stored.file_size}
        return await self._send({"sticker": sticker}, chat, None, thread_id)

    async def send_voice(
        self, duration: int = 3, chat: Any = None, *, thread_id: int | None = None
    ) -> dict[str, Any]:
        stored = self.api.files.add("voice", b"OggS" + b"\0" * 60, mime_type="audio/ogg")
        voice = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "duration": duration, "mime_type": "audio/ogg", "file_size": stored.file_size}
        return await self._send({"voice": voice}, chat, None, thread_id)

    async def send_document(
        self,
        file_name: str = "document.pdf",
        content: bytes = b"%PDF-1.4\n% fake document\n%%EOF\n",
        mime_type: str | None = "application/pdf",
        caption: str | None = None,
        chat: Any = None,
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self.api.files.add("document", content, file_name=file_name,
                                    mime_type=mime_type)
        document: dict[str, Any] = {"file_id": stored.file_id,
                                    "file_unique_id": stored.file_unique_id,
                                    "file_name": file_name, "file_size": len(content)}
        if mime_type:
            document["mime_type"] = mime_type
        body: dict[str, Any] = {"document": document}
        if caption:
            body["caption"] = caption
        return await self._send(body, chat, None, thread_id)

    async def send_location(
        self,
        latitude: float = 53.9045,
        longitude: float = 27.5615,
        chat: Any = None,
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        return await self._send({"location": {"latitude": latitude, "longitude": longitude}},
                                chat, None, thread_id)

    async def send_contact(
        self, phone_number: str = "+375291234567", chat: Any = None
    ) -> dict[str, Any]:
        contact = {"phone_number": phone_number, "first_name": self.first_name,
                   "user_id": self.id}
        return await self._send({"contact": contact}, chat)

    async def edit_text(self, message: Any, text: str) -> dict[str, Any]:
        """Edit one of this user's messages (an ``edited_message`` update)."""
        chat, msg = self.api.locate(message, self.chat)
        if msg.get("from", {}).get("id") != self.id:
            raise ValueError(f"message {msg['message_id']} was not sent by {self!r}")
        new = {**msg, "text": text, "edit_date": int(time.time())}
        chat.messages[new["message_id"]] = new
        self.api.push_update({"edited_message": new}, chat.id)
        return new

    # --- buttons & reactions ---------------------------------------------------------------

    async def press(
        self,
        message: Any,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        strict: bool = True,
    ) -> str:
        """Press an inline button of a bot message; returns the callback query id.

        By default the button must exist on the message's current keyboard, because a test
        that presses a button the bot never showed proves nothing. ``text`` picks the button
        by its label instead of its data.
        """
        chat, current = self.api.locate(message, self.chat)
        buttons = inline_buttons(current.get("reply_markup"))
        if text is not None:
            match = next((b for b in buttons if b.get("text") == text), None)
            if match is None or "callback_data" not in match:
                raise ValueError(
                    f"no callback button labelled {text!r} on message {current['message_id']}; "
                    f"buttons: {[b.get('text') for b in buttons]}"
                )
            callback_data = match["callback_data"]
        if callback_data is None:
            raise ValueError("press() needs callback_data or text")
        if strict and not any(b.get("callback_data") == callback_data for b in buttons):
            raise ValueError(
                f"no button with callback_data {callback_data!r} on message "
                f"{current['message_id']} in chat {chat.id}; buttons: "
                f"{[(b.get('text'), b.get('callback_data')) for b in buttons]}"
            )
        query_id = new_query_id()
        self.api.callback_queries[query_id] = {
            "created": time.monotonic(),
            "answered": False,
            "user_id": self.id,
            "chat_id": chat.id,
            "message_id": current["message_id"],
            "data": callback_data,
        }
        query = {
            "id": query_id,
            "from": self.json,
            "message": current,
            "chat_instance": str(abs(hash((chat.id, self.api.bot_id))) % 10**18),
            "data": callback_data,
        }
        self.api.push_update({"callback_query": query}, chat.id)
        return query_id

    async def press_button(self, message: Any, text: str) -> str:
        """Press an inline button by its label."""
        return await self.press(message, text=text)

    async def react(self, message: Any, emoji: str | None = "👍") -> dict[str, Any]:
        """Set (or with None clear) a reaction; bots only get it if they allow message_reaction."""
        chat, msg = self.api.locate(message, self.chat)
        new = [{"type": "emoji", "emoji": emoji}] if emoji else []
        update = {"message_reaction": {
            "chat": chat.to_json(), "message_id": msg["message_id"], "user": self.json,
            "date": int(time.time()), "old_reaction": [], "new_reaction": new,
        }}
        return self.api.push_update(update, chat.id)

    # --- convenience -----------------------------------------------------------------------

    async def ask(
        self, text: str, count: int = 1, timeout: float = 5.0, chat: Any = None
    ) -> list[dict[str, Any]]:
        """Send a text and wait for ``count`` bot messages in that chat (returned in order)."""
        msg = await self.send_text(text, chat=chat)
        return await self.api.wait_for(count, chat_id=msg["chat"]["id"], timeout=timeout)

    def replies(self) -> list[dict[str, Any]]:
        """Everything the bot sent (and edited) in this user's private chat."""
        return self.api.sent(self.id)

    def last(self) -> dict[str, Any] | None:
        """The newest bot message in the private chat, in its current (edited) state."""
        chat = self.api.chats.get(self.id)
        if chat is None:
            return None
        for mid, _ in reversed(chat.history):
            msg = chat.messages.get(mid)
            if msg is not None and msg.get("from", {}).get("id") == self.api.bot_id:
                return msg
        return None
