"""Hand-checked cases and argument errors of BusinessCalendar."""

from __future__ import annotations

import copy
import pickle
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pendulum
import pytest

from issuecore._sla.calendar import BusinessCalendar
from issuecore._sla.holidays import public_holidays
from issuecore.errors import (
    CalendarNeverOpensError,
    EmptyIntervalError,
    HolidaysUnavailableError,
    InvalidHolidayError,
    InvalidTimeError,
    IssueCoreError,
    NaiveDatetimeError,
    NegativeDurationError,
    UnknownCountryError,
    UnknownTimezoneError,
    UnknownWeekdayError,
    UnreachableDeadlineError,
)

BERLIN = "Europe/Berlin"
OFFICE_HOURS = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def test_spring_forward_night_shift_is_three_hours() -> None:
    calendar = BusinessCalendar(timezone="America/New_York", hours={"sun": [("01:00", "05:00")]})
    night = calendar.between(
        local("America/New_York", 2025, 3, 9), local("America/New_York", 2025, 3, 10)
    )
    assert night == hours(3)


def test_fall_back_night_shift_is_five_hours() -> None:
    calendar = BusinessCalendar(timezone="America/New_York", hours={"sun": [("01:00", "05:00")]})
    night = calendar.between(
        local("America/New_York", 2025, 11, 2), local("America/New_York", 2025, 11, 3)
    )
    assert night == hours(5)


def test_repeated_wall_time_is_open_on_both_occurrences() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours={"sun": [("02:15", "02:45")]})
    first = local(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    second = local(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert calendar.is_open(first)
    assert calendar.is_open(second)
    assert calendar.between(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == hours(1)


def test_interval_starting_inside_the_gap_opens_at_the_first_instant_after_it() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours={"sun": [("02:30", "04:00")]})
    opening = calendar.next_open(local(BERLIN, 2026, 3, 29))
    assert opening == pendulum.datetime(2026, 3, 29, 3, tz=BERLIN)
    assert calendar.between(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == hours(1)


def test_interval_ending_inside_the_gap_closes_at_the_gap() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours={"sun": [("01:00", "02:30")]})
    deadline = calendar.add(local(BERLIN, 2026, 3, 29, 1), hours(1))
    assert deadline == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST
    assert not calendar.is_open(deadline)


def test_lord_howe_half_hour_fall_back_lengthens_the_night_shift() -> None:
    calendar = BusinessCalendar(timezone="Australia/Lord_Howe", hours={"sun": [("01:00", "03:00")]})
    zone = "Australia/Lord_Howe"
    assert calendar.between(local(zone, 2026, 4, 5), local(zone, 2026, 4, 6)) == hours(2.5)


def test_havana_midnight_spring_forward_shortens_an_overnight_shift() -> None:
    calendar = BusinessCalendar(timezone="America/Havana", hours={"sat": [("22:00", "02:00")]})
    zone = "America/Havana"
    assert calendar.between(local(zone, 2026, 3, 7), local(zone, 2026, 3, 9)) == hours(3)
    assert calendar.between(local(zone, 2026, 2, 28), local(zone, 2026, 3, 2)) == hours(4)


def test_apia_skipped_30_december_2011_has_no_business_time() -> None:
    zone = "Pacific/Apia"
    calendar = BusinessCalendar(
        timezone=zone, hours={day: [("09:00", "17:00")] for day in range(7)}
    )
    start, end = local(zone, 2011, 12, 29), local(zone, 2012, 1, 1)
    assert calendar.between(start, end) == hours(16)
    deadline = calendar.add(local(zone, 2011, 12, 29, 16), hours(2))
    assert deadline == pendulum.datetime(2011, 12, 31, 10, tz=zone)


def test_apia_overnight_shift_into_the_skipped_day_ends_at_the_jump() -> None:
    zone = "Pacific/Apia"
    calendar = BusinessCalendar(timezone=zone, hours={"thu": [("22:00", "06:00")]})
    assert calendar.between(local(zone, 2011, 12, 29), local(zone, 2012, 1, 1)) == hours(2)


FRIDAY_NIGHTS = {"fri": [("22:00", "06:00")]}


def test_friday_holiday_removes_its_own_night_shift() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=FRIDAY_NIGHTS, holidays=[date(2026, 5, 1)])
    assert calendar.between(local(BERLIN, 2026, 5, 1), local(BERLIN, 2026, 5, 3)) == hours(0)
    assert not calendar.is_open(local(BERLIN, 2026, 5, 2, 1))


def test_friday_night_shift_runs_into_a_saturday_holiday() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=FRIDAY_NIGHTS, holidays=[date(2026, 5, 2)])
    assert calendar.between(local(BERLIN, 2026, 5, 1), local(BERLIN, 2026, 5, 3)) == hours(8)
    assert calendar.is_open(local(BERLIN, 2026, 5, 2, 1))


def test_deadline_ending_at_closing_is_the_closing_time() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    monday_morning = local(BERLIN, 2026, 3, 2, 9)
    deadline = calendar.add(monday_morning, hours(8))
    assert deadline == pendulum.datetime(2026, 3, 2, 17, tz=BERLIN)
    reply_next_morning = local(BERLIN, 2026, 3, 3, 9)
    assert reply_next_morning > deadline
    assert calendar.between(monday_morning, reply_next_morning) == hours(8)


def test_zero_duration_returns_the_start_even_when_closed() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    saturday = local(BERLIN, 2026, 3, 7, 12)
    assert calendar.add(saturday, timedelta(0)) == saturday


def test_deadline_over_a_weekend_and_a_long_span() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    friday = local(BERLIN, 2026, 3, 6, 16)
    assert calendar.add(friday, hours(2)) == pendulum.datetime(2026, 3, 9, 10, tz=BERLIN)
    # 2,000 hours are 50 weeks of 40 hours; the 29 March change to summer time does not matter.
    assert calendar.add(friday, hours(2000)) == pendulum.datetime(2027, 2, 19, 16, tz=BERLIN)


def test_results_are_pendulum_datetimes_in_the_calendar_zone() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    deadline = calendar.add(datetime(2026, 3, 2, 8, tzinfo=UTC), hours(1))
    assert isinstance(deadline, pendulum.DateTime)
    assert deadline.timezone_name == BERLIN
    assert deadline == pendulum.datetime(2026, 3, 2, 10, tz=BERLIN)


def test_override_replaces_the_weekly_hours_and_an_empty_one_closes_the_day() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN,
        hours=OFFICE_HOURS,
        overrides={date(2026, 12, 24): [("09:00", "12:00")], date(2026, 12, 31): []},
    )
    assert calendar.between(local(BERLIN, 2026, 12, 24), local(BERLIN, 2026, 12, 25)) == hours(3)
    assert calendar.between(local(BERLIN, 2026, 12, 31), local(BERLIN, 2027, 1, 1)) == hours(0)


def test_holiday_wins_over_an_override_on_the_same_date() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN,
        hours=OFFICE_HOURS,
        holidays=[date(2026, 12, 24)],
        overrides={date(2026, 12, 24): [("09:00", "12:00")]},
    )
    assert calendar.between(local(BERLIN, 2026, 12, 24), local(BERLIN, 2026, 12, 25)) == hours(0)


def test_overlapping_and_touching_intervals_are_counted_once() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN,
        hours={
            "MON": [("09:00", "12:00"), ("11:00", "13:00"), ("13:00", "14:00")],
            0: [(time(9), time(10))],
            "sun": [("20:00", "10:00")],
        },
    )
    monday = calendar.between(local(BERLIN, 2026, 3, 2), local(BERLIN, 2026, 3, 3))
    assert monday == hours(14)  # 00:00-10:00 from Sunday night joins 09:00-14:00


def test_whole_day_with_24_00_and_seconds_in_times() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN, hours={"sat": [("00:00", "24:00")], "sun": [("08:00:30", "08:00:45")]}
    )
    weekend = calendar.between(local(BERLIN, 2026, 3, 7), local(BERLIN, 2026, 3, 9))
    assert weekend == timedelta(hours=24, seconds=15)


def test_always_open_measures_elapsed_time() -> None:
    calendar = BusinessCalendar.always_open("America/New_York")
    start = local("America/New_York", 2025, 3, 8, 12)
    assert calendar.between(start, start + timedelta(days=2)) == hours(47)
    assert calendar.add(start, hours(47)) == start + timedelta(days=2)


def test_always_open_defaults_to_utc() -> None:
    calendar = BusinessCalendar.always_open()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert calendar.add(start, hours(5)).timezone_name == "UTC"


def test_subtract_goes_back_to_the_opening_not_the_previous_closing() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    tuesday = local(BERLIN, 2026, 3, 3, 10)
    assert calendar.subtract(tuesday, hours(1)) == pendulum.datetime(2026, 3, 3, 9, tz=BERLIN)
    assert calendar.subtract(tuesday, hours(2)) == pendulum.datetime(2026, 3, 2, 16, tz=BERLIN)


def test_naive_datetime_is_refused() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    with pytest.raises(NaiveDatetimeError, match="start must be timezone-aware"):
        calendar.add(datetime(2026, 3, 2, 9), hours(1))
    with pytest.raises(NaiveDatetimeError, match="at must be timezone-aware"):
        calendar.is_open(datetime(2026, 3, 2, 9))


def test_negative_duration_is_refused() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    with pytest.raises(NegativeDurationError, match="subtract"):
        calendar.add(local(BERLIN, 2026, 3, 2, 9), hours(-1))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("9am", "HH:MM"),
        ("25:00", "out of range"),
        ("12:60", "out of range"),
        (900, "int is no time"),
        ("24:00", "only end"),
    ],
)
def test_bad_start_time_is_refused_with_the_accepted_forms(value: object, reason: str) -> None:
    with pytest.raises(InvalidTimeError, match=reason) as raised:
        BusinessCalendar(timezone=BERLIN, hours={"mon": [(value, "17:00")]})  # type: ignore[list-item]
    assert "'HH:MM' or 'HH:MM:SS'" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_equal_start_and_end_is_refused() -> None:
    with pytest.raises(EmptyIntervalError, match="09:00-09:00 on mon"):
        BusinessCalendar(timezone=BERLIN, hours={"mon": [("09:00", "09:00")]})


@pytest.mark.parametrize("key", ["monday", 7, -1, True])
def test_unknown_weekday_is_refused(key: object) -> None:
    with pytest.raises(UnknownWeekdayError, match="'mon'"):
        BusinessCalendar(timezone=BERLIN, hours={key: [("09:00", "17:00")]})  # type: ignore[dict-item]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd"])
def test_unknown_zone_is_refused(zone: str) -> None:
    with pytest.raises(UnknownTimezoneError, match="IANA name") as raised:
        BusinessCalendar(timezone=zone, hours=OFFICE_HOURS)
    assert isinstance(raised.value, LookupError)


def test_calendar_that_never_opens_is_refused() -> None:
    with pytest.raises(CalendarNeverOpensError, match="never opens"):
        BusinessCalendar(timezone=BERLIN, hours={}, overrides={date(2026, 1, 1): []})


def test_deadline_beyond_the_last_override_is_unreachable() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 1, 2): [("09:00", "17:00")]}
    )
    start = local(BERLIN, 2026, 1, 1)
    assert calendar.add(start, hours(8)) == pendulum.datetime(2026, 1, 2, 17, tz=BERLIN)
    with pytest.raises(UnreachableDeadlineError, match="overrides run out"):
        calendar.add(start, hours(9))
    with pytest.raises(UnreachableDeadlineError, match="overrides run out"):
        calendar.subtract(local(BERLIN, 2026, 1, 3), hours(9))


def test_datetime_given_as_holiday_is_refused() -> None:
    with pytest.raises(InvalidHolidayError, match="its own zone"):
        BusinessCalendar(
            timezone=BERLIN,
            hours=OFFICE_HOURS,
            holidays=[datetime(2026, 12, 24, 23, 30, tzinfo=UTC)],
        )


def test_every_calendar_error_is_an_issuecore_error() -> None:
    with pytest.raises(IssueCoreError):
        BusinessCalendar(timezone=BERLIN, hours={"mon": [("09:00", "9")]})


def test_country_holidays_close_the_calendar_on_christmas() -> None:
    calendar = BusinessCalendar.from_country(
        "DE", subdivision="BY", timezone=BERLIN, hours=OFFICE_HOURS, years=[2026]
    )
    christmas = local(BERLIN, 2026, 12, 25, 10)
    assert not calendar.is_open(christmas)
    assert calendar.is_open(local(BERLIN, 2026, 12, 23, 10))
    assert date(2026, 1, 6) in public_holidays("DE", subdivision="BY", years=[2026])
    assert date(2026, 1, 6) not in public_holidays("DE", subdivision="BE", years=[2026])


def test_country_holidays_are_dates_of_the_asked_years_only() -> None:
    listed = public_holidays("US", years=range(2025, 2027))
    assert listed == sorted(listed)
    assert {day.year for day in listed} == {2025, 2026}
    assert all(type(day) is date for day in listed)


def test_unknown_country_is_refused() -> None:
    with pytest.raises(UnknownCountryError, match="'XX'"):
        public_holidays("XX", years=[2026])


def test_missing_holidays_package_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(HolidaysUnavailableError, match=r"issuecore\[holidays\]"):
        public_holidays("DE", years=[2026])


def test_calendars_with_the_same_definition_are_equal_and_survive_pickling() -> None:
    definition = {
        "timezone": BERLIN,
        "hours": {
            "mon": [("09:00", "17:00")],
            "fri": [("22:00", "00:00"), (time(8, 0, 0, 5), "24:00")],
            "sun": [("23:00", "01:30")],
        },
        "holidays": [date(2026, 12, 25)],
        "overrides": {date(2026, 12, 24): [("09:00", "12:00")], date(2026, 12, 31): []},
    }
    calendar = BusinessCalendar(**definition)  # type: ignore[arg-type]
    assert calendar == BusinessCalendar(**definition)  # type: ignore[arg-type]
    assert hash(calendar) == hash(BusinessCalendar(**definition))  # type: ignore[arg-type]
    assert calendar != BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
    restored = pickle.loads(pickle.dumps(calendar))
    assert restored == calendar
    start = local(BERLIN, 2026, 12, 20)
    assert restored.add(start, hours(30)) == calendar.add(start, hours(30))
    assert copy.deepcopy(calendar) is calendar
