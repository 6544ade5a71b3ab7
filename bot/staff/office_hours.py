"""Office hours of the admissions team (``staff.office_hours``): is the office open at a
given moment, and when does it open next. Pure functions of the configuration and a time;
the hand-off tells a student outside office hours when to expect the reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import OfficeHoursConfig, parse_clock, parse_weekdays


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int]  # Monday 0 … Sunday 6
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, > start (1440 = midnight)
    zone: ZoneInfo

    @classmethod
    def from_config(cls, config: OfficeHoursConfig) -> OfficeHours:
        return cls(parse_weekdays(config.days), parse_clock(config.start),
                   parse_clock(config.end), ZoneInfo(config.timezone))

    def local(self, now: datetime) -> datetime:
        """``now`` (aware; naive means UTC) in the office's time zone."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return now.astimezone(self.zone)

    def is_open(self, now: datetime) -> bool:
        """Open from ``start`` (inclusive) to ``end`` (exclusive) on the working days."""
        here = self.local(now)
        minute = here.hour * 60 + here.minute
        return here.weekday() in self.days and self.start <= minute < self.end

    def next_opening(self, now: datetime) -> datetime:
        """The next moment the office opens (local time), ``now`` itself when open."""
        here = self.local(now)
        if self.is_open(here):
            return here
        minute = here.hour * 60 + here.minute
        for ahead in range(8):
            day = here.date() + timedelta(days=ahead)
            if day.weekday() not in self.days or (ahead == 0 and minute >= self.start):
                continue
            naive = datetime(day.year, day.month, day.day) + timedelta(minutes=self.start)
            return naive.replace(tzinfo=self.zone)
        raise AssertionError("office hours without a working day")  # config validation

    def day_ranges(self) -> list[tuple[int, int]]:
        """The working days as runs of consecutive days, Monday first: mon-fri,sun ->
        [(0, 4), (6, 6)] (a run does not wrap past Sunday)."""
        runs: list[tuple[int, int]] = []
        for day in sorted(self.days):
            if runs and runs[-1][1] == day - 1:
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        return runs

    def utc_offset(self, now: datetime) -> str:
        """"UTC+3", "UTC-3:30", "UTC" at ``now`` (the offset changes with summer time)."""
        offset = self.local(now).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        if not minutes:
            return "UTC"
        sign = "+" if minutes > 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def clock(minutes: int) -> str:
    """Minutes after midnight -> "09:00" ("24:00" for the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
