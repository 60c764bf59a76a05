"""Mail for adopters: parse a message as the desk does, and the address rules it uses.

The desk's intake (matching, loops, acknowledgements) is internal; these are
the pure functions an application may want beside it: read a raw message
into an :class:`InboundMessage` (or learn why it is :class:`Quarantined`),
reduce a reply to what its writer added, turn HTML mail into text, and
compare, normalise and display addresses exactly as the desk does. The mail
settings themselves (:class:`~issuecore.MailSettings` and its policies) are
part of :mod:`issuecore`.
"""

from issuecore.mail._addresses import (
    address_key,
    normalize_address,
    safe_header_text,
    same_address,
)
from issuecore.mail._automated import Automation, classify_automated, is_robot_address
from issuecore.mail._parse import (
    InboundMessage,
    Quarantined,
    html_to_text,
    parse_message,
    safe_filename,
)
from issuecore.mail._quotes import new_content
from issuecore.mail._tokens import clean_subject, reply_subject

__all__ = [
    "Automation",
    "InboundMessage",
    "Quarantined",
    "address_key",
    "classify_automated",
    "clean_subject",
    "html_to_text",
    "is_robot_address",
    "new_content",
    "normalize_address",
    "parse_message",
    "reply_subject",
    "safe_filename",
    "safe_header_text",
    "same_address",
]
