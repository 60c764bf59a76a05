"""Reading inbound mail: raw RFC 5322 bytes in, an :class:`InboundMessage` out.

Parsing never raises. Whatever can be read is kept and the defects the
parser found are listed; a message that cannot be read at all becomes a
:class:`Quarantined` value carrying the reason.

Parsing uses :data:`email.policy.default` with a faster header factory
(:mod:`issuecore.mail._headers`: same header objects, built more cheaply),
and the address, date and ID headers are decoded once from their raw
values, so each message is parsed once and each header read once.
"""

from __future__ import annotations

import binascii
import email.message
import email.policy
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header
from email.parser import BytesFeedParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Final

import attrs

from issuecore.mail._headers import MimeHeaderFactory, plain_parameters
from issuecore.mail.addresses import normalize_address, safe_header_text
from issuecore.model import Attachment

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
_MAX_DEPTH: Final = 40
_MAX_PARTS: Final = 2_000
_MAX_REFERENCES: Final = 200
_MAX_ADDRESS_HEADER: Final = 64 * 1024
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
_ESCAPED_BYTES: Final = re.compile("[\udc80-\udcff]")
# One mailbox without comments, quoted pairs or groups: ``a@b``, ``Name <a@b>``, ``"Name" <a@b>``;
# anything else goes to the full parser.
_BARE_MAILBOX: Final = re.compile(r'\s*<?([^<>\s"(),;:\\]+)>?\s*')
_NAMED_MAILBOX: Final = re.compile(
    r'\s*(?:"([^"\\\r\n]{0,200})"|([^"<>(),;:@\\\r\n]{0,200}?))\s*<([^<>\s"(),;:\\]+)>\s*'
)
_WINDOWS_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_EXTENSIONS: Final = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
}


_HEADER_FACTORY: Final = MimeHeaderFactory()
_POLICY: Final = email.policy.default.clone(header_factory=_HEADER_FACTORY)
_FEED: Final = 64 * 1024


def clear_header_cache() -> None:
    """Forget the MIME headers remembered across messages (for measurements)."""
    _HEADER_FACTORY.cache_clear()


@attrs.frozen(kw_only=True)
class InboundMessage:
    """What intake keeps of one inbound email.

    Addresses are normalised (domain lower-cased); ``subject`` is decoded and
    unfolded; ``text`` is the plain body (derived from the HTML when there is
    no plain part); ``headers`` holds every header as ``(lower-case name,
    unfolded raw value)``. ``omissions`` says, one line each, what a limit
    (size, depth, part count) left out of the message as read; the raw bytes
    of such a message are kept.
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
        if message is None:
            message = _parse_bytes(data)
        return _read(message, data)
    except RecursionError:
        reason = "message nests too deeply to read"
    except Exception as error:  # never let one bad message stop intake
        reason = f"unreadable message: {type(error).__name__}: {error}"[:500]
    return Quarantined(reason=reason, message_id=synthetic_message_id(data), size=size, data=data)


def _parse_bytes(data: bytes) -> email.message.Message:
    # Fed in pieces: ``BytesParser.parsebytes`` holds the whole message as text, and
    # again as a buffer of four bytes a character, near eight times its size at peak.
    parser = BytesFeedParser(policy=_POLICY)
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


def _read(message: email.message.Message, data: bytes) -> InboundMessage | Quarantined:
    headers = tuple((name.lower(), _unfold(value)) for name, value in message.raw_items())
    if not headers:
        return Quarantined(
            reason="no header fields: this is not an email message",
            message_id=synthetic_message_id(data),
            size=len(data),
            data=data,
        )
    defects = [_describe_defect(defect) for defect in message.defects]
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name, value)

    own_id = _first_message_id(first.get("message-id", ""))
    synthetic = own_id is None
    if own_id is None:
        own_id = synthetic_message_id(data)
        defects.append("no usable Message-ID; a synthetic one was derived from the bytes")

    from_name, from_address = _first_mailbox(first.get("from", ""))
    if from_address is None:
        sender_name, from_address = _first_mailbox(first.get("sender", ""))
        from_name = from_name or sender_name
    if from_address is None:
        defects.append("no readable From address")

    top = _PartHeaders(message, first)
    body = _Body()
    body.collect(message, depth=0, headers=top)
    defects.extend(body.defects)
    plain = "\n".join(body.plain)
    html = "\n".join(body.html) if body.html else None
    text = plain if body.plain else html_to_text(html or "")

    content_type = top.content_type
    report_type = None
    if content_type == "multipart/report":
        report_type = (top.param("content-type", "report-type") or "").lower() or None

    return InboundMessage(
        message_id=own_id,
        synthetic_message_id=synthetic,
        in_reply_to=_first_message_id(first.get("in-reply-to", "")),
        references=tuple(_MSG_ID.findall(first.get("references", "")))[-_MAX_REFERENCES:],
        from_address=from_address,
        from_name=from_name,
        reply_to=_addresses(first.get("reply-to", "")),
        to=_addresses_of(headers, "to"),
        cc=_addresses_of(headers, "cc"),
        date=_date(first.get("date"), defects),
        subject=safe_header_text(_decode(first.get("subject", "")), limit=10_000),
        text=text,
        html=html,
        attachments=tuple(body.attachments),
        headers=headers,
        content_type=content_type,
        report_type=report_type,
        returned_message_id=body.returned_message_id,
        defects=tuple(defects),
        size=len(data),
    )


def _describe_defect(defect: object) -> str:
    detail = str(defect)
    name = type(defect).__name__
    return f"{name}: {detail}" if detail and detail != name else name


def _unfold(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return _FOLD.sub("", text) if "\n" in text or "\r" in text else text


def _undo_surrogates(text: str) -> str:
    """Return ``text`` with bytes the parser could not decode read as UTF-8."""
    if text.isascii() or _ESCAPED_BYTES.search(text) is None:
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _decode(value: str) -> str:
    """Return a header value with RFC 2047 encoded words decoded."""
    if value.isascii() and "=?" not in value:
        return value
    value = _undo_surrogates(value)
    if "=?" not in value:
        return value
    try:
        parts = decode_header(value)
    except Exception:
        return value
    decoded: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            decoded.append(chunk)
            continue
        try:
            decoded.append(chunk.decode(charset or "ascii", "replace"))
        except LookupError:
            decoded.append(chunk.decode("utf-8", "replace"))
    return "".join(decoded)


def _first_message_id(value: str) -> str | None:
    match = _MSG_ID.search(value)
    if match:
        return match.group(0)
    bare = value.strip()
    if bare and len(bare) <= 990 and not any(char.isspace() or char in "<>" for char in bare):
        return f"<{bare}>"
    return None


def _mailboxes(value: str) -> list[tuple[str, str]]:
    if not value.strip():
        return []
    if value.isascii():
        if bare := _BARE_MAILBOX.fullmatch(value):
            address = normalize_address(bare.group(1))
            if address is not None:
                return [("", address)]
        elif named := _NAMED_MAILBOX.fullmatch(value):
            address = normalize_address(named.group(3))
            if address is not None:
                name = (named.group(1) or named.group(2) or "").strip()
                return [(safe_header_text(_decode(name), limit=200) if name else "", address)]
    try:
        pairs = getaddresses([_undo_surrogates(value[:_MAX_ADDRESS_HEADER])])
    except Exception:
        return []
    found: list[tuple[str, str]] = []
    for name, address in pairs:
        normalised = normalize_address(address)
        if normalised is not None:
            found.append((safe_header_text(_decode(name), limit=200), normalised))
    return found


def _first_mailbox(value: str) -> tuple[str, str | None]:
    mailboxes = _mailboxes(value)
    return mailboxes[0] if mailboxes else ("", None)


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(address for _, address in _mailboxes(value)))


def _addresses_of(headers: tuple[tuple[str, str], ...], name: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for key, value in headers:
        if key == name:
            found.update(dict.fromkeys(_addresses(value)))
    return tuple(found)


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    if common := _COMMON_DATE.fullmatch(value):
        day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = common.groups()
        month_number = _MONTHS.get(month.lower())
        if month_number is not None:
            offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
            try:
                return datetime(
                    int(year),
                    month_number,
                    int(day),
                    int(hour),
                    int(minute),
                    int(second or 0),
                    tzinfo=timezone(-offset if sign == "-" else offset),
                )
            except ValueError:
                pass  # the full parser below decides what to make of it
    try:
        parsed = parsedate_to_datetime(_undo_surrogates(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unreadable Date: {value[:80]!r}")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Body:
    """Collects the text, HTML and attachments of a message without entering attached mail."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.returned_message_id: str | None = None
        self._parts = 0

    def collect(
        self, part: email.message.Message, *, depth: int, headers: _PartHeaders | None = None
    ) -> None:
        self._parts += 1
        if self._parts > _MAX_PARTS:
            if self._parts == _MAX_PARTS + 1:
                self.defects.append(f"more than {_MAX_PARTS} parts; the rest were not read")
            return
        if depth > _MAX_DEPTH:
            self.defects.append(f"parts nested deeper than {_MAX_DEPTH} were not read")
            return
        if depth:
            self.defects.extend(_describe_defect(defect) for defect in part.defects)
        headers = headers or _PartHeaders(part)
        content_type = headers.content_type
        if part.is_multipart() and content_type.startswith("multipart/"):
            for child in _children(part):
                self.collect(child, depth=depth + 1)
            return
        filename = headers.filename
        is_text = content_type in ("text/plain", "text/html")
        if is_text and headers.disposition != "attachment" and filename is None:
            text = _text_of(part, headers.charset, self.defects)
            (self.plain if content_type == "text/plain" else self.html).append(text)
            return
        if content_type in ("message/rfc822", "text/rfc822-headers"):
            self._note_returned_id(part, headers.charset)
        content_id = headers.raw.get("content-id")
        self.attachments.append(
            Attachment(
                filename=safe_filename(filename or "", content_type=content_type),
                content_type=content_type,
                data=_payload_bytes(part, self.defects),
                content_id=_first_message_id(content_id) if content_id else None,
            )
        )

    def _note_returned_id(self, part: email.message.Message, charset: str | None) -> None:
        if self.returned_message_id is not None:
            return
        try:
            if part.is_multipart():
                inner = part.get_payload(0)
                value = (
                    inner.get("message-id", "") if isinstance(inner, email.message.Message) else ""
                )
            else:
                text = _text_of(part, charset, self.defects)
                value = HeaderParser().parsestr(text, headersonly=True).get("message-id", "")
        except Exception:
            return
        self.returned_message_id = _first_message_id(_unfold(value))


def _children(part: email.message.Message) -> Iterator[email.message.Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        for child in payload:
            if isinstance(child, email.message.Message):
                yield child


class _PartHeaders:
    """The MIME headers of one part, read in one pass over its raw headers."""

    __slots__ = ("_default_type", "raw")

    def __init__(self, part: email.message.Message, raw: dict[str, str] | None = None) -> None:
        if raw is None:
            raw = {}
            for name, value in part.raw_items():
                raw.setdefault(name.lower(), _unfold(value))
        self.raw = raw
        self._default_type = part.get_default_type()

    @property
    def content_type(self) -> str:
        value = self.raw.get("content-type")
        if value is None:
            return self._default_type
        kind = value.split(";", 1)[0].strip().lower()
        return kind if kind.count("/") == 1 else "text/plain"

    @property
    def disposition(self) -> str:
        return self.raw.get("content-disposition", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        return self.param("content-type", "charset")

    @property
    def filename(self) -> str | None:
        name = self.param("content-disposition", "filename") or self.param("content-type", "name")
        return _decode(name) if name else None

    def param(self, header: str, name: str) -> str | None:
        value = self.raw.get(header)
        if not value or name not in value.lower():
            return None
        if plain := plain_parameters(value):
            return plain[1].get(name)
        try:
            params = _HEADER_FACTORY(header, value).params  # type: ignore[attr-defined]
        except Exception:
            return None
        found = params.get(name)
        return str(found).strip() if found else None


def _payload_bytes(part: email.message.Message, defects: list[str]) -> bytes:
    try:
        if part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, email.message.Message):
                return _message_bytes(inner)
            return b""
        if (decoded := _base64_payload(part)) is not None:
            return decoded
        payload = part.get_payload(decode=True)
    except Exception as error:
        defects.append(f"unreadable part payload: {type(error).__name__}")
        return b""
    return payload if isinstance(payload, bytes) else b""


def _base64_payload(part: email.message.Message) -> bytes | None:
    """Return a well-formed base64 body decoded straight from its text, else ``None``.

    ``get_payload(decode=True)`` copies the text to bytes, splits it into lines
    and joins them before decoding: several times the part's size. A body the
    fast path cannot read (bad padding, stray bytes) takes that path instead.
    """
    if str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    try:
        return binascii.a2b_base64(payload)
    except (binascii.Error, ValueError):
        return None


def _text_of(part: email.message.Message, charset: str | None, defects: list[str]) -> str:
    data = _payload_bytes(part, defects)
    charset = (charset or "utf-8").lower()
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):
        defects.append(f"unknown charset {charset!r}; read as UTF-8")
        return data.decode("utf-8", "replace")


def safe_filename(name: str, *, content_type: str = "application/octet-stream") -> str:
    """Return a file name without path parts or control characters, at most 150 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        "_" if char in '<>:"|?*' else char
        for char in base
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    )
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


class _TextFromHtml(HTMLParser):
    _BLOCKS: Final = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    )
    _HIDDEN: Final = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.pieces.append(data)


def html_to_text(html: str) -> str:
    """Return readable plain text from an HTML body (no scripts, styles or tags)."""
    if not html:
        return ""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^<>]{0,2000}>", " ", html)
    lines = (" ".join(line.split()) for line in "".join(parser.pieces).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
