"""Text, formatting and keyboard checks with Telegram's own error wording.

The point of the fake is to fail where Telegram would fail, so the parsers follow the
server's (TDLib's) behaviour rather than the friendlier prose of the documentation: a bare
``>`` or an unknown ``&name;`` is accepted as literal text, unknown attributes are ignored,
but an unknown tag, an unclosed tag or a stray ``</b>`` is a 400 with a byte offset into the
UTF-8 source. Entity offsets in results are UTF-16 code units, as in the Bot API.

Parsing is chunked with regular expressions instead of walking characters, because the
benchmarks push thousands of messages per second through here.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100

_SPACE = " \t\r\n\f\v\0"
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_END = re.compile(r"[ \t\r\n\f\v\0>]")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")

#: HTML tag -> entity type; "a", "code", "span", "tg-emoji", "blockquote" get refined later.
HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of every entity offset in the Bot API."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8"))


def _entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos``; None means Telegram keeps the ``&`` as a literal."""
    m = _ENTITY.match(text, pos)
    if m is None:
        return None
    dec, hexa, name = m.groups()
    if name:
        return _NAMED[name], m.end()
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), m.end()


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) or raise the 400 Telegram gives for this markup."""
    if "<" not in text and "&" not in text:
        return text, []
    out: list[str] = []
    u16 = 0
    n = len(text)
    # Open tags: [tag, argument, start offset (utf16), begin position in source].
    stack: list[list[Any]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while True:
        m = _SPECIAL.search(text, i)
        if m is None:
            chunk = text[i:]
            out.append(chunk)
            u16 += utf16_len(chunk)
            break
        j = m.start()
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            u16 += utf16_len(chunk)
        if text[j] == "&":
            decoded = _decode_entity(text, j)
            if decoded is None:
                out.append("&")
                u16 += 1
                i = j + 1
            else:
                out.append(decoded[0])
                u16 += utf16_len(decoded[0])
                i = decoded[1]
            continue
        begin = j
        k = j + 1
        if k < n and text[k] == "/":
            if not stack:
                raise _entities_error(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            em = _TAG_END.search(text, k)
            k = em.start() if em else n
            end_name = text[begin + 2 : k].lower()
            while k < n and text[k] in _SPACE:
                k += 1
            if k >= n or text[k] != ">":
                raise _entities_error(
                    f"Unclosed end tag at byte offset {_byte_offset(text, begin)}"
                )
            tag, arg, start, _src = stack.pop()
            if end_name and end_name != tag:
                raise _entities_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            _close_html_entity(tag, arg, start, u16, stack, entities)
            i = k + 1
            continue
        em = _TAG_END.search(text, k)
        tag_end = em.start() if em else n
        if tag_end >= n or text[tag_end] == "\0":
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[k:tag_end].lower()
        if tag not in HTML_TAGS:
            raise _entities_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        arg, k = _parse_attributes(text, tag_end, tag, begin)
        if tag == "span" and arg != "tg-spoiler":
            raise _entities_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append([tag, arg, u16, begin])
        i = k + 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[str, int]:
    """Parse attributes up to ``>``; return (the one argument Telegram uses, index of ``>``)."""
    n = len(text)
    arg = ""
    while i < n and text[i] != ">":
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            break
        if text[i] == ">":
            break
        attr_begin = i
        while i < n and text[i] not in _SPACE and text[i] not in "=>":
            i += 1
        attr = text[attr_begin:i].lower()
        if not attr:
            raise _entities_error(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n or text[i] != "=":
            if tag == "blockquote" and attr == "expandable":
                arg = "expandable"
                continue
            raise _entities_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            raise _entities_error(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] not in "'\"":
            tm = _NAME_TOKEN.match(text, i)
            assert tm is not None
            value = tm.group().lower()
            if tm.end() >= n or (text[tm.end()] not in _SPACE and text[tm.end()] != ">"):
                raise _entities_error(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            i = tm.end()
        else:
            quote = text[i]
            close = text.find(quote, i + 1)
            if close < 0:
                raise _entities_error(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            raw = text[i + 1 : close]
            value = _unescape(raw) if "&" in raw else raw
            i = close + 1
        if (
            (tag == "a" and attr == "href")
            or (tag == "code" and attr == "class" and value.startswith("language-"))
            or (tag == "span" and attr == "class" and value.startswith("tg-"))
            or (tag == "tg-emoji" and attr == "emoji-id")
        ):
            arg = value
            if tag == "code":
                arg = value[len("language-") :]
    if i >= n:
        raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    return arg, i


def _unescape(raw: str) -> str:
    parts: list[str] = []
    i = 0
    while True:
        j = raw.find("&", i)
        if j < 0:
            parts.append(raw[i:])
            return "".join(parts)
        parts.append(raw[i:j])
        decoded = _decode_entity(raw, j)
        if decoded is None:
            parts.append("&")
            i = j + 1
        else:
            parts.append(decoded[0])
            i = decoded[1]


def _close_html_entity(
    tag: str,
    arg: str,
    start: int,
    end: int,
    stack: list[list[Any]],
    entities: list[dict[str, Any]],
) -> None:
    length = end - start
    if length <= 0:
        return
    etype = HTML_TAGS[tag]
    entity: dict[str, Any] = {"type": etype, "offset": start, "length": length}
    if tag == "a":
        if not arg:
            return
        if arg.startswith("tg://user?id="):
            uid = arg[len("tg://user?id=") :]
            if uid.isdigit():
                entity = {"type": "text_mention", "offset": start, "length": length,
                          "user": {"id": int(uid), "is_bot": False, "first_name": ""}}
            else:
                entity["url"] = arg
        else:
            entity["url"] = arg
    elif tag == "code" and arg and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
        # <pre><code class="language-x">: Telegram folds it into one pre with a language.
        stack[-1][1] = arg
        return
    elif tag == "pre" and arg:
        entity["language"] = arg
    elif tag == "blockquote" and arg == "expandable":
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        if not arg:
            return
        entity["custom_emoji_id"] = arg
    entities.append(entity)


# --- MarkdownV2 -----------------------------------------------------------------------------

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_SPECIAL = re.compile(r"[_*\[\]()~`>#+\-=|{}.!\\]")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """MarkdownV2 as TDLib parses it: every reserved character outside syntax must be escaped."""
    out: list[str] = []
    u16 = 0
    n = len(text)
    stack: list[dict[str, Any]] = []  # {"type", "start", "begin", "arg"}
    entities: list[dict[str, Any]] = []
    quote_start: int | None = None
    quote_expandable = False
    i = 0

    def emit(s: str) -> None:
        nonlocal u16
        out.append(s)
        u16 += utf16_len(s)

    while i < n:
        in_code = bool(stack) and stack[-1]["type"] in ("code", "pre")
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and not in_code:
            if quote_start is not None and not text.startswith(">", i) and not text.startswith(
                "**>", i
            ):
                _close_quote(entities, quote_start, u16, quote_expandable, out)
                quote_start = None
            if text.startswith("**>", i):
                if quote_start is None:
                    quote_start, quote_expandable = u16, True
                i += 3
                continue
            if text.startswith(">", i):
                if quote_start is None:
                    quote_start, quote_expandable = u16, False
                i += 1
                continue
        m = _MDV2_SPECIAL.search(text, i)
        j = m.start() if m else n
        if in_code:
            # Inside code only ` and \ are special.
            k1 = text.find("`", i)
            k2 = text.find("\\", i)
            cands = [k for k in (k1, k2) if k >= 0]
            j = min(cands) if cands else n
        nl = text.find("\n", i, j) if quote_start is not None else -1
        if nl >= 0:
            j = nl + 1
            emit(text[i:j])
            i = j
            continue
        if j > i:
            emit(text[i:j])
            i = j
            continue
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "\\":
            if nxt and 0 < ord(nxt) <= 126:
                emit(nxt)
                i += 2
            else:
                emit(c)
                i += 1
            continue
        if in_code and c != "`":
            emit(c)
            i += 1
            continue
        if (
            quote_start is not None
            and quote_expandable
            and c == "|"
            and nxt == "|"
            and (i + 2 >= n or text[i + 2] == "\n")
            and not stack
        ):
            i += 2
            continue
        top = stack[-1]["type"] if stack else None
        is_end = (
            (top == "bold" and c == "*")
            or (top == "italic" and c == "_" and nxt != "_")
            or (top == "underline" and c == "_" and nxt == "_")
            or (top == "strikethrough" and c == "~")
            or (top == "spoiler" and c == "|" and nxt == "|")
            or (top == "code" and c == "`")
            or (top == "pre" and text.startswith("```", i))
            or (top in ("text_link", "custom_emoji") and c == "]")
        )
        if not is_end:
            begin = i
            arg = ""
            if c == "_":
                if nxt == "_":
                    etype = "underline"
                    i += 1
                else:
                    etype = "italic"
            elif c == "*":
                etype = "bold"
            elif c == "~":
                etype = "strikethrough"
            elif c == "|" and nxt == "|":
                etype = "spoiler"
                i += 1
            elif c == "[":
                etype = "text_link"
            elif c == "!" and nxt == "[":
                etype = "custom_emoji"
                i += 1
            elif c == "`":
                if text.startswith("```", i):
                    etype = "pre"
                    i += 3
                    lang_end = i
                    while lang_end < n and text[lang_end] not in _SPACE and text[lang_end] != "`":
                        lang_end += 1
                    if lang_end != i and lang_end < n and text[lang_end] != "`":
                        arg = text[i:lang_end]
                        i = lang_end
                    if i < n and text[i] in "\r\n":
                        crlf = i + 1 < n and text[i + 1] in "\r\n" and text[i + 1] != text[i]
                        i += 2 if crlf else 1
                    i -= 1
                else:
                    etype = "code"
            else:
                raise _entities_error(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append({"type": etype, "start": u16, "begin": begin, "arg": arg})
            i += 1
            continue
        entry = stack.pop()
        etype = entry["type"]
        if etype in ("underline", "spoiler"):
            i += 2
        elif etype == "pre":
            i += 3
        else:
            i += 1
        entity: dict[str, Any] = {"type": etype, "offset": entry["start"],
                                  "length": u16 - entry["start"]}
        if etype in ("text_link", "custom_emoji"):
            url = ""
            if i < n and text[i] == "(":
                k = i + 1
                buf: list[str] = []
                while k < n and text[k] != ")":
                    if text[k] == "\\" and k + 1 < n and 0 < ord(text[k + 1]) <= 126:
                        buf.append(text[k + 1])
                        k += 2
                        continue
                    buf.append(text[k])
                    k += 1
                if k >= n:
                    raise _entities_error(
                        f"Can't find end of a url at byte offset {_byte_offset(text, i + 1)}"
                    )
                url = "".join(buf)
                i = k + 1
            if etype == "custom_emoji":
                if not url.startswith("tg://emoji?id="):
                    raise _entities_error(
                        "Custom emoji entity must contain a tg://emoji URL at byte offset "
                        f"{_byte_offset(text, entry['begin'])}"
                    )
                entity["custom_emoji_id"] = url[len("tg://emoji?id=") :]
            elif url:
                entity["url"] = url
            else:
                entity["type"] = "url"
        elif etype == "pre" and entry["arg"]:
            entity["language"] = entry["arg"]
        if entity["length"] > 0:
            entities.append(entity)
    if stack:
        top = stack[-1]
        raise _entities_error(
            f"Can't find end of {_MDV2_NAMES[top['type']]} entity at byte offset "
            f"{_byte_offset(text, top['begin'])}"
        )
    if quote_start is not None:
        _close_quote(entities, quote_start, u16, quote_expandable, out)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_quote(
    entities: list[dict[str, Any]], start: int, end: int, expandable: bool, out: list[str]
) -> None:
    # A quote ends with its line; the newline itself is not part of the entity.
    if out and out[-1].endswith("\n"):
        end -= 1
    if end > start:
        entities.append({
            "type": "expandable_blockquote" if expandable else "blockquote",
            "offset": start,
            "length": end - start,
        })


# --- legacy Markdown ------------------------------------------------------------------------

_MD1_SPECIAL = re.compile(r"[_*`\[\\]")


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: no nesting, and an unclosed marker is the classic 'end of the entity'."""
    out: list[str] = []
    u16 = 0
    n = len(text)
    entities: list[dict[str, Any]] = []
    i = 0

    def emit(s: str) -> None:
        nonlocal u16
        out.append(s)
        u16 += utf16_len(s)

    def unclosed(pos: int) -> ApiError:
        return _entities_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, pos)}"
        )

    while i < n:
        m = _MD1_SPECIAL.search(text, i)
        if m is None:
            emit(text[i:])
            break
        j = m.start()
        if j > i:
            emit(text[i:j])
        c = text[j]
        if c == "\\":
            if j + 1 < n and text[j + 1] in "_*`[":
                emit(text[j + 1])
                i = j + 2
            else:
                emit("\\")
                i = j + 1
            continue
        start = u16
        if c == "[":
            close = text.find("]", j + 1)
            if close < 0:
                raise unclosed(j)
            label = text[j + 1 : close]
            emit(label)
            if close + 1 < n and text[close + 1] == "(":
                end = text.find(")", close + 2)
                if end < 0:
                    raise unclosed(j)
                url = text[close + 2 : end]
                if u16 > start:
                    entities.append({"type": "text_link", "offset": start,
                                     "length": u16 - start, "url": url})
                i = end + 1
            else:
                i = close + 1
            continue
        if c == "`" and text.startswith("```", j):
            end = text.find("```", j + 3)
            if end < 0:
                raise unclosed(j)
            body = text[j + 3 : end]
            lang = ""
            nl = body.find("\n")
            if nl > 0 and " " not in body[:nl]:
                lang, body = body[:nl], body[nl + 1 :]
            emit(body)
            ent: dict[str, Any] = {"type": "pre", "offset": start, "length": u16 - start}
            if lang:
                ent["language"] = lang
            if u16 > start:
                entities.append(ent)
            i = end + 3
            continue
        end = text.find(c, j + 1)
        if end < 0:
            raise unclosed(j)
        emit(text[j + 1 : end])
        etype = {"*": "bold", "_": "italic", "`": "code"}[c]
        if u16 > start:
            entities.append({"type": etype, "offset": start, "length": u16 - start})
        i = end + 1
    return "".join(out), entities


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
