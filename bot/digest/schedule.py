"""When digests are due: cron expressions with a time zone, via APScheduler's CronTrigger.

Slots name a run: the cron fire time in ISO format with its UTC offset (``daily`` /
``weekly``: "2026-11-24T10:00+03:00"), the highest news id for instant runs
("instant:42"), the moment for forced runs ("now:2026-11-24T10:03:12+03:00"). Because
``digest_runs`` is unique on (kind, slot), a restarted process, a second instance or a
``digest send`` from cron all land on the same run for a slot instead of starting another.

APScheduler 3 numbers weekdays from Monday = 0, while cron (and config.yaml's comment)
means Sunday = 0 or 7 and Monday = 1: a numeric weekday field is translated to names
first, so "0 10 * * 1" fires on Mondays as any cron user expects.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.config import DigestConfig

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

SCHEDULED_KINDS: Final[tuple[str, ...]] = ("daily", "weekly")
_DAY_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LOOKBACK: Final = (timedelta(hours=2), timedelta(days=2), timedelta(days=9),
                    timedelta(days=32), timedelta(days=367))


class ScheduleError(ValueError):
    pass


def _weekday_part(part: str) -> list[str]:
    """One comma-separated element of a cron weekday field -> APScheduler names."""
    if re.search(r"[a-zA-Z]", part) or not re.search(r"\d", part):
        return [part]  # names ("mon-fri") and "*" mean the same to both
    m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
    if not m:
        raise ScheduleError(f"bad weekday field element {part!r}")
    base, step = m.group(1), int(m.group(2) or 1)
    if base == "*":
        lo, hi = 0, 6
    elif "-" in base:
        lo, hi = (int(x) for x in base.split("-"))
    else:
        lo = hi = int(base)
        if m.group(2):
            hi = 7
    if not (0 <= lo <= 7 and 0 <= hi <= 7 and lo <= hi and step >= 1):
        raise ScheduleError(f"bad weekday field element {part!r} (0-7, Sunday = 0 or 7)")
    return [_DAY_NAMES[d] for d in range(lo, hi + 1, step)]


def to_apscheduler(expr: str) -> str:
    """A standard 5-field crontab with cron's weekday numbering, as APScheduler reads it."""
    fields = expr.split()
    if len(fields) != 5:
        raise ScheduleError(f"{expr!r}: a cron expression has 5 fields "
                            "(minute hour day month weekday)")
    days: list[str] = []
    for part in fields[4].split(","):
        for name in _weekday_part(part):
            if name not in days:
                days.append(name)
    fields[4] = ",".join(days)
    return " ".join(fields)


def cron(expr: str, timezone: str | ZoneInfo) -> CronTrigger:
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    try:
        return CronTrigger.from_crontab(to_apscheduler(expr), timezone=tz)
    except ValueError as exc:
        raise ScheduleError(f"{expr!r}: {exc}") from exc


def triggers(cfg: DigestConfig) -> dict[str, CronTrigger]:
    return {"daily": cron(cfg.daily, cfg.timezone), "weekly": cron(cfg.weekly, cfg.timezone)}


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> Iterator[datetime]:
    """Fire times in [start, end]."""
    t = trigger.get_next_fire_time(None, start)
    while t is not None and t <= end:
        yield t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))


def last_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent fire time at or before ``now`` (within a year), or None."""
    _aware(now)
    for back in _LOOKBACK:
        last = None
        for last in fire_times(trigger, now - back, now):  # noqa: B007 - keep the last one
            pass
        if last is not None:
            return last
    return None


def next_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    return trigger.get_next_fire_time(None, _aware(now))


def slot_of(fire: datetime) -> str:
    """"2026-11-24T10:00+03:00": the fire time in the schedule's zone."""
    return fire.isoformat(timespec="minutes")


def instant_slot(upto: int) -> str:
    return f"instant:{upto}"


def forced_slot(now: datetime, timezone: str) -> str:
    return "now:" + _aware(now).astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Due:
    kind: str
    slot: str
    fire: datetime


def due_slots(cfg: DigestConfig, now: datetime,
              max_age: timedelta | None = None) -> list[Due]:
    """The latest daily and weekly slot at or before ``now`` (optionally no older than
    ``max_age``); whether they already ran is the database's business (:func:`due_runs`)."""
    found = []
    for kind, trigger in triggers(cfg).items():
        fire = last_fire(trigger, now)
        if fire is None or (max_age is not None and now - fire > max_age):
            continue
        found.append(Due(kind, slot_of(fire), fire))
    return found


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return now


# --- the running bot's jobs ------------------------------------------------------------------


def build_scheduler(cfg: DigestConfig, *, scheduled: Callable[[str], Awaitable[None]],
                    instant: Callable[[], Awaitable[None]],
                    feeds: Callable[[], Awaitable[None]] | None = None,
                    feed_minutes: float = 15.0) -> AsyncIOScheduler:
    """APScheduler (not started yet) in ``cfg.timezone``: ``scheduled(kind)`` on each
    kind's cron trigger, ``instant()`` every ``cfg.instant_check_seconds``, and ``feeds()``
    every ``feed_minutes`` (the first a second from now) when given. Overlapping and
    missed firings are coalesced into one."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    tz = ZoneInfo(cfg.timezone)
    # APScheduler logs every execution at INFO: every 20 s for the instant check.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    sched = AsyncIOScheduler(timezone=tz, event_loop=asyncio.get_running_loop())
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600,
              "replace_existing": True}
    for kind, trigger in triggers(cfg).items():
        sched.add_job(scheduled, trigger, args=[kind], id=f"digest-{kind}", **common)
    sched.add_job(instant, IntervalTrigger(seconds=cfg.instant_check_seconds, timezone=tz),
                  id="digest-instant", **common)
    if feeds is not None:
        sched.add_job(feeds, IntervalTrigger(minutes=feed_minutes, timezone=tz),
                      id="news-feeds", next_run_time=datetime.now(tz) + timedelta(seconds=1),
                      **common)
    return sched
