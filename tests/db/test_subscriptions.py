"""News subscriptions: the repository functions (SQLite and PostgreSQL) and the Telegram side
(/subscribe, the settings menu, /settings, /unsubscribe with Undo, the bot.subscribe action).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import subscriptions as subs
from bot.db import upsert_user
from bot.db.models import NewsItem as NewsRow
from bot.db.models import Subscription
from bot.fakeapi import FakeUser
from bot.text.tghtml import problems
from handlers.subscriptions import FIXED_TOPICS, topics
from tests.support.db import migrated_database
from tests.support.harness import Harness, ask, button, buttons, running_bot, settle
from tests.support.kb import KNOWLEDGE

aio = pytest.mark.asyncio(loop_scope="module")  # the end-to-end tests share one bot

# --------------------------------------------------------------------------- repository


# ``sessions``: a migrated, empty database on SQLite and PostgreSQL (tests/support/fixtures.py).


async def add_user(s: AsyncSession, user_id: int) -> None:
    await upsert_user(s, user_id, username=None, first_name="A", language_code="en")


async def add_news(s: AsyncSession, n: int) -> list[int]:
    rows = [NewsRow(key=f"feed:{datetime.now(UTC).timestamp()}-{i}", source="feed",
                    published=datetime(2026, 1, 1, tzinfo=UTC), tags=[],
                    content={"title": {"en": f"t{i}"}}) for i in range(n)]
    s.add_all(rows)
    await s.flush()
    return [r.id for r in rows]


async def test_new_subscription_starts_at_the_newest_item(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        await add_user(s, 2)
        empty = await subs.subscribe(s, 1, 1, "en")
        assert (empty.cursor, empty.active, empty.frequency, empty.tags) == (0, True, "daily",
                                                                             None)
        ids = await add_news(s, 3)
        sub = await subs.subscribe(s, 2, 2, "ru", frequency="weekly", tags=["science", "events"])
        await s.commit()
    async with sessions() as s:
        row = await subs.get(s, 2)
        assert row.cursor == max(ids) and row.lang == "ru" and row.chat_id == 2
        assert row.frequency == "weekly" and row.tags == ["events", "science"]  # sorted
        assert row.active and row.unsubscribed_at is None and sub.user_id == 2
        assert await subs.get(s, 3) is None


async def test_withdrawn_items_count_for_the_cursor(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        ids = await add_news(s, 2)
        row = await s.get(NewsRow, ids[-1])
        row.withdrawn = True
        assert (await subs.subscribe(s, 1, 1, "en")).cursor == ids[-1]


async def test_update_settings(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        await subs.subscribe(s, 1, 1, "en")
        sub = await subs.update_settings(s, 1, frequency="instant")
        assert (sub.frequency, sub.tags, sub.lang) == ("instant", None, "en")
        sub = await subs.update_settings(s, 1, tags=["science", "science", "admission"])
        assert (sub.frequency, sub.tags) == ("instant", ["admission", "science"])
        sub = await subs.update_settings(s, 1, lang="ru")
        assert (sub.tags, sub.lang) == (["admission", "science"], "ru")
        sub = await subs.update_settings(s, 1, tags=[])  # nothing chosen: every topic
        assert sub.tags is None
        assert (await subs.update_settings(s, 1)).frequency == "instant"  # nothing to change
        assert await subs.update_settings(s, 99, frequency="daily") is None
        with pytest.raises(ValueError):
            await subs.update_settings(s, 1, frequency="hourly")
        with pytest.raises(ValueError):
            await subs.subscribe(s, 1, 1, "en", frequency="monthly")
        with pytest.raises(TypeError):
            await subs.update_settings(s, 1, tags="science")
        await s.commit()
    async with sessions() as s:
        sub = await subs.get(s, 1)
        assert (sub.frequency, sub.tags, sub.lang) == ("instant", None, "ru")
        # "Every topic" is SQL NULL on both backends, not JSON null.
        assert await s.scalar(select(func.count()).select_from(Subscription)
                              .where(Subscription.tags.is_(None))) == 1


async def test_unsubscribe_and_undo_keep_settings_and_cursor(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        await add_news(s, 2)
        before = await subs.subscribe(s, 1, 1, "ru", frequency="weekly", tags=["science"])
        cursor = before.cursor
        await s.commit()
    async with sessions() as s:
        off = await subs.unsubscribe(s, 1)
        assert not off.active and off.unsubscribed_at is not None
        assert await subs.unsubscribe(s, 1) is not None  # twice: harmless
        assert await subs.count_by(s) == 0
        await add_news(s, 3)  # published while unsubscribed
        await s.commit()
    async with sessions() as s:
        on = await subs.resubscribe(s, 1)
        assert on.active and on.unsubscribed_at is None
        assert (on.frequency, on.tags, on.lang, on.cursor) == ("weekly", ["science"], "ru",
                                                               cursor)
        assert await subs.unsubscribe(s, 42) is None and await subs.resubscribe(s, 42) is None
        await s.commit()


async def test_subscribing_again_keeps_the_cursor(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        await add_news(s, 1)
        cursor = (await subs.subscribe(s, 1, 1, "en")).cursor
        await subs.unsubscribe(s, 1)
        await add_news(s, 5)
        again = await subs.subscribe(s, 1, 7, "ru", frequency="instant")
        assert again.active and again.cursor == cursor  # no flood of the five
        assert (again.chat_id, again.lang, again.frequency) == (7, "ru", "instant")
        await s.commit()
    async with sessions() as s:
        assert len(list(await s.scalars(select(Subscription)))) == 1


async def test_simultaneous_subscribes_make_one_row(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        await s.commit()

    async def one(freq: str) -> None:
        async with sessions() as s:
            await subs.subscribe(s, 1, 1, "en", frequency=freq)
            await s.commit()

    await asyncio.gather(one("daily"), one("weekly"))
    async with sessions() as s:
        assert await subs.count_by(s) == 1


async def test_counts_for_statistics(sessions) -> None:
    async with sessions() as s:
        for uid, (freq, lang) in enumerate([("daily", "en"), ("daily", "en"), ("daily", "ru"),
                                            ("weekly", "ru"), ("instant", "en")], start=1):
            await add_user(s, uid)
            await subs.subscribe(s, uid, uid, lang, frequency=freq)
        await subs.unsubscribe(s, 5)
        assert await subs.count_by(s) == 4
        assert await subs.count_by(s, "daily") == 3
        assert await subs.count_by(s, "daily", "en") == 2
        assert await subs.count_by(s, lang="ru") == 2
        assert await subs.count_by(s, "instant") == 0
        assert await subs.count_by(s, active=False) == 1
        assert await subs.counts(s) == {("daily", "en"): 2, ("daily", "ru"): 1,
                                        ("weekly", "ru"): 1}


OFFERED = ("admission", "events", "science")


async def test_toggle_topic(sessions) -> None:
    async with sessions() as s:
        await add_user(s, 1)
        assert await subs.toggle_topic(s, 1, "science", OFFERED) == (None, False)
        await subs.subscribe(s, 1, 1, "en")
        sub, changed = await subs.toggle_topic(s, 1, "science", OFFERED)
        assert changed and sub.tags == ["science"]
        sub, changed = await subs.toggle_topic(s, 1, "events", OFFERED)
        assert changed and sub.tags == ["events", "science"]
        # A topic the menu no longer offers can still be switched off, not on.
        sub, changed = await subs.toggle_topic(s, 1, "science", ("events",))
        assert changed and sub.tags == ["events"]
        sub, changed = await subs.toggle_topic(s, 1, "gone", ("events",))
        assert not changed and sub.tags == ["events"]
        sub, changed = await subs.toggle_topic(s, 1, "events", OFFERED)
        assert changed and sub.tags is None  # none left: every topic
        await subs.unsubscribe(s, 1)
        sub, changed = await subs.toggle_topic(s, 1, "science", OFFERED)
        assert not changed and not sub.active and sub.tags is None


@pytest.mark.postgres
async def test_toggle_topic_waits_for_a_concurrent_tap(tmp_path: Path) -> None:
    """Two instances handle two taps of one user at once: the second toggle waits for the
    first one's row lock, so neither tap is lost."""
    async with migrated_database("postgresql", tmp_path) as sessions:
        async with sessions() as s:
            await add_user(s, 1)
            await subs.subscribe(s, 1, 1, "en")
            await s.commit()
        async with sessions() as first, sessions() as second:
            await subs.toggle_topic(first, 1, "science", OFFERED)
            other = asyncio.create_task(subs.toggle_topic(second, 1, "events", OFFERED))
            await asyncio.sleep(0.3)
            assert not other.done()  # blocked on the row lock
            await first.commit()
            sub, changed = await asyncio.wait_for(other, 10)
            await second.commit()
        assert changed and sub.tags == ["events", "science"]
        async with sessions() as s:
            assert (await subs.get(s, 1)).tags == ["events", "science"]


def test_tag_helpers() -> None:
    assert subs.toggle_tag(None, "science") == ["science"]
    assert subs.toggle_tag(["science"], "events") == ["events", "science"]
    assert subs.toggle_tag(["events", "science"], "science") == ["events"]
    assert subs.toggle_tag(["events"], "events") is None  # none left: every topic
    assert subs.normalize_tags([]) is None and subs.normalize_tags(None) is None
    with pytest.raises(ValueError):
        subs.normalize_tags([f"t{i}" for i in range(subs.MAX_TAGS + 1)])


def test_topic_list_is_the_fixed_list_plus_kb_tags() -> None:
    from bot.knowledge import load_knowledge

    kb, _ = load_knowledge(KNOWLEDGE)
    offered = topics(kb)
    assert offered[:len(FIXED_TOPICS)] == list(FIXED_TOPICS)
    assert {t for n in kb.news for t in n.tags} <= set(offered)
    assert len(offered) == len(set(offered))


# --------------------------------------------------------------------------- Telegram side

_ids = itertools.count(80_001)
SUBSCRIBED = "✅ You are subscribed to BSMU news."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path_factory.mktemp("subs")) as harness:
        yield harness  # build_app has already put the KB's news into the database


def new_user(h: Harness, language_code: str = "en") -> FakeUser:
    return h.api.user(next(_ids), language_code=language_code)


async def press(h: Harness, user: FakeUser, record: dict, label: str) -> tuple[dict, dict]:
    """Press a button by label: (the message sent or edited, the callback answer)."""
    mark = h.api.mark()
    query_id = await user.press(record, button(record, label))
    answer = await h.api.wait_callback_answer(query_id)
    (msg,) = await h.api.wait_for(1, chat_id=user.id, since=mark)
    return msg, answer


@aio
async def test_a_setting_is_saved_before_the_menu_is_redrawn(h: Harness) -> None:
    """The new setting is committed before the bot talks to Telegram, so a slow edit does
    not hold the database's write lock (and another instance sees the setting at once)."""
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    slow = h.api.fail_next("editMessageText", error_code=None, delay=1.5, chat_id=user.id)
    mark = h.api.mark()
    query_id = await user.press(menu, button(menu, "🗓 Weekly"))
    for _ in range(200):  # until the edit has reached the fake API and waits there
        if slow.times == 0:
            break
        await asyncio.sleep(0.01)
    assert slow.times == 0
    async with h.app.services.sessionmaker() as s:
        assert (await subs.get(s, user.id)).frequency == "weekly"
    await h.api.wait_callback_answer(query_id)
    (weekly,) = await h.api.wait_for(1, chat_id=user.id, since=mark)
    assert "How often: once a week" in weekly["plain_text"]


@aio
async def test_two_quick_topic_taps_both_count(h: Harness) -> None:
    """Two taps on one menu before the first is answered: both topics are saved, and the
    menu drawn last shows both."""
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    mark = h.api.mark()
    first = await user.press(menu, button(menu, "Science"))
    second = await user.press(menu, button(menu, "Events"))
    await h.api.wait_callback_answer(first)
    await h.api.wait_callback_answer(second)
    edits = await h.api.wait_for(2, chat_id=user.id, since=mark)
    assert {"✅ Science", "✅ Events"} <= set(labels(edits[-1]))
    assert (await row(h, user.id)).tags == ["events", "science"]


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


async def row(h: Harness, user_id: int) -> Subscription | None:
    """The user's subscription once the bot is idle (and has committed)."""
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        return await subs.get(s, user_id)


async def newest_news_id(h: Harness) -> int:
    async with h.app.services.sessionmaker() as s:
        return await subs.max_news_id(s)


@aio
async def test_subscribe_choose_settings_and_see_them(h: Harness) -> None:
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    assert menu["plain_text"].startswith(SUBSCRIBED + "\n\n🔔 News subscription\n"
                                         "Status: ✅ subscribed\n")
    assert "How often: once a day" in menu["plain_text"]
    assert "Topics: all topics" in menu["plain_text"]
    assert "Language of the news: English" in menu["plain_text"]
    assert labels(menu)[:4] == ["⚡ Instantly", "✅ 📅 Daily", "🗓 Weekly", "✅ All topics"]
    assert {"International relations", "Science", "Admission", "Events",
            "Partnerships"} <= set(labels(menu))
    assert labels(menu)[-3:] == ["✅ English", "Русский", "🔕 Unsubscribe"]
    sub = await row(h, user.id)
    assert (sub.active, sub.frequency, sub.tags, sub.lang, sub.chat_id) == (
        True, "daily", None, "en", user.id)
    assert sub.cursor == await newest_news_id(h) > 0

    weekly, answer = await press(h, user, menu, "🗓 Weekly")
    assert answer["text"] == "Saved ✅"
    assert weekly["method"] == "editMessageText" and weekly["message_id"] == menu["message_id"]
    assert "How often: once a week" in weekly["plain_text"]
    assert "✅ 🗓 Weekly" in labels(weekly) and "📅 Daily" in labels(weekly)

    science, _ = await press(h, user, weekly, "Science")
    assert "Topics: Science" in science["plain_text"]
    assert "✅ Science" in labels(science) and "All topics" in labels(science)
    events, _ = await press(h, user, science, "Events")
    assert "Topics: Science, Events" in events["plain_text"] or \
        "Topics: Events, Science" in events["plain_text"]
    intl, _ = await press(h, user, events, "International relations")
    less, _ = await press(h, user, intl, "✅ Science")  # a second tap removes it
    assert "✅ Science" not in labels(less) and "Science" in labels(less)
    russian, _ = await press(h, user, less, "Русский")
    assert "Language of the news: Русский" in russian["plain_text"]
    assert "✅ Русский" in labels(russian) and "English" in labels(russian)

    sub = await row(h, user.id)
    assert (sub.active, sub.frequency, sub.tags, sub.lang) == (
        True, "weekly", ["events", "international"], "ru")

    (settings,) = await ask(h, user, "/settings")
    plain = settings["plain_text"]
    assert plain.startswith("🔔 News subscription\nStatus: ✅ subscribed")
    assert "How often: once a week" in plain and "Language of the news: Русский" in plain
    assert ("Topics: International relations, Events" in plain
            or "Topics: Events, International relations" in plain)
    assert labels(settings) == labels(russian)

    everything, _ = await press(h, user, settings, "All topics")
    assert "Topics: all topics" in everything["plain_text"]
    assert (await row(h, user.id)).tags is None


@aio
async def test_unsubscribe_and_undo(h: Harness) -> None:
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    menu, _ = await press(h, user, menu, "⚡ Instantly")
    menu, _ = await press(h, user, menu, "Partnerships")
    before = await row(h, user.id)

    (off,) = await ask(h, user, "/unsubscribe")
    assert off["plain_text"].startswith("🔕 You have unsubscribed from BSMU news.")
    assert labels(off) == ["↩️ Undo"]
    sub = await row(h, user.id)
    assert not sub.active and sub.unsubscribed_at is not None

    back, answer = await press(h, user, off, "↩️ Undo")
    assert answer["text"] == "✅ Your subscription is back, with your previous settings."
    assert back["message_id"] == off["message_id"]
    assert "How often: as soon as it is published" in back["plain_text"]
    assert "Topics: Partnerships" in back["plain_text"]
    sub = await row(h, user.id)
    assert sub.active and sub.unsubscribed_at is None
    assert (sub.frequency, sub.tags, sub.lang, sub.cursor, sub.chat_id) == (
        before.frequency, before.tags, before.lang, before.cursor, before.chat_id)

    # The menu's own Unsubscribe button does the same, in place.
    off2, _ = await press(h, user, back, "🔕 Unsubscribe")
    assert off2["message_id"] == off["message_id"] and labels(off2) == ["↩️ Undo"]
    assert not (await row(h, user.id)).active
    # /subscribe after unsubscribing comes back with the old settings and cursor too.
    (again,) = await ask(h, user, "/subscribe")
    assert again["plain_text"].startswith(SUBSCRIBED)
    assert "Topics: Partnerships" in again["plain_text"]
    sub = await row(h, user.id)
    assert sub.active and (sub.frequency, sub.tags, sub.cursor) == (
        before.frequency, before.tags, before.cursor)
    (twice,) = await ask(h, user, "/subscribe")
    assert twice["plain_text"].startswith("You are already subscribed.")


@aio
async def test_unsubscribe_without_subscription(h: Harness) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, "/unsubscribe")
    assert msg["plain_text"].startswith("You are not subscribed to the news.")
    assert labels(msg) == ["🔔 Subscribe"]
    menu, answer = await press(h, user, msg, "🔔 Subscribe")
    assert answer["text"] == SUBSCRIBED and menu["message_id"] == msg["message_id"]
    assert "Status: ✅ subscribed" in menu["plain_text"]
    assert (await row(h, user.id)).active


@aio
async def test_subscribe_through_a_question(h: Harness) -> None:
    user = new_user(h)
    answer, menu = await ask(h, user, "how do I subscribe to news?", count=2)
    assert answer["plain_text"].startswith("News subscription\nSubscribe and I will send")
    assert menu["plain_text"].startswith("🔔 News subscription\nStatus: not subscribed")
    assert labels(menu) == ["🔔 Subscribe"]
    assert await row(h, user.id) is None  # asking is not subscribing
    subscribed, _ = await press(h, user, menu, "🔔 Subscribe")
    assert "Status: ✅ subscribed" in subscribed["plain_text"]
    sub = await row(h, user.id)
    assert sub.active and sub.frequency == "daily" and sub.tags is None and sub.lang == "en"

    # "Stop sending me news" reaches the same menu: it offers Unsubscribe, changes nothing.
    _, menu2 = await ask(h, user, "stop sending me news", count=2)
    assert "🔕 Unsubscribe" in labels(menu2)
    assert (await row(h, user.id)).active


@aio
async def test_the_news_list_opens_the_menu(h: Harness) -> None:
    user = new_user(h, "ru")
    (listing,) = await ask(h, user, "/news")
    menu, _ = await press(h, user, listing, "🔔 Подписка на новости")
    assert menu["method"] == "sendMessage"
    assert menu["plain_text"].startswith("🔔 Подписка на новости\nСтатус: вы не подписаны")
    subscribed, answer = await press(h, user, menu, "🔔 Подписаться")
    assert answer["text"] == "✅ Вы подписались на новости БГМУ."
    plain = subscribed["plain_text"]
    assert "Как часто: раз в день" in plain and "Темы: все темы" in plain
    assert "Язык новостей: Русский" in plain
    assert labels(subscribed)[:4] == ["⚡ Сразу", "✅ 📅 Ежедневно", "🗓 Еженедельно",
                                      "✅ Все темы"]
    assert (await row(h, user.id)).lang == "ru"


@aio
async def test_old_menu_after_unsubscribing(h: Harness) -> None:
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    await ask(h, user, "/unsubscribe")
    refreshed, answer = await press(h, user, menu, "🗓 Weekly")
    assert answer["text"] == "You are not subscribed to the news."
    assert labels(refreshed) == ["🔔 Subscribe"]
    assert (await row(h, user.id)).frequency == "daily"


@aio
@pytest.mark.parametrize("data", ["st1:no_such_topic", "sf1:hourly", "sl1:de", "so1:explode",
                                  "so1", "st1:" + "x" * 61])
async def test_forged_subscription_buttons(h: Harness, data: str) -> None:
    user = new_user(h)
    (menu,) = await ask(h, user, "/subscribe")
    before = await row(h, user.id)
    query_id = await user.press(menu, data, strict=False)
    answer = await h.api.wait_callback_answer(query_id)
    assert answer["show_alert"] and "out of date" in answer["text"]
    after = await row(h, user.id)
    assert (after.frequency, after.tags, after.lang) == (before.frequency, before.tags,
                                                         before.lang)


@aio
async def test_subscriptions_belong_to_private_chats(h: Harness) -> None:
    user = new_user(h)
    group = h.api.group(-100_555, title="Applicants")
    for command in ("/subscribe", "/unsubscribe", "/settings"):
        await user.send_text(f"{command}@bsmu_test_bot", chat=group)
        (msg,) = await h.api.wait_for(1, chat_id=group.id)
        assert msg["plain_text"].startswith("News subscriptions work in a private chat")
    assert await row(h, user.id) is None


@aio
async def test_every_reply_is_valid_html(h: Harness) -> None:
    sent = [r for r in h.api.sent() if r["text"] and r["parse_mode"] == "HTML"]
    assert len(sent) > 10
    for record in sent:
        assert not problems(record["text"]), record["text"]
