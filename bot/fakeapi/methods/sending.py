"""Methods that create a message from parameters: sendMessage, sendLocation, copy, forward."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import validate as v
from ..errors import bad_request
from ..params import Params
from .common import (
    MEDIA_KEYS,
    charge,
    checked_thread_id,
    common_extras,
    deliver,
    echo_markup,
    new_message,
    reply_to,
    required_message_id,
    target_chat,
)
from .registry import method

if TYPE_CHECKING:
    from ..server import FakeTelegram

CONTENT_KEYS = (
    "text",
    "entities",
    "link_preview_options",
    *MEDIA_KEYS,
    "caption",
    "caption_entities",
    "location",
    "contact",
)


@method("sendMessage")
async def send_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
    raw_text = p.get("text")
    plain, entities = v.check_text(raw_text, parse_mode, p.obj("entities"))
    markup = v.check_reply_markup(p.obj("reply_markup"))
    thread_id = checked_thread_id(chat, p)
    reply = reply_to(api, chat, p)
    charge(api, chat, "sendmessage")
    msg = new_message(api, chat, thread_id, reply)
    msg["text"] = plain
    if entities:
        msg["entities"] = entities
    preview = p.obj("link_preview_options")
    if isinstance(preview, dict) and preview:
        msg["link_preview_options"] = preview
    common_extras(msg, p)
    echo_markup(msg, markup)
    return deliver(api, "sendMessage", chat, msg, p, text=str(raw_text),
                   parse_mode=parse_mode, markup=markup)


@method("sendLocation")
async def send_location(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    lat, lon = p.float("latitude"), p.float("longitude")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong latitude or longitude specified")
    markup = v.check_reply_markup(p.obj("reply_markup"))
    thread_id = checked_thread_id(chat, p)
    reply = reply_to(api, chat, p)
    charge(api, chat, "sendlocation")
    msg = new_message(api, chat, thread_id, reply)
    msg["location"] = {"latitude": lat, "longitude": lon}
    echo_markup(msg, markup)
    return deliver(api, "sendLocation", chat, msg, p, markup=markup)


def _source_message(api: FakeTelegram, p: Params, verb: str) -> dict[str, Any]:
    source = api.resolve_chat(p.get("from_chat_id"), "from_chat_id")
    mid = required_message_id(p)
    msg = source.messages.get(mid)
    if msg is None:
        raise bad_request(f"message to {verb} not found")
    if not any(key in msg for key in CONTENT_KEYS):
        raise bad_request(f"message can't be {verb}ed" if verb != "copy" else
                          "message can't be copied")
    return msg


@method("copyMessage")
async def copy_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    source = _source_message(api, p, "copy")
    content = {key: source[key] for key in CONTENT_KEYS if key in source}
    parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
    raw_caption = p.get("caption")
    if raw_caption is not None and any(key in source for key in MEDIA_KEYS):
        caption, caption_entities = v.check_caption(
            raw_caption, parse_mode, p.obj("caption_entities")
        )
        content.pop("caption", None)
        content.pop("caption_entities", None)
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
    markup = v.check_reply_markup(p.obj("reply_markup"))
    thread_id = checked_thread_id(chat, p)
    reply = reply_to(api, chat, p)
    charge(api, chat, "copymessage")
    msg = new_message(api, chat, thread_id, reply)
    msg.update(content)
    common_extras(msg, p)
    echo_markup(msg, markup)
    deliver(api, "copyMessage", chat, msg, p, text=msg.get("text"),
            caption=msg.get("caption"), parse_mode=parse_mode, markup=markup)
    return {"message_id": msg["message_id"]}


@method("forwardMessage")
async def forward_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    source = _source_message(api, p, "forward")
    thread_id = checked_thread_id(chat, p)
    charge(api, chat, "forwardmessage")
    msg = new_message(api, chat, thread_id, None)
    origin_chat = source.get("chat", {})
    if origin_chat.get("type") == "channel":
        msg["forward_origin"] = {"type": "channel", "chat": origin_chat,
                                 "message_id": source["message_id"], "date": source["date"]}
    else:
        msg["forward_origin"] = {"type": "user", "sender_user": source.get("from"),
                                 "date": source["date"]}
    msg.update({key: source[key] for key in CONTENT_KEYS if key in source})
    common_extras(msg, p)
    return deliver(api, "forwardMessage", chat, msg, p, text=msg.get("text"),
                   caption=msg.get("caption"))
