"""An aiogram-style mocked Bot API, and real ``Update`` objects to feed a dispatcher.

Like aiogram's own test suite: :class:`MockedSession` records every ``TelegramMethod`` the
bot calls and answers from a queue, running aiogram's real response checker, so a queued
error raises ``TelegramRetryAfter`` / ``TelegramForbiddenError`` / ``TelegramBadRequest``
exactly as in production, and the session middlewares (``RetryMiddleware``) see it the same
way::

    bot = MockedBot()
    bot.session.add_error(429, "Too Many Requests: retry after 3", retry_after=3)
    await app.dispatcher.feed_update(bot, message_update(1001, "/start"))
    assert texts(bot) == [...]
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import CopyMessage, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Update, User

BOT_ID = 42
# update_id and message_id of the updates built below (one counter: both just need to be new).
update_ids = itertools.count(1)


# --- the mocked Bot API ---------------------------------------------------------------------


class MockedSession(BaseSession):
    """Records requests; answers each from the queue, or with a plausible success."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.queue: deque[tuple[int, dict[str, Any]] | Callable[[TelegramMethod], Exception]] \
            = deque()
        self._message_ids = itertools.count(5000)

    def add_ok(self, result: Any = None) -> None:
        self.queue.append((200, {"ok": True, "result": result}))

    def add_error(self, error_code: int, description: str, *,
                  retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": error_code,
                                "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.queue.append((error_code, body))

    def add_exception(self, factory: Callable[[TelegramMethod], Exception]) -> None:
        self.queue.append(factory)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:
        self.requests.append(method)
        if self.queue:
            item = self.queue.popleft()
            if callable(item):
                raise item(method)
            status, body = item
            if body.get("ok") and body["result"] is None:
                body = {"ok": True, "result": self._default_result(bot, method)}
        else:
            status, body = 200, {"ok": True, "result": self._default_result(bot, method)}
        response = self.check_response(bot=bot, method=method, status_code=status,
                                       content=json.dumps(body))
        return response.result

    def _default_result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, (SendMessage, EditMessageText)):
            chat_id = int(method.chat_id)
            message_id = getattr(method, "message_id", None) or next(self._message_ids)
            return {"message_id": message_id, "date": 1_700_000_000,
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                    "from": {"id": bot.id, "is_bot": True, "first_name": "BSMU"},
                    "text": method.text}
        if isinstance(method, CopyMessage):
            return {"message_id": next(self._message_ids)}
        if method.__returning__ is bool:
            return True
        raise AssertionError(f"queue a result for {type(method).__name__} in this test")

    async def close(self) -> None:
        pass

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None,
                             timeout: int = 30, chunk_size: int = 65536,
                             raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        yield b""  # pragma: no cover


class MockedBot(Bot):
    session: MockedSession

    def __init__(self) -> None:
        super().__init__(f"{BOT_ID}:TEST", session=MockedSession(),
                         default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        self._me = User(id=BOT_ID, is_bot=True, first_name="BSMU Test Bot",
                        username="bsmu_test_bot")

    @property
    def requests(self) -> list[TelegramMethod[Any]]:
        return self.session.requests


def texts(bot: MockedBot) -> list[str]:
    """The texts the bot sent or edited, in order."""
    return [r.text for r in bot.requests if isinstance(r, (SendMessage, EditMessageText))]


def callback_datas(markup: Any) -> list[str]:
    """The callback data of an inline keyboard's buttons, row by row."""
    assert isinstance(markup, InlineKeyboardMarkup)
    return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]


# --- updates ----------------------------------------------------------------------------------


def user_json(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    obj: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Ann"}
    if language_code:
        obj["language_code"] = language_code
    return obj


def chat_json(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Ann"}
    return {"id": chat_id, "type": "supergroup", "title": "Applicants"}


def message_update(user_id: int, text: str | None = None, *, chat_id: int | None = None,
                   language_code: str | None = "en", **content: Any) -> Update:
    msg: dict[str, Any] = {"message_id": next(update_ids), "date": 1_700_000_000,
                           "chat": chat_json(chat_id or user_id),
                           "from": user_json(user_id, language_code), **content}
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": next(update_ids), "message": msg})


def callback_update(user_id: int, data: str, *, chat_id: int | None = None,
                    message_id: int = 77, text: str = "menu") -> Update:
    chat_id = chat_id or user_id
    message = {"message_id": message_id, "date": 1_700_000_000, "chat": chat_json(chat_id),
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "BSMU"}, "text": text}
    query = {"id": f"q{next(update_ids)}", "from": user_json(user_id),
             "chat_instance": "1", "data": data, "message": message}
    return Update.model_validate({"update_id": next(update_ids), "callback_query": query})
