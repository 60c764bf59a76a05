"""Reading back a message the desk wrote, as the standard parser reads it.

Every automatic reply is parsed back from its stored bytes when it is handed
to the mailer. It is one text part, which :func:`~issuecore.mail._plain.read_one_part`
reads without the feed parser; anything else goes to the parser itself.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy

from issuecore.mail._plain import read_one_part

__all__ = ["read_stored"]


def read_stored(data: bytes, policy: EmailPolicy[EmailMessage]) -> EmailMessage:
    """Return ``data`` parsed as ``BytesParser(policy=policy)`` parses it."""
    message = read_one_part(data, policy)
    if message is None:
        message = BytesParser(policy=policy).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message
