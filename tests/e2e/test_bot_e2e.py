"""The production dispatcher end to end: fake Bot API, real long polling, SQLite.

Most tests share one running bot (module scope: building the KB index and migrating the
database is the slow part) and keep apart by using their own user ids; tests that need
another configuration or knowledge base start their own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.db.models import Feedback, Question, User
from bot.fakeapi import FakeUser
from bot.matching import AnswerEngine
from bot.text.tghtml import MAX_MESSAGE, plain_text, problems
from bot.ui.keyboards import PAGE_SIZE
from tests.support.harness import (
    Harness,
    ask,
    button,
    buttons,
    copy_knowledge,
    make_config,
    running_bot,
    settle,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

_ids = itertools.count(50_001)

STAFF_CHAT = -1_001_234_567_890


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """One bot with the shipped knowledge base, shared by the tests of this module."""
    async with running_bot(tmp_path_factory.mktemp("shared"),
                           staff={"chat_id": STAFF_CHAT}) as harness:
        harness.api.group(STAFF_CHAT, title="Admissions staff")
        yield harness


def new_user(h: Harness, language_code: str | None = "en", **kw) -> FakeUser:
    return h.api.user(next(_ids), language_code=language_code, **kw)


async def press(h: Harness, user: FakeUser, record: dict, data: str, *,
                strict: bool = True) -> dict:
    """Press a button and return the bot's answer to the callback query."""
    query_id = await user.press(record, data, strict=strict)
    return await h.api.wait_callback_answer(query_id)


async def press_for_message(h: Harness, user: FakeUser, record: dict, data: str,
                            timeout: float = 5.0) -> dict:
    """Press a button; return the next message the bot sends or edits in that chat."""
    mark = h.api.mark()
    await user.press(record, data)
    (msg,) = await h.api.wait_for(1, chat_id=record["chat_id"], since=mark, timeout=timeout)
    return msg


def sent_since(h: Harness, chat_id: int, mark: int) -> list[dict]:
    return [r for r in h.api.sent(chat_id) if r["seq"] >= mark]


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


def calls_to(h: Harness, method: str, chat_id: int) -> list[dict]:
    return [c for c in h.api.calls(method) if str(c["params"].get("chat_id")) == str(chat_id)]


async def questions_of(h: Harness, user_id: int) -> list[Question]:
    async with h.app.services.sessionmaker() as s:
        rows = await s.scalars(select(Question).where(Question.user_id == user_id)
                               .order_by(Question.id))
        return list(rows)


async def db_user(h: Harness, user_id: int) -> User | None:
    async with h.app.services.sessionmaker() as s:
        return await s.get(User, user_id)


# --- the two original tests (each with its own bot) -----------------------------------------


async def test_start_shows_welcome_and_menu(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = h.api.user(1001, first_name="<Ann>", language_code="en")
        await user.send_text("/start")
        (msg,) = await h.api.wait_for(1, chat_id=1001)
        assert "Hello, &lt;Ann&gt;!" in msg["text"]  # the name is escaped
        labels = [b["text"] for b in buttons(msg)]
        assert "About BSMU" in labels and "Admission" in labels
        assert "Small talk" not in labels  # hidden category
        await h.api.wait_for_call("setMyCommands")
        ru = h.api.commands[("default", "ru")]
        en = h.api.commands[("default", "")]
        assert [c["command"] for c in en] == ["start", "help", "menu", "human", "news",
                                             "subscribe", "settings", "unsubscribe", "language",
                                             "privacy"]
        assert en[1]["description"] == "What the bot can do"
        assert ru[1]["description"] == "Что умеет бот"


async def test_free_text_answer_is_stored(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = h.api.user(1002, language_code="ru")
        await user.send_text("Есть ли общежитие для иностранцев?")
        (msg,) = await h.api.wait_for(1, chat_id=1002)
        assert "Общежитие" in msg["text"]
        labels = [b["text"] for b in buttons(msg)]
        assert "👍" in labels and "👎" in labels
        async with h.app.services.sessionmaker() as s:
            q = (await s.execute(select(Question))).scalar_one()
            u = (await s.execute(select(User))).scalar_one()
        assert (q.matched_id, q.outcome, q.lang) == ("accommodation.dormitory", "answered", "ru")
        assert u.id == 1002 and u.language_code == "ru"


# --- browsing ---------------------------------------------------------------------------------


async def test_browse_category_question_back_and_main_menu(h: Harness) -> None:
    user = new_user(h)
    (menu,) = await ask(h, user, "/start")
    cat = await press_for_message(h, user, menu, button(menu, "Admission"))
    # The menu message is edited in place into the category's question list.
    assert cat["method"] == "editMessageText" and cat["message_id"] == menu["message_id"]
    assert cat["plain_text"] == "Admission: choose a question"
    kb = h.app.services.knowledge.kb
    entries = kb.in_category("admission")
    assert labels(cat) == [e.label("en") for e in entries] + ["🏠 Main menu"]

    first = entries[0]
    answer = await press_for_message(h, user, cat, button(cat, first.label("en")))
    assert answer["method"] == "editMessageText" and answer["message_id"] == menu["message_id"]
    assert answer["text"].strip() == first.answer_in("en").strip()
    assert {"👍", "👎", "◀️ Back", "🏠 Main menu"} <= set(labels(answer))
    for rel in first.related:  # related entries come first
        assert kb.entries[rel].label("en") in labels(answer)

    back = await press_for_message(h, user, answer, button(answer, "◀️ Back"))
    assert back["message_id"] == menu["message_id"]
    assert back["plain_text"] == "Admission: choose a question"
    assert labels(back) == labels(cat)

    answer = await press_for_message(h, user, back, button(back, first.label("en")))
    top = await press_for_message(h, user, answer, button(answer, "🏠 Main menu"))
    assert top["message_id"] == menu["message_id"]
    assert top["plain_text"] == "Choose a topic:"
    assert labels(top) == labels(menu)
    await settle(h)
    assert not calls_to(h, "sendMessage", user.id)[1:]  # everything after /start was edits
    assert all(a["text"] is None for a in h.api.callback_answers if a["chat_id"] == user.id)


# A topic with more entries than fit on one page, and an entry whose answer gets patched.
EXTRA_KB = """
categories:
  - id: testing
    order: 5
    title: {en: "Test topic", ru: "Тестовая тема"}
entries:
""" + "".join(f"""
  - id: testing.q{i:02d}
    category: testing
    title: {{en: "Test question {i}", ru: "Тестовый вопрос {i}"}}
    questions:
      en: ["zorblat number {i} question", "tell me about zorblat {i}", "zorblat {i}"]
      ru: ["зорблат номер {i}", "расскажите о зорблате {i}", "зорблат {i}"]
    answer:
      en: "Answer {i}."
      ru: "Ответ {i}."
""" for i in range(1, 2 * PAGE_SIZE + 2))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def big(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    root = tmp_path_factory.mktemp("bigkb")
    kb_dir = copy_knowledge(root / "knowledge", {"zz_testing.yaml": EXTRA_KB})
    config = make_config(root, knowledge={"path": str(kb_dir)})
    async with running_bot(root, config) as harness:
        yield harness


async def test_category_pagination(big: Harness) -> None:
    h = big
    total = 2 * PAGE_SIZE + 1
    user = new_user(h)
    (menu,) = await ask(h, user, "/start")
    assert labels(menu)[0] == "Test topic"  # order 5: first
    page1 = await press_for_message(h, user, menu, button(menu, "Test topic"))
    assert labels(page1) == [f"Test question {i}" for i in range(1, PAGE_SIZE + 1)] + [
        "1/3", "▶️", "🏠 Main menu"]
    page2 = await press_for_message(h, user, page1, button(page1, "▶️"))
    assert labels(page2) == [f"Test question {i}" for i in range(PAGE_SIZE + 1, 2 * PAGE_SIZE + 1)
                             ] + ["◀️", "2/3", "▶️", "🏠 Main menu"]
    page3 = await press_for_message(h, user, page2, button(page2, "▶️"))
    assert labels(page3) == [f"Test question {total}", "◀️", "3/3", "🏠 Main menu"]
    assert page3["message_id"] == page2["message_id"] == page1["message_id"] == menu["message_id"]

    # The page counter re-shows the same page: Telegram says "not modified", silently fine.
    mark = h.api.mark()
    answer = await press(h, user, page3, button(page3, "3/3"))
    assert answer["text"] is None
    await settle(h)
    assert sent_since(h, user.id, mark) == []
    back = await press_for_message(h, user, page3, button(page3, "◀️"))
    assert labels(back) == labels(page2)
    entry = await press_for_message(h, user, back, button(back, f"Test question {PAGE_SIZE + 3}"))
    assert entry["text"] == f"Answer {PAGE_SIZE + 3}."
    # Back returns to the first page of the topic.
    again = await press_for_message(h, user, entry, button(entry, "◀️ Back"))
    assert labels(again) == labels(page1)
    assert [e for e in h.api.errors() if e["method"] != "editMessageText"] == []


async def test_long_answer_is_split_at_paragraphs(big: Harness,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    h = big
    paragraphs = [f"<b>Part {n}</b> " + " ".join(["word"] * 300) for n in range(1, 5)]
    long_answer = "\n\n".join(paragraphs)  # ~6000 characters
    assert len(long_answer) > MAX_MESSAGE
    kb = h.app.services.knowledge.kb
    entry = kb.entries["testing.q01"]
    patched = entry.model_copy(update={"answer": {"en": long_answer, "ru": long_answer}})
    new_kb = dataclasses.replace(kb, entries={**kb.entries, entry.id: patched})
    monkeypatch.setattr(h.app.services.knowledge, "engine",
                        AnswerEngine(new_kb, h.config.matching))

    user = new_user(h)
    parts = await ask(h, user, "tell me about zorblat 1", count=2)
    await settle(h)
    parts = h.api.sent(user.id)
    assert len(parts) == 2
    assert parts[0]["text"] == "\n\n".join(paragraphs[:2])  # cut between paragraphs
    assert parts[1]["text"] == "\n\n".join(paragraphs[2:])
    assert parts[0]["reply_markup"] is None  # the keyboard goes under the last part
    assert "👍" in labels(parts[1])
    for part in parts:
        assert len(part["plain_text"]) <= MAX_MESSAGE and not problems(part["text"])


# --- free text ----------------------------------------------------------------------------------


async def test_free_text_answers_in_the_question_language(h: Harness) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, "Is there a dormitory?")
    kb = h.app.services.knowledge.kb
    dorm = kb.entries["accommodation.dormitory"]
    assert msg["text"] == dorm.answer_in("en").strip()
    assert labels(msg)[0] == "🌐 bsmu.by"  # the website the answer points to
    related_labels = [kb.entries[r].label("en") for r in dorm.related]
    assert related_labels == labels(msg)[1:len(dorm.related) + 1]
    assert labels(msg)[len(dorm.related) + 1:] == [
        "👍", "👎", "✉️ Ask the admissions team", "🏠 Main menu"]

    (ru,) = await ask(h, user, "Сколько стоит обучение?")  # the same English-speaking user
    fees = kb.entries["tuition.fees"]
    assert ru["text"] == fees.answer_in("ru").strip()
    assert "✉️ Спросить приёмную комиссию" in labels(ru)
    await settle(h)
    rows = await questions_of(h, user.id)
    assert [(q.matched_id, q.lang, q.outcome) for q in rows] == [
        ("accommodation.dormitory", "en", "answered"), ("tuition.fees", "ru", "answered")]

    # Related entries open as new messages; Main menu under an answer sends a new menu.
    related = kb.entries[dorm.related[0]]
    opened = await press_for_message(h, user, msg, button(msg, related.label("en")))
    assert opened["method"] == "sendMessage" and opened["text"] == related.answer_in("en").strip()
    menu = await press_for_message(h, user, msg, button(msg, "🏠 Main menu"))
    assert menu["method"] == "sendMessage" and menu["plain_text"] == "Choose a topic:"


SUGGEST_CANDIDATES = ("course", "study", "education", "degree", "learn", "medical course",
                     "money", "program", "school", "class", "exam", "year", "documents visa")


async def test_did_you_mean(h: Harness) -> None:
    engine = h.app.services.knowledge.engine
    found = [(q, r) for q in SUGGEST_CANDIDATES
             if (r := engine.match(q, hint="en")).kind == "suggest" and len(r.suggestions) > 1]
    if not found:
        found = [(q, r) for q in SUGGEST_CANDIDATES
                 if (r := engine.match(q, hint="en")).kind == "suggest"]
    assert found, "no candidate question gets 'did you mean' any more: extend the list"
    question, result = found[0]

    user = new_user(h)
    (msg,) = await ask(h, user, question)
    assert msg["plain_text"] == "I am not sure I understood. Did you mean:"
    choices = [e.label("en") for e in result.suggestions]
    assert labels(msg) == [*choices, "None of these"]
    assert 1 <= len(choices) <= 3

    picked = result.suggestions[0]
    shown = await press_for_message(h, user, msg, button(msg, choices[0]))
    assert shown["text"] == picked.answer_in("en").strip()
    assert "👍" in labels(shown)

    none = await press_for_message(h, user, msg, button(msg, "None of these"))
    assert none["plain_text"].startswith("Sorry I could not help.")
    assert labels(none) == ["✉️ Ask the admissions team", "🏠 Main menu"]
    confirm = await press_for_message(h, user, none, button(none, "✉️ Ask the admissions team"))
    assert question in confirm["plain_text"]  # the hand-off offers to send this question
    await settle(h)
    (row,) = await questions_of(h, user.id)
    assert (row.outcome, row.matched_id) == ("suggested", picked.id)


async def test_fallback_and_ask_the_team(h: Harness) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, "what is the weather in Minsk tomorrow")
    assert "I don't know the answer" in msg["plain_text"]
    assert "admissions office for international students" in msg["plain_text"]
    assert '<a href="https://www.bsmu.by">www.bsmu.by</a>' in msg["text"]
    assert labels(msg) == ["🌐 www.bsmu.by", "✉️ Ask the admissions team", "🏠 Main menu"]
    assert msg["params"]["link_preview_options"]  # no preview of the website
    await settle(h)
    (row,) = await questions_of(h, user.id)
    assert row.outcome == "fallback" and row.text == "what is the weather in Minsk tomorrow"

    confirm = await press_for_message(h, user, msg, button(msg, "✉️ Ask the admissions team"))
    assert "Send this question to the admissions team?" in confirm["plain_text"]
    assert "what is the weather in Minsk tomorrow" in confirm["plain_text"]
    mark = h.api.mark()
    reply = await press_for_message(h, user, confirm,
                                    button(confirm, "✅ Send to the admissions team"))
    assert reply["plain_text"].startswith("✅ Your question has been saved for the admissions")
    (header,) = [r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark]
    assert "what is the weather in Minsk tomorrow" in header["plain_text"]
    assert str(user.id) in header["plain_text"]


# --- feedback -----------------------------------------------------------------------------------


async def test_feedback_votes_one_row_per_answer(h: Harness) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, "visa")

    async def votes() -> list[tuple[str, int, int]]:
        await settle(h)
        async with h.app.services.sessionmaker() as s:
            rows = await s.scalars(select(Feedback).where(Feedback.user_id == user.id))
            return [(f.entry_id, f.vote, f.message_id) for f in rows]

    up = await press(h, user, msg, button(msg, "👍"))
    assert up["text"] == "Thank you for your feedback!"
    assert await votes() == [("visa.process", 1, msg["message_id"])]
    down = await press(h, user, msg, button(msg, "👎"))
    assert down["text"] == "Thank you. We will use this to improve the answer."
    assert await votes() == [("visa.process", -1, msg["message_id"])]  # the same row
    again = await press(h, user, msg, button(msg, "👎"))
    assert again["text"] == "Your vote is already counted."
    assert await votes() == [("visa.process", -1, msg["message_id"])]


# --- languages ----------------------------------------------------------------------------------


async def test_language_choice_is_remembered(h: Harness) -> None:
    user = new_user(h, "en")
    (choose,) = await ask(h, user, "/language")
    assert choose["plain_text"] == "Choose your language:"
    assert labels(choose) == ["English", "Русский"]
    done = await press_for_message(h, user, choose, button(choose, "Русский"))
    assert done["plain_text"] == "✅ Язык: русский."
    (help_,) = await ask(h, user, "/help")
    assert help_["plain_text"].startswith("Чем я могу помочь")
    (menu,) = await ask(h, user, "/menu")
    assert "О БГМУ" in labels(menu)
    await settle(h)
    row = await db_user(h, user.id)
    assert row is not None and row.language == "ru" and row.language_code == "en"

    # Switching back works the same way.
    (choose,) = await ask(h, user, "/language")
    done = await press_for_message(h, user, choose, button(choose, "English"))
    assert done["plain_text"] == "✅ Language: English."
    (help_,) = await ask(h, user, "/help")
    assert help_["plain_text"].startswith("How I can help")


@pytest.mark.parametrize("code", ["ru", "ru-RU", "be"])
async def test_russian_client_gets_russian_welcome(h: Harness, code: str) -> None:
    user = new_user(h, code, first_name="Аня")
    (msg,) = await ask(h, user, "/start")
    assert msg["plain_text"].startswith("👋 Здравствуйте, Аня!")
    assert "О БГМУ" in labels(msg) and "Поступление" in labels(msg)


async def test_unknown_language_falls_back_to_english(h: Harness) -> None:
    user = new_user(h, "de")
    (msg,) = await ask(h, user, "/start")
    assert msg["plain_text"].startswith("👋 Hello, Test!")


# --- unusual messages ---------------------------------------------------------------------------


async def test_non_text_messages_get_a_hint(h: Harness) -> None:
    user = new_user(h)
    await user.send_photo(caption="fees")
    await user.send_sticker()
    await user.send_voice()
    await user.send_document()
    await user.send_location()
    await h.api.wait_for(5, chat_id=user.id)
    await settle(h)
    replies = h.api.sent(user.id)
    assert [r["plain_text"] for r in replies] == [
        "I can only read text messages. Please type your question."] * 5
    assert await questions_of(h, user.id) == []


async def test_too_long_text_is_cut_and_still_answered(h: Harness) -> None:
    user = new_user(h)
    text = "Is there a dormitory? " + "please " * 700
    assert len(text) > MAX_MESSAGE
    notice, answer = await ask(h, user, text, count=2)
    assert notice["plain_text"] == (
        f"Your message is very long ({len(text):,} characters). I read the first "
        f"{MAX_MESSAGE:,} characters; please keep questions short.")
    assert answer["text"] == h.app.services.knowledge.kb.entries[
        "accommodation.dormitory"].answer_in("en").strip()
    await settle(h)
    (row,) = await questions_of(h, user.id)
    assert len(row.text) == MAX_MESSAGE


@pytest.mark.parametrize("text", ["👍👍", "???", "...", "🙂 ! 🙂"])
async def test_text_without_words(h: Harness, text: str) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, text)
    assert msg["plain_text"] == "Please type your question in words."
    await settle(h)
    assert await questions_of(h, user.id) == []


async def test_html_like_text_is_harmless(h: Harness) -> None:
    user = new_user(h, first_name="<script>alert(1)</script>")
    for text in ("<b>fees</b> & <script>", "</i>visa<i>", "a < b && c > d", "&amp; &#x1F600;"):
        (msg,) = await ask(h, user, text)
        assert msg["plain_text"]
    (welcome,) = await ask(h, user, "/start")
    assert "&lt;script&gt;" in welcome["text"]
    await settle(h)
    assert [e for e in h.api.errors()
            if str(e["params"].get("chat_id")) == str(user.id)] == []
    rows = await questions_of(h, user.id)
    assert rows[0].text == "<b>fees</b> & <script>"


FORGED = ["n1:nope::0", "zzz", "s1:no.such.entry:", "n1:nope:0:1", "s1:visa.process:nope",
          "v1:no.such:1", "v1:visa.process:maybe", "p1:no.such:0", "a1:x", "l1:de", "",
          "n1:" + "x" * 61, "s1:visa.process", "v1:visa.process:1:extra"]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_callback_data(h: Harness, caplog: pytest.LogCaptureFixture,
                                    data: str) -> None:
    caplog.set_level(logging.INFO)
    user = new_user(h)
    (menu,) = await ask(h, user, "/start")
    mark = h.api.mark()
    answer = await press(h, user, menu, data, strict=False)
    assert answer["text"] is not None and "out of date" in answer["text"]
    assert answer["show_alert"]
    await settle(h)
    assert sent_since(h, user.id, mark) == []
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert bad == []
    # The bot keeps working for this user.
    (help_,) = await ask(h, user, "/help")
    assert help_["plain_text"].startswith("How I can help")


async def test_old_menu_after_a_reload_is_out_of_date(h: Harness) -> None:
    """A button built from an entry that no longer exists (the KB was reloaded)."""
    user = new_user(h)
    (msg,) = await ask(h, user, "visa")
    kb = h.app.services.knowledge.kb
    del_id = "visa.process"
    smaller = dataclasses.replace(kb, entries={k: v for k, v in kb.entries.items()
                                               if k != del_id})
    old = h.app.services.knowledge.swap(AnswerEngine(smaller, h.config.matching))
    try:
        answer = await press(h, user, msg, button(msg, "👍"))
        assert "out of date" in answer["text"]
    finally:
        h.app.services.knowledge.swap(old)


# --- groups -------------------------------------------------------------------------------------


async def test_group_chat_answers_only_when_addressed(h: Harness) -> None:
    group = h.api.group(-next(_ids), title="Applicants")
    user = new_user(h)
    await user.send_text("what are the fees?", chat=group)
    await user.send_photo(chat=group)
    await user.send_text("/help@some_other_bot", chat=group)
    await user.send_text("/start@some_other_bot", chat=group)
    await user.send_text("/frobnicate", chat=group)  # meant for all bots
    await settle(h)
    assert h.api.sent(group.id) == []

    await user.send_text("@bsmu_test_bot what are the fees?", chat=group)
    (answer,) = await h.api.wait_for(1, chat_id=group.id)
    fees = h.app.services.knowledge.kb.entries["tuition.fees"]
    assert answer["text"] == fees.answer_in("en").strip()

    await user.send_text("and is there a dormitory?", chat=group, reply_to=answer)
    (dorm,) = await h.api.wait_for(1, chat_id=group.id)
    assert "dormitor" in dorm["plain_text"].lower()

    await user.send_text("/help@bsmu_test_bot", chat=group)
    (help_,) = await h.api.wait_for(1, chat_id=group.id)
    assert help_["plain_text"].startswith("How I can help")

    await user.send_text("@BSMU_TEST_BOT", chat=group)  # just the mention
    (empty,) = await h.api.wait_for(1, chat_id=group.id)
    assert empty["plain_text"] == "Please type your question in words."

    await user.send_text("/frobnicate@bsmu_test_bot", chat=group)
    (unknown,) = await h.api.wait_for(1, chat_id=group.id)
    assert unknown["plain_text"].startswith("I don't know this command.")
    await settle(h)
    assert len(h.api.sent(group.id)) == 5
    rows = await questions_of(h, user.id)
    assert [q.text for q in rows] == ["what are the fees?", "and is there a dormitory?"]


async def test_forum_topic_answers_stay_in_the_topic(h: Harness) -> None:
    forum = h.api.group(-1_000_000_000_000 - next(_ids), title="Forum", is_forum=True)
    user = new_user(h)
    await user.send_text("@bsmu_test_bot what are the fees?", chat=forum, thread_id=7)
    (answer,) = await h.api.wait_for(1, chat_id=forum.id)
    assert answer["message_thread_id"] == 7
    await user.send_text("@bsmu_test_bot what is the weather in Minsk tomorrow", chat=forum,
                         thread_id=7)
    (fallback,) = await h.api.wait_for(1, chat_id=forum.id)
    assert fallback["message_thread_id"] == 7


# --- flood protection ---------------------------------------------------------------------------


async def test_flood_protection(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot={"flood": {"messages": 3, "seconds": 60}}) as h:
        user = h.api.user(7001)
        for _ in range(6):
            await user.send_text("visa")
        await h.api.wait_for(4, chat_id=user.id)
        await settle(h)
        texts = [r["plain_text"] for r in h.api.sent(user.id)]
        slow = [t for t in texts if t.startswith("⏳ You are sending messages too fast")]
        assert len(slow) == 1 and len(texts) == 4
        assert len(await questions_of(h, user.id)) == 3
        # Other users are not affected, and button presses are not limited.
        other = h.api.user(7002)
        (msg,) = await ask(h, other, "visa")
        await press(h, other, msg, button(msg, "👍"))


# --- load ---------------------------------------------------------------------------------------


async def test_a_backlog_is_handled_a_few_updates_at_a_time(tmp_path: Path) -> None:
    """telegram.max_concurrent_updates: the rest of a burst waits at Telegram (polling takes
    no more updates while every slot is busy), and every question is still answered."""
    async with running_bot(tmp_path, telegram={"max_concurrent_updates": 2}) as h:
        users = [h.api.user(7100 + i) for i in range(8)]
        slow = h.api.fail_next("sendMessage", None, delay=0.3, times=8)
        for user in users:
            await user.send_text("visa")
        await asyncio.sleep(0.45)  # the first two replies are on their way, slowly
        # Two run; the others wait in the polling loop, not as tasks of their own.
        assert (h.app.inflight.running, h.app.inflight.count) == (2, 2)
        for user in users:
            (msg,) = await h.api.wait_for(1, chat_id=user.id, timeout=10)
            assert "visa" in msg["plain_text"].lower()
        await settle(h)
        assert h.app.inflight.peak == 2 and slow.times == 0
        assert len(h.api.sent()) == 8


# --- failures of the Bot API --------------------------------------------------------------------


async def test_429_on_a_reply_is_waited_out(h: Harness) -> None:
    user = new_user(h)
    waits = h.retry.stats.retry_after_waits
    h.api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=user.id)
    start = time.monotonic()
    (msg,) = await ask(h, user, "visa")
    elapsed = time.monotonic() - start
    assert elapsed >= 0.9
    assert msg["plain_text"]
    await settle(h)
    assert len(h.api.sent(user.id)) == 1  # exactly once
    assert [c["ok"] for c in calls_to(h, "sendMessage", user.id)] == [False, True]
    assert h.retry.stats.retry_after_waits == waits + 1


@pytest.mark.parametrize("code", [500, 502])
async def test_5xx_on_a_reply_is_retried(h: Harness, code: int) -> None:
    user = new_user(h)
    h.api.fail_next("sendMessage", error_code=code, retry_after=None, chat_id=user.id,
                    times=2)
    (msg,) = await ask(h, user, "visa")
    assert msg["plain_text"]
    await settle(h)
    assert len(h.api.sent(user.id)) == 1
    assert [c["ok"] for c in calls_to(h, "sendMessage", user.id)] == [False, False, True]


async def test_dropped_connection_on_a_reply_is_retried(h: Harness) -> None:
    user = new_user(h)
    h.api.fail_next("sendMessage", chat_id=user.id, drop_connection=True)
    (msg,) = await ask(h, user, "visa")
    assert msg["plain_text"]
    await settle(h)
    assert len(h.api.sent(user.id)) == 1


async def test_403_marks_the_user_blocked(h: Harness) -> None:
    user = new_user(h)
    await ask(h, user, "visa")  # a known user
    h.api.fail_next("sendMessage", error_code=403, retry_after=None, chat_id=user.id,
                    description="Forbidden: bot was blocked by the user")
    await user.send_text("what are the fees?")
    other = new_user(h)
    (msg,) = await ask(h, other, "Is there a dormitory?")  # others are served meanwhile
    assert msg["plain_text"]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 4
    while True:
        row = await db_user(h, user.id)
        if row is not None and row.blocked:
            break
        assert loop.time() < deadline, "users.blocked was not set"
        await asyncio.sleep(0.05)
    assert row.blocked_at is not None
    await settle(h)
    assert len(calls_to(h, "sendMessage", user.id)) == 2  # no retry, no error message
    assert (await db_user(h, other.id)).blocked is False

    # Writing again means the user unblocked the bot.
    (again,) = await ask(h, user, "visa")
    assert again["plain_text"]
    await settle(h)
    assert (await db_user(h, user.id)).blocked is False


async def test_handler_exception_is_reported_and_survived(h: Harness,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    engine = h.app.services.knowledge.engine
    real = engine.match

    def match(text: str, *args, **kwargs):
        if text == "explode please":
            raise RuntimeError("boom")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(engine, "match", match)
    user = new_user(h, "ru")
    (msg,) = await ask(h, user, "explode please")
    assert msg["plain_text"] == ("Извините, у меня что-то пошло не так. "
                                 "Попробуйте ещё раз через минуту.")
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
    (ok,) = await ask(h, user, "Есть ли общежитие?")
    assert "Общежитие" in ok["plain_text"]
    await settle(h)
    assert [q.text for q in await questions_of(h, user.id)] == ["Есть ли общежитие?"]


async def test_html_of_every_reply_is_valid(h: Harness) -> None:
    """Whatever the tests above sent, Telegram accepted all of it as HTML."""
    for record in h.api.sent():
        if record["text"] and record["parse_mode"] == "HTML":
            assert not problems(record["text"]), record["text"]
            assert plain_text(record["text"])
