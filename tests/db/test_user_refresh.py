"""Refreshing known users in the background (bot.db.user_refresh), and the dispatcher's cache
that uses it (UserContext): names and last_seen brought up to date in one batch, the language
choice read back, nobody re-created, a blocked user who writes again unblocked, nothing on the
update's path."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from bot.db import mark_blocked, set_language, upsert_user
from bot.db.health import DbHealth
from bot.db.models import User, utcnow
from bot.db.user_refresh import UserRefresh
from bot.i18n import Translator
from bot.telegram.middlewares import DbSession, UserContext


async def _user(sessions, uid: int, **kw) -> None:
    async with sessions() as s:
        await upsert_user(s, uid, username=kw.get("username", "old"), first_name="Old",
                          language_code="en")
        await s.execute(update(User).where(User.id == uid).values(
            last_seen=utcnow() - timedelta(days=3)))
        await s.commit()


async def test_known_users_are_refreshed_in_one_batch(sessions) -> None:
    for uid in (1, 2, 3):
        await _user(sessions, uid)
    async with sessions() as s:
        await set_language(s, 2, "ru")
        await mark_blocked(s, 3)
        await s.commit()
    refresh = UserRefresh(sessions)
    seen = []
    refresh.on_language = lambda uid, lang, token: seen.append((uid, lang, token))
    gone = []
    refresh.on_gone = lambda uid, token: gone.append((uid, token))
    for uid in (1, 2, 3, 99):
        refresh.add(uid, username=f"new{uid}", first_name="New", language_code="ru",
                    token=f"t{uid}")
    refresh.add(1, username="newest1", first_name="New", language_code="en", token="t1b")
    await refresh.close()

    assert sorted(seen) == [(1, None, "t1b"), (2, "ru", "t2"), (3, None, "t3")]
    assert gone == [(99, "t99")]
    assert refresh.written == 3
    async with sessions() as s:
        one, two, three = [await s.get(User, uid) for uid in (1, 2, 3)]
        assert (one.username, one.language_code) == ("newest1", "en")
        assert (two.username, two.language, two.language_code) == ("new2", "ru", "ru")
        assert utcnow() - one.last_seen < timedelta(minutes=1)
        # Marked blocked (by a digest, say) and writing again: they unblocked the bot.
        assert not three.blocked and three.blocked_at is None
        assert await s.get(User, 99) is None  # nor create


async def test_a_refresh_during_an_outage_is_dropped_without_a_traceback(sessions,
                                                                        caplog) -> None:
    await _user(sessions, 5)
    health = DbHealth()
    health.failed(OperationalError("connect", {}, ConnectionRefusedError()))
    refresh = UserRefresh(sessions, health=health)
    told = []
    refresh.on_language = lambda *a: told.append(a)
    refresh.add(5, username="x", first_name="X", language_code="en")
    await refresh.close()
    assert told == [] and refresh.dropped == 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    async with sessions() as s:
        assert (await s.get(User, 5)).username == "old"


async def _update(ctx: UserContext, sessions, uid: int, lang_code: str = "en"):
    """One update through DbSession + UserContext; returns (lang given, session made?)."""
    from aiogram.types import User as TgUser

    out = {}

    async def handler(event, data):
        out["lang"] = data["lang"]
        return None

    async def with_context(event, data):
        data["event_from_user"] = TgUser(id=uid, is_bot=False, first_name="Amir",
                                         username="amir", language_code=lang_code)
        await ctx(handler, event, data)
        out["made"] = data["session"].made is not None

    await DbSession(sessions)(with_context, object(), {})
    return out["lang"], out["made"]


async def test_a_known_user_is_refreshed_off_the_update_path(sessions) -> None:
    refresh = UserRefresh(sessions)
    ctx = UserContext(Translator(), refresh=refresh)
    # First sight: written on the update's path (the row must exist before questions).
    assert await _update(ctx, sessions, 7) == ("en", True)
    async with sessions() as s:
        await set_language(s, 7, "ru")  # chosen elsewhere (another instance)
        await s.commit()
    ctx.REFRESH = 0.0
    # Known: answered in the cached language, no session made; the refresh is queued.
    assert await _update(ctx, sessions, 7, lang_code="en-GB") == ("en", False)
    await refresh.close()
    assert refresh.written == 1
    assert await _update(ctx, sessions, 7) == ("ru", False)  # the choice read back
    await refresh.close()


async def test_a_choice_made_meanwhile_is_not_undone_by_a_refresh(sessions) -> None:
    refresh = UserRefresh(sessions)
    ctx = UserContext(Translator(), refresh=refresh)
    await _update(ctx, sessions, 8)
    ctx.REFRESH = 0.0
    await _update(ctx, sessions, 8)  # queues a refresh, which will read language NULL
    ctx.remember_language(8, "ru")  # /language before the refresh is written
    ctx.REFRESH = 3600.0
    await refresh.close()
    assert refresh.written == 1
    assert (await _update(ctx, sessions, 8))[0] == "ru"


async def test_a_forgotten_user_is_not_written_back(sessions) -> None:
    refresh = UserRefresh(sessions)
    ctx = UserContext(Translator(), refresh=refresh)
    await _update(ctx, sessions, 9)
    async with sessions() as s:  # /forget, on another instance (this cache still has them)
        await s.delete(await s.get(User, 9))
        await s.commit()
    ctx.REFRESH = 0.0
    assert (await _update(ctx, sessions, 9))[1] is False  # a refresh is queued
    await refresh.close()
    async with sessions() as s:
        assert await s.get(User, 9) is None
    # Out of the cache: the next update writes the user in full, on its own path.
    assert (await _update(ctx, sessions, 9))[1] is True
