"""FastDispatcher (bot.telegram.dispatch) routes every event exactly as aiogram's Dispatcher
does: the same handler, with the same data, for the same router tree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.filters import Command, CommandStart, Filter
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.telegram.dispatch import FastDispatcher

TOKEN = "123456:TESTtestTESTtestTESTtestTESTtest123"
SEEN = ("event_router", "handler", "command", "flag", "root", "inner", "outer", "tag", "n")


class Tag(Filter):
    """Passes (with data) when the text contains ``word``."""

    def __init__(self, word: str, **data: Any) -> None:
        self.word, self.data = word, data

    async def __call__(self, message: Message, n: int = 0) -> bool | dict:
        if self.word not in (message.text or ""):
            return False
        return self.data or True


class Counted(Filter):
    """A root filter that counts its calls and passes (with data) for the admin's id."""

    calls = 0

    async def __call__(self, message: Message) -> bool | dict:
        Counted.calls += 1
        return {"root": "admin"} if message.from_user and message.from_user.id == 5 else False


class Inner(BaseMiddleware):
    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, handler, event, data):
        data["inner"] = data.get("inner", "") + self.name
        return await handler(event, data)


class Outer(BaseMiddleware):
    async def __call__(self, handler, event, data):
        data["outer"] = "yes"
        if "block" in (getattr(event, "text", "") or ""):
            return "blocked"
        return await handler(event, data)


def build(cls: type[Dispatcher]) -> Dispatcher:
    def record(name: str):
        async def handler(event, **data) -> Any:
            if "skip-" + name in (getattr(event, "text", "") or ""):
                raise SkipHandler
            return (name, {k: (v.name if isinstance(v, Router) else
                               v.callback.__name__ if k == "handler" else
                               getattr(v, "command", v))
                           for k, v in data.items() if k in SEEN})
        handler.__name__ = name
        return handler

    dp = cls(n=7)
    # Only commands, below a root filter, with a sub-router of commands (one a "!" prefix):
    admin = Router(name="admin")
    admin.message.filter(Counted())
    admin.message.middleware(Inner("a"))
    admin.message.register(record("admin_stats"), Command("stats"), Tag("stats"))
    admin_more = Router(name="admin_more")
    admin_more.message.register(record("admin_ban"), Command("ban", prefix="!"))
    admin.include_router(admin_more)
    commands = Router(name="commands")
    commands.message.register(record("start"), CommandStart())
    commands.message.register(record("help"), Command("help", "h", prefix="/!"))
    staff = Router(name="staff")
    staff.message.filter(Tag("staff", root="staff"))
    staff.message.middleware(Inner("s"))
    staff.message.register(record("staff_cmd"), Command("reload"))
    staff.message.register(record("staff_tag"), Tag("x", tag="x"), Tag("y"))
    nested = Router(name="nested")
    nested.message.middleware(Inner("n"))
    nested.message.register(record("nested"), Tag("deep", flag=1))
    staff.include_router(nested)
    guarded = Router(name="guarded")
    guarded.message.outer_middleware(Outer())
    guarded.message.register(record("guarded"), Tag("guard"))
    text = Router(name="text")
    text.message.register(record("first"), Tag("a", tag="a"), Tag("b", tag="b"))
    text.message.register(record("magic"), F.text == "magic")
    text.message.register(record("sync"), lambda m: (m.text or "").startswith("sync"))
    text.message.register(record("any_text"), F.text)
    text.callback_query.register(record("callback"))
    rest = Router(name="rest")
    rest.message.register(record("rest"))
    dp.include_routers(admin, commands, staff, guarded, text, rest)
    return dp


def message(text: str | None, caption: str | None = None) -> Update:
    return Update(update_id=1, message=Message(
        message_id=1, date=dt.datetime(2026, 1, 1), text=text, caption=caption,
        chat=Chat(id=5, type="private"), from_user=User(id=5, is_bot=False, first_name="A")))


TEXTS = ["/stats", "!ban", "/ban", "!stats x", "/stats@this_bot", "/stats@other_bot",
         "/start", "/start payload", "  /help me", "!h", "/h@other_bot x", "/help@this_bot",
         "/reload",
         "staff /reload", "/reload staff", "staff x y", "staff x", "staff deep",
         "staff deep skip-nested", "guard", "block guard", "a b", "a", "b a skip-first",
         "magic", "sync it", "plain", "", "   ", "skip-any_text", "skip-any_text skip-rest",
         None]


def offline_bot() -> Bot:
    bot = Bot(TOKEN)
    bot._me = User(id=123456, is_bot=True, first_name="B", username="this_bot")  # no getMe
    return bot


@pytest.mark.parametrize("text", TEXTS)
async def test_same_handler_and_data_as_aiogram(text: str | None) -> None:
    bot = offline_bot()
    try:
        for update in (message(text), message(None, caption=text)):
            expected = await build(Dispatcher).feed_update(bot, update)
            got = await build(FastDispatcher).feed_update(bot, update)
            assert got == expected, text
    finally:
        await bot.session.close()


async def test_routers_of_commands_only_are_passed_over_for_other_text() -> None:
    bot = offline_bot()
    try:
        fast = build(FastDispatcher)
        Counted.calls = 0
        assert (await fast.feed_update(bot, message("plain")))[0] == "any_text"
        assert (await fast.feed_update(bot, message(None, caption="plain")))[0] == "rest"
        assert Counted.calls == 0  # the admin router's root filter was not even run
        assert (await fast.feed_update(bot, message("!ban")))[0] == "admin_ban"
        assert Counted.calls == 1
        Counted.calls = 0
        await build(Dispatcher).feed_update(bot, message("plain"))
        assert Counted.calls == 1  # aiogram runs it, and it changes nothing
    finally:
        await bot.session.close()


async def test_other_update_types_and_unhandled() -> None:
    bot = offline_bot()
    try:
        user = User(id=5, is_bot=False, first_name="A")
        query = Update(update_id=2, callback_query=CallbackQuery(
            id="1", from_user=user, chat_instance="c", data="d"))
        for update in (query,):
            assert (await build(FastDispatcher).feed_update(bot, update)
                    == await build(Dispatcher).feed_update(bot, update))
        empty = FastDispatcher()
        empty.include_router(Router())
        assert await empty.feed_update(bot, message("hi")) is UNHANDLED
    finally:
        await bot.session.close()
