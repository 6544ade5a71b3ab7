"""The bot's session sends JSON bodies, and still uploads files as multipart."""

from __future__ import annotations

import copy
import json

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.telegram.replies import NO_PREVIEW
from bot.telegram.session import (
    JsonSession,
    PreparedMarkup,
    SendMessageUnread,
    prepare_markup,
)

TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"


def make_bot() -> tuple[Bot, JsonSession]:
    session = JsonSession()
    return Bot(TOKEN, session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML)), session


def test_send_message_body_is_json_with_defaults_resolved():
    bot, session = make_bot()
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="👍", callback_data="v1:up:7")]])
    method = SendMessage(chat_id=42, text="<b>Fees</b> & more", reply_markup=markup,
                         link_preview_options=NO_PREVIEW)
    body = json.loads(session.json_body(bot, method))
    assert body["chat_id"] == 42
    assert body["text"] == "<b>Fees</b> & more"
    assert body["parse_mode"] == "HTML"  # the bot's default, resolved
    assert body["reply_markup"] == {"inline_keyboard": [[
        {"text": "👍", "callback_data": "v1:up:7"}]]}
    assert body["link_preview_options"] == {"is_disabled": True}
    assert "message_thread_id" not in body  # None is left out, not sent as null


def test_uploads_fall_back_to_multipart():
    bot, session = make_bot()
    method = SendDocument(chat_id=42, document=BufferedInputFile(b"x", filename="a.txt"))
    assert session.json_body(bot, method) is None


def _keyboard(data: str = "v1:up:7") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="🌐 Site", url="https://www.bsmu.by/")],
        [InlineKeyboardButton(text="👍", callback_data=data)]])


def test_a_prepared_keyboard_is_sent_as_its_json_and_reads_as_the_model():
    bot, session = make_bot()
    plain = _keyboard()
    prepared = prepare_markup(plain)
    assert type(prepared) is PreparedMarkup
    assert prepared == plain and plain == prepared  # the same keyboard
    assert prepared.request_json == {"inline_keyboard": [
        [{"text": "🌐 Site", "url": "https://www.bsmu.by/"}],
        [{"text": "👍", "callback_data": "v1:up:7"}]]}
    bodies = [session.json_body(bot, SendMessage(chat_id=42, text="Fees", reply_markup=m,
                                                 link_preview_options=NO_PREVIEW))
              for m in (plain, prepared)]
    assert json.loads(bodies[0]) == json.loads(bodies[1])
    # What is sent is the JSON it carries (its maker vouches that it is the model's).
    prepared.with_json({"inline_keyboard": [[{"text": "x", "callback_data": "marker"}]]})
    body = json.loads(session.json_body(bot, SendMessage(chat_id=42, text="Fees",
                                                         reply_markup=prepared)))
    assert body["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "marker"
    # Any other session serialises the model, as aiogram does.
    form = AiohttpSession().build_form_data(bot, SendMessage(chat_id=42, text="Fees",
                                                             reply_markup=prepared))
    field = next(f for f in form._fields if f[0]["name"] == "reply_markup")
    assert json.loads(field[2]) == json.loads(bodies[0])["reply_markup"]


@pytest.mark.parametrize("make_copy", [
    lambda m: m.model_copy(update={"inline_keyboard": [[InlineKeyboardButton(
        text="👎", callback_data="v1:down:7")]]}),
    lambda m: m.model_copy(deep=True), copy.copy, copy.deepcopy])
def test_a_copy_of_a_prepared_keyboard_is_sent_as_its_own_buttons(make_copy):
    bot, session = make_bot()
    prepared = prepare_markup(_keyboard())
    copied = make_copy(prepared)
    assert copied.request_json is None and prepared.request_json is not None
    body = json.loads(session.json_body(bot, SendMessage(chat_id=1, text="x",
                                                         reply_markup=copied)))
    assert body["reply_markup"] == copied.model_dump(exclude_none=True)


def test_a_keyboard_with_values_that_are_not_plain_json_is_not_prepared():
    markup = InlineKeyboardMarkup.model_construct(inline_keyboard=[[
        InlineKeyboardButton.model_construct(text="x", callback_data=object())]])
    assert prepare_markup(markup).request_json is None


def test_bodies_are_utf8_and_a_lone_surrogate_is_escaped_as_aiogram_does():
    bot, session = make_bot()
    body = session.json_body(bot, SendMessage(chat_id=1, text="Стоимость обучения"))
    assert "Стоимость обучения".encode() in body
    assert json.loads(body)["text"] == "Стоимость обучения"
    odd = session.json_body(bot, SendMessage(chat_id=1, text="a\ud800b"))
    assert b"\\ud800" in odd and json.loads(odd)["text"] == "a\ud800b"


def test_an_unread_reply_is_accepted_unparsed_and_refusals_raise_as_for_send_message():
    bot, session = make_bot()
    unread = SendMessageUnread(chat_id=1, text="x")
    ok = '{"ok":true,"result":{"message_id":1}}'  # not even a valid Message: not read
    assert session.check_response(bot, unread, 200, ok).result is None
    # SendMessage reads the same body, and finds it is not a Message
    read = SendMessage(chat_id=1, text="x")
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
    full = json.dumps({"ok": True, "result": message})
    assert isinstance(session.check_response(bot, read, 200, full).result, Message)
    for status, body, error in [
            (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was "
                   "blocked by the user"}, TelegramForbiddenError),
            (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not "
                   "found"}, TelegramBadRequest),
            (200, {"ok": False, "error_code": 400, "description": "Bad Request: odd"},
             TelegramAPIError)]:
        for method in (unread, read):
            with pytest.raises(error):
                session.check_response(bot, method, status, json.dumps(body))


def _methods() -> list:
    from datetime import datetime, timedelta

    from aiogram.methods import (
        AnswerCallbackQuery,
        BanChatMember,
        CopyMessage,
        EditMessageReplyMarkup,
        EditMessageText,
        GetUpdates,
        SendChatAction,
        SetMyCommands,
    )
    from aiogram.types import BotCommand, MessageEntity, ReplyParameters

    markup = _keyboard()
    return [
        SendMessage(chat_id=42, text="Fees"),
        SendMessage(chat_id=42, text="Fees", reply_markup=markup, link_preview_options=NO_PREVIEW,
                    message_thread_id=7, disable_notification=False, parse_mode=None),
        SendMessage(chat_id="@channel", text="x", entities=[
            MessageEntity(type="bold", offset=0, length=1)]),
        SendMessage(chat_id=42, text="x", reply_parameters=ReplyParameters(
            message_id=5, allow_sending_without_reply=True)),
        SendMessage(chat_id=42, text="x", unknown_field="kept"),  # an extra field
        SendMessageUnread(chat_id=42, text="x", reply_markup=prepare_markup(markup)),
        EditMessageText(chat_id=42, message_id=3, text="y", reply_markup=markup),
        EditMessageReplyMarkup(chat_id=42, message_id=3, reply_markup=markup),
        AnswerCallbackQuery(callback_query_id="q1", text="Gone", show_alert=True),
        SendChatAction(chat_id=42, action="typing"),
        CopyMessage(chat_id=1, from_chat_id=2, message_id=3),
        BanChatMember(chat_id=-100, user_id=5,
                      until_date=datetime(2030, 1, 1) + timedelta(seconds=1)),
        GetUpdates(offset=10, timeout=30, allowed_updates=["message", "callback_query"]),
        SetMyCommands(commands=[BotCommand(command="start", description="Start")]),
    ]


@pytest.mark.parametrize("method", _methods(), ids=lambda m: type(m).__name__)
def test_bodies_read_off_the_fields_are_what_pydantic_dumps(method):
    from bot.telegram.session import _fields

    bot, session = make_bot()
    dumped = method.model_dump(warnings=False, exclude_none=True)
    assert _fields(method) == dumped
    assert _fields(method, skip="reply_markup") == {k: v for k, v in dumped.items()
                                                    if k != "reply_markup"}
    expected = session._prepare(dumped, bot, {})
    assert json.loads(session.json_body(bot, method)) == json.loads(json.dumps(expected))
