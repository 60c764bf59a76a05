"""Text every store can keep: the cleaning done at the desk and the check every store makes.

Python reads bytes it cannot decode as lone surrogates (``surrogateescape``),
and a few codecs (``utf-7``, ``unicode_escape``) can produce them from hostile
input. No database can store a lone surrogate, and PostgreSQL refuses NUL in
a text column. The desk cleans what it takes from mail before it reaches a
store:

- text (bodies, subjects, names, reasons): a run of undecodable bytes is read
  as UTF-8 where it is UTF-8, every other undecodable byte or lone surrogate
  becomes U+FFFD, and NUL becomes U+FFFD;
- identifiers (Message-IDs, content ids): each undecodable byte becomes
  ``%XX`` (its hex value), any other lone surrogate ``%uXXXX``, NUL ``%00``,
  and, in an identifier that needed any of this, ``%`` itself becomes
  ``%25``, so the escape can be undone and two escaped identifiers never
  collide. An identifier without such characters is kept exactly.

Every store checks what it is given with :func:`refuse_unstorable` and
:func:`refuse_unstorable_document` and raises
:class:`~issuecore.errors.UnstorableValueError`, so a store in memory refuses
exactly what a database refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from issuecore.errors import UnstorableValueError

__all__ = [
    "all_clean",
    "clean_identifier",
    "clean_optional",
    "clean_text",
    "refuse_unstorable",
    "refuse_unstorable_document",
    "refuse_unstorable_key",
]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_UNSAFE: Final = re.compile("[\x00\ud800-\udfff]")
_PAIR: Final = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_ESCAPED_BYTES: Final = re.compile("[\udc80-\udcff]+")


def clean_text(value: str) -> str:
    """Return ``value`` as valid Unicode without NUL: undecodable bytes and NUL become U+FFFD."""
    if _UNSAFE.search(value) is None:
        return value
    value = _PAIR.sub(_join_pair, value)
    value = _ESCAPED_BYTES.sub(_read_bytes, value)
    return _UNSAFE.sub("\ufffd", value)


def all_clean(values: Iterable[str | None]) -> bool:
    """Return whether every text of ``values`` (``None`` passed over) is valid Unicode without NUL.

    Then :func:`clean_text` and :func:`clean_identifier` return each of them as it is.
    """
    return _UNSAFE.search("".join(value for value in values if value is not None)) is None


def clean_optional(value: str | None) -> str | None:
    """Return :func:`clean_text` of ``value``, or ``None`` for ``None``."""
    return None if value is None else clean_text(value)


def clean_identifier(value: str) -> str:
    """Return ``value`` with undecodable bytes, surrogates and NUL percent-escaped, losslessly."""
    if _UNSAFE.search(value) is None:
        return value
    return "".join(_escape_char(char) for char in value)


def refuse_unstorable(name: str, value: object, *, required: bool = True) -> None:
    """Raise :class:`~issuecore.errors.UnstorableValueError` unless ``value`` is storable text.

    Storable: a ``str`` without lone surrogates and NUL, or ``None`` when not
    ``required``.
    """
    if value is None:
        if required:
            raise UnstorableValueError.missing(name)
        return
    if not isinstance(value, str):
        raise UnstorableValueError.not_text(name, value)
    if (found := _UNSAFE.search(value)) is not None:
        raise UnstorableValueError.for_text(name, value, found.start())


def refuse_unstorable_key(name: str, value: object, *, limit: int) -> None:
    """Raise :class:`~issuecore.errors.UnstorableValueError` unless ``value`` is a storable key.

    A key is required storable text (see :func:`refuse_unstorable`) of at most
    ``limit`` characters: the width of its column on every database.
    """
    refuse_unstorable(name, value)
    assert isinstance(value, str)
    if len(value) > limit:
        raise UnstorableValueError.too_long(name, len(value), limit)


def refuse_unstorable_document(name: str, document: str) -> None:
    """Raise :class:`~issuecore.errors.UnstorableValueError` if a JSON document holds a surrogate.

    NUL inside a document is written as the escape ``\\u0000``, which every
    database keeps, so it is allowed there.
    """
    if (found := _SURROGATE.search(document)) is not None:
        raise UnstorableValueError.for_text(name, document, found.start())


def _join_pair(found: re.Match[str]) -> str:
    pair = found.group(0)
    high, low = pair[0], pair[1]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def _read_bytes(found: re.Match[str]) -> str:
    return found.group(0).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _escape_char(char: str) -> str:
    code = ord(char)
    if char == "%":
        return "%25"
    if char == "\x00":
        return "%00"
    if 0xDC80 <= code <= 0xDCFF:
        return f"%{code - 0xDC00:02X}"
    if 0xD800 <= code <= 0xDFFF:
        return f"%u{code:04X}"
    return char
