"""Admissions-staff tools end to end: the production dispatcher against the fake Bot API.

Staff commands are invisible to everyone else; /reload and the KB watcher keep the old
knowledge base on errors; /stats, /unanswered and the CLI report what was stored; the
hand-off carries a student's question to the staff chat (a topic per student in a forum)
and the staff's replies back, and every staff action leaves an audit row.

Most tests share one bot whose staff chat is an ordinary supergroup and keep apart by their
own user ids; the statistics, the forum and the KB watcher each need a bot of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import func, select

from bot.app.cli import main
from bot.app.reload import reload_knowledge
from bot.db.models import Handoff, HandoffBan, HandoffMessage, Question, StaffAction, User
from bot.fakeapi import FakeUser
from bot.fakeapi.users import FakeGroup
from bot.knowledge import load_knowledge
from bot.matching import AnswerEngine
from tests.support.harness import Harness, buttons, make_config, running_bot, settle
from tests.support.kb import BROKEN, KNOWLEDGE, MASCOT, copy_knowledge

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF, STAFF2 = 900_001, 900_002
STAFF_CHAT = -1_001_000_000_777
_ids = itertools.count(70_001)

ASK_TEAM = "✉️ Ask the admissions team"
SEND = "✅ Send to the admissions team"
UNKNOWN = "I don't know this command. Send /help to see what I can do."
WEATHER = "What is the weather in Minsk tomorrow?"
BLOCKED_NOTICE = "⚠️ Not delivered: the student has blocked the bot."
BANNED = ("Sorry, sending questions to the admissions team is not available to you. Please "
          "contact the admissions office through the official website, https://www.bsmu.by.")
TYPE_QUESTION = ("Please type your question for the admissions team in one message. "
                 "Send /cancel to stop.")
SAVED = ("✅ Your question has been saved for the admissions team. A staff member will reply "
         "here in this chat.")
CLOSED_STUDENT = ("The admissions team has closed this conversation. Ask me anything, or tap "
                  '"Ask the admissions team" again if you need a person.')


def staff_config(tmp: Path, kb: Path | None = None, *, watch: bool = False, chat=STAFF_CHAT):
    return make_config(tmp, staff={"admins": [STAFF, STAFF2], "chat_id": chat},
                       knowledge={"path": str(kb or KNOWLEDGE), "watch": watch},
                       bot={"flood": {"messages": 1000, "seconds": 1}})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """The shared bot: a copy of the KB (reload tests change it), a supergroup staff chat."""
    tmp = tmp_path_factory.mktemp("staff")
    config = staff_config(tmp, copy_knowledge(tmp / "knowledge"))
    async with running_bot(tmp, config=config) as harness:
        harness.api.group(STAFF_CHAT, "Admissions staff")
        yield harness


def group(h: Harness) -> FakeGroup:
    return h.api.group(STAFF_CHAT, "Admissions staff")


def staff(h: Harness, user_id: int = STAFF) -> FakeUser:
    return h.api.user(user_id, first_name="Olga" if user_id == STAFF else "Ivan",
                      username="olga_staff" if user_id == STAFF else None)


def new_user(h: Harness, **kw) -> FakeUser:
    return h.api.user(next(_ids), **kw)


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


async def say(h: Harness, user: FakeUser, text: str, *, chat=None, reply_to=None,
              thread_id: int | None = None, count: int = 1, timeout: float = 5.0) -> list[dict]:
    """Send a text; return the bot's next ``count`` messages in that chat."""
    mark = h.api.mark()
    msg = await user.send_text(text, chat=chat, reply_to=reply_to, thread_id=thread_id)
    return await h.api.wait_for(count, chat_id=msg["chat"]["id"], since=mark, timeout=timeout)


async def press(h: Harness, user: FakeUser, record: dict, label: str,
                chat_id: int | None = None) -> dict:
    """Press a button; return the bot's next message in ``chat_id`` (default: the button's)."""
    mark = h.api.mark()
    await user.press(record, text=label)
    (msg,) = await h.api.wait_for(1, chat_id=chat_id or record["chat_id"], since=mark)
    return msg


def sent_since(h: Harness, chat_id: int, mark: int) -> list[dict]:
    return [r for r in h.api.sent(chat_id) if r["seq"] >= mark]


async def hand_off(h: Harness, student: FakeUser, question: str = WEATHER) -> dict:
    """Fallback -> "Ask the admissions team" -> confirm; returns the staff chat's header."""
    (fallback,) = await say(h, student, question)
    assert "I don't know the answer" in fallback["plain_text"]
    assert ASK_TEAM in labels(fallback)
    confirm = await press(h, student, fallback, ASK_TEAM)
    assert confirm["plain_text"].startswith("Send this question to the admissions team?")
    assert question in confirm["plain_text"]
    assert labels(confirm) == [SEND, "Cancel"]
    mark = h.api.mark()
    await student.press(confirm, text=SEND)
    (header,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    (saved,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert saved["plain_text"] == SAVED
    await settle(h)  # the conversation is committed once the handler returns
    return header


async def human(h: Harness, student: FakeUser, question: str) -> dict:
    """/human, then the question typed; returns the staff chat's header."""
    (prompt,) = await say(h, student, "/human")
    assert prompt["plain_text"] == TYPE_QUESTION
    mark = h.api.mark()
    await student.send_text(question)
    (header,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    (saved,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert saved["plain_text"] == SAVED
    await settle(h)  # the conversation is committed once the handler returns
    return header


async def staff_sends(h: Harness, text: str, *, reply_to=None, thread_id=None,
                      user_id: int = STAFF, chat=None) -> dict:
    """A staff member writes in the staff chat; returns their message."""
    return await staff(h, user_id).send_text(text, chat=chat or group(h), reply_to=reply_to,
                                             thread_id=thread_id)


async def audit(h: Harness, since: int = 0) -> list[tuple[int, str, str | None]]:
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        rows = await s.scalars(select(StaffAction).where(StaffAction.id > since)
                               .order_by(StaffAction.id))
        return [(r.user_id, r.action, r.details) for r in rows]


async def last_audit_id(h: Harness) -> int:
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        return await s.scalar(select(func.max(StaffAction.id))) or 0


async def conversation(h: Harness, user_id: int) -> Handoff:
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        return (await s.scalars(select(Handoff).where(Handoff.user_id == user_id)
                                .order_by(Handoff.id.desc()))).first()


# --- 1. staff commands are invisible to everyone else -----------------------------------------

STAFF_COMMANDS = ["/reload", "/stats", "/stats 30", "/unanswered", "/close", "/ban 1",
                  "/unban 1"]


async def test_non_staff_get_the_unknown_command_reply(h: Harness) -> None:
    student = new_user(h, first_name="Sam")
    header = await hand_off(h, student)  # an open conversation an outsider might try to touch
    async with h.app.services.sessionmaker() as s:
        s.add(HandoffBan(user_id=1, banned_by=STAFF))  # someone /unban 1 might free
        await s.commit()
    outsider = new_user(h, first_name="Eve")
    before = await last_audit_id(h)
    calls = h.api.call_mark()
    engine = h.app.services.knowledge.engine

    (ref,) = await say(h, outsider, "/foobar")
    assert ref["plain_text"] == UNKNOWN
    for command in STAFF_COMMANDS:
        (reply,) = await say(h, outsider, command)
        assert (command, reply["text"], reply["reply_markup"]) == (
            command, ref["text"], ref["reply_markup"])
    await settle(h)
    assert len(h.api.sent(outsider.id)) == 1 + len(STAFF_COMMANDS)  # one reply each, no more

    # In the staff chat, bare and addressed to this bot (a bare /command is for every bot
    # there), also in reply to a student's question: whatever /foobar gets, and only that.
    mark = h.api.mark()

    async def replies(text: str, reply_to: dict | None) -> list[str]:
        start = h.api.mark()
        await outsider.send_text(text, chat=group(h), reply_to=reply_to)
        await settle(h, quiet=0.05)
        return [r["text"] for r in sent_since(h, STAFF_CHAT, start)]

    for suffix in ("", "@bsmu_test_bot"):
        for reply_to in (None, header):
            expected = await replies(f"/foobar{suffix}", reply_to)
            if suffix:
                assert expected == [ref["text"]]
            for command in STAFF_COMMANDS:
                name, _, args = command.partition(" ")
                text = f"{name}{suffix} {args}".strip()
                assert (text, await replies(text, reply_to)) == (text, expected)
    await settle(h)
    assert not [c["method"] for c in h.api.calls() if c["seq"] > calls and c["method"] in (
        "sendPhoto", "copyMessage", "setMessageReaction", "createForumTopic")]
    assert not [r for r in h.api.sent(student.id) if r["seq"] >= mark]  # nothing reached them

    assert await audit(h, before) == []
    assert h.app.services.knowledge.engine is engine  # no reload
    assert (await conversation(h, student.id)).status == "open"
    async with h.app.services.sessionmaker() as s:
        bans = list(await s.scalars(select(HandoffBan.user_id)))
        await s.delete(await s.get(HandoffBan, 1))
        await s.commit()
    assert bans == [1]

    # The same commands from staff do work (the rest of this file tests what they do).
    real, chart = await say(h, staff(h), "/stats 30", chat=group(h), count=2)
    assert chart["method"] == "sendPhoto"
    assert real["plain_text"].startswith("📊 Statistics for the last 30 days")
    await close(h, header)


async def close(h: Harness, header: dict) -> None:
    (done,) = await say(h, staff(h), "/close", chat=group(h), reply_to=header)
    assert done["plain_text"] == "✅ Conversation closed; the student has been told."


# --- 2. reloading the knowledge base -------------------------------------------------------------


async def test_reload_command_keeps_old_kb_on_errors_and_adds_entries(h: Harness) -> None:
    kb_dir = Path(h.config.knowledge.path)
    student = new_user(h)
    before = await last_audit_id(h)
    engine = h.app.services.knowledge.engine
    try:
        (kb_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
        (report,) = await say(h, staff(h), "/reload", chat=group(h))
        lines = report["plain_text"].split("\n")
        assert lines[0] == ("❌ The knowledge base was NOT reloaded: 1 error(s). The previous "
                            "version keeps answering.")
        assert lines[1].startswith(f"{kb_dir / 'broken.yaml'}:3: error: YAML syntax error")
        assert h.app.services.knowledge.engine is engine
        (answer,) = await say(h, student, "Is there a dormitory?")
        assert answer["plain_text"].startswith("Dormitory")

        (kb_dir / "broken.yaml").unlink()
        (kb_dir / "mascot.yaml").write_text(MASCOT, encoding="utf-8")
        (unknown,) = await say(h, student, "what is the university mascot")
        assert "I don't know the answer" in unknown["plain_text"]
        (report,) = await say(h, staff(h), "/reload", chat=group(h))
        assert report["plain_text"] == ("✅ Knowledge base reloaded.\n"
                                        "entries added (1): about.mascot")
        (answer,) = await say(h, student, "what is the university mascot")
        assert answer["plain_text"] == "The mascot is a placeholder."
        assert await audit(h, before) == [(STAFF, "reload", "1 error(s)"),
                                          (STAFF, "reload", "ok")]
    finally:
        (kb_dir / "broken.yaml").unlink(missing_ok=True)
        (kb_dir / "mascot.yaml").unlink(missing_ok=True)
        assert (await reload_knowledge(h.app.services)).ok


async def reported(h: Harness, path: Path, text: str, start: str) -> dict:
    """Write a KB file; the staff chat's report of the automatic reload (within seconds)."""
    mark = h.api.mark()
    for attempt in range(3):  # should the watcher have missed it, touch the file again
        path.write_text(text + "\n" * attempt, encoding="utf-8")
        try:
            (report,) = await h.api.wait_for(lambda r: r["plain_text"].startswith(start),
                                             chat_id=STAFF_CHAT, since=mark, timeout=4)
            return report
        except TimeoutError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def test_kb_watcher_reports_to_the_staff_chat(tmp_path: Path) -> None:
    kb_dir = copy_knowledge(tmp_path / "knowledge")
    async with running_bot(tmp_path, config=staff_config(tmp_path, kb_dir, watch=True)) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        assert not h.app._tasks  # running_bot leaves the background jobs to the test
        await h.app.start_background(h.bot)
        await asyncio.sleep(0.3)  # let watchfiles start watching
        ok = await reported(h, kb_dir / "mascot.yaml", MASCOT, "✅ Knowledge base reloaded")
        assert ok["plain_text"] == "✅ Knowledge base reloaded.\nentries added (1): about.mascot"
        student = new_user(h)
        (answer,) = await say(h, student, "bsmu mascot")
        assert answer["plain_text"] == "The mascot is a placeholder."

        failed = await reported(h, kb_dir / "broken.yaml", BROKEN, "❌")
        assert failed["plain_text"].startswith(
            "❌ The knowledge base was NOT reloaded: 1 error(s).")
        assert f"{kb_dir / 'broken.yaml'}:3: error: YAML syntax error" in failed["plain_text"]
        (answer,) = await say(h, student, "bsmu mascot")
        assert answer["plain_text"] == "The mascot is a placeholder."


# --- 3. statistics and unanswered questions ------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sb(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """A bot of its own, so the figures are exactly what these students asked."""
    tmp = tmp_path_factory.mktemp("stats")
    async with running_bot(tmp, config=staff_config(tmp)) as harness:
        harness.api.group(STAFF_CHAT, "Admissions staff")
        ann, bob, vera = (harness.api.user(i, name, code) for i, name, code in (
            (81_001, "Ann", "en"), (81_002, "Bob", "en"), (81_003, "Вера", "ru")))
        for user, question, outcome in [
                (ann, "Is there a dormitory?", "answer"),
                (bob, "How much is the tuition fee?", "answer"),
                (bob, "Do I need a visa?", "answer"),
                (vera, "Сколько стоит обучение?", "answer"),
                (ann, WEATHER, "fallback"),
                (bob, "what's the weather in Minsk tomorrow", "fallback"),
                (vera, "Can I bring my cat?", "fallback")]:
            (msg,) = await say(harness, user, question)
            assert ("👍" in labels(msg)) == (outcome == "answer"), question
            if question == "Is there a dormitory?":
                query = await user.press(msg, text="👎")
                await harness.api.wait_callback_answer(query)
        await settle(harness)
        yield harness


async def test_stats_command(sb: Harness) -> None:
    mark = sb.api.mark()
    report, chart = await say(sb, staff(sb), "/stats", chat=group(sb), count=2)
    lines = report["plain_text"].split("\n")
    assert lines[:4] == [
        "📊 Statistics for the last 7 days",
        "Users: 4 in all, 4 new, 4 active, 0 blocked the bot",  # the staff member too
        "Questions: 7 (answered 57%, suggestions 0%, fallback 43%)",
        "Top topics (answered, with 👍/👎):"]
    assert lines[4] == "• Tuition fees: 2  👍 0 👎 0"  # titles, not ids
    assert sorted(lines[5:7]) == ["• Dormitory: 1  👍 0 👎 1", "• Study visa: 1  👍 0 👎 0"]
    assert lines[7:] == ["Active subscribers: 0"]
    async with sb.app.services.sessionmaker() as s:
        rows = (await s.execute(select(Question.outcome, func.count())
                                .group_by(Question.outcome))).all()
    assert dict(rows) == {"answered": 4, "fallback": 3}

    assert chart["method"] == "sendPhoto"
    photo = chart["message"]["photo"][-1]
    assert sb.api.files.get(photo["file_id"]).data.startswith(b"\x89PNG\r\n\x1a\n")
    assert [c["method"] for c in sb.api.calls("sendPhoto") if c["ok"]] == ["sendPhoto"]

    (month, _) = await say(sb, staff(sb), "/stats 30", chat=group(sb), count=2)
    assert month["plain_text"].startswith("📊 Statistics for the last 30 days")
    for bad in ("/stats abc", "/stats 0", "/stats 99999"):
        (usage,) = await say(sb, staff(sb), bad, chat=group(sb))
        assert usage["plain_text"] == "Give the number of days, for example: /stats 30"
    await settle(sb)
    assert len([r for r in sb.api.sent(STAFF_CHAT) if r["seq"] >= mark]) == 7


async def test_unanswered_command(sb: Harness) -> None:
    """The list (one message per group, with the buttons of handlers.teach; pressing them is
    tested in test_teach_e2e on a copy of the KB: this bot answers from the shipped one)."""
    title, *groups = await say(sb, staff(sb), "/unanswered", chat=group(sb), count=4)
    engine = sb.app.services.knowledge.engine
    assert title["plain_text"] == ("❓ Unanswered and 👎 questions, last 30 days: 3 groups. "
                                   "Tap what to do with each: it takes effect at once.")
    weather, *rest = groups
    lines = weather["plain_text"].split("\n")
    assert lines[0] == f"2 × {WEATHER} [en]"
    assert lines[1] == "also: what's the weather in Minsk tomorrow"
    # No junk proposal: the nearest entry shares only "Minsk" with the question.
    score = engine.match(WEATHER, lang="en").candidates[0][1]
    assert lines[2] == (f"No entry fits (nearest: about.location, score {score:.0f}, not a "
                        "real match). Choose an entry, or mark it out of scope.")
    assert labels(weather) == ["📂 Another entry…", "🚫 Out of scope", "🙈 Ignore"]
    # Voted down on the dormitory answer: that entry is not proposed again, its answer is
    # what to check.
    dorm = next(g for g in rest if "Is there a dormitory?" in g["plain_text"])
    assert dorm["plain_text"].split("\n")[1] == (
        "👎 Students voted down its answer, “Dormitory” (accommodation.dormitory): if the "
        "facts are wrong, correct them with /kb todo.")
    assert "➕ Add to “Dormitory”" not in labels(dorm)
    assert "<i>What is the weather in Minsk tomorrow?</i>" in weather["text"]

    (week, *_) = await say(sb, staff(sb), "/unanswered 7", chat=group(sb), count=4)
    assert week["plain_text"].startswith("❓ Unanswered and 👎 questions, last 7 days")
    (usage,) = await say(sb, staff(sb), "/unanswered x", chat=group(sb))
    assert usage["plain_text"].startswith("Give the number of days")
    assert (await audit(sb))[-2:] == [(STAFF, "unanswered", "days=30"),
                                      (STAFF, "unanswered", "days=7")]


def write_cli_config(h: Harness, path: Path, kb: Path) -> Path:
    path.write_text(yaml.safe_dump({"database": {"url": h.config.database.url},
                                    "knowledge": {"path": str(kb)}}), encoding="utf-8")
    return path


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))  # the CLI runs its own event loop


async def test_cli_stats_prints_the_same_figures(sb: Harness, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    config = write_cli_config(sb, tmp_path / "config.yaml", KNOWLEDGE)
    chart = tmp_path / "chart.png"
    (report, _) = await say(sb, staff(sb), "/stats", chat=group(sb), count=2)
    capsys.readouterr()
    assert await cli("--config", str(config), "stats", "--days", "7", "--chart",
                     str(chart)) == 0
    out = capsys.readouterr().out.strip().split("\n")
    assert out[:-1] == report["plain_text"].split("\n")
    assert out[-1] == f"chart written to {chart}"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_cli_kb_suggest_and_apply(sb: Harness, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    kb_dir = copy_knowledge(tmp_path / "knowledge")
    config = str(write_cli_config(sb, tmp_path / "config.yaml", kb_dir))
    patch = tmp_path / "patch.yaml"
    capsys.readouterr()
    assert await cli("--config", config, "kb", "suggest", "--write", str(patch)) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^   2  \[en\] {re.escape(WEATHER)}   closest: - \(needs a decision\)"
                     r"   \(fallback 2\)$", out, re.M)
    assert "        also: what's the weather in Minsk tomorrow\n" in out
    assert re.search(r"^   1  \[en\] Is there a dormitory\?   closest: - \(needs a decision\)"
                     r"   \(downvoted 1 on accommodation\.dormitory\)$", out, re.M)
    assert f"patch written to {patch}" in out
    data = yaml.safe_load(patch.read_text(encoding="utf-8"))
    # Only real candidates are proposed: no junk entry for the weather or the cat, and not
    # the entry whose answer was voted down (issue 12).
    assert data["patch"] == []
    assert sorted(q for i in data["needs_decision"] for q in i["questions"]) == [
        "Can I bring my cat?", "Is there a dormitory?", WEATHER,
        "what's the weather in Minsk tomorrow"]
    nearest = {i["questions"][0]: i["nearest"] for i in data["needs_decision"]}
    assert nearest[WEATHER].startswith("about.location (")

    # Review: the cat is a dormitory question after all; the weather is left out.
    original = {p.name: p.read_bytes() for p in kb_dir.glob("*.yaml")}
    reviewed = [{"entry": "accommodation.dormitory", "lang": "en",
                 "add_questions": ["Can I bring my cat?"]}]
    patch.write_text(yaml.safe_dump({"patch": reviewed}, allow_unicode=True), encoding="utf-8")
    assert await cli("--config", config, "kb", "apply", str(patch)) == 0
    assert capsys.readouterr().out.strip().split("\n") == ["added 1 phrasing(s)"]
    kb, _ = load_knowledge(kb_dir)  # strict: the patched KB validates
    assert kb.entries["accommodation.dormitory"].questions["en"][-1] == "Can I bring my cat?"
    engine = AnswerEngine(kb, sb.config.matching)
    assert engine.match("can i bring my cat").id == "accommodation.dormitory"
    assert engine.match("Is there a dormitory?").id == "accommodation.dormitory"

    # kb apply is in the history, and kb undo restores the files byte for byte.
    assert await cli("--config", config, "kb", "history") == 0
    (line,) = capsys.readouterr().out.strip().split("\n")
    assert re.fullmatch(r"000001  \S+ \S+ UTC  \S+ \(command line, kb apply\): kb apply "
                        r"patch\.yaml: 1 phrasing\(s\)", line)
    assert await cli("--config", config, "kb", "undo", "--yes") == 0
    assert {p.name: p.read_bytes() for p in kb_dir.glob("*.yaml")} == original
    assert await cli("--config", config, "kb", "undo", "--yes") == 1
    assert capsys.readouterr().err == "nothing to undo\n"
    assert await cli("--config", config, "kb", "apply", str(patch)) == 0
    capsys.readouterr()

    files = {p.name: p.read_text(encoding="utf-8") for p in kb_dir.glob("*.yaml")}
    assert await cli("--config", config, "kb", "apply", str(patch)) == 0
    out = capsys.readouterr().out.strip().split("\n")
    assert out == [f"skipped (already a phrasing): {q}" for i in reviewed
                   for q in i["add_questions"]] + ["added 0 phrasing(s)"]
    assert {p.name: p.read_text(encoding="utf-8") for p in kb_dir.glob("*.yaml")} == files

    patch.write_text("patch:\n  - {entry: nope.nope, lang: en, add_questions: [x]}\n",
                     encoding="utf-8")
    assert await cli("--config", config, "kb", "apply", str(patch)) == 1
    assert capsys.readouterr().err == "error: unknown entry id 'nope.nope'\n"
    assert {p.name: p.read_text(encoding="utf-8") for p in kb_dir.glob("*.yaml")} == files


# --- 4. hand-off to the admissions team ---------------------------------------------------------


async def test_handoff_round_trip(h: Harness) -> None:
    student = new_user(h, first_name="<Zoë & Co>", username="zoe_k")
    before = await last_audit_id(h)
    header = await hand_off(h, student)
    async with h.app.services.sessionmaker() as s:
        question = (await s.scalars(select(Question).where(Question.user_id == student.id))).one()
    assert question.outcome == "fallback" and question.matched_id
    assert header["text"] == (
        "🆘 <b>Question from a student</b>\n"
        f'<a href="tg://user?id={student.id}">&lt;Zoë &amp; Co&gt;</a> (@zoe_k) · id '
        f"<code>{student.id}</code> · language: en\n"
        f"<blockquote>{WEATHER}</blockquote>\n"
        f"Bot's best guess: <code>{question.matched_id}</code> ({question.score:.0f})\n"
        "Reply to this message (or write in this topic) to answer; /close to end; /ban to "
        "block hand-offs.")
    assert header["message_thread_id"] is None

    # A text reply reaches the student under the team's header; the staff message gets a
    # reaction.
    calls, mark = h.api.call_mark(), h.api.mark()
    answer = await staff_sends(h, "Hello! Check the weather forecast, and bring an umbrella.",
                               reply_to=header)
    (delivered,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert delivered["method"] == "sendMessage"
    assert delivered["plain_text"] == (
        "💬 Admissions team:\nHello! Check the weather forecast, and bring an umbrella.")
    await h.api.wait_for_call("setMessageReaction", since=calls)
    assert h.api.reactions(STAFF_CHAT, answer["message_id"]) == [
        {"type": "emoji", "emoji": "👌"}]

    # A photo reply too (copyMessage keeps the photo; the header heads its caption).
    mark = h.api.mark()
    photo = await staff(h).send_photo(caption="The application form", chat=group(h),
                                      reply_to=header)
    (copied,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert copied["method"] == "copyMessage" and copied["message"]["photo"]
    assert copied["plain_text"] == "💬 Admissions team:\nThe application form"
    await h.api.wait_for_call("setMessageReaction", since=calls, predicate=lambda c: int(
        c["params"]["message_id"]) == photo["message_id"])

    # The student's follow-up goes to the same conversation; staff can answer it there too.
    mark = h.api.mark()
    follow = await student.send_text("Thanks! And where do I submit it?")
    note, copy = await h.api.wait_for(2, chat_id=STAFF_CHAT, since=mark)
    assert note["text"] == (f"💬 &lt;Zoë &amp; Co&gt; (id <code>{student.id}</code>) writes:")
    assert copy["method"] == "copyMessage"
    assert int(copy["params"]["from_chat_id"]) == student.id
    assert int(copy["params"]["message_id"]) == follow["message_id"]
    assert copy["plain_text"] == "Thanks! And where do I submit it?"
    await settle(h)
    assert not sent_since(h, student.id, mark)  # the bot itself does not answer it
    await settle(h)
    mark = h.api.mark()
    await staff_sends(h, "At the admissions office.", reply_to=copy, user_id=STAFF2)
    (delivered,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert delivered["plain_text"] == "💬 Admissions team:\nAt the admissions office."
    # Staff chatter that replies to nothing of the student's is not delivered.
    mark = h.api.mark()
    await staff_sends(h, "coffee anyone?")
    await settle(h)
    assert not sent_since(h, student.id, mark)

    # /close in reply: the student is told; what they write next is answered by the bot.
    mark = h.api.mark()
    await close(h, copy)
    (told,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert told["plain_text"] == CLOSED_STUDENT
    conv = await conversation(h, student.id)
    assert (conv.status, conv.closed_by) == ("closed", STAFF)
    mark = h.api.mark()
    (answer_again,) = await say(h, student, "Is there a dormitory?")
    assert answer_again["plain_text"].startswith("Dormitory")
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)
    (again,) = await say(h, staff(h), "/close", chat=group(h), reply_to=header)
    assert again["plain_text"] == "This conversation is already closed."
    (nothing,) = await say(h, staff(h), "/close", chat=group(h))
    assert nothing["plain_text"] == ("Reply to a student's message (or write in their topic) "
                                     "to answer them.")

    conv_id = conv.id
    assert await audit(h, before) == [
        (STAFF, "reply", f"handoff={conv_id}"),
        (STAFF, "reply", f"handoff={conv_id}"),
        (STAFF2, "reply", f"handoff={conv_id}"),
        (STAFF, "close", f"handoff={conv_id}"),
    ]
    async with h.app.services.sessionmaker() as s:
        links = (await s.execute(select(HandoffMessage.direction, func.count())
                                 .where(HandoffMessage.handoff_id == conv_id)
                                 .group_by(HandoffMessage.direction))).all()
    assert dict(links) == {"to_staff": 3, "to_student": 3}


async def test_handoff_cancel_and_russian_student(h: Harness) -> None:
    student = new_user(h, first_name="Пётр", language_code="ru")
    (fallback,) = await say(h, student, "какая погода завтра в Минске")
    confirm = await press(h, student, fallback, "✉️ Спросить приёмную комиссию")
    mark = h.api.mark()
    cancelled = await press(h, student, confirm, "Отмена")
    assert cancelled["plain_text"] == "Хорошо, ничего не отправлено."
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)
    header = await press(h, student, confirm, "✅ Отправить в приёмную комиссию",
                         chat_id=STAFF_CHAT)
    await settle(h)
    # The staff chat reads the default language; the student's language is named.
    assert "🆘 <b>Question from a student</b>" in header["text"]
    assert "· language: ru\n<blockquote>какая погода завтра в Минске</blockquote>" in \
        header["text"]
    mark = h.api.mark()
    await close(h, header)
    (told,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert told["plain_text"].startswith("Приёмная комиссия завершила этот разговор.")


async def test_human_command_and_cancel(h: Harness) -> None:
    student = new_user(h)
    (prompt,) = await say(h, student, "/human")
    assert prompt["plain_text"] == TYPE_QUESTION
    mark = h.api.mark()
    (cancelled,) = await say(h, student, "/cancel")
    assert cancelled["plain_text"] == "OK, nothing was sent."
    (answer,) = await say(h, student, "Is there a dormitory?")  # a question for the bot again
    assert answer["plain_text"].startswith("Dormitory")
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)

    header = await human(h, student, "Can my cousin visit me in the dormitory?")
    assert "<blockquote>Can my cousin visit me in the dormitory?</blockquote>" in header["text"]
    async with h.app.services.sessionmaker() as s:
        rows = list(await s.scalars(select(Question).where(Question.user_id == student.id)
                                    .order_by(Question.id)))
    assert [r.text for r in rows] == ["Is there a dormitory?",
                                      "Can my cousin visit me in the dormitory?"]
    conv = await conversation(h, student.id)
    assert (conv.status, conv.question_id, conv.chat_id) == ("open", rows[-1].id, student.id)
    (prompt,) = await say(h, student, "/human")  # during a conversation: another question
    assert prompt["plain_text"] == TYPE_QUESTION
    mark = h.api.mark()
    await student.send_text("And can he stay overnight?")
    (second,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    await settle(h)
    assert "<blockquote>And can he stay overnight?</blockquote>" in second["text"]
    assert (await conversation(h, student.id)).id == conv.id
    await close(h, second)


async def test_student_who_blocked_the_bot(h: Harness) -> None:
    student = new_user(h)
    header = await human(h, student, "When does the semester start?")
    conv = await conversation(h, student.id)
    before = await last_audit_id(h)
    h.api.block(student.id)
    mark = h.api.mark()
    sent = await staff_sends(h, "It starts on September 1.", reply_to=header)
    (notice,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    assert notice["plain_text"] == BLOCKED_NOTICE
    assert notice["message"]["reply_to_message"]["message_id"] == sent["message_id"]
    assert h.api.reactions(STAFF_CHAT, sent["message_id"]) == []
    await h.retry.drain()
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        assert (await s.get(User, student.id)).blocked is True
    assert await audit(h, before) == [
        (STAFF, "reply", f"handoff={conv.id} not delivered: blocked")]
    (done,) = await say(h, staff(h), "/close", chat=group(h), reply_to=header)
    assert done["plain_text"].startswith("✅ Conversation closed")  # no notice needed


async def test_ban_and_unban(h: Harness) -> None:
    student = new_user(h)
    header = await human(h, student, "I want to complain about everything")
    conv = await conversation(h, student.id)
    before = await last_audit_id(h)
    (usage,) = await say(h, staff(h), "/ban", chat=group(h))  # neither a reply nor an id
    assert usage["plain_text"].startswith("Use /ban or /unban in reply to a student's message")

    (banned,) = await say(h, staff(h), "/ban", chat=group(h), reply_to=header)
    assert banned["plain_text"] == (f"🚫 Student {student.id} can no longer send questions "
                                    "to the team.")
    conv = await conversation(h, student.id)
    assert (conv.status, conv.closed_by) == ("closed", STAFF)
    (refused,) = await say(h, student, "/human")
    assert refused["plain_text"] == BANNED
    (fallback,) = await say(h, student, WEATHER)  # the bot still answers them
    assert ASK_TEAM in labels(fallback)
    mark = h.api.mark()
    refused = await press(h, student, fallback, ASK_TEAM)
    assert refused["plain_text"] == BANNED
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)

    (unbanned,) = await say(h, staff(h, STAFF2), f"/unban {student.id}", chat=group(h))
    assert unbanned["plain_text"] == f"Student {student.id} can send questions to the team again."
    await settle(h)  # committed once the handler returns, a moment after its reply
    header2 = await hand_off(h, student)
    assert "Question from a student" in header2["text"]
    new_conv = await conversation(h, student.id)
    assert new_conv.id != conv.id and new_conv.status == "open"

    # Banned while typing the question after /human: nothing reaches the staff.
    (prompt,) = await say(h, student, "/human")
    assert prompt["plain_text"] == TYPE_QUESTION
    await say(h, staff(h), f"/ban {student.id}", chat=group(h))
    await settle(h)
    mark = h.api.mark()
    (refused,) = await say(h, student, "So, about that complaint...")
    assert refused["plain_text"] == BANNED
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)
    (unbanned,) = await say(h, staff(h), "/unban", chat=group(h), reply_to=header2)
    assert unbanned["plain_text"].endswith("can send questions to the team again.")
    assert await audit(h, before) == [
        (STAFF, "ban", f"user={student.id}"),
        (STAFF2, "unban", f"user={student.id}"),
        (STAFF, "ban", f"user={student.id}"),
        (STAFF, "unban", f"user={student.id}"),
    ]


# --- the hand-off in a forum staff chat: one topic per student ---------------------------------

FORUM = -1_001_000_000_888


async def test_forum_staff_chat_topic_per_student(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=staff_config(tmp_path, chat=FORUM)) as h:
        forum = h.api.group(FORUM, "Admissions desk", is_forum=True)
        ann = h.api.user(82_001, "Ann")
        bob = h.api.user(82_002, "Bob")
        olga = h.api.user(STAFF, "Olga")

        async def handed(student: FakeUser, question: str) -> dict:
            (prompt,) = await say(h, student, "/human")
            assert prompt["plain_text"] == TYPE_QUESTION
            mark = h.api.mark()
            await student.send_text(question)
            (header,) = await h.api.wait_for(1, chat_id=FORUM, since=mark)
            await settle(h)
            return header

        a1 = await handed(ann, "Can I bring my cat?")
        b1 = await handed(bob, "Is there a gym?")
        assert [(t["chat_id"], t["name"]) for t in h.api.topics] == [
            (FORUM, "Ann · 82001"), (FORUM, "Bob · 82002")]
        topic_a, topic_b = (t["message_thread_id"] for t in h.api.topics)
        assert (a1["message_thread_id"], b1["message_thread_id"]) == (topic_a, topic_b)

        # A follow-up goes into the student's topic.
        mark = h.api.mark()
        await ann.send_text("It is a very small cat.")
        note, copy = await h.api.wait_for(2, chat_id=FORUM, since=mark)
        assert note["message_thread_id"] == copy["message_thread_id"] == topic_a

        # Staff write inside a topic (no reply needed): it reaches that student only.
        mark = h.api.mark()
        await olga.send_text("Pets are not allowed in the dormitory, sorry.", chat=forum,
                             thread_id=topic_a)
        (got,) = await h.api.wait_for(1, chat_id=ann.id, since=mark)
        assert got["plain_text"] == (
            "💬 Admissions team:\nPets are not allowed in the dormitory, sorry.")
        await olga.send_text("Yes, there is.", chat=forum, reply_to=b1, thread_id=topic_b)
        (got,) = await h.api.wait_for(1, chat_id=bob.id, since=mark)
        assert got["plain_text"] == "💬 Admissions team:\nYes, there is."
        await settle(h)
        assert len(sent_since(h, ann.id, mark)) == 1 and len(sent_since(h, bob.id, mark)) == 1
        # Replies to the staff inside the topic stay there.
        mark = h.api.mark()
        (closed,) = await say(h, olga, "/close", chat=forum, thread_id=topic_a)
        assert closed["plain_text"].startswith("✅ Conversation closed")
        assert closed["message_thread_id"] == topic_a
        (told,) = await h.api.wait_for(1, chat_id=ann.id, since=mark,
                                       method="sendMessage")
        assert told["plain_text"] == CLOSED_STUDENT
        await settle(h)

        # Ann's next question reuses her topic: still one topic per student.
        a2 = await handed(ann, "Can I bring a hamster then?")
        assert a2["message_thread_id"] == topic_a
        assert len(h.api.calls("createForumTopic")) == 2
        (general,) = await say(h, olga, "/close", chat=forum)  # the General topic
        assert general["plain_text"].startswith("Reply to a student's message")
        async with h.app.services.sessionmaker() as s:
            actions = [(r.user_id, r.action) for r in await s.scalars(
                select(StaffAction).order_by(StaffAction.id))]
        assert actions == [(STAFF, "reply"), (STAFF, "reply"), (STAFF, "close")]
