"""The JSON codec storage adapters keep issues with."""

from __future__ import annotations

import calendar
import enum
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore._codec import (
    decode,
    dumps,
    encode,
    entry_document,
    entry_from_document,
    from_micros,
    issue_document,
    issue_from_document,
    loads,
    to_micros,
)
from issuecore.errors import NaiveDatetimeError
from issuecore.model import Status
from issuecore.testing.contracts import populated_entry, populated_issue

BERLIN = ZoneInfo("Europe/Berlin")


class Colour(enum.Enum):
    RED = 1
    GREEN = 2


class Mood(enum.StrEnum):
    CALM = "calm"
    ANGRY = "angry"


@attrs.frozen(kw_only=True)
class Pause:
    start: datetime
    end: datetime | None = None


@attrs.frozen(kw_only=True)
class Special(Pause):
    why: str


@attrs.frozen(kw_only=True)
class Everything:
    text: str
    count: int
    ratio: float
    flag: bool
    nothing: None
    colour: Colour
    mood: Mood
    at: datetime
    day: date
    clock: time
    span: timedelta
    blob: bytes
    money: Decimal
    zone: ZoneInfo
    kind: Literal["a", "b"]
    either: int | str
    pauses: tuple[Pause, ...]
    pair: tuple[int, str]
    tags: frozenset[str]
    by_name: Mapping[str, timedelta]
    by_day: dict[date, int]
    nested: Pause | None = None
    _private: int = 0


def everything(**changes: object) -> Everything:
    at = datetime(2026, 3, 2, 1, 30, 0, 250, tzinfo=BERLIN)
    values: dict[str, object] = {
        "text": "Grüße ✓",
        "count": -3,
        "ratio": 0.25,
        "flag": True,
        "nothing": None,
        "colour": Colour.GREEN,
        "mood": Mood.ANGRY,
        "at": at,
        "day": date(2026, 2, 28),
        "clock": time(17, 30, 5, 1),
        "span": timedelta(days=-1, microseconds=7),
        "blob": bytes(range(256)),
        "money": Decimal("12.340"),
        "zone": BERLIN,
        "kind": "b",
        "either": "seven",
        "pauses": (Pause(start=at), Special(start=at, end=at + timedelta(hours=1), why="x")),
        "pair": (1, "one"),
        "tags": frozenset({"b", "a", "c"}),
        "by_name": {"response": timedelta(hours=4)},
        "by_day": {date(2026, 1, 1): 1, date(2026, 12, 25): 2},
        "nested": Pause(start=at, end=at),
        "private": 5,
    }
    values.update(changes)
    return Everything(**values)  # type: ignore[arg-type]


def test_every_supported_type_round_trips() -> None:
    value = everything()
    assert loads(Everything, dumps(value)) == value


def test_a_subclass_in_a_field_of_its_base_comes_back_as_the_subclass() -> None:
    restored = loads(Everything, dumps(everything()))
    assert type(restored.pauses[1]) is Special
    assert restored.pauses[1].why == "x"


def test_instants_are_stored_in_utc_and_read_back_aware() -> None:
    stored = json.loads(dumps(everything()))
    assert stored["at"] == "2026-03-02T00:30:00.000250+00:00"
    restored = loads(Everything, dumps(everything()))
    assert restored.at.utcoffset() == timedelta(0)


def test_spans_are_stored_as_integer_microseconds() -> None:
    stored = json.loads(dumps(everything()))
    assert stored["span"] == -86_400_000_000 + 7
    assert stored["by_name"] == {"response": 4 * 3_600_000_000}


def test_sets_are_stored_sorted_so_equal_values_give_equal_documents() -> None:
    assert json.loads(dumps(everything()))["tags"] == ["a", "b", "c"]
    assert dumps(everything(tags=frozenset("cba"))) == dumps(everything(tags=frozenset("abc")))


def test_a_union_of_several_types_is_tagged_and_restored() -> None:
    for either in (7, "7"):
        assert loads(Everything, dumps(everything(either=either))).either == either


def test_missing_optional_values_come_back_as_none() -> None:
    value = everything(nested=None)
    assert loads(Everything, dumps(value)).nested is None


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        dumps(Pause(start=datetime(2026, 1, 1)))


def test_a_value_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(TypeError, match=r"\$\.count: expected int, got str"):
        dumps(everything(count="3"))


def test_a_field_added_later_takes_its_default_when_reading_an_older_document() -> None:
    older = json.loads(dumps(everything()))
    del older["nested"]
    del older["_private"]
    restored = decode(older, Everything)
    assert restored.nested is None
    assert restored == everything(nested=None, private=0)


def test_a_key_no_longer_known_is_ignored() -> None:
    document = json.loads(dumps(Pause(start=datetime(2026, 1, 1, tzinfo=UTC))))
    document["removed_field"] = [1, 2, 3]
    assert decode(document, Pause) == Pause(start=datetime(2026, 1, 1, tzinfo=UTC))


def test_an_issue_document_round_trips_with_the_version_from_its_column() -> None:
    issue = populated_issue("ISS-2026-00001")
    document = issue_document(issue)
    assert "version" not in json.loads(document)
    assert issue_from_document(document, version=3) == attrs.evolve(issue, version=3)


def test_an_entry_document_keeps_attachment_bytes_out_of_the_json() -> None:
    entry = populated_entry()
    document, files = entry_document(entry)
    assert "attachments" not in json.loads(document)
    assert [data for _, data in files] == [attachment.data for attachment in entry.attachments]
    assert all("data" not in json.loads(described) for described, _ in files)
    assert entry_from_document(document, files) == entry


def test_a_status_stored_as_text_still_equals_the_enum() -> None:
    issue = attrs.evolve(populated_issue("ISS-2026-00002"), status=Status.ON_HOLD)
    assert issue_from_document(issue_document(issue), version=1).status == Status.ON_HOLD


def test_microseconds_since_the_epoch_keep_the_instant() -> None:
    at = datetime(2026, 10, 25, 2, 30, 0, 1, tzinfo=BERLIN, fold=1)
    assert to_micros("at", at) == calendar.timegm((2026, 10, 25, 1, 30, 0)) * 10**6 + 1
    assert from_micros(to_micros("at", at)) == at.astimezone(UTC)


def test_encode_refuses_a_value_declared_as_any_that_is_not_plain_json() -> None:
    with pytest.raises(TypeError, match="declare the field with a precise type"):
        encode({"when": datetime(2026, 1, 1, tzinfo=UTC)}, object)


@given(
    text=st.text(),
    count=st.integers(),
    span=st.timedeltas(),
    blob=st.binary(),
    at=st.datetimes(timezones=st.sampled_from([UTC, BERLIN])),
    tags=st.frozensets(st.text(max_size=5)),
    either=st.integers() | st.text(),
)
def test_values_drawn_at_random_round_trip(
    text: str,
    count: int,
    span: timedelta,
    blob: bytes,
    at: datetime,
    tags: frozenset[str],
    either: int | str,
) -> None:
    value = everything(text=text, count=count, span=span, blob=blob, tags=tags, either=either)
    assert loads(Everything, dumps(value)) == value
    restored = loads(Pause, dumps(Pause(start=at)))
    assert restored.start.astimezone(UTC) == at.astimezone(UTC)
