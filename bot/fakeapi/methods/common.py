"""Steps the message methods share: target chat, thread, reply, flood charge, delivery."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, bad_request, too_many_requests
from ..params import Params

if TYPE_CHECKING:
    from ..server import FakeTelegram
    from ..state import Chat

#: Message fields that hold a file; each kind has its send<Kind> method.
MEDIA_KEYS = ("photo", "document", "voice", "audio", "video", "animation", "sticker")


def target_chat(api: FakeTelegram, p: Params, name: str = "chat_id") -> Chat:
    """The chat a call acts on; a blocked or deactivated chat answers 403 to everything."""
    chat = api.resolve_chat(p.get(name), name)
    if chat.forbidden:
        raise ApiError(403, chat.forbidden)
    return chat


def required_message_id(p: Params, name: str = "message_id") -> int:
    mid = p.int(name)
    if mid is None:
        raise bad_request("message identifier is not specified")
    return mid


def checked_thread_id(chat: Chat, p: Params) -> int | None:
    tid = p.int("message_thread_id")
    if tid is None or tid == 0:
        return None
    if chat.is_forum and tid != 1 and tid not in chat.threads:
        raise bad_request("message thread not found")
    return tid


def reply_snapshot(msg: dict[str, Any]) -> dict[str, Any]:
    """A replied-to message is embedded one level deep only, as Telegram does."""
    if "reply_to_message" in msg:
        msg = {k: val for k, val in msg.items() if k != "reply_to_message"}
    return msg


def reply_to(api: FakeTelegram, chat: Chat, p: Params) -> dict[str, Any] | None:
    params = p.obj("reply_parameters")
    allow = p.bool("allow_sending_without_reply")
    source = chat
    if isinstance(params, dict):
        mid = params.get("message_id")
        allow = bool(params.get("allow_sending_without_reply", allow))
        if params.get("chat_id") not in (None, "", chat.id):
            source = api.resolve_chat(params["chat_id"], "chat_id")
    else:
        mid = p.int("reply_to_message_id")
    if mid is None:
        return None
    try:
        replied = source.messages.get(int(mid))
    except (TypeError, ValueError):
        replied = None
    if replied is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return reply_snapshot(replied)


def charge(api: FakeTelegram, chat: Chat, method_lower: str) -> None:
    """Flood control runs after validation so only deliverable messages are counted."""
    if api.limiter.enabled and method_lower in api.rate_limited_methods:
        wait = api.limiter.acquire(chat.id)
        if wait:
            api.stats.rate_limited += 1
            raise too_many_requests(wait)


def new_message(
    api: FakeTelegram, chat: Chat, thread_id: int | None, reply: dict[str, Any] | None
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": chat.allocate_id(),
        "from": api.bot_user,
        "chat": chat.to_json(),
        "date": int(time.time()),
    }
    if thread_id is not None:
        msg["message_thread_id"] = thread_id
        if chat.is_forum:
            msg["is_topic_message"] = True
    if reply is not None:
        msg["reply_to_message"] = reply
    return msg


def echo_markup(msg: dict[str, Any], markup: dict[str, Any] | None) -> None:
    # Only inline keyboards belong to the message; reply keyboards live in the client.
    if markup is not None and "inline_keyboard" in markup:
        msg["reply_markup"] = markup
    else:
        msg.pop("reply_markup", None)


def common_extras(msg: dict[str, Any], p: Params) -> None:
    if p.bool("protect_content"):
        msg["has_protected_content"] = True
    effect = p.get("message_effect_id")
    if effect:
        msg["effect_id"] = str(effect)


def deliver(
    api: FakeTelegram,
    method_name: str,
    chat: Chat,
    msg: dict[str, Any],
    p: Params,
    *,
    text: str | None = None,
    caption: str | None = None,
    parse_mode: str | None = None,
    markup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    chat.store(msg)
    api.stats.sent += 1
    api.record_sent({
        "method": method_name,
        "chat_id": chat.id,
        "message_id": msg["message_id"],
        "text": text,
        "caption": caption,
        "plain_text": msg.get("text", msg.get("caption")),
        "parse_mode": parse_mode,
        "reply_markup": markup,
        "message_thread_id": msg.get("message_thread_id"),
        "params": p.as_dict(),
        "message": msg,
        "time": time.time(),
    })
    return msg
