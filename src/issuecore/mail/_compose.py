"""Writing outbound mail: automatic replies and agent replies, and the auto-reply rate limit.

Every value that came from inbound mail passes through
:func:`~issuecore.mail.safe_header_text` (or is dropped) before it
reaches a header, so no subject or name can put CR, LF or NUL into an
outbound header. Every message carries a signed Message-ID and our loop
header.
"""

from __future__ import annotations

import email.policy
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Final, Protocol

from issuecore._instants import before, require_aware
from issuecore._model import Attachment, Issue
from issuecore.mail._addresses import (
    address_key,
    outbound_address,
    safe_header_text,
    unique_addresses,
)
from issuecore.mail._automated import classify_automated, is_robot_address
from issuecore.mail._parse import InboundMessage
from issuecore.mail._settings import MailSettings
from issuecore.mail._signing import make_message_id
from issuecore.mail._tokens import clean_subject, reply_subject

__all__ = [
    "AutoReplyCounter",
    "InMemoryAutoReplyCounter",
    "auto_reply_recipient",
    "compose_acknowledgement",
    "compose_agent_reply",
    "compose_auto_reply",
    "reference_chain",
    "reserve_auto_reply",
]

_MAX_REFERENCES: Final = 20
# Lines up to RFC 5322's 998 characters, so a long Message-ID in In-Reply-To or
# References is written as it is rather than RFC 2047-encoded at 78.
OUTBOUND_POLICY: Final = email.policy.default.clone(max_line_length=998)
_BODY_UNSAFE: Final = re.compile(r"[\ud800-\udfff]")  # lone surrogates cannot be encoded
_MIME_TYPE: Final = re.compile(
    r"([a-z0-9][a-z0-9!#$&^_.+-]{0,62})/([a-z0-9][a-z0-9!#$&^_.+-]{0,126})"
)
_SAFE_MSG_ID: Final = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII without < > or space
# Values the email package writes back exactly as given, so an automatic reply made of
# them is written straight to bytes (see compose_auto_reply_bytes).
_PLAIN_ADDRESS: Final = re.compile(
    r"[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]{1,64}){0,8}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}"
)
_PLAIN_TEXT: Final = re.compile(r"[!-~]{1,200}(?: [!-~]{1,200}){0,200}")
_PLAIN_ID: Final = re.compile(r"<[A-Za-z0-9_+.-]{1,200}@[A-Za-z0-9.-]{1,200}>")
_PLAIN_HEADER_NAME: Final = re.compile(r"X-[A-Za-z0-9-]{1,60}")
_PLAIN_LINE: Final = 900  # a header line this long stays on one line at 998
_MAX_LINE: Final = 998  # OUTBOUND_POLICY's max_line_length: longer body lines are encoded


class AutoReplyCounter(Protocol):
    """Counts automatic replies per address; storage implements it in the intake transaction."""

    def count_since(self, address: str, since: datetime) -> int:
        """Return how many automatic replies went to ``address`` at or after ``since``."""
        ...

    def record(self, address: str, at: datetime) -> None:
        """Remember that an automatic reply went to ``address`` at ``at``."""
        ...


class InMemoryAutoReplyCounter:
    """An :class:`AutoReplyCounter` in a dictionary, for tests and single processes."""

    def __init__(self) -> None:
        self._sent: defaultdict[str, deque[datetime]] = defaultdict(deque)

    def count_since(self, address: str, since: datetime) -> int:
        """Return how many automatic replies went to ``address`` at or after ``since``."""
        return sum(1 for at in self._sent.get(address_key(address), ()) if at >= since)

    def record(self, address: str, at: datetime) -> None:
        """Remember that an automatic reply went to ``address`` at ``at``."""
        self._sent[address_key(address)].append(require_aware("at", at))


def reserve_auto_reply(
    counter: AutoReplyCounter,
    address: str,
    *,
    now: datetime,
    settings: MailSettings,
    sender: str | None = None,
) -> bool:
    """Return whether ``address`` may get another automatic reply now, and count it if so.

    With ``sender`` (the ``From`` of the message answered), the reply counts
    against the sender as well as against ``address``, and is refused when
    either has reached ``auto_reply_limit`` in ``auto_reply_window``: one
    sender naming many third parties in ``Reply-To`` gets no more automatic
    replies sent than one sender writing for themselves.
    """
    require_aware("now", now)
    since = before(now, settings.auto_reply_window)
    keys = tuple(dict.fromkeys(address_key(a) for a in (address, sender) if a is not None))
    if any(counter.count_since(key, since) >= settings.auto_reply_limit for key in keys):
        return False
    for key in keys:
        counter.record(key, now)
    return True


def _is_safe_id(value: str) -> bool:
    # "=?" would let the email package decode an encoded word inside the ID
    return _SAFE_MSG_ID.fullmatch(value) is not None and "=?" not in value


def _is_safe_value(value: object) -> bool:
    return not any(char in str(value) for char in "\r\n\0")


def _set(message: EmailMessage, name: str, *values: str) -> None:
    """Set header ``name`` to the first value the policy keeps on one line, or leave it out.

    The email package decodes encoded words in what it is given, so text
    such as ``=?UTF-8?Q?=0D=0A?=`` would turn into a line break; each value
    is therefore also tried with that syntax broken.
    """
    for value in values:
        for candidate in (value, value.replace("=?", "= ?")):
            try:
                message[name] = candidate
            except (ValueError, TypeError, IndexError, HeaderParseError):
                continue
            if _is_safe_value(message[name]) and _writable(message, name):
                return
            del message[name]


def _writable(message: EmailMessage, name: str) -> bool:
    """Return whether header ``name`` of ``message`` can be written out as bytes.

    An encoded word in an unknown character set decodes to bytes the email
    package keeps as escapes; it takes them, then fails to write them.
    """
    try:
        OUTBOUND_POLICY.fold_binary(name, message[name])
    except (UnicodeError, ValueError, TypeError, IndexError, HeaderParseError):
        return False
    return True


def reference_chain(message_ids: Iterable[str], *, limit: int = _MAX_REFERENCES) -> tuple[str, ...]:
    """Return safe Message-IDs in order without repeats, keeping the first and the newest."""
    safe = tuple(dict.fromkeys(m.strip() for m in message_ids if _is_safe_id(m.strip())))
    if len(safe) <= limit:
        return safe
    return (safe[0], *safe[len(safe) - limit + 1 :])


def auto_reply_recipient(message: InboundMessage, settings: MailSettings) -> str | None:
    """Return where an automatic reply to ``message`` goes (Reply-To, else From), or ``None``.

    Only the first ``Reply-To`` address is considered, so one message gets
    at most one automatic reply, to one address. ``None`` when neither is
    an address we can send to that is not our own and not a robot
    (mailer-daemon, postmaster, no-reply).
    """
    own = settings.own_addresses
    for candidate in (*message.reply_to[:1], message.from_address):
        address = outbound_address(candidate) if candidate else None
        if address and address_key(address) not in own and not is_robot_address(address):
            return address
    return None


def compose_auto_reply(
    message: InboundMessage,
    *,
    number: str,
    settings: MailSettings,
    now: datetime,
    unique: str | None = None,
) -> EmailMessage | None:
    """Return the automatic reply telling the sender the issue number, or ``None``.

    ``None`` when the message is automated or there is nobody safe to answer
    (no address, a robot address, our own address).
    """
    require_aware("now", now)
    if classify_automated(message, own_addresses=settings.own_addresses).automated:
        return None
    recipient = auto_reply_recipient(message, settings)
    if recipient is None:
        return None
    tokens = settings.tokens
    subject = clean_subject(message.subject, tokens=tokens)
    body = settings.auto_reply_template.format(
        number=number,
        subject=subject,
        token=tokens.render(number),
        support_address=settings.support_address,
    )
    chain = (*message.references, message.message_id) if not message.synthetic_message_id else ()
    reply = _outbound(
        settings=settings,
        number=number,
        now=now,
        unique=unique,
        subject=reply_subject(message.subject, number, tokens=tokens),
        to=(recipient,),
        cc=(),
        in_reply_to=None if message.synthetic_message_id else message.message_id,
        references=chain,
        sender_name=None,
        body=body,
    )
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    return reply


def compose_auto_reply_bytes(
    message: InboundMessage,
    *,
    number: str,
    settings: MailSettings,
    now: datetime,
    unique: str | None = None,
    automated: bool | None = None,
) -> tuple[str, bytes] | None:
    """Return the Message-ID and bytes of :func:`compose_auto_reply`'s message, or ``None``.

    The bytes are those the message gives with :data:`OUTBOUND_POLICY`; a
    reply whose every value is plain ASCII the email package writes back
    as it is given (the usual case) is written straight from a template,
    without building the message. ``automated`` is what
    :func:`~issuecore.mail.classify_automated` said of ``message`` with
    ``settings.own_addresses``, when the caller knows it already.
    """
    require_aware("now", now)
    if automated is None:
        automated = classify_automated(message, own_addresses=settings.own_addresses).automated
    if automated:
        return None
    recipient = auto_reply_recipient(message, settings)
    if recipient is None:
        return None
    plain = _plain_auto_reply(message, recipient, number=number, settings=settings, now=now)
    if plain is not None:
        # The Message-ID comes last: a random one is drawn only once, whichever way is taken.
        message_id = make_message_id(
            number, key=settings.signing_key, domain=settings.id_domain, unique=unique
        )
        if _PLAIN_ID.fullmatch(message_id):
            head, tail = plain
            return message_id, f"{head}Message-ID: {message_id}\n{tail}".encode("ascii")
    reply = compose_auto_reply(message, number=number, settings=settings, now=now, unique=unique)
    if reply is None:
        return None
    return str(reply["Message-ID"]), reply.as_bytes(policy=OUTBOUND_POLICY)


# The Date of the last reply written: a batch of intake answers many messages at one ``now``.
_last_date: tuple[datetime, str] | None = None


def _date_text(now: datetime) -> str:
    """Return ``format_datetime(now)``, remembered for the last ``now``.

    The text is the wall time and its offset: the same for the same instant at the same offset.
    """
    global _last_date
    last = _last_date
    if last is not None and last[0] == now and last[0].utcoffset() == now.utcoffset():
        return last[1]
    text = format_datetime(now)
    _last_date = (now, text)
    return text


def _plain_auto_reply(
    message: InboundMessage, recipient: str, *, number: str, settings: MailSettings, now: datetime
) -> tuple[str, str] | None:
    """Return the automatic reply's text before and after its Message-ID line, if all is plain.

    ``None`` when any value is one the email package might write otherwise
    (non-ASCII, encoded words, long lines, unusual addresses or names).
    """
    tokens = settings.tokens
    subject = safe_header_text(reply_subject(message.subject, number, tokens=tokens))
    body = settings.auto_reply_template.format(
        number=number,
        subject=clean_subject(message.subject, tokens=tokens),
        token=tokens.render(number),
        support_address=settings.support_address,
    )
    own = not message.synthetic_message_id
    parent = message.message_id.strip() if own else ""
    chain = reference_chain((*message.references, message.message_id)) if own else ()
    loop = settings.loop_header
    if not (
        _PLAIN_ADDRESS.fullmatch(settings.support_address)
        and _PLAIN_ADDRESS.fullmatch(recipient)
        and _PLAIN_TEXT.fullmatch(subject)
        and "=?" not in subject
        and len(subject) <= _PLAIN_LINE
        and (not parent or (_is_safe_id(parent) and _PLAIN_ID.fullmatch(parent)))
        and all(_PLAIN_ID.fullmatch(reference) for reference in chain)
        and len(" ".join(chain)) <= _PLAIN_LINE
        and _PLAIN_HEADER_NAME.fullmatch(loop)
        and body.isascii()
        and "\0" not in body
    ):
        return None
    lines = body.encode("ascii").splitlines()
    if any(len(line) > _MAX_LINE for line in lines):
        return None
    head = (
        f"From: {settings.support_address}\n"
        f"To: {recipient}\n"
        f"Subject: {subject}\n"
        f"Date: {_date_text(now)}\n"
    )
    tail = "".join(
        (
            f"In-Reply-To: {parent}\n" if parent else "",
            f"References: {' '.join(chain)}\n" if chain else "",
            f"{loop}: {settings.support_address}\n",
            'Content-Type: text/plain; charset="utf-8"\n',
            "Content-Transfer-Encoding: 7bit\n",
            "MIME-Version: 1.0\n",
            "Auto-Submitted: auto-replied\n",
            "X-Auto-Response-Suppress: All\n",
            "\n",
            b"\n".join(lines).decode("ascii"),
            "\n",
        )
    )
    return head, tail


def compose_agent_reply(
    issue: Issue,
    *,
    body: str,
    settings: MailSettings,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    agent_name: str | None = None,
    unique: str | None = None,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    exclude: Iterable[str] = (),
) -> EmailMessage:
    """Return an agent's reply: to the raiser, the participants in copy, threaded and signed.

    ``html`` adds an HTML alternative to the text body; ``attachments`` are
    attached after the body, each with its file name and content type.
    ``in_reply_to`` is the latest inbound Message-ID of the issue and
    ``references`` the thread's earlier Message-IDs, oldest first. A raiser
    that is a robot (an order sent from ``noreply@``) gets no copy; the
    first participant (the person its ``Reply-To`` named) is addressed
    instead. ``exclude`` names addresses that get no copy (the agent, when
    the reply relays their own mail).
    """
    require_aware("now", now)
    recipients = tuple(
        address
        for address in unique_addresses(
            (a for a in map(outbound_address, (issue.raised_by, *issue.participants)) if a),
            exclude=(*settings.own_addresses, *exclude),
        )
        if not is_robot_address(address)
    )
    to, cc = recipients[:1], recipients[1:]
    return _outbound(
        settings=settings,
        number=issue.number,
        now=now,
        unique=unique,
        subject=reply_subject(issue.subject, issue.number, tokens=settings.tokens),
        to=to,
        cc=cc,
        in_reply_to=in_reply_to,
        references=(*references, *((in_reply_to,) if in_reply_to else ())),
        sender_name=agent_name,
        body=body,
        html=html,
        attachments=attachments,
    )


def _outbound(
    *,
    settings: MailSettings,
    number: str,
    now: datetime,
    unique: str | None,
    subject: str,
    to: Sequence[str],
    cc: Sequence[str],
    in_reply_to: str | None,
    references: Iterable[str],
    sender_name: str | None,
    body: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    reply = EmailMessage(policy=OUTBOUND_POLICY)
    name = safe_header_text(sender_name or "", limit=120)
    _set(
        reply,
        "From",
        formataddr((name, settings.support_address)) if name else settings.support_address,
    )
    if to:
        _set(reply, "To", ", ".join(to))
    if cc:
        _set(reply, "Cc", ", ".join(cc))
    _set(reply, "Subject", safe_header_text(subject))
    _set(reply, "Date", format_datetime(now))
    _set(
        reply,
        "Message-ID",
        make_message_id(number, key=settings.signing_key, domain=settings.id_domain, unique=unique),
    )
    parent = in_reply_to.strip() if in_reply_to else None
    if parent and _is_safe_id(parent):
        _set(reply, "In-Reply-To", parent)
    chain = reference_chain(references)
    if chain:
        _set(reply, "References", " ".join(chain))
    _set(reply, settings.loop_header, settings.support_address)
    reply.set_content(_BODY_UNSAFE.sub("\ufffd", body.replace("\0", "")))
    if html is not None:
        reply.add_alternative(_BODY_UNSAFE.sub("\ufffd", html.replace("\0", "")), subtype="html")
    for attachment in attachments:
        maintype, subtype = _content_type(attachment.content_type)
        reply.add_attachment(
            bytes(attachment.data),
            maintype=maintype,
            subtype=subtype,
            filename=safe_header_text(attachment.filename, limit=200) or "attachment",
        )
    return reply


def compose_acknowledgement(
    issue: Issue,
    *,
    settings: MailSettings,
    now: datetime,
    unique: str | None = None,
) -> EmailMessage | None:
    """Return the acknowledgement of an issue opened by a form or an API call, or ``None``.

    The same text as the automatic reply to mail (``auto_reply_template``),
    to the raiser; ``None`` when the raiser is our own address, a robot
    address or one mail cannot be sent to.
    """
    require_aware("now", now)
    recipient = outbound_address(issue.raised_by)
    if recipient is None or is_robot_address(recipient):
        return None
    if address_key(recipient) in {address_key(own) for own in settings.own_addresses}:
        return None
    tokens = settings.tokens
    body = settings.auto_reply_template.format(
        number=issue.number,
        subject=clean_subject(issue.subject, tokens=tokens),
        token=tokens.render(issue.number),
        support_address=settings.support_address,
    )
    reply = _outbound(
        settings=settings,
        number=issue.number,
        now=now,
        unique=unique,
        subject=reply_subject(issue.subject, issue.number, tokens=tokens),
        to=(recipient,),
        cc=(),
        in_reply_to=None,
        references=(),
        sender_name=None,
        body=body,
    )
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    return reply


def _content_type(value: str) -> tuple[str, str]:
    """Return ``value`` as (maintype, subtype) when it is a plain MIME type, else octet-stream."""
    match = _MIME_TYPE.fullmatch(value.strip().lower())
    if match is None or match.group(1) in ("multipart", "message"):
        return "application", "octet-stream"
    return match.group(1), match.group(2)
