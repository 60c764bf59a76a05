"""The JSON codec storage adapters keep issues with."""

from __future__ import annotations

import calendar
import enum
import json
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import _codec, _model
from issuecore._codec import (
    decode,
    dumps,
    encode,
    entry_document,
    entry_from_document,
    from_micros,
    issue_document,
    issue_from_document,
    json_text,
    json_value,
    loads,
    to_micros,
)
from issuecore._instants import in_utc
from issuecore._model import (
    Actor,
    ActorKind,
    Event,
    Issue,
    IssueOpened,
    MessageReceived,
    Status,
    ThreadEntry,
)
from issuecore._workflow import open_issue
from issuecore.errors import NaiveDatetimeError
from issuecore.testing.contracts import populated_entry, populated_issue
from strategies import values_of

BERLIN = ZoneInfo("Europe/Berlin")


class Colour(enum.Enum):
    RED = 1
    GREEN = 2


class Level(enum.IntEnum):
    HIGH = 2


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


@given(at=st.datetimes(timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("Asia/Kolkata")])))
def test_an_instant_is_stored_as_its_utc_fields_say_in_any_zone_and_as_pendulum_utc(
    at: datetime,
) -> None:
    utc = at.astimezone(UTC)
    micros = calendar.timegm(utc.timetuple()) * 10**6 + utc.microsecond
    text = utc.isoformat()
    assert (to_micros("at", at), encode(at, datetime)) == (micros, text)
    in_pendulum = from_micros(micros)  # the form the domain keeps instants in
    assert (to_micros("at", in_pendulum), encode(in_pendulum, datetime)) == (micros, text)


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


# Every refusal names the path of the value and what was wrong with it.


@attrs.frozen(kw_only=True)
class Collections:
    numbers: list[int]
    unique: set[str]
    sequence: Sequence[int]
    abstract_set: AbstractSet[int]
    mutable: MutableMapping[int, str]
    plain: dict[str, Any]
    anything: Any = None


def collections_value(**changes: object) -> Collections:
    values: dict[str, object] = {
        "numbers": [3, 1, 2],
        "unique": {"b", "a"},
        "sequence": (5, 4),
        "abstract_set": frozenset({2, 1}),
        "mutable": {2: "two", 1: "one"},
        "plain": {"k": [1, "x", None, {"nested": True}]},
        "anything": ("a", 1.5),
    }
    values.update(changes)
    return Collections(**values)  # type: ignore[arg-type]


def test_collections_come_back_as_the_type_declared() -> None:
    restored = loads(Collections, dumps(collections_value()))
    assert restored.numbers == [3, 1, 2]
    assert restored.unique == {"b", "a"}
    assert type(restored.unique) is set
    assert restored.sequence == (5, 4)
    assert type(restored.sequence) is tuple
    assert restored.abstract_set == frozenset({1, 2})
    assert type(restored.abstract_set) is frozenset
    assert restored.mutable == {1: "one", 2: "two"}
    assert restored.plain == {"k": [1, "x", None, {"nested": True}]}
    assert restored.anything == ["a", 1.5]


def test_a_mapping_without_text_keys_is_stored_as_pairs() -> None:
    assert json.loads(dumps(collections_value()))["mutable"] == [[2, "two"], [1, "one"]]


@pytest.mark.parametrize(
    ("value", "hint", "message"),
    [
        (None, int, r"\$: None given for a value of type int"),
        (None, int | str, r"\$: None given for a value that cannot be None"),
        (1.5, int | str, r"\$: float is not one of int \| str"),
        (True, int | str, r"\$: bool is not one of int \| str"),
        ([1], tuple[int, ...], r"\$: expected a tuple, got list"),
        ((1, 2), tuple[int], r"\$: expected 1 items, got 2"),
        ("abc", list[str], r"\$: expected a collection, got str"),
        ([("a", 1)], dict[str, int], r"\$: expected a mapping, got list"),
        (int, type[int], r"\$: classes cannot be stored"),
        ("1.5", float, r"\$: expected float, got str"),
        (True, float, r"\$: expected float, got bool"),
        (5, str, r"\$: expected str, got int"),
        ("2026-01-01", date, r"\$: expected date, got str"),
        (time(9, tzinfo=UTC), time, r"\$: a time of day with a zone cannot be stored"),
        (object(), complex, r"\$: cannot encode a value declared as complex"),
        (1, "int", r"\$: cannot encode a value declared as 'int'"),
        ({1: "a"}, Any, r"\$: a value declared as Any must be plain JSON, got dict"),
    ],
)
def test_encode_refuses_a_value_that_does_not_fit_its_declared_type(
    value: object, hint: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        encode(value, hint)


def test_encode_refuses_an_instance_of_another_attrs_class() -> None:
    with pytest.raises(TypeError, match=r"\$\.nested: expected Pause, got Collections"):
        encode(collections_value(), Pause, "$.nested")


def test_an_int_is_not_taken_for_a_bool_and_an_int_subclass_is_stored_as_int() -> None:
    with pytest.raises(TypeError, match=r"expected bool, got int"):
        encode(1, bool)
    assert encode(Level.HIGH, int) == 2
    assert type(encode(Level.HIGH, int)) is int


def test_an_enum_field_given_its_value_stores_that_value() -> None:
    assert encode(2, Colour) == 2
    assert encode("calm", Mood) == "calm"
    with pytest.raises(ValueError, match="3 is not a valid Colour"):
        encode(3, Colour)


def test_a_union_with_a_literal_member_picks_it_by_value() -> None:
    hint = Literal["open", "closed"] | int
    stored = encode("open", hint)
    assert decode(stored, hint) == "open"
    assert decode(encode(7, hint), hint) == 7
    with pytest.raises(TypeError, match="str is not one of"):
        encode("other", hint)


def test_a_union_with_any_takes_any_value_as_is() -> None:
    hint = int | Any  # type: ignore[operator]
    assert decode(encode(7, hint), hint) == 7
    assert decode(encode("x", hint), hint) == "x"


@pytest.mark.parametrize(
    ("data", "hint", "message"),
    [
        (None, int, r"\$: null stored for a value of type int"),
        ([1], Pause, r"\$: expected an object for Pause, got list"),
        ({"__type__": "Gone", "start": "x"}, Pause, r"'Gone' is not a known subclass of Pause"),
        ({"__type__": "float", "value": 1.5}, int | str, r"stored union member 'float'"),
        (7, int | str, r"stored union member None"),
        (1, "int", r"\$: cannot decode a value declared as 'int'"),
        (1, complex, r"\$: cannot decode a value declared as complex"),
    ],
)
def test_decode_refuses_data_that_does_not_fit_its_declared_type(
    data: object, hint: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        decode(data, hint)


def test_decode_finds_a_subclass_of_a_subclass_by_name() -> None:
    @attrs.frozen(kw_only=True)
    class Deeper(Special):
        depth: int

    at = datetime(2026, 1, 1, tzinfo=UTC)
    value = Deeper(start=at, why="y", depth=2)
    stored = encode(value, Pause)
    assert stored["__type__"] == Deeper.__qualname__
    assert decode(stored, Pause) == value


def test_a_generic_of_an_unsupported_kind_is_refused_by_its_origin() -> None:
    with pytest.raises(TypeError, match=r"\$: cannot encode a value declared as Iterable"):
        encode([1, 2], Iterable[int])
    with pytest.raises(TypeError, match=r"\$: cannot decode a value declared as Iterable"):
        decode([1, 2], Iterable[int])


# encode and decode run a form compiled once per type; the general rules are the reference.


def _general(value: object, hint: object) -> tuple[str, object]:
    data = _codec._encode(value, hint, "$")
    return json.dumps(data, ensure_ascii=False), _codec._decode(data, hint, "$")


AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
CUSTOMER = Actor(kind=ActorKind.CUSTOMER, id="ana@example.com")


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (everything(), Everything),
        (everything(nested=None, either=7, pauses=()), Everything),
        (collections_value(), Collections),
        (populated_issue("ISS-2026-00001"), Issue),
        (populated_entry(), ThreadEntry),
        (IssueOpened(number="ISS-1", at=AT, actor=CUSTOMER, subject="s", raised_by="a@b.c"), Event),
        (
            MessageReceived(
                number="ISS-1",
                at=AT,
                actor=CUSTOMER,
                message_id="<m@x>",
                author="ana@example.com",
                automated=False,
            ),
            Event,
        ),
        ((Special(start=AT, why="w"), None), tuple[Pause, None]),
        ({"a": Special(start=AT, why="w")}, Mapping[str, Pause]),
    ],
)
def test_the_compiled_codec_writes_and_reads_what_the_general_rules_do(
    value: object, hint: object
) -> None:
    data = encode(value, hint)
    text, restored = _general(value, hint)
    assert json.dumps(data, ensure_ascii=False) == text  # the same keys in the same order
    decoded = decode(data, hint)
    assert decoded == restored
    assert type(decoded) is type(restored)


@given(
    text=st.text(),
    count=st.integers(),
    span=st.timedeltas(),
    # A local time whose offset depends on its fold (in a gap or an overlap) is never
    # equal to an instant of another zone, whatever it stands for, so none is drawn.
    at=st.datetimes(timezones=st.sampled_from([UTC, BERLIN])).filter(
        lambda at: at.utcoffset() == at.replace(fold=1 - at.fold).utcoffset()
    ),
    tags=st.frozensets(st.text(max_size=5)),
    either=st.integers() | st.text(),
    by_name=st.dictionaries(st.text(max_size=3), st.timedeltas(), max_size=3),
)
def test_compiled_and_general_codecs_agree_on_values_drawn_at_random(
    text: str,
    count: int,
    span: timedelta,
    at: datetime,
    tags: frozenset[str],
    either: int | str,
    by_name: dict[str, timedelta],
) -> None:
    value = everything(
        text=text, count=count, span=span, at=at, tags=tags, either=either, by_name=by_name
    )
    assert (json.dumps(encode(value, Everything), ensure_ascii=False), value) == _general(
        value, Everything
    )


class Maybe(enum.Enum):
    NOTHING = None
    SOMETHING = 1


def test_a_value_the_general_rules_refuse_is_refused_by_the_compiled_codec_too() -> None:
    # An enum whose member has the value None still takes no None for the field.
    with pytest.raises(TypeError, match=r"\$: None given for a value of type Maybe"):
        encode(None, Maybe)
    with pytest.raises(TypeError, match=r"\$: null stored for a value of type Maybe"):
        decode(None, Maybe)
    with pytest.raises(TypeError, match=r"\$\[1\]: expected bool, got int"):
        encode((True, 1), tuple[bool, bool])
    with pytest.raises(TypeError, match=r"\$\.pauses\[0\]\.start: None given"):
        encode(everything(pauses=(Pause(start=None),)), Everything)  # type: ignore[arg-type]
    assert encode(Maybe.NOTHING, Maybe) is None


def test_an_instant_text_read_again_is_the_same_instant_and_bad_text_fails_again() -> None:
    first = decode("2026-03-02T10:00:00.000001+01:00", datetime)
    assert first == datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=UTC)
    assert decode("2026-03-02T10:00:00.000001+01:00", datetime) == first
    assert decode("2026-03-02T10:00:00.000002+01:00", datetime) != first
    assert decode("2026-03-02T09:00:00", datetime) == datetime(2026, 3, 2, 9, tzinfo=UTC)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
            decode("2026-13-01T00:00:00", datetime)
    with pytest.raises(TypeError, match="must be str"):
        decode(["2026-03-02"], datetime)


# The coders generated per attrs class code common cases inline; the general rules are
# the reference for every value and document drawn, and for every error.

# Named, not found by Event.__subclasses__(): that may also list the classes attrs
# replaced by slotted ones until they are collected.
EVENT_CLASSES = [
    cls
    for cls in (getattr(_model, name) for name in _model.__all__)
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
]


def _general_text(value: object, hint: object, path: str = "$") -> str:
    return json.dumps(_codec._encode(value, hint, path), separators=(",", ":"), ensure_ascii=False)


def _outcome(function: Callable[..., object], *arguments: object) -> tuple[object, ...]:
    """Return what ``function`` gave, written out (JSON in order, repr), or what it raised."""
    try:
        result = function(*arguments)
    except Exception as error:  # the same error, type and message, is the expected outcome
        return ("raised", type(error), str(error))
    if isinstance(result, dict | list):
        return ("returned", json.dumps(result, ensure_ascii=False))
    return ("returned", type(result), repr(result))


def _keys(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Return the path of every key of every object in the JSON value ``data``."""
    found: list[tuple[object, ...]] = []
    if isinstance(data, dict):
        for key, item in data.items():
            found.append((*path, key))
            found += _keys(item, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += _keys(item, (*path, index))
    return found


@given(issue=values_of(Issue), version=st.integers(0, 10**6))
def test_an_issue_document_is_written_and_read_as_the_general_rules_do(
    issue: Issue, version: int
) -> None:
    general = _codec._encode(issue, Issue, "issue")
    del general["version"]
    document = issue_document(issue)
    assert document == json.dumps(general, separators=(",", ":"), ensure_ascii=False)
    read = issue_from_document(document, version=version)
    expected = _codec._decode({**json.loads(document), "version": version}, Issue, "$")
    assert (type(read), repr(read)) == (type(expected), repr(expected))
    assert read == attrs.evolve(issue, version=version)


@given(entry=values_of(ThreadEntry))
def test_an_entry_document_is_written_and_read_as_the_general_rules_do(
    entry: ThreadEntry,
) -> None:
    assert json_text(encode(entry, ThreadEntry)) == _general_text(entry, ThreadEntry)
    document, files = entry_document(entry)
    bare = _codec._encode(attrs.evolve(entry, attachments=()), ThreadEntry, "$")
    del bare["attachments"]
    assert document == json.dumps(bare, separators=(",", ":"), ensure_ascii=False)
    read = entry_from_document(document, files)
    assert read == entry
    assert repr(read) == repr(
        _codec._decode(json.loads(_general_text(entry, ThreadEntry)), ThreadEntry, "$")
    )


@given(event=st.sampled_from(EVENT_CLASSES).flatmap(values_of))
def test_an_event_is_written_tagged_and_read_back_as_the_general_rules_do(event: Event) -> None:
    data = encode(event, Event)
    assert json.dumps(data, ensure_ascii=False) == json.dumps(
        _codec._encode(event, Event, "$"), ensure_ascii=False
    )
    read = decode(data, Event)
    assert (type(read), repr(read)) == (type(event), repr(_codec._decode(data, Event, "$")))
    assert read == event


@given(
    issue=values_of(Issue),
    picked=st.integers(min_value=0),
    change=st.sampled_from(["drop", "null", "list", "text", "number", "tag"]),
)
def test_a_document_changed_anywhere_is_read_or_refused_as_the_general_rules_do(
    issue: Issue, picked: int, change: str
) -> None:
    data = json.loads(_general_text(issue, Issue))
    paths = _keys(data)
    *outer, key = paths[picked % len(paths)]
    holder = data
    for step in outer:
        holder = holder[step]
    if change == "drop":
        del holder[key]
    elif change == "tag":
        holder["__type__"] = "Gone"
    else:
        holder[key] = {"null": None, "list": [], "text": "x", "number": 7}[change]
    assert _outcome(decode, data, Issue) == _outcome(_codec._decode, data, Issue, "$")


def _instances(value: object) -> list[object]:
    """Return ``value`` and every attrs instance inside it, in its fields and their items."""
    if isinstance(value, tuple):
        return [found for item in value for found in _instances(item)]
    if not attrs.has(type(value)):
        return []
    inner = [_instances(getattr(value, field.name)) for field in attrs.fields(type(value))]
    return [value, *(found for each in inner for found in each)]


WRONG_VALUES = [None, 7, "x", (), [], {}, 1.5, True, AT.replace(tzinfo=None), Colour.RED]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (populated_issue("ISS-2026-00003"), Issue),
        (open_issue(number="ISS-2026-00004", subject="s", raised_by="a@b.c", at=AT).issue, Issue),
        (populated_entry(), ThreadEntry),
        (IssueOpened(number="ISS-1", at=AT, actor=CUSTOMER, subject="s", raised_by="a@b.c"), Event),
    ],
)
def test_a_field_of_the_wrong_type_anywhere_is_written_or_refused_as_the_general_rules_do(
    value: object, hint: type
) -> None:
    for instance in _instances(value):
        for field in attrs.fields(type(instance)):
            kept = getattr(instance, field.name)
            for wrong in WRONG_VALUES:
                object.__setattr__(instance, field.name, wrong)  # past the validators, as a bug
                assert _outcome(encode, value, hint, "issue") == _outcome(
                    _codec._encode, value, hint, "issue"
                ), (type(instance).__qualname__, field.name, wrong)
            object.__setattr__(instance, field.name, kept)


@attrs.frozen(kw_only=True)
class Node:
    label: Mood
    children: tuple[Node, ...] = ()
    parent: Node | None = None


def test_a_type_that_names_itself_is_coded_as_the_general_rules_do() -> None:
    leaf = Node(label=Mood.CALM)
    tree = Node(label=Mood.ANGRY, children=(leaf, Node(label=Mood.CALM, parent=leaf)))
    data = encode(tree, Node)
    assert json.dumps(data) == json.dumps(_codec._encode(tree, Node, "$"))
    assert decode(data, Node) == tree == _codec._decode(data, Node, "$")


@given(at=st.datetimes(timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("Asia/Kolkata")])))
def test_an_instant_in_a_field_is_written_in_utc_whatever_its_zone_and_kind(at: datetime) -> None:
    as_pendulum = pendulum.instance(at, tz=pendulum.timezone(str(at.tzinfo)))
    for value in (at, as_pendulum, in_utc(at)):
        pause = Pause(start=value, end=value)
        written = encode(pause, Pause)
        assert written == _codec._encode(pause, Pause, "$")
        expected = datetime.isoformat(datetime.astimezone(value, UTC))  # the instant it means
        assert written["start"] == written["end"] == expected


@pytest.mark.parametrize(
    "text",
    ['{"a":[1,"é"]}', b'{"a":1}', '\ufeff{"a":1}', b"\xef\xbb\xbf{}", "{", "  [1, 2]  ", "1 2"],
)
def test_json_value_reads_and_refuses_as_json_loads_does(text: str | bytes) -> None:
    assert _outcome(json_value, text) == _outcome(json.loads, text)


@given(data=st.recursive(st.none() | st.booleans() | st.floats() | st.text(), st.lists))
def test_json_text_writes_what_json_dumps_with_its_options_writes(data: object) -> None:
    assert json_text(data) == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
