"""Telegram's HTML parse mode: what it accepts, and plain-text length after parsing.

From the Bot API's "HTML style" section: only the tags below; ``<``, ``>`` and ``&`` outside
tags and entities must be escaped; only the named entities ``&lt; &gt; &amp; &quot;`` and
numeric ones are understood.
"""

from __future__ import annotations

import html
import re

ALLOWED = {
    "b": set(), "strong": set(), "i": set(), "em": set(), "u": set(), "ins": set(),
    "s": set(), "strike": set(), "del": set(), "tg-spoiler": set(), "span": {"class"},
    "a": {"href"}, "tg-emoji": {"emoji-id"}, "code": {"class"}, "pre": set(),
    "blockquote": {"expandable"},
}
_ATTRS = r"((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)"
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)" + _ATTRS + r"\s*/?>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
MAX_MESSAGE = 4096


def problems(text: str) -> list[str]:
    """Everything Telegram would reject in ``text`` sent with parse_mode=HTML."""
    found: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            m = _TAG.match(text, pos)
            if not m:
                found.append(f"bare '<' at character {pos + 1} (write &lt;)")
                pos += 1
                continue
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in ALLOWED:
                found.append(f"unsupported tag <{name}>")
            elif closing:
                if not stack or stack[-1] != name:
                    found.append(f"unbalanced </{name}>")
                else:
                    stack.pop()
            else:
                for attr, value in _ATTR.findall(attrs):
                    if attr.lower() not in ALLOWED[name]:
                        found.append(f"unsupported attribute {attr!r} on <{name}>")
                    elif name == "span" and value.strip("\"'") != "tg-spoiler":
                        found.append('<span> needs class="tg-spoiler"')
                stack.append(name)
            pos = m.end()
        elif ch == ">":
            found.append(f"bare '>' at character {pos + 1} (write &gt;)")
            pos += 1
        elif ch == "&":
            m = _ENTITY.match(text, pos)
            if not m:
                found.append(f"bare '&' at character {pos + 1} (write &amp;)")
                pos += 1
            else:
                pos = m.end()
        else:
            pos += 1
    for name in reversed(stack):
        found.append(f"<{name}> is never closed")
    return found


def plain_text(text: str) -> str:
    """The text Telegram shows once tags are removed and entities decoded."""
    return html.unescape(_TAG.sub("", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units) after parsing."""
    return len(plain_text(text).encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Make untrusted text safe inside an HTML message."""
    return html.escape(text, quote=False)


_LINK = re.compile(r"<a\s+href\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)\s*>(.*?)</a\s*>",
                   re.IGNORECASE | re.DOTALL)


def links(text: str) -> list[tuple[str, str]]:
    """The web links of ``text``: (href, visible text) of each ``<a href="http(s)://…">``,
    in order, each address once."""
    found: dict[str, str] = {}
    for m in _LINK.finditer(text):
        href = html.unescape(m.group(1).strip("\"'")).strip()
        if href.lower().startswith(("http:", "https:")) and href not in found:
            found[href] = " ".join(plain_text(m.group(2)).split())
    return list(found.items())
