"""Files and media: turning uploads, file_ids and URLs into stored files, send<Media>, getFile."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any

from .. import validate as v
from ..errors import ApiError, bad_request
from ..params import Params, Upload
from .common import (
    MEDIA_KEYS,
    charge,
    checked_thread_id,
    common_extras,
    deliver,
    echo_markup,
    new_message,
    reply_to,
    target_chat,
)
from .registry import Handler, method

if TYPE_CHECKING:
    from ..server import FakeTelegram
    from ..state import StoredFile

GET_FILE_LIMIT = 20 * 1024 * 1024

FILE_TYPE_NAMES = {
    "photo": "Photo",
    "document": "Document",
    "voice": "Voice",
    "audio": "Audio",
    "video": "Video",
    "animation": "Animation",
    "sticker": "Sticker",
}


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
        thread_id = checked_thread_id(chat, p)
        reply = reply_to(api, chat, p)
        stored = resolve_input_file(api, value, kind)
        charge(api, chat, method_name.lower())
        msg = new_message(api, chat, thread_id, reply)
        msg[kind] = media_object(api, stored, kind, p)
        if caption:
            msg["caption"] = caption
            if caption_entities:
                msg["caption_entities"] = caption_entities
            if p.bool("show_caption_above_media"):
                msg["show_caption_above_media"] = True
        if p.bool("has_spoiler"):
            msg["has_media_spoiler"] = True
        common_extras(msg, p)
        echo_markup(msg, markup)
        return deliver(
            api, method_name, chat, msg, p,
            caption=None if raw_caption is None else str(raw_caption),
            parse_mode=parse_mode, markup=markup,
        )

    return send_media


for _kind in MEDIA_KEYS:
    _name = "send" + _kind.capitalize()
    method(_name)(_media_sender(_kind, _name))


@method("getFile")
async def get_file(api: FakeTelegram, p: Params) -> Any:
    stored = api.files.get(p.str("file_id", "") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if (stored.file_size or 0) > GET_FILE_LIMIT:
        # "Bots can currently download files of up to 20MB in size" (getFile).
        raise bad_request("file is too big")
    return stored.file_json()
