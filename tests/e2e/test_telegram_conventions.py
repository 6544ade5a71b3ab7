"""Telegram conventions end to end, over HTTP against the fake Bot API: deep links (``/start
<payload>``), URL buttons, the description, short description and command menu set at
start-up, and ``bot link`` asking getMe."""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import SecretStr

from bot.app.links import cmd_link
from bot.fakeapi import FakeUser
from bot.i18n import Translator
from tests.support.harness import TOKEN, Harness, ask, buttons, make_config, running_bot, settle

pytestmark = pytest.mark.asyncio(loop_scope="module")

_ids = itertools.count(70_001)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path_factory.mktemp("conventions")) as harness:
        yield harness


def new_user(h: Harness, language_code: str | None = "en") -> FakeUser:
    return h.api.user(next(_ids), first_name="Ann", language_code=language_code)


def keyboard(record: dict) -> list[tuple[str, str]]:
    """Every button as (label, url or callback data with the question id left out)."""
    out = []
    for b in buttons(record):
        data = b.get("url") or b["callback_data"]
        out.append((b["text"], data.rsplit(":", 1)[0] if "callback_data" in b else data))
    return out


# --- deep links ------------------------------------------------------------------------------


async def test_deep_link_opens_the_answer_as_if_asked(h: Harness) -> None:
    fees = h.app.services.knowledge.kb.entries["tuition.fees"]
    user = new_user(h)
    (asked,) = await ask(h, user, "How much is the tuition fee?")
    (linked,) = await ask(h, user, "/start tuition-fees")
    assert linked["text"] == asked["text"] == fees.answer_in("en").strip()
    assert keyboard(linked) == keyboard(asked)
    assert "🏠 Main menu" in [label for label, _ in keyboard(linked)]
    await settle(h)
    assert h.api.sent(user.id)[-1] is linked  # the answer only: no welcome besides


async def test_deep_link_answers_in_the_students_language(h: Harness) -> None:
    fees = h.app.services.knowledge.kb.entries["tuition.fees"]
    user = new_user(h, "ru-RU")
    (msg,) = await ask(h, user, "/start tuition-fees")
    assert msg["text"] == fees.answer_in("ru").strip()
    assert "🏠 Главное меню" in [b["text"] for b in buttons(msg)]


async def test_deep_link_by_alias(h: Harness) -> None:
    kb = h.app.services.knowledge.kb
    assert "fees" in kb.entries["tuition.fees"].aliases  # shipped in knowledge/tuition.yaml
    user = new_user(h)
    (msg,) = await ask(h, user, "/start fees")
    assert msg["text"] == kb.entries["tuition.fees"].answer_in("en").strip()
    (msg,) = await ask(h, user, "/start contacts")
    assert msg["text"] == kb.entries["contacts.admissions"].answer_in("en").strip()


@pytest.mark.parametrize("payload", ["no-such-topic", "tuition.fees", "x" * 80, "<b>"])
async def test_unknown_or_malformed_deep_link_gets_the_welcome(h: Harness,
                                                               payload: str) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, f"/start {payload}")
    assert msg["text"].startswith("👋 Hello, Ann!")
    assert "About BSMU" in [b["text"] for b in buttons(msg)]
    await settle(h)
    assert len(h.api.sent(user.id)) == 1  # nothing else: no error, no "unknown" notice


# --- URL buttons -----------------------------------------------------------------------------


async def test_answer_pointing_to_the_website_has_a_url_button(h: Harness) -> None:
    for lang in ("en", "ru"):
        user = new_user(h, lang)
        (msg,) = await ask(h, user, "/start contacts-admissions")
        first = buttons(msg)[0]
        assert first == {"text": "🌐 bsmu.by", "url": "https://www.bsmu.by"}
        # The callback buttons are all still there, after it.
        assert all("callback_data" in b for b in buttons(msg)[1:])


async def test_answer_without_a_link_has_no_url_button(h: Harness) -> None:
    kb = h.app.services.knowledge.kb
    assert "href" not in kb.entries["smalltalk.thanks"].answer_in("en")
    (msg,) = await ask(h, new_user(h), "/start smalltalk-thanks")
    assert not any("url" in b for b in buttons(msg))


async def test_fallback_has_a_button_to_the_website(h: Harness) -> None:
    (msg,) = await ask(h, new_user(h), "qwzx vbnm plkj")
    assert msg["text"].startswith("Sorry, I don't know the answer to that.")
    assert buttons(msg)[0] == {"text": "🌐 www.bsmu.by", "url": "https://www.bsmu.by"}


# --- the bot's profile -------------------------------------------------------------------------


async def test_description_short_description_and_menu_are_set_at_start_up(h: Harness) -> None:
    await h.api.wait_for_call("setMyShortDescription", since=0,
                              predicate=lambda c: c["params"].get("language_code") == "ru")
    t = Translator()
    settings = h.api.settings
    for code, lang in (("", "en"), ("ru", "ru")):
        assert settings[("description", code)] == t.get(lang, "bot-description")
        assert settings[("short_description", code)] == t.get(lang, "bot-short-description")
        menu = h.api.commands[("default", code)]
        human = next(c for c in menu if c["command"] == "human")
        assert human["description"] == t.get(lang, "cmd-human")
    assert "BSMU" in settings[("description", "")]
    assert "БГМУ" in settings[("description", "ru")]
    # What a user with another language sees: the default (English) texts.
    me = await h.bot.get_my_description(language_code="de")
    assert me.description == t.get("en", "bot-description")
    short = await h.bot.get_my_short_description(language_code="ru")
    assert short.short_description == t.get("ru", "bot-short-description")


async def test_help_lists_human(h: Harness) -> None:
    (msg,) = await ask(h, new_user(h, "ru"), "/help")
    assert "/human — спросить сотрудника приёмной комиссии" in msg["text"]


# --- bot link ----------------------------------------------------------------------------------


async def test_bot_link_asks_getme_for_the_username(h: Harness,
                                                    capsys: pytest.CaptureFixture) -> None:
    config = make_config(Path("/nonexistent"), telegram={"api_server": h.api.base_url})
    config = config.model_copy(update={"token": SecretStr(TOKEN)})
    args = argparse.Namespace(entry="tuition.fees", username=None, knowledge=None)
    assert await asyncio.to_thread(cmd_link, args, config) == 0
    assert capsys.readouterr().out == "https://t.me/bsmu_test_bot?start=tuition-fees\n"
    await h.api.wait_for_call("getMe", since=0)


async def test_bot_link_with_telegram_unreachable_is_one_line(
        capsys: pytest.CaptureFixture) -> None:
    config = make_config(Path("/nonexistent"), telegram={"api_server": "http://127.0.0.1:9"})
    config = config.model_copy(update={"token": SecretStr(TOKEN)})
    args = argparse.Namespace(entry="fees", username=None, knowledge=None)
    assert await asyncio.to_thread(cmd_link, args, config) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("error: could not ask Telegram for the bot's username (getMe: ")
    assert out.err.endswith("check the network, or pass --username NAME\n")
    assert out.err.count("\n") == 1 and "Traceback" not in out.err
