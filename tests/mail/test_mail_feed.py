"""The feed parser intake uses reads every message as the standard library's feed parser does.

It differs only in how it matches the delimiter lines of a MIME boundary:
by the separator's text and one shared pattern, not by a pattern compiled for
each boundary (see :mod:`issuecore.mail._feed`).
"""

from __future__ import annotations

import email.feedparser
import email.message
import email.policy
import re
from email.policy import Policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore.mail._feed import BoundaryLine, BytesFeedParser, boundary_matcher


def _stock_pattern(separator: str) -> str:
    # what email.feedparser compiles for a boundary before Python 3.13
    return (
        "(?P<sep>" + re.escape(separator) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    )


_BOUNDARY_CHARS = "aB0'()+_,-./:=? *[]^$|{}\\\t"
separators = st.text(alphabet=_BOUNDARY_CHARS, min_size=1, max_size=12).map(
    lambda text: "--" + text
)
line_ends = st.sampled_from(["", "\n", "\r\n", "\r", "\n\n", "\r\r\n"])


@given(separators, st.sampled_from(["", "--", "-", "---"]), st.text(" \t-x", max_size=4), line_ends)
def test_a_boundary_line_matches_as_the_compiled_pattern_does(
    separator: str, end: str, blanks: str, line_end: str
) -> None:
    line = separator + end + blanks + line_end
    _same_match(separator, line)
    _same_match(separator, line[1:])
    _same_match(separator, "x" + line)


@given(separators, st.text(_BOUNDARY_CHARS + "-\r\n", max_size=30))
def test_any_line_matches_as_the_compiled_pattern_does(separator: str, line: str) -> None:
    _same_match(separator, line)
    _same_match(separator, separator + line)


def _same_match(separator: str, line: str) -> None:
    pattern = _stock_pattern(separator)
    matcher = boundary_matcher(pattern)
    assert isinstance(matcher, BoundaryLine)
    ours, stock = matcher.match(line), re.compile(pattern).match(line)
    assert (ours is None) == (stock is None)
    if ours is not None and stock is not None:
        for group in ("end", "ws", "linesep"):
            assert ours.group(group) == stock.group(group)


def test_other_patterns_are_compiled() -> None:
    for pattern in ["(?P<sep>a)", r"(\r\n|\r|\n)", _stock_pattern("--x") + "x"]:
        assert boundary_matcher(pattern) == re.compile(pattern)
    assert boundary_matcher(_stock_pattern("--x"), re.IGNORECASE) == re.compile(
        _stock_pattern("--x"), re.IGNORECASE
    )


boundaries = st.text(alphabet="aB0'()+_,-./:=?[]^$|{}\\", min_size=1, max_size=10)


def _multipart(boundary: str, pieces: list[str], nested: str | None) -> list[str]:
    quoted = boundary.replace("\\", "\\\\")
    lines = [f'Content-Type: multipart/mixed; boundary="{quoted}"', ""]
    for piece in pieces:
        lines.append(piece.replace("@", boundary))
    if nested is not None:
        lines.extend([f"--{boundary}", *_multipart(nested, ["--@", "", "inner", "--@--"], None)])
    return lines


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    boundary = draw(boundaries)
    nested = draw(st.none() | boundaries)
    pieces = draw(
        st.lists(
            st.sampled_from(
                [
                    "--@",
                    "--@--",
                    "--@ ",
                    "--@\t--",
                    "--@-- \t",
                    "--@x",
                    "--@--x",
                    "-@",
                    "@",
                    " --@",
                    "",
                    "text",
                    "Content-Type: text/plain",
                    "Content-Transfer-Encoding: base64",
                    "From: a@b.example",
                ]
            ),
            max_size=14,
        )
    )
    lines = ["From: a@b.example", "Subject: parts", *_multipart(boundary, pieces, nested)]
    ends = draw(st.lists(line_ends, min_size=len(lines), max_size=len(lines)))
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    return text.encode("utf-8", "surrogateescape") + draw(st.binary(max_size=4))


def _read(parser: email.feedparser.BytesFeedParser, data: bytes, cuts: list[int]) -> object:
    start = 0
    for cut in sorted(cuts):
        parser.feed(data[start:cut])
        start = max(start, cut)
    parser.feed(data[start:])
    return _shape(parser.close())


def _shape(message: email.message.Message) -> object:
    payload = message.get_payload()
    return (
        type(message).__name__,
        [(name, str(value)) for name, value in message.raw_items()],
        message.get_unixfrom(),
        message.preamble,
        message.epilogue,
        [type(defect).__name__ for defect in message.defects],
        [_shape(part) for part in payload if isinstance(part, email.message.Message)]
        if isinstance(payload, list)
        else payload,
    )


@given(
    messages(),
    st.lists(st.integers(0, 400), max_size=4),
    st.sampled_from([email.policy.compat32, email.policy.default]),
)
def test_a_multipart_message_reads_as_the_standard_feed_parser_reads_it(
    data: bytes, cuts: list[int], policy: Policy
) -> None:
    ours = _read(BytesFeedParser(policy=policy), data, cuts)
    stock = _read(email.feedparser.BytesFeedParser(policy=policy), data, cuts)
    assert ours == stock


def test_the_parser_compiles_no_pattern_for_a_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    original = re.compile

    def spy(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return original(pattern, flags)

    monkeypatch.setattr(re, "compile", spy)
    data = b'Content-Type: multipart/mixed; boundary="b$1"\n\n--b$1\n\nhi\n--b$1--\n'
    stock = _read(email.feedparser.BytesFeedParser(policy=email.policy.default), data, [])
    if "re" in getattr(email.feedparser.FeedParser, "_parsegen").__code__.co_names:  # noqa: B009
        assert any("(?P<sep>" in pattern for pattern in compiled)  # the stock parser does
    compiled.clear()
    ours = _read(BytesFeedParser(policy=email.policy.default), data, [])
    assert not any("(?P<sep>" in pattern for pattern in compiled)
    assert ours == stock
