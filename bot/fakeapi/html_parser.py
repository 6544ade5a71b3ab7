"""Parse mode HTML: the tag parser that turns marked-up text into text and entities.

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

from .entities import SPACE, byte_offset, entities_error, utf16_len

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
                raise entities_error(
                    f"Unexpected end tag at byte offset {byte_offset(text, begin)}"
                )
            em = _TAG_END.search(text, k)
            k = em.start() if em else n
            end_name = text[begin + 2 : k].lower()
            while k < n and text[k] in SPACE:
                k += 1
            if k >= n or text[k] != ">":
                raise entities_error(
                    f"Unclosed end tag at byte offset {byte_offset(text, begin)}"
                )
            tag, arg, start, _src = stack.pop()
            if end_name and end_name != tag:
                raise entities_error(
                    f"Unmatched end tag at byte offset {byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            _close_html_entity(tag, arg, start, u16, stack, entities)
            i = k + 1
            continue
        em = _TAG_END.search(text, k)
        tag_end = em.start() if em else n
        if tag_end >= n or text[tag_end] == "\0":
            raise entities_error(f"Unclosed start tag at byte offset {byte_offset(text, begin)}")
        tag = text[k:tag_end].lower()
        if tag not in HTML_TAGS:
            raise entities_error(
                f'Unsupported start tag "{tag}" at byte offset {byte_offset(text, begin)}'
            )
        arg, k = _parse_attributes(text, tag_end, tag, begin)
        if tag == "span" and arg != "tg-spoiler":
            raise entities_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{byte_offset(text, begin)}"
            )
        stack.append([tag, arg, u16, begin])
        i = k + 1
    if stack:
        raise entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[str, int]:
    """Parse attributes up to ``>``; return (the one argument Telegram uses, index of ``>``)."""
    n = len(text)
    arg = ""
    while i < n and text[i] != ">":
        while i < n and text[i] in SPACE:
            i += 1
        if i >= n:
            break
        if text[i] == ">":
            break
        attr_begin = i
        while i < n and text[i] not in SPACE and text[i] not in "=>":
            i += 1
        attr = text[attr_begin:i].lower()
        if not attr:
            raise entities_error(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{byte_offset(text, begin)}"
            )
        while i < n and text[i] in SPACE:
            i += 1
        if i >= n or text[i] != "=":
            if tag == "blockquote" and attr == "expandable":
                arg = "expandable"
                continue
            raise entities_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i] in SPACE:
            i += 1
        if i >= n:
            raise entities_error(
                f'Unclosed start tag "{tag}" at byte offset {byte_offset(text, begin)}'
            )
        if text[i] not in "'\"":
            tm = _NAME_TOKEN.match(text, i)
            assert tm is not None
            value = tm.group().lower()
            if tm.end() >= n or (text[tm.end()] not in SPACE and text[tm.end()] != ">"):
                raise entities_error(
                    f"Unexpected end of name token at byte offset {byte_offset(text, i)}"
                )
            i = tm.end()
        else:
            quote = text[i]
            close = text.find(quote, i + 1)
            if close < 0:
                raise entities_error(
                    f"Unclosed start tag at byte offset {byte_offset(text, begin)}"
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
        raise entities_error(f"Unclosed start tag at byte offset {byte_offset(text, begin)}")
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

