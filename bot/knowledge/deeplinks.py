"""Deep links ``https://t.me/<bot>?start=<payload>`` that open one answer.

Telegram passes the payload to the bot as ``/start <payload>``; it allows only
``A-Z a-z 0-9 _ -`` and at most 64 characters. An entry's own payload is its id with ``.``
replaced by ``-`` (ids have no ``-``, so the mapping goes both ways); ``aliases`` in the KB
add shorter or older names (``kb check`` keeps them unique).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.knowledge.models import Entry, KnowledgeBase

MAX_PAYLOAD = 64
PAYLOAD_CHARS = "A-Z a-z 0-9 _ -"
PAYLOAD_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_PAYLOAD = re.compile(PAYLOAD_PATTERN)


def is_payload(text: str) -> bool:
    """Whether Telegram accepts ``text`` as a start parameter."""
    return bool(_PAYLOAD.fullmatch(text))


def check_payload(text: str) -> str:
    """A pydantic validator for ``aliases``: the message says what Telegram allows."""
    if len(text) > MAX_PAYLOAD:
        raise ValueError(f"{text[:20]!r}… is {len(text)} characters; a deep link allows at "
                         f"most {MAX_PAYLOAD}")
    if not is_payload(text):
        raise ValueError(f"{text!r} cannot be a deep link: only {PAYLOAD_CHARS}, "
                         f"no spaces or dots")
    return text


def payload_of(entry_id: str) -> str:
    """The start parameter of an entry: ``tuition.fees`` -> ``tuition-fees``."""
    return entry_id.replace(".", "-")


def entry_for(kb: KnowledgeBase, payload: str) -> Entry | None:
    """The entry a start parameter names (its id-derived payload or an alias, in any letter
    case), or None for anything else: unknown, malformed, too long."""
    if not is_payload(payload):
        return None
    key = payload.lower()
    entry = kb.entries.get(key.replace("-", "."))
    if entry is not None:
        return entry
    return next((e for e in kb.entries.values()
                 if any(a.lower() == key for a in e.aliases)), None)


def link(username: str, payload: str) -> str:
    return f"https://t.me/{username.lstrip('@')}?start={payload}"
