"""Bot API methods, implemented from the documentation, against the fake's state.

Each handler takes the server and the request's Params and returns the ``result`` value or
raises ApiError. Validation runs before anything is charged or stored, so a refused call has
no side effects, message ids stay gap-free and a 429 never delivers half a message.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import validate as v
from .errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request, too_many_requests
from .params import Params, Upload

if TYPE_CHECKING:
    from .server import FakeTelegram
    from .state import Chat, StoredFile

Handler = Callable[["FakeTelegram", Params], Awaitable[Any]]

#: lowercase name -> (canonical name, handler); Telegram method names are case-insensitive.
METHODS: dict[str, tuple[str, Handler]] = {}

#: Methods that create a message; these are what flood control counts.
SEND_METHODS = frozenset({
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendvoice",
    "sendaudio",
    "sendvideo",
    "sendanimation",
    "sendsticker",
    "sendlocation",
    "copymessage",
    "forwardmessage",
})

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

MEDIA_KEYS = ("photo", "document", "voice", "audio", "video", "animation", "sticker")
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
FILE_TYPE_NAMES = {
    "photo": "Photo",
    "document": "Document",
    "voice": "Voice",
    "audio": "Audio",
    "video": "Video",
    "animation": "Animation",
    "sticker": "Sticker",
}
FORUM_ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name.lower()] = (name, fn)
        return fn

    return register


# --- shared steps ---------------------------------------------------------------------------


def target_chat(api: FakeTelegram, p: Params, name: str = "chat_id") -> Chat:
    """The chat a call acts on; a blocked or deactivated chat answers 403 to everything."""
    chat = api.resolve_chat(p.get(name), name)
    if chat.forbidden:
        raise ApiError(403, chat.forbidden)
    return chat


def _message_id(p: Params, name: str = "message_id") -> int:
    mid = p.int(name)
    if mid is None:
        raise bad_request("message identifier is not specified")
    return mid


def _thread(chat: Chat, p: Params) -> int | None:
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


def _reply_to(api: FakeTelegram, chat: Chat, p: Params) -> dict[str, Any] | None:
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


def _charge(api: FakeTelegram, chat: Chat, method_lower: str) -> None:
    """Flood control runs after validation so only deliverable messages are counted."""
    if api.limiter.enabled and method_lower in api.rate_limited_methods:
        wait = api.limiter.acquire(chat.id)
        if wait:
            api.stats.rate_limited += 1
            raise too_many_requests(wait)


def _new_message(
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


def _echo_markup(msg: dict[str, Any], markup: dict[str, Any] | None) -> None:
    # Only inline keyboards belong to the message; reply keyboards live in the client.
    if markup is not None and "inline_keyboard" in markup:
        msg["reply_markup"] = markup
    else:
        msg.pop("reply_markup", None)


def _common_extras(msg: dict[str, Any], p: Params) -> None:
    if p.bool("protect_content"):
        msg["has_protected_content"] = True
    effect = p.get("message_effect_id")
    if effect:
        msg["effect_id"] = str(effect)


def _deliver(
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


# --- bot & updates --------------------------------------------------------------------------


@method("getMe")
async def get_me(api: FakeTelegram, p: Params) -> Any:
    return api.me


@method("getUpdates")
async def get_updates(api: FakeTelegram, p: Params) -> Any:
    if api.webhook:
        raise ApiError(409, _WEBHOOK_ACTIVE)
    limit = min(100, max(1, p.int("limit", 100) or 100))
    timeout = max(0.0, p.float("timeout", 0.0) or 0.0)
    api.updates.set_allowed(p.obj("allowed_updates"))
    updates = await api.updates.poll(p.int("offset"), limit, timeout)
    api.stats.updates += len(updates)
    return updates


@method("setWebhook")
async def set_webhook(api: FakeTelegram, p: Params) -> Any:
    url = p.str("url", "") or ""
    if not url:
        await api.set_webhook(None)
        return True
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.str("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = p.int("max_connections", 40) or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = p.obj("allowed_updates")
    api.updates.set_allowed(allowed)
    if p.bool("drop_pending_updates"):
        api.updates.clear()
    await api.set_webhook({
        "url": url,
        "secret_token": secret,
        "max_connections": max_connections,
        "allowed_updates": allowed,
        "ip_address": p.str("ip_address"),
        "has_custom_certificate": "certificate" in p,
    })
    return True


@method("deleteWebhook")
async def delete_webhook(api: FakeTelegram, p: Params) -> Any:
    if p.bool("drop_pending_updates"):
        api.updates.clear()
    await api.set_webhook(None)
    return True


@method("getWebhookInfo")
async def get_webhook_info(api: FakeTelegram, p: Params) -> Any:
    return api.webhook_info()


@method("close")
async def close(api: FakeTelegram, p: Params) -> Any:
    api.closed = True
    return True


@method("logOut")
async def log_out(api: FakeTelegram, p: Params) -> Any:
    api.logged_out = True
    return True


# --- commands & profile ---------------------------------------------------------------------


def scope_key(scope: Any) -> str:
    """Canonical text key for a BotCommandScope: 'default', 'chat:42', 'chat_member:42:7'."""
    if scope is None or scope == "":
        return "default"
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    stype = scope["type"]
    if stype not in (
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    ):
        raise bad_request("wrong scope type specified")
    parts = [str(stype)]
    if stype.startswith("chat"):
        if scope.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        parts.append(str(scope["chat_id"]))
    if stype == "chat_member":
        parts.append(str(scope.get("user_id")))
    return ":".join(parts)


@method("setMyCommands")
async def set_my_commands(api: FakeTelegram, p: Params) -> Any:
    commands = v.check_commands(p.obj("commands"))
    key = (scope_key(p.obj("scope")), p.str("language_code", "") or "")
    if commands:
        api.commands[key] = commands
    else:
        api.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(api: FakeTelegram, p: Params) -> Any:
    key = (scope_key(p.obj("scope")), p.str("language_code", "") or "")
    return api.commands.get(key, [])


@method("deleteMyCommands")
async def delete_my_commands(api: FakeTelegram, p: Params) -> Any:
    api.commands.pop((scope_key(p.obj("scope")), p.str("language_code", "") or ""), None)
    return True


def _profile_setter(name: str, field: str, limit: int) -> Handler:
    async def setter(api: FakeTelegram, p: Params) -> Any:
        value = p.str(field, "") or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        api.settings[(field, p.str("language_code", "") or "")] = value
        return True

    return setter


def _profile_getter(field: str) -> Handler:
    async def getter(api: FakeTelegram, p: Params) -> Any:
        lang = p.str("language_code", "") or ""
        value = api.settings.get((field, lang), api.settings.get((field, ""), ""))
        if field == "name" and not value:
            value = api.me["first_name"]
        return {field: value}

    return getter


for _set, _get, _field, _limit in (
    ("setMyDescription", "getMyDescription", "description", 512),
    ("setMyShortDescription", "getMyShortDescription", "short_description", 120),
    ("setMyName", "getMyName", "name", 64),
):
    method(_set)(_profile_setter(_set, _field, _limit))
    method(_get)(_profile_getter(_field))


@method("setChatMenuButton")
async def set_chat_menu_button(api: FakeTelegram, p: Params) -> Any:
    button = p.obj("menu_button") or {"type": "default"}
    key = p.int("chat_id")
    api.settings[("menu_button", key)] = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(api: FakeTelegram, p: Params) -> Any:
    key = p.int("chat_id")
    return api.settings.get(("menu_button", key)) or api.settings.get(
        ("menu_button", None), {"type": "commands"}
    )


# --- sending --------------------------------------------------------------------------------


@method("sendMessage")
async def send_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
    raw_text = p.get("text")
    plain, entities = v.check_text(raw_text, parse_mode, p.obj("entities"))
    markup = v.check_reply_markup(p.obj("reply_markup"))
    thread_id = _thread(chat, p)
    reply = _reply_to(api, chat, p)
    _charge(api, chat, "sendmessage")
    msg = _new_message(api, chat, thread_id, reply)
    msg["text"] = plain
    if entities:
        msg["entities"] = entities
    preview = p.obj("link_preview_options")
    if isinstance(preview, dict) and preview:
        msg["link_preview_options"] = preview
    _common_extras(msg, p)
    _echo_markup(msg, markup)
    return _deliver(api, "sendMessage", chat, msg, p, text=str(raw_text),
                    parse_mode=parse_mode, markup=markup)


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions from PNG/GIF/JPEG headers, so PhotoSize carries plausible numbers."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"GIF8" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                    data[i + 5 : i + 7], "big"
                )
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    return None


def resolve_input_file(api: FakeTelegram, value: Upload | str, kind: str) -> StoredFile:
    """Turn an upload, a known file_id or a URL into a stored file, as Telegram would."""
    if isinstance(value, Upload):
        if not value.data:
            raise bad_request("file must be non-empty")
        limit = 10 * 1024 * 1024 if kind == "photo" else 50 * 1024 * 1024
        if len(value.data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        size = _image_size(value.data) if kind in ("photo", "sticker") else None
        if kind == "photo" and size is None and api.strict_media:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size or (800, 600)
        mime = value.content_type
        if not mime or mime == "application/octet-stream":
            guessed = mimetypes.guess_type(value.filename or "")[0]
            mime = guessed or mime
        return api.files.add(
            kind, value.data, file_name=value.filename, mime_type=mime,
            width=width, height=height,
        )
    stored = api.files.get(value)
    if stored is not None:
        if stored.kind != kind and not (kind == "document" and stored.kind != "photo"):
            raise bad_request(
                f"can't use file of type {FILE_TYPE_NAMES.get(stored.kind, stored.kind)} "
                f"as {FILE_TYPE_NAMES.get(kind, kind)}"
            )
        return stored
    if value.startswith(("http://", "https://")):
        name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
        return api.files.add(
            kind, None, file_name=name, mime_type=mimetypes.guess_type(name or "")[0],
            width=800, height=600, file_size=12345,
        )
    raise bad_request("wrong file identifier/HTTP URL specified")


def photo_sizes(api: FakeTelegram, stored: StoredFile) -> list[dict[str, Any]]:
    """Telegram returns several sizes, smallest first; bots usually take the last one."""
    width, height = stored.width or 800, stored.height or 600
    scale = 90 / max(width, height, 1)
    thumb_w, thumb_h = max(1, round(width * scale)), max(1, round(height * scale))
    if stored.thumb is None and max(width, height) > 90:
        stored.thumb = api.files.add(
            "photo", None, width=thumb_w, height=thumb_h,
            file_size=max(1, (stored.file_size or 1000) // 20),
        )
    full = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size or 0, "width": width, "height": height}
    if stored.thumb is None:
        return [full]
    thumb = {"file_id": stored.thumb.file_id, "file_unique_id": stored.thumb.file_unique_id,
             "file_size": stored.thumb.file_size, "width": thumb_w, "height": thumb_h}
    return [thumb, full]


def media_object(api: FakeTelegram, stored: StoredFile, kind: str, p: Params) -> Any:
    if kind == "photo":
        return photo_sizes(api, stored)
    obj: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    if kind in ("document", "audio", "video", "animation") and stored.file_name:
        obj["file_name"] = stored.file_name
    if kind in ("voice", "audio", "video", "animation"):
        obj["duration"] = p.int("duration", 1) or 1
    if kind in ("video", "animation"):
        obj["width"], obj["height"] = p.int("width", 640), p.int("height", 360)
    if kind == "sticker":
        obj.update({"type": "regular", "width": stored.width or 512,
                    "height": stored.height or 512, "is_animated": False, "is_video": False})
    if kind == "voice":
        obj["mime_type"] = "audio/ogg"
    elif stored.mime_type and kind != "sticker":
        obj["mime_type"] = stored.mime_type
    if stored.file_size is not None:
        obj["file_size"] = stored.file_size
    return obj


def _media_sender(kind: str, method_name: str) -> Handler:
    async def send_media(api: FakeTelegram, p: Params) -> Any:
        chat = target_chat(api, p)
        value = p.file(kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        parse_mode = v.normalize_parse_mode(p.get("parse_mode"))
        raw_caption = p.get("caption") if kind != "sticker" else None
        caption, caption_entities = v.check_caption(
            raw_caption, parse_mode, p.obj("caption_entities")
        )
        markup = v.check_reply_markup(p.obj("reply_markup"))
        thread_id = _thread(chat, p)
        reply = _reply_to(api, chat, p)
        stored = resolve_input_file(api, value, kind)
        _charge(api, chat, method_name.lower())
        msg = _new_message(api, chat, thread_id, reply)
        msg[kind] = media_object(api, stored, kind, p)
        if caption:
            msg["caption"] = caption
            if caption_entities:
                msg["caption_entities"] = caption_entities
            if p.bool("show_caption_above_media"):
                msg["show_caption_above_media"] = True
        if p.bool("has_spoiler"):
            msg["has_media_spoiler"] = True
        _common_extras(msg, p)
        _echo_markup(msg, markup)
        return _deliver(
            api, method_name, chat, msg, p,
            caption=None if raw_caption is None else str(raw_caption),
            parse_mode=parse_mode, markup=markup,
        )

    return send_media


for _kind in MEDIA_KEYS:
    _name = "send" + _kind.capitalize()
    method(_name)(_media_sender(_kind, _name))


@method("sendLocation")
async def send_location(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    lat, lon = p.float("latitude"), p.float("longitude")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong latitude or longitude specified")
    markup = v.check_reply_markup(p.obj("reply_markup"))
    thread_id = _thread(chat, p)
    reply = _reply_to(api, chat, p)
    _charge(api, chat, "sendlocation")
    msg = _new_message(api, chat, thread_id, reply)
    msg["location"] = {"latitude": lat, "longitude": lon}
    _echo_markup(msg, markup)
    return _deliver(api, "sendLocation", chat, msg, p, markup=markup)


def _source_message(api: FakeTelegram, p: Params, verb: str) -> dict[str, Any]:
    source = api.resolve_chat(p.get("from_chat_id"), "from_chat_id")
    mid = _message_id(p)
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
    thread_id = _thread(chat, p)
    reply = _reply_to(api, chat, p)
    _charge(api, chat, "copymessage")
    msg = _new_message(api, chat, thread_id, reply)
    msg.update(content)
    _common_extras(msg, p)
    _echo_markup(msg, markup)
    _deliver(api, "copyMessage", chat, msg, p, text=msg.get("text"),
             caption=msg.get("caption"), parse_mode=parse_mode, markup=markup)
    return {"message_id": msg["message_id"]}


@method("forwardMessage")
async def forward_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    source = _source_message(api, p, "forward")
    thread_id = _thread(chat, p)
    _charge(api, chat, "forwardmessage")
    msg = _new_message(api, chat, thread_id, None)
    origin_chat = source.get("chat", {})
    if origin_chat.get("type") == "channel":
        msg["forward_origin"] = {"type": "channel", "chat": origin_chat,
                                 "message_id": source["message_id"], "date": source["date"]}
    else:
        msg["forward_origin"] = {"type": "user", "sender_user": source.get("from"),
                                 "date": source["date"]}
    msg.update({key: source[key] for key in CONTENT_KEYS if key in source})
    _common_extras(msg, p)
    return _deliver(api, "forwardMessage", chat, msg, p, text=msg.get("text"),
                    caption=msg.get("caption"))


# --- editing --------------------------------------------------------------------------------


def _editable(api: FakeTelegram, p: Params) -> tuple[Chat, dict[str, Any]]:
    if "inline_message_id" in p:
        # Inline mode is not simulated; Telegram answers this for ids it does not know.
        raise bad_request("MESSAGE_ID_INVALID")
    chat = target_chat(api, p)
    msg = chat.messages.get(_message_id(p))
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
    _echo_markup(new, new_markup)
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
    _echo_markup(new, new_markup)
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
    _echo_markup(new, markup if markup and markup["inline_keyboard"] else None)
    return _store_edit(api, "editMessageReplyMarkup", chat, new, p, markup=markup)


@method("deleteMessage")
async def delete_message(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    mid = _message_id(p)
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


# --- interaction ----------------------------------------------------------------------------


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
    mid = _message_id(p)
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
    msg = _new_message(api, chat, None, None)
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


@method("getFile")
async def get_file(api: FakeTelegram, p: Params) -> Any:
    stored = api.files.get(p.str("file_id", "") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.file_json()


def new_query_id() -> str:
    return str(secrets.randbits(62))
