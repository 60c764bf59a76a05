"""A one-part message read without the feed parser is the message the feed parser reads."""

from __future__ import annotations

import email.feedparser
import email.message
import email.policy
from email.policy import Policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_support import FIXTURES

from issuecore.mail import _parse
from issuecore.mail._plain import LARGEST, read_one_part
from strategies import header_fields

POLICIES = {
    "intake": _parse._POLICY,
    "default": email.policy.default,
    "compat32": email.policy.compat32,
}


def fed(data: bytes, policy: Policy) -> email.message.Message:
    parser = email.feedparser.BytesFeedParser(policy=policy)
    parser.feed(data)
    return parser.close()


def state(message: email.message.Message) -> object:
    """Everything the message holds, part by part, as a reader can see it."""
    return [
        (
            type(part),
            part.policy,
            part.get_unixfrom(),
            list(part.raw_items()),
            [(type(defect), str(defect)) for defect in part.defects],
            part.preamble,
            part.epilogue,
            part.get_default_type(),
            part.get_content_type(),
            part.get_payload() if not part.is_multipart() else len(part.get_payload()),
            part.get_charset(),
            part.as_bytes(),
        )
        for part in message.walk()
    ]


def assert_read_as_fed(data: bytes) -> bool:
    """Assert the reading equals the feed parser's under each policy; return if it read."""
    taken = set()
    for policy in POLICIES.values():
        read = read_one_part(data, policy)
        if read is not None:
            assert state(read) == state(fed(data, policy))
        taken.add(read is not None)
    assert len(taken) == 1  # the same decision whatever the policy
    return taken.pop()


_ODD_LINES = st.sampled_from(
    ["", " folded", "\tfolded", "no colon here", ": no name", "From me", "Na me: x", "é: x", " "]
)


@settings(max_examples=400)
@given(
    headers=st.lists(
        header_fields,
        max_size=8,
    ),
    odd=st.lists(st.tuples(st.integers(0, 8), _ODD_LINES), max_size=2),
    body=st.binary(max_size=120),
    ends=st.sampled_from(["lf", "crlf", "mixed"]),
    separated=st.booleans(),
    data=st.data(),
)
def test_a_generated_message_is_read_as_the_feed_parser_reads_it(
    headers: list[tuple[str, str, str]],
    odd: list[tuple[int, str]],
    body: bytes,
    ends: str,
    separated: bool,
    data: st.DataObject,
) -> None:
    lines = [f"{name}: {value}{fold}" for name, value, fold in headers]
    for position, line in odd:
        lines.insert(position, line)
    lines.append("")  # the empty line after the header block
    if not separated:
        lines.pop()
    if ends == "mixed":
        breaks = [data.draw(st.sampled_from(["\n", "\r\n"])) for _ in lines]
    else:
        breaks = ["\r\n" if ends == "crlf" else "\n"] * len(lines)
    text = "".join(line + end for line, end in zip(lines, breaks, strict=True))
    tail = body.replace(b"\r", b"")
    if ends == "crlf":
        tail = tail.replace(b"\n", b"\r\n")
    assert_read_as_fed(text.encode("utf-8") + tail)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda path: path.stem)
def test_a_fixture_is_read_as_the_feed_parser_reads_it(path: str) -> None:
    data = path.read_bytes()  # type: ignore[attr-defined]
    assert_read_as_fed(data)
    lf = data.replace(b"\r\n", b"\n")
    assert_read_as_fed(lf)
    assert_read_as_fed(lf.replace(b"\n", b"\r\n"))


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: a\n\nbody\n",
        b"Subject: a\r\n\r\nbody\r\n",
        b"Subject: a\n folded\n\tagain\nTo: b@example.com\n\n\xc3\xa9t\xe9\n",
        b"Subject: a\nContent-Type: text/html\n\n<p>x</p>",
        b"Subject: a\n \n\nthe blank continuation belongs to the subject\n",
        b"Subject: a\n\n",
        b"Subject:\n\nempty value\n",
        b"Subject:\t \ttabbed\nX:  \t\n\nbody\n",
    ],
)
def test_a_plain_message_is_read_without_the_parser(data: bytes) -> None:
    assert assert_read_as_fed(data)


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: a\r\n\nbody\n",  # line ends mixed
        b"Subject: a\rTo: b\r\rbody\r",  # carriage returns alone
        b"Subject: a\n\nbody\r\n",
        b"Subject: a\nTo: b@example.com\r\n\r\nbody\r\n",  # a lone line feed among CRLFs
        b"Subject: a\r\n\r\nbody\nmore\r\n",
        b"From someone Mon Mar  2 09:00:00 2026\nSubject: a\n\nbody\n",  # envelope line
        b"Subject: a\nFrom someone\n\nbody\n",
        b" Subject: a\n\nbody\n",  # a continuation first
        b"Subject a\n\nbody\n",  # no colon
        b": a\n\nbody\n",  # no name
        b"Sub ject: a\n\nbody\n",
        b"Subj\xc3\xa9ct: a\n\nbody\n",
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
        b"Content-Type: message/rfc822\n\nSubject: inner\n\nx\n",
        b"Subject: no empty line after the headers\n",
        b"Subject: no body",
        b"",
        b"\n\nbody\n",
    ],
)
def test_what_is_not_one_plain_part_is_left_to_the_parser(data: bytes) -> None:
    assert not assert_read_as_fed(data)


def test_a_message_over_the_limit_is_left_to_the_parser() -> None:
    head = b"Subject: big\n\n"
    body = b"x" * (LARGEST - len(head))
    assert assert_read_as_fed(head + body)
    assert not assert_read_as_fed(head + body + b"x")


def test_intake_reads_a_plain_message_without_the_feed_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the feed parser was asked")

    monkeypatch.setattr(_parse, "_FEED_PARSER", refuse)
    parsed = _parse.parse_message(
        b"From: Ann <ann@customer.test>\nTo: support@example.com\nSubject: Broken\n"
        b"Message-ID: <m1@customer.test>\n\nIt broke.\n"
    )
    assert isinstance(parsed, _parse.InboundMessage)
    assert parsed.text == "It broke.\n"
    assert parsed.subject == "Broken"


class _MarkingPolicy(email.policy.EmailPolicy):
    """A policy reading header sources its own way."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        return name.upper(), f"[{value}]"


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: a\n folded\nTo: b@example.com\n\nbody\n",
        b"Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=b\n\nx\n",
        b"Content-Type: multipart/mixed; boundary=b\nContent-Type: text/plain\n\nx\n",
        b"Content-Type: Multipart/Mixed; boundary=b\n\n--b\n\nx\n--b--\n",
        b"content-type: MESSAGE/rfc822\n\nSubject: inner\n\nx\n",
        b"Content-Type: text/x-multipart-message\n\nthe words alone\n",
    ],
)
def test_a_policy_reading_header_sources_its_own_way_is_followed(data: bytes) -> None:
    policy = _MarkingPolicy()
    read = read_one_part(data, policy)
    parsed = fed(data, policy)
    if read is not None:
        assert state(read) == state(parsed)
        assert all(name.isupper() for name in read)
    assert_read_as_fed(data)
