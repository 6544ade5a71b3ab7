"""Parse modes MarkdownV2 and legacy Markdown: marked-up text into text and entities.

Like the HTML parser, these follow TDLib rather than the documentation's prose (an unescaped
reserved character is a 400 in MarkdownV2, an unclosed marker one in legacy Markdown), and
scan with regular expressions for speed.
"""

from __future__ import annotations

import re
from typing import Any

from .entities import SPACE, byte_offset, entities_error, utf16_len
from .errors import ApiError

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
                    while lang_end < n and text[lang_end] not in SPACE and text[lang_end] != "`":
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
                raise entities_error(
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
                    raise entities_error(
                        f"Can't find end of a url at byte offset {byte_offset(text, i + 1)}"
                    )
                url = "".join(buf)
                i = k + 1
            if etype == "custom_emoji":
                if not url.startswith("tg://emoji?id="):
                    raise entities_error(
                        "Custom emoji entity must contain a tg://emoji URL at byte offset "
                        f"{byte_offset(text, entry['begin'])}"
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
        raise entities_error(
            f"Can't find end of {_MDV2_NAMES[top['type']]} entity at byte offset "
            f"{byte_offset(text, top['begin'])}"
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
        return entities_error(
            f"Can't find end of the entity starting at byte offset {byte_offset(text, pos)}"
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

