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


# --- the whole-text shortcuts: lines made at once, the walk between stops, rules, signatures ---

# Whole lines that start or end what the rules look for, in several languages and clients.
_HEADERS = [
    "On Wed, Nov 25, 2026 at 4:02 PM Bob <bob@example.com> wrote:",
    "On Wed, Nov 25, 2026 at 4:02 PM Bob <",
    "bob@example.com> wrote:",
    "Am 25.11.2026 um 16:02 schrieb Bob <bob@example.com>:",
    "Le mer. 25 nov. 2026 à 16:02, Bob a écrit :",
    "reply--- On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:",
    "-----Original Message-----",
    "----- Ursprüngliche Nachricht -----",
    "---------- Forwarded message ---------",
    "Begin forwarded message:",
    "From: Bob <bob@example.com>",
    "Sent: Wednesday, November 25, 2026 4:02 PM",
    "To: support@example.com",
    "Subject: Printer",
    "*From:* bob@example.com [mailto:",
    "-- ",
    "--",
    "________________________________",
    "* * *",
    "riak-users mailing list",
    "Sent from my iPhone",
    "\u200b-- ",
    "\u00a0On 25.11.2026 Bob wrote:\u200e",
    "Thanks — Bob",
    "１２：３０",  # full-width digits and colon
]
_TEXT_LINE = st.sampled_from(_HEADERS) | _LINE
_MARKS = st.sampled_from(["", "", "", "> ", ">", ">> ", " > ", "   >", "    > ", "\t>", "> > "])
_BREAKS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\x0c", "\u2028", "\x85"])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    """Return a reply: lines with or without quote marks, mostly broken by "\\n"."""
    lines = draw(st.lists(st.tuples(_MARKS, _TEXT_LINE), max_size=16))
    breaks = draw(st.lists(_BREAKS, min_size=len(lines), max_size=len(lines)))
    ending = draw(st.sampled_from(["", "\n"]))
    return "".join(f"{marks}{line}{brk}" for (marks, line), brk in zip(lines, breaks, strict=True))[
        : -1 if lines and not ending else None
    ]


_TEXTS = _texts() | st.text(max_size=40)


@given(_TEXTS)
@example("Hi\n> \u200bquoted\n>> deeper")
@example("Grüße\n\u00a0-- \n> x")
@example("plain\n\ttext")
def test_text_lines_are_the_lines_one_at_a_time(text: str) -> None:
    raws = text.splitlines()
    assert _quotes._text_lines(raws, text) == [_text_line(raw) for raw in raws]


@given(_TEXTS)
@example("Hi\nbob@example.com>\n(see below)\n-- \nBob")
@example("Hi\n\u200b--\n١٢ x")
@example("a\rb:\nc")
@example("x\n \t\x1f*")
def test_text_stops_hold_every_line_the_walk_cannot_pass(text: str) -> None:
    lines = _quotes._text_lines(text.splitlines(), text)
    stops = _quotes._text_stops(text, lines)
    assert stops == sorted(set(stops))
    assert set(_quotes._stops(lines)) <= set(stops)


@given(st.text(alphabet="-_=*~—– ", min_size=1, max_size=8), st.lists(_TEXT_LINE, max_size=4))
@example("--", ["riak-users mailing list"])
@example("-----", ["", "From: Bob <bob@example.com>", "Sent: Monday, 2026-11-23"])
@example("—", ["Original Message"])
def test_a_rule_line_is_tried_only_as_a_rule(rule: str, rest: list[str]) -> None:
    lines = [_text_line(line) for line in [rule, *rest]]
    if lines[0].body and not lines[0].body.strip(_quotes._RULE_AND_SPACE):
        assert not _forward_marker(lines[0])
        assert _header_at(lines, 0) is None
        assert _header_in_line(lines, 0) is None
        assert _history_from(lines, 0) == _quotes._history_below_rule(lines, 0)


def _walked_signature(lines: list[_quotes._Line], keep: list[bool], last: int, first: int) -> None:
    """Hide a signature as walking up from ``last`` line by line finds it (the general rule)."""
    counted = widest = 0
    index = last
    while index >= 0 and keep[index]:
        line = lines[index]
        stripped = line.shown.rstrip("\r\n")
        if line.depth == 0 and stripped in ("-- ", "--"):
            allowed = 15 if stripped == "-- " else 2
            width = 100 if stripped == "-- " else 60
            if 0 < counted <= allowed and widest <= width and first < index:
                for dropped in range(index, last + 1):
                    keep[dropped] = False
            return
        if not line.blank:
            counted += 1
            widest = max(widest, len(line.body))
            if counted > 15 or len(line.body) > 100:
                return
        index -= 1


_SIGNATURE_LINE = st.sampled_from(["-- ", "--", "> -- ", "", " ", "Bob", "x" * 61, "y" * 101]) | (
    _LINE
)


@given(
    st.lists(st.tuples(_SIGNATURE_LINE, st.booleans()), min_size=1, max_size=24),
    st.integers(0, 23),
    st.integers(0, 23),
)
@example([("Hi", True), ("-- ", True), ("Bob", True)], 2, 0)
@example([("-- ", True), ("Bob", True)], 1, 0)
@example([("Hi", True), ("--", True), ("Bob", True), ("Smith", True), ("Co", True)], 4, 0)
@example([("Hi", True), ("-- ", True), ("Bob", False), ("Ann", True)], 3, 0)
def test_a_signature_is_found_from_the_delimiter_list_as_walking_up_finds_it(
    rows: list[tuple[str, bool]], last: int, first: int
) -> None:
    lines = [_text_line(raw) for raw, _ in rows]
    keep = [kept for _, kept in rows]
    last, first = last % len(rows), first % len(rows)
    if not keep[last]:
        return  # the walk starts at a kept line
    delimiters = [
        index
        for index, line in enumerate(lines)
        if line.depth == 0 and line.shown.rstrip("\r\n") in ("-- ", "--")
    ]
    expected = list(keep)
    _walked_signature(lines, expected, last, first)
    if delimiters and delimiters[0] <= last:
        _quotes._hide_delimited_signature(lines, keep, last, first, delimiters)
    assert keep == expected


def _rendered_line_by_line(
    lines: list[_quotes._Line], keep: list[bool], replaced: dict[int, str]
) -> str:
    """Return the kept lines as the general rule shows them, looking back at the last one."""
    shown: list[str] = []
    gap = False
    for index, line in enumerate(lines):
        if not keep[index]:
            gap = True
            continue
        if line.kind is not _quotes._Kind.TEXT:
            continue
        value = replaced.get(index, line.shown)
        if not value.strip():
            if shown and shown[-1].strip():
                shown.append("")
            continue
        if gap and shown and shown[-1].strip():
            shown.append("")
        gap = False
        shown.append(value.rstrip("\r"))
    while shown and not shown[-1].strip():
        shown.pop()
    return "\n".join(shown)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", " ", "\t\r", "text", "x\r", "\u00a0"]) | _LINE,
            st.booleans(),
            st.sampled_from(list(_quotes._Kind)),
        ),
        max_size=12,
    ),
    st.dictionaries(st.integers(0, 11), st.sampled_from(["", "reply", " "]), max_size=3),
)
def test_render_shows_what_looking_back_line_by_line_shows(
    rows: list[tuple[str, bool, _quotes._Kind]], replaced: dict[int, str]
) -> None:
    lines = [_quotes._Line(shown, shown.strip(), kind=kind) for shown, _, kind in rows]
    keep = [kept for _, kept, _ in rows]
    rendered = _quotes._render(_quotes._shown(lines), keep, replaced)
    assert rendered == _rendered_line_by_line(lines, keep, replaced)


def _by_the_general_rules(monkeypatch: pytest.MonkeyPatch, text: str, html: str | None) -> str:
    """Return ``new_content`` with every line made alone and tried by every rule."""
    with monkeypatch.context() as patch:
        patch.setattr(_quotes, "_plain", lambda line: False)
        patch.setattr(_quotes, "_text_stops", lambda text, lines: None)
        patch.setattr(_quotes, "_RULE_AND_SPACE", "")  # str.strip("") strips nothing
        patch.setattr(_quotes, "_text_lines", lambda raws, text: [_text_line(raw) for raw in raws])
        return _quotes.new_content(text, html=html)


@given(_TEXTS)
@example("Hello,\n\nthe box was crushed.\n\n-- \nCustomer\n" * 3)
@example("Thanks\n-----\nFrom: Bob <bob@example.com>\nSent: 25.11.2026\nTo: a@b.c\n\nold")
@example("Hi\n\n--\nriak-users mailing list")
@example("Hi\n\nOn 25.11.2026 Bob wrote:\n> old\nnew\n-- \nAnn")
@example("Hi\n---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\n-- \nBob")
def test_new_content_is_the_same_by_the_general_rules(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _by_the_general_rules(monkeypatch, text, None)
    assert _quotes.new_content(text) == expected


def test_every_fixture_and_corpus_reply_is_the_same_by_the_general_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from issuecore.mail import html_to_text, parse_message
    from issuecore.mail._parse import InboundMessage

    paths = sorted(FIXTURES.rglob("*.eml"))
    if CORPUS is not None:
        paths += sorted(
            path for path in (CORPUS / "cases").iterdir() if ".expected." not in path.name
        )
    checked = 0
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".eml":
            message = parse_message(data)
            if not isinstance(message, InboundMessage):
                continue
            text, html = message.text, message.html
        else:
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            text, html = (html_to_text(text), text) if path.suffix == ".html" else (text, None)
        expected = _by_the_general_rules(monkeypatch, text, html)
        assert _quotes.new_content(text, html=html) == expected, path.name
        checked += 1
    assert checked >= 20


def _opener_words_tried_one_by_one(words: list[str]) -> int:
    for size in range(min(_quotes._LEX.longest_opener, len(words) - 1), 0, -1):
        if " ".join(words[:size]).rstrip(",") in _quotes._LEX.openers:
            return size
    return 0


_OPENER_WORDS = st.sampled_from(
    sorted({word for opener in _quotes._LEX.openers for word in opener.split(" ")})
)


@given(
    st.lists(
        st.tuples(
            _OPENER_WORDS | st.sampled_from(["", "x", "2026"]), st.sampled_from(["", ",", ",,"])
        ),
        max_size=5,
    )
)
@example([("on", ","), ("25.11.2026", "")])
@example([("il", ""), ("giorno", ","), ("mer", "")])
@example([("w", ""), ("dniu", "")])
def test_opener_words_decide_by_the_first_word_as_trying_each_size_does(
    pieces: list[tuple[str, str]],
) -> None:
    words = [word + commas for word, commas in pieces if word + commas]
    assert _quotes._opener_words(words) == _opener_words_tried_one_by_one(words)


_LABELS = st.sampled_from(sorted(_quotes._LEX.labels))


@given(st.lists(_LABELS | st.text(alphabet="ab *:：\u00a0", max_size=6), max_size=4).map("".join))
@example("From：x: y")
@example("*From:* Bob")
@example("Sent： Monday")
def test_field_splits_at_the_first_colon_of_either_width(body: str) -> None:
    line = _text_line(body)
    text = line.body.lstrip("*").lstrip()
    window = text[: _quotes._LEX.longest_label + 6]
    first = next((index for index, char in enumerate(window) if char in ":："), -1)
    label = " ".join(text[: max(first, 0)].replace("*", " ").split()).lower()
    role = _quotes._LEX.labels.get(label) if first > 0 else None
    expected = None if role is None else (role, text[first + 1 :].strip(" *"))
    assert _quotes._field(line) == expected
