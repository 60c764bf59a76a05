"""Reading address headers as mail servers and DMARC read them.

A header value is split at the commas (and group markers) that stand
outside quotes, comments and angle brackets. Each piece is one mailbox:

- the address in angle brackets is the mailbox and everything else is the
  display name, even when the rest looks like an address
  (``alice@example.com <mallory@evil.example>`` is mallory; so is
  ``<mallory@evil.example>alice@example.com``);
- a piece with two angle-bracketed addresses, a stray ``>``, or two bare
  addresses is unreadable, never "the first one";
- without angle brackets the piece is a bare address, with a comment as the
  name (``a@b (Name)``); a piece of words and one address (``Name a@b``) is
  read as name and address;
- encoded words (RFC 2047) are decoded in display names only; an address is
  never decoded from one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from issuecore.mail._addresses import normalize_address

__all__ = ["read_mailboxes"]

_DELIMITERS: Final = frozenset(' \t\r\n"(<>,:;[')


def read_mailboxes(
    value: str, decode_name: Callable[[str], str]
) -> tuple[list[tuple[str, str]], int]:
    """Return the ``(name, address)`` pairs of a header and the number of unreadable pieces."""
    mailboxes: list[tuple[str, str]] = []
    unreadable = 0
    for tokens in _pieces(value):
        if not tokens:
            continue
        mailbox = _mailbox(tokens, decode_name)
        if mailbox is None:
            unreadable += 1
        else:
            mailboxes.append(mailbox)
    return mailboxes, unreadable


# A token: (kind, text, space_before); kinds: text, quoted, comment, angle, literal, stray
_Token = tuple[str, str, bool]


def _pieces(value: str) -> list[list[_Token]]:
    pieces: list[list[_Token]] = []
    tokens: list[_Token] = []
    length = len(value)
    index = 0
    space = False
    angle = False  # the piece has an angle-bracketed address: a ':' after it is no group
    while index < length:
        char = value[index]
        if char in " \t\r\n":
            space = True
            index += 1
            continue
        if char == '"':
            end, text = _quoted(value, index + 1)
            tokens.append(("quoted", text, space))
        elif char == "(":
            end, text = _comment(value, index + 1)
            tokens.append(("comment", text, space))
        elif char == "<":
            close = value.find(">", index + 1)
            end = length if close < 0 else close + 1
            tokens.append(("angle", value[index + 1 : close if close >= 0 else length], space))
            angle = True
        elif char == "[":
            close = value.find("]", index + 1)
            end = length if close < 0 else close + 1
            tokens.append(("literal", value[index:end], space))
        elif char == ">":
            end = index + 1
            tokens.append(("stray", ">", space))
        elif char in ",;":
            pieces.append(tokens)
            tokens = []
            angle = False
            end = index + 1
        elif char == ":" and not angle:
            tokens = []  # a group's name; its members follow
            end = index + 1
        else:
            end = index + 1
            while end < length and value[end] not in _DELIMITERS:
                end += 1
            tokens.append(("text", value[index:end], space))
        space = False
        index = end
    pieces.append(tokens)
    return pieces


def _quoted(value: str, index: int) -> tuple[int, str]:
    text: list[str] = []
    length = len(value)
    while index < length:
        char = value[index]
        if char == "\\" and index + 1 < length:
            text.append(value[index + 1])
            index += 2
            continue
        if char == '"':
            return index + 1, "".join(text)
        text.append(char)
        index += 1
    return length, "".join(text)


def _comment(value: str, index: int) -> tuple[int, str]:
    text: list[str] = []
    depth = 1
    length = len(value)
    while index < length:
        char = value[index]
        if char == "\\" and index + 1 < length:
            text.append(value[index + 1])
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1, "".join(text)
        text.append(char)
        index += 1
    return length, "".join(text)


def _mailbox(tokens: list[_Token], decode_name: Callable[[str], str]) -> tuple[str, str] | None:
    if any(kind == "stray" for kind, _, _ in tokens):
        return None
    angles = [text for kind, text, _ in tokens if kind == "angle"]
    comments = [text for kind, text, _ in tokens if kind == "comment"]
    words = [
        (kind, text, space) for kind, text, space in tokens if kind not in ("comment", "angle")
    ]
    if len(angles) > 1:
        return None
    if angles:
        spec = angles[0].strip()
        if spec.startswith("@") and ":" in spec:
            spec = spec.rsplit(":", 1)[1]  # an obsolete source route: <@relay:a@b>
        name = " ".join(text for _, text, _ in words)
        return _named(name or " ".join(comments), spec, decode_name)
    groups: list[str] = []
    for kind, text, space in words:
        part = f'"{_escape(text)}"' if kind == "quoted" else text
        if space or not groups:
            groups.append(part)
        else:
            groups[-1] += part
    with_at = [group for group in groups if "@" in group]
    if len(with_at) != 1:
        return None
    name = " ".join(group for group in groups if "@" not in group)
    return _named(name or " ".join(comments), with_at[0], decode_name)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _named(name: str, spec: str, decode_name: Callable[[str], str]) -> tuple[str, str] | None:
    address = _address(spec)
    if address is None:
        return None
    name = decode_name(name.strip()) if name.strip() else ""
    return name, address


def _address(spec: str) -> str | None:
    spec = spec.strip()
    if spec.endswith(".") and "@" in spec:
        spec = spec[:-1]  # the root of the DNS: ``example.com.`` is ``example.com``
    return normalize_address(spec)
