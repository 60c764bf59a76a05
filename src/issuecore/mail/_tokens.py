"""Reference tokens such as ``[#ISS-2026-00042]`` and subjects without reply prefixes.

Every pattern here has bounded repetition or is anchored and applied in a
loop that consumes input, so the work grows linearly with the subject: a
megabyte of hostile text takes milliseconds, never minutes.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from issuecore.mail._addresses import safe_header_text

__all__ = [
    "DEFAULT_TOKENS",
    "DEFAULT_TOKEN_FORMAT",
    "REPLY_PREFIXES",
    "TokenFormat",
    "clean_subject",
    "find_numbers",
    "reply_subject",
    "strip_prefixes",
    "token_format",
]

DEFAULT_TOKEN_FORMAT: Final = "[#{number}]"
DEFAULT_NUMBER_PATTERN: Final = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+"

#: Reply and forward prefixes mail clients write, in the languages they use.
REPLY_PREFIXES: Final = (
    "Re", "RE", "Fwd", "Fw", "FW", "AW", "WG", "SV", "VS", "VB", "Antw", "Doorst",
    "Rif", "R", "I", "TR", "Réf", "Odp", "PD", "YNT", "ILT", "Ατ", "Απ", "Отв",
    "Пер", "回复", "答复", "转发", "回覆", "轉寄",
)  # fmt: skip

_PREFIXES: Final = re.compile(
    r"(?:\s*+(?:"
    + "|".join(
        re.escape(prefix)
        for prefix in sorted({p.casefold() for p in REPLY_PREFIXES}, key=len, reverse=True)
    )
    + r")\s{0,4}(?:\[\s{0,4}\d{1,6}\s{0,4}\]|\(\s{0,4}\d{1,6}\s{0,4}\))?"
    # an ASCII or a full-width colon; at most 256 prefixes a match keeps the stack small
    + r"\s{0,4}[:\uff1a]){1,256}+",
    re.IGNORECASE,
)
_MAX_NUMBER: Final = 64
_GAP: Final = r"\s{0,8}"


class TokenFormat:
    """A token format such as ``[#{number}]``: renders tokens and finds them in subjects."""

    __slots__ = ("_closer", "_format", "_number", "_opener", "_search")

    def __init__(
        self, token_format: str = DEFAULT_TOKEN_FORMAT, number_pattern: str = DEFAULT_NUMBER_PATTERN
    ) -> None:
        opener, marker, closer = token_format.partition("{number}")
        if not marker or not opener.strip() or not closer.strip():
            raise ValueError(f"token format {token_format!r} needs '{{number}}' between marks")
        self._format = token_format
        self._opener = opener
        self._closer = closer
        self._number = re.compile(number_pattern)
        closer_first = re.escape(closer.strip()[0])
        self._search = re.compile(
            _loose(opener)
            + _GAP
            + rf"((?:(?!{closer_first})[\w \t./-]){{1,{_MAX_NUMBER}}}?)"
            + _GAP
            + _loose(closer),
            re.IGNORECASE,
        )

    def render(self, number: str) -> str:
        """Return the token for ``number``, e.g. ``[#ISS-2026-00042]``."""
        return self._opener + number + self._closer

    def numbers(self, subject: str) -> tuple[str, ...]:
        """Return the issue numbers named by tokens in ``subject``, in order, without repeats."""
        found: dict[str, None] = {}
        for match in self._search.finditer(subject):
            candidate = "".join(match.group(1).split()).upper()
            if self._number.fullmatch(candidate):
                found[candidate] = None
        return tuple(found)

    def remove(self, subject: str) -> str:
        """Return ``subject`` without any token that names an issue number."""

        def drop(match: re.Match[str]) -> str:
            candidate = "".join(match.group(1).split()).upper()
            return " " if self._number.fullmatch(candidate) else match.group(0)

        return " ".join(self._search.sub(drop, subject).split())


def _loose(mark: str) -> str:
    """Return a pattern for ``mark`` that allows a little space between its characters."""
    return _GAP.join(re.escape(char) for char in mark if not char.isspace())


@functools.lru_cache(maxsize=16)
def token_format(
    token_format: str = DEFAULT_TOKEN_FORMAT, number_pattern: str = DEFAULT_NUMBER_PATTERN
) -> TokenFormat:
    """Return the (cached) :class:`TokenFormat` for a format and a number pattern."""
    return TokenFormat(token_format, number_pattern)


DEFAULT_TOKENS: Final = token_format()


def find_numbers(subject: str, *, tokens: TokenFormat = DEFAULT_TOKENS) -> tuple[str, ...]:
    """Return the issue numbers that tokens in ``subject`` name, in order."""
    return tokens.numbers(subject)


def strip_prefixes(subject: str) -> str:
    """Return ``subject`` without leading reply and forward prefixes (``Re: AW[2]: Fwd:``)."""
    position = 0
    while match := _PREFIXES.match(subject, position):
        position = match.end()
    return subject[position:].strip()


def clean_subject(subject: str, *, tokens: TokenFormat = DEFAULT_TOKENS) -> str:
    """Return a subject for a new issue: one safe line, no reply prefixes, no tokens."""
    line = safe_header_text(subject, limit=10_000)
    return safe_header_text(strip_prefixes(tokens.remove(line)), limit=250)


def reply_subject(subject: str, number: str, *, tokens: TokenFormat = DEFAULT_TOKENS) -> str:
    """Return ``Re: <subject> <token>``, header-safe, with exactly one token for ``number``."""
    base = clean_subject(subject, tokens=tokens)
    token = tokens.render(safe_header_text(number, limit=_MAX_NUMBER))
    return safe_header_text(f"Re: {base} {token}" if base else f"Re: {token}")
