"""BusinessCalendar exactly on its edges: openings, closings, holidays, offset changes, week ends.

Random instants almost never land on an edge, so these tests put them there:
hand-checked cases, each stating one boundary, then properties that draw
instants one microsecond before, at and after every edge of a random
calendar, and durations that end exactly on an edge, checked against the
brute-force oracle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum
from hypothesis import given
from hypothesis import strategies as st
from oracle import CalendarSpec, Oracle, from_micros, to_micros
from test_calendar_properties import oracle_around, scenarios, seconds_label

from issuecore._sla.calendar import BusinessCalendar
from strategies import around, calendar_boundaries

BERLIN = "Europe/Berlin"
OFFICE_HOURS = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
CALENDAR = BusinessCalendar(timezone=BERLIN, hours=OFFICE_HOURS)
MICRO = timedelta(microseconds=1)
H = timedelta(hours=1)
DAY_MICROS = 86_400 * 1_000_000


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(BERLIN))  # type: ignore[misc]


MONDAY_OPENING = berlin(2026, 3, 2, 9)
MONDAY_CLOSING = berlin(2026, 3, 2, 17)
FRIDAY_OPENING = berlin(2026, 3, 6, 9)
FRIDAY_CLOSING = berlin(2026, 3, 6, 17)


# --- the end of a week: durations that are whole days and whole weeks --------------------


def test_a_working_day_from_friday_opening_ends_at_friday_closing() -> None:
    assert CALENDAR.add(FRIDAY_OPENING, 8 * H) == pendulum.datetime(2026, 3, 6, 17, tz=BERLIN)


def test_a_working_week_from_monday_opening_ends_at_friday_closing() -> None:
    assert CALENDAR.add(MONDAY_OPENING, 40 * H) == FRIDAY_CLOSING


def test_two_working_weeks_from_monday_opening_end_at_the_second_friday_closing() -> None:
    assert CALENDAR.add(MONDAY_OPENING, 80 * H) == berlin(2026, 3, 13, 17)


def test_a_working_week_from_friday_closing_ends_at_the_next_friday_closing() -> None:
    assert CALENDAR.add(FRIDAY_CLOSING, 40 * H) == berlin(2026, 3, 13, 17)


def test_one_microsecond_past_a_working_week_is_in_the_next_monday() -> None:
    assert CALENDAR.add(MONDAY_OPENING, 40 * H + MICRO) == berlin(2026, 3, 9, 9) + MICRO


def test_a_working_week_back_from_friday_closing_is_monday_opening() -> None:
    assert CALENDAR.subtract(FRIDAY_CLOSING, 40 * H) == MONDAY_OPENING


def test_a_working_day_back_from_friday_closing_is_friday_opening() -> None:
    assert CALENDAR.subtract(FRIDAY_CLOSING, 8 * H) == FRIDAY_OPENING


# --- opening and closing instants ---------------------------------------------------------


def test_is_open_at_the_opening_instant() -> None:
    assert CALENDAR.is_open(MONDAY_OPENING) is True


def test_is_closed_one_microsecond_before_opening() -> None:
    assert CALENDAR.is_open(MONDAY_OPENING - MICRO) is False


def test_is_open_one_microsecond_before_closing() -> None:
    assert CALENDAR.is_open(MONDAY_CLOSING - MICRO) is True


def test_is_closed_at_the_closing_instant() -> None:
    assert CALENDAR.is_open(MONDAY_CLOSING) is False


def test_is_closed_at_the_closing_instant_before_the_weekend() -> None:
    assert CALENDAR.is_open(FRIDAY_CLOSING) is False


def test_next_open_at_the_closing_instant_is_the_next_opening() -> None:
    assert CALENDAR.next_open(MONDAY_CLOSING) == berlin(2026, 3, 3, 9)


def test_between_opening_and_closing_is_the_whole_shift() -> None:
    assert CALENDAR.between(MONDAY_OPENING, MONDAY_CLOSING) == 8 * H


def test_holiday_is_closed_from_its_first_microsecond() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN, hours={day: [("00:00", "24:00")] for day in range(7)},
        holidays=[date(2026, 3, 3)],
    )  # fmt: skip
    assert calendar.is_open(berlin(2026, 3, 3)) is False
    assert calendar.is_open(berlin(2026, 3, 3) - MICRO) is True


def test_holiday_is_open_again_at_the_next_midnight() -> None:
    calendar = BusinessCalendar(
        timezone=BERLIN, hours={day: [("00:00", "24:00")] for day in range(7)},
        holidays=[date(2026, 3, 3)],
    )  # fmt: skip
    assert calendar.is_open(berlin(2026, 3, 4)) is True
    assert calendar.is_open(berlin(2026, 3, 4) - MICRO) is False


# --- properties on the edges of random calendars ------------------------------------------


@st.composite
def edged(draw: st.DrawFn) -> tuple[CalendarSpec, BusinessCalendar, list[int], int]:
    """Draw a scenario, the edges of its calendar near the instant, and an instant on one."""
    spec, calendar, instant = draw(scenarios())
    if draw(st.booleans()):  # the weekly pattern alone, with no exceptional day near
        spec = CalendarSpec(zone=spec.zone, weekly=spec.weekly)
        calendar = BusinessCalendar(
            timezone=spec.zone,
            hours={
                day: [(seconds_label(start), seconds_label(end)) for start, end in shifts]
                for day, shifts in spec.weekly.items()
            },
        )
    first_day = from_micros(instant).date() - timedelta(days=3)
    edges = calendar_boundaries(
        spec.zone, spec.weekly, holidays=spec.holidays, first_day=first_day, days=12
    )
    # The overrides' edges come from the oracle's open intervals. An oracle's window clips
    # its intervals, so it reaches a day past the range whose edges are kept.
    low, high = instant - 3 * DAY_MICROS, instant + 9 * DAY_MICROS
    oracle = Oracle(spec, low - DAY_MICROS, high + DAY_MICROS)
    edges += [edge for interval in oracle.intervals for edge in interval if low <= edge < high]
    edges = sorted({edge for edge in edges if low <= edge < high} or {instant})
    return spec, calendar, edges, draw(around(edges))


@given(edged())
def test_is_open_one_microsecond_around_every_edge_matches_the_definition(
    drawn: tuple[CalendarSpec, BusinessCalendar, list[int], int],
) -> None:
    spec, calendar, _, probe = drawn
    expected = Oracle(spec, probe, probe + 1).is_open_by_definition(probe)  # reads the spec
    assert calendar.is_open(from_micros(probe)) is expected, from_micros(probe)


@given(edged())
def test_every_open_interval_is_open_from_its_first_to_its_last_microsecond_only(
    drawn: tuple[CalendarSpec, BusinessCalendar, list[int], int],
) -> None:
    spec, calendar, edges, _ = drawn
    oracle = Oracle(spec, edges[0] - DAY_MICROS, edges[-1] + DAY_MICROS)
    for start, end in oracle.intervals:
        if not edges[0] <= start < end <= edges[-1]:
            continue
        assert calendar.is_open(from_micros(start - 1)) is False, from_micros(start - 1)
        assert calendar.is_open(from_micros(start)) is True, from_micros(start)
        assert calendar.is_open(from_micros(end - 1)) is True, from_micros(end - 1)
        assert calendar.is_open(from_micros(end)) is False, from_micros(end)


@given(edged(), st.data())
def test_durations_ending_exactly_on_an_edge_reach_it(
    drawn: tuple[CalendarSpec, BusinessCalendar, list[int], int], data: st.DataObject
) -> None:
    spec, calendar, edges, start = drawn
    later = [edge for edge in edges if edge > start] or [start]
    end = data.draw(around(later))
    oracle = oracle_around(spec, start)
    duration = oracle.between(start, max(start, end))
    deadline = calendar.add(from_micros(start), timedelta(microseconds=duration))
    assert to_micros(deadline) == oracle.add(start, duration)


@given(edged(), st.integers(1, 3))
def test_whole_weeks_of_open_time_from_an_edge_match_the_oracle(
    drawn: tuple[CalendarSpec, BusinessCalendar, list[int], int], weeks: int
) -> None:
    spec, calendar, _, start = drawn
    oracle = oracle_around(spec, start)
    duration = oracle.between(start, start + weeks * 7 * DAY_MICROS)
    deadline = calendar.add(from_micros(start), timedelta(microseconds=duration))
    if duration:
        assert to_micros(deadline) == oracle.add(start, duration)
    back = calendar.subtract(deadline, timedelta(microseconds=duration))
    assert calendar.between(back, deadline) == timedelta(microseconds=duration)


def test_edges_of_office_hours_are_the_openings_and_closings() -> None:
    edges = calendar_boundaries(
        BERLIN, {0: [(9 * 3600, 17 * 3600)]}, first_day=date(2026, 3, 2), days=1
    )
    assert edges == [to_micros(MONDAY_OPENING), to_micros(MONDAY_CLOSING)]
    assert from_micros(edges[0]).tzinfo is UTC
