"""Intake's fast paths read every message of the mail corpora exactly as the general paths do.

The corpora: the fixtures, the standard library's own test messages and the
real-world messages of ``shared/realmail/zammad-mail`` (or the folder named
by ``ISSUECORE_REALMAIL``), each used when it is there. Every message is read
by :func:`parse_message` as it is, and again with the reading policy
replaced by :data:`email.policy.default` (no remembered headers, no direct
reading of plain header values) and the standard feed parser (a pattern
compiled for each boundary); every MIME header value in them is built by
both header factories; every leaf part's body is decoded both ways.
"""

from __future__ import annotations

import email.feedparser
import email.message
import email.policy
import os
import sysconfig
from email.headerregistry import HeaderRegistry
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mail_support import FIXTURES, folded

from issuecore.mail import _parse
from issuecore.mail._headers import MimeHeaderFactory, plain_parameters, plain_transfer_encoding
from issuecore.mail._matching import _header_lines_and_body, _header_lines_and_body_in_general
from issuecore.mail._parse import _PLAIN_FILENAME, _without_unsafe_characters, parse_message


def _folders() -> list[Path]:
    folders = [FIXTURES]
    folders.append(Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data")
    given_folder = os.environ.get("ISSUECORE_REALMAIL")
    realmail = (
        Path(given_folder)
        if given_folder
        else Path(__file__).resolve().parents[2].parent / "shared" / "realmail"
    )
    folders.append(realmail / "zammad-mail")
    return folders


def _corpus() -> list[Path]:
    found: list[Path] = []
    for folder in _folders():
        for pattern in ("*.eml", "msg_*.txt", "*.box"):
            found.extend(sorted(folder.glob(pattern)))
    return found


CORPUS = _corpus()
STOCK = HeaderRegistry()
MIME_HEADERS = ("content-type", "content-transfer-encoding", "content-disposition")


def test_the_corpus_holds_the_fixtures_and_every_folder_present() -> None:
    # Documents what the comparisons below cover: each folder there adds its messages.
    present = [folder for folder in _folders() if folder.is_dir()]
    assert FIXTURES in present
    for folder in present:
        assert any(path.parent == folder for path in CORPUS), folder


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_corpus_message_reads_the_same_by_the_general_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = path.read_bytes()
    _parse.clear_header_cache()
    fast = parse_message(raw)
    again = parse_message(raw)  # with the headers remembered from the first reading
    monkeypatch.setattr(_parse, "_POLICY", email.policy.default)
    monkeypatch.setattr(_parse, "_PARSER", BytesParser(policy=email.policy.default))
    monkeypatch.setattr(_parse, "_FEED_PARSER", email.feedparser.BytesFeedParser)
    monkeypatch.setattr(_parse, "_ONE_PART", lambda data, policy: None)
    general = parse_message(raw)
    assert fast == general
    assert again == general


def _parts(path: Path) -> list[email.message.Message]:
    parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    return list(parsed.walk())


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_mime_header_of_a_corpus_message_is_built_as_the_standard_library_builds_it(
    path: Path,
) -> None:
    values = [
        (name, value)
        for part in _parts(path)
        for name, value in part.raw_items()
        if name.lower() in MIME_HEADERS
    ]
    for name, value in values:
        _same_header(name, str(value).replace("\r", "").replace("\n", ""))


def _same_header(name: str, value: str) -> None:
    try:
        stock = STOCK(name, value)
    except Exception as error:  # the standard parser has bugs of its own; share them exactly
        with pytest.raises(type(error)):
            MimeHeaderFactory()(name, value)
        return
    fast = MimeHeaderFactory()(name, value)
    assert str(fast) == str(stock)
    assert [type(defect) for defect in fast.defects] == [type(defect) for defect in stock.defects]
    for attribute in ("cte", "content_type", "content_disposition"):
        assert getattr(fast, attribute, None) == getattr(stock, attribute, None)
    assert dict(getattr(fast, "params", {})) == dict(getattr(stock, "params", {}))
    assert folded(fast) == folded(stock)


encodings = st.one_of(
    st.sampled_from(["base64", "BASE64", "quoted-printable", "7bit", "8bit", "binary", "x-uue"]),
    st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`{|}~/()=?\\-]{1,16}", fullmatch=True),
).flatmap(
    lambda token: st.builds(
        lambda lead, tail: f"{lead}{token}{tail}",
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(["", " ", " (comment)", " x", ";", "\t"]),
    )
)


@given(st.one_of(encodings, st.text(max_size=30)))
def test_any_transfer_encoding_is_built_as_the_standard_library_builds_it(value: str) -> None:
    _same_header("Content-Transfer-Encoding", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("base64", "base64"),
        ("Quoted-Printable", "quoted-printable"),
        ("7bit", "7bit"),
        ("x-uuencode", "x-uuencode"),
        (" base64", None),
        ("base64 ", None),
        ("base64 (comment)", None),
        ("", None),
        ("base/64", None),
        ("bäse64", None),
    ],
)
def test_only_a_bare_token_is_read_directly(value: str, expected: str | None) -> None:
    assert plain_transfer_encoding(value) == expected
    _same_header("Content-Transfer-Encoding", value)


@given(st.one_of(st.text(max_size=40), st.text(st.characters(codec="ascii"), max_size=40)))
def test_a_file_name_skips_the_character_filter_only_when_the_filter_would_keep_it(
    name: str,
) -> None:
    if _PLAIN_FILENAME.fullmatch(name):
        assert _without_unsafe_characters(name) == name
    else:  # every other name loses or changes a character
        assert _without_unsafe_characters(name) != name or any(ord(char) > 0x7E for char in name)


@pytest.mark.parametrize("char", [chr(code) for code in range(0x80)])
def test_the_plain_file_name_characters_are_exactly_those_the_filter_keeps(char: str) -> None:
    kept = _without_unsafe_characters(char) == char
    assert bool(_PLAIN_FILENAME.fullmatch(char)) == kept


def test_remembered_parameters_cannot_be_changed_by_a_reader() -> None:
    _parse.clear_header_cache()
    first = plain_parameters('text/plain; charset="utf-8"')
    assert first is not None
    with pytest.raises(TypeError):
        first[1]["charset"] = "latin-1"  # type: ignore[index]
    assert plain_parameters('text/plain; charset="utf-8"') == ("text/plain", {"charset": "utf-8"})
    assert plain_parameters.cache_info().hits >= 1
    _parse.clear_header_cache()
    assert plain_parameters.cache_info().currsize == 0


_HEADER_LINES = [
    "From: Ana <ana@customer.example>",
    "Subject: Re : printer : on fire",
    "X-Note:a b :c",
    "Content-Type: text/plain",
    " folded on",
    "\tfolded on",
    "From ana@customer.example Thu Nov 26 09:14:01 2026",
    "From the desk",
    ">From x",
    "wrapped without indentation",
    "Name : value",
    ": no name",
    "Bad\x00Name: x",
    "Caf\xe9: x",
    "",
    "body text",
]


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: Re : x\nFrom the desk\n\nbody\n",  # an envelope line read as the body's first
        b"Subject: Re : x\rFrom the desk\r\rbody\r",
        b"Subject: Re : x\r\nFrom the desk\r\n",
        b"Subject: Re : x\nX-Note: y",  # the last header line has no line break
        b"Subject: Re : x\nwrapped\n\nbody\n",
        b"From ana@customer.example Thu Nov 26 09:14:01 2026\nSubject: Re : x\n\nFrom me\n",
        b"Subject: Re : x\n\nbody\n",
    ],
)
def test_a_message_is_read_without_repair_only_when_repair_would_leave_it_unchanged(
    data: bytes,
) -> None:
    _assert_read_as_repair_would_read(data)


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(_HEADER_LINES), min_size=1, max_size=10),
    st.lists(st.sampled_from(["\n", "\r\n", "\r", ""]), min_size=10, max_size=10),
    st.sampled_from(["", "\n", "\r\n"]),
)
def test_a_message_read_without_repair_is_one_repair_would_leave_unchanged(
    lines: list[str], ends: list[str], lead: str
) -> None:
    data = (lead + "".join(line + end for line, end in zip(lines, ends, strict=False))).encode(
        "utf-8", "surrogateescape"
    )
    assume(data.strip())
    _assert_read_as_repair_would_read(data)


def _assert_read_as_repair_would_read(data: bytes) -> None:
    """The reading without repair gives the bytes, the notes and the message repair gives."""
    repaired: list[str] = []
    read: list[str] = []
    readable, message = _parse._parse_readable(data, read)
    assert readable == _parse._repaired(data, repaired)
    assert read == repaired
    assert _shape(message) == _shape(_parse._parse_bytes(readable))


def _shape(message: email.message.Message) -> object:
    return (
        list(message.raw_items()),
        message.get_unixfrom(),
        [type(defect) for defect in message.defects],
        message.get_payload() if not message.is_multipart() else None,
    )


_HEADER_BYTES = st.lists(
    st.sampled_from(
        [
            b"From: a@b.test",
            b"Date: Mon, 2 Mar 2026",
            b" folded",
            b"\tfolded",
            b"X: y",
            b"",
            b"from :x",
        ]
    ),
    max_size=8,
)


@given(
    lines=_HEADER_BYTES,
    body=st.binary(max_size=40),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    separated=st.booleans(),
)
def test_header_lines_and_body_without_carriage_returns_are_those_of_the_general_reading(
    lines: list[bytes], body: bytes, ending: bytes, separated: bool
) -> None:
    data = ending.join(lines) + (ending + ending + body if separated else b"")
    assert _header_lines_and_body(data) == _header_lines_and_body_in_general(data)


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_the_fingerprint_of_a_corpus_message_reads_its_headers_as_the_general_reading(
    path: Path,
) -> None:
    data = path.read_bytes()
    assert _header_lines_and_body(data) == _header_lines_and_body_in_general(data)
    lf = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert _header_lines_and_body(lf) == _header_lines_and_body_in_general(lf)
