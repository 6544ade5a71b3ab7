"""One student's odd message never breaks anyone else's answer, and no input stalls the bot.

Each test reproduces a failure found by fuzzing the running bot: a NUL character among
concurrent questions (PostgreSQL cannot store it), placeables too long for Fluent (it printed
``{???}`` instead of the whole message), an update aiogram cannot read (polling fetched the
same batch for ever), a student blocking the bot mid-update, an anonymous group admin.
"""

from __future__ import annotations

import asyncio
import logging
import time
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Question, User
from tests.support.harness import ask, buttons, make_config, running_bot, settle
from tests.support.kb import copy_knowledge

STAFF, STAFF_CHAT = 900_101, -1_001_000_000_901
LONG_NAME = "Иван" * 750  # 3,000 characters
LONG_QUESTION = ("Please tell me <b>everything</b> about the visa & the dorm " * 60)[:3000]


def no_fluent_errors(records: list[dict]) -> None:
    for r in records:
        assert "{???}" not in (r.get("text") or ""), r.get("text", "")[:200]


async def test_a_nul_in_one_question_leaves_every_other_answer_alone(tmp_path: Path) -> None:
    """30 students ask at once; one of them sends "fees\\x00". Everyone gets the fees answer,
    and every question is stored (the NUL as U+FFFD): on SQLite, and on PostgreSQL where a
    NUL used to fail the whole batch (CI runs this file on both)."""
    async with running_bot(tmp_path) as h:
        students = [h.api.user(50_000 + i, f"S{i}") for i in range(30)]
        texts = ["fees\x00" if i == 7 else "how much are the fees?" for i in range(30)]
        replies = await asyncio.gather(*(ask(h, s, text, timeout=15)
                                         for s, text in zip(students, texts, strict=True)))
        for (reply,) in replies:
            assert reply["text"].startswith("<b>Tuition fees</b>"), reply["text"][:120]
        async with h.app.services.sessionmaker() as s:
            stored = (await s.scalars(select(Question.text).where(
                Question.user_id.in_([u.id for u in students])))).all()
        assert len(stored) == 30
        assert "fees\ufffd" in stored


async def test_any_text_and_name_is_stored(tmp_path: Path) -> None:
    """A NUL in the name and the question, a 3,000-character name and a 200-character
    username (longer than the columns): the user row and the question are stored, and the
    student is answered."""
    async with running_bot(tmp_path) as h:
        student = h.api.user(50_100, "Nul\x00" + LONG_NAME, username="x" * 200)
        (reply,) = await ask(h, student, "dorm\x00 price?\x00")
        assert "{???}" not in reply["text"]
        async with h.app.services.sessionmaker() as s:
            user = await s.get(User, student.id)
            question = (await s.scalars(select(Question).where(
                Question.user_id == student.id))).one()
        assert user is not None and user.first_name.startswith("Nul\ufffd")
        assert question.text == "dorm\ufffd price?\ufffd"


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_long_names_and_questions_reach_staff_whole(tmp_path: Path, lang: str) -> None:
    """A 3,000-character name and question through the hand-off and /unanswered: every
    message is readable (no ``{???}``), the question reaches staff in full."""
    config = make_config(tmp_path, staff={"admins": [STAFF], "chat_id": STAFF_CHAT},
                         bot={"default_language": lang})
    async with running_bot(tmp_path, config) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        student = h.api.user(50_200, LONG_NAME, language_code=lang)
        await student.send_text("/human")
        await h.api.wait_for(1, chat_id=student.id)
        mark = h.api.mark()
        await student.send_text(LONG_QUESTION)
        await settle(h)
        to_staff = [r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark]
        to_student = [r for r in h.api.sent(student.id) if r["seq"] >= mark]
        assert to_staff and to_student
        no_fluent_errors(to_staff + to_student)
        header = "".join(r["text"] for r in to_staff)
        assert str(student.id) in header
        assert escape(LONG_QUESTION)[:200] in header
        # The question as the student typed it (escaped), all 3,000 characters of it.
        assert header.count("everything") == LONG_QUESTION.count("everything")

        # The same question, unanswered, in the staff report.
        other = h.api.user(50_201, LONG_NAME, language_code=lang)
        await ask(h, other, LONG_QUESTION.replace("visa", "zzyzx quux"))
        mark = h.api.mark()
        await h.api.user(STAFF, "Olga").send_text("/unanswered", chat=STAFF_CHAT)
        await settle(h)
        report = [r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark]
        assert report
        no_fluent_errors(report)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_reload_with_fifty_errors_is_reported_and_logged(
        tmp_path: Path, lang: str, caplog: pytest.LogCaptureFixture) -> None:
    kb = copy_knowledge(tmp_path / "kb")
    config = make_config(tmp_path, staff={"admins": [STAFF], "chat_id": STAFF_CHAT},
                         knowledge={"path": str(kb), "watch": False},
                         bot={"default_language": lang})
    async with running_bot(tmp_path, config) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        (kb / "zz_broken.yaml").write_text("entries:\n" + "".join(
            f"  - id: broken.e{i:02d}\n    category: nope\n    questions: {{en: [x]}}\n"
            for i in range(50)), encoding="utf-8")
        mark = h.api.mark()
        with caplog.at_level(logging.WARNING, logger="bot.app.reload"):
            await h.api.user(STAFF, "Olga", language_code=lang).send_text(
                "/reload", chat=STAFF_CHAT)
            await settle(h)
        report = [r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark]
        assert report
        no_fluent_errors(report)
        assert "zz_broken.yaml" in "".join(r["text"] for r in report)
        logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(logged) == 1
        assert "zz_broken.yaml" in logged[0] and "more" in logged[0]
        assert len(logged[0]) < 10_000  # bounded, whatever the error count


async def test_an_unreadable_update_is_skipped_and_polling_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A poll missing its fields (as an older self-hosted Bot API server sends) sits in the
    middle of a batch: it is logged once, the others are answered, and so are later ones."""
    async with running_bot(tmp_path) as h:
        with caplog.at_level(logging.WARNING):
            students = [h.api.user(50_300 + i, f"P{i}") for i in range(10)]
            await students[0].send_text("fees")
            chat = {"id": students[0].id, "type": "private", "first_name": "P0"}
            bad = h.api.inject_update({"message": {
                "message_id": 999, "from": students[0].json, "chat": chat,
                "date": int(time.time()), "poll": {"id": "x"}}})
            for s in students[1:5]:
                await s.send_text("fees")
            for s in students[:5]:
                await h.api.wait_for(1, chat_id=s.id, timeout=10)
            for s in students[5:]:
                await ask(h, s, "where is the university?", timeout=10)
        skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 1 and str(bad["update_id"]) in skipped[0].getMessage()


async def test_a_student_who_blocks_the_bot_mid_update_is_an_info_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path) as h:
        student = h.api.user(50_400, "Blocker")
        await ask(h, student, "hello")
        # Blocked between receiving the question and answering it.
        h.api.fail_next("sendMessage", error_code=403, retry_after=None, chat_id=student.id,
                        description="Forbidden: bot was blocked by the user")
        with caplog.at_level(logging.INFO):
            await student.send_text("how much are the fees?")
            await settle(h)
            await h.retry.drain()
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r for r in caplog.records if r.levelno == logging.INFO
                and "blocked the bot" in r.getMessage()]
        async with h.app.services.sessionmaker() as s:
            assert (await s.get(User, student.id)).blocked


async def test_an_anonymous_group_admin_gets_an_answer(tmp_path: Path) -> None:
    """A message "from" GroupAnonymousBot with ``sender_chat``: answered in the group (no
    person to store the question for), never the error reply."""
    async with running_bot(tmp_path) as h:
        group = {"id": -100_777, "type": "supergroup", "title": "Applicants"}
        h.api.group(group["id"], group["title"])
        for i, sender in enumerate(({"id": 1087968824, "is_bot": True, "first_name": "Group",
                                     "username": "GroupAnonymousBot"},
                                    {"id": 136817688, "is_bot": True, "first_name": "Channel",
                                     "username": "Channel_Bot"})):
            mark = h.api.mark()
            text = "@bsmu_test_bot how much are the fees?"
            h.api.inject_update({"message": {
                "message_id": 10 + i, "from": sender, "sender_chat": group, "chat": group,
                "date": int(time.time()), "text": text,
                "entities": [{"type": "mention", "offset": 0, "length": 14}]}})
            (reply,) = await h.api.wait_for(1, chat_id=group["id"], since=mark)
            assert reply["text"].startswith("<b>Tuition fees</b>")
            assert buttons(reply)
