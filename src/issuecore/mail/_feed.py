"""The standard feed parser, without a regular expression compiled for every MIME boundary.

Before Python 3.13, :class:`email.feedparser.FeedParser` compiles a pattern
for each multipart boundary it meets::

    re.compile('(?P<sep>' + re.escape(separator) + r')(?P<end>--)?(?P<ws>[ \\t]*)'
               r'(?P<linesep>\\r\\n|\\r|\\n)?$')

Real mail gives every message boundaries of its own, so the regular
expression cache never helps, and one compilation costs more than parsing a
small message. Python 3.13 matches the same lines with
``line.startswith(separator)`` and one shared pattern for the rest of the
line. :class:`BytesFeedParser` runs the standard library's own parsing code,
with that matching in place of the compiled pattern where the code compiles
one; where it does not (3.13 on), it is the standard parser unchanged.

The parser uses nothing of a boundary match but whether there is one and its
``end`` and ``linesep`` groups; the separator is literal text, so a match
starting with it matches the rest of the line exactly as the whole pattern
does. The tests compare both parsers on generated multipart messages.
"""

from __future__ import annotations

import email.feedparser
import re
import types
from collections.abc import Callable
from typing import Any, Final

__all__ = ["BoundaryLine", "BytesFeedParser", "boundary_matcher"]

# The pattern the feed parser compiles for a boundary, around re.escape(separator)
_PREFIX: Final = "(?P<sep>"
_SUFFIX: Final = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_LINE_END: Final = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
_ESCAPED: Final = re.compile(r"\\(.)", re.DOTALL)


class BoundaryLine:
    """Matches the delimiter lines of one boundary as its compiled pattern does."""

    __slots__ = ("_separator", "_start")

    def __init__(self, separator: str) -> None:
        self._separator = separator
        self._start = len(separator)

    def match(self, line: str) -> re.Match[str] | None:
        """Return the match of the line's end after the separator, or ``None``."""
        if not line.startswith(self._separator):
            return None
        return _LINE_END.match(line, self._start)


def boundary_matcher(pattern: str, flags: int = 0) -> BoundaryLine | re.Pattern[str]:
    """Return a :class:`BoundaryLine` for the feed parser's boundary pattern, else compile it."""
    if (
        flags == 0
        and type(pattern) is str
        and pattern.startswith(_PREFIX)
        and pattern.endswith(_SUFFIX)
    ):
        escaped = pattern[len(_PREFIX) : -len(_SUFFIX)]
        # without an escaped backslash, every backslash is an escape
        plain = "\\\\" not in escaped
        separator = escaped.replace("\\", "") if plain else _ESCAPED.sub(r"\1", escaped)
        if re.escape(separator) == escaped:
            return BoundaryLine(separator)
    return re.compile(pattern, flags)


class _Patterns:
    """The ``re`` module as the feed parser's code sees it: a boundary pattern is not compiled."""

    compile = staticmethod(boundary_matcher)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


def _matching_boundaries(function: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``function`` (of :mod:`email.feedparser`) seeing :class:`_Patterns` as ``re``."""
    namespace = dict(function.__globals__)  # the module's names as they are at import
    namespace["re"] = _Patterns()
    rebuilt = types.FunctionType(
        function.__code__,
        namespace,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    rebuilt.__qualname__ = function.__qualname__
    rebuilt.__doc__ = function.__doc__
    return rebuilt


_STOCK_PARSEGEN: Final[Callable[..., Any]] = getattr(email.feedparser.FeedParser, "_parsegen")  # noqa: B009


class BytesFeedParser(email.feedparser.BytesFeedParser):
    """:class:`email.feedparser.BytesFeedParser` matching boundaries without compiling them."""

    if "re" in _STOCK_PARSEGEN.__code__.co_names:  # the parser compiles per boundary
        _parsegen = _matching_boundaries(_STOCK_PARSEGEN)
