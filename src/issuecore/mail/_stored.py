"""Reading back a message the desk wrote: the parser's result, without the parser for plain ones.

Every automatic reply is parsed back from its stored bytes when it is handed
to the mailer. Such a message is one text part under a header block of
plain ``Name: value`` lines. For that shape :func:`read_stored` builds the
message the standard parser builds, line for line as its feed parser reads
it (each header kept raw through the policy's ``header_source_parse``, the
body the text after the empty line); anything else (a multipart or message
part, a carriage return, an envelope ``From`` line, a line the parser would
report as a defect) is left to the parser itself.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy

__all__ = ["read_stored"]

# A header line as the feed parser knows one: a name of printable characters but
# the colon, then the colon; or a continuation line, starting with a blank.
_HEADER_LINE = re.compile(r"[\041-\071\073-\176]+:|[\t ]")


def read_stored(data: bytes, policy: EmailPolicy[EmailMessage]) -> EmailMessage:
    """Return ``data`` parsed as ``BytesParser(policy=policy)`` parses it."""
    message = _read_plain(data, policy)
    if message is None:
        parsed = BytesParser(policy=policy).parsebytes(data)
        assert isinstance(parsed, EmailMessage)
        return parsed
    return message


def _read_plain(data: bytes, policy: EmailPolicy[EmailMessage]) -> EmailMessage | None:
    end = data.find(b"\n\n")
    if end < 0 or b"\r" in data or data.startswith((b"From ", b" ", b"\t")):
        return None
    # As the bytes parser reads: ASCII, any other byte kept as a surrogate.
    text = data.decode("ascii", "surrogateescape")
    head = text[: end + 1].split("\n")[:-1]
    message = EmailMessage(policy=policy)
    group: list[str] = []
    for line in head:
        if not _HEADER_LINE.match(line):
            return None  # the parser would note a defect here: let it
        if line[0] not in " \t" and group:
            message.set_raw(*policy.header_source_parse(group))
            group = []
        group.append(line + "\n")
    if group:
        message.set_raw(*policy.header_source_parse(group))
    if message.get_content_maintype() in ("multipart", "message"):
        return None
    message.set_payload(text[end + 2 :])
    return message
