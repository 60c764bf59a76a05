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
  parser would build; its parse tree, which only re-serialising needs, is
  built when first asked for. Anything else (comments, RFC 2231 or encoded
  parameters, escapes, duplicates) goes through the standard parser.

The tests compare both paths on generated values: same text, type,
parameters, defects and folding.
"""

from __future__ import annotations

import functools
import re
from email.headerregistry import (
    BaseHeader,
    ContentTypeHeader,
    HeaderRegistry,
    ParameterizedMIMEHeader,
)
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any, Final

__all__ = ["MimeHeaderFactory", "ParsedMessage", "ReadingPolicy", "plain_parameters"]

_CACHED: Final = frozenset(
    {"content-type", "content-disposition", "content-transfer-encoding", "mime-version"}
)
# RFC 2045 tokens without the characters RFC 2231 gives meaning to ("*", "'", and "%" in names)
_TOKEN: Final = r"[A-Za-z0-9!#$%&+.^_`{|}~-]+"
_NAME: Final = r"[A-Za-z0-9!#$&+.^_`{|}~-]+"
_PLAIN_TYPE: Final = re.compile(rf"(\s*({_TOKEN})/({_TOKEN})\s*)((?:;.*)?)", re.DOTALL)
_PLAIN_VALUE: Final = re.compile(rf"\s*({_TOKEN}(?:/{_TOKEN})?)\s*((?:;.*)?)", re.DOTALL)
_PLAIN_PARAM: Final = re.compile(rf';\s*({_NAME})=(?:"([ !#-\[\]-~]+)"|({_TOKEN}))\s*')


def _plain_rest(rest: str, pieces: list[str]) -> dict[str, str] | None:
    """Return the parameters in ``rest`` (``; a=b; c="d"``), or ``None`` if any is not plain."""
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        param = _PLAIN_PARAM.match(rest, position)
        if param is None:
            return None
        name, quoted, token = param.groups()
        key = name.lower()
        if key in params:
            return None  # the standard parser records a defect for duplicates
        params[key] = quoted if quoted is not None else token
        pieces.append(f'; {name}="{params[key]}"')
        position = param.end()
    return params


def _is_plain_text(value: str) -> bool:
    # encoded words inside quotes are decoded by the standard parser, so they are not plain
    return value.isascii() and value == value.rstrip() and "=?" not in value


def _plain_content_type(value: str) -> tuple[str, str, str, dict[str, str]] | None:
    """Return (text, maintype, subtype, params) for a plain Content-Type, else ``None``."""
    whole = _PLAIN_TYPE.fullmatch(value) if _is_plain_text(value) else None
    if whole is None:
        return None
    kind, maintype, subtype, rest = whole.groups()
    pieces = [kind]
    params = _plain_rest(rest, pieces)
    if params is None:
        return None
    return "".join(pieces), maintype.lower(), subtype.lower(), params


def plain_parameters(value: str) -> tuple[str, dict[str, str]] | None:
    """Return the lower-case value and parameters of a plain MIME header, else ``None``.

    Plain means ``token[/token]`` followed by ``; name=token`` or ``; name="text"``
    parameters; for those the standard parser gives the same result.
    """
    whole = _PLAIN_VALUE.fullmatch(value) if _is_plain_text(value) else None
    if whole is None:
        return None
    params = _plain_rest(whole.group(2), [])
    return None if params is None else (whole.group(1).lower(), params)


class _PlainContentTypeHeader(ContentTypeHeader):
    """A ContentTypeHeader that reads plain values directly (see the module docstring)."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        plain = _plain_content_type(value)
        if plain is None:
            super().parse(value, kwds)
            return
        text, maintype, subtype, params = plain
        kwds["parse_tree"] = None
        kwds["decoded"] = text
        kwds["params"] = params
        kwds["plain_type"] = (maintype, subtype)

    def init(self, *args: Any, **kw: Any) -> None:
        plain = kw.pop("plain_type", None)
        if plain is None:
            super().init(*args, **kw)
            return
        ParameterizedMIMEHeader.init(self, *args, **kw)  # skips reading the parse tree
        self._maintype, self._subtype = plain

    @property
    def _parse_tree(self) -> Any:
        tree = self.__dict__.get("_tree")
        if tree is None:
            tree = self.__dict__["_tree"] = self.value_parser(str(self))
        return tree

    @_parse_tree.setter
    def _parse_tree(self, tree: Any) -> None:
        self.__dict__["_tree"] = tree


class MimeHeaderFactory(HeaderRegistry):
    """``policy.default``'s registry, remembering MIME headers and reading plain ones fast."""

    def __init__(self) -> None:
        super().__init__()
        # typeshed asks for a BaseHeader class; the registry mixes BaseHeader in itself
        self.map_to_type("content-type", _PlainContentTypeHeader)  # type: ignore[arg-type]
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


class ParsedMessage(EmailMessage):
    """An :class:`~email.message.EmailMessage` that remembers its content type.

    The parser asks each part for its content type several times (and each
    child asks its parent); every answer fetches the ``Content-Type`` header
    object through the policy. The answer is kept with what it was read from:
    the first raw ``Content-Type`` value (the object itself), the default type
    and the policy. A change to any of them (a header set, replaced or deleted
    stores a new value) is read afresh, so the answer is always the one
    :class:`~email.message.EmailMessage` gives.
    """

    _content_type: tuple[object, str, object, str] | None = None
    _headers: list[tuple[str, Any]]  # email.message.Message's own list of raw headers

    def get_content_type(self) -> str:
        raw: object = None
        for name, value in self._headers:  # what raw_items() gives, without copying the list
            if name.lower() == "content-type":
                raw = value
                break
        known = self._content_type
        if (
            known is not None
            and known[0] is raw
            and known[1] == self.get_default_type()
            and known[2] is self.policy
        ):
            return known[3]
        content_type = super().get_content_type()
        self._content_type = (raw, self.get_default_type(), self.policy, content_type)
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
