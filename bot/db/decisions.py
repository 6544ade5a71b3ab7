"""Staff decisions about unanswered questions: once a wording is taught to an entry, marked
out of scope or ignored, it leaves the /unanswered list for good."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import UnansweredDecision
from bot.text.normalize import normalize

DECISIONS = ("entry", "out_of_scope", "ignore")


def text_hash(text: str) -> str:
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()


async def decided(session: AsyncSession) -> set[tuple[str, str]]:
    """(lang, text hash) of every wording staff decided about."""
    rows = await session.execute(select(UnansweredDecision.lang, UnansweredDecision.text_hash))
    return {(lang, h) for lang, h in rows.all()}


async def record(session: AsyncSession, user_id: int, lang: str, texts: Iterable[str],
                 decision: str, entry_id: str | None = None) -> int:
    """One row per wording not decided yet; returns how many were new."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    known = await decided(session)
    added = 0
    for text in dict.fromkeys(texts):
        key = (lang, text_hash(text))
        if key in known:
            continue
        known.add(key)
        try:
            async with session.begin_nested():
                session.add(UnansweredDecision(lang=lang, text_hash=key[1], text=text[:4000],
                                               decision=decision, entry_id=entry_id,
                                               user_id=user_id))
            added += 1
        except IntegrityError:  # another staff member decided it a moment ago
            continue
    await session.flush()
    return added
