"""Plain-text rendering of messages, for console mode and for readable test failures."""

from __future__ import annotations

from typing import Any

_MEDIA_LABELS = {
    "photo": "[photo]",
    "document": "[document]",
    "voice": "[voice]",
    "audio": "[audio]",
    "video": "[video]",
    "animation": "[animation]",
    "sticker": "[sticker]",
    "location": "[location]",
    "contact": "[contact]",
}


def keyboard_lines(markup: dict[str, Any] | None) -> list[str]:
    """One line per keyboard row: ``[Text]`` inline buttons, ``(Text)`` reply buttons."""
    if not markup:
        return []
    lines = []
    for row in markup.get("inline_keyboard") or []:
        cells = []
        for button in row:
            label = button.get("text", "?")
            if "url" in button:
                cells.append(f"[{label} -> {button['url']}]")
            elif "callback_data" in button:
                cells.append(f"[{label} | {button['callback_data']}]")
            else:
                cells.append(f"[{label}]")
        lines.append(" ".join(cells))
    for row in markup.get("keyboard") or []:
        lines.append(" ".join(
            f"({b if isinstance(b, str) else b.get('text', '?')})" for b in row
        ))
    if markup.get("remove_keyboard"):
        lines.append("(keyboard removed)")
    return lines


def render_message(msg: dict[str, Any], *, markup: dict[str, Any] | None = None) -> str:
    """Text or caption with media markers and the keyboard below it."""
    parts: list[str] = []
    for key, label in _MEDIA_LABELS.items():
        if key in msg:
            if key == "document":
                label = f"[document {msg[key].get('file_name', '')}]".replace(" ]", "]")
            elif key == "sticker":
                label = f"[sticker {msg[key].get('emoji', '')}]".replace(" ]", "]")
            elif key == "location":
                loc = msg[key]
                label = f"[location {loc.get('latitude')}, {loc.get('longitude')}]"
            parts.append(label)
    body = msg.get("text", msg.get("caption"))
    if body:
        parts.append(body)
    if "forum_topic_created" in msg:
        parts.append(f"[topic created: {msg['forum_topic_created'].get('name')}]")
    text = " ".join(parts) if parts and not body else "\n".join(parts)
    lines = [text] if text else []
    lines.extend(keyboard_lines(markup if markup is not None else msg.get("reply_markup")))
    return "\n".join(lines)


def render_record(record: dict[str, Any]) -> str:
    """One sent-record (from FakeTelegram.sent) as the user would see it."""
    head = {
        "editMessageText": "(edited) ",
        "editMessageCaption": "(edited) ",
        "editMessageReplyMarkup": "(keyboard changed) ",
    }.get(record["method"], "")
    return head + render_message(record["message"], markup=record.get("reply_markup"))
