"""Staff /broadcast end to end: the production dispatcher and digest engine (started as the
running bot starts them) against the fake Bot API.

The preview is exactly what subscribers get; only the creator confirms; Confirm sends through
the digest queue to the matching active subscribers only, Cancel sends nothing; the command
does not exist for non-staff; invalid HTML is refused; 1,000 subscribers with injected 429s
each get exactly one copy; a broadcast interrupted by a shutdown is finished by the next
engine, still one copy each, and reported once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.db.models import Delivery, DigestRun, StaffAction
from bot.digest import broadcast as bc
from bot.digest import queue, start_digests
from bot.fakeapi import FakeUser
from tests.support.digest import Sub, add_subscribers
from tests.support.harness import Harness, buttons, make_config, running_bot, settle

STAFF, STAFF2 = 900_001, 900_002
OUTSIDER = 900_100
STAFF_CHAT = -1_001_000_000_555
UNKNOWN = "I don't know this command. Send /help to see what I can do."
SEND_PREFIX = "✅ Send to"
CANCEL = "✖️ Cancel"
FINISHED = "✅ Broadcast #"

# The shared bot's subscribers: (id, lang, topics, active, blocked).
EN_ALL, RU_ALL, EN_ADM, RU_SCI, EN_BOTH, EN_OFF, RU_BLOCKED = range(10_001, 10_008)
SUBS = [Sub(EN_ALL, "en"), Sub(RU_ALL, "ru"), Sub(EN_ADM, "en", tags=("admission",)),
        Sub(RU_SCI, "ru", "weekly", tags=("science",)),
        Sub(EN_BOTH, "en", "instant", tags=("admission", "science")),
        Sub(EN_OFF, "en", active=False), Sub(RU_BLOCKED, "ru", blocked=True)]
ALL_CHATS = [s.user_id for s in SUBS]


def staff_config(tmp: Path, **digest):
    return make_config(tmp, staff={"admins": [STAFF, STAFF2], "chat_id": STAFF_CHAT},
                       bot={"flood": {"messages": 1000, "seconds": 1}},
                       digest={"retries": 2, **digest})


async def add_subs(h: Harness, subs: list[Sub]) -> None:
    """Subscribers whose cursor is the newest news item, so no digest is due to them."""
    upto = await queue.news_snapshot(h.app.services.sessionmaker)
    await add_subscribers(h.app.services.sessionmaker,
                          [Sub(**{**s.__dict__, "cursor": upto}) for s in subs])
    for s in subs:
        h.api.user(s.user_id, first_name=f"User {s.user_id}", register=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    tmp = tmp_path_factory.mktemp("broadcast")
    async with running_bot(tmp, config=staff_config(tmp)) as harness:
        harness.api.group(STAFF_CHAT, "Admissions staff")
        await add_subs(harness, SUBS)
        await harness.app.start_background(harness.bot)  # the digest engine, as in production
        yield harness


def staff(h: Harness, user_id: int = STAFF) -> FakeUser:
    return h.api.user(user_id, first_name="Olga" if user_id == STAFF else "Ivan")


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


async def command(h: Harness, user: FakeUser, text: str, *, count: int = 1, chat=STAFF_CHAT,
                  reply_to=None) -> list[dict]:
    mark = h.api.mark()
    msg = await user.send_text(text, chat=chat, reply_to=reply_to)
    return await h.api.wait_for(count, chat_id=msg["chat"]["id"], since=mark)


async def preview(h: Harness, text: str, user: FakeUser | None = None,
                  reply_to=None) -> tuple[list[dict], dict]:
    """/broadcast: the preview message(s) and the control message with the buttons."""
    records = await command(h, user or staff(h), text, count=2, reply_to=reply_to)
    control = records[-1]
    assert labels(control)[-1] == CANCEL, control["plain_text"]
    return records[:-1], control


async def press(h: Harness, user: FakeUser, record: dict, label: str, *,
                strict: bool = True) -> dict:
    """Press a button (by label, or data when not strict); the bot's callback answer."""
    data = next(b["callback_data"] for b in buttons(record) if b["text"].startswith(label))
    query = await user.press(record, data, strict=strict)
    return await h.api.wait_callback_answer(query)


async def confirm_and_wait(h: Harness, control: dict, timeout: float = 15) -> dict:
    """Confirm; the final report (a new message in the staff chat)."""
    mark = h.api.mark()
    answer = await press(h, staff(h), control, SEND_PREFIX)
    assert not answer["show_alert"], answer
    (final,) = await h.api.wait_for(lambda r: r["plain_text"].startswith(FINISHED)
                                    and r["method"] == "sendMessage",
                                    chat_id=STAFF_CHAT, since=mark, timeout=timeout)
    return final


def received(h: Harness, mark: int, chats=ALL_CHATS) -> dict[int, list[str]]:
    got = {}
    for chat in chats:
        texts = [r["text"] for r in h.api.sent(chat) if r["seq"] >= mark]
        if texts:
            got[chat] = texts
    return got


async def broadcast_runs(h: Harness) -> list[DigestRun]:
    async with h.app.services.sessionmaker() as s:
        return list((await s.execute(select(DigestRun).where(DigestRun.kind == "broadcast")
                                     .order_by(DigestRun.id))).scalars())


# --- parsing -----------------------------------------------------------------------------------


def test_parse_command_filters_and_text() -> None:
    assert bc.parse_command("hello <b>all</b>") == (bc.Filters(), "hello <b>all</b>")
    assert bc.parse_command("tag:admission lang:RU  Open day\nSaturday") == (
        bc.Filters("admission", "ru"), "Open day\nSaturday")
    assert bc.parse_command("lang:en") == (bc.Filters(lang="en"), "")
    assert bc.parse_command(None) == (bc.Filters(), "")
    assert bc.parse_command("see tag:x later") == (bc.Filters(), "see tag:x later")
    for bad in ("lang:de hi", "tag:a tag:b hi", "lang:en lang:ru hi", "tag:<b> hi"):
        with pytest.raises(bc.UsageError):
            bc.parse_command(bad)
    assert bc.Filters("admission").wants(None) and bc.Filters("admission").wants([])
    assert bc.Filters("admission").wants(["admission", "science"])
    assert not bc.Filters("admission").wants(["science"])
    with pytest.raises(bc.UsageError) as err:
        bc.render("<b>unclosed & bare")
    assert "<b> is never closed" in err.value.params["problems"]
    assert bc.render("x" * 5000) == ["x" * 4096, "x" * 904]


# --- the shared bot -----------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_preview_then_confirm_sends_to_the_topic_only(h: Harness) -> None:
    text = '📣 <b>Open day</b> on Saturday, <a href="https://www.bsmu.by/">details</a>'
    parts, control = await preview(h, f"/broadcast tag:admission {text}")
    # The preview is exactly what subscribers get, with the sender's parameters.
    assert [p["text"] for p in parts] == [text]
    assert parts[0]["parse_mode"] == "HTML"
    assert parts[0]["params"]["link_preview_options"] == {"is_disabled": True}
    # Every topic (both languages) and those who chose admission; not the inactive, the
    # blocked, or the science-only subscriber.
    assert "Recipients: 4 active subscribers (topic admission)" in control["plain_text"]
    assert labels(control) == ["✅ Send to 4", CANCEL]
    mark = h.api.mark()
    final = await confirm_and_wait(h, control)
    assert received(h, mark) == {c: [text] for c in (EN_ALL, RU_ALL, EN_ADM, EN_BOTH)}
    assert "Recipients: 4; sent: 4, failed: 0, blocked the bot: 0." in final["plain_text"]
    [run] = [r for r in await broadcast_runs(h) if r.status == "done"][-1:]
    assert run.created_by == STAFF and run.slot.startswith("broadcast:")
    assert final["plain_text"].startswith(f"✅ Broadcast #{run.id} finished.")
    # The status message (the former control message) shows the final counts too.
    await h.api.wait_for(lambda r: r["message_id"] == control["message_id"]
                         and r["plain_text"] == final["plain_text"],
                         chat_id=STAFF_CHAT, since=final["seq"], method="editMessageText")
    status = h.api.message(STAFF_CHAT, control["message_id"])
    assert status["text"] == final["plain_text"] and "reply_markup" not in status
    async with h.app.services.sessionmaker() as s:
        [action] = (await s.execute(select(StaffAction).where(
            StaffAction.action == "broadcast", StaffAction.details.like(f"run={run.id} %")
        ))).scalars().all()
        assert action.user_id == STAFF and "tag=admission" in action.details
        rows = (await s.execute(select(Delivery).where(Delivery.run_id == run.id))).scalars()
        assert sorted(d.user_id for d in rows if d.status == "sent") == [
            EN_ALL, RU_ALL, EN_ADM, EN_BOTH]

    # A second tap on the (removed) Confirm button: nothing more is sent.
    answer = await press(h, staff(h), control, SEND_PREFIX, strict=False)
    assert answer["show_alert"] and "already been confirmed" in answer["text"]
    await settle(h)
    assert received(h, mark) == {c: [text] for c in (EN_ALL, RU_ALL, EN_ADM, EN_BOTH)}


@pytest.mark.asyncio(loop_scope="module")
async def test_language_filter_and_a_reply_as_the_content(h: Harness) -> None:
    olga = staff(h)
    mark = h.api.mark()
    source = await olga.send_text("Экзамен перенесён на понедельник", chat=STAFF_CHAT,
                                  entities=[{"type": "bold", "offset": 0, "length": 7}])
    parts, control = await preview(h, "/broadcast lang:ru", reply_to=source)
    expected = "<b>Экзамен</b> перенесён на понедельник"
    assert [p["text"] for p in parts] == [expected]
    # Russian, active, not blocked: every topic and the science-only subscriber.
    assert "Recipients: 2 active subscribers (language ru)" in control["plain_text"]
    final = await confirm_and_wait(h, control)
    assert "sent: 2," in final["plain_text"]
    assert received(h, mark) == {RU_ALL: [expected], RU_SCI: [expected]}

    # Both filters at once.
    mark = h.api.mark()
    _, control = await preview(h, "/broadcast lang:en tag:science Lab tour")
    assert "(topic science, language en)" in control["plain_text"]
    await confirm_and_wait(h, control)
    assert received(h, mark) == {EN_ALL: ["Lab tour"], EN_BOTH: ["Lab tour"]}


@pytest.mark.asyncio(loop_scope="module")
async def test_cancel_sends_nothing_and_the_old_confirm_is_stale(h: Harness) -> None:
    mark = h.api.mark()
    runs_before = len(await broadcast_runs(h))
    _, control = await preview(h, "/broadcast Never sent")
    assert len(await broadcast_runs(h)) == runs_before + 1  # the draft
    answer = await press(h, staff(h), control, CANCEL)
    assert not answer["show_alert"]
    await settle(h)
    status = h.api.message(STAFF_CHAT, control["message_id"])
    assert status["text"] == "Broadcast cancelled: nothing was sent."
    assert "reply_markup" not in status
    assert len(await broadcast_runs(h)) == runs_before  # the draft is gone
    answer = await press(h, staff(h), control, SEND_PREFIX, strict=False)
    assert answer["show_alert"] and "expired or was cancelled" in answer["text"]
    await settle(h)
    assert received(h, mark) == {}


@pytest.mark.asyncio(loop_scope="module")
async def test_only_the_creator_can_confirm(h: Harness) -> None:
    mark = h.api.mark()
    _, control = await preview(h, "/broadcast Only Olga may send this")
    for other in (staff(h, STAFF2), h.api.user(OUTSIDER, "Mallory")):
        answer = await press(h, other, control, SEND_PREFIX)
        assert answer["show_alert"]
        assert answer["text"] == ("Only the staff member who created this broadcast can "
                                  "confirm or cancel it.")
        answer = await press(h, other, control, CANCEL)
        assert answer["show_alert"]
    await settle(h)
    assert received(h, mark) == {}
    assert labels(h.api.message(STAFF_CHAT, control["message_id"]))[-1] == CANCEL
    final = await confirm_and_wait(h, control)  # the creator still can
    assert "Recipients: 5; sent: 5," in final["plain_text"]  # every active subscriber
    assert set(received(h, mark)) == {EN_ALL, RU_ALL, EN_ADM, RU_SCI, EN_BOTH}


@pytest.mark.asyncio(loop_scope="module")
async def test_expired_preview_is_refused(h: Harness) -> None:
    mark = h.api.mark()
    _, control = await preview(h, "/broadcast Too late")
    async with h.app.services.sessionmaker() as s:
        run = (await s.execute(select(DigestRun).where(DigestRun.status == "draft"))).scalar_one()
        run.started_at = run.started_at - bc.DRAFT_TTL
        await s.commit()
    answer = await press(h, staff(h), control, SEND_PREFIX)
    assert answer["show_alert"] and "expired" in answer["text"]
    await settle(h)
    assert received(h, mark) == {}
    assert not [r for r in await broadcast_runs(h) if r.status == "draft"]  # purged


@pytest.mark.asyncio(loop_scope="module")
async def test_non_staff_get_the_unknown_command_reply(h: Harness) -> None:
    mark = h.api.mark()
    outsider = h.api.user(OUTSIDER, "Mallory")
    for text in ("/broadcast Free pizza", "/broadcast lang:en tag:admission Free pizza"):
        (reply,) = await command(h, outsider, text, chat=None)
        assert reply["plain_text"] == UNKNOWN
    await settle(h)
    assert len(h.api.sent(OUTSIDER)) == 2  # one reply each, no preview
    assert received(h, mark) == {}
    assert not [r for r in await broadcast_runs(h) if r.status == "draft"]


@pytest.mark.asyncio(loop_scope="module")
async def test_invalid_html_and_bad_arguments_are_refused(h: Harness) -> None:
    mark = h.api.mark()
    olga = staff(h)
    (reply,) = await command(h, olga, "/broadcast <b>Open day</i> & more")
    assert reply["plain_text"].startswith("❌ Not sent: Telegram would reject this HTML.")
    assert "• unbalanced </i>" in reply["plain_text"]
    assert "• bare '&' at character" in reply["plain_text"]
    assert "• <b> is never closed" in reply["plain_text"]
    (reply,) = await command(h, olga, "/broadcast")
    assert reply["plain_text"].startswith("Usage: /broadcast [tag:topic] [lang:en|ru] text")
    (reply,) = await command(h, olga, "/broadcast lang:de Hallo")
    assert "I don't understand the filter lang:de" in reply["plain_text"]
    (reply,) = await command(h, olga, "/broadcast tag:admision Open day")
    assert reply["plain_text"].startswith("❌ There is no topic admision. Topics: ")
    (reply,) = await command(h, olga, "/broadcast tag:sport lang:ru Match")  # nobody
    assert reply["plain_text"].startswith("❌ There is no topic sport")
    await settle(h)
    assert len([r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark]) == 5
    assert received(h, mark) == {}
    assert not [r for r in await broadcast_runs(h) if r.status == "draft"]


# --- bots of their own --------------------------------------------------------------------------


async def test_1000_subscribers_with_injected_429s_each_get_exactly_one_copy(tmp_path):
    n = 1000
    ids = range(20_001, 20_001 + n)
    config = staff_config(tmp_path, rate=500, paid_broadcast=True)
    async with running_bot(tmp_path, config=config) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        await add_subs(h, [Sub(i, "ru" if i % 3 else "en") for i in ids])
        await h.app.start_background(h.bot)
        text = "<b>Admission 2027</b>: documents are accepted from 20 June."
        _, control = await preview(h, f"/broadcast {text}")
        assert "Recipients: 1,000 active subscribers (all subscribers)" in control["plain_text"]
        # 429s: two at once at the start, then single ones for chats further down the queue.
        h.api.fail_next("sendMessage", 429, retry_after=1, times=2)
        for chat in (20_300, 20_600, 20_900):
            h.api.fail_next("sendMessage", 429, retry_after=1, chat_id=chat)
        h.api.set_rate_limits(global_rate=600)  # a limit of its own, above the pacer
        mark = h.api.mark()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        final = await confirm_and_wait(h, control, timeout=40)
        elapsed = loop.time() - t0
        assert ("Recipients: 1,000; sent: 1,000, failed: 0, blocked the bot: 0."
                in final["plain_text"])
        assert received(h, mark, ids) == {i: [text] for i in ids}  # exactly one copy each
        ok_calls = [int(c["params"]["chat_id"]) for c in h.api.calls("sendMessage")
                    if c["ok"]]
        assert sorted(c for c in ok_calls if c != STAFF_CHAT) == list(ids)
        assert h.api.stats.by_error[429] >= 5
        assert elapsed >= 1.0  # the retry_after pauses were honoured
        [run] = await broadcast_runs(h)
        counts = await queue.counts(h.app.services.sessionmaker, run.id)
        assert run.status == "done" and counts["sent"] == n and counts["pending"] == 0
        # Progress was shown in the status message while it went (25/50/75 % at least).
        edits = [r for r in h.api.sent(STAFF_CHAT, method="editMessageText")
                 if r["message_id"] == control["message_id"] and "done (" in r["plain_text"]]
        assert len(edits) >= 3
        reports = [r for r in h.api.sent(STAFF_CHAT, method="sendMessage")
                   if r["plain_text"].startswith(FINISHED)]
        assert len(reports) == 1


async def test_interrupted_broadcast_is_finished_after_a_restart_once(tmp_path):
    n = 60
    ids = list(range(30_001, 30_001 + n))
    async with running_bot(tmp_path, config=staff_config(tmp_path, rate=30)) as h:
        h.api.group(STAFF_CHAT, "Admissions staff")
        await add_subs(h, [Sub(i) for i in ids])
        await h.app.start_background(h.bot)
        _, control = await preview(h, "/broadcast Resumed after a restart")
        mark = h.api.mark()
        answer = await press(h, staff(h), control, SEND_PREFIX)
        assert not answer["show_alert"]
        await asyncio.wait_for(_wait_for_recipients(h, mark, ids, 15), 10)
        await h.app.digests.stop()  # the bot shuts down mid-run
        first = sum(len(v) for v in received(h, mark, ids).values())
        assert 15 <= first < n
        [run] = await broadcast_runs(h)
        assert run.status == "sending"
        # The next engine (a restarted bot) resumes the broadcast at start-up.
        h.app.digests = await start_digests(h.app.config, h.app.services.sessionmaker, h.bot,
                                           h.app.services.translator, scheduler=False)
        (final,) = await h.api.wait_for(
            lambda r: r["plain_text"].startswith(FINISHED) and r["method"] == "sendMessage",
            chat_id=STAFF_CHAT, since=mark, timeout=15)
        assert f"Recipients: {n}; sent: {n}," in final["plain_text"]
        assert received(h, mark, ids) == {i: ["Resumed after a restart"] for i in ids}
        await settle(h)
        reports = [r for r in h.api.sent(STAFF_CHAT, method="sendMessage")
                   if r["plain_text"].startswith(FINISHED)]
        assert len(reports) == 1
        [run] = await broadcast_runs(h)
        assert run.status == "done"


async def _wait_for_recipients(h: Harness, mark: int, chats: list[int], count: int) -> None:
    while sum(len(v) for v in received(h, mark, chats).values()) < count:
        await asyncio.sleep(0.02)
