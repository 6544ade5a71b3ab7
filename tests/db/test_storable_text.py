"""Any text a user can send is stored, on SQLite and PostgreSQL, and one bad row never fails
the others in a batch of questions."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import upsert_user
from bot.db.models import Question, User, storable
from bot.db.question_log import QuestionLog

ODD = ["fees\x00", "\x00", "a\ud800b", "\udfff", "😀" * 3000, "<b>&amp;</b>", "\u202eevil"]


def test_storable_replaces_what_no_database_takes() -> None:
    assert storable("fees\x00") == "fees\ufffd"
    assert storable("a\ud800b") == "a\ufffdb"
    assert storable("plain") == "plain"
    assert storable("x" * 100, 64) == "x" * 64


async def test_odd_names_are_stored(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        for i, name in enumerate(ODD):
            await upsert_user(s, 1000 + i, username=name * 3, first_name=name * 100,
                              language_code=name[:35])
        await s.commit()
        users = (await s.scalars(select(User).order_by(User.id))).all()
    assert [u.first_name for u in users] == [storable(n * 100, 255) for n in ODD]
    assert all(len(u.username) <= 64 for u in users)


async def test_a_bad_row_in_a_batch_fails_nobody(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """30 questions at once, some with a NUL or a lone surrogate: every one is stored (the odd
    characters as U+FFFD) and every caller gets its own id."""
    async with sessions() as s:
        await upsert_user(s, 7, username=None, first_name="A", language_code="en")
        await s.commit()
    log = QuestionLog(sessions)
    texts = [ODD[i % len(ODD)] if i % 4 == 0 else f"question {i}" for i in range(30)]
    ids = await asyncio.gather(*(log.record(user_id=7, chat_id=7, text=text, lang="en",
                                            matched_id=None, score=0.0, outcome="fallback")
                                 for text in texts))
    await log.close()
    assert len(set(ids)) == 30
    async with sessions() as s:
        stored = dict((await s.execute(select(Question.id, Question.text))).all())
    assert [stored[i] for i in ids] == [storable(t)[:4096] for t in texts]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
async def test_a_row_the_database_refuses_fails_only_itself(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """A row whose user does not exist (a constraint) fails alone; the rest are stored."""
    async with sessions() as s:
        await upsert_user(s, 8, username=None, first_name="B", language_code="en")
        await s.commit()
    log = QuestionLog(sessions)
    results = await asyncio.gather(
        *(log.record(user_id=8 if i != 3 else 404, chat_id=8, text=f"q{i}", lang="en",
                     matched_id=None, score=0.0, outcome="fallback") for i in range(10)),
        return_exceptions=True)
    await log.close()
    assert [isinstance(r, Exception) for r in results] == [i == 3 for i in range(10)]
