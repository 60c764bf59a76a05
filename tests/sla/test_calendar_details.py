"""Details of the calendar each stated by a test: messages, identity and pass-through arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from issuecore._sla.calendar import BusinessCalendar
from issuecore.errors import (
    CalendarNeverOpensError,
    InvalidHolidayError,
    InvalidTimeError,
    NaiveDatetimeError,
    NegativeDurationError,
    UnknownTimezoneError,
    UnreachableDeadlineError,
)

BERLIN = "Europe/Berlin"
OFFICE_HOURS = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
NAIVE = datetime(2026, 3, 2, 9)
AWARE = datetime(2026, 3, 2, 9, tzinfo=UTC)


def office() -> BusinessCalendar:
    return BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)


def test_subtract_names_its_naive_argument() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^at must be timezone-aware"):
        office().subtract(NAIVE, timedelta(hours=1))


def test_next_open_names_its_naive_argument() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^at must be timezone-aware"):
        office().next_open(NAIVE)


def test_add_names_its_naive_argument() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^start must be timezone-aware"):
        office().add(NAIVE, timedelta(hours=1))


def test_subtract_refuses_a_negative_duration_and_points_to_add() -> None:
    with pytest.raises(
        NegativeDurationError,
        match=r"^duration must not be negative, .*; use add\(\) to go forward$",
    ):
        office().subtract(AWARE, timedelta(hours=-1))


def test_add_refuses_a_negative_duration_and_points_to_subtract() -> None:
    with pytest.raises(
        NegativeDurationError,
        match=r"^duration must not be negative, .*; use subtract\(\) to go back$",
    ):
        office().add(AWARE, timedelta(hours=-1))


@pytest.mark.parametrize("method", ["add", "subtract"])
def test_a_duration_that_is_not_a_timedelta_is_refused_by_name(method: str) -> None:
    with pytest.raises(TypeError, match=r"^duration must be a timedelta, got int$"):
        getattr(office(), method)(AWARE, 3600)


def test_next_open_past_the_last_override_names_the_one_microsecond_it_looked_for() -> None:
    only_one_day = BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 3, 2): [("09:00", "17:00")]}
    )
    with pytest.raises(UnreachableDeadlineError, match=r"ahead to cover 0:00:00\.000001:"):
        only_one_day.next_open(datetime(2026, 3, 3, tzinfo=UTC))


def test_subtract_past_the_first_override_names_the_duration_it_looked_for() -> None:
    only_one_day = BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 3, 2): [("09:00", "17:00")]}
    )
    with pytest.raises(UnreachableDeadlineError, match=r"before to cover 9:00:00:"):
        only_one_day.subtract(datetime(2026, 3, 3, tzinfo=UTC), timedelta(hours=9))


def test_the_repr_states_zone_weekly_hours_holidays_and_overrides() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN,
        hours=OFFICE_HOURS,
        holidays=[date(2026, 12, 25), date(2026, 12, 26)],
        overrides={date(2026, 12, 24): [("09:00", "12:00")]},
    )
    assert repr(calendar) == (
        "BusinessCalendar(timezone='Europe/Berlin', weekly_hours=1 day, 16:00:00, "
        "holidays=2, overrides=1)"
    )


def test_calendars_differing_only_in_overrides_are_not_equal() -> None:
    with_override = BusinessCalendar(
        timezone=BERLIN, hours=OFFICE_HOURS, overrides={date(2026, 12, 24): [("09:00", "12:00")]}
    )
    assert with_override != office()
    assert with_override == BusinessCalendar(
        timezone=BERLIN, hours=OFFICE_HOURS, overrides={date(2026, 12, 24): [("09:00", "12:00")]}
    )


def test_different_calendars_hash_apart_so_they_spread_in_a_dict() -> None:
    calendars = [
        office(),
        BusinessCalendar(timezone="UTC", hours=OFFICE_HOURS),
        BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS, holidays=[date(2026, 12, 25)]),
    ]
    assert len({hash(calendar) for calendar in calendars}) == 3
    assert hash(office()) == hash(office())


def test_country_calendar_takes_the_subdivisions_holidays() -> None:
    bavaria = BusinessCalendar.from_country(
        "DE", subdivision="BY", timezone=BERLIN, hours=OFFICE_HOURS, years=[2026]
    )
    epiphany = datetime(2026, 1, 6, 10, tzinfo=UTC)  # a Tuesday, a holiday in Bavaria only
    assert not bavaria.is_open(epiphany)
    berlin = BusinessCalendar.from_country("DE", timezone=BERLIN, hours=OFFICE_HOURS, years=[2026])
    assert berlin.is_open(epiphany)


def test_country_calendar_keeps_the_overrides_given() -> None:
    calendar = BusinessCalendar.from_country(
        "DE",
        timezone=BERLIN,
        hours=OFFICE_HOURS,
        years=[2026],
        overrides={date(2026, 12, 24): [("09:00", "12:00")]},
    )
    assert calendar.is_open(datetime(2026, 12, 24, 10, tzinfo=UTC))  # 11:00 in Berlin
    assert not calendar.is_open(datetime(2026, 12, 24, 12, tzinfo=UTC))  # 13:00 in Berlin


def utc_office() -> BusinessCalendar:
    return BusinessCalendar(timezone="UTC", hours=OFFICE_HOURS)


def test_add_reaches_the_last_working_day_of_year_9999() -> None:
    thursday = datetime(9999, 12, 30, 9, tzinfo=UTC)
    assert utc_office().add(thursday, timedelta(hours=16)) == datetime(9999, 12, 31, 17, tzinfo=UTC)


def test_add_reaches_from_year_9998_into_year_9999() -> None:
    thursday = datetime(9998, 12, 31, 9, tzinfo=UTC)
    assert utc_office().add(thursday, timedelta(hours=16)) == datetime(9999, 1, 1, 17, tzinfo=UTC)


def test_subtract_reaches_from_year_2_back_into_year_1() -> None:
    tuesday = datetime(2, 1, 1, 17, tzinfo=UTC)
    assert utc_office().subtract(tuesday, timedelta(hours=16)) == datetime(1, 12, 31, 9, tzinfo=UTC)


def test_add_past_year_9999_is_refused_naming_zone_and_duration() -> None:
    thursday = datetime(9999, 12, 30, 9, tzinfo=UTC)
    with pytest.raises(
        UnreachableDeadlineError,
        match=r"^covering 1 day, 0:00:00 in the calendar in UTC would end outside the years 1 to",
    ):
        utc_office().add(thursday, timedelta(hours=24))


def test_subtract_reaches_the_first_working_day_of_year_1() -> None:
    tuesday = datetime(1, 1, 2, 17, tzinfo=UTC)
    assert utc_office().subtract(tuesday, timedelta(hours=16)) == datetime(1, 1, 1, 9, tzinfo=UTC)


def test_subtract_before_year_1_is_refused_naming_zone_and_duration() -> None:
    tuesday = datetime(1, 1, 2, 17, tzinfo=UTC)
    with pytest.raises(
        UnreachableDeadlineError, match=r"^covering 1 day, 0:00:00 in the calendar in UTC would end"
    ):
        utc_office().subtract(tuesday, timedelta(hours=24))


def test_add_past_the_last_override_names_the_duration_it_looked_for() -> None:
    only_one_day = BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 3, 2): [("09:00", "17:00")]}
    )
    with pytest.raises(
        UnreachableDeadlineError,
        match=r"^the calendar in Europe/Berlin has too little open time ahead to cover 9:00:00:",
    ):
        only_one_day.add(datetime(2026, 3, 2, tzinfo=UTC), timedelta(hours=9))


def test_between_names_its_naive_arguments() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^a must be timezone-aware"):
        office().between(NAIVE, AWARE)
    with pytest.raises(NaiveDatetimeError, match=r"^b must be timezone-aware"):
        office().between(AWARE, NAIVE)


def test_a_negative_duration_is_named_with_its_value() -> None:
    with pytest.raises(
        NegativeDurationError, match=r"^duration must not be negative, got -1 day, 23:00:00;"
    ):
        office().add(AWARE, timedelta(hours=-1))


def test_a_deadline_at_the_last_closing_of_a_year_is_found_after_a_later_year_was_used() -> None:
    # The calendar remembers the year it last reached into; a target of exactly
    # the open time before that year lies in the year before it.
    calendar = utc_office()
    assert calendar.add(datetime(2026, 6, 1, 9, tzinfo=UTC), timedelta(hours=1)) == datetime(
        2026, 6, 1, 10, tzinfo=UTC
    )
    new_years_eve = datetime(2025, 12, 31, 9, tzinfo=UTC)  # a Wednesday
    assert calendar.add(new_years_eve, timedelta(hours=8)) == datetime(2025, 12, 31, 17, tzinfo=UTC)


def test_subtract_one_microsecond_past_the_first_year_it_knows_reaches_the_year_before() -> None:
    # A new calendar knows only the year of ``at``; the result is one microsecond
    # before that year's first opening, so the year before must be looked up.
    friday = datetime(2026, 1, 2, 17, tzinfo=UTC)  # the 1st, a Thursday, and the 2nd: 16h
    result = utc_office().subtract(friday, timedelta(hours=16, microseconds=1))
    assert result == datetime(2025, 12, 31, 16, 59, 59, 999999, tzinfo=UTC)


def test_an_override_whose_opening_falls_in_the_utc_year_before_is_reached() -> None:
    # Only New Year's Day 00:00-01:00 in Berlin is open: 23:00-24:00 UTC the day before.
    new_year = BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 1, 1): [("00:00", "01:00")]}
    )
    result = new_year.subtract(datetime(2026, 1, 2, tzinfo=UTC), timedelta(minutes=30))
    assert result == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)


def test_an_override_whose_opening_falls_in_the_utc_year_after_is_reached() -> None:
    # Only New Year's Eve 23:00-24:00 in New York is open: 04:00-05:00 UTC the day after.
    new_years_eve = BusinessCalendar(
        timezone="America/New_York", hours={}, overrides={date(2026, 12, 31): [("23:00", "24:00")]}
    )
    result = new_years_eve.add(datetime(2026, 12, 31, tzinfo=UTC), timedelta(minutes=30))
    assert result == datetime(2027, 1, 1, 4, 30, tzinfo=UTC)


# Reading working hours: every form and every edge of the accepted range.

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # midnight UTC of a Monday


def monday_hours(start: object, end: object) -> BusinessCalendar:
    return BusinessCalendar(timezone="UTC", hours={"mon": [(start, end)]})  # type: ignore[list-item]


def test_seconds_in_working_hours_are_read_to_the_microsecond() -> None:
    calendar = monday_hours("09:00:30", " 09:00:45 ")
    opening, closing = (
        MONDAY + timedelta(hours=9, seconds=30),
        MONDAY + timedelta(hours=9, seconds=45),
    )
    assert not calendar.is_open(opening - timedelta(microseconds=1))
    assert calendar.is_open(opening)
    assert calendar.is_open(closing - timedelta(microseconds=1))
    assert not calendar.is_open(closing)


def test_times_of_day_are_read_with_their_microseconds() -> None:
    calendar = monday_hours(time(9, 0, 1, 5), time(9, 0, 2))
    opening = MONDAY + timedelta(hours=9, seconds=1, microseconds=5)
    assert not calendar.is_open(opening - timedelta(microseconds=1))
    assert calendar.is_open(opening)
    assert calendar.between(MONDAY, MONDAY + timedelta(days=1)) == timedelta(microseconds=999_995)


@pytest.mark.parametrize(("end", "open_until"), [("23:59:59", 86_399), ("24:00", 86_400),
                                                 ("24:00:00", 86_400)])  # fmt: skip
def test_the_last_accepted_ends_of_a_day(end: str, open_until: int) -> None:
    calendar = monday_hours("00:00", end)
    assert calendar.between(MONDAY, MONDAY + timedelta(days=1)) == timedelta(seconds=open_until)


def test_an_interval_that_ends_before_it_starts_runs_overnight() -> None:
    calendar = monday_hours("22:00", "02:00")
    tuesday = MONDAY + timedelta(days=1)
    assert calendar.is_open(tuesday + timedelta(hours=1, minutes=59))
    assert not calendar.is_open(tuesday + timedelta(hours=2))
    assert calendar.between(MONDAY, tuesday + timedelta(days=1)) == timedelta(hours=4)


@pytest.mark.parametrize(
    ("end", "reason"),
    [("24:01", "24:00 can only end|out of range"), ("24:00:01", "out of range"),
     ("23:60", "out of range"), ("00:00:60", "out of range"), ("99:00", "out of range"),
     ("9:0", "HH:MM"), ("09:00:0", "HH:MM"), (time(17, tzinfo=UTC), "carries no zone"),
     (17.0, "a float is no time")],
)  # fmt: skip
def test_an_end_outside_the_accepted_range_is_refused(end: object, reason: str) -> None:
    with pytest.raises(InvalidTimeError, match=reason) as raised:
        monday_hours("09:00", end)
    assert str(raised.value).startswith(f"invalid time {end!r}: ")


def test_24_00_cannot_start_an_interval() -> None:
    with pytest.raises(InvalidTimeError, match=r"^invalid time '24:00': 24:00 can only end an"):
        monday_hours("24:00", "24:00")


@pytest.mark.parametrize(
    ("intervals", "reason"),
    [("09:00-17:00", "give a list of \\(start, end\\) pairs"), (5, "give a list of"),
     ([("09:00",)], "an interval is a \\(start, end\\) pair"),
     (["0917"], "an interval is a \\(start, end\\) pair"),
     ([("09:00", "12:00", "17:00")], "an interval is a \\(start, end\\) pair")],
)  # fmt: skip
def test_hours_that_are_not_a_list_of_pairs_are_refused(intervals: object, reason: str) -> None:
    with pytest.raises(InvalidTimeError, match=reason):
        BusinessCalendar(timezone="UTC", hours={"mon": intervals})  # type: ignore[dict-item]


# Building a calendar: weekday keys, joined intervals, the week's wrap, refusals.


@pytest.mark.parametrize("key", ["mon", "MON", " Mon ", 0])
def test_monday_may_be_named_in_any_case_or_by_number(key: object) -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={key: [("09:00", "17:00")]})  # type: ignore[dict-item]
    assert calendar.is_open(MONDAY + timedelta(hours=9))


def test_sunday_is_day_6() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={6: [("09:00", "17:00")]})
    assert calendar.is_open(MONDAY - timedelta(hours=15))  # Sunday 09:00
    assert not calendar.is_open(MONDAY + timedelta(hours=9))


@pytest.mark.parametrize(
    "intervals",
    [[("09:00", "12:00"), ("12:00", "17:00")], [("09:00", "13:00"), ("12:00", "17:00")],
     [("09:00", "17:00"), ("10:00", "11:00")], [("12:00", "17:00"), ("09:00", "12:00")]],
)  # fmt: skip
def test_touching_overlapping_and_nested_intervals_are_one_opening(
    intervals: list[tuple[str, str]],
) -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"mon": intervals})
    assert calendar.between(MONDAY, MONDAY + timedelta(days=1)) == timedelta(hours=8)
    assert calendar.is_open(MONDAY + timedelta(hours=12))
    assert calendar.next_open(MONDAY + timedelta(hours=12)) == MONDAY + timedelta(hours=12)


def test_sunday_night_hours_run_into_monday_morning() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"sun": [("22:00", "02:00")]})
    assert calendar.is_open(MONDAY + timedelta(hours=1, minutes=59))
    assert not calendar.is_open(MONDAY + timedelta(hours=2))
    assert calendar.is_open(MONDAY - timedelta(hours=2))
    assert calendar.between(MONDAY - timedelta(days=1), MONDAY + timedelta(days=1)) == timedelta(
        hours=4
    )


def test_sunday_hours_to_midnight_end_with_the_week() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"sun": [("22:00", "24:00")]})
    assert calendar.is_open(MONDAY - timedelta(microseconds=1))
    assert not calendar.is_open(MONDAY)
    assert calendar.add(MONDAY - timedelta(hours=1), timedelta(hours=1)) == MONDAY


def test_a_calendar_that_never_opens_is_refused() -> None:
    with pytest.raises(CalendarNeverOpensError, match="Europe/Berlin"):
        BusinessCalendar(timezone=BERLIN, hours={"mon": []})
    with pytest.raises(CalendarNeverOpensError):
        BusinessCalendar(timezone=BERLIN, hours={}, overrides={date(2026, 3, 2): []})


def test_a_calendar_open_only_on_an_override_is_accepted() -> None:
    calendar = BusinessCalendar(
        timezone="UTC", hours={}, overrides={date(2026, 3, 2): [("09:00", "10:00")]}
    )
    assert calendar.is_open(MONDAY + timedelta(hours=9))
    assert not calendar.is_open(MONDAY + timedelta(days=7, hours=9))


def test_an_override_keyed_by_a_datetime_is_refused() -> None:
    with pytest.raises(InvalidHolidayError):
        BusinessCalendar(
            timezone="UTC",
            hours=OFFICE_HOURS,
            overrides={MONDAY: [("09:00", "10:00")]},  # type: ignore[dict-item]
        )


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", 3, None])
def test_an_unknown_zone_is_refused(zone: object) -> None:
    with pytest.raises(UnknownTimezoneError):
        BusinessCalendar(timezone=zone, hours=OFFICE_HOURS)  # type: ignore[arg-type]


def test_an_override_replaces_the_weekly_hours_of_its_day_and_a_holiday_closes_it() -> None:
    calendar = BusinessCalendar(
        timezone="UTC",
        hours=OFFICE_HOURS,
        holidays=[date(2026, 3, 3)],
        overrides={date(2026, 3, 2): [("13:00", "14:00")]},
    )
    assert not calendar.is_open(MONDAY + timedelta(hours=9))
    assert calendar.is_open(MONDAY + timedelta(hours=13))
    assert not calendar.is_open(MONDAY + timedelta(days=1, hours=9))
    assert calendar.is_open(MONDAY + timedelta(days=2, hours=9))


def test_an_instant_in_the_repeated_hour_keeps_its_fold() -> None:
    # 2026-10-25 in Berlin: 02:00-03:00 comes twice, first CEST then CET.
    calendar = BusinessCalendar.always_open(BERLIN)
    first, second = (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )
    assert (calendar.next_open(first).hour, calendar.next_open(first).fold) == (2, 0)
    assert (calendar.next_open(second).hour, calendar.next_open(second).fold) == (2, 1)
    assert calendar.add(first, timedelta(hours=1)).astimezone(UTC) == second
    assert calendar.next_open(second).astimezone(UTC) == second


def office_hours_between_by_counting_days(start: date, end: date) -> timedelta:
    """Return 8 hours for each weekday from ``start`` up to ``end`` (excluded)."""
    days = (end - start).days
    weekdays = sum(1 for n in range(days) if (start + timedelta(days=n)).weekday() < 5)
    return weekdays * timedelta(hours=8)


def test_a_calendar_measures_up_to_the_first_instant_of_the_year_after_the_one_it_used() -> None:
    # between() looks up its end first; the first call makes 2026 the remembered year.
    calendar = utc_office()
    thursday = datetime(2026, 12, 31, 9, tzinfo=UTC)
    assert calendar.between(thursday, thursday + timedelta(hours=1)) == timedelta(hours=1)
    assert calendar.between(thursday, datetime(2027, 1, 1, tzinfo=UTC)) == timedelta(hours=8)


def test_a_calendar_measures_into_years_beyond_the_ones_it_knows() -> None:
    calendar = utc_office()
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert calendar.between(monday, monday + timedelta(days=1)) == timedelta(hours=8)
    measured = calendar.between(monday, datetime(2028, 3, 6, tzinfo=UTC))
    assert measured == office_hours_between_by_counting_days(date(2026, 3, 2), date(2028, 3, 6))


def test_a_calendar_behind_utc_works_in_the_first_days_of_year_1() -> None:
    # New York's local time at 0001-01-01 00:00 UTC is still in year 0, which no
    # datetime holds: the offset there is read a day later.
    calendar = BusinessCalendar(timezone="America/New_York", hours=OFFICE_HOURS)
    tuesday = datetime(1, 1, 2, 20, tzinfo=UTC)  # 15:03:58 local mean time (-4:56:02)
    assert calendar.is_open(tuesday) is True
    assert calendar.between(datetime(1, 1, 1, tzinfo=UTC), tuesday) == timedelta(
        hours=14, minutes=3, seconds=58
    )
