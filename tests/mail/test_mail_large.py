"""Large messages are read in pieces, and bodies decoded straight from their text.

Both are ways of spending less memory and time; neither may change what is read.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.policy
from email.message import EmailMessage
from email.parser import BytesParser

import attrs
from hypothesis import given
from hypothesis import strategies as st

from issuecore.mail._parse import InboundMessage, _direct_payload, _payload_bytes, parse_message

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_STRAY = " \t\r\n-_.!*\x00"


def _part(body: bytes, encoding: bytes = b"base64") -> EmailMessage:
    raw = (
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + body
    )
    part = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(part, EmailMessage)
    return part


@given(st.binary(max_size=600), st.integers(1, 120))
def test_a_well_formed_base64_body_decodes_as_the_standard_library_decodes_it(
    data: bytes, line_length: int
) -> None:
    encoded = base64.b64encode(data)
    lines = [encoded[start : start + line_length] for start in range(0, len(encoded), line_length)]
    part = _part(b"\r\n".join(lines) + b"\r\n")
    assert _direct_payload(part, "base64") == data == part.get_payload(decode=True)


@given(st.text(alphabet=_ALPHABET + _STRAY, max_size=300))
def test_any_base64_body_reads_as_the_standard_library_reads_it(body: str) -> None:
    part = _part(body.encode("latin-1"))
    assert _payload_bytes(part, [], "base64") == part.get_payload(decode=True)


_ENCODINGS = ["base64", "BASE64", "7bit", "8bit", "binary", "quoted-printable", "x-uuencode"]


@given(
    st.sampled_from(_ENCODINGS),
    st.sampled_from(["", " ", "\t", " (comment)", "\r\n ", "=?utf-8?q?x?=", ";", "\x00"]),
    st.booleans(),
    st.text(alphabet=_ALPHABET + _STRAY, max_size=100),
)
def test_the_raw_transfer_encoding_is_read_as_the_standard_library_reads_the_header(
    encoding: str, extra: str, before: bool, body: str
) -> None:
    # The raw value the parser holds decides a plain token; anything else is read from the part.
    value = extra + encoding if before else encoding + extra
    part = _part(body.encode("latin-1"), value.encode("latin-1"))
    raw = next(raw for name, raw in part.raw_items() if name == "Content-Transfer-Encoding")
    assert _payload_bytes(part, [], str(raw)) == part.get_payload(decode=True)


_TEXT_ENCODINGS = ["7bit", "8bit", "binary", "quoted-printable", "Quoted-Printable", "x-token"]


def _uuencoded(data: bytes) -> bytes:
    lines = [binascii.b2a_uu(data[start : start + 45]) for start in range(0, len(data), 45)]
    return b"begin 644 file.bin\n" + b"".join(lines) + b"`\nend\n"


bodies = st.one_of(
    st.binary(max_size=200),
    st.text("=0Af9 \t\r\nx\xe9", max_size=60).map(lambda text: text.encode("latin-1")),
    st.binary(max_size=90).map(_uuencoded),
)


@given(
    st.sampled_from([None, *_TEXT_ENCODINGS, "x-uuencode", "uue", " 7bit", "8bit (x)", "base64"]),
    bodies,
)
def test_any_body_decodes_as_the_standard_library_decodes_it(
    encoding: str | None, body: bytes
) -> None:
    if encoding is None:
        part = BytesParser(policy=email.policy.default).parsebytes(
            b"Content-Type: text/plain\r\n\r\n" + body
        )
    else:
        part = _part(body, encoding.encode("ascii"))
    raw = next(
        (
            str(value)
            for name, value in part.raw_items()
            if name.lower() == "content-transfer-encoding"
        ),
        None,
    )
    assert _payload_bytes(part, [], raw) == part.get_payload(decode=True)
    if encoding is None or encoding in _TEXT_ENCODINGS:  # read straight from the text
        assert _direct_payload(part, raw) == part.get_payload(decode=True)


@given(st.text(max_size=50), st.sampled_from([None, *_TEXT_ENCODINGS]))
def test_a_body_set_as_text_decodes_as_the_standard_library_decodes_it(
    text: str, encoding: str | None
) -> None:
    # Text set by a program, not parsed from bytes: characters beyond ASCII are no escaped bytes.
    part = email.message.Message()
    if encoding is not None:
        part["Content-Transfer-Encoding"] = encoding
    part.set_payload(text)
    assert _payload_bytes(part, [], encoding) == part.get_payload(decode=True)


def test_a_body_that_is_not_ascii_is_left_to_the_standard_library() -> None:
    part = _part("QUJD\xe9RA==\r\n".encode("latin-1"))
    assert _direct_payload(part, "base64") is None
    assert _payload_bytes(part, [], "base64") == part.get_payload(decode=True)


@given(st.integers(0, 3), st.sampled_from([b"\n", b"\r\n"]))
def test_a_message_read_in_pieces_reads_as_one_read_whole(shift: int, newline: bytes) -> None:
    message = EmailMessage()
    message["From"] = "Ana <ana@customer.example>"
    message["To"] = "help@desk.example"
    message["Subject"] = "Pieces"
    message["Message-ID"] = "<pieces@customer.example>"
    # Lines and CRLF pairs fall across the 64 KiB pieces at every offset.
    message.set_content("x" * shift + ("line of text " * 6 + "\n") * 6_000)
    message.add_attachment(bytes(range(256)) * 700, maintype="image", subtype="png")
    raw = message.as_bytes().replace(b"\n", newline)
    assert len(raw) > 3 * 64 * 1024
    pieces = parse_message(raw)
    whole = parse_message(BytesParser(policy=email.policy.default).parsebytes(raw))
    assert isinstance(pieces, InboundMessage)
    assert isinstance(whole, InboundMessage)
    # The message given as an object is measured by its regenerated bytes.
    assert pieces == attrs.evolve(whole, size=len(raw))
