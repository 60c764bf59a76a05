"""Property-based cross-checks of BusinessCalendar against the brute-force oracle."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum
from hypothesis import given
from hypothesis import strategies as st
from oracle import CalendarSpec, Oracle, from_micros, offset_at, to_micros

from issuecore._sla.calendar import BusinessCalendar

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "America/Havana",
    "Pacific/Apia",
    "Asia/Kolkata",
)
DAY_MICROS = 86_400 * 1_000_000
MICRO = timedelta(microseconds=1)


@functools.cache
def offset_changes(zone_name: str) -> tuple[int, ...]:
    """Return instants near which ``zone_name`` changes its UTC offset, 2005 to 2030."""
    zone = ZoneInfo(zone_name)
    found: list[int] = []
    probe = to_micros(datetime(2005, 1, 1, tzinfo=UTC))
    end = to_micros(datetime(2031, 1, 1, tzinfo=UTC))
    offset = offset_at(zone, probe)
    while probe < end:
        probe += DAY_MICROS
        if offset_at(zone, probe) != offset:
            offset = offset_at(zone, probe)
            found.append(probe)
    return tuple(found) or (to_micros(datetime(2026, 3, 29, tzinfo=UTC)),)


def seconds_label(seconds: int) -> str:
    """Return ``HH:MM`` or ``HH:MM:SS`` for seconds after midnight."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if secs else f"{hours:02d}:{minutes:02d}"


wall_seconds = st.one_of(
    st.integers(0, 96).map(lambda quarter: quarter * 900),
    st.integers(0, 86_400),
)


@st.composite
def intervals(draw: st.DrawFn) -> tuple[int, int]:
    start = draw(wall_seconds.filter(lambda seconds: seconds < 86_400))
    end = draw(wall_seconds.filter(lambda seconds: seconds != start))
    return start, end


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CalendarSpec, BusinessCalendar, int]:
    """Draw a calendar spec, the calendar built from it, and an instant near an offset change."""
    zone = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone)
    if draw(st.booleans()):
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = (
            to_micros(datetime(2026, 1, 1, tzinfo=UTC))
            + draw(st.integers(-20 * 365, 5 * 365)) * DAY_MICROS
        )
    if draw(st.integers(0, 4)) == 0:  # around a UTC new year, where the cached tables split
        anchor = to_micros(datetime(draw(st.integers(2005, 2030)), 1, 1, tzinfo=UTC))
    if zone == "Pacific/Apia" and draw(st.booleans()):
        anchor = to_micros(datetime(2011, 12, 30, 10, tzinfo=UTC))
    instant = anchor + draw(st.integers(-4 * DAY_MICROS, 4 * DAY_MICROS))
    weekly = draw(
        st.dictionaries(st.integers(0, 6), st.lists(intervals(), min_size=1, max_size=3)).filter(
            bool
        )
    )
    local_day = from_micros(instant).date()
    nearby = st.integers(-8, 8).map(lambda shift: local_day + timedelta(days=shift))
    holidays = draw(st.frozensets(nearby, max_size=4))
    overrides = draw(st.dictionaries(nearby, st.lists(intervals(), max_size=2), max_size=3))
    spec = CalendarSpec(zone=zone, weekly=weekly, holidays=holidays, overrides=overrides)
    calendar = BusinessCalendar(
        timezone=zone,
        hours={
            draw(st.sampled_from([day, ("mon", "TUE", "wed", "Thu", "fri", "sat", "sun")[day]])): [
                (seconds_label(start), seconds_label(end)) for start, end in day_intervals
            ]
            for day, day_intervals in weekly.items()
        },
        holidays=holidays,
        overrides={
            day: [(seconds_label(start), seconds_label(end)) for start, end in day_intervals]
            for day, day_intervals in overrides.items()
        },
    )
    return spec, calendar, instant


def as_input(micros: int, style: int) -> datetime:
    """Return the instant as a stdlib UTC, stdlib zoned or pendulum datetime."""
    instant = from_micros(micros)
    if style == 0:
        return instant
    if style == 1:
        return instant.astimezone(ZoneInfo("Asia/Tokyo"))
    return pendulum.instance(instant).in_timezone("America/Los_Angeles")


def oracle_around(spec: CalendarSpec, instant: int) -> Oracle:
    return Oracle(spec, instant - 12 * DAY_MICROS, instant + 60 * DAY_MICROS)


def weekly_open_micros(spec: CalendarSpec) -> int:
    """Return a lower bound on a regular week's open time (the longest single interval)."""
    return max(
        ((end - start) % 86_400 or 86_400) * 1_000_000
        for day_intervals in spec.weekly.values()
        for start, end in day_intervals
    )


@given(scenarios(), st.integers(-20 * DAY_MICROS, 20 * DAY_MICROS), st.integers(0, 2))
def test_between_matches_oracle(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], span: int, style: int
) -> None:
    spec, calendar, a = scenario
    b = a + span
    oracle = Oracle(spec, min(a, b) - DAY_MICROS, max(a, b) + DAY_MICROS)
    expected = timedelta(microseconds=oracle.between(a, b))
    assert calendar.between(as_input(a, style), as_input(b, 2 - style)) == expected


@given(scenarios(), st.lists(st.integers(-3 * DAY_MICROS, 3 * DAY_MICROS), max_size=20))
def test_is_open_matches_the_definition_instant_by_instant(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], shifts: list[int]
) -> None:
    spec, calendar, instant = scenario
    oracle = oracle_around(spec, instant)
    for probe in [instant, *(instant + shift for shift in shifts)]:
        expected = oracle.is_open_by_definition(probe)
        assert calendar.is_open(from_micros(probe)) is expected, from_micros(probe)
        assert any(start <= probe < end for start, end in oracle.intervals) is expected


@given(scenarios(), st.floats(0, 2.0), st.integers(0, 2))
def test_add_is_the_earliest_instant_with_the_duration(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], weeks: float, style: int
) -> None:
    spec, calendar, a = scenario
    duration = int(weeks * weekly_open_micros(spec))
    oracle = oracle_around(spec, a)
    deadline = calendar.add(as_input(a, style), timedelta(microseconds=duration))
    assert isinstance(deadline, pendulum.DateTime)
    assert deadline.timezone_name == spec.zone
    assert to_micros(deadline) == oracle.add(a, duration)
    assert calendar.between(as_input(a, style), deadline) == timedelta(microseconds=duration)
    if duration > 0:
        assert calendar.between(as_input(a, style), deadline - MICRO) < timedelta(
            microseconds=duration
        )


@given(scenarios(), st.integers(0, 10 * DAY_MICROS))
def test_between_is_antisymmetric(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], span: int
) -> None:
    _, calendar, a = scenario
    start, end = from_micros(a), from_micros(a + span)
    assert calendar.between(end, start) == -calendar.between(start, end)


@given(
    scenarios(),
    st.integers(-3 * 365 * DAY_MICROS, 3 * 365 * DAY_MICROS),
    st.integers(-3 * 365 * DAY_MICROS, 3 * 365 * DAY_MICROS),
)
def test_between_adds_up_across_years(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], to_b: int, to_c: int
) -> None:
    _, calendar, a = scenario
    first, second, third = from_micros(a), from_micros(a + to_b), from_micros(a + to_c)
    assert calendar.between(first, third) == calendar.between(first, second) + calendar.between(
        second, third
    )
    low, high = sorted((first, third))
    assert calendar.add(low, calendar.between(low, high)) <= high


@given(scenarios(), st.floats(0, 1.0))
def test_subtract_is_the_latest_instant_with_the_duration(
    scenario: tuple[CalendarSpec, BusinessCalendar, int], weeks: float
) -> None:
    spec, calendar, end = scenario
    duration = timedelta(microseconds=int(weeks * weekly_open_micros(spec)))
    start = calendar.subtract(from_micros(end), duration)
    assert start <= from_micros(end)
    assert calendar.between(start, from_micros(end)) == duration
    if duration:
        assert calendar.between(start + MICRO, from_micros(end)) < duration


@given(scenarios())
def test_next_open_matches_oracle(scenario: tuple[CalendarSpec, BusinessCalendar, int]) -> None:
    spec, calendar, instant = scenario
    oracle = oracle_around(spec, instant)
    assert to_micros(calendar.next_open(from_micros(instant))) == oracle.next_open(instant)


@given(scenarios())
def test_results_are_in_the_calendar_zone_at_the_right_fold(
    scenario: tuple[CalendarSpec, BusinessCalendar, int],
) -> None:
    spec, calendar, instant = scenario
    result = calendar.add(from_micros(instant), timedelta(0))
    assert to_micros(result) == instant
    expected = from_micros(instant).astimezone(ZoneInfo(spec.zone))
    assert (result.replace(tzinfo=None), result.fold) == (
        expected.replace(tzinfo=None),
        expected.fold,
    )


def test_oracle_sees_the_spring_forward_gap() -> None:
    spec = CalendarSpec(zone="America/New_York", weekly={6: [(3600, 5 * 3600)]})
    low = to_micros(datetime(2025, 3, 9, 4, tzinfo=UTC))
    oracle = Oracle(spec, low, low + DAY_MICROS)
    assert oracle.between(low, low + DAY_MICROS) == 3 * 3600 * 1_000_000
    assert date(2025, 3, 9).weekday() == 6
