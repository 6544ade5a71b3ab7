"""Parameter checks with Telegram's own error wording: texts, captions, keyboards, commands.

The point of the fake is to fail where Telegram would fail, so a message, keyboard, command
list or reaction that Telegram refuses is refused here with the same 400 description.
"""

from __future__ import annotations

import re
from typing import Any

from .entities import utf16_len
from .errors import bad_request
from .html_parser import parse_html
from .markdown_parser import parse_markdown, parse_markdown_v2

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100

PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}


# --- messages -------------------------------------------------------------------------------


def normalize_parse_mode(parse_mode: Any) -> str | None:
    """Telegram accepts any case; empty means plain text."""
    if parse_mode is None or parse_mode == "":
        return None
    canonical = PARSE_MODES.get(str(parse_mode).lower())
    if canonical is None:
        raise bad_request("unsupported parse_mode")
    return canonical


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Apply a parse mode (explicit ``entities`` win, as in Telegram) and trim like the server."""
    if entities is not None:
        if not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        plain, ents = text, [dict(e) for e in entities if isinstance(e, dict)]
    elif parse_mode == "HTML":
        plain, ents = parse_html(text)
    elif parse_mode == "MarkdownV2":
        plain, ents = parse_markdown_v2(text)
    elif parse_mode == "Markdown":
        plain, ents = parse_markdown(text)
    else:
        plain, ents = text, []
    return _strip(plain, ents)


def _strip(plain: str, ents: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped = plain.strip()
    if stripped == plain:
        return plain, ents
    if not stripped:
        return "", []
    lead = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    total = utf16_len(stripped)
    fixed = []
    for e in ents:
        start = max(0, e["offset"] - lead)
        end = min(total, e["offset"] - lead + e["length"])
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return stripped, fixed


def check_text(
    text: Any, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Validate a message text; returns the text and entities the Message will carry."""
    if text is None or text == "":
        raise bad_request("message text is empty")
    if not isinstance(text, str):
        text = str(text)
    plain, ents = format_text(text, parse_mode, entities)
    if not plain:
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, ents


def check_caption(
    caption: Any, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str | None, list[dict[str, Any]]]:
    """Captions are optional; an empty one after parsing simply disappears."""
    if caption is None or caption == "":
        return None, []
    plain, ents = format_text(str(caption), parse_mode, entities)
    if len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return (plain or None), ents


# --- keyboards ------------------------------------------------------------------------------

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Reject keyboards Telegram rejects, so a bad button fails in tests, not in production."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else (
                    button.get("text") if isinstance(button, dict) else None
                )
                if not isinstance(label, str):
                    raise bad_request('can\'t find field "text"')
    elif "remove_keyboard" in markup or "force_reply" in markup:
        pass
    else:
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: InlineKeyboardButton "
                                  "must be an Object")
            text = button.get("text")
            if not isinstance(text, str):
                raise bad_request('can\'t find field "text"')
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [a for a in _INLINE_ACTIONS if a in button]
            if not actions:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= (
                    MAX_CALLBACK_DATA
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url.startswith(
                    ("http://", "https://", "tg://")
                ) or len(url) < 8:
                    raise bad_request("BUTTON_URL_INVALID")
    if count > MAX_BUTTONS:
        raise bad_request("BUTTONS_TOO_MUCH")


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flatten an inline keyboard; used to check that a simulated press is possible."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [b for row in markup["inline_keyboard"] for b in row if isinstance(b, dict)]


# --- commands -------------------------------------------------------------------------------

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def check_commands(commands: Any) -> list[dict[str, str]]:
    """setMyCommands rules: lowercase 1-32 char names, 1-256 char descriptions, at most 100."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    result = []
    for cmd in commands:
        if not isinstance(cmd, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        name = cmd.get("command")
        desc = cmd.get("description")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name.lstrip("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        result.append({"command": name.lstrip("/"), "description": desc})
    return result


#: ReactionTypeEmoji values the Bot API documents (compared without variation selectors).
REACTION_EMOJI = frozenset(
    e.replace("\ufe0f", "")
    for e in (
        "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ "
        "🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 "
        "🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡"
    ).split()
)


def check_reaction(reaction: Any) -> list[dict[str, Any]]:
    """setMessageReaction accepts only the fixed emoji set (or custom emoji ids)."""
    if reaction is None:
        return []
    if not isinstance(reaction, list):
        raise bad_request("can't parse reaction types JSON object")
    for r in reaction:
        if not isinstance(r, dict):
            raise bad_request("REACTION_INVALID")
        if r.get("type") == "emoji":
            if str(r.get("emoji", "")).replace("\ufe0f", "") not in REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
        elif r.get("type") not in ("custom_emoji", "paid"):
            raise bad_request("REACTION_INVALID")
    return reaction
