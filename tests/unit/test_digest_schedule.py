"""Cron slots with time zones (APScheduler's CronTrigger), and the scheduler's jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config, DigestConfig
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.digest import queue, schedule
from bot.digest.schedule import ScheduleError, cron, last_fire, to_apscheduler
from bot.digest.sender import create_digest_client
from bot.digest.service import DigestService, due_runs
from tests.support.harness import TOKEN

MINSK = ZoneInfo("Europe/Minsk")


@pytest.mark.parametrize(("expr", "expected"), [
    ("0 10 * * mon", "0 10 * * mon"),
    ("0 10 * * 1", "0 10 * * mon"),  # cron's Monday (APScheduler's 1 would be Tuesday)
    ("0 10 * * 0", "0 10 * * sun"), ("0 10 * * 7", "0 10 * * sun"),
    ("0 10 * * 1-5", "0 10 * * mon,tue,wed,thu,fri"),
    ("0 10 * * 0,6", "0 10 * * sun,sat"),
    ("0 10 * * */3", "0 10 * * sun,wed,sat"),
    ("30 9 1 * *", "30 9 1 * *"),
])
def test_cron_weekdays_mean_what_cron_means(expr: str, expected: str) -> None:
    assert to_apscheduler(expr) == expected


@pytest.mark.parametrize("expr", ["0 10 * *", "0 10 * * 8", "0 10 * * 5-2", "61 10 * * *"])
def test_bad_expressions(expr: str) -> None:
    with pytest.raises(ScheduleError):
        cron(expr, "UTC")


def test_monday_numeric_and_named_fire_on_monday() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=MINSK)  # a Wednesday
    for expr in ("0 10 * * 1", "0 10 * * mon"):
        fire = last_fire(cron(expr, "Europe/Minsk"), now)
        assert fire == datetime(2026, 11, 23, 10, 0, tzinfo=MINSK) and fire.weekday() == 0
        assert schedule.next_fire(cron(expr, "Europe/Minsk"), now).date().isoformat() == \
            "2026-11-30"


@pytest.mark.parametrize(("local", "expected"), [
    ("2026-11-24T09:59", "2026-11-23T10:00+03:00"),
    ("2026-11-24T10:00", "2026-11-24T10:00+03:00"),
    ("2026-11-24T23:30", "2026-11-24T10:00+03:00"),
])
def test_daily_slot_is_the_last_fire_time_in_the_zone(local: str, expected: str) -> None:
    now = datetime.fromisoformat(local).replace(tzinfo=MINSK).astimezone(UTC)
    fire = last_fire(cron("0 10 * * *", "Europe/Minsk"), now)
    assert schedule.slot_of(fire) == expected


def test_daylight_saving_time_is_the_schedulers_business() -> None:
    berlin = cron("0 10 * * *", "Europe/Berlin")
    before = last_fire(berlin, datetime(2026, 3, 28, 12, tzinfo=UTC))
    after = last_fire(berlin, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert schedule.slot_of(before) == "2026-03-28T10:00+01:00"
    assert schedule.slot_of(after) == "2026-03-29T10:00+02:00"
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)


def test_frequent_and_rare_schedules() -> None:
    now = datetime(2026, 11, 24, 10, 7, 30, tzinfo=UTC)
    assert last_fire(cron("* * * * *", "UTC"), now) == now.replace(second=0)
    assert last_fire(cron("0 0 1 1 *", "UTC"), now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert last_fire(cron("0 0 29 2 *", "UTC"), now) is None  # none within a year
    with pytest.raises(ValueError):
        last_fire(cron("* * * * *", "UTC"), datetime(2026, 1, 1))


def test_slots() -> None:
    now = datetime(2026, 11, 24, 7, 5, 9, tzinfo=UTC)
    assert schedule.forced_slot(now, "Europe/Minsk") == "now:2026-11-24T10:05:09+03:00"
    assert schedule.instant_slot(42) == "instant:42"
    due = schedule.due_slots(DigestConfig(), now)
    assert [(d.kind, d.slot) for d in due] == [("daily", "2026-11-24T10:00+03:00"),
                                              ("weekly", "2026-11-23T10:00+03:00")]
    recent = schedule.due_slots(DigestConfig(), now, max_age=timedelta(hours=6))
    assert [d.kind for d in recent] == ["daily"]


async def test_due_runs_skip_slots_that_ran_and_jobs_are_scheduled(tmp_path: Path) -> None:
    config = Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
        "news": {"feeds": ["http://127.0.0.1:9/feed.xml"], "poll_minutes": 5}})
    engine = create_engine(config.database.url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    now = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)
    try:
        assert len(await due_runs(config, sessions, now)) == 2
        service = DigestService(config, sessions, create_digest_client(config, token=TOKEN),
                                own_client=True)
        summary = await service.run_scheduled("daily", now=now)
        assert summary.sent == 0
        assert [d.kind for d in await due_runs(config, sessions, now)] == ["weekly"]
        run = await queue.get_run(sessions, "daily", "2026-11-24T10:00+03:00")
        assert run is not None and run.status == "done"

        sched = service._build_scheduler()
        sched.start(paused=True)
        try:
            jobs = {j.id: j for j in sched.get_jobs()}
            assert set(jobs) == {"digest-daily", "digest-weekly", "digest-instant",
                                 "news-feeds"}
            daily = jobs["digest-daily"].next_run_time
            assert daily.utcoffset() == timedelta(hours=3) and (daily.hour, daily.minute) == (
                10, 0)
            assert jobs["digest-weekly"].next_run_time.weekday() == 0
            assert jobs["digest-instant"].trigger.interval == timedelta(seconds=20)
            assert jobs["news-feeds"].trigger.interval == timedelta(minutes=5)
        finally:
            sched.shutdown(wait=False)
        await service.stop()
    finally:
        await engine.dispose()
