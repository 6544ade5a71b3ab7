"""A few thousand random updates through the fake Bot API: nobody gets the error reply.

Seeded and bounded (``FUZZ_UPDATES``, default 2,000; ``FUZZ_SEED``) so CI runs it on SQLite
and again on PostgreSQL (``BOT_TEST_DB=postgres``) in well under two minutes. The updates mix
what students really send with what no client would: any Unicode, HTML-like text, 5,000
characters, long names, commands with odd arguments, media, edits, service messages, group
mentions, anonymous admins and channels, real and forged button presses, hand-offs and staff
commands. Afterwards: no error reply, no ``{???}``, no user text sent as markup, no handler
error in the log, and ordinary questions answered as before.
"""

from __future__ import annotations

import logging
import os
import random
import string
import time
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import LANGUAGES, Translator
from tests.support.harness import Harness, ask, buttons, make_config, running_bot, settle

SEED = int(os.environ.get("FUZZ_SEED", "20261202"))
UPDATES = int(os.environ.get("FUZZ_UPDATES", "2000"))
STAFF, STAFF_CHAT = 990_001, -1_001_000_000_990
MARKER = "<fuzz"  # HTML-like user text: must never reach Telegram unescaped
ERROR_REPLIES = {Translator().get(lang, "error-generic") for lang in LANGUAGES}
COMMANDS = ["/start", "/help", "/menu", "/news", "/subscribe", "/settings", "/unsubscribe",
            "/language", "/human", "/cancel", "/reload", "/stats", "/unanswered", "/close",
            "/ban", "/unban", "/broadcast", "/xyz", "/start tuition-fees", "/stats -1",
            "/stats 99999999999999999999", "/ban abc", "/broadcast tag=zz hi", "/start@other_bot"]
QUESTIONS = ["how much are the fees?", "сколько стоит обучение", "is there a dorm", "visa",
             "what documents do I need", "hi", "thanks", "where is bsmu", "news", "общага"]
PREFIXES = ["n1", "s1", "v1", "p1", "a1", "l1", "h1", "nl1", "ns1", "nk1", "so1", "sf1",
            "st1", "sl1", "bc1", "zz"]


def rand_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.25:
        return rng.choice(QUESTIONS) + rng.choice(["", "?", "!!", " pls", "\x00", " 😀"])
    if kind < 0.40:
        return rng.choice(COMMANDS) + rng.choice(["", " ", " 1", " <b>x</b>", " " + "9" * 30])
    if kind < 0.55:
        return f"{MARKER} onclick=x>{rng.choice(QUESTIONS)}</fuzz> &amp; <b>bold & <i>"
    if kind < 0.70:  # any code point but surrogates (Telegram's UTF-8 carries none)
        return "".join(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
                       for _ in range(rng.randint(1, 60)))
    if kind < 0.80:
        return (rng.choice(QUESTIONS) + " " + "word " * 1200)[:rng.choice([4096, 4097, 5000])]
    if kind < 0.90:
        return rng.choice([" ", "\n\n", "&", "<", ">", "<>", "&#0;", "\u200b", "ﷺ" * 10])
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 300)))


def rand_name(rng: random.Random) -> str:
    return rng.choice(["Ann", "Иван", "<b>Boss</b> & co", "😀" * 40, "x" * 3000,
                       "A\x00B", "‮evil", ""]) or "."


class Fuzzer:
    def __init__(self, h: Harness, rng: random.Random) -> None:
        self.h, self.rng = h, rng
        self.users = [h.api.user(60_000 + i, rand_name(rng),
                                 language_code=rng.choice(["en", "ru", "de", None]),
                                 username=rng.choice([None, "u" * 40, f"user{i}"]))
                      for i in range(60)]
        self.staff = h.api.user(STAFF, "Olga")
        self.groups = [h.api.group(-100_100 - i, f"Group {i}") for i in range(3)]
        self.user_messages: list[tuple[Any, dict]] = []

    def user(self) -> Any:
        return self.rng.choice(self.users)

    async def step(self) -> None:
        actions = [(self.text, 30), (self.group_text, 10), (self.anonymous, 4),
                   (self.media, 8), (self.edit, 5), (self.press, 15), (self.forged, 8),
                   (self.service, 4), (self.staff_action, 4), (self.handoff, 4)]
        action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
        await action()

    async def text(self) -> None:
        u = self.user()
        msg = await u.send_text(rand_text(self.rng))
        self.user_messages.append((u, msg))

    async def group_text(self) -> None:
        u, g = self.user(), self.rng.choice(self.groups)
        prefix = self.rng.choice(["@bsmu_test_bot ", "", "@BSMU_TEST_BOT, ",
                                  "/news@bsmu_test_bot "])
        await u.send_text(prefix + rand_text(self.rng), chat=g)

    async def anonymous(self) -> None:
        g = self.rng.choice(self.groups)
        chat = {"id": g.id, "type": "supergroup", "title": "Group"}
        sender = self.rng.choice([
            {"id": 1087968824, "is_bot": True, "first_name": "Group",
             "username": "GroupAnonymousBot"},
            {"id": 136817688, "is_bot": True, "first_name": "Channel",
             "username": "Channel_Bot"}])
        text = "@bsmu_test_bot " + rand_text(self.rng)
        self.h.api.inject_update({"message": {
            "message_id": 900_000 + self.rng.randint(0, 10**6), "from": sender,
            "sender_chat": chat, "chat": chat, "date": int(time.time()), "text": text,
            "entities": [{"type": "mention", "offset": 0, "length": 14}]}})

    async def media(self) -> None:
        u = self.user()
        kind = self.rng.randrange(6)
        if kind == 0:
            await u.send_photo(caption=self.rng.choice([None, rand_text(self.rng)[:1024]]))
        elif kind == 1:
            await u.send_sticker()
        elif kind == 2:
            await u.send_voice()
        elif kind == 3:
            await u.send_document(caption=self.rng.choice([None, MARKER + ">"]))
        elif kind == 4:
            await u.send_location()
        else:
            await u.send_contact()

    async def edit(self) -> None:
        if self.user_messages:
            u, msg = self.rng.choice(self.user_messages)
            await u.edit_text(msg, rand_text(self.rng))

    def _bot_messages(self, u: Any) -> list[dict]:
        return [r for r in self.h.api.sent(u.id) if buttons(r)]

    async def press(self) -> None:
        u = self.user()
        pressable = self._bot_messages(u)
        if not pressable:
            return await self.text()
        record = self.rng.choice(pressable)
        data = [b["callback_data"] for b in buttons(record) if "callback_data" in b]
        if data:
            # The button as once shown: the message may have been edited since (a stale menu).
            await u.press(record["message_id"], self.rng.choice(data), strict=False)

    async def forged(self) -> None:
        u = self.user()
        pressable = self._bot_messages(u)
        if not pressable:
            return await self.text()
        fields = ":".join(self.rng.choice(["", "-1", "0", "999999999999", "x" * 40,
                                           "tuition.fees", "1"])
                          for _ in range(self.rng.randint(0, 4)))
        data = (self.rng.choice(PREFIXES) + ":" + fields)[:64]
        await u.press(self.rng.choice(pressable)["message_id"], data, strict=False)

    async def service(self) -> None:
        g, u = self.rng.choice(self.groups), self.user()
        chat = {"id": g.id, "type": "supergroup", "title": "Group"}
        content = self.rng.choice([
            {"new_chat_members": [u.json]}, {"left_chat_member": u.json},
            {"new_chat_title": rand_text(self.rng)[:128]}, {"group_chat_created": True}])
        self.h.api.inject_update({"message": {
            "message_id": 800_000 + self.rng.randint(0, 10**6), "from": u.json, "chat": chat,
            "date": int(time.time()), **content}})

    async def staff_action(self) -> None:
        text = self.rng.choice(["/unanswered", "/stats", "/stats 1", "/close", "/ban",
                                "/unban 60001", rand_text(self.rng)])
        await self.staff.send_text(text, chat=STAFF_CHAT)

    async def handoff(self) -> None:
        u = self.user()
        await u.send_text("/human")
        msg = await u.send_text(rand_text(self.rng))
        self.user_messages.append((u, msg))


async def test_random_updates_never_get_the_error_reply(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    config = make_config(tmp_path, staff={"admins": [STAFF], "chat_id": STAFF_CHAT},
                         bot={"flood": {"messages": 10_000, "seconds": 1}})
    with caplog.at_level(logging.WARNING):
        async with running_bot(tmp_path, config) as h:
            h.api.group(STAFF_CHAT, "Admissions staff")
            fuzzer = Fuzzer(h, rng)
            for i in range(UPDATES):
                await fuzzer.step()
                if i % 100 == 99:  # bounded backlog, and button presses find new keyboards
                    await settle(h, timeout=60)
            await settle(h, timeout=60)

            sent = h.api.sent()
            texts = [r.get("text") or r.get("caption") or "" for r in sent]
            assert len(sent) > UPDATES // 3  # the bot did answer
            assert not [t for t in texts if t in ERROR_REPLIES]
            assert not [t for t in texts if "{???}" in t]
            # What the bot wrote itself (a copied message keeps the student's own text).
            html = [r.get("text") or r.get("caption") or "" for r in sent
                    if (r.get("parse_mode") or "").upper() == "HTML"
                    and r["method"] not in ("copyMessage", "forwardMessage")]
            assert len(html) > len(sent) // 2
            assert not [t for t in html if MARKER in t]  # escaped: &lt;fuzz
            refused = [c for c in h.api.errors() if (c.get("error") or {}).get("error_code")
                       == 400 and "parse" in str(c["error"].get("description", "")).lower()]
            assert not refused, refused[:3]

            # Ordinary questions are answered as before, privately and in a group.
            (reply,) = await ask(h, h.api.user(61_000, "After"), "how much are the fees?")
            assert reply["text"].startswith("<b>Tuition fees</b>")
            mark = h.api.mark()
            await h.api.user(61_001, "After").send_text("@bsmu_test_bot where is bsmu?",
                                                        chat=fuzzer.groups[0])
            (reply,) = await h.api.wait_for(1, chat_id=fuzzer.groups[0].id, since=mark)
            assert reply["text"] not in ERROR_REPLIES
    failures = [r.getMessage()[:300] for r in caplog.records
                if r.levelno >= logging.ERROR and r.name.startswith(("handlers", "aiogram"))]
    assert not failures, failures[:5]
