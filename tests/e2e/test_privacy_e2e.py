"""/privacy and /forget end to end: the production dispatcher against the fake Bot API, on
SQLite and on PostgreSQL (the ``db_url`` fixture).

One bot per backend, shared by the tests of this module; each test keeps apart by its own
user ids.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, or_, select

from bot.db import handoffs
from bot.db.models import (
    Feedback,
    Handoff,
    HandoffMessage,
    Question,
    QuestionDaily,
    StaffAction,
    Subscription,
    User,
)
from bot.fakeapi import FakeUser
from bot.staff import stats
from tests.support.db import postgres_url_or_skip, temporary_database
from tests.support.harness import Harness, button, make_config, running_bot, settle

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF_CHAT = -1_001_000_000_555
_ids = itertools.count(80_001)
YES, CANCEL = "🗑 Yes, delete", "Cancel"
NOT_YOURS = "Only the person who sent /forget can press this button."


@pytest_asyncio.fixture(scope="module", loop_scope="module",
                        params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def h(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    tmp = tmp_path_factory.mktemp("privacy")
    if request.param == "sqlite":
        async with running_bot(tmp, staff={"chat_id": STAFF_CHAT},
                               privacy={"keep_questions_days": 90}) as harness:
            yield harness
        return
    async with temporary_database(await postgres_url_or_skip()) as url:
        config = make_config(tmp, database={"url": url}, staff={"chat_id": STAFF_CHAT},
                             privacy={"keep_questions_days": 90})
        async with running_bot(tmp, config=config) as harness:
            yield harness


def new_user(h: Harness) -> FakeUser:
    uid = next(_ids)
    return h.api.user(uid, first_name=f"Student{uid}", username=f"student{uid}")


async def say(h: Harness, user: FakeUser, text: str, chat=None) -> dict:
    mark = h.api.mark()
    msg = await user.send_text(text, chat=chat)
    (reply,) = await h.api.wait_for(1, chat_id=msg["chat"]["id"], since=mark)
    return reply


async def edited_after_press(h: Harness, user: FakeUser, record: dict, label: str) -> dict:
    mark = h.api.mark()
    await user.press(record, text=label)
    (edit,) = await h.api.wait_for(1, chat_id=record["chat_id"], since=mark,
                                   method="editMessageText")
    return edit


async def leave_traces(h: Harness, user: FakeUser) -> None:
    """Questions, a vote, a news subscription and a hand-off conversation."""
    answer = await say(h, user, "visa")
    await user.press(answer, text="👍")
    await say(h, user, "Is there a dormitory?")
    await say(h, user, "/subscribe")
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        conv = await handoffs.start(s, user_id=user.id, chat_id=user.id,
                                    staff_chat_id=STAFF_CHAT, topic_id=None, question_id=None)
        await handoffs.link(s, conv, user.id, "to_staff")  # message ids: unique per user here
        await s.commit()


async def rows_of(h: Harness, uid: int) -> dict[str, int]:
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        out = {}
        for model in (User, Question, Feedback, Subscription, Handoff):
            column = model.id if model is User else model.user_id
            out[model.__tablename__] = await s.scalar(
                select(func.count()).select_from(model).where(column == uid))
        out["handoff_messages"] = await s.scalar(
            select(func.count()).select_from(HandoffMessage).where(
                HandoffMessage.staff_message_id == uid))
        return out


TRACES = {"users": 1, "questions": 2, "feedback": 1, "subscriptions": 1, "handoffs": 1,
          "handoff_messages": 1}


async def test_privacy_says_what_is_stored_and_for_how_long(h: Harness) -> None:
    student = new_user(h)
    text = (await say(h, student, "/privacy"))["plain_text"]
    assert text.startswith("🔒 Your data in this bot")
    assert "your questions are deleted after 90 days" in text
    assert "send /forget" in text
    ru = h.api.user(next(_ids), language_code="ru")
    assert "вопросы удаляются через 90 дней" in (await say(h, ru, "/privacy"))["plain_text"]
    help_text = (await say(h, student, "/help"))["plain_text"]
    assert "/privacy" in help_text and "/forget" in help_text


async def test_forget_deletes_everything_after_confirm(h: Harness) -> None:
    student, other = new_user(h), new_user(h)
    for user in (student, other):
        await leave_traces(h, user)
    assert await rows_of(h, student.id) == TRACES
    async with h.app.services.sessionmaker() as s:
        before = await stats.collect(s, 7)

    confirm = await say(h, student, "/forget")
    assert confirm["plain_text"].startswith("⚠️ Delete everything this bot stores about you")
    assert [b["text"] for row in confirm["reply_markup"]["inline_keyboard"] for b in row] == [
        YES, CANCEL]
    done = await edited_after_press(h, student, confirm, YES)
    assert done["plain_text"].startswith("✅ Your data has been deleted.")
    assert not done.get("reply_markup")  # no second press

    assert set((await rows_of(h, student.id)).values()) == {0}
    assert await rows_of(h, other.id) == TRACES  # nobody else's
    async with h.app.services.sessionmaker() as s:
        # The audit keeps that it happened, without content.
        audit = (await s.scalars(select(StaffAction).where(
            StaffAction.user_id == student.id))).all()
        assert [(a.action, a.details) for a in audit] == [("forget", None)]
        # Nothing with the student's name or words is left; statistics keep their totals.
        assert await s.scalar(select(func.count()).select_from(User).where(or_(
            User.first_name == student.first_name, User.username == student.username))) == 0
        assert await s.scalar(select(func.sum(QuestionDaily.answered))) >= 2
        after = await stats.collect(s, 7)
        assert (after.questions, after.outcomes) == (before.questions, before.outcomes)

    # The student can go on: the next question is stored as a new user's.
    answer = await say(h, student, "visa")
    assert "👍" in [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    counts = await rows_of(h, student.id)
    assert (counts["users"], counts["questions"]) == (1, 1)


async def test_cancel_keeps_everything(h: Harness) -> None:
    student = new_user(h)
    await leave_traces(h, student)
    confirm = await say(h, student, "/forget")
    kept = await edited_after_press(h, student, confirm, CANCEL)
    assert kept["plain_text"] == "Nothing was deleted. Send /privacy to see what I store."
    assert await rows_of(h, student.id) == TRACES
    async with h.app.services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(StaffAction).where(
            StaffAction.user_id == student.id)) == 0


async def test_nobody_else_can_confirm(h: Harness) -> None:
    """In a group everyone sees the buttons: only the one who sent /forget may press."""
    student, prankster = new_user(h), new_user(h)
    await leave_traces(h, student)
    group = h.api.group(-1_009_000_000_000 - student.id, title="Applicants 2027")
    confirm = await say(h, student, "/forget", chat=group)
    query_id = await prankster.press(confirm, button(confirm, YES))
    answer = await h.api.wait_callback_answer(query_id)
    assert (answer["text"], answer["show_alert"]) == (NOT_YOURS, True)
    assert await rows_of(h, student.id) == TRACES
    # The buttons are still there for the student.
    assert h.api.message(group.id, confirm["message_id"])["reply_markup"]
    done = await edited_after_press(h, student, confirm, YES)
    assert done["plain_text"].startswith("✅")
    assert set((await rows_of(h, student.id)).values()) == {0}


async def test_the_running_bot_schedules_the_purge(tmp_path: Path) -> None:
    async with running_bot(tmp_path, privacy={"keep_questions_days": 30}) as bot:
        await bot.app.start_background(bot.bot)
        assert bot.app.purge is not None
        assert bot.app.purge.scheduler.get_job("purge-questions") is not None
    assert bot.app.purge is None  # stopped by App.close
