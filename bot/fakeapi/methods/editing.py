"""Changing what the bot already sent: editMessageText/Caption/ReplyMarkup and deletions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import validate as v
from ..errors import NOT_MODIFIED, ApiError, bad_request
from ..params import Params
from .common import MEDIA_KEYS, echo_markup, required_message_id, target_chat
from .registry import method

if TYPE_CHECKING:
    from ..server import FakeTelegram
    from ..state import Chat


def _editable(api: FakeTelegram, p: Params) -> tuple[Chat, dict[str, Any]]:
    if "inline_message_id" in p:
        # Inline mode is not simulated; Telegram answers this for ids it does not know.
        raise bad_request("MESSAGE_ID_INVALID")
    chat = target_chat(api, p)
    msg = chat.messages.get(required_message_id(p))
    if msg is None:
        raise bad_request("message to edit not found")
    if msg.get("from", {}).get("id") != api.bot_id:
        raise bad_request("message can't be edited")
    return chat, msg


def _store_edit(
    api: FakeTelegram,
    method_name: str,
    chat: Chat,
    new: dict[str, Any],
    p: Params,
    *,
    text: str | None = None,
    caption: str | None = None,
    parse_mode: str | None = None,
    markup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    new["edit_date"] = int(time.time())
    chat.messages[new["message_id"]] = new
    api.stats.edited += 1
    api.record_sent({
        "method": method_name,
        "chat_id": chat.id,
        "message_id": new["message_id"],
        "text": text,
        "caption": caption,
        "plain_text": new.get("text", new.get("caption")),
        "parse_mode": parse_mode,
        "reply_markup": markup,
        "message_thread_id": new.get("message_thread_id"),
        "params": p.as_dict(),
        "message": new,
        "time": time.time(),
    })
    return new


def _inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup is not None and "inline_keyboard" in markup else None


@method("editMessageText")
async def edit_message_text(api: FakeTelegram, p: Params) -> Any:
    chat, msg = _editable(api, p)
    parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
    raw_text = p.get("text")
    plain, entities = v.check_text(raw_text, parse_mode, p.obj("entities"))
    markup = v.check_reply_markup(p.obj("reply_markup"))
    if "text" not in msg:
        raise bad_request("there is no text in the message to edit")
    new_markup = _inline_only(markup)
    if (
        plain == msg["text"]
        and entities == msg.get("entities", [])
        and new_markup == msg.get("reply_markup")
    ):
        raise ApiError(400, NOT_MODIFIED)
    new = {**msg, "text": plain}
    new.pop("entities", None)
    if entities:
        new["entities"] = entities
    preview = p.obj("link_preview_options")
    if isinstance(preview, dict) and preview:
        new["link_preview_options"] = preview
    echo_markup(new, new_markup)
    return _store_edit(api, "editMessageText", chat, new, p, text=str(raw_text),
                       parse_mode=parse_mode, markup=markup)


@method("editMessageCaption")
async def edit_message_caption(api: FakeTelegram, p: Params) -> Any:
    chat, msg = _editable(api, p)
    parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
    raw_caption = p.get("caption")
    caption, entities = v.check_caption(raw_caption, parse_mode, p.obj("caption_entities"))
    markup = v.check_reply_markup(p.obj("reply_markup"))
    if not any(key in msg for key in MEDIA_KEYS):
        raise bad_request("there is no caption in the message to edit")
    new_markup = _inline_only(markup)
    if (
        caption == msg.get("caption")
        and entities == msg.get("caption_entities", [])
        and new_markup == msg.get("reply_markup")
    ):
        raise ApiError(400, NOT_MODIFIED)
    new = {**msg}
    new.pop("caption", None)
    new.pop("caption_entities", None)
    if caption:
        new["caption"] = caption
        if entities:
            new["caption_entities"] = entities
    echo_markup(new, new_markup)
    return _store_edit(api, "editMessageCaption", chat, new, p,
                       caption=None if raw_caption is None else str(raw_caption),
                       parse_mode=parse_mode, markup=markup)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(api: FakeTelegram, p: Params) -> Any:
    chat, msg = _editable(api, p)
    markup = v.check_reply_markup(p.obj("reply_markup"))
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    if markup == msg.get("reply_markup") or (
        markup is not None and not markup["inline_keyboard"] and "reply_markup" not in msg
    ):
        raise ApiError(400, NOT_MODIFIED)
    new = {**msg}
    echo_markup(new, markup if markup and markup["inline_keyboard"] else None)
    return _store_edit(api, "editMessageReplyMarkup", chat, new, p, markup=markup)


@method("deleteMessage")
async def delete_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    mid = required_message_id(p)
    if chat.messages.pop(mid, None) is None:
        raise bad_request("message to delete not found")
    api.stats.deleted += 1
    api.deleted.append({"chat_id": chat.id, "message_id": mid, "time": time.time()})
    api.notify()
    return True


@method("deleteMessages")
async def delete_messages(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    ids = p.obj("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be a non-empty list of at most 100 ids")
    for mid in ids:
        if chat.messages.pop(int(mid), None) is not None:
            api.stats.deleted += 1
            api.deleted.append({"chat_id": chat.id, "message_id": int(mid), "time": time.time()})
    api.notify()
    return True
