"""The project's own Hypothesis strategies: hostile mail, edges of time, values stores keep.

The strategies adopters get live in :mod:`issuecore.testing.strategies`.
"""

from __future__ import annotations

import enum
import operator
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from issuecore._sla.clock import Period, SlaClock, SlaRole, SlaTargetName, TargetState

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


# --- stored values: issues, thread entries and events with every field drawn ------------

_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)


def _instants() -> st.SearchStrategy[datetime]:
    zones = st.sampled_from([UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/Havana")])
    return st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
    ).filter(lambda at: at.utcoffset() is not None)


def values_of(hint: Any) -> st.SearchStrategy[Any]:
    """Draw values of the type ``hint``, attrs classes field by field (SLA clocks as made)."""
    if hint is SlaClock:
        return sla_clocks()
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([values_of(member) for member in arguments])
    if origin is tuple:
        return st.lists(values_of(arguments[0]), max_size=3).map(tuple)
    if origin is not None and issubclass(origin, Mapping):
        items = _JSON_SCALARS if arguments[1] is Any else values_of(arguments[1])
        return st.dictionaries(st.text(max_size=8), items, max_size=3)
    if attrs.has(hint):
        hints = typing.get_type_hints(hint)
        fields = {
            field.alias: values_of(hints[field.name]) for field in attrs.fields(hint) if field.init
        }
        return st.builds(hint, **fields)
    if isinstance(hint, enum.EnumMeta):
        return st.sampled_from(list(hint))
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=12),
        int: st.integers(),
        bool: st.booleans(),
        type(None): st.none(),
        datetime: _instants(),
        timedelta: st.timedeltas(),
        bytes: st.binary(max_size=16),
    }
    return scalars[hint]


@st.composite
def sla_clocks(draw: st.DrawFn) -> SlaClock:
    """Draw SLA clocks with both targets, any deadlines, verdicts, notices and periods."""

    def target(name: SlaTargetName, *, required: bool) -> TargetState:
        spans = values_of(timedelta)
        return TargetState(
            name=name,
            target=draw(spans if required else st.none() | spans),
            due_by=draw(st.none() | _instants()),
            done_at=draw(st.none() | _instants()),
            met=draw(st.none() | st.booleans()),
            business=draw(st.none() | spans),
            breached=draw(st.booleans()),
            reported=tuple(draw(st.lists(st.sampled_from(["at_risk", "breached"]), unique=True))),
        )

    optional_text = st.none() | st.text(max_size=8)
    return SlaClock(
        agreement=draw(st.text(max_size=8)),
        priority=draw(st.text(max_size=8)),
        response=target(SlaTargetName.RESPONSE, required=True),
        resolution=target(SlaTargetName.RESOLUTION, required=False),
        started_at=draw(_instants()),
        role=draw(st.sampled_from(list(SlaRole))),
        periods=tuple(draw(st.lists(values_of(Period), max_size=2))),
        consumed=draw(st.timedeltas()),
        running_since=draw(st.none() | _instants()),
        paused_since=draw(st.none() | _instants()),
        hold_business=draw(st.timedeltas()),
        hold_elapsed=draw(st.timedeltas()),
        reset_at=draw(st.none() | _instants()),
        reset_by=draw(optional_text),
        reset_reason=draw(optional_text),
    )


# Header fields of plain one-part messages: common names, and values that are plain,
# encoded, non-ASCII, empty, or name a content type of any kind.
header_names = st.sampled_from(
    [
        "Subject",
        "To",
        "From",
        "X-Odd",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Received",
    ]
)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    st.sampled_from(
        [
            "text/html; charset=utf-8",
            "TEXT/Plain",
            "multipart/mixed; boundary=b",
            "Multipart/alternative; boundary=c",
            "message/rfc822",
            "message/delivery-status",
            "application/pdf",
            'text/plain; charset="utf-8"',
            "=?utf-8?q?D=C3=A9j=C3=A0?=",
            "Déjà vu",
            "",
            " ",
        ]
    ),
)
# A field as (name, value, what follows the value on its line: nothing or a folded line)
header_fields = st.tuples(
    header_names, header_values, st.sampled_from(["", "\n continued", "\n\tmore"])
)
