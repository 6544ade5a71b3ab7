"""Composing a staff broadcast: the ``/broadcast`` command, its filters and recipients, and
the draft shown for confirmation (see :mod:`bot.digest.broadcast` for the whole life of a
broadcast). The statements are in :mod:`bot.db.broadcasts`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import broadcasts, subscriptions
from bot.db.broadcasts import DRAFT, KIND
from bot.db.models import utcnow
from bot.digest.runs import Sessions
from bot.i18n import LANGUAGES
from bot.text import tghtml
from bot.text.split import split_message

__all__ = ["DRAFT", "DRAFT_TTL", "KIND", "MAX_PROBLEMS", "Draft", "Filters", "Recipients",
           "UsageError", "cancel_draft", "confirm_draft", "count_recipients", "create_draft",
           "dump_note", "get_draft", "parse_command", "parse_note", "purge_expired", "render"]

DRAFT_TTL: Final = timedelta(minutes=30)
MAX_PROBLEMS: Final = 10
_FILTER = re.compile(r"(tag|lang):(\S*)(?:\s+|$)", re.IGNORECASE)
_TAG = re.compile(r"[\w.-]{1,64}")


# --- the command -----------------------------------------------------------------------------


class UsageError(ValueError):
    """The command cannot be used as given; ``key`` and ``args`` are the staff's message."""

    def __init__(self, key: str, **args: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = args


@dataclass(frozen=True)
class Filters:
    tag: str | None = None
    lang: str | None = None

    def wants(self, tags: Sequence[str] | None) -> bool:
        """Does a subscriber with these topics get it? No topics chosen = every topic."""
        return self.tag is None or not tags or self.tag in tags

    def describe(self) -> str:
        """For the audit trail and logs: ``tag=admission lang=ru`` or ``all``."""
        parts = [f"tag={self.tag}"] if self.tag else []
        if self.lang:
            parts.append(f"lang={self.lang}")
        return " ".join(parts) or "all"

    def as_dict(self) -> dict[str, str | None]:
        return {"tag": self.tag, "lang": self.lang}


def parse_command(args: str | None) -> tuple[Filters, str]:
    """``[tag:<topic>] [lang:en|ru] <text>`` → the filters and the text (as written, only
    stripped). Filters come first, each at most once; raises :class:`UsageError`."""
    rest = (args or "").lstrip()
    found: dict[str, str] = {}
    while m := _FILTER.match(rest):
        name, value = m.group(1).lower(), m.group(2)
        if name in found:
            raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        if name == "lang":
            value = value.lower()
            if value not in LANGUAGES:
                raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        elif not _TAG.fullmatch(value):
            raise UsageError("broadcast-bad-filter", filter=f"{name}:{value}")
        found[name] = value
        rest = rest[m.end():]
    return Filters(found.get("tag"), found.get("lang")), rest.strip()


def render(text: str) -> list[str]:
    """The messages subscribers get: ``text`` (Telegram HTML) split to Telegram's limit.
    Raises :class:`UsageError` listing what Telegram would reject."""
    found = tghtml.problems(text)
    if found:
        shown = found[:MAX_PROBLEMS]
        if len(found) > MAX_PROBLEMS:
            shown.append(f"… +{len(found) - MAX_PROBLEMS}")
        raise UsageError("broadcast-invalid-html", problems=found, shown=shown)
    parts = split_message(text)
    if not parts:
        raise UsageError("broadcast-usage")
    return parts


@dataclass
class Recipients:
    total: int = 0  # active subscribers the broadcast would reach now
    chose_tag: int = 0  # of them, those who chose the filter's topic explicitly


async def count_recipients(session: AsyncSession, filters: Filters) -> Recipients:
    """How many active subscribers match now. Topics are JSON lists, matched here in Python
    (portable: SQLite and PostgreSQL store JSON differently)."""
    if filters.tag is None:
        return Recipients(await subscriptions.count_reachable(session, filters.lang))
    found = Recipients()
    for tags in await subscriptions.reachable_tags(session, filters.lang):
        if filters.wants(tags):
            found.total += 1
            found.chose_tag += bool(tags)
    return found


# --- drafts ----------------------------------------------------------------------------------


@dataclass
class Draft:
    run_id: int
    token: str
    status: str
    created_by: int | None
    created_at: datetime | None
    note: dict[str, Any] = field(default_factory=dict)

    @property
    def filters(self) -> Filters:
        return Filters(self.note.get("tag"), self.note.get("lang"))

    def expired(self, now: datetime | None = None) -> bool:
        return self.status == DRAFT and (
            self.created_at is None or self.created_at < (now or utcnow()) - DRAFT_TTL)


def parse_note(text: str | None) -> dict[str, Any]:
    """A run's note (JSON) as a dict; ``{}`` when missing or not an object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dump_note(note: dict[str, Any]) -> str:
    return json.dumps(note, ensure_ascii=False, sort_keys=True)


async def create_draft(sessions: Sessions, *, messages: list[str], filters: Filters,
                       created_by: int, chat_id: int, thread_id: int | None, ui_lang: str,
                       recipients: int) -> Draft:
    """Store a draft and its payload (committed before the buttons are shown)."""
    token = secrets.token_hex(8)
    note = {**filters.as_dict(), "chat": chat_id, "thread": thread_id, "ui": ui_lang,
            "recipients": recipients}
    digest = hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()
    now = utcnow()
    async with sessions() as s:
        run_id = await broadcasts.add_draft(s, token, created_by=created_by, started_at=now,
                                            note=dump_note(note), digest=digest,
                                            messages=messages)
        await s.commit()
    return Draft(run_id, token, DRAFT, created_by, now, note)


async def get_draft(sessions: Sessions, token: str) -> Draft | None:
    """The broadcast of this token, in whatever state (None: cancelled, purged, unknown)."""
    async with sessions() as s:
        row = await broadcasts.get(s, token)
    if row is None:
        return None
    return Draft(row.id, row.slot.partition(":")[2], row.status, row.created_by,
                 row.started_at, parse_note(row.note))


async def cancel_draft(sessions: Sessions, draft: Draft) -> bool:
    async with sessions() as s:
        dropped = await broadcasts.drop_draft(s, draft.run_id)
        await s.commit()
    return dropped


async def purge_expired(sessions: Sessions, now: datetime | None = None) -> int:
    """Delete drafts older than :data:`DRAFT_TTL` (nobody confirmed them in time)."""
    cutoff = (now or utcnow()) - DRAFT_TTL
    async with sessions() as s:
        dropped = 0
        for run_id in await broadcasts.drafts_before(s, cutoff):
            dropped += await broadcasts.drop_draft(s, run_id)
        await s.commit()
    return dropped


async def confirm_draft(sessions: Sessions, draft: Draft, user_id: int, *, chat_id: int,
                        message_id: int, thread_id: int | None) -> bool:
    """``draft`` → ``planning`` if it still is an unexpired draft of ``user_id``; the status
    message is recorded for the reporter and the action audited in the same transaction.
    False: someone (or a double tap) got there first, or it expired."""
    note = {**draft.note, "chat": chat_id, "message": message_id, "thread": thread_id,
            "reported": False}
    now = utcnow()
    async with sessions() as s:
        confirmed = await broadcasts.confirm(
            s, draft.run_id, user_id=user_id, created_after=now - DRAFT_TTL, now=now,
            note=dump_note(note),
            audit=f"run={draft.run_id} {draft.filters.describe()} "
                  f"recipients={draft.note.get('recipients')}")
        if not confirmed:
            await s.rollback()
            return False
        await s.commit()
    draft.status, draft.note = "planning", note
    return True
