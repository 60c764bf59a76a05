"""Serialising outbound messages so that long Message-IDs stay readable on the wire.

The standard library's ``email.policy.default`` folds header lines at 78
characters; a Message-ID, In-Reply-To or References value longer than that
has no whitespace to fold at, so the generator RFC 2047-encodes it
(``=?utf-8?q?=3C...?=``) and mail clients can no longer thread on it. RFC 5322
allows lines up to 998 characters, which is what these helpers use.
"""

from __future__ import annotations

import copy
import email.policy
from email.message import EmailMessage
from email.policy import EmailPolicy

__all__ = ["IDENTIFIER_HEADERS", "wire_bytes", "wire_message", "wire_policy"]

# Headers whose values are message identifiers: never encoded, never folded mid-identifier.
IDENTIFIER_HEADERS = ("Message-ID", "In-Reply-To", "References", "Resent-Message-ID")

_IDENTIFIERS = frozenset(name.casefold() for name in IDENTIFIER_HEADERS)
_LONGEST_LINE = 998


def wire_policy(message: EmailMessage, *, linesep: str) -> EmailPolicy[EmailMessage]:
    """Return the policy to serialise ``message`` with: its own if it allows long lines."""
    own = message.policy
    if isinstance(own, EmailPolicy) and (
        not own.max_line_length or own.max_line_length >= _LONGEST_LINE
    ):
        return own.clone(linesep=linesep)
    return email.policy.SMTP.clone(max_line_length=_LONGEST_LINE, linesep=linesep)


def wire_message(message: EmailMessage, *, linesep: str) -> EmailMessage:
    """Return a shallow copy of ``message`` ready to serialise with identifiers kept readable.

    A message parsed back from bytes written with a 78-character policy
    carries its identifiers as encoded words; those headers are set again
    from their decoded values (when those are plain ASCII) so the generator
    writes them as they are, at the end of the header block. Every other
    header keeps its place. ``message`` itself is not changed.
    """
    wired = copy.copy(message)
    wired.policy = wire_policy(message, linesep=linesep)
    encoded = {
        name.casefold()
        for name, raw in message.raw_items()
        if name.casefold() in _IDENTIFIERS and "=?" in str(raw)
    }
    for name in IDENTIFIER_HEADERS:
        if name.casefold() not in encoded:
            continue
        decoded = [str(value) for value in message.get_all(name, [])]
        if not all(text.isascii() and "=?" not in text for text in decoded):
            continue
        del wired[name]  # builds a new header list: the original message keeps its own
        for text in decoded:
            wired[name] = text
    return wired


def wire_bytes(message: EmailMessage, *, linesep: str) -> bytes:
    """Return ``message`` serialised with :func:`wire_message`'s copy and policy."""
    wired = wire_message(message, linesep=linesep)
    return wired.as_bytes(policy=wired.policy)
