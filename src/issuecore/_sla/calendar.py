"""Business calendars: when the support team works, and exact arithmetic on business time.

The semantics are those of ``spec/sla.md`` ("Business calendars"): an instant is
open when its local wall time lies in a working interval of an active shift; a
shift belongs to the local date it starts on; holidays close the shifts that
start on them; overrides replace the weekly intervals of one date; overlapping
intervals merge; business time is real elapsed time across daylight-saving
changes.

How the arithmetic stays cheap: everything is integer microseconds. ``F(u)``
is the open time from a fixed origin up to the instant ``u``; ``between`` is a
difference of two ``F`` values and ``add`` inverts ``F``. Away from holidays,
overrides and offset changes, ``F`` follows the weekly pattern, whose open time
per week is a constant, so whole weeks are counted by one multiplication. Each
UTC year is cut lazily (and cached) into *pieces*: regular pieces with one UTC
offset, where the weekly pattern applies, and explicit pieces around holidays
and overrides, whose open instants are listed. A query bisects the cached year
starts, then the pieces of one year, then the weekly pattern.
"""

from __future__ import annotations

import re
import threading
import zoneinfo
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, TypeAlias

import pendulum

from issuecore._instants import require_aware
from issuecore.errors import (
    CalendarNeverOpensError,
    EmptyIntervalError,
    InvalidHolidayError,
    InvalidTimeError,
    NegativeDurationError,
    UnknownTimezoneError,
    UnknownWeekdayError,
    UnreachableDeadlineError,
)

__all__ = ["BusinessCalendar", "Interval", "TimeOfDay", "WeeklyHours"]

TimeOfDay: TypeAlias = str | time
"""A wall time: ``"HH:MM"``, ``"HH:MM:SS"`` (``"24:00"`` as an end) or a ``datetime.time``."""

Interval: TypeAlias = tuple[TimeOfDay, TimeOfDay]
"""A working interval ``(start, end)`` of wall times; ``start > end`` runs overnight."""

WeeklyHours: TypeAlias = (
    Mapping[str, Sequence[Interval]]
    | Mapping[int, Sequence[Interval]]
    | Mapping[str | int, Sequence[Interval]]
)
"""Weekday (``"mon"``..``"sun"`` or ``0``..``6``, Monday ``0``) to its working intervals."""

_MICRO: Final = 1_000_000
_DAY: Final = 86_400 * _MICRO
_WEEK: Final = 7 * _DAY
_ORDINAL_1970: Final = date(1970, 1, 1).toordinal()
_MONDAY_1970: Final = 4 * _DAY  # 1970-01-05, the first Monday after the wall-time origin
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_EPOCH_UTC: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_US: Final = (date(1, 1, 1).toordinal() - _ORDINAL_1970) * _DAY
_LAST_US: Final = (date(9999, 12, 31).toordinal() + 1 - _ORDINAL_1970) * _DAY - 1
_OFFSET_SCAN_STEP: Final = _DAY  # offset changes that undo each other are >= 3.9 days apart
_WEEKDAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_PATTERN: Final = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")

# One day's intervals as microseconds from that date's midnight: (start, end),
# start < end <= 2 days (an overnight shift ends on the next date).
_DayIntervals: TypeAlias = tuple[tuple[int, int], ...]


def _parse_time(value: object, *, is_end: bool) -> int:
    """Return the wall time ``value`` as microseconds after midnight."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidTimeError.for_value(value, reason="a working time carries no zone")
        return (value.hour * 3600 + value.minute * 60 + value.second) * _MICRO + value.microsecond
    if not isinstance(value, str):
        raise InvalidTimeError.for_value(value, reason=f"a {type(value).__name__} is no time")
    match = _TIME_PATTERN.fullmatch(value.strip())
    if match is None:
        raise InvalidTimeError.for_value(value, reason="not in the form HH:MM or HH:MM:SS")
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3]) if match[3] is not None else 0
    if hour == 24 and minute == 0 and second == 0:
        if not is_end:
            raise InvalidTimeError.for_value(value, reason="24:00 can only end an interval")
        return _DAY
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidTimeError.for_value(value, reason="hour, minute or second out of range")
    return (hour * 3600 + minute * 60 + second) * _MICRO


def _parse_intervals(day: str, intervals: object) -> _DayIntervals:
    """Return the intervals of one day as microsecond pairs, overnight ones ending next day."""
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
        raise InvalidTimeError.for_value(intervals, reason="give a list of (start, end) pairs")
    parsed: list[tuple[int, int]] = []
    for interval in intervals:
        if not isinstance(interval, Sequence) or isinstance(interval, str) or len(interval) != 2:
            raise InvalidTimeError.for_value(interval, reason="an interval is a (start, end) pair")
        start_value, end_value = interval
        start = _parse_time(start_value, is_end=False)
        end = _parse_time(end_value, is_end=True)
        if start == end:
            raise EmptyIntervalError.for_interval(day, str(start_value), str(end_value))
        parsed.append((start, end) if start < end else (start, end + _DAY))
    return tuple(sorted(parsed))


def _weekday_index(key: object) -> int:
    """Return 0..6 for a weekday key ``"mon"``..``"sun"`` (any case) or ``0``..``6``."""
    if isinstance(key, bool):
        raise UnknownWeekdayError.for_key(key)
    if isinstance(key, int):
        if 0 <= key <= 6:
            return key
        raise UnknownWeekdayError.for_key(key)
    if isinstance(key, str) and key.strip().lower() in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES.index(key.strip().lower())
    raise UnknownWeekdayError.for_key(key)


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the union of half-open intervals, sorted, with touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _micros(delta: timedelta) -> int:
    """Return ``delta`` in whole microseconds."""
    return (delta.days * 86_400 + delta.seconds) * _MICRO + delta.microseconds


def _load_zone(name: object) -> zoneinfo.ZoneInfo:
    """Return the IANA zone ``name`` or raise :class:`UnknownTimezoneError`."""
    if not isinstance(name, str):
        raise UnknownTimezoneError.for_name(name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UnknownTimezoneError.for_name(name) from None


class _YearTable:
    """The pieces of one UTC year, with open time counted from the year's start.

    ``starts[i]`` is where piece ``i`` begins (``starts[-1]`` is the year's end)
    and ``opened[i]`` the open time before it (``opened[-1]`` the year's total).
    A regular piece has ``explicit_low[i] == -1``, the UTC offset ``offsets[i]``
    and ``pattern_at_start[i]``, the weekly cumulative at its start's wall time.
    An explicit piece lists its open instants in ``open_starts``/``open_ends``
    at indices ``explicit_low[i]``..``explicit_high[i]``, with ``open_before``
    the open time of the year before each.
    """

    __slots__ = (
        "explicit_high",
        "explicit_low",
        "offsets",
        "open_before",
        "open_ends",
        "open_starts",
        "opened",
        "pattern_at_start",
        "starts",
    )

    def __init__(self) -> None:
        self.starts = array("q")
        self.opened = array("q")
        self.offsets = array("q")
        self.pattern_at_start = array("q")
        self.explicit_low = array("q")
        self.explicit_high = array("q")
        self.open_starts = array("q")
        self.open_ends = array("q")
        self.open_before = array("q")


class BusinessCalendar:
    """Working hours in one time zone, with holidays and per-date overrides."""

    __slots__ = (
        "_exceptional",
        "_first_exceptional_year",
        "_holidays",
        "_last_exceptional_year",
        "_lock",
        "_overrides",
        "_pattern_before",
        "_pattern_ends",
        "_pattern_starts",
        "_pendulum_zone",
        "_recent",
        "_recent_reached",
        "_tables",
        "_weekly",
        "_weekly_open",
        "_years",
        "_zone",
        "_zone_epoch",
        "timezone",
    )

    def __init__(
        self,
        timezone: str,
        hours: WeeklyHours,
        holidays: Iterable[date] = (),
        overrides: Mapping[date, Sequence[Interval]] | None = None,
    ) -> None:
        self._zone = _load_zone(timezone)
        self.timezone: str = timezone
        self._pendulum_zone = pendulum.timezone(timezone)
        self._zone_epoch = datetime(1970, 1, 1, tzinfo=self._pendulum_zone)

        weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for key, intervals in hours.items():
            index = _weekday_index(key)
            weekly[index].extend(_parse_intervals(_WEEKDAY_NAMES[index], intervals))
        self._weekly: tuple[_DayIntervals, ...] = tuple(tuple(sorted(day)) for day in weekly)

        holiday_ordinals: set[int] = set()
        for holiday in holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise InvalidHolidayError.for_value(holiday)
            holiday_ordinals.add(holiday.toordinal())
        self._holidays = frozenset(holiday_ordinals)

        override_days: dict[int, _DayIntervals] = {}
        for override_date, intervals in (overrides or {}).items():
            if isinstance(override_date, datetime) or not isinstance(override_date, date):
                raise InvalidHolidayError.for_value(override_date)
            override_days[override_date.toordinal()] = _parse_intervals(
                override_date.isoformat(), intervals
            )
        self._overrides = override_days

        self._exceptional = array("q", sorted(holiday_ordinals | override_days.keys()))
        self._first_exceptional_year = (
            date.fromordinal(self._exceptional[0]).year if self._exceptional else 0
        )
        self._last_exceptional_year = (
            date.fromordinal(self._exceptional[-1]).year if self._exceptional else 0
        )

        pattern: list[tuple[int, int]] = []
        for weekday, day in enumerate(self._weekly):
            for start, end in day:
                low, high = weekday * _DAY + start, weekday * _DAY + end
                if high <= _WEEK:
                    pattern.append((low, high))
                else:
                    pattern.extend(((low, _WEEK), (0, high - _WEEK)))
        merged = _merge(pattern)
        self._pattern_starts = array("q", (start for start, _ in merged))
        self._pattern_ends = array("q", (end for _, end in merged))
        self._pattern_before = array("q")
        total = 0
        for start, end in merged:
            self._pattern_before.append(total)
            total += end - start
        self._weekly_open = total
        if total == 0 and not any(override_days.values()):
            raise CalendarNeverOpensError.no_working_time(timezone)

        self._lock = threading.Lock()
        self._tables: dict[int, _YearTable] = {}
        # (first year, open time from the origin at the start of each known year
        # and at the end of the last one); replaced whole, never mutated.
        self._years: tuple[int, list[int]] = (0, [])
        # The last years looked up by instant and by open time, so that deadlines
        # around the same time skip the year search: (start, end, open time
        # before the year, table) and (open time before the year, table).
        nowhere = _YearTable()
        nowhere.opened.append(0)
        self._recent: tuple[int, int, int, _YearTable] = (0, 0, 0, nowhere)
        self._recent_reached: tuple[int, _YearTable] = (0, nowhere)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """Return a calendar open at every instant: business time is elapsed time."""
        return cls(timezone=timezone, hours={day: [("00:00", "24:00")] for day in range(7)})

    @classmethod
    def from_country(
        cls,
        country: str,
        *,
        timezone: str,
        hours: WeeklyHours,
        years: Iterable[int],
        subdivision: str | None = None,
        holidays: Iterable[date] = (),
        overrides: Mapping[date, Sequence[Interval]] | None = None,
    ) -> BusinessCalendar:
        """Return a calendar whose holidays are the public holidays of ``country`` in ``years``.

        Needs the optional ``holidays`` package (``pip install issuecore[holidays]``).
        Its dates are taken as local dates in ``timezone``; ``holidays`` adds more.
        """
        from issuecore._sla.holidays import public_holidays

        listed = public_holidays(country, years=years, subdivision=subdivision)
        return cls(
            timezone=timezone,
            hours=hours,
            holidays=[*listed, *holidays],
            overrides=overrides,
        )

    def _definition(self) -> tuple[object, ...]:
        overrides = tuple(sorted(self._overrides.items()))
        return (self.timezone, self._weekly, self._holidays, overrides)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._definition() == other._definition()

    def __hash__(self) -> int:
        return hash(self._definition())

    def __copy__(self) -> BusinessCalendar:
        return self  # immutable: its caches only ever grow and never change a result

    def __deepcopy__(self, memo: dict[int, object]) -> BusinessCalendar:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        hours = {
            weekday: [_interval_of(start, end) for start, end in day]
            for weekday, day in enumerate(self._weekly)
            if day
        }
        holidays = [date.fromordinal(ordinal) for ordinal in sorted(self._holidays)]
        overrides = {
            date.fromordinal(ordinal): [_interval_of(start, end) for start, end in day]
            for ordinal, day in sorted(self._overrides.items())
        }
        return (BusinessCalendar, (self.timezone, hours, holidays, overrides))

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(timezone={self.timezone!r}, "
            f"weekly_hours={timedelta(microseconds=self._weekly_open)}, "
            f"holidays={len(self._holidays)}, overrides={len(self._overrides)})"
        )

    # -- public arithmetic -------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> pendulum.DateTime:
        """Return the earliest instant at or after ``start`` with ``duration`` of business time."""
        origin = self._instant("start", start)
        amount = self._duration("duration", duration, instead="use subtract() to go back")
        if amount == 0:
            return self._deadline(origin, duration)
        target = self._open_before(origin) + amount
        return self._deadline(self._first_reaching(target, duration), duration)

    def subtract(self, at: datetime, duration: timedelta) -> pendulum.DateTime:
        """Return the latest instant at or before ``at`` with ``duration`` of business time."""
        end = self._instant("at", at)
        amount = self._duration("duration", duration, instead="use add() to go forward")
        if amount == 0:
            return self._deadline(end, duration)
        target = self._open_before(end) - amount
        # The latest instant with at most ``target`` before it starts the open
        # microsecond that first brings the count to ``target + 1``.
        return self._deadline(self._first_reaching(target + 1, duration) - 1, duration)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return the business time in ``[a, b)``; negative when ``b`` is before ``a``."""
        start = self._instant("a", a)
        end = self._instant("b", b)
        return timedelta(microseconds=self._open_before(end) - self._open_before(start))

    def is_open(self, at: datetime) -> bool:
        """Return whether the instant ``at`` is inside working hours."""
        return self._is_open(self._instant("at", at))

    def next_open(self, at: datetime) -> pendulum.DateTime:
        """Return ``at`` if it is open, else the next instant at which the calendar opens."""
        instant = self._instant("at", at)
        step = timedelta(microseconds=1)
        if self._is_open(instant):
            return self._deadline(instant, step)
        target = self._open_before(instant) + 1
        return self._deadline(self._first_reaching(target, step) - 1, step)

    # -- conversions -------------------------------------------------------

    def _instant(self, name: str, value: datetime) -> int:
        require_aware(name, value)
        return _micros(datetime.__sub__(value, _EPOCH_UTC))

    @staticmethod
    def _duration(name: str, value: timedelta, *, instead: str) -> int:
        if not isinstance(value, timedelta):
            raise TypeError(f"{name} must be a timedelta, got {type(value).__name__}")
        amount = _micros(value)
        if amount < 0:
            raise NegativeDurationError.for_argument(name, value, instead=instead)
        return amount

    def _deadline(self, instant: int, duration: timedelta) -> pendulum.DateTime:
        """Return ``instant`` as a datetime; refuse one that no datetime in the zone holds."""
        try:
            return self._datetime(instant)
        except OverflowError:  # just past year 9999, in UTC or on the zone's clock
            raise UnreachableDeadlineError.outside_supported_years(
                timezone=self.timezone, duration=duration
            ) from None

    def _datetime(self, instant: int) -> pendulum.DateTime:
        local = self._pendulum_zone.fromutc(self._zone_epoch + timedelta(microseconds=instant))
        return pendulum.DateTime(
            local.year,
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
            local.microsecond,
            tzinfo=self._pendulum_zone,
            fold=local.fold,
        )

    def _offset(self, instant: int) -> int:
        """Return the UTC offset in microseconds at ``instant``."""
        clamped = min(max(instant, _FIRST_US + _DAY), _LAST_US - _DAY)
        local = self._zone.fromutc(
            (_EPOCH_NAIVE + timedelta(microseconds=clamped)).replace(tzinfo=self._zone)
        )
        offset = local.utcoffset()
        assert offset is not None  # a ZoneInfo always knows its offset
        return _micros(offset)

    # -- the weekly pattern, in wall microseconds since 1970-01-01 00:00 ----

    def _pattern_open_before(self, wall: int) -> int:
        """Return the weekly pattern's open wall time from the origin to ``wall``."""
        weeks, position = divmod(wall - _MONDAY_1970, _WEEK)
        index = bisect_right(self._pattern_starts, position) - 1
        within = 0
        if index >= 0:
            within = self._pattern_before[index] + (
                min(position, self._pattern_ends[index]) - self._pattern_starts[index]
            )
        return weeks * self._weekly_open + within

    def _pattern_reaching(self, amount: int) -> int:
        """Return the first wall time whose weekly-pattern open time is ``amount``."""
        weeks = (amount - 1) // self._weekly_open
        remainder = amount - weeks * self._weekly_open
        index = bisect_left(self._pattern_before, remainder) - 1
        position = self._pattern_starts[index] + remainder - self._pattern_before[index]
        return _MONDAY_1970 + weeks * _WEEK + position

    def _pattern_is_open(self, wall: int) -> bool:
        position = (wall - _MONDAY_1970) % _WEEK
        index = bisect_right(self._pattern_starts, position) - 1
        return index >= 0 and position < self._pattern_ends[index]

    # -- F: open time from the origin, and its inverse ---------------------

    def _open_before(self, instant: int) -> int:
        start, end, base, table = self._recent
        if not start <= instant < end:
            year = (_EPOCH_NAIVE + timedelta(microseconds=instant)).year
            first, bases = self._years
            if not first <= year < first + len(bases) - 1:
                first, bases = self._know_years(year, year)
            table = self._table(year)
            base = bases[year - first]
            self._recent = (table.starts[0], table.starts[-1], base, table)
        return base + self._open_in_year(table, instant)

    def _open_in_year(self, table: _YearTable, instant: int) -> int:
        piece = bisect_right(table.starts, instant) - 1
        low = table.explicit_low[piece]
        if low < 0:
            offset = table.offsets[piece]
            return (
                table.opened[piece]
                + self._pattern_open_before(instant + offset)
                - table.pattern_at_start[piece]
            )
        index = bisect_right(table.open_starts, instant, low, table.explicit_high[piece]) - 1
        if index < low:
            return table.opened[piece]
        return (
            table.open_before[index]
            + min(instant, table.open_ends[index])
            - table.open_starts[index]
        )

    def _first_reaching(self, target: int, duration: timedelta) -> int:
        """Return the first instant with ``target`` open time before it."""
        base, table = self._recent_reached
        if not base < target <= base + table.opened[-1]:
            first, bases = self._years
            while target > bases[-1] or target <= bases[0]:
                if target > bases[-1]:
                    year = first + len(bases) - 1
                    self._check_reachable(year, duration, direction="ahead")
                    first, bases = self._know_years(year, year)
                else:
                    year = first - 1
                    self._check_reachable(year, duration, direction="before")
                    first, bases = self._know_years(year, year)
            position = bisect_left(bases, target) - 1
            table = self._table(first + position)
            base = bases[position]
            self._recent_reached = (base, table)
        within = target - base
        piece = bisect_left(table.opened, within) - 1
        low = table.explicit_low[piece]
        if low < 0:
            offset = table.offsets[piece]
            wall = self._pattern_reaching(
                table.pattern_at_start[piece] + within - table.opened[piece]
            )
            return wall - offset
        index = bisect_left(table.open_before, within, low, table.explicit_high[piece]) - 1
        return table.open_starts[index] + within - table.open_before[index]

    def _check_reachable(self, year: int, duration: timedelta, *, direction: str) -> None:
        if not 1 <= year <= 9999:
            raise UnreachableDeadlineError.outside_supported_years(
                timezone=self.timezone, duration=duration
            )
        if self._weekly_open == 0 and not (
            self._first_exceptional_year - 1 <= year <= self._last_exceptional_year + 1
        ):
            raise UnreachableDeadlineError.beyond_last_opening(
                timezone=self.timezone, direction=direction, duration=duration
            )

    def _is_open(self, instant: int) -> bool:
        year = (_EPOCH_NAIVE + timedelta(microseconds=instant)).year
        table = self._table(year)
        piece = bisect_right(table.starts, instant) - 1
        low = table.explicit_low[piece]
        if low < 0:
            return self._pattern_is_open(instant + table.offsets[piece])
        index = bisect_right(table.open_starts, instant, low, table.explicit_high[piece]) - 1
        return index >= low and instant < table.open_ends[index]

    # -- lazy, cached precomputation ---------------------------------------

    def _know_years(self, low: int, high: int) -> tuple[int, list[int]]:
        """Make the cumulative open time known for every year from ``low`` to ``high``."""
        with self._lock:
            first, bases = self._years
            if not bases:
                first, bases = low, [0, self._table(low).opened[-1]]
            new_bases = list(bases)
            while first > low:
                first -= 1
                new_bases.insert(0, new_bases[0] - self._table(first).opened[-1])
            while first + len(new_bases) - 1 <= high:
                year = first + len(new_bases) - 1
                new_bases.append(new_bases[-1] + self._table(year).opened[-1])
            self._years = (first, new_bases)
            return self._years

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._build_table(year)
            self._tables[year] = table
        return table

    def _build_table(self, year: int) -> _YearTable:
        year_start = _year_start(year)
        year_end = _year_start(year + 1)
        transitions = self._transitions(year_start, year_end)
        clusters = self._exceptional_windows(year_start, year_end)

        table = _YearTable()
        offset = self._offset(year_start)
        cursor = year_start
        next_transition = 0

        def regular(start: int, end: int, offset: int) -> None:
            table.starts.append(start)
            table.offsets.append(offset)
            table.pattern_at_start.append(self._pattern_open_before(start + offset))
            table.explicit_low.append(-1)
            table.explicit_high.append(-1)

        def regular_until(limit: int) -> None:
            nonlocal cursor, offset, next_transition
            while next_transition < len(transitions) and transitions[next_transition][0] < limit:
                when, after = transitions[next_transition]
                if when > cursor:
                    regular(cursor, when, offset)
                offset, cursor = after, when
                next_transition += 1
            if limit > cursor:
                regular(cursor, limit, offset)
            cursor = limit

        for window_start, window_end in clusters:
            regular_until(window_start)
            segments: list[tuple[int, int, int]] = []
            segment_start = window_start
            while (
                next_transition < len(transitions) and transitions[next_transition][0] < window_end
            ):
                when, after = transitions[next_transition]
                segments.append((segment_start, when, offset))
                offset, segment_start = after, when
                next_transition += 1
            segments.append((segment_start, window_end, offset))
            table.starts.append(window_start)
            table.offsets.append(0)
            table.pattern_at_start.append(0)
            piece_low = len(table.open_starts)
            table.explicit_low.append(piece_low)
            for open_start, open_end in self._explicit_open(segments):
                if len(table.open_ends) > piece_low and table.open_ends[-1] == open_start:
                    table.open_ends[-1] = open_end
                else:
                    table.open_starts.append(open_start)
                    table.open_ends.append(open_end)
            table.explicit_high.append(len(table.open_starts))
            cursor = window_end
        regular_until(year_end)
        table.starts.append(year_end)

        opened = 0
        for piece in range(len(table.starts) - 1):
            table.opened.append(opened)
            low = table.explicit_low[piece]
            if low < 0:
                offset = table.offsets[piece]
                opened += (
                    self._pattern_open_before(table.starts[piece + 1] + offset)
                    - table.pattern_at_start[piece]
                )
            else:
                for index in range(low, table.explicit_high[piece]):
                    table.open_before.append(opened)
                    opened += table.open_ends[index] - table.open_starts[index]
        table.opened.append(opened)
        return table

    def _transitions(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return ``(instant, offset after)`` for each UTC offset change in ``(start, end)``."""
        found: list[tuple[int, int]] = []
        cursor, offset = start, self._offset(start)
        while cursor < end:
            probe = min(cursor + _OFFSET_SCAN_STEP, end)
            probe_offset = self._offset(probe)
            if probe_offset == offset:
                cursor = probe
                continue
            low, high = cursor, probe
            while high - low > 1:
                middle = (low + high) // 2
                if self._offset(middle) == offset:
                    low = middle
                else:
                    high = middle
            offset = self._offset(high)
            if high < end:
                found.append((high, offset))
            cursor = high
        return found

    def _exceptional_windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return the merged instant windows in ``[start, end)`` around holidays and overrides.

        A date's shifts lie within two days of wall time from its midnight, and
        a UTC offset is less than a day, so one day before to three days after
        the date's wall midnight holds every instant they can touch.
        """
        low = bisect_left(self._exceptional, start // _DAY + _ORDINAL_1970 - 3)
        high = bisect_right(self._exceptional, end // _DAY + _ORDINAL_1970 + 1)
        windows: list[tuple[int, int]] = []
        for ordinal in self._exceptional[low:high]:
            midnight = (ordinal - _ORDINAL_1970) * _DAY
            window = (max(midnight - _DAY, start), min(midnight + 3 * _DAY, end))
            if window[0] < window[1]:
                windows.append(window)
        return _merge(windows)

    def _explicit_open(self, segments: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
        """Return the open instants of ``(start, end, offset)`` segments of one offset each."""
        opened: list[tuple[int, int]] = []
        for start, end, offset in segments:
            if start >= end:
                continue
            wall_start, wall_end = start + offset, end + offset
            first_day = wall_start // _DAY + _ORDINAL_1970 - 1
            last_day = (wall_end - 1) // _DAY + _ORDINAL_1970
            for open_start, open_end in self._wall_open(first_day, last_day):
                low, high = max(open_start, wall_start), min(open_end, wall_end)
                if low < high:
                    opened.append((low - offset, high - offset))
        return opened

    def _wall_open(self, first_day: int, last_day: int) -> list[tuple[int, int]]:
        """Return the merged open wall intervals of shifts starting on these date ordinals."""
        shifts: list[tuple[int, int]] = []
        for ordinal in range(first_day, last_day + 1):
            if ordinal in self._holidays:
                continue
            day = self._overrides.get(ordinal)
            if day is None:
                day = self._weekly[(ordinal + 6) % 7]
            midnight = (ordinal - _ORDINAL_1970) * _DAY
            shifts.extend((midnight + start, midnight + end) for start, end in day)
        return _merge(shifts)


def _interval_of(start: int, end: int) -> Interval:
    """Return the parsed interval ``(start, end)`` as wall times again."""

    def wall(micros: int) -> time:
        seconds, microsecond = divmod(micros, _MICRO)
        return time(seconds // 3600, seconds // 60 % 60, seconds % 60, microsecond)

    if end == _DAY:
        return wall(start), "24:00"
    return wall(start), wall(end % _DAY)


def _year_start(year: int) -> int:
    """Return the instant (microseconds since the epoch) at which the UTC ``year`` starts."""
    if year > 9999:
        return _LAST_US + 1 + (year - 10000) * 365 * _DAY
    if year < 1:
        return _FIRST_US - (1 - year) * 365 * _DAY
    return (date(year, 1, 1).toordinal() - _ORDINAL_1970) * _DAY
