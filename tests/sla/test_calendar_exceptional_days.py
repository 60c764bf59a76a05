"""Arithmetic around holidays and overrides, each edge stated by an example.

Around a holiday or an override the calendar lists the open intervals of a
few days one by one instead of following the weekly pattern; these tests put
deadlines in the first, a middle and the last of those intervals, exactly on
their openings and closings and one microsecond past them, and across a change
of UTC offset inside such a stretch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from issuecore._sla.calendar import BusinessCalendar

OFFICE_HOURS = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
MICRO = timedelta(microseconds=1)
H = timedelta(hours=1)
BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(BERLIN))  # type: ignore[misc]


def tuesday_off() -> BusinessCalendar:
    # Tuesday 2026-03-03 is a holiday: Monday, Wednesday and Thursday are listed one by one.
    return BusinessCalendar(timezone="UTC", hours=OFFICE_HOURS, holidays=[date(2026, 3, 3)])


MONDAY_OPENING = utc(2026, 3, 2, 9)


def test_add_inside_the_first_listed_interval() -> None:
    assert tuesday_off().add(MONDAY_OPENING, H) == utc(2026, 3, 2, 10)


def test_add_to_the_closing_of_the_first_listed_interval_stays_on_that_day() -> None:
    assert tuesday_off().add(MONDAY_OPENING, 8 * H) == utc(2026, 3, 2, 17)


def test_add_one_microsecond_past_a_listed_closing_skips_the_holiday() -> None:
    assert tuesday_off().add(MONDAY_OPENING, 8 * H + MICRO) == utc(2026, 3, 4, 9) + MICRO


def test_add_into_the_middle_and_the_last_listed_intervals() -> None:
    calendar = tuesday_off()
    assert calendar.add(MONDAY_OPENING, 9 * H) == utc(2026, 3, 4, 10)
    assert calendar.add(MONDAY_OPENING, 17 * H) == utc(2026, 3, 5, 10)
    assert calendar.add(MONDAY_OPENING, 24 * H) == utc(2026, 3, 5, 17)


def test_add_from_a_holiday_starts_at_the_next_opening() -> None:
    assert tuesday_off().add(utc(2026, 3, 3, 12), 2 * H) == utc(2026, 3, 4, 11)


def test_add_out_of_the_listed_days_into_the_weekly_pattern() -> None:
    # Friday lies after the listed days: the weekly hours apply again.
    assert tuesday_off().add(MONDAY_OPENING, 25 * H) == utc(2026, 3, 6, 10)


def test_subtract_back_over_a_holiday_to_each_listed_opening() -> None:
    calendar = tuesday_off()
    thursday_closing = utc(2026, 3, 5, 17)
    assert calendar.subtract(thursday_closing, 8 * H) == utc(2026, 3, 5, 9)
    assert calendar.subtract(thursday_closing, 16 * H) == utc(2026, 3, 4, 9)
    assert calendar.subtract(thursday_closing, 16 * H + MICRO) == utc(2026, 3, 2, 17) - MICRO
    assert calendar.subtract(thursday_closing, 24 * H) == MONDAY_OPENING


def test_between_counts_only_the_listed_intervals() -> None:
    calendar = tuesday_off()
    assert calendar.between(utc(2026, 3, 2), utc(2026, 3, 6)) == 24 * H
    assert calendar.between(utc(2026, 3, 2, 12), utc(2026, 3, 4, 12)) == 8 * H
    assert calendar.between(utc(2026, 3, 4, 9), utc(2026, 3, 4, 9) + MICRO) == MICRO


def test_is_open_on_the_edges_of_a_listed_interval() -> None:
    calendar = tuesday_off()
    wednesday_opening = utc(2026, 3, 4, 9)
    assert calendar.is_open(wednesday_opening - MICRO) is False
    assert calendar.is_open(wednesday_opening) is True
    assert calendar.is_open(utc(2026, 3, 4, 17) - MICRO) is True
    assert calendar.is_open(utc(2026, 3, 4, 17)) is False
    assert calendar.is_open(utc(2026, 3, 3, 12)) is False


def test_next_open_on_a_holiday_and_after_a_listed_closing() -> None:
    calendar = tuesday_off()
    assert calendar.next_open(utc(2026, 3, 2, 17)) == utc(2026, 3, 4, 9)
    assert calendar.next_open(utc(2026, 3, 3, 12)) == utc(2026, 3, 4, 9)
    assert calendar.next_open(utc(2026, 3, 4, 9) - MICRO) == utc(2026, 3, 4, 9)
    assert calendar.next_open(utc(2026, 3, 4, 9, 30)) == utc(2026, 3, 4, 9, 30)


def test_an_override_with_two_intervals_is_two_openings() -> None:
    calendar = BusinessCalendar(
        timezone="UTC", hours=OFFICE_HOURS, overrides={date(2026, 3, 4): [("08:00", "10:00"),
                                                                         ("14:00", "16:00")]}
    )  # fmt: skip
    wednesday = utc(2026, 3, 4)
    assert calendar.between(wednesday, wednesday + 24 * H) == 4 * H
    assert calendar.add(wednesday + 8 * H, 2 * H) == wednesday + 10 * H
    assert calendar.add(wednesday + 8 * H, 2 * H + MICRO) == wednesday + 14 * H + MICRO
    assert calendar.subtract(wednesday + 16 * H, 2 * H + MICRO) == wednesday + 10 * H - MICRO
    assert calendar.next_open(wednesday + 10 * H) == wednesday + 14 * H
    assert calendar.is_open(wednesday + 12 * H) is False


# --- a calendar open only on its overrides: the whole open time, exactly --------------------


def only_one_day() -> BusinessCalendar:
    return BusinessCalendar(
        timezone=BERLIN, hours={}, overrides={date(2026, 3, 2): [("09:00", "17:00")]}
    )


def test_add_all_the_open_time_there_is_ends_at_the_last_closing() -> None:
    assert only_one_day().add(utc(2026, 3, 2), 8 * H) == utc(2026, 3, 2, 16)


def test_subtract_all_the_open_time_there_is_ends_at_the_first_opening() -> None:
    assert only_one_day().subtract(utc(2026, 3, 3), 8 * H) == utc(2026, 3, 2, 8)


def test_next_open_before_the_only_opening_is_that_opening() -> None:
    assert only_one_day().next_open(utc(2026, 2, 1)) == utc(2026, 3, 2, 8)


def test_between_years_around_the_only_opening_is_its_length() -> None:
    assert only_one_day().between(utc(2025, 6, 1), utc(2027, 6, 1)) == 8 * H


# --- a change of UTC offset among the listed days ----------------------------------------


def test_a_holiday_next_to_the_spring_forward_sunday_keeps_the_short_day() -> None:
    # Berlin moves to summer time on Sunday 2026-03-29 (23 hours); Monday is a holiday.
    calendar = BusinessCalendar(
        timezone=BERLIN,
        hours={day: [("00:00", "24:00")] for day in range(7)},
        holidays=[date(2026, 3, 30)],
    )
    assert calendar.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert calendar.between(berlin(2026, 3, 28), berlin(2026, 4, 1)) == (24 + 23 + 24) * H
    assert calendar.add(berlin(2026, 3, 29), 23 * H) == berlin(2026, 3, 30)
    assert calendar.add(berlin(2026, 3, 29), 23 * H + MICRO) == berlin(2026, 3, 31) + MICRO
    assert calendar.add(berlin(2026, 3, 29, 1), 2 * H) == berlin(2026, 3, 29, 4)
    assert calendar.subtract(berlin(2026, 3, 31, 1), 2 * H) == berlin(2026, 3, 29, 23)
    assert calendar.is_open(berlin(2026, 3, 30)) is False
    assert calendar.is_open(berlin(2026, 3, 30) - MICRO) is True


def test_office_hours_on_the_fall_back_day_next_to_an_override() -> None:
    # Berlin leaves summer time on Sunday 2026-10-25 at 03:00 CEST (01:00 UTC);
    # that Sunday is worked 00:00-06:00 by override: six wall hours, seven real ones.
    calendar = BusinessCalendar(
        timezone=BERLIN, hours=OFFICE_HOURS, overrides={date(2026, 10, 25): [("00:00", "06:00")]}
    )
    sunday = berlin(2026, 10, 25)
    assert calendar.between(sunday, sunday + 24 * H) == 7 * H
    assert calendar.add(sunday, 7 * H) == utc(2026, 10, 25, 5)
    assert calendar.add(sunday, 7 * H + MICRO) == berlin(2026, 10, 26, 9) + MICRO
    assert calendar.is_open(utc(2026, 10, 25, 5) - MICRO) is True
    assert calendar.is_open(utc(2026, 10, 25, 5)) is False
    assert calendar.between(berlin(2026, 10, 23, 9), berlin(2026, 10, 26, 17)) == 23 * H


# --- the instant of an offset change, to the microsecond ----------------------------------

SPRING_FORWARD = utc(2026, 3, 29, 1)  # Berlin: 02:00 CET becomes 03:00 CEST
FALL_BACK = utc(2026, 10, 25, 1)  # Berlin: 03:00 CEST becomes 02:00 CET


def sunday_hours(start: str, end: str, **extra: object) -> BusinessCalendar:
    return BusinessCalendar(timezone=BERLIN, hours={"sun": [(start, end)]}, **extra)  # type: ignore[arg-type]


def test_an_opening_at_the_first_wall_time_after_the_gap_is_the_offset_change_itself() -> None:
    for calendar in (
        sunday_hours("03:00", "04:00"),
        sunday_hours("03:00", "04:00", holidays=[date(2026, 3, 28)]),  # listed, not the pattern
    ):
        assert calendar.is_open(SPRING_FORWARD - MICRO) is False
        assert calendar.is_open(SPRING_FORWARD) is True
        assert calendar.next_open(utc(2026, 3, 29)) == SPRING_FORWARD
        assert calendar.add(utc(2026, 3, 29), MICRO) == SPRING_FORWARD + MICRO
        assert calendar.between(utc(2026, 3, 29), utc(2026, 3, 30)) == H


def test_the_repeated_hour_opens_again_at_the_offset_change_itself() -> None:
    # Results in the repeated hour carry fold=1, and Python never finds such a
    # datetime equal to one in another zone: they are compared in UTC.
    for calendar in (
        sunday_hours("02:00", "02:30"),
        sunday_hours("02:00", "02:30", overrides={date(2026, 10, 26): [("09:00", "10:00")]}),
    ):
        half_hour = timedelta(minutes=30)
        assert calendar.is_open(FALL_BACK - MICRO) is False  # 02:59:59.999999 CEST
        assert calendar.is_open(FALL_BACK) is True  # 02:00 CET
        assert calendar.next_open(FALL_BACK - MICRO).astimezone(UTC) == FALL_BACK
        assert calendar.subtract(FALL_BACK + MICRO, MICRO).astimezone(UTC) == FALL_BACK
        sunday = utc(2026, 10, 25)
        assert calendar.add(sunday, half_hour).astimezone(UTC) == sunday + half_hour
        assert calendar.add(sunday, half_hour + MICRO).astimezone(UTC) == FALL_BACK + MICRO
        assert calendar.between(utc(2026, 10, 25), utc(2026, 10, 26)) == 2 * half_hour


def test_listed_days_that_begin_at_an_offset_change_are_open_after_it() -> None:
    # Casablanca moved to summer time at 00:00 UTC on Sunday 2011-04-03 (00:00
    # became 01:00); the days listed around Monday's holiday begin at that instant.
    zone = "Africa/Casablanca"
    calendar = BusinessCalendar(timezone=zone, hours=OFFICE_HOURS, holidays=[date(2011, 4, 4)])
    tuesday_opening = datetime(2011, 4, 5, 9, tzinfo=ZoneInfo(zone))
    assert tuesday_opening == utc(2011, 4, 5, 8)
    assert calendar.is_open(tuesday_opening) is True
    assert calendar.is_open(tuesday_opening - MICRO) is False
    assert calendar.next_open(utc(2011, 4, 3)) == tuesday_opening
    assert calendar.between(utc(2011, 4, 3), utc(2011, 4, 7)) == 16 * H


def test_the_offset_change_after_a_listed_one_still_applies() -> None:
    # The holiday lists the days around the spring change; the autumn change must still count.
    calendar = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS, holidays=[date(2026, 3, 30)])
    december_opening = berlin(2026, 12, 1, 9)
    assert calendar.is_open(december_opening) is True
    assert calendar.is_open(december_opening - MICRO) is False
    assert calendar.between(berlin(2026, 3, 27, 9), berlin(2026, 3, 31, 17)) == 16 * H
