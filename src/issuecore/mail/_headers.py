"""The policy intake parses with: ``policy.default`` headers, built and read faster.

:data:`email.policy.default` turns every header it is asked for into a
structured object, and the parser asks for each part's ``Content-Type``
several times. Building one costs about as much as parsing a whole small
message with ``compat32``. Three things make intake cheaper without changing
what the objects are:

- the factory remembers recently built MIME headers (they are immutable);
- a parsed part remembers its content type with the raw value it was read
  from (:class:`ParsedMessage`), and a header value without line breaks is
  not searched for them (:class:`ReadingPolicy`);
- a ``Content-Type`` in the plain form nearly all mail uses
  (``type/subtype; name=value; name="quoted value"``) is read directly into
  the same :class:`~email.headerregistry.ContentTypeHeader` the standard
  parser would build, and a ``Content-Transfer-Encoding`` that is one bare
  token (``base64``, ``quoted-printable``, ``7bit``) into the same
  :class:`~email.headerregistry.ContentTransferEncodingHeader`, with the
  attributes the standard constructor would set, set at once; their parse
  trees, which only re-serialising needs, are built when first asked for,
  and the parameters found are remembered with the header objects for the
  parts' parameter look-ups (:func:`plain_type_parameters`). Anything else
  (comments, white space, RFC 2231 or encoded parameters, escapes,
  duplicates) goes through the standard parser.

The tests compare both paths on generated values and on every header of the
mail corpora: same text, type, parameters, encoding, defects and folding.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from email.headerregistry import (
    BaseHeader,
    ContentTransferEncodingHeader,
    ContentTypeHeader,
    HeaderRegistry,
)
from email.message import EmailMessage
from email.policy import EmailPolicy
from types import MappingProxyType
from typing import Any, Final, Self

__all__ = [
    "MimeHeaderFactory",
    "ParsedMessage",
    "ReadingPolicy",
    "plain_parameters",
    "plain_transfer_encoding",
    "plain_type_parameters",
]

_CACHED: Final = frozenset(
    {"content-type", "content-disposition", "content-transfer-encoding", "mime-version"}
)
# RFC 2045 tokens without the characters RFC 2231 gives meaning to ("*", "'", and "%" in names)
_TOKEN: Final = r"[A-Za-z0-9!#$%&+.^_`{|}~-]+"
_NAME: Final = r"[A-Za-z0-9!#$&+.^_`{|}~-]+"
_PLAIN_PARAM: Final = re.compile(rf';\s*({_NAME})=(?:"([ !#-\[\]-~]+)"|({_TOKEN}))\s*')
# Any number of plain parameters, checked in one match: each one's extent is fixed (a token
# ends at a character no token has, a quoted value at its closing quote), so reading them one
# after another with _PLAIN_PARAM finds the same parameters; nothing is given back (possessive).
_PLAIN_PARAMS: Final = rf'(?:;\s*+{_NAME}+=(?:"[ !#-\[\]-~]++"|{_TOKEN}+)\s*+)*+'
_PLAIN_TYPE: Final = re.compile(rf"(\s*({_TOKEN})/({_TOKEN})\s*)({_PLAIN_PARAMS})")
_PLAIN_VALUE: Final = re.compile(rf"\s*({_TOKEN}(?:/{_TOKEN})?)\s*({_PLAIN_PARAMS})")
_PLAIN_TOKEN: Final = re.compile(_TOKEN)


def _plain_rest(rest: str, pieces: list[str] | None) -> dict[str, str] | None:
    """Return the parameters of ``rest``, plain ones (``; a=b; c="d"``), or ``None`` for repeats.

    ``pieces`` gets each parameter as the standard parser writes it back.
    """
    params: dict[str, str] = {}
    if not rest:
        return params
    for name, quoted, token in _PLAIN_PARAM.findall(rest):
        key = name.lower()
        if key in params:
            return None  # the standard parser records a defect for duplicates
        params[key] = value = quoted or token  # a quoted value is never empty here
        if pieces is not None:
            pieces.append(f'; {name}="{value}"')
    return params


def _is_plain_text(value: str) -> bool:
    # encoded words inside quotes are decoded by the standard parser, so they are not plain
    return value.isascii() and value == value.rstrip() and "=?" not in value


@functools.lru_cache(maxsize=2048)
def _plain_content_type(value: str) -> tuple[str, str, str, dict[str, str]] | None:
    """Return (text, maintype, subtype, params) for a plain Content-Type, else ``None``.

    Remembered with the header objects, so reading a parameter of a part's
    Content-Type (:func:`plain_type_parameters`) finds what building its
    header object found.
    """
    whole = _PLAIN_TYPE.fullmatch(value) if _is_plain_text(value) else None
    if whole is None:
        return None
    kind, maintype, subtype, rest = whole.groups()
    pieces = [kind]
    params = _plain_rest(rest, pieces)
    if params is None:
        return None
    return "".join(pieces), maintype.lower(), subtype.lower(), params


def plain_type_parameters(value: str) -> Mapping[str, str] | None:
    """Return the parameters of a plain Content-Type (``type/subtype; a=b``), else ``None``.

    They are the parameters :func:`plain_parameters` gives for the value: both
    read the type and the parameters after it with the same tokens.
    """
    plain = _plain_content_type(value)
    return None if plain is None else MappingProxyType(plain[3])


@functools.lru_cache(maxsize=2048)
def plain_parameters(value: str) -> tuple[str, Mapping[str, str]] | None:
    """Return the lower-case value and parameters of a plain MIME header, else ``None``.

    Plain means ``token[/token]`` followed by ``; name=token`` or ``; name="text"``
    parameters; for those the standard parser gives the same result. Answers
    are remembered, as the header objects are (``plain_parameters.cache_clear``
    forgets them).
    """
    whole = _PLAIN_VALUE.fullmatch(value) if _is_plain_text(value) else None
    if whole is None:
        return None
    params = _plain_rest(whole.group(2), None)
    return None if params is None else (whole.group(1).lower(), MappingProxyType(params))


class _LazyParseTree:
    """A header whose parse tree is built from its text when first asked for."""

    @property
    def _parse_tree(self) -> Any:
        tree = self.__dict__.get("_tree")
        if tree is None:
            tree = self.__dict__["_tree"] = self.value_parser(str(self))  # type: ignore[attr-defined]
        return tree

    @_parse_tree.setter
    def _parse_tree(self, tree: Any) -> None:
        self.__dict__["_tree"] = tree


class _PlainContentTypeHeader(_LazyParseTree, ContentTypeHeader):
    """A ContentTypeHeader that reads plain values directly (see the module docstring)."""

    def __new__(cls, name: str, value: str) -> Self:
        plain = _plain_content_type(value)
        if plain is None:
            return super().__new__(cls, name, value)  # type: ignore[call-arg]  # BaseHeader's
        text, maintype, subtype, params = plain
        # What BaseHeader.__new__ and the init() chain store, without a parse tree (ASCII text
        # has no surrogates to sanitise)
        header = str.__new__(cls, text)  # type: ignore[type-var]  # a str subclass at run time
        vars(header).update(
            _name=name,
            _tree=None,
            _defects=[],
            _params=params,
            _maintype=maintype,
            _subtype=subtype,
        )
        return header


def plain_transfer_encoding(value: str) -> str | None:
    """Return the lower-case encoding of a one-token Content-Transfer-Encoding, else ``None``."""
    # The standard parser reads such a value as the token alone: no white space, comment or defect.
    return value.lower() if _PLAIN_TOKEN.fullmatch(value) else None


class _PlainTransferEncodingHeader(_LazyParseTree, ContentTransferEncodingHeader):
    """A ContentTransferEncodingHeader reading a bare token directly (see the module docstring)."""

    def __new__(cls, name: str, value: str) -> Self:
        plain = plain_transfer_encoding(value)
        if plain is None:
            return super().__new__(cls, name, value)  # type: ignore[call-arg]  # BaseHeader's
        # as BaseHeader.__new__ and init() store it, without a parse tree
        header = str.__new__(cls, value)  # type: ignore[type-var]  # a str subclass at run time
        vars(header).update(_name=name, _tree=None, _defects=[], _cte=plain)
        return header


class MimeHeaderFactory(HeaderRegistry):
    """``policy.default``'s registry, remembering MIME headers and reading plain ones fast."""

    def __init__(self) -> None:
        super().__init__()
        # typeshed asks for a BaseHeader class; the registry mixes BaseHeader in itself
        self.map_to_type("content-type", _PlainContentTypeHeader)  # type: ignore[arg-type]
        self.map_to_type(
            "content-transfer-encoding",
            _PlainTransferEncodingHeader,  # type: ignore[arg-type]
        )
        self._classes: dict[str, type[BaseHeader]] = {}
        self._remember = functools.lru_cache(maxsize=2048)(super().__call__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # The standard registry makes a new class for every header it builds; one per name will do.
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str) -> BaseHeader:
        if name.lower() in _CACHED:
            header: BaseHeader = self._remember(name, value)
            return header
        return super().__call__(name, value)

    def cache_clear(self) -> None:
        """Forget every remembered header."""
        self._remember.cache_clear()
        _plain_content_type.cache_clear()


class ParsedMessage(EmailMessage):
    """An :class:`~email.message.EmailMessage` that remembers its content type.

    The parser asks each part for its content type several times (and each
    child asks its parent); every answer fetches the ``Content-Type`` header
    object through the policy. The answer is kept with what it was read from:
    the first raw ``Content-Type`` value (the object itself), the default type
    and the policy. A change to any of them (a header set, replaced or deleted
    stores a new value) is read afresh, so the answer is always the one
    :class:`~email.message.EmailMessage` gives.

    Finding the first raw value means looking through every header. It is
    not looked for again while the list of headers is the same list, of the
    same length, holding the same value at the place it was found:
    :class:`~email.message.Message` adds a header at the end, replaces one
    in place under its own name, and removes one by building a new list, so
    no other header can have become the first ``Content-Type`` meanwhile.
    """

    # (headers list, its length, place of the first Content-Type or -1, its raw value,
    #  default type, policy, the answer)
    _content_type: tuple[list[tuple[str, Any]], int, int, object, str, object, str] | None = None
    _headers: list[tuple[str, Any]]  # email.message.Message's own list of raw headers

    def get_content_type(self) -> str:
        headers = self._headers
        known = self._content_type
        if (
            known is not None
            and known[0] is headers
            and known[1] == len(headers)
            and (known[2] < 0 or headers[known[2]][1] is known[3])
        ):
            place, raw = known[2], known[3]
            default_type = self.get_default_type()
            if known[4] == default_type and known[5] is self.policy:
                return known[6]
        else:
            place, raw = -1, None
            for index, (name, value) in enumerate(headers):
                if name.lower() == "content-type":
                    place, raw = index, value
                    break
            default_type = self.get_default_type()
        content_type = super().get_content_type()
        self._content_type = (
            headers,
            len(headers),
            place,
            raw,
            default_type,
            self.policy,
            content_type,
        )
        return content_type


class ReadingPolicy(EmailPolicy):
    """``policy.default`` reading into :class:`ParsedMessage`, fetching headers faster.

    The parser asks for each part's ``Content-Type`` several times, and
    ``policy.default`` removes line breaks from the value with a regular
    expression every time; a value without any is passed on as it is.
    """

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("message_factory", ParsedMessage)
        super().__init__(**kw)

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if type(value) is str and "\n" not in value and "\r" not in value:
            return self.header_factory(name, value)  # a plain str has no header ``name``
        return super().header_fetch_parse(name, value)
