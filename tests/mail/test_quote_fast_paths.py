"""The shortcuts of quote stripping decide as the full rules do.

:func:`~issuecore.mail._quotes._plain` lets the walk pass a line without
trying each rule; these tests check that every rule it skips finds nothing on
such a line, and that :func:`~issuecore.mail.new_content` gives the same
output with the shortcut as without it.
"""

# The words of other scripts are the data here, not look-alikes of Latin letters.
# ruff: noqa: RUF001

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_quote_corpus import CORPUS

from issuecore.mail import _quotes
from issuecore.mail._quotes import (
    _decorated,
    _forward_marker,
    _header_at,
    _header_in_line,
    _history_from,
    _plain,
    _text_line,
)

FIXTURES = Path(__file__).parent / "fixtures"

# Pieces that trip the rules: verbs, openers, labels, decorations, digits of several scripts.
_PIECES = [
    "On",
    "Am",
    "Le",
    "wrote",
    "schrieb",
    "a écrit",
    "napisał(a)",
    "skrev",
    "From",
    "Sent",
    "Von",
    "Original Message",
    "Forwarded message",
    "Ursprüngliche Nachricht",
    "Sent from my iPhone",
    "bob@example.com",
    "<bob@example.com>",
    "(bob@example.com)",
    "2026",
    "25.11.2026",
    "16:02",
    "١٢",  # Arabic-Indic digits
    "²",  # a digit that is no decimal digit
    "--",
    "-- ",
    "----",
    "___",
    "==",
    "*",
    "~",
    "—",
    "–",
    ":",
    "：",
    ">",
    ")",
    "\t",
    " ",
    "\u200b",
    "hello",
    "Grüße",
]
_LINE = st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=8).map(" ".join)


def _rules_find_nothing(lines: list[_quotes._Line], index: int) -> bool:
    return (
        not _forward_marker(lines[index])
        and not _history_from(lines, index)
        and _header_at(lines, index) is None
        and _header_in_line(lines, index) is None
    )


@given(_LINE, st.lists(_LINE, max_size=6))
@example("Thanks, that worked.", [])
@example("Regards —", [])
@example("On Monday bob wrote", ["> quoted"])
@example("Bob wrote", ["<bob@example.com>:", "> quoted"])
def test_a_plain_line_starts_nothing_whatever_follows(first: str, rest: list[str]) -> None:
    lines = [_text_line(line) for line in [first, *rest]]
    if _plain(lines[0]):
        assert _rules_find_nothing(lines, 0)


@pytest.mark.parametrize(
    "line",
    [
        "On 25.11.2026 Bob wrote:",
        "-----Original Message-----",
        "From: Bob",
        "---",
        "Bob <bob@example.com> wrote:",
        "Am 25.11.2026 schrieb Bob (bob@example.com)",
        "Regards —",
        "On ١٢ Bob wrote",
        "Sent²",
    ],
)
def test_a_line_with_a_colon_digit_edge_or_bracket_is_not_plain(line: str) -> None:
    assert not _plain(_text_line(line))


def _without_shortcut(monkeypatch: pytest.MonkeyPatch, text: str, html: str | None) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(_quotes, "_plain", lambda line: False)
        return _quotes.new_content(text, html=html)


@given(st.lists(st.tuples(st.integers(0, 2), _LINE), max_size=14))
@example([(0, "Thanks."), (0, ""), (0, "On Monday, Bob wrote:"), (1, "old text")])
@example([(0, "Hi"), (0, "-- "), (0, "Bob"), (0, "Sent from my iPhone")])
def test_new_content_is_the_same_with_and_without_the_shortcut(
    lines: list[tuple[int, str]],
) -> None:
    text = "\n".join("> " * depth + line for depth, line in lines)
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _without_shortcut(monkeypatch, text, None)
    assert _quotes.new_content(text) == expected


def test_new_content_of_every_fixture_is_the_same_without_the_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from issuecore.mail import parse_message
    from issuecore.mail._parse import InboundMessage

    checked = 0
    for path in sorted(FIXTURES.rglob("*.eml")):
        message = parse_message(path.read_bytes())
        if not isinstance(message, InboundMessage):
            continue
        expected = _without_shortcut(monkeypatch, message.text, message.html)
        assert _quotes.new_content(message.text, html=message.html) == expected, path.name
        checked += 1
    assert checked >= 20


@pytest.mark.skipif(CORPUS is None, reason="the shared quote corpus is not present")
def test_new_content_of_the_quote_corpus_is_the_same_without_the_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from issuecore.mail import html_to_text, parse_message
    from issuecore.mail._parse import InboundMessage

    assert CORPUS is not None
    checked = 0
    for path in sorted((CORPUS / "cases").iterdir()):
        if ".expected." in path.name:
            continue
        data = path.read_bytes()
        if path.suffix == ".eml":
            message = parse_message(data)
            assert isinstance(message, InboundMessage)
            text, html = message.text, message.html
        else:
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            text, html = (html_to_text(text), text) if path.suffix == ".html" else (text, None)
        expected = _without_shortcut(monkeypatch, text, html)
        assert _quotes.new_content(text, html=html) == expected, path.name
        checked += 1
    assert checked >= 100


@given(st.text(alphabet="-=_*~—– \tab:", max_size=12))
@example("-- ")
@example("—")
@example("*-")
@example("  ")
def test_decorated_counts_rule_characters_at_the_edges(value: str) -> None:
    lead = len(value) - len(value.lstrip(_quotes._LEAD))
    trail = len(value) - len(value.rstrip(_quotes._TRAIL))
    edges = value[:lead] + value[len(value) - trail :]
    counted = sum(char in _quotes._RULE_CHARS for char in edges)
    edged = value[:1] in _quotes._DECORATION_CHARS or value[-1:] in _quotes._DECORATION_CHARS
    assert _decorated(value) == (edged and counted >= 2)


_SPACED = st.text(alphabet=" \t>\u00a0\u200b\u200e\u2060\ufeff\u00adab", max_size=12)


@given(_SPACED | st.text(max_size=12))
@example("a\u200bb")
@example("\u00a0x")
def test_clean_drops_invisible_characters_and_squeezes_blanks(value: str) -> None:
    assert _quotes._clean(value) == " ".join(value.translate(_quotes._INVISIBLE).split())


@given(_SPACED | st.text(max_size=12))
@example("   > x")
@example("    > x")
@example("\t>>x")
@example(">")
def test_text_line_reads_the_quote_marks_the_pattern_finds(raw: str) -> None:
    marks = _quotes._QUOTE_MARKS.match(raw)
    line = _text_line(raw)
    if marks is None:
        assert (line.body, line.depth) == (_quotes._clean(raw), 0)
    else:
        depth = marks.group(1).count(">")
        assert (line.body, line.depth) == (_quotes._clean(raw[marks.end() :]), depth)
