"""Splitting long HTML messages into pieces Telegram accepts, never inside a tag."""

from __future__ import annotations

import functools
import re

from bot.text import tghtml

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def _open_tags_at(text: str, end: int) -> list[tuple[str, str]]:
    """(name, opening tag as written) of the tags still open at ``end``."""
    stack: list[tuple[str, str]] = []
    for m in _TAG.finditer(text, 0, end):
        name = m.group(2).lower()
        if m.group(1):
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            stack.append((name, m.group(0)))
    return stack


def _best_cut(text: str, limit: int) -> int:
    """A paragraph break with no tag open, else a line break, else a space; 0 if none."""
    for sep in ("\n\n", "\n", " "):
        best = 0
        for m in re.finditer(re.escape(sep), text):
            pos = m.end()
            if tghtml.visible_length(text[:pos]) > limit:
                break
            inside_tag = text.rfind("<", 0, pos) > text.rfind(">", 0, pos)  # <a href=...>
            if not inside_tag and not _open_tags_at(text, pos):
                best = pos
        if best:
            return best
    return 0


def _hard_cut(text: str, limit: int) -> int:
    """The longest prefix within ``limit`` that does not end inside a tag or an entity."""
    pos = last = last_visible = 0
    visible = 0
    while pos < len(text) and visible < limit:
        ch = text[pos]
        if ch == "<" and (end := text.find(">", pos)) != -1:
            pos = end + 1
        elif ch == "&" and 0 < (end := text.find(";", pos)) - pos <= 10:
            # &#128512; is one character but two UTF-16 code units, as Telegram counts.
            pos, visible = end + 1, visible + tghtml.visible_length(text[pos:end + 1])
        else:
            pos, visible = pos + 1, visible + (2 if ord(ch) > 0xFFFF else 1)
        if visible <= limit or not last_visible:  # always take one character: progress
            last, last_visible = pos, visible
    return last or 1


#: Texts up to this long are split once and the parts kept (the KB's answers, sent again and
#: again: measuring and checking one took ~10 µs of every answer); at most CACHED of them.
CACHE_UP_TO = 2 * tghtml.MAX_MESSAGE
CACHED = 1024


def split_message(text: str, limit: int = tghtml.MAX_MESSAGE) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` visible characters: at paragraph
    breaks where no tag is open if possible, then lines, then spaces; as a last resort a
    hard cut that closes the open tags and reopens them in the next part."""
    if len(text) <= CACHE_UP_TO:
        return list(_split_cached(text, limit))
    return _split(text, limit)


@functools.lru_cache(maxsize=CACHED)
def _split_cached(text: str, limit: int) -> tuple[str, ...]:
    return tuple(_split(text, limit))


def _split(text: str, limit: int) -> list[str]:
    text = text.strip()
    parts: list[str] = []
    while text and tghtml.visible_length(text) > limit:
        cut = _best_cut(text, limit)
        if cut:
            head, text = text[:cut], text[cut:]
        else:
            # Leave room for nothing: closing tags are invisible, so the limit still holds.
            cut = _hard_cut(text, limit)
            open_tags = _open_tags_at(text, cut)
            head = text[:cut] + "".join(f"</{name}>" for name, _ in reversed(open_tags))
            text = "".join(tag for _, tag in open_tags) + text[cut:]
        if tghtml.plain_text(head).strip():  # Telegram refuses a message with no text
            parts.append(head.strip())
        text = text.strip()
    if tghtml.plain_text(text).strip():
        parts.append(text)
    return parts
