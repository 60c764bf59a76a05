"""Parsing inbound mail: what is kept, and that nothing ever raises."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import sysconfig
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import attrs
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
)
from issuecore.mail._parse import synthetic_message_id
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
def test_stdlib_email_corpus_message_is_read_as_the_stdlib_reads_it(path: Path) -> None:
    # The stdlib's own reading is the oracle: a message it finds header fields in
    # must be read, not quarantined, with the same sender, subject and body.
    raw = path.read_bytes()
    oracle = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(oracle, email.message.EmailMessage)
    result = parse_message(raw)
    if not oracle.keys():
        assert isinstance(result, Quarantined)
        assert result.reason.startswith("no header fields")
        return
    assert isinstance(result, InboundMessage), result
    assert result.message_id.startswith("<")
    assert result.subject.split() == str(oracle["Subject"] or "").split()
    assert result.from_address == _oracle_sender(oracle)
    if not oracle.is_multipart() and oracle.get_content_type() == "text/plain":
        expected = oracle.get_content().replace("\r\n", "\n").strip()
        assert result.text.strip() == expected
        return
    named = [part.get_filename() for part in oracle.walk() if not part.is_multipart()]
    kept = {attachment.filename for attachment in result.attachments}
    assert {name for name in named if name} <= kept
    body = oracle.get_body(preferencelist=("plain",))
    if body is not None and not body.get_filename():
        lines = [line.strip() for line in body.get_content().splitlines() if line.strip()]
        assert not lines or lines[0] in result.text


def _oracle_sender(oracle: email.message.EmailMessage) -> str | None:
    header = oracle["From"]
    addresses = getattr(header, "addresses", ())
    if not addresses or "@" not in addresses[0].addr_spec:
        return None
    return str(addresses[0].addr_spec)


@pytest.mark.skipif(not STDLIB_CORPUS, reason="this Python has no test/test_email/data folder")
def test_only_the_stdlib_corpus_message_without_headers_is_quarantined() -> None:
    quarantined = [
        path.name
        for path in STDLIB_CORPUS
        if isinstance(parse_message(path.read_bytes()), Quarantined)
    ]
    without_headers = [
        path.name
        for path in STDLIB_CORPUS
        if not email.message_from_bytes(path.read_bytes(), policy=email.policy.default).keys()
    ]
    assert quarantined == without_headers
    assert len(quarantined) < len(STDLIB_CORPUS) // 10


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
    if isinstance(result, Quarantined):
        assert result.reason == "message nests too deeply to read"
    else:
        assert any("nested deeper" in omission for omission in result.omissions)


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


# --- reading real-world mail -------------------------------------------------------------


def _read(raw: bytes) -> InboundMessage:
    message = parse_message(raw)
    assert isinstance(message, InboundMessage), message
    return message


def _mail(body: bytes, *, headers: bytes = b"", charset: str | None = None) -> bytes:
    """Return a message with ``body``, ``headers`` and defaults for the headers not given."""
    given = {line.split(b":", 1)[0].lower() for line in headers.splitlines()}
    defaults = [b"From: a@example.com\n", b"Message-ID: <m@example.com>\n", b"Subject: s\n"]
    kept = [line for line in defaults if line.split(b":", 1)[0].lower() not in given]
    content_type = f"Content-Type: text/plain; charset={charset}\n".encode() if charset else b""
    return headers + b"".join(kept) + content_type + b"\n" + body


def _strings(value: object) -> list[str]:
    """Return every string inside ``value`` (attrs instances, tuples, mappings)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for pair in value.items() for text in _strings(pair)]
    if attrs.has(type(value)):
        return [
            text
            for field in attrs.fields(type(value))
            for text in _strings(getattr(value, field.name))
        ]
    return []


def _assert_valid_unicode(result: InboundMessage | Quarantined) -> None:
    for text in _strings(result):
        text.encode("utf-8")  # raises on a lone surrogate
    if isinstance(result, InboundMessage):
        assert "\x00" not in result.text
        assert "\r" not in result.text
        assert all("\x00" not in value for _, value in result.headers)


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("gb2312", "镕基――丰田"),  # GBK characters under the GB2312 label
        ("GB_2312-80", "镕基"),
        ("shift_jis", "①テスト\uff5e"),  # NEC row 13 and the wave dash as Windows writes them
        ("euc-kr", "똠방각하"),  # a cp949 extension syllable
        ("ks_c_5601-1987", "똠방각하"),
    ],
)
def test_east_asian_labels_are_read_as_the_superset_clients_write(charset: str, text: str) -> None:
    codec = {"gb2312": "gb18030", "GB_2312-80": "gb18030", "shift_jis": "cp932"}.get(
        charset, "cp949"
    )
    message = _read(_mail(text.encode(codec), charset=charset))
    assert message.text == text


def test_iso_2022_jp_with_vendor_extensions_is_read() -> None:
    # ESC $ B, row 13 cell 1 (① in NEC's extension), then "テ", back to ASCII
    raw = _mail(b"\x1b$B-!%F\x1b(B ok", charset="ISO-2022-JP")
    assert _read(raw).text == "①テ ok"


def test_plain_iso_2022_jp_is_read() -> None:
    assert _read(_mail("テスト".encode("iso2022_jp"), charset="iso-2022-jp")).text == "テスト"


@pytest.mark.parametrize(
    ("charset", "body", "text"),
    [
        ("iso-8859-1", b"\x93quoted\x94 costs \x80 5", "\u201cquoted\u201d costs \u20ac 5"),
        ("us-ascii", "Grüße".encode(), "Grüße"),
        ("iso-8859-1", "Grüße".encode(), "Grüße"),
        ("iso-8859-1", "Grüße".encode("latin-1"), "Grüße"),
        (None, "Grüße".encode("latin-1"), "Grüße"),
        ("utf-8", b"caf\xe9 \xe2\x82\xac", "café €"),
        ("x-unknown", "Grüße".encode(), "Grüße"),
    ],
)
def test_western_labels_read_windows_1252_and_utf8_bytes(
    charset: str | None, body: bytes, text: str
) -> None:
    assert _read(_mail(body, charset=charset)).text == text


@pytest.mark.parametrize(
    "charset", ["utf-7", "unicode-1-1-utf-7", "unicode_escape", "raw_unicode_escape", "punycode",
                "idna", "base64", "rot13", "hex", "cp500", "undefined", "mbcs"],
)  # fmt: skip
def test_codecs_that_are_no_text_charset_are_never_used(charset: str) -> None:
    body = b"+ADw-script+AD4- \\ud800 \\x41 aGk="
    message = _read(_mail(body, charset=charset))
    assert message.text == body.decode("ascii")


def test_utf7_subject_word_is_not_decoded() -> None:
    raw = _mail(b"x", headers=b"Subject: =?utf-7?Q?+ADw-b+AD4-?=\n")
    assert _read(raw).subject == "+ADw-b+AD4-"


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    raw = _mail(b"x", headers=b"Subject: =?UTF-8?Q?Gr=C3?= =?UTF-8?Q?=BC=C3=9Fe?= und mehr\n")
    assert _read(raw).subject == "Grüße und mehr"


def test_encoded_word_with_spaces_inside_is_still_decoded() -> None:
    raw = _mail(b"x", headers=b"Subject: =?us-ascii?Q?ABC / 123?=\n")
    assert _read(raw).subject == "ABC / 123"


def test_encoded_word_in_unknown_charset_falls_back_to_utf8() -> None:
    raw = _mail(b"x", headers=b"Subject: =?x-klingon?Q?Gr=C3=BC=C3=9Fe?=\n")
    assert _read(raw).subject == "Grüße"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Grüße".encode(), "Grüße"),
        ("Grüße".encode("latin-1"), "Grüße"),
        ("Zoë “quoted”".encode("cp1252"), "Zoë “quoted”"),
    ],
)
def test_raw_8bit_subject_is_read_as_utf8_else_windows_1252(subject: bytes, expected: str) -> None:
    assert _read(_mail(b"x", headers=b"Subject: " + subject + b"\n")).subject == expected


def test_raw_8bit_subject_is_read_in_a_multibyte_charset_the_message_declares() -> None:
    subject = "转发\uff1a整体提升企业服务水平"
    raw = (
        b"From: a@example.com\nSubject: " + subject.encode("gb2312") + b"\n"
        b"Content-Type: text/plain; charset=gb2312\n\n" + "正文".encode("gb2312")
    )
    message = _read(raw)
    assert (message.subject, message.text) == (subject, "正文")


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=iso-8859-1''M%E4rz.pdf", "März.pdf"),
        ("attachment; filename*=UTF-8''%E2%82%AC%20rate.pdf", "€ rate.pdf"),
        ("attachment; filename*0*=UTF-8''Gr%C3; filename*1*=%BC%C3%9Fe.txt", "Grüße.txt"),
        ("attachment; filename*=utf-7''+ADw-x+AD4-.txt", "+ADw-x+AD4-.txt"),
        ('attachment; filename="=?utf-8?Q?M=C3=A4rz.pdf?="', "März.pdf"),
    ],
)
def test_file_names_are_read_by_the_charset_policy(disposition: str, expected: str) -> None:
    raw = (
        "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
        f"--b\nContent-Type: application/pdf\nContent-Disposition: {disposition}\n\n%PDF\n--b--\n"
    ).encode()
    (attachment,) = _read(raw).attachments
    assert attachment.filename == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Grüße.pdf".encode(), "Grüße.pdf"), ("Grüße.pdf".encode("latin-1"), "Grüße.pdf")],
)
def test_raw_8bit_file_name_is_read(name: bytes, expected: str) -> None:
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="'
        + name
        + b'"\n\n%PDF\n--b--\n'
    )
    (attachment,) = _read(raw).attachments
    assert attachment.filename == expected


def test_raw_bytes_in_identifiers_are_percent_escaped_and_stay_distinct() -> None:
    def ids(byte: bytes) -> tuple[str, str | None, tuple[str, ...], str | None]:
        raw = (
            b"From: a@example.com\nMessage-ID: <a" + byte + b"@x>\nIn-Reply-To: <b" + byte
            + b"@x>\nReferences: <c" + byte + b"@x>\nContent-Type: multipart/mixed; boundary=q\n"
            b"\n--q\nContent-Type: image/png\nContent-ID: <d" + byte + b"@x>\n\npng\n--q--\n"
        )  # fmt: skip
        message = _read(raw)
        _assert_valid_unicode(message)
        return (
            message.message_id,
            message.in_reply_to,
            message.references,
            message.attachments[0].content_id,
        )

    assert ids(b"\xe9") == ("<a%E9@x>", "<b%E9@x>", ("<c%E9@x>",), "<d%E9@x>")
    assert ids(b"\xe8") != ids(b"\xe9")
    assert ids("é".encode()) == ("<aé@x>", "<bé@x>", ("<cé@x>",), "<dé@x>")


def test_raw_bytes_in_a_content_type_give_plain_text_not_a_broken_type() -> None:
    raw = b"From: a@example.com\nContent-Type: text/\xe9\xff; charset=utf-8\n\nhello\n"
    message = _read(raw)
    _assert_valid_unicode(message)
    assert (message.content_type, message.text) == ("text/plain", "hello\n")


def test_nul_and_carriage_returns_never_reach_the_text() -> None:
    message = _read(_mail(b"one\r\ntwo\rthree\x00four\n", charset="utf-8"))
    assert message.text == "one\ntwo\nthree" + "four\n"


def test_headers_tuple_holds_valid_unicode() -> None:
    message = _read(b"From: a@example.com\nX-Junk: caf\xe9 \x00 \xff\n\nhi\n")
    assert dict(message.headers)["x-junk"] == "café  ÿ"


# --- repairing what the standard parser gives up on --------------------------------------


def test_header_line_without_colon_in_the_middle_is_joined_to_the_header_before() -> None:
    message = _read(
        b"From: a@example.com\nSubject: hello\nwrapped without indent\nTo: b@example.com\n\nbody\n"
    )
    assert (message.subject, message.to, message.text) == (
        "hello wrapped without indent",
        ("b@example.com",),
        "body\n",
    )
    assert any("continuation" in defect for defect in message.defects)


def test_bare_cr_and_8bit_junk_lines_in_the_header_block_keep_the_headers_after_them() -> None:
    message = _read(
        b"From: a@example.com\r\nSubject: one\rtwo\r\nTo: b@example.com\r\n\xff\xfejunk\r\n"
        b"Cc: c@example.com\r\n\r\nbody\r\n"
    )
    assert (message.subject, message.to, message.cc, message.text) == (
        "one two",
        ("b@example.com",),
        ("c@example.com",),
        "body\n",
    )


def test_junk_before_the_first_header_is_dropped() -> None:
    message = _read(
        b"---- Original email message ----\r\nFrom: a@example.com\r\nSubject: s\r\n\r\nb\r\n"
    )
    assert (message.from_address, message.subject, message.text) == ("a@example.com", "s", "b\n")


def test_space_before_the_colon_is_repaired() -> None:
    message = _read(b"From : a@example.com\nSubject : hi\n\nbody\n")
    assert (message.from_address, message.subject) == ("a@example.com", "hi")


def test_text_after_headers_without_a_blank_line_is_still_the_body() -> None:
    message = _read(b"From: a@example.com\nSubject: s\nHello there, no blank line.\n")
    assert message.subject == "s"
    assert "Hello there" in message.text


# --- the From rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "address", "name"),
    [
        ("alice@example.com <mallory@evil.example>", "mallory@evil.example", "alice@example.com"),
        ("<mallory@evil.example>alice@example.com", "mallory@evil.example", "alice@example.com"),
        ('"alice@example.com" <mallory@evil.example>', "mallory@evil.example", "alice@example.com"),
        ("=?utf-8?q?alice@example.com?= <mallory@evil.example>", "mallory@evil.example",
         "alice@example.com"),
        ("=?utf-8?Q?agent?=@example.com", "=?utf-8?Q?agent?=@example.com", ""),
        ("MAILER-DAEMON@example.com (Mail Delivery System)", "MAILER-DAEMON@example.com",
         "Mail Delivery System"),
        ("Alice <alice@example.com", "alice@example.com", "Alice"),
        ("Alice alice@example.com", "alice@example.com", "Alice"),
        ('"Smith, Karoline" <k.smith@example.com>', "k.smith@example.com", "Smith, Karoline"),
        ("Claudia <Claudia.Shu@yahoo.com.>", "Claudia.Shu@yahoo.com", "Claudia"),
        ("<@relay.example:bob@example.com>", "bob@example.com", ""),
    ],
)  # fmt: skip
def test_from_reads_the_mailbox_mail_servers_see(header: str, address: str, name: str) -> None:
    message = _read(_mail(b"x", headers=b"From: " + header.encode() + b"\nSender: x@example.org\n"))
    assert (message.from_address, message.from_name) == (address, name)


@pytest.mark.parametrize(
    "header",
    [
        "alice@example.com, mallory@evil.example",
        "<alice@example.com> <mallory@evil.example>",
        "alice@example.com mallory@evil.example",
        '"Millions Lottery Spain transfer"@example.com>',
        "=?utf-8?q?alice=40example.com?=",
        "undisclosed-recipients:;",
        "Alice <alice@example.com>, garbage",
    ],
)
def test_from_that_names_no_single_mailbox_gives_no_sender(header: str) -> None:
    message = _read(b"From: " + header.encode() + b"\nSubject: s\n\nx\n")
    assert message.from_address is None
    assert any("From" in defect for defect in message.defects)


def test_several_from_mailboxes_take_the_sender_among_them() -> None:
    raw = b"From: a@example.com, b@example.com\nSender: b@example.com\n\nx\n"
    assert _read(raw).from_address == "b@example.com"


def test_several_from_mailboxes_ignore_a_sender_not_among_them() -> None:
    raw = b"From: a@example.com, b@example.com\nSender: c@example.com\n\nx\n"
    assert _read(raw).from_address is None


def test_two_from_headers_naming_different_mailboxes_give_no_sender() -> None:
    message = _read(b"From: alice@example.com\nFrom: mallory@evil.example\n\nx\n")
    assert message.from_address is None
    assert "2 From headers" in message.defects


def test_two_from_headers_one_unreadable_give_the_readable_one() -> None:
    message = _read(b"From: \xff\xfe garbage\nFrom: Bob <bob@example.com>\n\nx\n")
    assert (message.from_address, message.from_name) == ("bob@example.com", "Bob")


def test_no_from_falls_back_to_sender_but_never_to_reply_to() -> None:
    assert _read(b"Sender: s@example.com\nReply-To: r@example.com\n\nx\n").from_address == (
        "s@example.com"
    )
    assert _read(b"Reply-To: r@example.com\nSubject: s\n\nx\n").from_address is None


def test_to_and_cc_use_the_same_reading() -> None:
    message = _read(
        b"From: a@example.com\nTo: alice@example.com <mallory@evil.example>, b@example.com\n"
        b"Cc: =?utf-8?q?x?=@example.com, <c@example.com> <d@example.com>\n\nx\n"
    )
    assert message.to == ("mallory@evil.example", "b@example.com")
    assert message.cc == ("=?utf-8?q?x?=@example.com",)


# --- body assembly ------------------------------------------------------------------------


def _multipart(kind: str, *parts: tuple[str, str]) -> bytes:
    body = "".join(f"--b\nContent-Type: {ctype}\n\n{content}\n" for ctype, content in parts)
    return (
        f"From: a@example.com\nContent-Type: multipart/{kind}; boundary=b\n\n{body}--b--\n"
    ).encode()


def test_alternative_with_blank_plain_text_reads_the_html() -> None:
    message = _read(_multipart("alternative", ("text/plain", "\n \n"), ("text/html", "<b>hi</b>")))
    assert message.text == "hi"
    assert message.html == "<b>hi</b>"


def test_alternative_prefers_plain_text_that_says_something() -> None:
    message = _read(
        _multipart("alternative", ("text/plain", "plain"), ("text/html", "<b>rich</b>"))
    )
    assert message.text == "plain"
    assert message.html == "<b>rich</b>"


def test_mixed_text_parts_are_joined_in_order() -> None:
    message = _read(
        _multipart(
            "mixed",
            ("text/html", "<h1>first</h1>"),
            ("text/plain", "second"),
            ("text/html", "<p>third</p>"),
        )
    )
    assert message.text.split() == ["first", "second", "third"]
    assert message.html is not None
    assert message.html.index("first") < message.html.index("second") < message.html.index("third")


def test_related_resources_are_attachments_not_body() -> None:
    message = _read(
        _multipart("related", ("text/html", "<p>body</p>"), ("text/html", "<p>resource</p>"))
    )
    assert message.text == "body"
    assert [a.filename for a in message.attachments] == ["attachment.html"]


def test_attached_message_is_kept_byte_for_byte_and_named_by_its_subject() -> None:
    inner = (
        b"From: v@example.com\r\nSubject: Invoice 11\r\nX-Long: " + b"y" * 200 + b"\r\n\r\nbody\r\n"
    )
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: message/rfc822\r\n"
        b"\r\n" + inner + b"\r\n--b--\r\n"
    )
    message = _read(raw)
    (attached,) = message.attachments
    assert (attached.filename, attached.data) == ("Invoice 11.eml", inner)
    assert message.text == "see attached"


def test_html_tables_lists_and_hidden_parts_read_as_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<table><tr><td>a</td><td> b </td></tr><tr><th>c</th><td>d</td></tr></table>"
        "<ul><li>one</li><li>two<ol><li>x</li></ol></li></ul>"
        "<p>a&nbsp;&amp;   b<br>c</p><script>alert(1)</script><pre>  kept\n    layout</pre></body>"
    )
    assert html_to_text(html) == (
        "a\tb\nc\td\n\n- one\n- two\n  1. x\n\na & b\nc\n\n  kept\n    layout"
    )


def test_html_head_left_open_ends_at_the_body() -> None:
    assert html_to_text("<html><head><meta charset=utf-8><body>visible") == "visible"


def test_flowed_text_is_joined_into_paragraphs_with_quotes_and_signature_kept() -> None:
    body = (
        b"Thanks, the order \r\narrived today.\r\n \r\n>> you wrote \r\n>> earlier\r\n"
        b"> the reply \r\n> quoted\r\n From here on\r\n-- \r\nAnn\r\n"
    )
    headers = b"Content-Type: text/plain; charset=utf-8; format=flowed\n"
    assert _read(_mail(body, headers=headers)).text == (
        "Thanks, the order arrived today.\n\n>> you wrote earlier\n> the reply quoted\n"
        "From here on\n-- \nAnn\n"
    )


def test_flowed_text_with_delsp_joins_words_split_at_a_soft_break() -> None:
    headers = b'Content-Type: text/plain; charset=utf-8; format="Flowed"; delsp=yes\n'
    body = b"Donau\xc3\xa4 \ndampfschiff \nfahrt ends\n"
    assert _read(_mail(body, headers=headers)).text == "Donau\u00e4dampfschifffahrt ends\n"


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (b'<meta http-equiv="Content-Type" content="text/html;charset=iso-8859-2">', "Dzi\u0119ki"),
        (b"<META CHARSET='koi8-r'>", "Dzi\u0419ki"),
        (b"<meta name=x>", "Dzi\u00eaki"),  # no declaration: windows-1252, as before
    ],
)
def test_html_without_a_mime_charset_is_read_in_the_charset_its_meta_tag_declares(
    meta: bytes, expected: str
) -> None:
    headers = b"Content-Type: text/html\n"
    body = b"<html><head>" + meta + b"</head><body><p>Dzi\xeaki</p></body></html>"
    message = _read(_mail(body, headers=headers))
    assert message.text == expected
    assert message.html is not None
    assert expected in message.html


def test_mime_charset_outranks_the_meta_tag() -> None:
    headers = b"Content-Type: text/html; charset=iso-8859-2\n"
    body = b'<meta charset="koi8-r"><p>Dzi\xeaki</p>'
    assert _read(_mail(body, headers=headers)).text == "Dzi\u0119ki"


def test_text_not_marked_flowed_keeps_its_line_breaks() -> None:
    body = b"one \ntwo\n"
    assert _read(_mail(body, charset="utf-8")).text == body.decode()


# --- attachment names ---------------------------------------------------------------------


def test_unnamed_attachments_are_named_from_their_type_and_told_apart() -> None:
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: application/pdf\n\n%PDF-1\n"
        b"--b\nContent-Type: application/pdf\n\n%PDF-2\n"
        b"--b\nContent-Type: image/png\nContent-ID: <logo.png@x.example>\n\npng\n"
        b"--b\nContent-Type: image/png\nContent-ID: <ii_k1j2@x.example>\n\npng\n"
        b'--b\nContent-Type: text/plain; name="Notes.TXT"\n\n1\n'
        b'--b\nContent-Type: text/plain; name="notes.txt"\n\n2\n'
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n"
        b"--b--\n"
    )
    names = [attachment.filename for attachment in _read(raw).attachments]
    assert names == [
        "attachment.pdf",
        "attachment-2.pdf",
        "logo.png",
        "image.png",
        "Notes.TXT",
        "notes-2.txt",
        "delivery-status.txt",
    ]


def test_base64_without_padding_is_read_and_one_letter_too_many_is_kept_as_sent() -> None:
    def body(encoded: bytes) -> bytes:
        raw = (
            b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            b"Content-Type: video/quicktime\nContent-Transfer-Encoding: base64\n\n"
            + encoded
            + b"\n--b--\n"
        )
        (video,) = _read(raw).attachments
        return video.data

    assert body(b"/9j/4AAQSkZJABC1234567") == base64.b64decode(b"/9j/4AAQSkZJABC1234567==")
    # a length no padding can complete: read as the standard library reads it, the text as sent
    assert body(b"/9j/4AAQSkZJABC123456") == b"/9j/4AAQSkZJABC123456"


# --- limits are recorded, never silent ---------------------------------------------------


def _nested(depth: int) -> bytes:
    parts = [f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)]
    return (
        "From: a@example.com\nMessage-ID: <deep@x>\n"
        + "".join(parts)
        + "Content-Type: text/plain\n\ntext at the bottom\n"
    ).encode()


def test_text_nested_60_levels_deep_is_read() -> None:
    message = _read(_nested(60))
    assert message.text.strip() == "text at the bottom"
    assert message.omissions == ()


def test_parts_nested_beyond_the_depth_limit_are_recorded_as_omitted() -> None:
    message = _read(_nested(120))
    assert message.omissions == ("20 MIME part(s) nested deeper than 100 levels left out",)


def test_parts_beyond_the_part_limit_are_recorded_as_omitted() -> None:
    parts = b"".join(
        b"--b\nContent-Type: application/pdf; name=f%d.pdf\n\n%%PDF\n" % index
        for index in range(2_500)
    )
    raw = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n" + parts + b"--b--\n"
    message = _read(raw)
    assert len(message.attachments) == 1_999  # the multipart itself is one of the 2,000 parts
    assert message.omissions == (
        "2,501 MIME parts; the first 2,000 were read, 501 left out by the part limit of 2,000",
    )


def test_references_beyond_the_limit_are_recorded_as_omitted() -> None:
    references = " ".join(f"<r{index}@x>" for index in range(250)).encode()
    message = _read(b"From: a@example.com\nReferences: " + references + b"\n\nx\n")
    assert message.references[0] == "<r50@x>"
    assert message.omissions == ("References named 250 message ids; the last 200 were kept",)


def test_subject_beyond_the_limit_is_recorded_as_cut() -> None:
    message = _read(b"From: a@example.com\nSubject: " + b"x" * 20_000 + b"\n\nbody\n")
    assert message.omissions == ("the Subject of 20,000 characters was cut to 10,000",)


def test_message_within_every_limit_records_no_omission() -> None:
    assert _parsed("forward").omissions == ()


# --- robustness that can fail ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "sender", "subject", "text"),
    [
        (b"From: a@example.com\rSubject: cr only\r\rbody\r", "a@example.com", "cr only", "body\n"),
        (b"From a@example.com Thu Nov 26 09:00:00 2026\nFrom: a@example.com\nSubject: mbox\n\nb\n",
         "a@example.com", "mbox", "b\n"),
        (b"From: a@example.com\nSubject: folded\n\tover\n  lines\n\nb\n", "a@example.com",
         "folded over lines", "b\n"),
        (b"From: a@example.com\nSubject: no body\n", "a@example.com", "no body", ""),
        (b"\n\nFrom: a@example.com\nSubject: leading blank\n\nb\n", "a@example.com",
         "leading blank", "b\n"),
        (b"FROM: A@EXAMPLE.COM\nSUBJECT: upper\n\nb\n", "A@example.com", "upper", "b\n"),
    ],
)  # fmt: skip
def test_odd_but_well_formed_messages_are_read_not_quarantined(
    raw: bytes, sender: str | None, subject: str, text: str
) -> None:
    message = _read(raw)
    assert (message.from_address, message.subject, message.text) == (sender, subject, text)


@given(st.binary(max_size=2000))
def test_random_bytes_give_valid_unicode_everywhere(raw: bytes) -> None:
    _assert_valid_unicode(parse_message(raw))


@given(raw_messages())
def test_generated_messages_are_read_with_valid_unicode(raw: bytes) -> None:
    result = parse_message(raw)
    assert isinstance(result, InboundMessage), result
    _assert_valid_unicode(result)


@given(
    st.sampled_from(["outlook_reply", "apple_mail_reply", "bounce_dsn", "forward", "new_customer"]),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=8),
)
def test_mutated_fixtures_give_valid_unicode_everywhere(
    name: str, mutations: list[tuple[int, bytes]]
) -> None:
    raw = bytearray(fixture_bytes(name))
    for position, junk in mutations:
        at = position % (len(raw) + 1)
        raw[at : at + len(junk)] = junk
    _assert_valid_unicode(parse_message(bytes(raw)))


@given(st.binary(min_size=1, max_size=40), st.sampled_from([
    "Message-ID", "In-Reply-To", "References", "From", "Subject", "Content-Type", "Content-ID",
    "Content-Disposition"]))  # fmt: skip
def test_any_bytes_in_any_header_give_valid_unicode(junk: bytes, header: str) -> None:
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        + header.encode()
        + b": "
        + junk.replace(b"\n", b" ").replace(b"\r", b" ")
        + b"\n\nbody\n--b--\n"
    )
    _assert_valid_unicode(parse_message(raw))
    top = header.encode() + b": " + junk.replace(b"\n", b" ").replace(b"\r", b" ")
    _assert_valid_unicode(parse_message(top + b"\nFrom: b@example.com\n\nbody\n"))


@given(st.text(alphabet="ab\r\n", max_size=40))
def test_every_line_ending_in_the_text_becomes_a_line_feed(body: str) -> None:
    raw = b"From: a@example.com\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
    result = parse_message(raw + base64.b64encode(body.encode()) + b"\n")
    assert isinstance(result, InboundMessage)
    assert result.text == re.sub(r"\r\n?", "\n", body)
