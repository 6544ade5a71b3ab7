"""Office hours (staff.office_hours): validation, open/closed at the boundaries, time zones,
weekends, the next opening, and the notice a student gets outside them (en and ru)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from bot.config import Config, OfficeHoursConfig, parse_clock, parse_weekdays
from bot.i18n import Translator
from bot.staff.office_hours import OfficeHours, clock
from handlers.handoff import office_hours_notice

MINSK = ZoneInfo("Europe/Minsk")  # UTC+3 all year


def hours(**kw) -> OfficeHours:
    return OfficeHours.from_config(OfficeHoursConfig(**kw))


def minsk(day: int, hh: int, mm: int = 0) -> datetime:
    """December 2026: Monday the 7th ... Sunday the 13th."""
    return datetime(2026, 12, day, hh, mm, tzinfo=MINSK)


# --- configuration -----------------------------------------------------------------------------


def test_weekdays_ranges_lists_and_wrapping() -> None:
    assert parse_weekdays("mon-fri") == {0, 1, 2, 3, 4}
    assert parse_weekdays("mon-fri,sat") == {0, 1, 2, 3, 4, 5}
    assert parse_weekdays("Mon, Wed ,fri") == {0, 2, 4}
    assert parse_weekdays("fri-mon") == {4, 5, 6, 0}
    assert parse_weekdays("sun") == {6}
    for bad in ("", "monday", "mon-", "mon-xyz", "mon,,fri", "1-5"):
        with pytest.raises(ValueError, match="not a weekday"):
            parse_weekdays(bad)


def test_clock() -> None:
    assert parse_clock("09:00") == 540
    assert parse_clock("9:30") == 570
    assert parse_clock("24:00") == 1440
    for bad in ("24:01", "25:00", "9", "09:60", "nine", "09:00:00"):
        with pytest.raises(ValueError, match="not a time of day"):
            parse_clock(bad)
    assert (clock(540), clock(1440), clock(0)) == ("09:00", "24:00", "00:00")


def test_config_defaults_absent_and_validation_messages() -> None:
    assert Config().staff.office_hours is None  # absent: no notice
    cfg = Config.model_validate({"staff": {"office_hours": {}}}).staff.office_hours
    assert (cfg.days, cfg.start, cfg.end, cfg.timezone) == (
        "mon-fri", "09:00", "17:00", "Europe/Minsk")

    def error(section: dict) -> str:
        with pytest.raises(ValidationError) as info:
            Config.model_validate({"staff": {"office_hours": section}})
        (err,) = info.value.errors()
        assert err["loc"][:2] == ("staff", "office_hours")
        return str(err["msg"])

    assert "start 17:00 must be before end 09:00" in error({"start": "17:00", "end": "09:00"})
    assert "start 09:00 must be before end 09:00" in error({"start": "09:00", "end": "09:00"})
    assert "unknown time zone 'Mars/Olympus'" in error({"timezone": "Mars/Olympus"})
    assert "'mon-fry' is not a weekday" in error({"days": "mon-fry"})
    assert "'9am' is not a time of day" in error({"start": "9am"})
    # YAML reads an unquoted 17:00 as 1020 (base 60): say to quote it.
    unquoted = yaml.safe_load("days: mon-fri\nstart: \"09:00\"\nend: 17:00\n")
    assert unquoted["end"] == 1020
    assert 'end: write the time in quotes, e.g. "17:00"' in error(unquoted)


# --- open or closed ----------------------------------------------------------------------------


def test_boundaries_start_inclusive_end_exclusive() -> None:
    h = hours()
    assert not h.is_open(minsk(7, 8, 59))
    assert h.is_open(minsk(7, 9, 0))
    assert h.is_open(minsk(7, 16, 59))
    assert not h.is_open(minsk(7, 17, 0))
    assert h.is_open(minsk(11, 12))  # Friday
    assert not h.is_open(minsk(7, 0, 0))


def test_weekend_is_closed_and_next_opening_is_monday() -> None:
    h = hours()
    assert not h.is_open(minsk(12, 12))  # Saturday noon
    assert not h.is_open(minsk(13, 10))  # Sunday
    assert h.next_opening(minsk(12, 12)) == minsk(14, 9)
    assert h.next_opening(minsk(11, 17, 0)) == minsk(14, 9)  # Friday closing time
    assert h.next_opening(minsk(7, 7, 30)) == minsk(7, 9)  # later today
    assert h.next_opening(minsk(7, 18)) == minsk(8, 9)  # tomorrow
    assert h.next_opening(minsk(8, 10)) == minsk(8, 10)  # open: now


def test_time_zone_of_the_office_not_of_the_server() -> None:
    h = hours()  # Europe/Minsk, UTC+3
    assert h.is_open(datetime(2026, 12, 7, 6, 0, tzinfo=UTC))  # 09:00 in Minsk
    assert not h.is_open(datetime(2026, 12, 7, 5, 59, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))  # 17:00 in Minsk
    assert h.is_open(datetime(2026, 12, 7, 6, 0))  # naive means UTC
    # Sunday 22:00 UTC is already Monday 01:00 in Minsk: it opens the same local day.
    assert h.next_opening(datetime(2026, 12, 13, 22, 0, tzinfo=UTC)) == minsk(14, 9)
    tokyo = hours(timezone="Asia/Tokyo")  # Monday 09:00 in Tokyo is Monday 00:00 UTC
    assert tokyo.is_open(datetime(2026, 12, 7, 0, 0, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 12, 7, 0, 0, tzinfo=UTC))


def test_summer_time_moves_the_utc_offset() -> None:
    berlin = hours(timezone="Europe/Berlin")
    july, january = datetime(2026, 7, 6, 7, 0, tzinfo=UTC), datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert berlin.is_open(july) and berlin.is_open(january)  # 09:00 local both times
    assert not berlin.is_open(datetime(2026, 7, 6, 6, 59, tzinfo=UTC))
    assert (berlin.utc_offset(july), berlin.utc_offset(january)) == ("UTC+2", "UTC+1")
    assert hours().utc_offset(july) == "UTC+3"
    assert hours(timezone="Asia/Kolkata").utc_offset(july) == "UTC+5:30"
    assert hours(timezone="America/St_Johns").utc_offset(january) == "UTC-3:30"
    assert hours(timezone="UTC").utc_offset(july) == "UTC"


def test_odd_schedules() -> None:
    whole_day = hours(days="mon-sun", start="00:00", end="24:00")
    assert whole_day.is_open(minsk(13, 23, 59)) and whole_day.is_open(minsk(7, 0, 0))
    sundays = hours(days="sun", start="10:00", end="12:00")
    assert sundays.next_opening(minsk(13, 12)) == minsk(20, 10)  # a week later
    assert hours(days="mon-fri,sun").day_ranges() == [(0, 4), (6, 6)]
    assert hours(days="mon,wed,thu").day_ranges() == [(0, 0), (2, 3)]


# --- what the student reads --------------------------------------------------------------------


def test_notice_in_english_and_russian() -> None:
    translator = Translator()
    en, ru = translator.for_lang("en"), translator.for_lang("ru")
    config = Config.model_validate({"staff": {"office_hours": {
        "days": "mon-fri", "start": "09:00", "end": "17:00", "timezone": "Europe/Minsk"}}})
    assert office_hours_notice(config, en, minsk(8, 10)) is None  # open
    assert office_hours_notice(Config(), en, minsk(12, 12)) is None  # no office hours
    assert office_hours_notice(config, en, minsk(12, 12)) == (
        "🕘 The team answers Mon–Fri, 09:00–17:00 (UTC+3). It is outside those hours now: "
        "expect the reply after they open (Mon at 09:00).")
    assert office_hours_notice(config, ru, minsk(12, 12)) == (
        "🕘 Приёмная комиссия отвечает пн–пт, 09:00–17:00 (UTC+3). Сейчас нерабочее время: "
        "ответ придёт после открытия (пн, 09:00).")
    assert office_hours_notice(config, en, minsk(7, 7)).endswith("(today at 09:00).")
    assert office_hours_notice(config, ru, minsk(7, 18)).endswith("(завтра в 09:00).")
    sat = Config.model_validate({"staff": {"office_hours": {"days": "mon-fri,sun",
                                                             "end": "13:30"}}})
    assert office_hours_notice(sat, en, minsk(12, 12)).startswith(
        "🕘 The team answers Mon–Fri, Sun, 09:00–13:30 (UTC+3).")
