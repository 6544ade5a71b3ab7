"""What the parse-mode parsers share: UTF-16 entity offsets, UTF-8 error offsets, the 400."""

from __future__ import annotations

from .errors import ApiError, bad_request

#: Whitespace as TDLib's parsers skip it (NUL included).
SPACE = " \t\r\n\f\v\0"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of every entity offset in the Bot API."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8"))


def entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")
