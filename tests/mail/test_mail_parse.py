"""Parsing inbound mail: what is kept, and that nothing ever raises."""

from __future__ import annotations

import email
import email.policy
import os
import sysconfig
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import fixture_bytes

from issuecore.mail import (
    InboundMessage,
    Quarantined,
    html_to_text,
    normalize_address,
    parse_message,
    safe_filename,
    synthetic_message_id,
)
from strategies import raw_messages


def _parsed(name: str) -> InboundMessage:
    message = parse_message(fixture_bytes(name))
    assert isinstance(message, InboundMessage), message
    return message


def _stdlib_corpus() -> list[Path]:
    candidates = [
        Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data",
        Path(os.path.dirname(email.__file__)).parent / "test" / "test_email" / "data",
    ]
    for folder in candidates:
        found = sorted(folder.glob("msg_*.txt"))
        if found:
            return found
    return []


STDLIB_CORPUS = _stdlib_corpus()


@pytest.mark.skipif(
    not STDLIB_CORPUS,
    reason="this Python has no test/test_email/data folder (the test suite was not installed)",
)
@pytest.mark.parametrize("path", STDLIB_CORPUS, ids=lambda path: path.name)
def test_stdlib_email_corpus_message_parses_without_exception(path: Path) -> None:
    result = parse_message(path.read_bytes())
    assert isinstance(result, InboundMessage | Quarantined)
    if isinstance(result, Quarantined):
        assert result.reason
    else:
        assert result.message_id.startswith("<")


def test_stdlib_corpus_is_used_whenever_its_folder_exists() -> None:
    # Documents the finding either way: a count when present, the folder looked at when not.
    folder = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
    assert bool(STDLIB_CORPUS) == folder.is_dir()


def test_addresses_are_normalised_with_lower_case_domain() -> None:
    message = _parsed("outlook_reply")
    assert message.from_address == "Alice@example.com"
    assert message.from_name == "Alice Example"
    assert message.to == ("support@helpdesk.example",)


def test_encoded_words_in_subject_and_names_are_decoded_and_unfolded() -> None:
    message = _parsed("new_customer")
    assert message.subject == "Cannot log in \u2013 ürgent"
    assert message.from_name == "Erin Müller"
    assert message.reply_to == ("erin.private@customer.example",)
    assert message.cc == ("frank@customer.example", "support@helpdesk.example")


def test_threading_headers_are_kept() -> None:
    message = _parsed("outlook_reply")
    assert message.in_reply_to is not None
    assert message.in_reply_to.startswith("<ic1.")
    assert message.references[0] == "<CAF-alice-first@mail.gmail.com>"
    assert len(message.references) == 2
    assert message.date == datetime(2026, 11, 26, 9, 14, 1, tzinfo=UTC)


def test_plain_text_is_preferred_and_html_is_kept() -> None:
    message = _parsed("outlook_reply")
    assert message.text.startswith("The fire is out")
    assert message.html is not None
    assert "<p>" in message.html


def test_text_is_derived_from_html_without_scripts_or_styles() -> None:
    message = _parsed("html_only_with_tricky_attachment")
    assert message.text == "Die Rechnung für März fehlt.\n\nGrüße\nGrace"
    assert "alert" not in message.text


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = fixture_bytes("html_only_with_tricky_attachment")
    first, second = parse_message(raw), parse_message(raw)
    assert isinstance(first, InboundMessage)
    assert isinstance(second, InboundMessage)
    assert first.synthetic_message_id
    assert first.message_id == second.message_id == synthetic_message_id(raw)
    assert parse_message(raw + b"\n").message_id != first.message_id  # type: ignore[union-attr]


def test_attachment_names_lose_path_parts_and_control_characters() -> None:
    message = _parsed("html_only_with_tricky_attachment")
    names = [attachment.filename for attachment in message.attachments]
    assert names == ["passwd", "Rechnung Märzfdp.exe"]
    assert message.attachments[0].data == b"root:x:0:0:root:/root:/bin/bash\n"
    assert message.attachments[1].content_type == "application/pdf"


def test_inline_image_keeps_its_content_id() -> None:
    message = _parsed("apple_mail_reply")
    (image,) = message.attachments
    assert image.filename == "blinking.png"
    assert image.content_type == "image/png"
    assert image.content_id == "<F1E2D3C4-B5A6-4978-8695-A4B3C2D1E0F9>"
    assert image.size == len(image.data) > 0


def test_forwarded_message_is_an_attachment_not_part_of_the_body() -> None:
    message = _parsed("forward")
    (forwarded,) = message.attachments
    assert forwarded.filename == "Invoice 2026-11.eml"
    assert forwarded.content_type == "message/rfc822"
    assert b"invoice-2026-11@vendor.example" in forwarded.data
    assert message.text.count("Your invoice for November is attached.") == 1


def test_bounce_remembers_the_message_id_it_returns() -> None:
    message = _parsed("bounce_dsn")
    assert message.report_type == "delivery-status"
    assert message.returned_message_id is not None
    assert message.returned_message_id.startswith("<ic1.")


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("..", "attachment.bin"),
        ("", "attachment.bin"),
        ("report\x00.pdf", "report.pdf"),
        ("a\r\nb.txt", "ab.txt"),
        ("CON.txt", "_CON.txt"),
        ('what?<is>:"this".txt', "what__is___this_.txt"),
        ("   .hidden  ", "hidden"),
    ],
)
def test_safe_filename(given_name: str, expected: str) -> None:
    assert safe_filename(given_name) == expected


def test_safe_filename_caps_length_and_keeps_the_extension() -> None:
    name = safe_filename("x" * 5000 + ".pdf")
    assert len(name) == 150
    assert name.endswith(".pdf")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"   \r\n  ", "empty message"),
        (b"just some words\nwith no headers\n", "no header fields"),
    ],
)
def test_unreadable_input_is_quarantined_with_the_reason(raw: bytes, reason: str) -> None:
    result = parse_message(raw)
    assert isinstance(result, Quarantined)
    assert reason in result.reason
    assert result.message_id == synthetic_message_id(raw)


def test_oversized_message_is_quarantined_with_its_size() -> None:
    result = parse_message(b"Subject: x\n\n" + b"a" * 100, max_bytes=50)
    assert isinstance(result, Quarantined)
    assert "exceeds the limit of 50 bytes" in result.reason


def test_wrong_input_type_is_quarantined_not_raised() -> None:
    result = parse_message("a str is not bytes")  # type: ignore[arg-type]
    assert isinstance(result, Quarantined)
    assert "str" in result.reason


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.compat32])
@pytest.mark.parametrize("name", ["gmail_reply", "apple_mail_reply", "new_customer"])
def test_message_object_parses_like_its_bytes(policy: email.policy.Policy, name: str) -> None:
    raw = fixture_bytes(name)
    from_object = parse_message(email.message_from_bytes(raw, policy=policy))
    from_bytes = parse_message(raw)
    assert isinstance(from_object, InboundMessage)
    assert isinstance(from_bytes, InboundMessage)
    assert (from_object.message_id, from_object.subject, from_object.text) == (
        from_bytes.message_id,
        from_bytes.subject,
        from_bytes.text,
    )
    assert from_object.attachments == from_bytes.attachments
    assert from_object.from_address == from_bytes.from_address


def test_deeply_nested_multiparts_are_read_or_quarantined_without_raising() -> None:
    depth = 2000
    parts = [f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)]
    raw = ("From: a@example.com\nMessage-ID: <deep@x>\n" + "".join(parts) + "text\n").encode()
    result = parse_message(raw)
    assert isinstance(result, InboundMessage | Quarantined)
    if isinstance(result, InboundMessage):
        assert any("nested deeper" in defect for defect in result.defects)


def test_huge_header_is_read() -> None:
    raw = b"From: a@example.com\nSubject: " + b"x" * 1_000_000 + b"\n\nbody\n"
    result = parse_message(raw)
    assert isinstance(result, InboundMessage)
    assert len(result.subject) == 10_000


def test_raw_non_ascii_header_bytes_are_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.com>\nSubject: Grüße\n\nhi\n".encode()
    result = parse_message(raw)
    assert isinstance(result, InboundMessage)
    assert result.subject == "Grüße"
    assert result.from_name == "Zoë"


def test_defects_are_recorded() -> None:
    raw = b"From: a@example.com\nContent-Type: multipart/mixed\n\nno boundary at all\n"
    result = parse_message(raw)
    assert isinstance(result, InboundMessage)
    assert any("Boundary" in defect for defect in result.defects)


def test_html_to_text_keeps_paragraphs_and_entities() -> None:
    assert html_to_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b\n\nc\nd"


@given(raw_messages())
def test_generated_messages_never_raise(raw: bytes) -> None:
    result = parse_message(raw)
    assert isinstance(result, InboundMessage | Quarantined)


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_message(raw), InboundMessage | Quarantined)


@given(
    st.sampled_from(["outlook_reply", "apple_mail_reply", "bounce_dsn", "forward"]),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=8)), max_size=8),
)
def test_mutated_fixtures_never_raise(name: str, mutations: list[tuple[int, bytes]]) -> None:
    raw = bytearray(fixture_bytes(name))
    for position, junk in mutations:
        at = position % (len(raw) + 1)
        raw[at : at + len(junk)] = junk
    assert isinstance(parse_message(bytes(raw)), InboundMessage | Quarantined)


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # naive bounds: the zone is drawn separately
        max_value=datetime(2200, 1, 1),
    ).map(lambda moment: moment.replace(microsecond=0)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
    st.booleans(),
)
def test_date_header_reads_like_the_standard_library(
    moment: datetime, offset_minutes: int, weekday: bool
) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = format_datetime(aware)
    if not weekday:
        text = text.split(", ", 1)[1]
    raw = f"From: a@example.com\nDate: {text}\n\nhi\n".encode()
    message = parse_message(raw)
    assert isinstance(message, InboundMessage)
    assert message.date == parsedate_to_datetime(text)
    assert message.date is not None
    assert message.date.utcoffset() == aware.utcoffset()


@pytest.mark.parametrize(
    ("given_address", "expected"),
    [
        ("Alice@EXAMPLE.com", "Alice@example.com"),
        ("<bob@Example.org>", "bob@example.org"),
        ("x@exämple.de", "x@exämple.de"),
        ("no-at-sign", None),
        ("a@b@c.com", None),
        ("a b@c.com", None),
        ("a@-c.com", None),
        ("a@c..com", None),
        ("_victim@example.com?=\u00a1\u00a1", None),
        ("", None),
    ],
)
def test_addresses_are_normalised_or_refused(given_address: str, expected: str | None) -> None:
    assert normalize_address(given_address) == expected
