"""Turn attrs values into JSON and back, guided by their type hints.

Storage adapters keep an issue as one JSON document, so a field added to
:class:`~issuecore.Issue` later needs no migration: a document written
before the field existed decodes with the field's default, and a key no
longer known is ignored.

Supported, recursively: attrs classes (a subclass of the declared class is
tagged with its name), ``X | None`` and other unions (tagged when more than
one member is not ``None``), ``tuple`` (variadic and fixed), ``list``,
``frozenset``/``set``, mappings, ``str``, ``int``, ``float``, ``bool``,
``None``, enums (by value), aware ``datetime`` (UTC ISO 8601, read back
aware in UTC), ``date``, ``time``, ``timedelta`` (integer microseconds),
``bytes`` (base64), ``Decimal`` (string), ``ZoneInfo`` (its key), ``Literal``
and ``Any`` (JSON values as they are).

The adapters share the helpers at the end: an issue's document (its version
lives in a column), a thread entry's document with the attachment bytes kept
apart for a binary column, and instants as integer microseconds since
1970-01-01 UTC. :func:`json_text` and :func:`json_value` write and read the
JSON text of every document, one encoder and one decoder for every call.

An attrs class is coded by a function generated for its fields (see "generated
coders" below); the general rules, which look at the hints at every value,
explain every refusal and are what the tests compare the generated coders with.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import keyword
import types
import typing
from collections.abc import (
    Callable,
    Iterable,
    Mapping,
    MutableMapping,
    MutableSequence,
    MutableSet,
    Sequence,
)
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
import pendulum

from issuecore._clock_document import (
    StoredClock,
    clock_from_fields,
    clock_from_stored,
    stored_clock,
    stored_clock_fields,
)
from issuecore._evolve import evolve
from issuecore._instants import in_utc, require_aware
from issuecore._model import Attachment, Issue, ThreadEntry
from issuecore._sla.clock import SlaClock
from issuecore._text import refuse_unstorable, refuse_unstorable_document
from issuecore.errors import UnstorableValueError

__all__ = [
    "decode",
    "dumps",
    "encode",
    "entry_document",
    "entry_from_document",
    "from_micros",
    "issue_document",
    "issue_from_document",
    "json_text",
    "json_value",
    "loads",
    "to_micros",
]

T = TypeVar("T")

_TYPE_TAG = "__type__"
_MICROSECONDS = timedelta(microseconds=1)

# Values stored in another shape than their own fields: (shape, to shape, from shape).
_STORED_AS: dict[type, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {
    SlaClock: (StoredClock, stored_clock, clock_from_stored),
}
# The same through the shape's fields by name, which the compiled coders take without
# making the shape: (to fields, from fields). Making the shape only turns its instants
# into UTC, which changes no instant's text and which every decoded instant is already.
_STORED_FIELDS: dict[type, tuple[Callable[[Any], dict[str, Any]], Callable[[Any], Any]]] = {
    SlaClock: (stored_clock_fields, clock_from_fields),
}


# The compact JSON text of a value, as json.dumps with these options writes it: one
# encoder for every call (json.dumps given options makes a new one each time).
json_text: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_JSON_DECODER = json.JSONDecoder()


def json_value(text: str | bytes) -> Any:
    """Return the value of the JSON ``text``, as :func:`json.loads` does."""
    if type(text) is str and not text.startswith("\ufeff"):
        return _JSON_DECODER.decode(text)
    return json.loads(text)  # bytes, or the byte order mark json.loads refuses


def dumps(value: object) -> str:
    """Return the compact JSON text of the attrs instance ``value``."""
    return json_text(encode(value, type(value)))


def loads(cls: type[T], text: str | bytes) -> T:
    """Return the ``cls`` instance that :func:`dumps` wrote as ``text``."""
    result: T = decode(json_value(text), cls)
    return result


def encode(value: object, hint: object, path: str = "$") -> Any:
    """Return a JSON-compatible form of ``value`` declared with type ``hint``."""
    try:
        return _encoder(hint)(value)
    except Exception:
        # Whatever the compiled form refuses, the general one encodes, or refuses
        # with the path of the value in its message.
        return _encode(value, hint, path)


def decode(data: Any, hint: object, path: str = "$") -> Any:
    """Return the value of type ``hint`` that :func:`encode` turned into ``data``."""
    try:
        return _decoder(hint)(data)
    except Exception:
        return _decode(data, hint, path)


def _encode(value: object, hint: object, path: str) -> Any:
    """Encode by the rules, looking at the hint every time: the rules' reference form."""
    if (hint is str or hint is int or hint is bool) and type(value) is hint:
        return value  # the common case, as _encode_scalar would return it
    origin, is_attrs = _shape(hint)
    if hint is Any or hint is object:
        return _encode_any(value, path)
    if origin is typing.Literal:
        return value
    if origin is typing.Union or origin is types.UnionType:
        return _encode_union(value, typing.get_args(hint), path)
    if value is None:
        if hint is None or hint is type(None):
            return None
        raise TypeError(f"{path}: None given for a value of type {_name(hint)}")
    if isinstance(hint, type) and hint in _STORED_AS:
        shape, to_shape, _ = _STORED_AS[hint]
        if not isinstance(value, hint):
            raise TypeError(f"{path}: expected {_name(hint)}, got {_name(type(value))}")
        return _encode_attrs(to_shape(value), shape, path)
    if is_attrs:
        return _encode_attrs(value, hint, path)  # type: ignore[arg-type]
    if origin is not None:
        return _encode_generic(value, hint, origin, path)
    if isinstance(hint, type):
        return _encode_scalar(value, hint, path)
    raise TypeError(f"{path}: cannot encode a value declared as {hint!r}")


def _decode(data: Any, hint: object, path: str) -> Any:
    """Decode by the rules, looking at the hint every time: the rules' reference form."""
    if (hint is str or hint is int or hint is bool) and data is not None:
        return data  # the common case, as _decode_scalar would return it
    origin, is_attrs = _shape(hint)
    if hint is Any or hint is object or origin is typing.Literal:
        return data
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(data, typing.get_args(hint), path)
    if data is None:
        if hint is None or hint is type(None):
            return None
        raise TypeError(f"{path}: null stored for a value of type {_name(hint)}")
    if isinstance(hint, type) and hint in _STORED_AS:
        shape, _, from_shape = _STORED_AS[hint]
        return from_shape(_decode_attrs(data, shape, path))
    if is_attrs:
        return _decode_attrs(data, hint, path)  # type: ignore[arg-type]
    if origin is not None:
        return _decode_generic(data, hint, origin, path)
    if isinstance(hint, type):
        return _decode_scalar(data, hint, path)
    raise TypeError(f"{path}: cannot decode a value declared as {hint!r}")


_FIELDS: dict[type, tuple[tuple[str, str, Any], ...]] = {}
_SHAPES: dict[object, tuple[Any, bool]] = {}


def _shape(hint: object) -> tuple[Any, bool]:
    """Return the ``typing.get_origin`` of ``hint`` and whether it is an attrs class, remembered."""
    try:
        return _SHAPES[hint]
    except KeyError:
        pass
    except TypeError:  # an unhashable hint is looked at every time
        return typing.get_origin(hint), isinstance(hint, type) and attrs.has(hint)
    shape = (typing.get_origin(hint), isinstance(hint, type) and attrs.has(hint))
    _SHAPES[hint] = shape
    return shape


def _init_fields(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """Return ``(attribute name, constructor keyword, hint)`` of the fields ``cls`` takes."""
    known = _FIELDS.get(cls)
    if known is None:
        hints = typing.get_type_hints(cls)
        known = tuple(
            (field.name, field.alias or field.name, hints.get(field.name, Any))
            for field in attrs.fields(cls)
            if field.init
        )
        _FIELDS[cls] = known
    return known


def _encode_attrs(value: object, hint: type, path: str) -> dict[str, Any]:
    cls: type[Any] = type(value)
    if not isinstance(value, hint):
        raise TypeError(f"{path}: expected {_name(hint)}, got {_name(cls)}")
    result: dict[str, Any] = {}
    if cls is not hint:
        result[_TYPE_TAG] = cls.__qualname__
    for name, _, field_hint in _init_fields(cls):
        result[name] = _encode(getattr(value, name), field_hint, f"{path}.{name}")
    return result


def _decode_attrs(data: Any, hint: type, path: str) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{path}: expected an object for {_name(hint)}, got {type(data).__name__}")
    cls = hint
    tag = data.get(_TYPE_TAG)
    if tag is not None and tag != hint.__qualname__:
        cls = _subclass_named(hint, tag, path)
    arguments = {
        keyword: _decode(data[name], field_hint, f"{path}.{name}")
        for name, keyword, field_hint in _init_fields(cls)
        if name in data
    }
    return cls(**arguments)


def _subclass_named(base: type, qualname: str, path: str) -> type:
    pending: list[type] = list(base.__subclasses__())
    while pending:
        candidate = pending.pop()
        if candidate.__qualname__ == qualname:
            return candidate
        pending.extend(candidate.__subclasses__())
    raise TypeError(f"{path}: {qualname!r} is not a known subclass of {_name(base)}")


def _encode_union(value: object, members: tuple[Any, ...], path: str) -> Any:
    present = [member for member in members if member is not type(None)]
    if value is None:
        if len(present) < len(members):
            return None
        raise TypeError(f"{path}: None given for a value that cannot be None")
    if len(present) == 1:
        return _encode(value, present[0], path)
    for member in present:
        if _matches(value, member):
            return {_TYPE_TAG: _name(member), "value": _encode(value, member, path)}
    listed = " | ".join(_name(member) for member in members)
    raise TypeError(f"{path}: {type(value).__name__} is not one of {listed}")


def _decode_union(data: Any, members: tuple[Any, ...], path: str) -> Any:
    present = [member for member in members if member is not type(None)]
    if data is None:
        return None
    if len(present) == 1:
        return _decode(data, present[0], path)
    tag = data.get(_TYPE_TAG) if isinstance(data, dict) else None
    for member in present:
        if _name(member) == tag:
            return _decode(data["value"], member, path)
    raise TypeError(f"{path}: stored union member {tag!r} is none of {members!r}")


def _matches(value: object, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    checked = origin if origin is not None else hint
    if checked is bool or checked is int:
        return type(value) is checked
    return isinstance(checked, type) and isinstance(value, checked)


def _encode_generic(value: object, hint: Any, origin: Any, path: str) -> Any:
    arguments = typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            raise TypeError(f"{path}: expected a tuple, got {type(value).__name__}")
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return [_encode(item, arguments[0], f"{path}[{i}]") for i, item in enumerate(value)]
        if len(arguments) != len(value):
            raise TypeError(f"{path}: expected {len(arguments)} items, got {len(value)}")
        return [
            _encode(item, item_hint, f"{path}[{i}]")
            for i, (item, item_hint) in enumerate(zip(value, arguments, strict=True))
        ]
    if origin in (list, set, frozenset) or origin in _ABSTRACT_SEQUENCES:
        item_hint = arguments[0] if arguments else Any
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise TypeError(f"{path}: expected a collection, got {type(value).__name__}")
        items = [_encode(item, item_hint, f"{path}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, (set, frozenset)):
            items.sort(key=_sort_key)
        return items
    if origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        key_hint, value_hint = arguments if arguments else (Any, Any)
        if not isinstance(value, Mapping):
            raise TypeError(f"{path}: expected a mapping, got {type(value).__name__}")
        pairs = [
            [_encode(key, key_hint, f"{path}<key>"), _encode(item, value_hint, f"{path}[{key!r}]")]
            for key, item in value.items()
        ]
        if key_hint is str:
            return dict(pairs)
        return pairs
    if origin is type:
        raise TypeError(f"{path}: classes cannot be stored")
    return _encode(value, origin, path)


def _decode_generic(data: Any, hint: Any, origin: Any, path: str) -> Any:
    arguments = typing.get_args(hint)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_decode(item, arguments[0], f"{path}[{i}]") for i, item in enumerate(data))
        return tuple(
            _decode(item, item_hint, f"{path}[{i}]")
            for i, (item, item_hint) in enumerate(zip(data, arguments, strict=True))
        )
    if origin in (list, set, frozenset) or origin in _ABSTRACT_SEQUENCES:
        item_hint = arguments[0] if arguments else Any
        items = [_decode(item, item_hint, f"{path}[{i}]") for i, item in enumerate(data)]
        if origin is list:
            return items
        if origin is set:
            return set(items)
        if origin is frozenset or origin in _ABSTRACT_SETS:
            return frozenset(items)
        return tuple(items)
    if origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        key_hint, value_hint = arguments if arguments else (Any, Any)
        pairs = data.items() if isinstance(data, dict) else data
        return {
            _decode(key, key_hint, f"{path}<key>"): _decode(item, value_hint, f"{path}[{key!r}]")
            for key, item in pairs
        }
    return _decode(data, origin, path)


def _encode_scalar(value: object, hint: type, path: str) -> Any:
    if issubclass(hint, enum.Enum):
        if not isinstance(value, hint):
            value = hint(value)
        return _encode(value.value, type(value.value), path)
    if hint is bool or hint is int:
        if type(value) is not hint and not (hint is int and isinstance(value, int)):
            raise TypeError(f"{path}: expected {hint.__name__}, got {type(value).__name__}")
        return int(value) if hint is int else value
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{path}: expected float, got {type(value).__name__}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"{path}: expected str, got {type(value).__name__}")
        return str(value)
    for kind, encoder in _SCALAR_ENCODERS:
        if issubclass(hint, kind):
            if not isinstance(value, kind):
                raise TypeError(f"{path}: expected {kind.__name__}, got {type(value).__name__}")
            return encoder(value, path)
    raise TypeError(f"{path}: cannot encode a value declared as {_name(hint)}")


def _decode_scalar(data: Any, hint: type, path: str) -> Any:
    if issubclass(hint, enum.Enum):
        return hint(data)
    if hint in (bool, int, str):
        return data
    if hint is float:
        return float(data)
    for kind, decoder in _SCALAR_DECODERS:
        if issubclass(hint, kind):
            return decoder(data)
    raise TypeError(f"{path}: cannot decode a value declared as {_name(hint)}")


def _encode_datetime(value: Any, path: str) -> str:
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        return _utc_text(value)
    require_aware(path, value)
    return str(value.astimezone(UTC).isoformat())


def _utc_text(value: datetime) -> str:
    """Return the ISO text of ``value`` in UTC, ``value`` being in UTC already.

    What ``astimezone(UTC).isoformat()`` would give, written from its date and
    its wall time (the isoformat of the instant itself asks its zone for the offset).
    """
    return f"{_date_text(value)}T{_time_of_day(value).isoformat()}+00:00"


_date_text = date.isoformat
_time_of_day = datetime.time


def _decode_datetime(data: Any) -> datetime:
    if type(data) is str:
        # A document repeats its instants (created, updated, status since, clock
        # started...); each text is read once and the immutable instant shared.
        return _instant_of_text(data)
    return _read_instant(data)


def _read_instant(data: Any) -> datetime:
    parsed = datetime.fromisoformat(data)
    return in_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


_instant_of_text = functools.lru_cache(maxsize=4096)(_read_instant)


def _encode_timedelta(value: Any, _path: str) -> int:
    # The stdlib operation, so timedelta subclasses such as pendulum.Duration work too.
    return int(timedelta.__floordiv__(value, _MICROSECONDS))


def _encode_time(value: Any, path: str) -> str:
    if value.tzinfo is not None:
        raise TypeError(f"{path}: a time of day with a zone cannot be stored; store a datetime")
    return str(value.isoformat())


_SCALAR_ENCODERS: tuple[tuple[type, Callable[[Any, str], Any]], ...] = (
    (datetime, _encode_datetime),
    (date, lambda value, _path: value.isoformat()),
    (time, _encode_time),
    (timedelta, _encode_timedelta),
    (bytes, lambda value, _path: base64.b64encode(value).decode("ascii")),
    (Decimal, lambda value, _path: str(value)),
    (ZoneInfo, lambda value, _path: value.key),
)
_SCALAR_DECODERS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (datetime, _decode_datetime),
    (date, date.fromisoformat),
    (time, time.fromisoformat),
    (timedelta, lambda data: timedelta(microseconds=data)),
    (bytes, lambda data: base64.b64decode(data.encode("ascii"), validate=True)),
    (Decimal, Decimal),
    (ZoneInfo, ZoneInfo),
)


def _encode_any(value: object, path: str) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode_any(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _encode_any(item, f"{path}[{key!r}]") for key, item in value.items()}
    raise TypeError(
        f"{path}: a value declared as Any must be plain JSON, got {type(value).__name__}; "
        "declare the field with a precise type"
    )


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def _name(hint: Any) -> str:
    return getattr(hint, "__qualname__", None) or repr(hint)


# --- compiled forms ----------------------------------------------------------------
# encode and decode first run a function built once per hint: the rules above,
# decided once instead of at every value, without a path. Any value it does not
# take exactly as the rules would (a wrong type, a None, an enum's value) makes
# it raise, and the general form above does the work again, naming the path.

_Coder = Callable[[Any], Any]
_ENCODERS: dict[object, _Coder] = {}
_DECODERS: dict[object, _Coder] = {}
_TAGGED_ENCODERS: dict[type, _Coder] = {}
_FIELD_DECODERS: dict[type, _Coder] = {}


class _RefusedError(Exception):
    """A compiled coder leaves this value to the general form (which explains a refusal)."""


def _refuse(_value: object) -> Any:
    raise _RefusedError


def _same_value(value: object) -> Any:
    return value


def _encoder(hint: object) -> _Coder:
    coder = _ENCODERS.get(hint)
    if coder is None:
        coder = _compiled(_ENCODERS, hint, _compile_encoder)
    return coder


def _decoder(hint: object) -> _Coder:
    coder = _DECODERS.get(hint)
    if coder is None:
        coder = _compiled(_DECODERS, hint, _compile_decoder)
    return coder


def _compiled(
    coders: dict[object, _Coder], hint: object, compile_coder: Callable[[Any], _Coder]
) -> _Coder:
    """Compile the coder of ``hint`` into ``coders``; a field naming ``hint`` finds a stand-in."""
    coders[hint] = _Pending(coders, hint)
    try:
        coder = compile_coder(hint)
    except BaseException:
        del coders[hint]
        raise
    coders[hint] = coder
    return coder


class _Pending:
    """The coder of a hint that is being compiled, for a type that names itself (a tree)."""

    def __init__(self, coders: dict[object, _Coder], hint: object) -> None:
        self._coders = coders
        self._hint = hint

    def __call__(self, value: object) -> Any:
        coder = self._coders.get(self._hint)
        if coder is None or coder is self:  # still compiling (another thread), or it failed
            raise _RefusedError
        return coder(value)


def _encode_str(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise _RefusedError


def _encode_int(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int):
        return int(value)
    raise _RefusedError


def _encode_bool(value: object) -> bool:
    if type(value) is bool:
        return value
    raise _RefusedError


def _encode_float(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _RefusedError
    return float(value)


def _encode_none(value: object) -> None:
    if value is not None:
        raise _RefusedError


def _encode_plain(value: object) -> Any:
    return _encode_any(value, "$")


def _compile_encoder(hint: object) -> _Coder:
    if hint is str:
        return _encode_str
    if hint is int:
        return _encode_int
    if hint is bool:
        return _encode_bool
    origin, is_attrs = _shape(hint)
    if hint is Any or hint is object:
        return _encode_plain
    if origin is typing.Literal:
        return _same_value
    if origin is typing.Union or origin is types.UnionType:
        return _union_encoder(typing.get_args(hint))
    if hint is None or hint is type(None):
        return _encode_none
    if isinstance(hint, type) and hint in _STORED_AS:
        return _stored_encoder(hint)
    if is_attrs:
        return _attrs_encoder(hint)  # type: ignore[arg-type]
    if origin is not None:
        return _generic_encoder(hint, origin)
    if isinstance(hint, type):
        return _scalar_encoder(hint)
    return _refuse


def _stored_encoder(hint: type) -> _Coder:
    shape, to_shape, _ = _STORED_AS[hint]
    by_fields = _STORED_FIELDS.get(hint)
    if by_fields is not None:
        to_fields = by_fields[0]
        encode_fields = _generated_encoder(shape, tag=None, other=None, from_fields=True)

        def encode_by_fields(value: object) -> Any:
            if not isinstance(value, hint):
                raise _RefusedError
            return encode_fields(to_fields(value))

        return encode_by_fields
    encode_shape = _encoder(shape)

    def encode_stored(value: object) -> Any:
        if not isinstance(value, hint):
            raise _RefusedError
        return encode_shape(to_shape(value))

    return encode_stored


def _attrs_encoder(hint: type) -> _Coder:
    return _generated_encoder(hint, tag=None, other=functools.partial(_encode_subclass, hint))


def _encode_subclass(hint: type, value: object) -> Any:
    """Encode ``value``, declared as ``hint`` and not of that exact class: tagged, if a subclass."""
    if not isinstance(value, hint):
        raise _RefusedError
    return _tagged_encoder(type(value))(value)


def _tagged_encoder(cls: type) -> _Coder:
    """Return the encoder of ``cls`` given where a base class is declared: tagged with its name."""
    coder = _TAGGED_ENCODERS.get(cls)
    if coder is None:
        coder = _TAGGED_ENCODERS[cls] = _generated_encoder(cls, tag=cls.__qualname__, other=None)
    return coder


def _union_encoder(members: tuple[Any, ...]) -> _Coder:
    present = tuple(member for member in members if member is not type(None))
    nullable = len(present) < len(members)
    if len(present) == 1:
        encode_member = _encoder(present[0])

        def encode_optional(value: object) -> Any:
            if value is None:
                if nullable:
                    return None
                raise _RefusedError
            return encode_member(value)

        return encode_optional
    options = tuple((member, _name(member), _encoder(member)) for member in present)

    def encode_tagged_union(value: object) -> Any:
        if value is None:
            if nullable:
                return None
            raise _RefusedError
        for member, name, coder in options:
            if _matches(value, member):
                return {_TYPE_TAG: name, "value": coder(value)}
        raise _RefusedError

    return encode_tagged_union


def _generic_encoder(hint: Any, origin: Any) -> _Coder:
    arguments = typing.get_args(hint)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            encode_item = _encoder(arguments[0])

            def encode_items(value: object) -> list[Any]:
                if not isinstance(value, tuple):
                    raise _RefusedError
                return [encode_item(item) for item in value]

            return encode_items
        coders = tuple(_encoder(argument) for argument in arguments)

        def encode_fixed(value: object) -> list[Any]:
            if not isinstance(value, tuple) or len(value) != len(coders):
                raise _RefusedError
            return [coder(item) for coder, item in zip(coders, value, strict=True)]

        return encode_fixed
    if origin in (list, set, frozenset) or origin in _ABSTRACT_SEQUENCES:
        encode_element = _encoder(arguments[0] if arguments else Any)

        def encode_collection(value: object) -> list[Any]:
            if not isinstance(value, list | tuple | set | frozenset):
                raise _RefusedError
            items = [encode_element(item) for item in value]
            if isinstance(value, set | frozenset):
                items.sort(key=_sort_key)
            return items

        return encode_collection
    if origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        key_hint, value_hint = arguments if arguments else (Any, Any)
        encode_key, encode_value = _encoder(key_hint), _encoder(value_hint)

        def encode_mapping(value: object) -> Any:
            if not isinstance(value, Mapping):
                raise _RefusedError
            if key_hint is str:
                return {encode_key(key): encode_value(item) for key, item in value.items()}
            return [[encode_key(key), encode_value(item)] for key, item in value.items()]

        return encode_mapping
    if origin is type:
        return _refuse
    encode_origin = _encoder(origin)

    def encode_as_origin(value: object) -> Any:
        if value is None:
            raise _RefusedError
        return encode_origin(value)

    return encode_as_origin


def _scalar_encoder(hint: type) -> _Coder:
    if issubclass(hint, enum.Enum):

        def encode_member(value: object) -> Any:
            if value is None:
                raise _RefusedError
            if not isinstance(value, hint):
                value = hint(value)
            inner = value.value
            return _encoder(type(inner))(inner)

        return encode_member
    if hint is float:
        return _encode_float
    for kind, encoder in _SCALAR_ENCODERS:
        if issubclass(hint, kind):
            return functools.partial(_encode_kind, kind, encoder)
    return _refuse


def _encode_kind(kind: type, encoder: Callable[[Any, str], Any], value: object) -> Any:
    if not isinstance(value, kind):
        raise _RefusedError
    return encoder(value, "$")


def _decode_present(data: object) -> Any:
    if data is None:
        raise _RefusedError
    return data


def _decode_none(data: object) -> None:
    if data is not None:
        raise _RefusedError


def _compile_decoder(hint: object) -> _Coder:
    if hint is str or hint is int or hint is bool:
        return _decode_present
    origin, is_attrs = _shape(hint)
    if hint is Any or hint is object or origin is typing.Literal:
        return _same_value
    if origin is typing.Union or origin is types.UnionType:
        return _union_decoder(typing.get_args(hint))
    if hint is None or hint is type(None):
        return _decode_none
    if isinstance(hint, type) and hint in _STORED_AS:
        return _stored_decoder(hint)
    if is_attrs:
        return _attrs_decoder(hint)  # type: ignore[arg-type]
    if origin is not None:
        return _generic_decoder(hint, origin)
    if isinstance(hint, type):
        return _scalar_decoder(hint)
    return _refuse


def _stored_decoder(hint: type) -> _Coder:
    shape, _, from_shape = _STORED_AS[hint]
    decode_shape = _decoder(shape)
    by_fields = _STORED_FIELDS.get(hint)
    if by_fields is None:
        return lambda data: from_shape(decode_shape(data))
    from_fields = by_fields[1]
    decode_fields = _generated_decoder(shape, to_fields=True)

    def decode_by_fields(data: object) -> Any:
        fields = decode_fields(data)
        if fields is None:  # not a plain document with every field
            return from_shape(decode_shape(data))
        return from_fields(fields)

    return decode_by_fields


def _attrs_decoder(hint: type) -> _Coder:
    return _generated_decoder(hint)


def _decode_other(hint: type, data: object) -> Any:
    """Decode ``data`` stored for ``hint``: tagged with a subclass, not a plain dict, or partial."""
    if not isinstance(data, dict):
        raise _RefusedError
    cls = hint
    tag = data.get(_TYPE_TAG)
    if tag is not None and tag != hint.__qualname__:
        cls = _subclass_named(hint, tag, "$")
    return _fields_decoder(cls)(data)


def _fields_decoder(cls: type) -> _Coder:
    """Return the decoder of ``cls`` from a dict that may lack some of its fields."""
    coder = _FIELD_DECODERS.get(cls)
    if coder is None:
        coder = _FIELD_DECODERS[cls] = _generated_fields_decoder(cls)
    return coder


def _union_decoder(members: tuple[Any, ...]) -> _Coder:
    present = tuple(member for member in members if member is not type(None))
    if len(present) == 1:
        decode_member = _decoder(present[0])
        return lambda data: None if data is None else decode_member(data)
    options = tuple((_name(member), _decoder(member)) for member in present)

    def decode_tagged_union(data: Any) -> Any:
        if data is None:
            return None
        tag = data.get(_TYPE_TAG) if isinstance(data, dict) else None
        for name, coder in options:
            if name == tag:
                return coder(data["value"])
        raise _RefusedError

    return decode_tagged_union


def _generic_decoder(hint: Any, origin: Any) -> _Coder:
    arguments = typing.get_args(hint)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            decode_item = _decoder(arguments[0])
            return lambda data: tuple([decode_item(item) for item in data])
        coders = tuple(_decoder(argument) for argument in arguments)
        return lambda data: tuple([coder(item) for item, coder in zip(data, coders, strict=True)])
    if origin in (list, set, frozenset) or origin in _ABSTRACT_SEQUENCES:
        decode_element = _decoder(arguments[0] if arguments else Any)
        if origin is list:
            made: Callable[[list[Any]], Any] = list
        elif origin is set:
            made = set
        elif origin is frozenset or origin in _ABSTRACT_SETS:
            made = frozenset
        else:
            made = tuple
        return lambda data: made([decode_element(item) for item in data])
    if origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        key_hint, value_hint = arguments if arguments else (Any, Any)
        decode_key, decode_value = _decoder(key_hint), _decoder(value_hint)

        def decode_mapping(data: Any) -> dict[Any, Any]:
            pairs = data.items() if isinstance(data, dict) else data
            return {decode_key(key): decode_value(item) for key, item in pairs}

        return decode_mapping
    decode_origin = _decoder(origin)
    return lambda data: decode_origin(_decode_present(data))


def _scalar_decoder(hint: type) -> _Coder:
    if issubclass(hint, enum.Enum):
        return lambda data: hint(_decode_present(data))
    if hint in (bool, int, str):
        return _decode_present
    if hint is float:
        return lambda data: float(_decode_present(data))
    for kind, decoder in _SCALAR_DECODERS:
        if issubclass(hint, kind):
            return lambda data: decoder(_decode_present(data))
    return _refuse


# --- generated coders of attrs classes ---------------------------------------------
# The coder of an attrs class is a function written for its fields, its source
# built and compiled once per class (as attrs writes ``__init__``): each field is
# read by name and its common cases (text, None, instants, spans, enums, empty
# tuples and mappings) are coded inline, the rest by the field's compiled coder.
# Each inline case does exactly what that coder would, so the two agree by
# construction, and the tests compare both with the general rules.


class _Source:
    """The source of generated coders and the objects it refers to by name."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self._names: dict[int, str] = {}
        self._locals = 0

    def name(self, value: object) -> str:
        """Return the name ``value`` has in the generated source."""
        known = self._names.get(id(value))
        if known is None:
            known = self._names[id(value)] = f"_{len(self._names)}"
            self.namespace[known] = value  # kept alive, so its id is not reused
        return known

    def local(self) -> str:
        """Return a new local name for an item of a collection."""
        self._locals += 1
        return f"item{self._locals}"

    def function(self, name: str, cls: type, lines: list[str]) -> _Coder:
        """Return the function ``name`` that ``lines`` define."""
        code = compile("\n".join(lines), f"<issuecore codec of {cls.__qualname__}>", "exec")
        exec(code, self.namespace)  # source written here from field names and hints only
        coder: _Coder = self.namespace[name]
        return coder


def _generated_encoder(
    cls: type, *, tag: str | None, other: _Coder | None, from_fields: bool = False
) -> _Coder:
    """Return the encoder of instances of ``cls``; any other value goes to ``other``.

    With ``tag`` the document starts with it, as where a base class is declared.
    ``from_fields`` encodes a dict of the fields by name instead of an instance.
    """
    source = _Source()
    lines = ["def encode(value):"]
    if other is not None:
        lines += [
            f"    if type(value) is not {source.name(cls)}:",
            f"        return {source.name(other)}(value)",
        ]
    items = [] if tag is None else [f"{_TYPE_TAG!r}: {tag!r}"]
    for index, (name, _, hint) in enumerate(_init_fields(cls)):
        if from_fields:
            read = f"value[{name!r}]"
        elif _is_plain_name(name):
            read = f"value.{name}"
        else:
            read = f"getattr(value, {name!r})"
        lines.append(f"    value{index} = {read}")
        items.append(f"{name!r}: {_encoding(hint, f'value{index}', source)}")
    lines.append(f"    return {{{', '.join(items)}}}")
    return source.function("encode", cls, lines)


def _generated_decoder(cls: type, *, to_fields: bool = False) -> _Coder:
    """Return the decoder of ``cls`` from its document with every field and no tag.

    Any other document goes to the general decoder of attrs classes, or with
    ``to_fields`` makes it return None; ``to_fields`` returns the fields by name
    in a dict instead of an instance.
    """
    source = _Source()
    other = "None" if to_fields else f"{source.name(functools.partial(_decode_other, cls))}(data)"
    lines = [
        "def decode(data):",
        f"    if type(data) is not dict or {_TYPE_TAG!r} in data:",
        f"        return {other}",
        "    try:",
    ]
    arguments = []
    fields = _init_fields(cls)
    for index, (name, alias, hint) in enumerate(fields):
        lines.append(f"        value{index} = data[{name!r}]")
        decoded = _decoding(hint, f"value{index}", source)
        arguments.append(f"{name!r}: {decoded}" if to_fields else _argument(alias, decoded))
    if not fields:
        lines.append("        pass")
    lines += [
        "    except KeyError:  # written before a field was added",
        f"        return {other}",
        f"    return {{{', '.join(arguments)}}}"
        if to_fields
        else f"    return {source.name(cls)}({', '.join(arguments)})",
    ]
    return source.function("decode", cls, lines)


def _generated_fields_decoder(cls: type) -> _Coder:
    """Return the decoder of ``cls`` from a dict: a missing field takes its default."""
    source = _Source()
    lines = ["def decode(data):", "    arguments = {}"]
    for name, alias, hint in _init_fields(cls):
        lines += [
            f"    if {name!r} in data:",
            f"        value = data[{name!r}]",
            f"        arguments[{alias!r}] = {_decoding(hint, 'value', source)}",
        ]
    lines.append(f"    return {source.name(cls)}(**arguments)")
    return source.function("decode", cls, lines)


def _is_plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _argument(name: str, expression: str) -> str:
    return f"{name}={expression}" if _is_plain_name(name) else f"**{{{name!r}: {expression}}}"


def _encoding(hint: object, value: str, source: _Source) -> str:
    """Return an expression that encodes the local ``value`` as ``_encoder(hint)`` does."""
    call = f"{source.name(_encoder(hint))}({value})"
    if hint is str or hint is int or hint is bool:
        return f"({value} if type({value}) is {hint.__name__} else {call})"
    origin, _ = _shape(hint)
    arguments = typing.get_args(hint)
    if origin is typing.Literal:
        return value
    if origin is typing.Union or origin is types.UnionType:
        present = [member for member in arguments if member is not type(None)]
        if len(present) == 1 and len(present) < len(arguments):
            return f"(None if {value} is None else {_encoding(present[0], value, source)})"
    elif origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        item = source.local()
        each = f"[{_encoding(arguments[0], item, source)} for {item} in {value}]"
        return f"(({each} if {value} else []) if type({value}) is tuple else {call})"
    elif origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        empty = "{}" if arguments and arguments[0] is str else "[]"
        return f"({empty} if type({value}) is dict and not {value} else {call})"
    elif hint is datetime:
        # _utc_text inline, for the domain's own form of an instant
        kind, zone = source.name(pendulum.DateTime), source.name(pendulum.UTC)
        day, wall_time = source.name(_date_text), source.name(_time_of_day)
        text = f"f'{{{day}({value})}}T{{{wall_time}({value}).isoformat()}}+00:00'"
        return f"({text} if type({value}) is {kind} and {value}.tzinfo is {zone} else {call})"
    elif hint is timedelta:
        micros = f"({value}.days * 86400 + {value}.seconds) * 1000000 + {value}.microseconds"
        return f"({micros} if type({value}) is {source.name(timedelta)} else {call})"
    elif isinstance(hint, enum.EnumMeta) and _plain_values(hint):
        return f"({value}._value_ if type({value}) is {source.name(hint)} else {call})"
    return call


def _decoding(hint: object, value: str, source: _Source) -> str:
    """Return an expression that decodes the local ``value`` as ``_decoder(hint)`` does."""
    call = f"{source.name(_decoder(hint))}({value})"
    if hint is str or hint is int or hint is bool:
        return f"({value} if {value} is not None else {call})"
    origin, _ = _shape(hint)
    arguments = typing.get_args(hint)
    if hint is Any or hint is object or origin is typing.Literal:
        return value
    if origin is typing.Union or origin is types.UnionType:
        present = [member for member in arguments if member is not type(None)]
        if len(present) == 1:
            if present[0] is str or present[0] is int or present[0] is bool:
                return value  # None as None, anything else as it is
            return f"(None if {value} is None else {_decoding(present[0], value, source)})"
    elif origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        item = source.local()
        each = f"tuple([{_decoding(arguments[0], item, source)} for {item} in {value}])"
        return f"(() if type({value}) is list and not {value} else {each})"
    elif origin in (dict, Mapping) or origin in _ABSTRACT_MAPPINGS:
        return f"({{}} if type({value}) is dict and not {value} else {call})"
    elif hint is datetime:
        return f"({source.name(_instant_of_text)}({value}) if type({value}) is str else {call})"
    elif hint is timedelta:
        return f"({source.name(timedelta)}(0, 0, {value}) if type({value}) is int else {call})"
    elif isinstance(hint, enum.EnumMeta):
        members = _members_by_value(hint)
        if members is not None:
            known = source.name(members)
            return f"({known}[{value}] if {value} in {known} else {call})"
    return call


def _plain_values(hint: enum.EnumMeta) -> bool:
    """Return whether every member's value is stored as it is (text, a number, a bool, None)."""
    members: dict[str, Any] = dict(hint.__members__)
    return all(type(member._value_) in _PLAIN_TYPES for member in members.values())


_PLAIN_TYPES = (str, int, float, bool, type(None))


def _members_by_value(hint: enum.EnumMeta) -> dict[Any, Any] | None:
    """Return what ``hint(value)`` returns for each member's value, None refused; None if unsure."""
    lookup: object = type(hint).__call__
    made: object = hint.__new__
    if lookup is not enum.EnumMeta.__call__ or made is not enum.Enum.__new__:
        return None  # hint(value) may do something else
    members: dict[str, Any] = dict(hint.__members__)
    try:
        return {member._value_: member for member in members.values() if member._value_ is not None}
    except TypeError:  # an unhashable value
        return None


_ABSTRACT_SETS: tuple[type, ...] = (AbstractSet, MutableSet)
_ABSTRACT_SEQUENCES: tuple[type, ...] = (*_ABSTRACT_SETS, Sequence, MutableSequence)
_ABSTRACT_MAPPINGS: tuple[type, ...] = (MutableMapping,)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(name: str, value: datetime) -> int:
    """Return the aware ``value`` as integer microseconds since 1970-01-01 UTC."""
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        # The domain's own form: counted from its day and wall time, which are UTC
        # (subtracting the aware instant asks its zone for the offset).
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        days = _day_number(value) - _EPOCH_DAY
        return (days * 86_400 + seconds) * 1_000_000 + value.microsecond
    require_aware(name, value)
    # The stdlib subtraction, which gives a plain timedelta for a pendulum.DateTime
    # too (its own gives a Duration), read as integers.
    since = datetime.__sub__(value, _EPOCH)
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


_day_number = date.toordinal
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def from_micros(value: int) -> datetime:
    """Return the instant ``value`` microseconds after 1970-01-01 UTC, a pendulum UTC DateTime."""
    return in_utc(_EPOCH + timedelta(microseconds=value))


def issue_document(issue: Issue) -> str:
    """Return the JSON document adapters store for ``issue`` (its version lives in a column)."""
    data = _storable(issue, Issue, "issue")
    data.pop("version", None)
    return json_text(data)


def issue_from_document(document: str | bytes, *, version: int) -> Issue:
    """Return the issue stored as ``document`` with the stored ``version``."""
    data = json_value(document)
    data["version"] = version
    issue: Issue = decode(data, Issue)
    return issue


def refuse_unstorable_entry(entry: ThreadEntry) -> None:
    """Raise :class:`UnstorableValueError` when no store can keep ``entry`` as it is."""
    refuse_unstorable("message_id", entry.message_id, required=False)
    document, files = entry_document(entry)
    refuse_unstorable_document("thread entry", document)
    for described, _ in files:
        refuse_unstorable_document("attachment", described)


def entry_document(entry: ThreadEntry) -> tuple[str, list[tuple[str, bytes]]]:
    """Return the JSON document of ``entry`` without its attachments, and the attachments.

    Each attachment comes as its JSON document without the bytes, and the bytes,
    so adapters can keep the bytes in a binary column of their own.
    """
    bare = entry if entry.attachments == () else attrs.evolve(entry, attachments=())
    data = _storable(bare, ThreadEntry, "thread entry")
    data.pop("attachments", None)
    attachments = []
    for attachment in entry.attachments:
        # Encoded without its bytes: they would only be turned into base64 and dropped.
        if not isinstance(attachment.data, bytes | bytearray | memoryview):
            raise UnstorableValueError.wrong_type(
                "attachment.data", f"expected bytes, got {type(attachment.data).__name__}"
            )
        described = _storable(attrs.evolve(attachment, data=b""), Attachment, "attachment")
        described.pop("data", None)
        attachments.append((json_text(described), attachment.data))
    return json_text(data), attachments


def _storable(value: object, hint: type, name: str) -> Any:
    """Return :func:`encode` of ``value``, a value of the wrong type refused as unstorable."""
    if not isinstance(value, hint):
        raise UnstorableValueError.wrong_type(
            name, f"expected {_name(hint)}, got {type(value).__name__}"
        )
    try:
        return encode(value, hint, name)
    except TypeError as error:
        # The path in the message names the field: "issue.subject: None given for ...".
        field, _, detail = str(error).partition(": ")
        raise UnstorableValueError.wrong_type(field, detail or str(error)) from None


def entry_from_document(
    document: str | bytes, attachments: Iterable[tuple[str | bytes, bytes]]
) -> ThreadEntry:
    """Return the entry :func:`entry_document` split into ``document`` and ``attachments``."""
    files = []
    for described, data in attachments:
        fields = json_value(described)
        fields["data"] = ""
        files.append(evolve(decode(fields, Attachment), data=bytes(data)))
    entry: ThreadEntry = decode(json_value(document), ThreadEntry)
    if not files and entry.attachments == ():
        return entry  # what the evolve below would give again
    return evolve(entry, attachments=tuple(files))
