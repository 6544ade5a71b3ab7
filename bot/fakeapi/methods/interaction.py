"""The bot acting in chats beyond sending: callback answers, chat actions, reactions,
forum topics, getChat."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from .. import validate as v
from ..errors import QUERY_TOO_OLD, ApiError, bad_request
from ..params import Params
from .common import new_message, required_message_id, target_chat
from .registry import method

if TYPE_CHECKING:
    from ..server import FakeTelegram

CHAT_ACTIONS = frozenset({
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
})

FORUM_ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})


@method("answerCallbackQuery")
async def answer_callback_query(api: FakeTelegram, p: Params) -> Any:
    query_id = p.str("callback_query_id")
    query = api.callback_queries.get(query_id or "")
    if (
        query is None
        or query["answered"]
        or time.monotonic() - query["created"] > api.callback_ttl
    ):
        raise ApiError(400, QUERY_TOO_OLD)
    text = p.str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query["answered"] = True
    api.callback_answers.append({
        "callback_query_id": query_id,
        "text": text,
        "show_alert": p.bool("show_alert"),
        "url": p.str("url"),
        "cache_time": p.int("cache_time", 0),
        "user_id": query["user_id"],
        "chat_id": query["chat_id"],
        "message_id": query["message_id"],
        "data": query["data"],
        "time": time.time(),
    })
    api.notify()
    return True


@method("sendChatAction")
async def send_chat_action(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    action = p.str("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    api.chat_actions.append({"chat_id": chat.id, "action": action,
                             "message_thread_id": p.int("message_thread_id"),
                             "time": time.time()})
    return True


@method("setMessageReaction")
async def set_message_reaction(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    mid = required_message_id(p)
    if mid not in chat.messages:
        raise bad_request("MESSAGE_ID_INVALID")
    reaction = v.check_reaction(p.obj("reaction"))
    if reaction:
        chat.reactions[mid] = reaction
    else:
        chat.reactions.pop(mid, None)
    return True


@method("createForumTopic")
async def create_forum_topic(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    name = (p.str("name", "") or "").strip()
    if not name:
        raise bad_request("TOPIC_TITLE_EMPTY")
    if len(name) > 128:
        raise bad_request("TOPIC_TITLE_TOO_LONG")
    color = p.int("icon_color", 7322096)
    if color not in FORUM_ICON_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    msg = new_message(api, chat, None, None)
    thread_id = msg["message_id"]
    msg.update({
        "message_thread_id": thread_id,
        "is_topic_message": True,
        "forum_topic_created": {"name": name, "icon_color": color},
    })
    emoji = p.str("icon_custom_emoji_id")
    if emoji:
        msg["forum_topic_created"]["icon_custom_emoji_id"] = emoji
    chat.store(msg)
    chat.threads.add(thread_id)
    topic = {"message_thread_id": thread_id, "name": name, "icon_color": color}
    if emoji:
        topic["icon_custom_emoji_id"] = emoji
    api.topics.append({"chat_id": chat.id, **topic})
    return topic


@method("getChat")
async def get_chat(api: FakeTelegram, p: Params) -> Any:
    return api.resolve_chat(p.get("chat_id"), "chat_id").full_info()


def new_query_id() -> str:
    return str(secrets.randbits(62))
