"""DbSession: an update gets a session made on first use, committed when it wrote, and an
update that never touches it makes none."""

import pytest
from sqlalchemy import select

from bot.db.models import User
from bot.db.users import upsert_user
from bot.telegram.middlewares import DbSession


class Counting:
    def __init__(self, sessions):
        self.sessions = sessions
        self.made = 0

    def __call__(self):
        self.made += 1
        return self.sessions()


async def test_an_update_that_does_not_use_the_session_makes_none(sessions):
    factory = Counting(sessions)
    seen = {}

    async def handler(event, data):
        seen["session"] = data["session"]
        return "done"

    assert await DbSession(factory)(handler, object(), {}) == "done"
    assert factory.made == 0
    assert seen["session"].made is None


async def test_a_write_is_committed_when_the_handler_returns(sessions):
    factory = Counting(sessions)

    async def handler(event, data):
        await upsert_user(data["session"], 42, username="amir", first_name="Amir",
                          language_code="en")
        return "done"

    assert await DbSession(factory)(handler, object(), {}) == "done"
    assert factory.made == 1
    async with sessions() as check:
        assert (await check.scalar(select(User.username).where(User.id == 42))) == "amir"


async def test_a_failing_handler_writes_nothing(sessions):
    async def handler(event, data):
        await upsert_user(data["session"], 43, username="x", first_name="X",
                          language_code="ru")
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await DbSession(sessions)(handler, object(), {})
    async with sessions() as check:
        assert await check.get(User, 43) is None
