"""A fake Telegram Bot API server for end-to-end tests, console mode and benchmarks.

Written from the Bot API documentation and independent of any bot framework: the bot under
test connects to ``api.base_url`` instead of https://api.telegram.org and cannot tell the
difference, while the test drives simulated users and inspects what the bot did::

    async with FakeTelegram(token="123456:TEST") as api:
        user = api.user(42, first_name="Ann")
        await user.send_text("/start")
        [reply] = await api.wait_for(1, chat_id=user.id)
        query_id = await user.press(reply, "lang:en")
        await api.wait_callback_answer(query_id)

Point the bot's HTTP session at ``api.base_url`` (with aiogram, a TelegramAPIServer built from
that base URL); files are served under ``/file/bot<token>/``.
"""

from __future__ import annotations

from .errors import ApiError
from .faults import Fault
from .params import Upload
from .render import render_message, render_record
from .server import FakeTelegram
from .state import Chat, Stats
from .users import FakeGroup, FakeUser

__all__ = [
    "ApiError",
    "Chat",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "Fault",
    "Stats",
    "Upload",
    "render_message",
    "render_record",
]
