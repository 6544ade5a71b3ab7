"""Telegram conventions without a network: deep-link payloads and aliases, URL buttons, the
bot's profile texts, "typing…" only for slow answers, ``bot link --username``."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiogram.methods import (
    SendChatAction,
    SendMessage,
    SetMyCommands,
    SetMyDescription,
    SetMyShortDescription,
)

import handlers.questions
from bot.app import cli
from bot.app.factory import COMMANDS, App, build_app
from bot.i18n import LANGUAGES, Translator
from bot.knowledge import load_knowledge
from bot.knowledge.deeplinks import entry_for, is_payload, link, payload_of
from bot.telegram import profile
from bot.text.tghtml import links
from bot.ui import keyboards
from tests.support.harness import make_config
from tests.support.kb import CATEGORIES, ENTRIES, KNOWLEDGE, write_kb
from tests.support.telegram import MockedBot, message_update


@pytest.fixture(scope="module")
def kb():
    kb, _ = load_knowledge(KNOWLEDGE)
    return kb


# --- deep-link payloads ------------------------------------------------------------------------


def test_every_shipped_entry_has_a_deep_link_that_opens_it(kb) -> None:
    for entry in kb.entries.values():
        payload = payload_of(entry.id)
        assert is_payload(payload), f"{entry.id}: {payload!r} is not a valid start parameter"
        assert entry_for(kb, payload) is entry
        for alias in entry.aliases:
            assert entry_for(kb, alias) is entry


def test_payload_mapping() -> None:
    assert payload_of("tuition.fees") == "tuition-fees"
    assert payload_of("student_life.health_insurance") == "student_life-health_insurance"
    assert link("@bsmu_bot", "tuition-fees") == "https://t.me/bsmu_bot?start=tuition-fees"


@pytest.mark.parametrize("payload", ["tuition-fees", "Tuition-Fees", "fees", "FEES"])
def test_payloads_and_aliases_resolve_in_any_case(kb, payload: str) -> None:
    assert entry_for(kb, payload) is kb.entries["tuition.fees"]


@pytest.mark.parametrize("payload", ["", "nope", "tuition.fees", "tuition fees", "fees!",
                                     "../tuition-fees", "tuition-" + "x" * 60, "тариф"])
def test_unknown_or_malformed_payloads_open_nothing(kb, payload: str) -> None:
    assert entry_for(kb, payload) is None


def _with_aliases(tmp_path: Path, about: str, dorm: str) -> Path:
    entries = ENTRIES.replace("    related: [housing.dormitory]\n",
                              f"    related: [housing.dormitory]\n    aliases: {about}\n")
    entries = entries.replace("    verified: false\n", f"    verified: false\n"
                              f"    aliases: {dorm}\n")
    return write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": entries})


def _problems(directory: Path, level: str = "error") -> list[str]:
    """Problems of one level, leaving out the small KB's missing required topics."""
    _, problems = load_knowledge(directory, strict=False)
    return [str(p).replace(f"{directory}/", "") for p in problems
            if p.level == level and "required topic" not in p.message]


def test_good_aliases_load_and_resolve(tmp_path: Path) -> None:
    d = _with_aliases(tmp_path, "[bsmu, About_BSMU]", "[dorm, hostel-2026]")
    kb, _ = load_knowledge(d)
    assert _problems(d) == [] and _problems(d, "warning") == []
    assert entry_for(kb, "hostel-2026") is kb.entries["housing.dormitory"]
    assert entry_for(kb, "about_bsmu") is kb.entries["about.overview"]


@pytest.mark.parametrize(("alias", "message"), [
    ('"tuition fees"', "'tuition fees' cannot be a deep link: only A-Z a-z 0-9 _ -"),
    ("fees.2026", "'fees.2026' cannot be a deep link"),
    ("'сроки'", "'сроки' cannot be a deep link"),
    ('""', "'' cannot be a deep link"),
    ("x" * 65, "is 65 characters; a deep link allows at most 64"),
])
def test_bad_alias_is_an_error_with_file_and_line(tmp_path: Path, alias: str,
                                                  message: str) -> None:
    d = _with_aliases(tmp_path, "[bsmu]", f"[dorm, {alias}]")
    (error,) = _problems(d)
    # entries.yaml line 23 is the dormitory's "aliases:" line
    assert error.startswith("entries.yaml:23: [housing.dormitory] error: aliases.1: ")
    assert message in error


def test_alias_taken_by_another_entry_is_an_error(tmp_path: Path) -> None:
    d = _with_aliases(tmp_path, "[bsmu, dorm]", "[Dorm]")
    (error,) = _problems(d)
    assert error.startswith("entries.yaml:13: [housing.dormitory] error: alias 'Dorm' is "
                            "already the alias of about.overview (entries.yaml:2)")


def test_alias_that_is_another_entrys_deep_link_is_an_error(tmp_path: Path) -> None:
    d = _with_aliases(tmp_path, "[housing-dormitory]", "[dorm]")
    (error,) = _problems(d)
    assert error.startswith("entries.yaml:2: [about.overview] error: alias "
                            "'housing-dormitory' is already the deep link of housing.dormitory")


def test_alias_repeating_the_own_link_is_a_warning(tmp_path: Path) -> None:
    d = _with_aliases(tmp_path, "[about-overview]", "[dorm, dorm]")
    assert _problems(d) == []
    assert [w.split(" warning: ")[1] for w in _problems(d, "warning")] == [
        "alias 'about-overview' is repeated or is the entry's own deep link",
        "alias 'dorm' is repeated or is the entry's own deep link"]


def test_an_id_too_long_for_a_deep_link_is_a_warning(tmp_path: Path) -> None:
    long_id = "housing." + "d" * 60
    entries = ENTRIES.replace("housing.dormitory", long_id)
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": entries})
    assert any(f"[{long_id}] warning: the id is longer than a deep link allows" in w
               for w in _problems(d, "warning"))


# --- URL buttons -----------------------------------------------------------------------------


def test_links_of_an_answer() -> None:
    text = ('See <a href="https://www.bsmu.by">bsmu.by</a>, <b>or</b> '
            "<a href='https://www.bsmu.by/en/fees?a=1&amp;b=2'><b>the fees</b> page</a>, "
            '<a href="https://www.bsmu.by">again</a>, <a href="tg://resolve?domain=x">tg</a>, '
            '<a href="mailto:x@example.org">mail</a>.')
    assert links(text) == [("https://www.bsmu.by", "bsmu.by"),
                           ("https://www.bsmu.by/en/fees?a=1&b=2", "the fees page")]


def test_url_buttons_title_and_limit() -> None:
    text = ('<a href="https://www.bsmu.by">https://www.bsmu.by</a> '
            '<a href="http://example.org/x">Example</a> <a href="https://third.org">third</a>')
    buttons = keyboards.url_buttons(text)
    assert [(b.text, b.url) for b in buttons] == [("🌐 bsmu.by", "https://www.bsmu.by"),
                                                  ("🌐 Example", "http://example.org/x")]
    assert keyboards.url_buttons("no links <b>here</b>") == []


def test_answer_with_a_link_gets_a_url_button_first(kb) -> None:
    t = Translator().for_lang
    for lang in LANGUAGES:
        entry = kb.entries["contacts.admissions"]
        rows = keyboards.answer_keyboard(entry, kb, lang, t(lang), question_id=5).inline_keyboard
        assert [(b.text, b.url) for b in rows[0]] == [("🌐 bsmu.by", "https://www.bsmu.by")]
        assert all(b.callback_data for row in rows[1:] for b in row)  # the rest as before
    linked = [e for e in kb.entries.values() if links(e.answer_in("en"))]
    assert len(linked) > 20  # most shipped answers point to the website
    for entry in kb.entries.values():
        for lang in LANGUAGES:
            markup = keyboards.answer_keyboard(entry, kb, lang, t(lang), category="about")
            urls = [b.url for row in markup.inline_keyboard for b in row if b.url]
            assert urls == [h for h, _ in links(entry.answer_in(lang))][:2]
            assert sum(len(r) for r in markup.inline_keyboard) <= 100
            assert all(len(r) <= 8 for r in markup.inline_keyboard)


def test_fallback_points_to_the_website_with_a_button() -> None:
    t = Translator().for_lang("ru")
    text = t("fallback", website="https://www.bsmu.by", website_host="www.bsmu.by")
    rows = keyboards.fallback_keyboard(t, 7, text).inline_keyboard
    assert [(b.text, b.url) for b in rows[0]] == [("🌐 www.bsmu.by", "https://www.bsmu.by")]
    assert [b.text for row in rows[1:] for b in row] == [t("btn-ask-team"), t("btn-main-menu")]
    # A website configured without a scheme is no link Telegram could open: no button.
    text = t("fallback", website="bsmu.by", website_host="bsmu.by")
    assert all(b.callback_data for row in keyboards.fallback_keyboard(t, 7, text).inline_keyboard
               for b in row)


def test_news_item_keyboard_opens_the_items_page() -> None:
    t = Translator().for_lang("en")
    text = ('<b>Title</b>\n\nBody.\n\n'
            '🔗 <a href="https://www.bsmu.by/news/1">Read on the website</a>')
    rows = keyboards.news_item_keyboard(t, "en", page=0, text=text).inline_keyboard
    assert [(b.text, b.url) for b in rows[0]] == [("🌐 Read on the website",
                                                   "https://www.bsmu.by/news/1")]
    assert [b.text for b in rows[1]] == [t("btn-news-back"), t("btn-news-subscribe")]
    no_link = keyboards.news_item_keyboard(t, "en", page=0, text="<b>Title</b>")
    assert not any(b.url for row in no_link.inline_keyboard for b in row)


def test_a_link_that_is_no_web_address_is_an_error(tmp_path: Path) -> None:
    entries = ENTRIES.replace("Ask the admissions office about places in the dormitory.",
                              'See <a href=\\"https:/bsmu.by\\">the site</a>.')
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": entries})
    (error,) = _problems(d)
    assert "[housing.dormitory] error: answer.en: link 'https:/bsmu.by' is not a web address" \
        in error


# --- the bot's profile: command menu and descriptions --------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_profile_texts_fit_telegrams_limits(lang: str) -> None:
    menu, description, short = profile.texts(Translator(), lang, COMMANDS)
    translator = Translator()
    assert description == translator.get(lang, "bot-description")  # not cut
    assert short == translator.get(lang, "bot-short-description")
    assert 0 < len(description) <= 512 and 0 < len(short) <= 120
    assert "<" not in description + short  # plain text: no parse mode for descriptions
    assert "human" in [c.command for c in menu]
    assert all(1 <= len(c.description) <= 256 for c in menu)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_mentions_human(lang: str) -> None:
    assert "/human — " in Translator().get(lang, "help")


async def test_set_profile_sets_menu_and_descriptions_in_both_languages() -> None:
    bot = MockedBot()
    assert await profile.set_profile(bot, Translator(), COMMANDS) is True
    calls = [(type(r).__name__, r.language_code) for r in bot.requests]
    assert calls == [(name, code) for code in (None, "ru")
                     for name in ("SetMyCommands", "SetMyDescription", "SetMyShortDescription")]
    ru = [r for r in bot.requests if r.language_code == "ru"]
    assert isinstance(ru[1], SetMyDescription) and "БГМУ" in ru[1].description
    assert isinstance(ru[2], SetMyShortDescription) and "БГМУ" in ru[2].short_description
    assert isinstance(ru[0], SetMyCommands) and ru[0].commands[3].command == "human"


async def test_other_languages_get_the_default_languages_profile() -> None:
    bot = MockedBot()
    assert await profile.set_profile(bot, Translator(), COMMANDS, default="ru") is True
    default = [r for r in bot.requests if r.language_code is None]
    assert {type(r) for r in default} == {SetMyCommands, SetMyDescription,
                                          SetMyShortDescription}
    assert all("БГМУ" in r.description for r in default if isinstance(r, SetMyDescription))
    assert {r.language_code for r in bot.requests} == {None, "en"}


async def test_set_profile_failure_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    bot = MockedBot()
    bot.session.add_ok()
    bot.session.add_error(400, "Bad Request: description is too long")
    with caplog.at_level(logging.WARNING, logger="bot.telegram.profile"):
        assert await profile.set_profile(bot, Translator(), COMMANDS) is False
    assert len(bot.requests) == 2  # stopped at the first failure
    (record,) = caplog.records
    assert "could not set the bot's command menu and description" in record.getMessage()
    assert record.exc_info is None


# --- "typing…" while a slow answer is prepared --------------------------------------------------

_ids = itertools.count(95_001)


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    built = await build_app(make_config(tmp_path))
    yield built
    await built.close()


async def _ask(app: App, delay: float, monkeypatch: pytest.MonkeyPatch) -> MockedBot:
    """Ask a question while storing it takes ``delay`` seconds (a slow database)."""
    monkeypatch.setattr(handlers.questions, "TYPING_AFTER", 0.1)
    record = app.services.questions.record

    async def slow_record(**kwargs) -> int:
        await asyncio.sleep(delay)
        return await record(**kwargs)

    monkeypatch.setattr(app.services.questions, "record", slow_record)
    bot = MockedBot()
    uid = next(_ids)
    await app.dispatcher.feed_update(bot, message_update(uid, "Is there a dormitory?"))
    return bot


async def test_typing_is_shown_while_a_slow_answer_is_prepared(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await _ask(app, 0.4, monkeypatch)
    action, answer = bot.requests
    assert isinstance(action, SendChatAction) and action.action == "typing"
    assert action.chat_id == answer.chat_id
    assert isinstance(answer, SendMessage) and "dormitor" in answer.text.lower()


async def test_a_quick_answer_costs_no_chat_action(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await _ask(app, 0, monkeypatch)
    assert [r.__api_method__ for r in bot.requests] == ["sendMessage"]  # no sendChatAction


async def test_a_failed_chat_action_does_not_hold_the_answer(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.telegram.retry import RetryMiddleware

    monkeypatch.setattr(handlers.questions, "TYPING_AFTER", 0.05)
    record = app.services.questions.record

    async def slow_record(**kwargs) -> int:
        await asyncio.sleep(0.3)
        return await record(**kwargs)

    monkeypatch.setattr(app.services.questions, "record", slow_record)
    bot = MockedBot()
    retry = RetryMiddleware(sleep=lambda s: asyncio.sleep(0))
    bot.session.middleware(retry)
    bot.session.add_error(429, "Too Many Requests: retry after 30", retry_after=30)
    await app.dispatcher.feed_update(bot, message_update(next(_ids), "Is there a dormitory?"))
    action, answer = bot.requests  # the chat action was not retried
    assert isinstance(action, SendChatAction) and isinstance(answer, SendMessage)
    assert retry.stats.retry_after_waits == 0


async def test_start_up_survives_a_failing_profile_call(
        app: App, caplog: pytest.LogCaptureFixture) -> None:
    from aiogram.exceptions import TelegramNetworkError

    bot = MockedBot()
    bot.session.add_ok()  # setMyCommands
    bot.session.add_exception(lambda m: TelegramNetworkError(m, "Request timeout error"))
    dp = app.dispatcher
    with caplog.at_level(logging.WARNING, logger="bot.telegram.profile"):
        await dp.emit_startup(**{**dp.workflow_data, "bot": bot})
    assert [type(r) for r in bot.requests] == [SetMyCommands, SetMyDescription]
    assert "Request timeout error" in caplog.text
    await dp.feed_update(bot, message_update(next(_ids), "/start"))
    assert bot.requests[-1].text.startswith("👋 Hello, Ann!")


# --- python -m bot link ------------------------------------------------------------------------


def test_link_command_with_username(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["link", "tuition.fees", "--username", "@bsmu_bot"]) == 0
    assert capsys.readouterr().out == "https://t.me/bsmu_bot?start=tuition-fees\n"
    assert cli.main(["link", "fees", "--username", "bsmu_bot"]) == 0
    assert capsys.readouterr().out == "https://t.me/bsmu_bot?start=fees\n"


def test_link_command_errors_are_one_line(capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["link", "tuition.fee", "--username", "bsmu_bot"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: no entry or alias 'tuition.fee' in the knowledge base "
                   "(did you mean tuition.fees?)\n")
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert cli.main(["link", "tuition.fees"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: BOT_TOKEN is not set: export the token BotFather gave you, "
                   "or pass --username NAME\n")
    assert cli.main(["link", "tuition.fees", "--username", "no way"]) == 2
    assert capsys.readouterr().err == "error: 'no way' is not a Telegram bot username\n"
