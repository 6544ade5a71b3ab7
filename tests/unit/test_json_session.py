"""The bot's session sends JSON bodies, and still uploads files as multipart."""

from __future__ import annotations

import json

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.replies import NO_PREVIEW
from bot.telegram.session import JsonSession

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
