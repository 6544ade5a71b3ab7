"""The hand-off to the admissions team end to end, against the fake Bot API: no dead end
without a staff chat (the KB's contacts instead), staff replies marked as the team's in the
student's language, edits mirrored both ways, the office-hours notice, bans in every chat,
and staff replies only ever in the student's private chat.

The round trip itself, /close, /ban and forum topics are in test_staff_e2e.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.config import WEEKDAYS
from bot.db.models import StaffAction
from bot.fakeapi import FakeUser
from bot.fakeapi.users import FakeGroup
from tests.support.harness import Harness, buttons, make_config, running_bot, settle
from tests.support.kb import write_small_kb

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF = 910_001
STAFF_CHAT = -1_001_000_000_901
APPLICANTS = -1_001_000_000_902  # a group of applicants the bot is in
BOT = "@bsmu_test_bot"
_ids = itertools.count(71_001)

ASK_TEAM = {"en": "✉️ Ask the admissions team", "ru": "✉️ Спросить приёмную комиссию"}
SEND = "✅ Send to the admissions team"
HEADER = {"en": "💬 Admissions team:", "ru": "💬 Приёмная комиссия:"}
HEADER_HTML = {"en": "💬 <b>Admissions team:</b>", "ru": "💬 <b>Приёмная комиссия:</b>"}
WEATHER = {"en": "What is the weather in Minsk tomorrow?", "ru": "какая погода завтра в Минске"}
TYPE_QUESTION = ("Please type your question for the admissions team in one message. "
                 "Send /cancel to stop.")
SAVED = ("✅ Your question has been saved for the admissions team. A staff member will reply "
         "here in this chat.")
SAVED_RU = ("✅ Ваш вопрос сохранён для приёмной комиссии. Сотрудник ответит вам здесь, в этом "
            "чате.")
SAVED_GROUP = ("✅ Your question has been saved for the admissions team. The reply will come in "
               f"a private chat with me: open {BOT} and press Start, so that I can write to you.")
BANNED = ("Sorry, sending questions to the admissions team is not available to you. Please "
          "contact the admissions office through the official website, https://www.bsmu.by.")
NO_PRIVATE_CHAT = ("⚠️ Not delivered: the student never opened a private chat with the bot, so "
                   "it cannot write to them (replies never go to groups). Send the reply again "
                   "once they have pressed Start in a private chat with the bot.")


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


def sent_since(h: Harness, chat_id: int, mark: int) -> list[dict]:
    return [r for r in h.api.sent(chat_id) if r["seq"] >= mark]


def current(h: Harness, chat_id: int, message_id: int) -> dict:
    """A message as it is now (after edits)."""
    return h.api.chat(chat_id).messages[message_id]


async def say(h: Harness, user: FakeUser, text: str, *, chat=None, reply_to=None,
              count: int = 1) -> list[dict]:
    mark = h.api.mark()
    msg = await user.send_text(text, chat=chat, reply_to=reply_to)
    return await h.api.wait_for(count, chat_id=msg["chat"]["id"], since=mark)


async def press(h: Harness, user: FakeUser, record: dict, label: str,
                chat_id: int | None = None, count: int = 1) -> list[dict]:
    mark = h.api.mark()
    await user.press(record, text=label)
    return await h.api.wait_for(count, chat_id=chat_id or record["chat_id"], since=mark)


async def edit_caption(user: FakeUser, message: dict, caption: str) -> dict:
    """The user edits a media message's caption (FakeUser.edit_text does texts)."""
    chat, msg = user.api.locate(message)
    new = {**msg, "caption": caption, "edit_date": int(time.time())}
    chat.messages[new["message_id"]] = new
    user.api.push_update({"edited_message": new}, chat.id)
    return new


async def send_sticker(user: FakeUser, chat: FakeGroup, reply_to: dict) -> dict:
    """A sticker in reply (FakeUser.send_sticker cannot reply)."""
    stored = user.api.files.add("sticker", b"RIFF\0\0\0\0WEBPVP8 ", mime_type="image/webp",
                                width=512, height=512)
    sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
               "type": "regular", "width": 512, "height": 512, "is_animated": False,
               "is_video": False, "emoji": "👍", "set_name": "TestPack"}
    return await user._send({"sticker": sticker}, chat, reply_to)


def contacts(h: Harness, lang: str) -> str:
    """The KB's contacts entry, as the bot sends it."""
    return h.app.services.knowledge.kb.entries["contacts.admissions"].answer_in(lang).strip()


# --- 1. no staff chat: the contacts, no dead end ----------------------------------------------


async def test_no_staff_chat_gives_the_contacts_from_the_kb(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:  # the default: no staff.chat_id
        assert h.config.staff.chat_id is None
        group = h.api.group(APPLICANTS, "Applicants")
        for lang, code in (("en", "en"), ("ru", "ru")):
            student = h.api.user(next(_ids), language_code=code)
            (fallback,) = await say(h, student, WEATHER[lang])
            # The fallback does not offer to send the question from here...
            assert "from here" not in fallback["plain_text"]
            assert "отсюда" not in fallback["plain_text"]
            assert ASK_TEAM[lang] in labels(fallback)
            # ... and its button gives the admissions contacts from the KB, as an answer.
            calls = h.api.call_mark()
            (reply,) = await press(h, student, fallback, ASK_TEAM[lang])
            assert reply["text"] == contacts(h, lang)
            assert reply["plain_text"].startswith(
                {"en": "Contact the admissions office",
                 "ru": "Связаться с приёмной комиссией"}[lang])
            assert ASK_TEAM[lang] in labels(reply)  # the usual answer keyboard
            # /human too.
            (human,) = await say(h, student, "/human")
            assert human["text"] == contacts(h, lang)
            # And the button under an ordinary answer.
            (answer,) = await say(h, student, {"en": "Is there a dormitory?",
                                               "ru": "Есть ли общежитие?"}[lang])
            (again,) = await press(h, student, answer, ASK_TEAM[lang])
            assert again["text"] == contacts(h, lang)
            await settle(h)
            everything = " ".join(r["plain_text"] or "" for r in h.api.sent(student.id))
            assert "cannot be reached" not in everything and "нельзя связаться" not in everything
            assert not [c for c in h.api.calls() if c["seq"] > calls and c["method"] in (
                "getChat", "createForumTopic", "copyMessage")]
        # In a group: the contacts in the group.
        student = h.api.user(next(_ids))
        (fallback,) = await say(h, student, f"{BOT} {WEATHER['en']}", chat=group)
        (reply,) = await press(h, student, fallback, ASK_TEAM["en"])
        assert reply["chat_id"] == APPLICANTS and reply["text"] == contacts(h, "en")
        # Nothing waits for a typed question: the next message is a question for the bot.
        (answer,) = await say(h, student, "Is there a dormitory?")
        assert answer["plain_text"].startswith("Dormitory")
        # /human@bot in the group: the contacts there too.
        (reply,) = await say(h, student, f"/human{BOT}", chat=group)
        assert reply["chat_id"] == APPLICANTS and reply["text"] == contacts(h, "en")


async def test_no_staff_chat_and_no_contacts_entry_gives_the_website(tmp_path: Path) -> None:
    kb = write_small_kb(tmp_path / "kb")
    async with running_bot(tmp_path, knowledge={"path": str(kb)}) as h:
        student = h.api.user(next(_ids))
        (reply,) = await say(h, student, "/human")
        assert reply["plain_text"] == ("To reach the admissions office, use the contacts on "
                                       "the official website: https://www.bsmu.by")
        ru = h.api.user(next(_ids), language_code="ru")
        (reply,) = await say(h, ru, "/human")
        assert reply["plain_text"] == ("Чтобы связаться с приёмной комиссией, воспользуйтесь "
                                       "контактами на официальном сайте: https://www.bsmu.by")


# --- the shared bot with a staff chat ---------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    tmp = tmp_path_factory.mktemp("handoff")
    config = make_config(tmp, staff={"admins": [STAFF], "chat_id": STAFF_CHAT},
                         bot={"flood": {"messages": 1000, "seconds": 1}})
    async with running_bot(tmp, config=config) as harness:
        harness.api.group(STAFF_CHAT, "Admissions staff")
        harness.api.group(APPLICANTS, "Applicants")
        yield harness


def staff_chat(h: Harness) -> FakeGroup:
    return h.api.group(STAFF_CHAT, "Admissions staff")


def applicants(h: Harness) -> FakeGroup:
    return h.api.group(APPLICANTS, "Applicants")


def olga(h: Harness) -> FakeUser:
    return h.api.user(STAFF, first_name="Olga")


async def human(h: Harness, student: FakeUser, question: str,
                saved: str = SAVED) -> tuple[dict, dict]:
    """/human and the question typed; returns (the student's message, the staff header)."""
    await say(h, student, "/human")
    mark = h.api.mark()
    msg = await student.send_text(question)
    (header,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    (confirmation,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert confirmation["plain_text"] == saved
    await settle(h)
    return msg, header


async def reply(h: Harness, text: str, reply_to: dict, student: FakeUser) -> tuple[dict, dict]:
    """Staff reply with a text; returns (the staff message, what the student got)."""
    mark = h.api.mark()
    sent = await olga(h).send_text(text, chat=staff_chat(h), reply_to=reply_to)
    (got,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    await settle(h)
    return sent, got


async def audit_rows(h: Harness) -> list[tuple[str, str | None]]:
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        return [(r.action, r.details) for r in await s.scalars(
            select(StaffAction).order_by(StaffAction.id))]


# --- 2. staff replies are marked as the team's, in the student's language ---------------------


async def test_staff_replies_are_marked_in_the_students_language(h: Harness) -> None:
    en = h.api.user(next(_ids), first_name="Ann")
    ru = h.api.user(next(_ids), first_name="Пётр", language_code="ru")
    _, en_header = await human(h, en, "Can I pay the fees in two parts?")
    _, ru_header = await human(h, ru, "Можно ли платить за обучение частями?", SAVED_RU)

    # Text: one message, the header then the reply (its formatting kept, its text escaped).
    bold = [{"type": "bold", "offset": 0, "length": 3}]
    mark = h.api.mark()
    await olga(h).send_text("Yes, in two parts <for 2026> & later.", chat=staff_chat(h),
                            reply_to=en_header, entities=bold)
    (got,) = await h.api.wait_for(1, chat_id=en.id, since=mark)
    assert got["method"] == "sendMessage"
    assert got["plain_text"] == "💬 Admissions team:\nYes, in two parts <for 2026> & later."
    assert got["text"] == ("💬 <b>Admissions team:</b>\n<b>Yes</b>, in two parts "
                           "&lt;for 2026&gt; &amp; later.")
    _, got = await reply(h, "Да, двумя частями.", ru_header, ru)
    assert got["plain_text"] == "💬 Приёмная комиссия:\nДа, двумя частями."

    # A photo: copied, the header opens its caption (with no caption, it is the caption).
    mark = h.api.mark()
    await olga(h).send_photo(caption="Форма заявления", chat=staff_chat(h), reply_to=ru_header)
    (with_caption,) = await h.api.wait_for(1, chat_id=ru.id, since=mark)
    mark = h.api.mark()
    await olga(h).send_photo(chat=staff_chat(h), reply_to=ru_header)
    (bare,) = await h.api.wait_for(1, chat_id=ru.id, since=mark)
    assert with_caption["method"] == bare["method"] == "copyMessage"
    assert with_caption["message"]["photo"] and bare["message"]["photo"]
    assert with_caption["plain_text"] == "💬 Приёмная комиссия:\nФорма заявления"
    assert bare["plain_text"] == "💬 Приёмная комиссия:"

    # A sticker cannot carry a caption: the header comes as a message of its own, first.
    mark = h.api.mark()
    await send_sticker(olga(h), staff_chat(h), en_header)
    note, sticker = await h.api.wait_for(2, chat_id=en.id, since=mark)
    assert (note["method"], note["plain_text"]) == ("sendMessage", HEADER["en"])
    assert sticker["method"] == "copyMessage" and sticker["message"]["sticker"]

    # A text too long to share a message with the header: the same, header first.
    long = "Details. " * 454  # 4,086 characters: fits Telegram's 4,096, the header does not
    mark = h.api.mark()
    await olga(h).send_text(long.strip(), chat=staff_chat(h), reply_to=en_header)
    note, copy = await h.api.wait_for(2, chat_id=en.id, since=mark)
    assert note["plain_text"] == HEADER["en"]
    assert copy["method"] == "copyMessage" and copy["plain_text"] == long.strip()
    await settle(h)
    # Each student got their replies in their own language only.
    assert not [r for r in h.api.sent(ru.id) if HEADER["en"] in (r["plain_text"] or "")]
    assert not [r for r in h.api.sent(en.id) if HEADER["ru"] in (r["plain_text"] or "")]


# --- 3. edits mirrored both ways --------------------------------------------------------------


async def test_student_edits_reach_the_staff(h: Harness) -> None:
    student = h.api.user(next(_ids), first_name="<Zoë>")
    question, header = await human(h, student, "When is the deadline?")

    # The typed question edited: a note under the header, the new text escaped.
    mark = h.api.mark()
    await student.edit_text(question, "When is the <b>deadline</b> for documents & visas?")
    (note,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    assert note["text"] == (
        f"✏️ &lt;Zoë&gt; (id <code>{student.id}</code>) edited this message:\n"
        "<blockquote>When is the &lt;b&gt;deadline&lt;/b&gt; for documents &amp; visas?"
        "</blockquote>")
    assert note["message"]["reply_to_message"]["message_id"] == header["message_id"]

    # A follow-up edited: the note answers the staff chat's copy of it.
    mark = h.api.mark()
    follow = await student.send_text("And for the visa?")
    _, copy = await h.api.wait_for(2, chat_id=STAFF_CHAT, since=mark)
    await settle(h)
    mark = h.api.mark()
    await student.edit_text(follow, "And for the visa support letter?")
    (note,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    assert note["plain_text"].endswith("edited this message:\nAnd for the visa support letter?")
    assert note["message"]["reply_to_message"]["message_id"] == copy["message_id"]
    assert copy["plain_text"] == "And for the visa?"  # the old version stays readable
    await settle(h)
    assert not sent_since(h, student.id, mark)  # the bot does not answer the edit itself

    # Staff can answer under the note like under any of the student's messages.
    _, got = await reply(h, "August 1 for both.", note, student)
    assert got["plain_text"] == "💬 Admissions team:\nAugust 1 for both."

    # Edits of messages staff never saw (before the hand-off) go nowhere.
    mark = h.api.mark()
    old = await student.send_text("/start")
    await settle(h)
    await student.edit_text(old, "/start again")
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)


async def test_staff_edits_reach_the_student(h: Harness) -> None:
    student = h.api.user(next(_ids))
    ru = h.api.user(next(_ids), language_code="ru")
    _, header = await human(h, student, "Do I need a medical certificate?")
    _, ru_header = await human(h, ru, "Нужна ли медицинская справка?", SAVED_RU)

    # A text reply edited: the student's copy is edited in place, the header kept.
    sent, got = await reply(h, "Yes, form 086.", header, student)
    mark = h.api.mark()
    await olga(h).edit_text(sent, "Yes, form 086/u, with an apostille.")
    (edit,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert (edit["method"], edit["message_id"]) == ("editMessageText", got["message_id"])
    assert current(h, student.id, got["message_id"])["text"] == (
        "💬 Admissions team:\nYes, form 086/u, with an apostille.")
    ru_sent, ru_got = await reply(h, "Да, форма 086.", ru_header, ru)
    mark = h.api.mark()
    await olga(h).edit_text(ru_sent, "Да, форма 086/у.")
    (edit,) = await h.api.wait_for(1, chat_id=ru.id, since=mark)
    assert edit["plain_text"] == "💬 Приёмная комиссия:\nДа, форма 086/у."
    assert edit["message_id"] == ru_got["message_id"]

    # A photo's caption edited: the copy's caption, header kept.
    mark = h.api.mark()
    photo = await olga(h).send_photo(caption="Sample", chat=staff_chat(h), reply_to=header)
    (copy,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    await settle(h)
    mark = h.api.mark()
    await edit_caption(olga(h), photo, "Sample of form 086/u")
    (edit,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert (edit["method"], edit["message_id"]) == ("editMessageCaption", copy["message_id"])
    assert edit["plain_text"] == "💬 Admissions team:\nSample of form 086/u"

    # A long reply (header sent apart): its copy is edited, without a second header.
    long = "Bring the original. " * 204
    mark = h.api.mark()
    sent_long = await olga(h).send_text(long.strip(), chat=staff_chat(h), reply_to=header)
    _, long_copy = await h.api.wait_for(2, chat_id=student.id, since=mark)
    await settle(h)
    mark = h.api.mark()
    await olga(h).edit_text(sent_long, "Bring the original and a copy.")
    (edit,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert (edit["method"], edit["message_id"]) == ("editMessageText", long_copy["message_id"])
    assert edit["plain_text"] == "Bring the original and a copy."

    # The copy cannot be edited any more (gone): the new version comes as a new message.
    del h.api.chat(student.id).messages[got["message_id"]]
    mark = h.api.mark()
    await olga(h).edit_text(sent, "Yes: form 086/u.")
    (again,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert again["method"] == "sendMessage"
    assert again["plain_text"] == "💬 Admissions team:\nYes: form 086/u."
    await settle(h)
    mark = h.api.mark()  # and a later edit edits that new message
    await olga(h).edit_text(sent, "Yes: form 086/u (original).")
    (edit,) = await h.api.wait_for(1, chat_id=student.id, since=mark)
    assert (edit["method"], edit["message_id"]) == ("editMessageText", again["message_id"])

    # Staff chatter edited: nothing reaches anyone.
    mark = h.api.mark()
    chatter = await olga(h).send_text("lunch?", chat=staff_chat(h))
    await settle(h)
    await olga(h).edit_text(chatter, "lunch at 1?")
    await settle(h)
    assert not sent_since(h, student.id, mark) and not sent_since(h, ru.id, mark)
    assert [a for a, _ in await audit_rows(h)].count("reply-edit") == 6


# --- 4. office hours --------------------------------------------------------------------------


async def test_outside_office_hours_the_confirmation_says_when(tmp_path: Path) -> None:
    # Office hours on one weekday three days ahead in Tokyo (UTC+9, no summer time): closed
    # now, whatever the time the test runs.
    zone = ZoneInfo("Asia/Tokyo")
    day = (datetime.now(zone) + timedelta(days=3)).weekday()
    config = make_config(tmp_path, staff={"admins": [STAFF], "chat_id": STAFF_CHAT,
                                          "office_hours": {"days": WEEKDAYS[day],
                                                           "start": "09:00", "end": "17:30",
                                                           "timezone": "Asia/Tokyo"}})
    async with running_bot(tmp_path, config=config) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        en_day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day]
        ru_day = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"][day]
        student = h.api.user(next(_ids))
        await human(h, student, "Is the library open on Sundays?", saved=(
            f"{SAVED}\n\n🕘 The team answers {en_day}, 09:00–17:30 (UTC+9). It is outside "
            f"those hours now: expect the reply after they open ({en_day} at 09:00)."))
        ru = h.api.user(next(_ids), language_code="ru")
        (fallback,) = await say(h, ru, WEATHER["ru"])
        (confirm,) = await press(h, ru, fallback, ASK_TEAM["ru"])
        mark = h.api.mark()
        await ru.press(confirm, text="✅ Отправить в приёмную комиссию")
        (saved,) = await h.api.wait_for(1, chat_id=ru.id, since=mark)
        assert saved["plain_text"] == (
            f"{SAVED_RU}\n\n🕘 Приёмная комиссия отвечает {ru_day}, 09:00–17:30 (UTC+9). "
            f"Сейчас нерабочее время: ответ придёт после открытия ({ru_day}, 09:00).")


# --- 5. bans hold in every chat; replies only in private --------------------------------------


async def test_a_ban_holds_in_a_group(h: Harness) -> None:
    student = h.api.user(next(_ids))
    group = applicants(h)
    (fallback,) = await say(h, student, f"{BOT} {WEATHER['en']}", chat=group)
    (confirm,) = await press(h, student, fallback, ASK_TEAM["en"])  # before the ban
    assert labels(confirm) == [SEND, "Cancel"]
    await say(h, olga(h), f"/ban {student.id}", chat=staff_chat(h))
    await settle(h)
    mark = h.api.mark()
    (refused,) = await press(h, student, fallback, ASK_TEAM["en"])
    assert refused["plain_text"] == BANNED and refused["chat_id"] == APPLICANTS
    (refused,) = await press(h, student, confirm, SEND)
    assert refused["plain_text"] == BANNED
    await settle(h)
    assert not sent_since(h, STAFF_CHAT, mark)
    await say(h, olga(h), f"/unban {student.id}", chat=staff_chat(h))


async def test_human_in_a_group_points_to_the_private_chat(h: Harness) -> None:
    group = applicants(h)
    for code, text in (
            ("en", f"To ask the admissions team, write to me in a private chat: open {BOT} "
                   "and send /human."),
            ("ru", f"Чтобы задать вопрос приёмной комиссии, напишите мне в личный чат: "
                   f"откройте {BOT} и отправьте /human.")):
        student = h.api.user(next(_ids), language_code=code)
        (reply,) = await say(h, student, f"/human{BOT}", chat=group)
        assert reply["plain_text"] == text
        # The button where there is no question of theirs to send (an answer opened from
        # a menu): the same, instead of waiting for a question typed in the group.
        mark = h.api.mark()
        await student.press(reply, callback_data="a1:0", strict=False)
        (again,) = await h.api.wait_for(1, chat_id=APPLICANTS, since=mark)
        assert again["plain_text"] == text
        await settle(h)
        assert not sent_since(h, STAFF_CHAT, mark)
    # A bare /human in a group is for every bot there: no answer from this one.
    mark = h.api.mark()
    await student.send_text("/human", chat=group)
    await settle(h)
    assert not sent_since(h, APPLICANTS, mark)


async def group_hand_off(h: Harness, student: FakeUser) -> dict:
    """A question asked in the applicants' group, handed over there; the staff header."""
    group = applicants(h)
    (fallback,) = await say(h, student, f"{BOT} {WEATHER['en']}", chat=group)
    (confirm,) = await press(h, student, fallback, ASK_TEAM["en"])
    assert confirm["plain_text"].startswith(
        f"Send this question to the admissions team? The reply will come in a private chat "
        f"with me, {BOT}.")
    mark = h.api.mark()
    await student.press(confirm, text=SEND)
    (header,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    (saved,) = await h.api.wait_for(1, chat_id=APPLICANTS, since=mark)
    assert saved["plain_text"] == SAVED_GROUP
    await settle(h)
    return header


async def test_a_conversation_from_a_group_is_answered_in_private(h: Harness) -> None:
    student = h.api.user(next(_ids))
    await say(h, student, "/start")  # has a private chat with the bot
    header = await group_hand_off(h, student)
    mark = h.api.mark()
    _, got = await reply(h, "It will be sunny.", header, student)
    assert got["chat_id"] == student.id
    assert got["plain_text"] == "💬 Admissions team:\nIt will be sunny."
    closing = h.api.mark()
    (closed,) = await say(h, olga(h), "/close", chat=staff_chat(h), reply_to=header)
    assert closed["plain_text"].startswith("✅ Conversation closed")
    (told,) = await h.api.wait_for(1, chat_id=student.id, since=closing)
    await settle(h)
    assert told["plain_text"].startswith("The admissions team has closed this conversation.")
    assert not sent_since(h, APPLICANTS, mark)  # nothing of it in the group


@pytest.mark.parametrize("never_started", ["chat not found", "can't initiate"])
async def test_staff_told_when_the_student_has_no_private_chat(h: Harness,
                                                               never_started: str) -> None:
    student = h.api.user(next(_ids))
    header = await group_hand_off(h, student)
    if never_started == "chat not found":  # the bot never saw their private chat
        h.api.chats.pop(student.id)
    else:  # what Telegram answers for a user who never pressed Start
        h.api.chat(student).forbidden = "Forbidden: bot can't initiate conversation with a user"
    mark = h.api.mark()
    sent = await olga(h).send_text("It will be sunny.", chat=staff_chat(h), reply_to=header)
    (notice,) = await h.api.wait_for(1, chat_id=STAFF_CHAT, since=mark)
    assert notice["plain_text"] == NO_PRIVATE_CHAT
    assert notice["message"]["reply_to_message"]["message_id"] == sent["message_id"]
    await settle(h)
    assert not sent_since(h, APPLICANTS, mark)  # never into the group
    assert h.api.reactions(STAFF_CHAT, sent["message_id"]) == []
    rows = await audit_rows(h)
    assert rows[-1][1].endswith("not delivered: no private chat")

    # Once they open the private chat, the reply sent again reaches them.
    h.api.chat(student).forbidden = None
    await say(h, student, "/start")
    _, got = await reply(h, "It will be sunny.", header, student)
    assert got["plain_text"] == "💬 Admissions team:\nIt will be sunny."
    await say(h, olga(h), "/close", chat=staff_chat(h), reply_to=header)
