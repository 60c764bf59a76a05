"""The checks every public call of the desk makes on its arguments, in one place.

Each function returns the value it was given (or its cleaned form) or raises
:class:`~issuecore.errors.InvalidArgumentError` naming the argument, what was
wrong and what would be right. What mail intake reads is cleaned, not
checked; these checks are for adopters' calls (a web form, an ERP, a script),
so nothing unusable reaches the domain or a store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from issuecore._model import Attachment
from issuecore.errors import InvalidArgumentError, UnknownPriorityError
from issuecore.mail._addresses import normalize_address

__all__ = [
    "BODY_LIMIT",
    "NAME_LIMIT",
    "SUBJECT_LIMIT",
    "address",
    "addresses",
    "attachments",
    "body",
    "count",
    "fields",
    "identifier",
    "name",
    "optional_name",
    "optional_text",
    "priority",
    "references",
    "subject",
]

SUBJECT_LIMIT: Final = 998
"""The longest subject, in characters (the longest line RFC 5322 allows)."""
BODY_LIMIT: Final = 1_000_000
"""The longest body, note or reason, in characters."""
NAME_LIMIT: Final = 254
"""The longest user name, number, status, action or priority, in characters."""
FIELD_LIMIT: Final = 10_000
"""The longest text a custom field holds, in characters."""

# Control characters (Unicode category Cc) and lone surrogates, with or without line breaks.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_BREAKS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def subject(value: object, argument: str = "subject") -> str:
    """Return ``value``: one line of text, not blank, at most :data:`SUBJECT_LIMIT` long."""
    return _text(value, argument, limit=SUBJECT_LIMIT, multiline=False, what="a one-line subject")


def body(value: object, argument: str = "body", *, what: str = "the text of a message") -> str:
    """Return ``value``: text, not blank, at most :data:`BODY_LIMIT` long; line breaks allowed."""
    return _text(value, argument, limit=BODY_LIMIT, multiline=True, what=what)


def optional_text(value: object, argument: str) -> str | None:
    """Return ``value`` (a reason): ``None``, or text as :func:`body` accepts."""
    if value is None:
        return None
    return _text(value, argument, limit=BODY_LIMIT, multiline=True, what="text or None")


def name(value: object, argument: str) -> str:
    """Return ``value``: a user, number, status, action or priority name on one line."""
    return _text(value, argument, limit=NAME_LIMIT, multiline=False, what="a name on one line")


def optional_name(value: object, argument: str) -> str | None:
    """Return ``value``: ``None`` or a name as :func:`name` accepts."""
    return None if value is None else name(value, argument)


def identifier(value: object, argument: str) -> str:
    """Return ``value``: a Message-ID or effect id, any text that is not blank."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            "it is no text" if not isinstance(value, str) else "it is blank",
            "an identifier such as '<m1@customer.example>'",
        )
    return value


def address(value: object, argument: str) -> str:
    """Return ``value``: exactly one mail address such as ``ana@customer.example``."""
    text = _text(value, argument, limit=NAME_LIMIT, multiline=False, what="one mail address")
    if normalize_address(text) is None:
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            "it is not one mail address",
            "one address such as 'ana@customer.example' (no display name, no list)",
        )
    return text


def addresses(values: object, argument: str) -> tuple[str, ...]:
    """Return ``values``: an iterable (not a string) of addresses, each as :func:`address`."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidArgumentError.for_argument(
            argument,
            values,
            f"it is of type {type(values).__name__}",
            "a list or tuple of addresses",
        )
    return tuple(address(value, f"{argument}[{index}]") for index, value in enumerate(values))


def priority(
    value: object,
    known: Iterable[str],
    argument: str = "priority",
    *,
    agreements: Iterable[str] = (),
) -> str:
    """Return ``value``: a priority; one that some agreement names when the desk has any."""
    checked = name(value, argument)
    listed = list(dict.fromkeys(known))
    if listed and checked not in listed:
        raise UnknownPriorityError.for_desk(checked, listed, agreements)
    return checked


def references(value: object, argument: str = "references") -> dict[str, str]:
    """Return ``value``: a mapping of reference names to record ids, each a name on one line."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            f"it is of type {type(value).__name__}",
            "a mapping such as {'customer': 'CUST-0001'}",
        )
    return {
        name(key, f"{argument} key"): name(record, f"{argument}[{key!r}]")
        for key, record in value.items()
    }


def fields(value: object, argument: str = "fields") -> dict[str, Any]:
    """Return ``value``: a mapping of field names to JSON scalars (text, number, bool, None)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            f"it is of type {type(value).__name__}",
            "a mapping such as {'contract_level': 'gold', 'seats': 40}",
        )
    checked: dict[str, Any] = {}
    for key, field_value in value.items():
        where = f"{argument}[{key!r}]"
        key = name(key, f"{argument} key")
        if isinstance(field_value, str):
            if len(field_value) > FIELD_LIMIT:
                raise InvalidArgumentError.for_argument(
                    where, field_value, f"it is longer than {FIELD_LIMIT}", "shorter text"
                )
            if (found := _CONTROL_BUT_BREAKS.search(field_value)) is not None:
                raise InvalidArgumentError.for_argument(
                    where,
                    field_value,
                    f"character {found.start()} is the control character {found.group()!a}",
                    "text without control characters",
                )
        elif isinstance(field_value, float) and not math.isfinite(field_value):
            raise InvalidArgumentError.for_argument(
                where, field_value, "it is not a finite number", "a JSON scalar"
            )
        elif field_value is not None and not isinstance(field_value, int | float | bool):
            raise InvalidArgumentError.for_argument(
                where,
                field_value,
                f"it is of type {type(field_value).__name__}",
                "a JSON scalar: text, a number, True, False or None",
            )
        checked[key] = field_value
    return checked


def attachments(values: object, argument: str = "attachments") -> tuple[Attachment, ...]:
    """Return ``values``: attachments with bytes, a file name and a ``type/subtype``."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidArgumentError.for_argument(
            argument, values, f"it is of type {type(values).__name__}", "a list of Attachment"
        )
    checked = []
    for index, value in enumerate(values):
        where = f"{argument}[{index}]"
        if not isinstance(value, Attachment):
            raise InvalidArgumentError.for_argument(
                where, value, f"it is of type {type(value).__name__}", "an Attachment"
            )
        if not isinstance(value.data, bytes):
            raise InvalidArgumentError.for_argument(
                f"{where}.data", value.data, "it is not bytes", "the file's bytes"
            )
        name(value.filename, f"{where}.filename")
        kind = name(value.content_type, f"{where}.content_type")
        if "/" not in kind:
            raise InvalidArgumentError.for_argument(
                f"{where}.content_type",
                kind,
                "it has no subtype",
                "a type such as 'application/pdf'",
            )
        checked.append(value)
    return tuple(checked)


def count(value: object, argument: str, *, minimum: int = 1) -> int:
    """Return ``value``: an ``int`` (not a ``bool``) of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            f"it is of type {type(value).__name__}",
            f"an int of at least {minimum}",
        )
    if value < minimum:
        raise InvalidArgumentError.for_argument(
            argument, value, "it is too small", f"an int of at least {minimum}"
        )
    return value


def _text(value: object, argument: str, *, limit: int, multiline: bool, what: str) -> str:
    if not isinstance(value, str):
        kind = "None" if value is None else f"of type {type(value).__name__}"
        raise InvalidArgumentError.for_argument(argument, value, f"it is {kind}", what)
    if not value.strip():
        raise InvalidArgumentError.for_argument(argument, value, "it is blank", what)
    if len(value) > limit:
        raise InvalidArgumentError.for_argument(
            argument, value, f"it has {len(value)} characters, more than {limit}", what
        )
    found = (_CONTROL_BUT_BREAKS if multiline else _CONTROL).search(value)
    if found is not None:
        raise InvalidArgumentError.for_argument(
            argument,
            value,
            f"character {found.start()} is the control character {found.group()!a}",
            f"{what} without control characters"
            + (" (line breaks and tabs are fine)" if multiline else ""),
        )
    return value
