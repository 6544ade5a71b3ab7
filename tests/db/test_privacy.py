"""Personal data on both databases: /forget deletes one student's rows and nothing else; the
purge of old questions keeps the statistics' totals (bot.db.privacy, bot.staff.stats)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import privacy
from bot.db.models import (
    Delivery,
    DigestPayload,
    DigestRun,
    Feedback,
    Handoff,
    HandoffBan,
    HandoffMessage,
    Question,
    QuestionDaily,
    Subscription,
    User,
)
from bot.staff import stats

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
ALICE, BOB = 11, 22
PER_USER = (User, Question, Feedback, Subscription, Delivery, Handoff)


async def seed_user(s: AsyncSession, uid: int, run: DigestRun, payload: DigestPayload) -> None:
    s.add(User(id=uid, first_name=f"user{uid}", first_seen=NOW, last_seen=NOW))
    await s.flush()
    questions = [Question(user_id=uid, chat_id=uid, text=f"question {i} of {uid}", lang="en",
                          matched_id="tuition.fees" if i else None, score=50.0,
                          outcome="answered" if i else "fallback",
                          created_at=NOW - timedelta(days=i)) for i in range(3)]
    s.add_all(questions)
    await s.flush()
    s.add_all([
        Feedback(user_id=uid, chat_id=uid, message_id=7, entry_id="tuition.fees", vote=1,
                 question_id=questions[1].id),
        Subscription(user_id=uid, chat_id=uid, frequency="daily", lang="en"),
        Delivery(run_id=run.id, payload_id=payload.id, user_id=uid, chat_id=uid),
    ])
    handoff = Handoff(user_id=uid, chat_id=uid, staff_chat_id=-100, topic_id=5,
                      question_id=questions[0].id)
    s.add(handoff)
    await s.flush()
    s.add_all([HandoffMessage(handoff_id=handoff.id, staff_chat_id=-100,
                              staff_message_id=uid * 10 + i, direction="to_staff")
               for i in range(2)])
    await s.flush()


async def counts(s: AsyncSession, uid: int) -> dict[str, int]:
    out = {}
    for model in PER_USER:
        column = model.id if model is User else model.user_id
        out[model.__tablename__] = await s.scalar(
            select(func.count()).select_from(model).where(column == uid))
    out["handoff_messages"] = await s.scalar(
        select(func.count()).select_from(HandoffMessage).join(
            Handoff, Handoff.id == HandoffMessage.handoff_id).where(Handoff.user_id == uid))
    return out


async def test_forget_user_deletes_only_that_user(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        run = DigestRun(kind="daily", slot="2026-12-03T10:00+03:00")
        s.add(run)
        await s.flush()
        payload = DigestPayload(run_id=run.id, digest="d", messages=["hi"])
        s.add(payload)
        await s.flush()
        for uid in (ALICE, BOB):
            await seed_user(s, uid, run, payload)
        s.add(HandoffBan(user_id=ALICE, banned_by=1, reason="spam"))
        await s.commit()
        before = await stats.collect(s, 30, now=NOW)

    async with sessions() as s:
        gone = await privacy.forget_user(s, ALICE)
        await s.commit()
    assert gone == privacy.Forgotten(questions=3, votes=1, subscriptions=1, deliveries=1,
                                     handoffs=1, handoff_messages=2, users=1)
    async with sessions() as s:
        assert set((await counts(s, ALICE)).values()) == {0}
        assert await counts(s, BOB) == {"users": 1, "questions": 3, "feedback": 1,
                                        "subscriptions": 1, "deliveries": 1, "handoffs": 1,
                                        "handoff_messages": 2}
        # No text and no user left behind: the anonymous counts keep the statistics.
        texts = list(await s.scalars(select(Question.text)))
        assert texts and not [x for x in texts if str(ALICE) in x]
        after = await stats.collect(s, 30, now=NOW)
        assert (after.questions, after.outcomes, after.per_day, after.top_topics) == (
            before.questions, before.outcomes, before.per_day, before.top_topics)
        assert await s.scalar(select(func.sum(QuestionDaily.answered))) == 2
        # A hand-off ban is the staff's decision, not the student's data: it stays.
        assert await s.get(HandoffBan, ALICE) is not None
        assert await s.scalar(select(func.count()).select_from(DigestPayload)) == 1

    async with sessions() as s:  # twice: nothing more to delete, nothing counted twice
        assert (await privacy.forget_user(s, ALICE)).total == 0
        await s.commit()
        assert (await stats.collect(s, 30, now=NOW)).questions == before.questions


async def seed_history(sessions: async_sessionmaker[AsyncSession], n: int = 400) -> None:
    """``n`` questions spread over 500 days, in two languages, some votes on them."""
    rnd = random.Random(13)
    async with sessions() as s:
        s.add_all([User(id=uid, first_seen=NOW, last_seen=NOW) for uid in (1, 2, 3)])
        await s.flush()
        rows = []
        for i in range(n):
            outcome = rnd.choice(("answered", "answered", "suggested", "fallback"))
            rows.append(Question(
                user_id=rnd.choice((1, 2, 3)), chat_id=1, text=f"q{i}",
                lang=rnd.choice(("en", "ru")),
                matched_id=rnd.choice(("tuition.fees", "visa.process", None)),
                score=40.0, outcome=outcome,
                created_at=NOW - timedelta(minutes=rnd.randint(0, 500 * 24 * 60))))
        s.add_all(rows)
        await s.flush()
        s.add_all([Feedback(user_id=1, chat_id=1, message_id=i, entry_id="tuition.fees",
                            vote=1, question_id=rows[i].id, updated_at=rows[i].created_at)
                   for i in range(0, n, 10)])
        await s.commit()


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple]:
    async with sessions() as s:
        out = {}
        for days in (1, 7, 30, 365, 400, 600):
            st = await stats.collect(s, days, now=NOW)
            out[days] = (st.questions, st.outcomes, st.per_day, st.top_topics, st.votes)
        return out


async def test_purge_keeps_statistics_totals(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_history(sessions)
    before = await snapshot(sessions)
    cutoff = privacy.purge_cutoff(30, NOW)
    assert cutoff == datetime(2026, 11, 3, tzinfo=UTC)  # whole days: midnight UTC
    async with sessions() as s:
        old = await s.scalar(select(func.count()).select_from(Question)
                             .where(Question.created_at < cutoff))
    assert old > 300

    # Small batches (several transactions), and two purges at once as two instances would:
    # each row is counted by the one that deleted it.
    purged = await asyncio.gather(
        privacy.purge_questions(sessions, 30, now=NOW, batch=37),
        privacy.purge_questions(sessions, 30, now=NOW, batch=50))
    assert sum(purged) == old
    async with sessions() as s:
        assert await s.scalar(select(func.min(Question.created_at))) >= cutoff
        assert await s.scalar(select(func.count()).select_from(Question)) == 400 - old
        # Votes stay, no longer linked to a question that is gone.
        assert await s.scalar(select(func.count()).select_from(Feedback)) == 40
    assert await snapshot(sessions) == before

    # Again (the next day's run, or another instance): nothing changes.
    assert await privacy.purge_questions(sessions, 30, now=NOW) == 0
    assert await snapshot(sessions) == before


async def test_purge_off_and_boundaries(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_history(sessions, 50)
    assert await privacy.purge_questions(sessions, None, now=NOW) == 0
    assert await privacy.purge_questions(sessions, 0, now=NOW) == 0
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Question)) == 50
        s.add(Question(user_id=1, chat_id=1, text="just kept", lang="en", matched_id=None,
                       score=0.0, outcome="fallback",
                       created_at=datetime(2026, 11, 3, tzinfo=UTC)))
        s.add(Question(user_id=1, chat_id=1, text="just gone", lang="en", matched_id=None,
                       score=0.0, outcome="fallback",
                       created_at=datetime(2026, 11, 3, tzinfo=UTC) - timedelta(seconds=1)))
        await s.commit()
    await privacy.purge_questions(sessions, 30, now=NOW)
    async with sessions() as s:
        texts = set(await s.scalars(select(Question.text)))
        assert "just kept" in texts and "just gone" not in texts


async def test_daily_purge_is_scheduled_and_runs_after_start(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    from bot.app.retention import DailyPurge
    from bot.config import Config

    await seed_history(sessions, 60)
    async with sessions() as s:
        old = await s.scalar(select(func.count()).select_from(Question).where(
            Question.created_at < privacy.purge_cutoff(30)))
    assert old
    purge = DailyPurge(Config.model_validate({"privacy": {"keep_questions_days": 30}}),
                       sessions, first_run_after=0.05)
    purge.start()
    try:
        job = purge.scheduler.get_job("purge-questions")
        assert str(job.trigger) == "cron[hour='3', minute='30']"
        for _ in range(200):
            if purge.purged:
                break
            await asyncio.sleep(0.05)
        assert purge.purged == old
    finally:
        await purge.stop()
    assert purge.scheduler is None

    kept = DailyPurge(Config.model_validate({"privacy": {"keep_questions_days": 0}}), sessions)
    kept.start()
    assert kept.scheduler is None and await kept.run() == 0
