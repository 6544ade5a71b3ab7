"""The production dispatcher fed real Update objects, with a mocked Bot API session.

Like aiogram's own test suite (``MockedBot`` from tests/support/telegram.py): its session
records every TelegramMethod the bot calls and answers from a queue, running aiogram's real
response checker, so a queued error raises TelegramRetryAfter / TelegramForbiddenError /
TelegramBadRequest exactly as in production, and the session middlewares (RetryMiddleware)
see it the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    SendMessage,
)
from aiogram.types import Update
from sqlalchemy import select

from bot.app.factory import App, build_app
from bot.db.models import Feedback, Question
from bot.db.models import User as DbUser
from bot.telegram.retry import RetryMiddleware
from bot.ui.callbacks import Nav, Pick, SetLang, Show, Vote
from tests.support.harness import make_config
from tests.support.telegram import (
    MockedBot,
    callback_datas,
    callback_update,
    message_update,
    texts,
    update_ids,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

_ids = itertools.count(90_001)


# --- a RetryMiddleware that does not really wait -----------------------------------------


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def with_retry(bot: MockedBot, **kwargs: Any) -> tuple[RetryMiddleware, FakeSleep]:
    sleep = FakeSleep()
    mw = RetryMiddleware(sleep=sleep, **kwargs)
    bot.session.middleware(mw)
    return mw, sleep


# --- fixtures ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    """The production App (KB, migrated SQLite, dispatcher), shared: tests use own user ids."""
    root: Path = tmp_path_factory.mktemp("unit")
    built = await build_app(make_config(root))
    yield built
    await built.close()


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


async def feed(app: App, bot: MockedBot, update: Update) -> Any:
    return await app.dispatcher.feed_update(bot, update)


# --- handlers ---------------------------------------------------------------------------------


async def test_start_sends_welcome_with_topic_menu(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "/start"))
    (req,) = bot.requests
    assert isinstance(req, SendMessage) and req.chat_id == uid
    assert req.text.startswith("👋 Hello, Ann!")
    datas = callback_datas(req.reply_markup)
    kb = app.services.knowledge.kb
    visible = [c.id for c in kb.ordered_categories() if kb.in_category(c.id)]
    assert [Nav.unpack(d).cat for d in datas] == visible


async def test_help_and_menu_follow_the_client_language(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "/help", language_code="ru-RU"))
    await feed(app, bot, message_update(uid, "/menu", language_code="ru-RU"))
    help_, menu = bot.requests
    assert help_.text.startswith("<b>Чем я могу помочь</b>")
    assert menu.text == "Выберите тему:"


async def test_free_text_answer_and_record(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "Is there a dormitory?"))
    (req,) = bot.requests
    entry = app.services.knowledge.kb.entries["accommodation.dormitory"]
    assert req.text == entry.answer_in("en").strip()
    async with app.services.sessionmaker() as s:
        (q,) = (await s.scalars(select(Question).where(Question.user_id == uid))).all()
    votes = [Vote.unpack(d) for d in callback_datas(req.reply_markup) if d.startswith("v1:")]
    assert [(v.entry, v.up, v.q) for v in votes] == [(entry.id, True, q.id),
                                                      (entry.id, False, q.id)]
    assert (q.outcome, q.matched_id) == ("answered", entry.id)


async def test_vote_callback_is_answered_and_stored(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "/start"))  # the user exists
    up = Vote(entry="visa.process", up=True).pack()
    await feed(app, bot, callback_update(uid, up, message_id=501))
    await feed(app, bot, callback_update(uid, up, message_id=501))
    first, second = bot.requests[1:]
    assert isinstance(first, AnswerCallbackQuery) and isinstance(second, AnswerCallbackQuery)
    assert first.text == "Thank you for your feedback!"
    assert second.text == "Your vote is already counted."
    async with app.services.sessionmaker() as s:
        rows = (await s.scalars(select(Feedback).where(Feedback.user_id == uid))).all()
    assert [(f.entry_id, f.vote, f.message_id) for f in rows] == [("visa.process", 1, 501)]


async def test_category_is_shown_by_editing_the_menu(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, callback_update(uid, Nav(cat="admission").pack(), message_id=88))
    answer, edit = bot.requests
    assert isinstance(answer, AnswerCallbackQuery) and answer.text is None
    assert isinstance(edit, EditMessageText)
    assert (edit.chat_id, edit.message_id) == (uid, 88)
    assert edit.text == "<b>Admission</b>: choose a question"
    shows = [Show.unpack(d) for d in callback_datas(edit.reply_markup) if d.startswith("s1:")]
    kb = app.services.knowledge.kb
    assert [s.entry for s in shows] == [e.id for e in kb.in_category("admission")]
    assert {s.cat for s in shows} == {"admission"}


async def test_not_modified_edit_is_silent(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    bot.session.add_ok(True)  # answerCallbackQuery
    bot.session.add_error(400, "Bad Request: message is not modified: specified new message "
                               "content and reply markup are exactly the same")
    await feed(app, bot, callback_update(uid, Nav(cat="admission").pack()))
    # No new message and no "something went wrong": the menu already shows this.
    assert [type(r) for r in bot.requests] == [AnswerCallbackQuery, EditMessageText]


async def test_uneditable_menu_is_sent_anew(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    bot.session.add_ok(True)
    bot.session.add_error(400, "Bad Request: message can't be edited")
    await feed(app, bot, callback_update(uid, Nav().pack()))
    answer, edit, send = bot.requests
    assert isinstance(answer, AnswerCallbackQuery)
    assert isinstance(edit, EditMessageText) and isinstance(send, SendMessage)
    assert send.text == edit.text == "Choose a topic:"
    assert send.reply_markup == edit.reply_markup


@pytest.mark.parametrize("data", ["zzz", "n1:nope::0", "s1:no.such.entry:",
                                  Pick(entry="no.such", q=0).pack(), "l1:fr",
                                  Vote(entry="no.such", up=False).pack()])
async def test_unknown_callback_data_is_out_of_date(app: App, bot: MockedBot,
                                                    data: str) -> None:
    uid = next(_ids)
    await feed(app, bot, callback_update(uid, data))
    (req,) = bot.requests
    assert isinstance(req, AnswerCallbackQuery)
    assert req.show_alert and "out of date" in req.text


async def test_language_choice(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "/language"))
    await feed(app, bot, callback_update(uid, SetLang(lang="ru").pack()))
    await feed(app, bot, message_update(uid, "/help"))
    assert texts(bot) == ["Choose your language:", "✅ Язык: русский.",
                          texts(bot)[-1]]
    assert texts(bot)[-1].startswith("<b>Чем я могу помочь</b>")
    async with app.services.sessionmaker() as s:
        assert (await s.get(DbUser, uid)).language == "ru"


async def test_non_text_message_gets_a_hint(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    await feed(app, bot, message_update(uid, location={"latitude": 53.9, "longitude": 27.5}))
    assert texts(bot) == ["I can only read text messages. Please type your question."]


async def test_group_messages_need_a_mention(app: App, bot: MockedBot) -> None:
    uid, group = next(_ids), -next(_ids)
    await feed(app, bot, message_update(uid, "what are the fees?", chat_id=group))
    await feed(app, bot, message_update(uid, "/frobnicate", chat_id=group))
    assert bot.requests == []
    await feed(app, bot, message_update(uid, "@bsmu_test_bot what are the fees?",
                                        chat_id=group))
    (req,) = bot.requests
    assert req.chat_id == group
    assert req.text == app.services.knowledge.kb.entries["tuition.fees"].answer_in("en").strip()


async def test_handler_error_tells_the_user(app: App, bot: MockedBot,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(app.services.knowledge.engine, "match", boom)
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "visa", language_code="ru"))
    assert texts(bot) == ["Извините, у меня что-то пошло не так. "
                          "Попробуйте ещё раз через минуту."]
    monkeypatch.undo()
    # The failed update's transaction was rolled back, the user row with it; the next
    # update of the same user must still be stored (the user is written again).
    await feed(app, bot, message_update(uid, "visa", language_code="ru"))
    async with app.services.sessionmaker() as s:
        rows = (await s.scalars(select(Question).where(Question.user_id == uid))).all()
    assert [q.text for q in rows] == ["visa"]


async def test_errors_in_a_forum_topic_are_reported_in_the_topic(
        app: App, bot: MockedBot, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(app.services.knowledge.engine, "match", boom)
    uid, forum = next(_ids), -1_000_000_000_000 - next(_ids)
    await feed(app, bot, message_update(uid, "@bsmu_test_bot visa", chat_id=forum,
                                        message_thread_id=12, is_topic_message=True))
    (req,) = bot.requests
    assert (req.chat_id, req.message_thread_id) == (forum, 12)
    assert req.text.startswith("Sorry, something went wrong")


async def test_forbidden_reply_gets_no_error_message(app: App, bot: MockedBot) -> None:
    uid = next(_ids)
    bot.session.add_error(403, "Forbidden: bot was blocked by the user")
    await feed(app, bot, message_update(uid, "/help"))
    assert len(bot.requests) == 1  # no "something went wrong" into a blocked chat


# --- RetryMiddleware --------------------------------------------------------------------------


async def test_retry_after_is_waited_then_sent() -> None:
    bot = MockedBot()
    mw, sleep = with_retry(bot)
    bot.session.add_error(429, "Too Many Requests: retry after 3", retry_after=3)
    msg = await bot.send_message(1, "hello")
    assert msg.text == "hello"
    assert [type(r) for r in bot.requests] == [SendMessage, SendMessage]
    assert sleep.calls == [3]
    assert mw.stats.retry_after_waits == 1


def updates_json(n: int) -> list[dict[str, Any]]:
    return [{"update_id": next(update_ids)} for _ in range(n)]


async def test_polling_lingers_only_after_a_partial_batch() -> None:
    bot = MockedBot()
    now = [100.0]
    _, sleep = with_retry(bot, poll_linger=0.02, clock=lambda: now[0])
    poll = GetUpdates(timeout=30)
    for batch in (0, 1, 3, 100, 5):
        bot.session.add_ok(updates_json(batch))
    await bot(poll)  # first poll: nothing before it
    await bot(poll)  # after an empty poll (a long-poll timeout): at once
    assert sleep.calls == []
    now[0] += 0.005
    await bot(poll)  # 1 update 5 ms ago: wait the other 15 ms
    assert sleep.calls == [pytest.approx(0.015)]
    now[0] += 0.5
    await bot(poll)  # 3 updates, but long ago: at once
    await bot(poll)  # after a full batch (a backlog): at once
    assert sleep.calls == [pytest.approx(0.015)]
    assert [type(r) for r in bot.requests] == [GetUpdates] * 5


async def test_polling_does_not_linger_when_off() -> None:
    bot = MockedBot()
    _, sleep = with_retry(bot, poll_linger=0.0)
    bot.session.add_ok(updates_json(2))
    bot.session.add_ok(updates_json(2))
    await bot(GetUpdates())
    await bot(GetUpdates())
    assert sleep.calls == []


async def test_retry_after_too_long_is_raised() -> None:
    bot = MockedBot()
    mw, sleep = with_retry(bot, max_retry_after=10)
    bot.session.add_error(429, "Too Many Requests: retry after 60", retry_after=60)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "hello")
    assert len(bot.requests) == 1 and sleep.calls == []
    assert mw.stats.gave_up == 1


async def test_flood_control_is_waited_out_not_counted_as_a_failed_attempt() -> None:
    # A reply meeting 429 waits its turn however often Telegram says so (issue 14): the
    # retry count is for failures, not for flood control.
    bot = MockedBot()
    _, sleep = with_retry(bot, retries=2)
    for _ in range(4):
        bot.session.add_error(429, "Too Many Requests: retry after 1", retry_after=1)
    msg = await bot.send_message(1, "hello")
    assert msg.text == "hello"
    assert len(bot.requests) == 5 and sleep.calls == [1, 1, 1, 1]


async def test_flood_control_gives_up_after_max_retry_after_in_all() -> None:
    bot = MockedBot()
    mw, sleep = with_retry(bot, retries=2, max_retry_after=10)
    for _ in range(6):
        bot.session.add_error(429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "hello")
    assert sleep.calls == [3, 3, 3] and len(bot.requests) == 4  # 12 s would be over 10
    assert mw.stats.gave_up == 1


async def test_server_errors_are_retried_with_backoff() -> None:
    bot = MockedBot()
    mw, sleep = with_retry(bot, retries=3, base_delay=0.5)
    bot.session.add_error(500, "Internal Server Error")
    bot.session.add_error(502, "Bad Gateway")
    msg = await bot.send_message(1, "hello")
    assert msg.text == "hello" and len(bot.requests) == 3
    assert len(sleep.calls) == 2
    assert 0.4 <= sleep.calls[0] <= 0.6 and 0.8 <= sleep.calls[1] <= 1.2  # doubling, jitter
    assert mw.stats.server_retries == 2


async def test_server_errors_give_up_after_retries() -> None:
    bot = MockedBot()
    mw, sleep = with_retry(bot, retries=3)
    for _ in range(4):
        bot.session.add_error(500, "Internal Server Error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(1, "hello")
    assert len(bot.requests) == 4 and len(sleep.calls) == 3
    assert mw.stats.gave_up == 1


async def test_network_errors_are_retried() -> None:
    bot = MockedBot()
    _, sleep = with_retry(bot)
    bot.session.add_exception(lambda m: TelegramNetworkError(method=m, message="reset"))
    assert (await bot.send_message(1, "hello")).text == "hello"
    assert len(bot.requests) == 2 and len(sleep.calls) == 1


async def test_bad_request_is_not_retried() -> None:
    bot = MockedBot()
    _, sleep = with_retry(bot, on_forbidden=pytest.fail)
    bot.session.add_error(400, "Bad Request: can't parse entities")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(1, "<b>")
    assert len(bot.requests) == 1 and sleep.calls == []


async def test_get_updates_is_left_to_polling() -> None:
    bot = MockedBot()
    _, sleep = with_retry(bot)
    bot.session.add_error(500, "Internal Server Error")
    with pytest.raises(TelegramServerError):
        await bot(GetUpdates())
    assert len(bot.requests) == 1 and sleep.calls == []


async def test_forbidden_calls_on_forbidden_with_the_chat() -> None:
    bot = MockedBot()
    blocked: list[int] = []

    async def on_forbidden(chat_id: int) -> None:
        blocked.append(chat_id)

    mw, sleep = with_retry(bot, on_forbidden=on_forbidden)
    bot.session.add_error(403, "Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(777, "hello")
    bot.session.add_error(403, "Forbidden: bot was kicked from the group chat")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(-100, "hello")  # a group: not a user to mark
    await mw.drain()
    assert blocked == [777]
    assert len(bot.requests) == 2 and sleep.calls == []
    assert mw.stats.forbidden == 2


async def test_failing_on_forbidden_is_logged_not_raised(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    bot = MockedBot()

    async def on_forbidden(chat_id: int) -> None:
        raise RuntimeError("database down")

    mw, _ = with_retry(bot, on_forbidden=on_forbidden)
    bot.session.add_error(403, "Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(5, "hello")
    await mw.drain()
    assert "could not mark chat 5 as blocked" in caplog.text


async def test_dispatcher_reply_survives_a_429(app: App) -> None:
    bot = MockedBot()
    _, sleep = with_retry(bot)
    uid = next(_ids)
    bot.session.add_error(429, "Too Many Requests: retry after 2", retry_after=2)
    await feed(app, bot, message_update(uid, "/help"))
    first, second = bot.requests
    assert isinstance(first, SendMessage) and isinstance(second, SendMessage)
    assert second.text.startswith("<b>How I can help</b>")
    assert sleep.calls == [2]


async def test_dispatcher_403_marks_the_user_blocked(app: App) -> None:
    """on_forbidden runs while the update's transaction is open: it must not wait for it."""
    bot = MockedBot()
    mw, _ = with_retry(bot, on_forbidden=app.mark_blocked)
    uid = next(_ids)
    await feed(app, bot, message_update(uid, "/help"))  # a known user
    bot.session.add_error(403, "Forbidden: bot was blocked by the user")
    await feed(app, bot, message_update(uid, "what are the fees?"))
    await mw.drain()
    async with app.services.sessionmaker() as s:
        row = await s.get(DbUser, uid)
    assert row.blocked and row.blocked_at is not None
