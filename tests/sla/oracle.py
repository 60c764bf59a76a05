"""A brute-force reference for business calendars, written from ``spec/sla.md`` alone.

It shares no code with :mod:`issuecore._sla.calendar`. It finds the instants at
which the zone's UTC offset changes by sampling ``zoneinfo`` every 30 minutes
and bisecting, cuts time into segments of one offset, maps every active shift
(one interval of one date, unmerged) into each segment, and takes the union of
the resulting instant intervals. ``is_open_by_definition`` does not even do
that: it reads the instant's wall time and looks for a shift that covers it.

Instants are integer microseconds since 1970-01-01 00:00 UTC; wall times are
naive datetimes; shift times are seconds after midnight (``86400`` is 24:00).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SAMPLE = timedelta(minutes=30)

SecondsInterval = tuple[int, int]


def to_micros(instant: datetime) -> int:
    """Return the aware ``instant`` as microseconds since the epoch."""
    delta = instant.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Return the UTC datetime ``micros`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar as plain data: weekday (Monday 0) to intervals in seconds after midnight."""

    zone: str
    weekly: Mapping[int, Sequence[SecondsInterval]]
    holidays: frozenset[date] = frozenset()
    overrides: Mapping[date, Sequence[SecondsInterval]] = field(default_factory=dict)

    def shifts_starting_on(self, day: date) -> Sequence[SecondsInterval]:
        """Return the active intervals of the shifts that start on the local date ``day``."""
        if day in self.holidays:
            return ()
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())


def wall_span(day: date, interval: SecondsInterval) -> tuple[datetime, datetime]:
    """Return the naive wall-time range ``[start, end)`` a shift on ``day`` covers."""
    start, end = interval
    midnight = datetime(day.year, day.month, day.day)
    if start < end:
        return midnight + timedelta(seconds=start), midnight + timedelta(seconds=end)
    return midnight + timedelta(seconds=start), midnight + timedelta(days=1, seconds=end)


def offset_at(zone: ZoneInfo, micros: int) -> timedelta:
    """Return the UTC offset of ``zone`` at the instant ``micros``."""
    offset = from_micros(micros).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def offset_segments(zone: ZoneInfo, low: int, high: int) -> list[tuple[int, int, timedelta]]:
    """Return ``(start, end, offset)`` pieces of ``[low, high)`` with one UTC offset each."""
    step = 30 * 60 * 1_000_000
    segments: list[tuple[int, int, timedelta]] = []
    start, offset = low, offset_at(zone, low)
    probe = low
    while probe < high:
        following = min(probe + step, high)
        if offset_at(zone, following) != offset:
            before, after = probe, following
            while after - before > 1:
                middle = (before + after) // 2
                if offset_at(zone, middle) == offset:
                    before = middle
                else:
                    after = middle
            segments.append((start, after, offset))
            start, offset = after, offset_at(zone, after)
            probe = after
        else:
            probe = following
    segments.append((start, high, offset))
    return segments


class Oracle:
    """Open instants of one calendar within a window, computed by brute force."""

    def __init__(self, spec: CalendarSpec, low: int, high: int) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.zone)
        self.low, self.high = low, high
        pieces: list[tuple[int, int]] = []
        first_day = from_micros(low).date() - timedelta(days=3)
        last_day = from_micros(high).date() + timedelta(days=3)
        shifts: list[tuple[datetime, datetime]] = []
        day = first_day
        while day <= last_day:
            shifts.extend(wall_span(day, interval) for interval in spec.shifts_starting_on(day))
            day += timedelta(days=1)
        naive_epoch = datetime(1970, 1, 1)
        for seg_start, seg_end, offset in offset_segments(self.zone, low, high):
            for wall_start, wall_end in shifts:
                # wall = instant + offset within this segment
                start = to_naive_micros(wall_start, naive_epoch) - micros_of(offset)
                end = to_naive_micros(wall_end, naive_epoch) - micros_of(offset)
                start, end = max(start, seg_start), min(end, seg_end)
                if start < end:
                    pieces.append((start, end))
        self.intervals: list[tuple[int, int]] = []
        for start, end in sorted(pieces):
            if self.intervals and start <= self.intervals[-1][1]:
                last_start, last_end = self.intervals[-1]
                self.intervals[-1] = (last_start, max(last_end, end))
            else:
                self.intervals.append((start, end))

    def between(self, a: int, b: int) -> int:
        """Return the open microseconds in ``[a, b)`` (negative when ``b < a``)."""
        if b < a:
            return -self.between(b, a)
        assert self.low <= a, "outside the oracle's window"
        assert b <= self.high, "outside the oracle's window"
        return sum(max(0, min(end, b) - max(start, a)) for start, end in self.intervals)

    def add(self, a: int, duration: int) -> int:
        """Return the earliest ``u >= a`` with ``duration`` open microseconds in ``[a, u)``."""
        if duration == 0:
            return a
        remaining = duration
        for start, end in self.intervals:
            start = max(start, a)
            if start >= end:
                continue
            if end - start >= remaining:
                return start + remaining
            remaining -= end - start
        raise AssertionError("the oracle's window is too short for this duration")

    def next_open(self, a: int) -> int:
        """Return the first open instant at or after ``a``."""
        for start, end in self.intervals:
            if end > a:
                return max(start, a)
        raise AssertionError("the oracle's window is too short")

    def is_open_by_definition(self, micros: int) -> bool:
        """Return whether the wall time of ``micros`` is in a shift of its date or the prior one."""
        wall = from_micros(micros).astimezone(self.zone).replace(tzinfo=None)
        for day in (wall.date() - timedelta(days=1), wall.date()):
            for interval in self.spec.shifts_starting_on(day):
                start, end = wall_span(day, interval)
                if start <= wall < end:
                    return True
        return False


def to_naive_micros(wall: datetime, epoch: datetime) -> int:
    """Return a naive wall time as microseconds after the naive ``epoch``."""
    return micros_of(wall - epoch)


def micros_of(delta: timedelta) -> int:
    """Return ``delta`` in whole microseconds."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
