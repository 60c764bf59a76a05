"""Reading inbound mail: raw RFC 5322 bytes in, an :class:`InboundMessage` out.

Parsing never raises. Whatever can be read is kept and the defects the
parser found are listed; a message that cannot be read at all becomes a
:class:`Quarantined` value carrying the reason.

Parsing uses :data:`email.policy.default`, read faster
(:mod:`issuecore.mail._headers`: the same header objects built more cheaply,
and each part's content type remembered) by the standard feed parser without
a pattern compiled for every MIME boundary (:mod:`issuecore.mail._feed`), and
the address, date, ID and transfer-encoding headers are decoded once from
their raw values, so each header is read once. What the standard parser
gives up on, which it notes as it parses, is repaired and the message parsed
again (a header line without a colon in the middle of the header block, a
space before a colon, junk before the first header). Text is decoded by
the character-set policy of :mod:`issuecore.mail._charsets`,
``format=flowed`` text joined into its paragraphs by
:mod:`issuecore.mail._flowed`, HTML reduced to text by
:mod:`issuecore.mail._html`, address headers read by
:mod:`issuecore.mail._mailboxes`. Every string returned is valid Unicode
without NUL characters.
"""

from __future__ import annotations

import binascii
import email.errors
import email.message
import email.policy
import functools
import hashlib
import html as html_escape
import mimetypes
import quopri
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import Policy
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Final

import attrs

from issuecore._model import Attachment
from issuecore.mail._addresses import address_key, normalize_address, safe_header_text
from issuecore.mail._charsets import (
    decode_body,
    decode_encoded_words,
    escape_identifier,
    undo_surrogates,
)
from issuecore.mail._feed import BytesFeedParser
from issuecore.mail._flowed import unflow
from issuecore.mail._headers import (
    MimeHeaderFactory,
    ReadingPolicy,
    plain_parameters,
    plain_transfer_encoding,
    plain_type_parameters,
)
from issuecore.mail._html import html_to_text
from issuecore.mail._mailboxes import read_mailboxes
from issuecore.mail._plain import read_one_part

__all__ = [
    "DEFAULT_MAX_BYTES",
    "InboundMessage",
    "Quarantined",
    "html_to_text",
    "parse_message",
    "safe_filename",
    "synthetic_message_id",
]

DEFAULT_MAX_BYTES: Final = 50 * 1024 * 1024
_MAX_DEPTH: Final = 100
_MAX_PARTS: Final = 2_000
_MAX_REFERENCES: Final = 200
_MAX_ADDRESS_HEADER: Final = 64 * 1024
_MAX_SUBJECT: Final = 10_000
_MAX_FILENAME: Final = 150
_MSG_ID: Final = re.compile(r"<[^<>\s]{1,990}>")
_FOLD: Final = re.compile(r"\r?\n|\r")
# "Thu, 26 Nov 2026 09:14:01 +0000", the form nearly every client writes; others go to email.utils
_COMMON_DATE: Final = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?"
    r"\s+([+-])(\d{2})(\d{2})(?:\s+\([^()]{0,40}\))?\s*"
)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# One mailbox without comments, quoted pairs or groups: ``a@b``, ``<a@b>``, ``Name <a@b>``,
# ``"Name" <a@b>``; anything else goes to the full reader.
_BARE_MAILBOX: Final = re.compile(r'\s*(?:<([^<>\s"(),;:\\]+)>|([^<>\s"(),;:\\]+))\s*')
_NAMED_MAILBOX: Final = re.compile(
    r'\s*(?:"([^"\\\r\n]{0,200})"|([^"<>(),;:@\\\r\n]{0,200}?))\s*<([^<>\s"(),;:\\]+)>\s*'
)
_CONTENT_TYPE: Final = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+")
# Lines of a header block the standard parser reads as header lines (its own test, plus CR/LF).
_GOOD_HEADER_BLOCK: Final = re.compile(
    rb"(?:From [^\r\n]*(?:\r\n|\r|\n))?(?:(?:[ \t]|[!-9;-~]*:)[^\r\n]*(?:\r\n|\r|\n))*"
)
_LINE_ENDING: Final = re.compile(rb"(\r\n|\r|\n)")
_SPACE_BEFORE_COLON: Final = re.compile(rb"([!-9;-~]+)[ \t]+:")
_LOOKS_LIKE_HEADER: Final = re.compile(rb"[!-9;-~]+[ \t]*:")
_DECLARED_CHARSET: Final = re.compile(
    rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:+-]{1,40})|=\?([A-Za-z0-9_.:+-]{1,40})(?:\*[^?]*)?\?[bBqQ]\?",
    re.IGNORECASE,
)
_META_CHARSET: Final = re.compile(
    rb"<meta\s[^<>]{0,1000}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:+-]{1,40})", re.IGNORECASE
)
_META_SCAN: Final = 16 * 1024  # mail clients write long heads; browsers look at the first 1 KiB
_PARAMETER: Final = re.compile(
    r';\s*([^\s=;*"]+)(?:\*(\d{1,3}))?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL
)
_BLANK_LINE: Final = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))")
_PERCENT_BYTE: Final = re.compile(rb"%([0-9A-Fa-f]{2})")
_FILE_NAME_CHARS: Final = re.compile(r"[\w.+-]{1,80}\.[A-Za-z][A-Za-z0-9]{0,7}")
# Printable ASCII without the characters safe_filename replaces: '"', "*", ":", "<", ">", "?", "|"
_PLAIN_FILENAME: Final = re.compile(r"[ !#-)+-9;=@-{}~]*")
_WINDOWS_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_EXTENSIONS: Final = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/octet-stream": ".bin",
}
# The standard library's own table only: the answer must not depend on the machine's mime.types.
_BUILT_IN_TYPES: Final = mimetypes.MimeTypes(filenames=())
_HEADER_FACTORY: Final = MimeHeaderFactory()
_POLICY: Final = ReadingPolicy(header_factory=_HEADER_FACTORY)  # policy.default, read faster
_PARSER: Final = BytesParser(policy=_POLICY)
# The standard feed parser, without a regular expression compiled for every boundary
_FEED_PARSER: Final = BytesFeedParser
_FEED: Final = 64 * 1024
# One text part under plain header lines, read as the feed parser reads it, without it
_ONE_PART: Final[Callable[[bytes, Policy], email.message.Message | None]] = read_one_part
# What the parser notes of a header block with a line that is no header line in it
_HEADER_BLOCK_DEFECTS: Final = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.MisplacedEnvelopeHeaderDefect,
)
_UUENCODED: Final = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def clear_header_cache() -> None:
    """Forget the MIME headers remembered across messages (for measurements)."""
    _HEADER_FACTORY.cache_clear()
    plain_parameters.cache_clear()


@attrs.frozen(kw_only=True)
class InboundMessage:
    """What intake keeps of one inbound email.

    Addresses are normalised (domain lower-cased); ``from_address`` is the
    one mailbox mail servers and DMARC see in ``From`` (``None`` when the
    message names no single sender; ``defects`` says why); ``subject`` is
    decoded and unfolded; ``text`` is the plain body (derived from the HTML
    where the plain alternative is missing or blank) with line-feed line ends;
    ``headers`` holds every header as ``(lower-case name, unfolded raw
    value)`` with raw 8-bit bytes decoded. Every string is valid Unicode
    without NUL. ``omissions`` says, one line each, what a limit (part
    count, nesting depth, References, Subject length) left out of the
    message as read; the raw bytes of such a message are kept.
    """

    message_id: str
    synthetic_message_id: bool = False
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    from_address: str | None = None
    from_name: str = ""
    reply_to: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    date: datetime | None = None
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    content_type: str = "text/plain"
    report_type: str | None = None
    returned_message_id: str | None = None
    defects: tuple[str, ...] = ()
    omissions: tuple[str, ...] = ()
    size: int = 0

    @functools.cached_property
    def first_headers(self) -> Mapping[str, str]:
        """Return the first raw value of each header, by lower-case name."""
        first: dict[str, str] = {}
        for key, value in self.headers:
            first.setdefault(key, value)
        return MappingProxyType(first)

    def header(self, name: str) -> str | None:
        """Return the first raw value of header ``name`` (any case), or ``None``."""
        return self.first_headers.get(name.lower())

    def has_header(self, name: str) -> bool:
        """Return whether header ``name`` is present at all."""
        return name.lower() in self.first_headers


@attrs.frozen(kw_only=True)
class Quarantined:
    """A message that could not be read at all, with the reason; never dropped silently."""

    reason: str
    message_id: str
    size: int = 0
    data: bytes = attrs.field(default=b"", repr=lambda data: f"<{len(data)} bytes>")


def synthetic_message_id(raw: bytes) -> str:
    """Return the stable Message-ID given to a message that has none: a hash of its bytes."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@synthetic.issuecore.invalid>"


def parse_message(
    raw: bytes | bytearray | memoryview | email.message.Message,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> InboundMessage | Quarantined:
    """Return the message read from ``raw``, or :class:`Quarantined` with the reason."""
    given: object = raw  # callers without type checking may pass anything
    repairs: list[str] = []
    if isinstance(given, email.message.Message):
        data = _message_bytes(given)
        message: email.message.Message | None = given
    elif isinstance(given, bytes | bytearray | memoryview):
        data = bytes(given)
        message = None
    else:
        return Quarantined(
            reason=f"cannot read a {type(given).__name__}; give bytes or an email.message.Message",
            message_id=synthetic_message_id(repr(given).encode("utf-8", "replace")),
        )
    size = len(data)
    if not data.strip():
        return Quarantined(
            reason="empty message", message_id=synthetic_message_id(data), size=size, data=data
        )
    if size > max_bytes:
        return Quarantined(
            reason=f"message of {size} bytes exceeds the limit of {max_bytes} bytes",
            message_id=synthetic_message_id(data),
            size=size,
            data=data,
        )
    try:
        readable = data
        if message is None:
            readable, message = _parse_readable(data, repairs)
        return _read(message, data, readable, repairs)
    except RecursionError:
        reason = "message nests too deeply to read"
    except Exception as error:  # never let one bad message stop intake
        reason = f"unreadable message: {type(error).__name__}: {error}"[:500]
    return Quarantined(reason=reason, message_id=synthetic_message_id(data), size=size, data=data)


def _parse_bytes(data: bytes) -> email.message.Message:
    message = _ONE_PART(data, _POLICY)
    if message is not None:
        return message
    # Fed in pieces: ``BytesParser.parsebytes`` holds the whole message as text, and
    # again as a buffer of four bytes a character, near eight times its size at peak.
    parser = _FEED_PARSER(policy=_POLICY)
    for start in range(0, len(data), _FEED):
        parser.feed(data[start : start + _FEED])
    return parser.close()


def _message_bytes(message: email.message.Message) -> bytes:
    try:
        return message.as_bytes(policy=_POLICY)
    except Exception:
        try:
            return str(message).encode("utf-8", "surrogateescape")
        except Exception:
            return repr(message).encode("utf-8", "replace")


def _parse_readable(data: bytes, repairs: list[str]) -> tuple[bytes, email.message.Message]:
    """Return ``data`` as :func:`_repaired` leaves it and the message parsed from that.

    Most messages need no repair, and the parser checks each line of the
    header block as :func:`_repaired` does: a message the parser read
    without finding a line there that is no header line, with no envelope
    ``From`` line after the first line and a line break at its end (its
    last header line has one), is returned as parsed, without going through
    the header block again. Any other message is repaired and then parsed,
    as every message was before.
    """
    if data[:1] not in (b"\r", b"\n") and data[-1:] in (b"\r", b"\n"):
        try:
            message: email.message.Message | None = _parse_bytes(data)
        except Exception:  # left to the repaired reading, which decides what it is
            message = None
        if (
            message is not None
            and not any(isinstance(defect, _HEADER_BLOCK_DEFECTS) for defect in message.defects)
            and not _has_envelope_line(data)
        ):
            return data, message
        message = None  # not kept while the repaired bytes are parsed
    readable = _repaired(data, repairs)
    return readable, _parse_bytes(readable)


def _has_envelope_line(data: bytes) -> bool:
    """Return whether a line after the first of the header block may begin with ``From ``."""
    # Each of these ends a line and holds an empty one; the first may come later than the
    # end of the header block (another blank line), which only looks through more lines.
    ends = (data.find(b"\n\n"), data.find(b"\n\r\n"), data.find(b"\r\r"))
    end = min((found for found in ends if found >= 0), default=len(data))
    return data.find(b"\nFrom ", 0, end) >= 0 or data.find(b"\rFrom ", 0, end) >= 0


def _repaired(data: bytes, repairs: list[str]) -> bytes:
    """Return ``data`` with a header block the standard parser can read; say what was changed.

    A line in the header block that is no header line is joined to the header
    before it (a header wrapped without indentation) or, before the first
    header, dropped; ``Name : value`` loses the space before the colon. A
    line followed by no header line starts the body, as the parser reads it.
    """
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")
        repairs.append("blank lines before the first header dropped")
    good = _GOOD_HEADER_BLOCK.match(data)
    end = good.end() if good else 0
    if data[end : end + 1] in (b"\r", b"\n", b""):
        return data  # the header block ends in a blank line (or the message ends): nothing to do
    blank = _BLANK_LINE.search(data)
    head_end = blank.start() if blank else len(data)
    pieces = _LINE_ENDING.split(data[:head_end])  # only the header block is split and rebuilt
    lines = [
        (pieces[index], pieces[index + 1] if index + 1 < len(pieces) else b"")
        for index in range(0, len(pieces), 2)
    ]
    block_end = len(lines)
    last_header = max(
        (index for index in range(block_end) if _LOOKS_LIKE_HEADER.match(lines[index][0])),
        default=-1,
    )
    out: list[bytes] = []
    seen_header = False
    joined = dropped = 0
    for index, (line, ending) in enumerate(lines):
        if index < block_end and index <= last_header:
            if _LOOKS_LIKE_HEADER.match(line):
                line = _SPACE_BEFORE_COLON.sub(rb"\1:", line, count=1)
                seen_header = True
            elif line[:1] in (b" ", b"\t") or (index == 0 and line.startswith(b"From ")):
                pass
            elif seen_header:
                line = b" " + line
                joined += 1
            else:
                dropped += 1
                continue
        out.append(line + ending)
    if joined:
        repairs.append(f"{joined} header line(s) without a colon read as continuation lines")
    if dropped:
        repairs.append(f"{dropped} line(s) before the first header dropped")
    return b"".join(out) + data[head_end:]


class _Charsets:
    """The character sets a message declares anywhere: the likely reading of its raw 8-bit bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @functools.cached_property
    def likely(self) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for declared, in_word in _DECLARED_CHARSET.findall(self._data):
            label = (declared or in_word).decode("ascii").lower()
            found.setdefault(label, None)
        return tuple(found)


class _LazyLikely(Sequence[str]):
    """The likely charsets, found only when a raw 8-bit byte needs them."""

    def __init__(self, charsets: _Charsets) -> None:
        self._charsets = charsets

    def __len__(self) -> int:
        return len(self._charsets.likely)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._charsets.likely[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._charsets.likely)


def _read(
    message: email.message.Message, data: bytes, readable: bytes, repairs: list[str]
) -> InboundMessage | Quarantined:
    """Return what intake keeps of ``message``, parsed from ``readable`` (``data`` repaired)."""
    likely = _LazyLikely(_Charsets(data))
    raw_first: dict[str, str] = {}
    first: dict[str, str] = {}
    cleaned: list[tuple[str, str]] = []
    addressed: dict[str, list[str]] = {"from": [], "sender": [], "to": [], "cc": []}
    for raw_name, raw_item in message.raw_items():
        name = raw_name.lower()
        raw_value = raw_item if isinstance(raw_item, str) else str(raw_item)
        value = raw_value
        if not (value.isascii() and value.isprintable()):  # else no line break, NUL or 8-bit
            if "\n" in raw_value or "\r" in raw_value:  # _unfold, written out: this runs per header
                value = raw_value = _FOLD.sub("", raw_value)
            if not value.isascii() or "\x00" in value:
                value = _clean_text(undo_surrogates(value, likely))
        if not (name.isascii() and name.isprintable()):
            name = escape_identifier(name)
        cleaned.append((name, value))
        if name in addressed:
            addressed[name].append(value)
        if name not in first:
            raw_first[name] = raw_value
            first[name] = value
    if not cleaned:
        return Quarantined(
            reason="no header fields: this is not an email message",
            message_id=synthetic_message_id(data),
            size=len(data),
            data=data,
        )
    defects = [*repairs, *(_describe_defect(defect) for defect in message.defects)]
    omissions: list[str] = []
    headers = tuple(cleaned)

    own_id = _first_message_id(raw_first.get("message-id", ""))
    synthetic = own_id is None
    if own_id is None:
        own_id = synthetic_message_id(data)
        defects.append("no usable Message-ID; a synthetic one was derived from the bytes")

    reader = _AddressReader(likely, defects, omissions)
    from_name, from_address = reader.sender(addressed["from"], addressed["sender"])

    references = _MSG_ID.findall(raw_first.get("references", ""))
    if len(references) > _MAX_REFERENCES:
        omissions.append(
            f"References named {len(references):,} message ids; the last {_MAX_REFERENCES:,}"
            " were kept"
        )
    subject = raw_first.get("subject", "")
    if not subject.isascii() or "=?" in subject:
        subject = decode_encoded_words(subject, likely)
    if len(subject) > _MAX_SUBJECT:
        omissions.append(f"the Subject of {len(subject):,} characters was cut to {_MAX_SUBJECT:,}")

    top = _PartHeaders(message, likely, raw_first)
    body = _Body(likely, message, readable)
    content = body.collect(message, path=(), headers=top)
    defects.extend(body.defects)
    omissions.extend(body.omissions())
    text, html = content.render()

    content_type = top.content_type
    report_type = None
    if content_type == "multipart/report":
        report_type = (top.param("content-type", "report-type") or "").lower() or None

    return InboundMessage(
        message_id=own_id,
        synthetic_message_id=synthetic,
        in_reply_to=_first_message_id(raw_first.get("in-reply-to", "")),
        references=tuple(map(escape_identifier, references[-_MAX_REFERENCES:])),
        from_address=from_address,
        from_name=from_name,
        reply_to=reader.addresses(first.get("reply-to", ""), "Reply-To"),
        to=reader.addresses_of(addressed["to"], "To"),
        cc=reader.addresses_of(addressed["cc"], "Cc"),
        date=_date(first.get("date"), defects),
        subject=safe_header_text(subject, limit=_MAX_SUBJECT),
        text=text,
        html=html,
        attachments=_unique_names(body.attachments),
        headers=headers,
        content_type=content_type,
        report_type=report_type,
        returned_message_id=body.returned_message_id,
        defects=tuple(map(_clean_text, defects)),
        omissions=tuple(omissions),
        size=len(data),
    )


def _describe_defect(defect: object) -> str:
    detail = str(defect)
    name = type(defect).__name__
    return f"{name}: {detail}" if detail and detail != name else name


def _unfold(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return _FOLD.sub("", text) if "\n" in text or "\r" in text else text


def _clean_text(text: str) -> str:
    """Return ``text`` without NUL characters or lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _first_message_id(value: str) -> str | None:
    match = _MSG_ID.search(value)
    if match:
        return escape_identifier(match.group(0))
    bare = value.strip()
    if bare and len(bare) <= 990 and not any(char.isspace() or char in "<>" for char in bare):
        return escape_identifier(f"<{bare}>")
    return None


class _AddressReader:
    """Reads the address headers of one message, noting defects and cut values."""

    def __init__(self, likely: Sequence[str], defects: list[str], omissions: list[str]) -> None:
        self._likely = likely
        self._defects = defects
        self._omissions = omissions

    def _name(self, name: str) -> str:
        if not name.isascii() or "=?" in name:
            name = decode_encoded_words(name, self._likely)
        return safe_header_text(name, limit=200)

    def mailboxes(self, value: str, header: str) -> list[tuple[str, str]]:
        """Return the readable mailboxes of one header value, noting unreadable pieces."""
        return self.pieces(value, header)[0]

    def pieces(self, value: str, header: str) -> tuple[list[tuple[str, str]], int]:
        """Return the readable mailboxes of a header value and how many pieces it has."""
        if not value.strip():
            return [], 0
        if value.isascii():
            if bare := _BARE_MAILBOX.fullmatch(value):
                address = normalize_address(bare.group(1) or bare.group(2))
                if address is not None:
                    return [("", address)], 1
            elif named := _NAMED_MAILBOX.fullmatch(value):
                address = normalize_address(named.group(3))
                if address is not None:
                    name = (named.group(1) or named.group(2) or "").strip()
                    return [(self._name(name) if name else "", address)], 1
        if len(value) > _MAX_ADDRESS_HEADER:
            self._omissions.append(
                f"{header} of {len(value):,} characters was read only to {_MAX_ADDRESS_HEADER:,}"
            )
            value = value[:_MAX_ADDRESS_HEADER]
        found, unreadable = read_mailboxes(value, self._name)
        if unreadable:
            self._defects.append(f"{unreadable} unreadable mailbox(es) in {header}: {value[:80]!r}")
        return found, len(found) + unreadable

    def sender(self, froms: list[str], senders: list[str]) -> tuple[str, str | None]:
        """Return the one mailbox that wrote the message, by the From rule, or no address.

        Several From headers count when they all name one mailbox (headers
        naming none are passed over); a From with several mailboxes counts
        through a Sender among them; no readable From falls back to Sender.
        """
        if len(froms) == 1:  # the common case, decided without collecting
            mailboxes, pieces = self.pieces(froms[0], "From")
            if pieces == 1 and len(mailboxes) == 1:
                return mailboxes[0]
        named = [value for value in froms if value.strip()]
        readable: list[tuple[str, str]] = []
        several = False
        for value in named:
            mailboxes, pieces = self.pieces(value, "From")
            readable.extend(mailboxes)
            several = several or (bool(mailboxes) and pieces > 1)
        distinct = {address_key(address): (name, address) for name, address in readable}
        if len(named) > 1:
            self._defects.append(f"{len(named)} From headers")
        if len(distinct) == 1 and not several:
            return next(iter(distinct.values()))
        sender = self._one_sender(senders)
        if not distinct:
            if sender is not None:
                self._defects.append("no readable From address; the Sender is the sender")
                return sender
            self._defects.append("no readable From address")
            return "", None
        if sender is not None and address_key(sender[1]) in distinct:
            self._defects.append(
                "From names several mailboxes; the Sender among them is the sender"
            )
            return sender
        self._defects.append(
            "From names several mailboxes and no Sender among them: the message has no sender"
        )
        return "", None

    def _one_sender(self, senders: list[str]) -> tuple[str, str] | None:
        named = [value for value in senders if value.strip()]
        if len(named) != 1:
            return None
        mailboxes, pieces = self.pieces(named[0], "Sender")
        return mailboxes[0] if len(mailboxes) == 1 and pieces == 1 else None

    def addresses(self, value: str, header: str) -> tuple[str, ...]:
        """Return the addresses of one header value, in order, without repeats."""
        return tuple(dict.fromkeys(address for _, address in self.mailboxes(value, header)))

    def addresses_of(self, values: list[str], header: str) -> tuple[str, ...]:
        """Return the addresses of every value of one header, in order, without repeats."""
        if len(values) == 1:
            return self.addresses(values[0], header)
        found: dict[str, None] = {}
        for value in values:
            found.update(dict.fromkeys(self.addresses(value, header)))
        return tuple(found)


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    if common := _COMMON_DATE.fullmatch(value):
        day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = common.groups()
        month_number = _MONTHS.get(month.lower())
        if month_number is not None:
            try:
                return datetime(
                    int(year),
                    month_number,
                    int(day),
                    int(hour),
                    int(minute),
                    int(second or 0),
                    tzinfo=_zone(sign, zone_hours, zone_minutes),
                )
            except ValueError:
                pass  # the full parser below decides what to make of it
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unreadable Date: {value[:80]!r}")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=256)
def _zone(sign: str, hours: str, minutes: str) -> timezone:
    """Return the fixed zone of a numeric offset such as ``+0100`` (there are few in use)."""
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


@attrs.define
class _Content:
    """The body of a part: pieces ``(is_html, text)`` for the text view and for the HTML view."""

    text: list[tuple[bool, str]] = attrs.Factory(list)
    html: list[tuple[bool, str]] = attrs.Factory(list)

    def extend(self, other: _Content) -> None:
        self.text.extend(other.text)
        self.html.extend(other.html)

    def has_text(self) -> bool:
        """Return whether the text view shows anything but white space."""
        return any(
            (html_to_text(piece) if is_html else piece).strip() for is_html, piece in self.text
        )

    def render(self) -> tuple[str, str | None]:
        """Return the text and, when any part is HTML, the HTML of the body."""
        if len(self.text) == 1 and not self.text[0][0] and self.html == self.text:
            return _normalise_text(self.text[0][1]), None  # one plain part: the common case
        text = "\n".join(html_to_text(piece) if is_html else piece for is_html, piece in self.text)
        html = None
        if any(is_html for is_html, _ in self.html):
            html = "".join(
                piece if is_html else _plain_to_html(piece) for is_html, piece in self.html
            )
        return _normalise_text(text), (_normalise_text(html) if html is not None else None)


def _plain_to_html(text: str) -> str:
    escaped = html_escape.escape(text.strip("\r\n"), quote=False)
    return f'<div style="white-space: pre-wrap">{escaped}</div>'


def _normalise_text(text: str) -> str:
    """Return ``text`` with ``\\n`` line endings, no NUL and no lone surrogate."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _clean_text(text)


class _Body:
    """Collects the text, HTML and attachments of a message without entering attached mail."""

    def __init__(self, likely: Sequence[str], root: email.message.Message, data: bytes) -> None:
        self.likely = likely
        self._root = root
        self._data = data
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.returned_message_id: str | None = None
        self._parts = 0
        self._left_out = 0
        self._too_deep = 0

    def omissions(self) -> list[str]:
        """Return one line for each kind of content a limit left out."""
        lines = []
        if self._left_out:
            total = _MAX_PARTS + self._left_out
            lines.append(
                f"{total:,} MIME parts; the first {_MAX_PARTS:,} were read, {self._left_out:,}"
                f" left out by the part limit of {_MAX_PARTS:,}"
            )
        if self._too_deep:
            lines.append(
                f"{self._too_deep:,} MIME part(s) nested deeper than {_MAX_DEPTH} levels left out"
            )
        return lines

    def collect(
        self,
        part: email.message.Message,
        *,
        path: tuple[int, ...],
        headers: _PartHeaders | None = None,
        attached: bool = False,
    ) -> _Content:
        """Return the body of ``part``, adding its attachments; limits are counted, not raised.

        ``path`` is the position of the part in the tree; ``attached`` says the
        part is a resource of a ``multipart/related`` body, kept as an attachment.
        """
        depth = len(path)
        if self._parts >= _MAX_PARTS:
            self._left_out += _count_parts(part)
            return _Content()
        if depth > _MAX_DEPTH:
            self._too_deep += _count_parts(part)
            return _Content()
        self._parts += 1
        if depth and part.defects:
            self.defects.extend(_describe_defect(defect) for defect in part.defects)
        headers = headers or _PartHeaders(part, self.likely)
        content_type = headers.content_type
        if part.is_multipart() and content_type.startswith("multipart/"):
            related = content_type == "multipart/related"
            children = [
                self.collect(
                    child, path=(*path, index), attached=attached or (related and index > 0)
                )
                for index, child in enumerate(_children(part))
            ]
            if content_type == "multipart/alternative":
                return _alternative(children)
            content = _Content()
            for child in children:
                content.extend(child)
            return content
        filename = headers.filename
        is_text = content_type in ("text/plain", "text/html")
        if is_text and headers.disposition != "attachment" and filename is None and not attached:
            payload = _payload_bytes(part, self.defects, headers.transfer_encoding)
            charset = headers.charset
            if charset is None and content_type == "text/html":
                charset = _meta_charset(payload)
            text = decode_body(payload, charset)
            if content_type == "text/plain" and headers.flowed:
                text = unflow(text, delete_space=headers.delete_space)
            piece = (content_type == "text/html", text)
            return _Content(text=[piece], html=[piece])
        if content_type in ("message/rfc822", "message/global", "text/rfc822-headers"):
            self._note_returned_id(part)
        content_id = headers.raw.get("content-id")
        data = None
        if content_type.startswith("message/") or part.is_multipart():
            data = _raw_body(self._root, self._data, path)
        if data is None:
            data = _payload_bytes(part, self.defects, headers.transfer_encoding)
        self.attachments.append(
            Attachment(
                filename=safe_filename(
                    filename or _unnamed(part, content_type, content_id, self.likely),
                    content_type=content_type,
                ),
                content_type=content_type,
                data=data,
                content_id=_first_message_id(content_id) if content_id else None,
            )
        )
        return _Content()

    def _note_returned_id(self, part: email.message.Message) -> None:
        if self.returned_message_id is not None:
            return
        inner = _attached_message(part)
        if inner is not None:
            self.returned_message_id = _first_message_id(_raw_header(inner, "message-id"))


def _alternative(children: list[_Content]) -> _Content:
    """Return the alternative shown: plain text if it says anything, else the richest that does."""
    readable = [child for child in children if child.text]
    plain = [child for child in readable if all(not is_html for is_html, _ in child.text)]
    chosen = next((child for child in plain if child.has_text()), None)
    if chosen is None:
        chosen = next((child for child in reversed(readable) if child.has_text()), None)
    if chosen is None:
        chosen = readable[0] if readable else _Content()
    with_html = next(
        (child for child in reversed(readable) if any(is_html for is_html, _ in child.html)),
        chosen,
    )
    return _Content(text=list(chosen.text), html=list(with_html.html))


def _meta_charset(html: bytes) -> str | None:
    """Return the charset an HTML body declares in a ``<meta>`` tag near its start, if any."""
    found = _META_CHARSET.search(html, 0, _META_SCAN)
    return found.group(1).decode("ascii") if found else None


def _count_parts(part: email.message.Message) -> int:
    count = 0
    stack = [part]
    while stack:
        current = stack.pop()
        count += 1
        if current.is_multipart():
            stack.extend(_children(current))
    return count


def _children(part: email.message.Message) -> Iterator[email.message.Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        for child in payload:
            if isinstance(child, email.message.Message):
                yield child


def _attached_message(part: email.message.Message) -> email.message.Message | None:
    try:
        if part.is_multipart():
            inner = part.get_payload(0)
            return inner if isinstance(inner, email.message.Message) else None
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            return _PARSER.parsebytes(payload, headersonly=True)
    except Exception:
        return None
    return None


def _raw_header(part: email.message.Message, name: str) -> str:
    """Return the first raw, unfolded value of header ``name`` (raw 8-bit bytes still escaped)."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return _unfold(value)
    return ""


def _unnamed(
    part: email.message.Message, content_type: str, content_id: str | None, likely: Sequence[str]
) -> str:
    """Return a name for a part that has none, from what the part says about itself.

    An attached message is named by its subject, any part by its
    Content-Description, an inline part by a Content-ID that is a file name
    (``<image001.png@01D2...>``); otherwise by its type: ``image.png``,
    ``attachment.pdf``, ``delivery-status.txt``.
    """
    extension = _extension(content_type)
    if content_type in ("message/rfc822", "message/global"):
        inner = _attached_message(part)
        subject = _raw_header(inner, "subject") if inner is not None else ""
        subject = safe_header_text(decode_encoded_words(subject, likely), limit=100)
        if subject:
            return subject + extension
    description = _raw_header(part, "content-description")
    if description:
        description = decode_encoded_words(description, likely).replace("/", "-")
        description = safe_header_text(description.replace("\\", "-"), limit=200)
    if description and len(description) <= 80:
        return description if description.lower().endswith(extension) else description + extension
    if content_id:
        local = content_id.strip().strip("<>").split("@", 1)[0]
        if _FILE_NAME_CHARS.fullmatch(local):
            return local
    kind, _, subtype = content_type.partition("/")
    if kind == "message":
        return subtype + extension
    return (kind if kind in ("image", "audio", "video") else "attachment") + extension


def _extension(content_type: str) -> str:
    known = _EXTENSIONS.get(content_type)
    if known is not None:
        return known
    guessed = _BUILT_IN_TYPES.guess_extension(content_type, strict=False)
    return guessed or ".bin"


def _unique_names(attachments: list[Attachment]) -> tuple[Attachment, ...]:
    """Return the attachments with equal names (any case) told apart: ``a.pdf``, ``a-2.pdf``."""
    taken: set[str] = set()
    unique: list[Attachment] = []
    for attachment in attachments:
        name = attachment.filename
        if name.casefold() in taken:
            stem, dot, extension = name.rpartition(".")
            if not dot or not stem:
                stem, extension = name, ""
            suffix = f".{extension}" if extension else ""
            number = 2
            while f"{stem}-{number}{suffix}".casefold() in taken:
                number += 1
            name = f"{stem}-{number}{suffix}"
            attachment = attrs.evolve(attachment, filename=name)
        taken.add(name.casefold())
        unique.append(attachment)
    return tuple(unique)


class _PartHeaders:
    """The MIME headers of one part, read in one pass over its raw headers."""

    __slots__ = ("_default_type", "_likely", "_plain", "raw")

    def __init__(
        self,
        part: email.message.Message,
        likely: Sequence[str],
        raw: dict[str, str] | None = None,
    ) -> None:
        if raw is None:
            raw = {}
            for name, value in part.raw_items():
                key = name.lower()
                if key not in raw:  # _unfold, written out: this runs per header of every part
                    text = value if isinstance(value, str) else str(value)
                    raw[key] = _FOLD.sub("", text) if "\n" in text or "\r" in text else text
        self.raw = raw
        self._likely = likely
        self._default_type = part.get_default_type()
        self._plain: dict[str, Mapping[str, str] | None] = {}  # plain parameters by header

    @property
    def content_type(self) -> str:
        value = self.raw.get("content-type")
        if value is None:
            return self._default_type
        kind = value.split(";", 1)[0].strip().lower()
        return kind if _CONTENT_TYPE.fullmatch(kind) else "text/plain"

    @property
    def disposition(self) -> str:
        return self.raw.get("content-disposition", "").split(";", 1)[0].strip().lower()

    @property
    def transfer_encoding(self) -> str | None:
        """Return the first raw Content-Transfer-Encoding, or ``None`` without one."""
        return self.raw.get("content-transfer-encoding")

    @property
    def charset(self) -> str | None:
        return self.param("content-type", "charset")

    @property
    def flowed(self) -> bool:
        return (self.param("content-type", "format") or "").strip().lower() == "flowed"

    @property
    def delete_space(self) -> bool:
        return (self.param("content-type", "delsp") or "").strip().lower() == "yes"

    @property
    def filename(self) -> str | None:
        name = self.param("content-disposition", "filename") or self.param("content-type", "name")
        return name or None

    def param(self, header: str, name: str) -> str | None:
        """Return parameter ``name`` of ``header``, decoded by the charset policy."""
        value = self.raw.get(header)
        if not value or name not in value.lower():
            return None
        if header in self._plain:
            params = self._plain[header]
        else:
            params = self._plain[header] = _plain_parameters(header, value)
        if params is not None:
            return params.get(name)
        return _parameter(value, name, self._likely)


def _plain_parameters(header: str, value: str) -> Mapping[str, str] | None:
    """Return the parameters of a plain MIME header value, else ``None``."""
    if header == "content-type" and (typed := plain_type_parameters(value)) is not None:
        return typed  # what building the part's header object found
    plain = plain_parameters(value)
    return plain[1] if plain else None


def _parameter(value: str, name: str, likely: Sequence[str]) -> str | None:
    """Return parameter ``name`` of a MIME header: RFC 2231 pieces joined, encoded words decoded."""
    simple: str | None = None
    pieces: dict[int, tuple[bool, str]] = {}
    for found in _PARAMETER.finditer(value):
        key, number, extended, raw = found.groups()
        if key.lower() != name:
            continue
        raw = raw.strip()
        if raw.startswith('"'):
            raw = re.sub(
                r"\\(.)", r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
            )
        if number is None and not extended:
            if simple is None:
                simple = raw
        else:
            pieces.setdefault(int(number or 0), (bool(extended), raw))
    if pieces:
        return _rfc2231(pieces, likely)
    if simple is None:
        return None
    return safe_header_text(decode_encoded_words(simple, likely), limit=1000) or None


def _rfc2231(pieces: dict[int, tuple[bool, str]], likely: Sequence[str]) -> str | None:
    charset: str | None = None
    data = bytearray()
    for index, (number, (extended, raw)) in enumerate(sorted(pieces.items())):
        if index != number:
            break  # a gap in the numbering: what follows it cannot be placed
        encoded = raw.encode("utf-8", "surrogateescape")
        if extended and index == 0:
            label, quote, rest = encoded.partition(b"'")
            if quote:
                charset = label.decode("ascii", "replace")
                encoded = rest.partition(b"'")[2]
        data += (
            _PERCENT_BYTE.sub(lambda hexa: bytes([int(hexa.group(1), 16)]), encoded)
            if (extended)
            else encoded
        )
    if charset is None:
        text = undo_surrogates(bytes(data).decode("utf-8", "surrogateescape"), likely)
    else:
        text = decode_body(bytes(data), charset)
    return safe_header_text(text, limit=1000) or None


def _payload_bytes(part: email.message.Message, defects: list[str], encoding: str | None) -> bytes:
    """Return the decoded body of ``part``, whose raw Content-Transfer-Encoding is ``encoding``."""
    try:
        if part.is_multipart():
            return b"".join(_message_bytes(inner) for inner in _children(part))
        if (decoded := _direct_payload(part, encoding)) is not None:
            return decoded
        payload = part.get_payload(decode=True)
    except Exception as error:
        defects.append(f"unreadable part payload: {type(error).__name__}")
        return b""
    return payload if isinstance(payload, bytes) else b""


def _direct_payload(part: email.message.Message, encoding: str | None) -> bytes | None:
    """Return ``part.get_payload(decode=True)`` read straight from the part's text, else ``None``.

    ``get_payload`` fetches the Content-Transfer-Encoding header object (built
    afresh when it is not remembered) and encodes the whole text once to look
    for the raw 8-bit bytes the parser escaped; and for base64 it copies the
    text to bytes, splits it into lines and joins them before decoding:
    several times the part's size. ``encoding`` is the first raw value of the
    header (``None`` without one): a plain token is what the standard library
    reads too, anything else is read from the part as the library reads it.
    Text that is not what the parser makes of bytes (characters beyond the
    escaped bytes), a uuencoded body and base64 the fast path cannot read
    (bad padding, stray bytes) take the standard path.
    """
    payload = getattr(part, "_payload", None)
    if type(payload) is not str:
        return None
    if encoding is None:
        cte = ""
    elif (plain := plain_transfer_encoding(encoding)) is not None:
        cte = plain
    else:
        cte = str(part.get("content-transfer-encoding", "")).lower()
    if cte == "base64":
        if not payload.isascii():
            return None
        try:
            return binascii.a2b_base64(payload)
        except (binascii.Error, ValueError):
            return None
    if cte in _UUENCODED:
        return None
    try:
        # what the standard library makes of text with escaped bytes, and of ASCII text
        data = payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return None
    return quopri.decodestring(data) if cte == "quoted-printable" else data


def _raw_body(root: email.message.Message, data: bytes, path: tuple[int, ...]) -> bytes | None:
    """Return the body of the part at ``path`` exactly as it is in ``data``, or ``None``.

    Attached messages and reports are kept byte for byte. The raw text is cut
    along the boundaries the parsed tree names; where the two disagree (a
    broken message), the caller falls back to the parsed payload.
    """
    body = _split_head(data)
    part = root
    for index in path:
        boundary = _PartHeaders(part, ()).param("content-type", "boundary")
        if not boundary or body is None:
            return None
        segments = _segments(body, boundary)
        children = list(_children(part))
        if len(segments) != len(children):
            return None
        part = children[index]
        body = _split_head(segments[index])
    return body


def _split_head(raw: bytes) -> bytes | None:
    if raw[:1] in (b"\r", b"\n"):
        return raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    blank = _BLANK_LINE.search(raw)
    return raw[blank.end() :] if blank else None


def _segments(body: bytes, boundary: str) -> list[bytes]:
    """Return the raw parts between the delimiter lines of ``boundary``, as the parser cuts them."""
    marker = b"--" + boundary.encode("utf-8", "surrogateescape")
    segments: list[bytes] = []
    start: int | None = None
    position = 0
    while (found := body.find(marker, position)) >= 0:
        position = found + 1
        if found and body[found - 1] not in (0x0A, 0x0D):
            continue  # a delimiter begins a line
        after = found + len(marker)
        closing = body.startswith(b"--", after)
        line_end = _line_end(body, after + 2 if closing else after)
        if body[after + 2 if closing else after : line_end].strip(b" \t"):
            continue  # only white space may follow it on its line
        begin = found - 2 if body[found - 2 : found] == b"\r\n" else max(found - 1, 0)
        if start is not None:
            segments.append(body[start:begin])
        if closing:
            return segments
        start = line_end + (2 if body.startswith(b"\r\n", line_end) else 1)
        position = start
    if start is not None:
        segments.append(body[start:])
    return segments


def _line_end(data: bytes, start: int) -> int:
    ends = [index for index in (data.find(b"\n", start), data.find(b"\r", start)) if index >= 0]
    return min(ends) if ends else len(data)


def safe_filename(name: str, *, content_type: str = "application/octet-stream") -> str:
    """Return a file name without path parts or control characters, at most 150 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not _PLAIN_FILENAME.fullmatch(base):  # a plain name would come out unchanged
        base = _without_unsafe_characters(base)
    base = " ".join(base.split()).strip(" .")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    if stem.lower() in _WINDOWS_RESERVED:
        base = f"_{base}"
    if not base:
        base = "attachment" + _EXTENSIONS.get(content_type, ".bin")
    if len(base) > _MAX_FILENAME:
        keep = f".{extension}" if dot and 0 < len(extension) <= 16 else ""
        base = base[: _MAX_FILENAME - len(keep)].rstrip(" .") + keep
    return base


def _without_unsafe_characters(name: str) -> str:
    """Return ``name`` without control and format characters, ``<>:"|?*`` replaced by ``_``."""
    return "".join(
        "_" if char in '<>:"|?*' else char
        for char in name
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    )
