"""A one-part message read as the feed parser reads it, without the feed parser.

Most mail is one text part under a header block of plain ``Name: value``
lines: every automatic reply the desk writes, and most of what customers
send. For that shape :func:`read_one_part` builds the message the standard
parser builds, line for line as its feed parser reads it: the message class
of the policy, each header kept raw through the policy's
``header_source_parse`` (a folded value with its line breaks), the body the
text after the empty line. The parser walks such a message a line at a time
through generators; this reads it with a few string operations.

Anything else is left to the parser: a multipart or ``message/*`` part; a
header block with a line the parser would note a defect for (no colon, an
empty name, a name of other characters, a continuation first, an envelope
``From`` line) or without an empty line after it; line ends mixed or other
than ``\\n`` or ``\\r\\n``; a message over :data:`LARGEST`, which the parser
reads in pieces.
"""

from __future__ import annotations

import email.message
import re
from email.policy import EmailPolicy, Policy, compat32
from typing import Final

__all__ = ["LARGEST", "read_one_part"]

LARGEST: Final = 1024 * 1024

# A header line as the feed parser knows one: a name of printable characters but
# the colon, then the colon; or a continuation line, starting with a blank.
_HEADER_LINE: Final = re.compile(r"[\041-\071\073-\176]+:|[\t ]")


_STOCK_SOURCE_PARSE: Final = frozenset(
    {EmailPolicy.header_source_parse, type(compat32).header_source_parse}
)


def _source_field(lines: list[str], policy: Policy, *, stock: bool) -> tuple[str, str]:
    """Return ``policy.header_source_parse(lines)``: the header's name and raw value."""
    if not stock:
        name, value = policy.header_source_parse(lines)
        return name, value
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t")
    if len(lines) > 1:
        value += "".join(lines[1:])
    return name, value.rstrip("\r\n")


def read_one_part(data: bytes, policy: Policy) -> email.message.Message | None:
    """Return ``data`` as the feed parser with ``policy`` reads it, or ``None`` if not one part."""
    if len(data) > LARGEST or data.startswith((b"From ", b" ", b"\t")):
        return None
    crlf = b"\r" in data
    newline = "\r\n" if crlf else "\n"
    encoded = newline.encode("ascii")
    end = data.find(encoded * 2)
    if end < 0:
        return None
    lowered = data[:end].lower()
    if b"multipart" in lowered or b"message/" in lowered:
        return None  # most likely a part of that kind: the parser reads it (at no loss of time)
    if crlf:
        # Every line ended by CRLF, as mail on the wire: the same lines, two characters longer.
        pairs = data.count(b"\r\n")
        if pairs != data.count(b"\r") or pairs != data.count(b"\n"):
            return None
    # As the bytes parser reads: ASCII, any other byte kept as a surrogate.
    head = data[: end + len(encoded)].decode("ascii", "surrogateescape").split(newline)[:-1]
    factory = policy.message_factory or email.message.Message
    message = factory(policy=policy)
    # The standard rule, written out (it runs per header): the name up to the first colon,
    # the rest of the line without leading blanks, the continuation lines as they are.
    stock = type(policy).header_source_parse in _STOCK_SOURCE_PARSE
    fields: list[tuple[str, str]] = []
    group: list[str] = []
    for line in head:
        if not _HEADER_LINE.match(line):
            return None  # the parser would note a defect here: let it
        if line[0] not in " \t" and group:
            fields.append(_source_field(group, policy, stock=stock))
            group = []
        group.append(line + newline)
    if group:
        fields.append(_source_field(group, policy, stock=stock))
    content_type = None
    for name, value in fields:
        message.set_raw(name, value)
        if content_type is None and name.lower() == "content-type":
            content_type = value.lower()
    # Only a type naming one of them can make the part one of them; the policy's reading decides.
    if (
        content_type is not None
        and ("multipart" in content_type or "message" in content_type)
        and message.get_content_maintype() in ("multipart", "message")
    ):
        return None
    message.set_payload(data[end + 2 * len(encoded) :].decode("ascii", "surrogateescape"))
    return message
