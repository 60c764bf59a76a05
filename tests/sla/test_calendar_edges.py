"""Edges of the calendar each stated by one example: whole error messages, the ends of
the supported years, offset changes to the microsecond, holidays at a year's turn.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from issuecore._sla.calendar import BusinessCalendar
from issuecore.errors import (
    CalendarNeverOpensError,
    EmptyIntervalError,
    InvalidHolidayError,
    InvalidTimeError,
    UnreachableDeadlineError,
)

OFFICE_HOURS = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
MICRO = timedelta(microseconds=1)
ACCEPTED = (
    "; write 'HH:MM' or 'HH:MM:SS' (00:00 to 23:59:59, and '24:00' only as the end of an "
    "interval) or pass a datetime.time"
)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


# Whole error messages: a wrong word in any of them is a wrong message.


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("9am", "invalid time '9am': not in the form HH:MM or HH:MM:SS"),
        ("25:00", "invalid time '25:00': hour, minute or second out of range"),
        ("24:00", "invalid time '24:00': 24:00 can only end an interval"),
        (9.5, "invalid time 9.5: a float is no time"),
        (
            time(9, tzinfo=UTC),
            "invalid time datetime.time(9, 0, tzinfo=datetime.timezone.utc): "
            "a working time carries no zone",
        ),
    ],
)
def test_a_bad_start_time_is_refused_with_the_whole_message(start: object, message: str) -> None:
    with pytest.raises(InvalidTimeError) as raised:
        BusinessCalendar(timezone="UTC", hours={"mon": [(start, "17:00")]})  # type: ignore[list-item]
    assert str(raised.value) == message + ACCEPTED


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ("09:00-17:00", "invalid time '09:00-17:00': give a list of (start, end) pairs"),
        ([("09:00",)], "invalid time ('09:00',): an interval is a (start, end) pair"),
        (["ab"], "invalid time 'ab': an interval is a (start, end) pair"),
        ([5], "invalid time 5: an interval is a (start, end) pair"),
    ],
)
def test_hours_that_are_not_pairs_are_refused_with_the_whole_message(
    intervals: object, message: str
) -> None:
    with pytest.raises(InvalidTimeError) as raised:
        BusinessCalendar(timezone="UTC", hours={"mon": intervals})  # type: ignore[dict-item]
    assert str(raised.value) == message + ACCEPTED


def test_an_empty_override_interval_names_its_date() -> None:
    with pytest.raises(EmptyIntervalError) as raised:
        BusinessCalendar(
            timezone="UTC", hours=OFFICE_HOURS, overrides={date(2026, 3, 2): [("10:00", "10:00")]}
        )
    assert str(raised.value).startswith("interval 10:00-10:00 on 2026-03-02 starts where it ends;")


@pytest.mark.parametrize("where", ["holidays", "overrides"])
def test_a_date_given_as_text_is_refused_naming_it(where: str) -> None:
    given = {"holidays": ["2026-12-24"], "overrides": {"2026-12-24": []}}[where]
    with pytest.raises(InvalidHolidayError) as raised:
        BusinessCalendar(timezone="UTC", hours=OFFICE_HOURS, **{where: given})  # type: ignore[arg-type]
    assert str(raised.value).startswith(
        "holidays must be datetime.date values, got '2026-12-24'; a datetime would be"
    )


def test_a_calendar_that_never_opens_is_refused_naming_its_zone() -> None:
    with pytest.raises(CalendarNeverOpensError) as raised:
        BusinessCalendar(timezone="Europe/Paris", hours={})
    assert str(raised.value).startswith("the calendar in Europe/Paris never opens: no weekday")


# Wall times with minutes and seconds are read exactly.


def test_a_time_of_day_with_minutes_and_seconds_is_read_exactly() -> None:
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    calendar = BusinessCalendar(timezone="UTC", hours={"mon": [(time(9, 30, 15, 5), "10:45:30")]})
    opening = monday + timedelta(hours=9, minutes=30, seconds=15, microseconds=5)
    closing = monday + timedelta(hours=10, minutes=45, seconds=30)
    assert not calendar.is_open(opening - MICRO)
    assert calendar.is_open(opening)
    assert calendar.between(monday, monday + timedelta(days=1)) == closing - opening


# A fresh calendar: the first question asked is answered like any later one.


def test_a_fresh_calendar_finds_the_opening_after_the_first_instant_of_a_year() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours=OFFICE_HOURS)
    new_year = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    assert calendar.next_open(new_year) == datetime(2026, 1, 1, 9, tzinfo=UTC)


def test_a_fresh_calendar_adds_from_the_unix_epoch() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert BusinessCalendar.always_open().add(epoch, timedelta(hours=1)) == epoch + timedelta(
        hours=1
    )


# The ends of the supported years.


def test_the_last_microseconds_of_year_9999_are_counted() -> None:
    calendar = BusinessCalendar.always_open()
    assert calendar.is_open(LAST_INSTANT)
    assert calendar.between(LAST_INSTANT - 2 * MICRO, LAST_INSTANT) == 2 * MICRO


def test_adding_past_the_last_microsecond_of_year_9999_is_refused() -> None:
    with pytest.raises(UnreachableDeadlineError, match="outside the years 1 to 9999"):
        BusinessCalendar.always_open().add(LAST_INSTANT, 2 * MICRO)


def test_a_deadline_at_the_very_end_of_year_9999_is_refused() -> None:
    # The deadline is the instant right after the last one a datetime holds.
    with pytest.raises(UnreachableDeadlineError, match="outside the years 1 to 9999"):
        BusinessCalendar.always_open().add(LAST_INSTANT, MICRO)


def test_a_deadline_past_year_9999_on_the_zones_clock_is_refused() -> None:
    # Still in year 9999 in UTC, already in year 10000 in Auckland.
    calendar = BusinessCalendar(
        timezone="Pacific/Auckland", hours={day: [("00:00", "24:00")] for day in range(7)}
    )
    with pytest.raises(UnreachableDeadlineError, match="outside the years 1 to 9999"):
        calendar.add(LAST_INSTANT - timedelta(hours=5), timedelta(hours=1))
    with pytest.raises(UnreachableDeadlineError, match="outside the years 1 to 9999"):
        calendar.add(LAST_INSTANT - timedelta(hours=1), timedelta(0))
    with pytest.raises(UnreachableDeadlineError, match="outside the years 1 to 9999"):
        calendar.next_open(LAST_INSTANT - timedelta(hours=1))
    # A deadline at the zone's last microsecond of year 9999 is given.
    deadline = calendar.add(LAST_INSTANT - timedelta(hours=14), timedelta(hours=1))
    assert deadline.replace(tzinfo=None) == datetime.max


# Offset changes and holidays, to the microsecond.


def test_the_spring_forward_takes_effect_at_its_exact_microsecond() -> None:
    # 2026-03-29 01:00 UTC: Berlin's wall clock jumps from 02:00 to 03:00.
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours={"sun": [("03:00", "04:00")]})
    jump = datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert not calendar.is_open(jump - MICRO)
    assert calendar.is_open(jump)
    assert calendar.next_open(jump - timedelta(hours=1)) == jump


def test_a_half_hour_spring_forward_takes_effect_at_its_exact_microsecond() -> None:
    # 2026-10-03 15:30 UTC: Lord Howe's wall clock jumps from 02:00 to 02:30 (+10:30 to +11).
    calendar = BusinessCalendar(timezone="Australia/Lord_Howe", hours={"sun": [("02:30", "03:00")]})
    jump = datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    assert not calendar.is_open(jump - MICRO)
    assert calendar.is_open(jump)
    assert calendar.between(jump - timedelta(hours=1), jump + MICRO) == MICRO


def test_a_new_year_holiday_east_of_utc_closes_hours_in_the_utc_year_before() -> None:
    # 2026-01-01 09:00 in Auckland (+13) is 2025-12-31 20:00 UTC.
    auckland = ZoneInfo("Pacific/Auckland")
    calendar = BusinessCalendar(
        timezone="Pacific/Auckland", hours=OFFICE_HOURS, holidays=[date(2026, 1, 1)]
    )
    assert not calendar.is_open(datetime(2026, 1, 1, 9, tzinfo=auckland))
    assert calendar.next_open(datetime(2026, 1, 1, 9, tzinfo=auckland)) == datetime(
        2026, 1, 2, 9, tzinfo=auckland
    )


def test_a_holiday_before_1970_west_of_utc_is_kept() -> None:
    # Instants, offsets and weekly counts before 1970 are negative numbers.
    new_york = ZoneInfo("America/New_York")
    calendar = BusinessCalendar(
        timezone="America/New_York", hours=OFFICE_HOURS, holidays=[date(1969, 7, 4)]
    )
    thursday = datetime(1969, 7, 3, 9, tzinfo=new_york)
    assert calendar.add(thursday, timedelta(hours=9)) == datetime(1969, 7, 7, 10, tzinfo=new_york)
    assert calendar.is_open(datetime(1969, 7, 3, 16, 59, tzinfo=new_york))
    assert not calendar.is_open(datetime(1969, 7, 4, 12, tzinfo=new_york))


def test_a_sunday_night_shift_is_open_from_monday_midnight_exactly() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"sun": [("22:00", "02:00")]})
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert calendar.is_open(monday)
    assert calendar.between(monday, monday + timedelta(hours=3)) == timedelta(hours=2)
    assert calendar.between(monday - MICRO, monday + MICRO) == 2 * MICRO
