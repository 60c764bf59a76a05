"""The project's own Hypothesis strategies: hostile mail, and instants on the edges of time.

The strategies adopters get live in :mod:`issuecore.testing.strategies`.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

#: Characters that break headers or readers when they slip through.
NASTY = st.sampled_from(
    ["\r", "\n", "\r\n", "\0", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\udc80",
     "\u202e", ":", ";", ",", "<", ">", '"', "\\", "=?", "?=", "[#", "]", "Re:", " ", "\t"]
)  # fmt: skip

ENCODED_WORDS = st.sampled_from(
    [
        "=?UTF-8?B?SGVsbG8gV29ybGQ=?=",
        "=?UTF-8?Q?=0D=0ABcc:_victim@example.com?=",
        "=?ISO-8859-1?Q?f=FCr?=",
        "=?utf-8?b?4pyT?=",
        "=?bogus-charset?Q?x?=",
        "=?UTF-8?B?not base64?=",
        "=?UTF-8?Q?=00=0D?=",
    ]
)

CONTENT_TYPES = st.sampled_from(
    [
        "text/plain",
        "multipart/mixed; boundary=b",
        "text/html; charset=x-unknown",
        "multipart/report; report-type=delivery-status; boundary=b",
        "message/rfc822",
        "",
    ]
)

hostile_text = st.lists(st.one_of(st.text(max_size=20), NASTY, ENCODED_WORDS), max_size=25).map(
    "".join
)

long_text = st.builds(
    lambda unit, count: unit * count, st.text(min_size=1, max_size=5), st.integers(1, 3000)
)

subjects = st.one_of(hostile_text, long_text)
names = hostile_text


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes:
    """Return a message assembled from hostile header values and bodies."""
    headers = [
        ("From", draw(st.one_of(names.map(lambda n: f"{n} <x@example.com>"), hostile_text))),
        ("To", draw(hostile_text)),
        ("Subject", draw(subjects)),
        ("Message-ID", draw(hostile_text)),
        ("References", draw(hostile_text)),
        ("Date", draw(hostile_text)),
        ("Content-Type", draw(CONTENT_TYPES)),
    ]
    extra_name = st.from_regex(r"[A-Za-z-]{1,20}", fullmatch=True)
    headers += draw(st.lists(st.tuples(extra_name, hostile_text), max_size=5))
    lines = [f"{name}: {value}" for name, value in draw(st.permutations(headers))]
    body = draw(st.one_of(hostile_text, st.just("--b\nContent-Type: text/plain\n\nhi\n--b--\n")))
    text = "\n".join(lines) + "\n\n" + body
    return text.encode("utf-8", "surrogateescape")


# --- boundaries: instants and durations that land exactly on an edge ----------------------

#: A step of one microsecond before, onto and after a boundary.
AROUND = (-1, 0, 1)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_DAY = 86_400 * 1_000_000


def _micros(instant: datetime) -> int:
    delta = instant.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _wall_instants(zone: ZoneInfo, wall: datetime) -> set[int]:
    """Return the instants a naive wall time names in ``zone`` (both folds; a gap's edges)."""
    return {_micros(wall.replace(tzinfo=zone, fold=fold)) for fold in (0, 1)}


def offset_changes(zone_name: str, low: int, high: int) -> list[int]:
    """Return the instants in ``[low, high)`` at which ``zone_name`` changes its UTC offset."""
    zone = ZoneInfo(zone_name)
    step = 30 * 60 * 1_000_000

    def offset(micros: int) -> timedelta | None:
        return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone).utcoffset()

    found: list[int] = []
    probe = low
    while probe < high:
        following = probe + step
        if offset(following) != offset(probe):
            before, after = probe, following
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (
                    (middle, after) if offset(middle) == offset(probe) else (before, middle)
                )
            found.append(after)
        probe = following
    return found


def calendar_boundaries(
    zone_name: str,
    weekly: Mapping[int, Sequence[tuple[int, int]]],
    *,
    holidays: Iterable[date] = (),
    first_day: date,
    days: int,
) -> list[int]:
    """Return every opening, closing, holiday edge and offset change of a calendar near a span.

    ``weekly`` maps a weekday (Monday 0) to shifts in seconds after midnight
    (``end <= start`` runs past midnight). Worked out from the definition
    with ``zoneinfo`` alone, sharing nothing with the calendar under test.
    """
    zone = ZoneInfo(zone_name)
    closed = set(holidays)
    found: set[int] = set()
    for shift in range(-1, days + 1):
        day = first_day + timedelta(days=shift)
        midnight = datetime(day.year, day.month, day.day)
        if day in closed:
            found |= _wall_instants(zone, midnight)
            found |= _wall_instants(zone, midnight + timedelta(days=1))
            continue
        for start, end in weekly.get(day.weekday(), ()):
            found |= _wall_instants(zone, midnight + timedelta(seconds=start))
            ends_next_day = end <= start
            found |= _wall_instants(zone, midnight + timedelta(days=ends_next_day, seconds=end))
    low = _micros(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC))
    found.update(
        offset_changes(zone_name, low - _MICROS_PER_DAY, low + (days + 1) * _MICROS_PER_DAY)
    )
    return sorted(found)


def around(boundaries: Sequence[int]) -> st.SearchStrategy[int]:
    """Draw an instant (in microseconds) one microsecond before, at or after a boundary."""
    return st.builds(operator.add, st.sampled_from(boundaries), st.sampled_from(AROUND))


def spans_around(threshold: timedelta) -> st.SearchStrategy[timedelta]:
    """Draw ``threshold`` less one microsecond, ``threshold`` itself, or one microsecond more."""
    return st.sampled_from(AROUND).map(lambda step: threshold + timedelta(microseconds=step))


#: Spans a setting may take: a microsecond, round values and arbitrary ones up to a year.
settings_spans = st.one_of(
    st.sampled_from(
        [timedelta(microseconds=1), timedelta(seconds=1), timedelta(hours=1), timedelta(days=2)]
    ),
    st.integers(1, 365 * _MICROS_PER_DAY).map(lambda micros: timedelta(microseconds=micros)),
)
