"""The new content of a reply: the text without the quoted earlier conversation.

:func:`new_content` never changes the full text; it returns a second,
shorter version for reading a thread as a conversation. It removes only what
is shown to be quoted:

- a reply header ("On … wrote:" and its forms in many languages, date-first
  headers, headers wrapped over several lines or wrapped in dashes) followed
  by quoted lines, or by the rest of the message when the header carries a
  date or an address;
- a block of ``>`` lines when a reply header introduces it, when it holds a
  quoted header itself, or when an earlier block of the same message was
  shown to be quoted (an interleaved reply);
- a recognised separator followed by history: "-----Original Message-----"
  in any listed language, an Outlook-style From/Sent/To/Subject block, or a
  rule line above either.

Text after a quoted block is kept, so bottom-posted and interleaved replies
keep every answer. A forwarded message is content and is kept. A closing
signature after a "-- " line and a client line such as "Sent from my
iPhone" are hidden (see the threading guide for these decisions). When in
doubt, a line is kept. The words matched come from
:mod:`issuecore.mail._quote_rules`, a table keyed by language.

Every step looks at each line a bounded number of times, and patterns are
fixed-width or bounded, so the work is linear in the size of the text. A
line without a colon, a digit, a decorated edge or a closing ``>`` or ``)``
can start none of the above, and the walk passes it at once; in a text
without quoted lines it goes straight from one line that may start something
to the next, found for the whole text (one search per line with a sign).
"""

from __future__ import annotations

import bisect
import enum
import html as html_module
import re
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

from issuecore.mail._parse import html_to_text
from issuecore.mail._quote_rules import (
    DECORATION,
    HEADER_LINE_SPLITS,
    FieldRole,
    HeaderOrder,
    lexicon,
)

__all__ = ["new_content"]

_LEX: Final = lexicon()
_BRANDS_WITH_SPACE: Final = tuple(f"{brand} " for brand in _LEX.client_signature_brands)
_LINE_LIMIT: Final = 400  # longer lines are never headers, so matching stays linear
_CONTINUATION_LIMIT: Final = 120  # a line a header is wrapped onto is short
_BLOCK_LIMIT: Final = 12  # an Outlook-style header block has at most this many lines
_SIGNATURE_LINES: Final = 15  # lines a "-- " signature may have
_BARE_SIGNATURE_LINES: Final = 2  # lines a signature after a bare "--" may have
_SIGNATURE_WIDTH: Final = 100
_BARE_SIGNATURE_WIDTH: Final = 60
_CLIENT_LINE_WORDS: Final = 8
_DELIMITERS: Final = ("-- ", "--")  # a line that opens a signature

_QUOTE_MARKS: Final = re.compile(r"[ \t]{0,3}((?:>[ \t]?)+)")
_TIME: Final = re.compile(r"\d{1,2} ?[:.h] ?\d{2}")
_YEAR: Final = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NUMERIC_DATE: Final = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_ADDRESS: Final = re.compile(r"[\w.+-]@[\w-]")
_WORD: Final = re.compile(r"\S+")
_DASHES: Final = re.compile(r"-{2,}")
_RULE_CHARS: Final = frozenset("-_=*~\u2014\u2013")
_LEAD: Final = DECORATION
_TRAIL: Final = DECORATION
_DECORATION_CHARS: Final = frozenset(DECORATION)
_DECORATION_BLANKS: Final = tuple(sorted(_DECORATION_CHARS - _RULE_CHARS))
_WITHOUT_DECORATION_BLANKS: Final = dict.fromkeys(map(ord, _DECORATION_BLANKS))
_COLONS: Final = (":", "\uff1a")
_ASCII_DIGIT: Final = re.compile(r"[0-9]")
# The verbs ending in each last word, longest first, sorted once rather than per line.
_VERBS_BY_LAST_WORD: Final = {
    word: tuple(sorted(verbs, key=len, reverse=True))
    for word, verbs in _LEX.verbs_by_last_word.items()
}
_INVISIBLE: Final = dict.fromkeys(
    [0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F)]
)
_OPENER_VERB_ORDERS: Final = frozenset(
    {HeaderOrder.OPENER_DATE_NAME_VERB, HeaderOrder.OPENER_DATE_VERB_NAME}
)
_OPENER_FIRST_WORDS: Final = frozenset(opener.split(" ")[0] for opener in _LEX.openers)
_DATE_VERB_ORDERS: Final = frozenset({HeaderOrder.DATE_NAME_VERB, HeaderOrder.DATE_VERB_NAME})
_POSSIBLE_ENDINGS: Final = (":", "\uff1a", ">", ")")
# What a line needs to be anything but text (see _plain): a digit or a colon inside it.
_ASCII_SIGNS: Final = re.compile(r"[0-9:]")
_COLON_SIGNS: Final = re.compile(r"[:\uff1a]")
_EDGES: Final = "".join(sorted(_DECORATION_CHARS))  # a plain line starts with none of these
_END_EDGES: Final = _EDGES + ">)"  # and ends with none of these
_OTHER_BREAKS: Final = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_QUOTED_LINE: Final = re.compile(r"\n[ \t]{0,3}>")  # a line after the first with quote marks
_SIGNS_OR_WIDE: Final = re.compile(r"[0-9:\x80-\U0010ffff]")
_RULE_AND_SPACE: Final = "".join(sorted(_RULE_CHARS)) + " "


class _Kind(enum.Enum):
    TEXT = "text"
    RULE = "rule"  # an HTML <hr> or bordered separator
    SEPARATOR = "separator"  # an HTML container that holds only history (Outlook's reply block)


class _Line(NamedTuple):  # a tuple: made for every line, read many times
    shown: str  # the line as the new content shows it
    body: str  # the line without quote markers, cleaned for matching
    depth: int = 0
    kind: _Kind = _Kind.TEXT
    cited: bool = False  # inside HTML marked as a citation (blockquote type="cite")

    @property
    def blank(self) -> bool:
        return self.kind is _Kind.TEXT and not self.shown.strip()


class _Strength(enum.Enum):
    WEAK = "weak"  # a header only when quoted lines follow it
    STRONG = "strong"  # dated or addressed: starts the history even without quote markers


def new_content(text: str, html: str | None = None) -> str:
    """Return ``text`` without quoted history; the full text if nothing is left.

    ``html`` is the message's HTML body. When ``text`` was derived from it (an
    HTML-only message), quotes are found by the HTML's structure (blockquote,
    Gmail's, Outlook's, Thunderbird's and Apple Mail's containers) before it is
    reduced to text.
    """
    if html and html.strip() and (not text.strip() or text == html_to_text(html)):
        lines = _html_lines(html)
        from_html = _strip(lines, _stops(lines))
        if from_html is None:  # nothing quoted: the text itself
            from_html = text if text.strip() else _render(_shown(lines), [True] * len(lines), {})
        if from_html.strip():
            return from_html
    raws = text.splitlines()
    lines = _text_lines(raws, text)
    # with quoted lines, most lines stop the walk: finding the stops would save nothing
    quoted = ">" in text and (_QUOTED_LINE.search(text) or _QUOTE_MARKS.match(text))
    result = _strip(lines, None if quoted else _text_stops(text, lines), raws)
    return result if result is not None and result.strip() else text


def _clean(value: str) -> str:
    if value.isascii():  # every invisible character is outside ASCII
        return " ".join(value.split())
    return " ".join(value.translate(_INVISIBLE).split())


def _text_line(raw: str) -> _Line:
    # quote marks start within the first four characters: up to three blanks, then ">"
    marks = _QUOTE_MARKS.match(raw) if ">" in raw[:4] else None
    if marks is None:
        return _Line(raw, _clean(raw))
    return _Line(raw, _clean(raw[marks.end() :]), marks.group(1).count(">"))


def _text_lines(raws: list[str], text: str) -> list[_Line]:
    """Return ``_text_line`` of each of ``raws``, the lines of ``text``, decided for all at once."""
    new, text_kind = tuple.__new__, _Kind.TEXT  # tuple.__new__: one Python call less per line
    ascii_only = text.isascii()  # then no line has an invisible character to drop
    if ">" not in text:
        if ascii_only:
            return [new(_Line, (raw, " ".join(raw.split()), 0, text_kind, False)) for raw in raws]
        return [new(_Line, (raw, _clean(raw), 0, text_kind, False)) for raw in raws]
    lines: list[_Line] = []
    invisible = _INVISIBLE
    for raw in raws:  # _text_line and _clean, written out
        marks = _QUOTE_MARKS.match(raw) if ">" in raw[:4] else None
        rest, depth = (raw, 0) if marks is None else (raw[marks.end() :], marks.group(1).count(">"))
        if not ascii_only and not rest.isascii():
            rest = rest.translate(invisible)
        lines.append(new(_Line, (raw, " ".join(rest.split()), depth, text_kind, False)))
    return lines


def _stops(lines: Sequence[_Line]) -> list[int]:
    """Return, in order, the index of each line the walk cannot pass at once (see _strip)."""
    return [index for index, line in enumerate(lines) if line.depth or not _plain(line)]


def _text_stops(text: str, lines: Sequence[_Line]) -> list[int]:
    """Return ``_stops(lines)`` for the lines of ``text``, or more, deciding for the whole text.

    A line that is not plain has a decorated edge, ">" or ")" at its end, a colon or a
    digit (see _plain), or is quoted. The lines with a sign (a colon, an ASCII digit, or
    any character outside ASCII, which may be a digit or an invisible edge) are found by
    one search per such line when "\n" alone breaks lines; the rest by their edges.
    """
    if any(map(text.__contains__, _OTHER_BREAKS)):
        return _stops(lines)  # line numbers are not counts of "\n"
    signs = _ASCII_SIGNS if text.isascii() else _SIGNS_OR_WIDE
    signed: set[int] = set()
    line = position = 0  # the line that starts at ``position``
    while (found := signs.search(text, position)) is not None:
        line += text.count("\n", position, found.start())
        signed.add(line)
        position = text.find("\n", found.start()) + 1
        if not position:
            break
        line += 1
    return [
        index
        for index, each in enumerate(lines)
        if each.depth
        or index in signed
        or (each.body and (each.body[0] in _EDGES or each.body[-1] in _END_EDGES))
    ]


# --- recognising one line or a few joined lines -------------------------------------------


def _decorated(value: str) -> bool:
    if value[:1] not in _DECORATION_CHARS and value[-1:] not in _DECORATION_CHARS:
        return False  # no decoration at either edge (the common case, decided at once)
    head = len(value) - len(value.lstrip(_LEAD))
    tail = len(value) - len(value.rstrip(_TRAIL))
    edges = value[:head] + value[len(value) - tail :]
    # the edges hold decoration only: rule characters and the rest (blanks), left out
    return len(edges.translate(_WITHOUT_DECORATION_BLANKS)) >= 2


def _ending_verb(low: str) -> str | None:
    cut = max(low.rfind(" "), low.rfind(">"), low.rfind(")"), low.rfind('"'))
    last = low[cut + 1 :]
    for verb in _VERBS_BY_LAST_WORD.get(last, ()):
        start = len(low) - len(verb)
        if low.endswith(verb) and (start == 0 or not low[start - 1].isalnum()):
            return verb
    if not low.endswith(_LEX.joined_verbs):
        return None
    for verb in _LEX.joined_verbs:
        if low.endswith(verb):
            return verb
    return None


def _opener_words(words: Sequence[str]) -> int:
    if len(words) < 2 or (
        words[0] not in _OPENER_FIRST_WORDS and words[0].rstrip(",") not in _LEX.openers
    ):
        return 0  # every opener starts with its first word; one word may end in commas
    for size in range(min(_LEX.longest_opener, len(words) - 1), 0, -1):
        if " ".join(words[:size]).rstrip(",") in _LEX.openers:
            return size
    return 0


def _date_first(words: Sequence[str]) -> bool:
    return _has_digit("".join(words[:3]))  # a digit in one of the first three words


def _dated(value: str) -> bool:
    return bool(_YEAR.search(value) or _NUMERIC_DATE.search(value) or _TIME.search(value))


def _reply_header(value: str) -> _Strength | None:
    """Return how strongly ``value`` (a cleaned line, or lines joined) reads as a reply header."""
    if not value or len(value) > _LINE_LIMIT:
        return None
    core = value.lstrip(_LEAD).rstrip(_TRAIL)
    if not core:
        return None
    terminated = core.endswith((":", "\uff1a"))
    body = core.rstrip(":\uff1a").rstrip()
    if not body or body.isspace():  # no word
        return None
    low = body.lower()
    verb = _ending_verb(low)
    if verb is None and not terminated and not body.endswith((">", ")")):
        return None  # every rule below needs an ending verb, a colon, or ">" or ")" at the end
    decorated = _decorated(value)
    words = low.split()
    opener = _opener_words(words)
    date_first = not opener and _date_first(words)
    addressed = _ADDRESS.search(body) is not None
    dated = _dated(body)
    if verb is not None:
        orders = _LEX.orders_by_verb.get(verb, frozenset())
        if not (terminated or decorated or (dated and addressed)):
            return None
        shaped = (opener and orders & _OPENER_VERB_ORDERS) or (
            date_first and orders & _DATE_VERB_ORDERS
        )
        if shaped and (dated or addressed):
            return _Strength.STRONG
        if shaped and decorated:
            return _Strength.WEAK
        if HeaderOrder.NAME_VERB in orders and (addressed or decorated):
            return _Strength.STRONG if addressed and dated else _Strength.WEAK
        return None
    if terminated and (opener or date_first) and (dated or addressed):
        for index, word in enumerate(words[1:], start=1):
            if (
                word in _LEX.verbs_before_name
                and len(" ".join(words[index:])) <= _CONTINUATION_LIMIT
            ):
                verb_orders = _LEX.orders_by_verb.get(word, frozenset())
                wanted = HeaderOrder.OPENER_DATE_VERB_NAME if opener else HeaderOrder.DATE_VERB_NAME
                if wanted in verb_orders:
                    return _Strength.STRONG
    if date_first and addressed and (_YEAR.search(body) or _NUMERIC_DATE.search(body)):
        if terminated and body.endswith((">", ")")):
            return _Strength.STRONG
        if body.endswith((">", ")")):
            return _Strength.WEAK
    return None


def _phrase(value: str) -> str:
    """Return a separator line without decoration or colon, in lower case."""
    return value.strip(_LEAD).rstrip(":\uff1a").strip(_LEAD).lower()


def _original_message(line: _Line) -> bool:
    if line.kind is not _Kind.TEXT or len(line.body) > _CONTINUATION_LIMIT:
        return False
    return _decorated(line.body) and _phrase(line.body) in _LEX.original_message


def _forward_marker(line: _Line) -> bool:
    if line.kind is not _Kind.TEXT or len(line.body) > _CONTINUATION_LIMIT:
        return False
    if not line.body.endswith(_COLONS) and not _decorated(line.body):
        return False
    return _phrase(line.body) in _LEX.forwarded  # decorated or ending in a colon, as it must


def _rule(line: _Line) -> bool:
    if line.kind is _Kind.RULE:
        return True
    if line.body[:1] not in _RULE_CHARS:
        return False  # a rule starts with a rule character (the body has no leading space)
    body = line.body.replace(" ", "")
    return len(body) >= 5 and all(char in _RULE_CHARS for char in body)


def _short_rule(line: _Line) -> bool:
    if line.body[:1] not in _RULE_CHARS:
        return False
    body = line.body.replace(" ", "")
    return len(body) >= 2 and all(char in _RULE_CHARS for char in body)


def _field(line: _Line) -> tuple[FieldRole, str] | None:
    if ":" not in line.body and "\uff1a" not in line.body:
        return None
    body = line.body.lstrip("*").lstrip()
    window = body[: _LEX.longest_label + 6]
    colon = window.find(":")
    if "\uff1a" in window:
        wide = window.find("\uff1a")
        colon = wide if colon < 0 else min(colon, wide)
    if colon <= 0:
        return None
    label = " ".join(body[:colon].replace("*", " ").split()).lower()
    role = _LEX.labels.get(label)
    if role is None:
        return None
    return role, body[colon + 1 :].strip(" *")


def _header_block(lines: Sequence[_Line], start: int, *, relaxed: bool) -> bool:
    """Return whether an Outlook-style header block (From/Sent/To/Subject) starts at ``start``."""
    first = _field(lines[start])
    if first is None or (not relaxed and first[0] not in (FieldRole.FROM, FieldRole.DATE)):
        return False
    roles: set[FieldRole] = set()
    people_addressed = dated = False
    previous: str | None = None
    for line in lines[start : start + _BLOCK_LIMIT]:
        if line.depth != lines[start].depth or line.kind is not _Kind.TEXT:
            break
        field = _field(line)
        if field is None:
            wrapped = previous is not None and line.body and len(line.body) <= 80
            if not wrapped or not _unfinished(previous or "", line.body):
                break
            value = line.body
            role = next(iter(roles)) if len(roles) == 1 else None
            previous = None
        else:
            role, value = field
            roles.add(role)
            previous = value
        if role in (FieldRole.FROM, FieldRole.TO, FieldRole.CC) or field is None:
            people_addressed = people_addressed or "@" in value or "mailto" in value.lower()
        if role is FieldRole.DATE:
            dated = dated or _dated(value)
    if FieldRole.FROM not in roles and FieldRole.DATE not in roles:
        return False
    if relaxed:
        return len(roles) >= 2
    return people_addressed and (len(roles) >= 3 or (len(roles) >= 2 and dated))


def _unfinished(value: str, following: str) -> bool:
    """Return whether a header value goes on over the next line ("[mailto:" / "bob@x.com]")."""
    opened = value.count("<") > value.count(">") or value.count("[") > value.count("]")
    return opened or following.startswith(("<", "[", ">", "]")) or "@" in following


def _header_at(lines: Sequence[_Line], start: int) -> tuple[_Strength, int] | None:
    """Return the strength and last line of a reply header starting at ``start``."""
    line = lines[start]
    if line.kind is not _Kind.TEXT or not line.body:
        return None
    strength = _reply_header(line.body)
    if strength is not None:
        return strength, start
    if len(line.body) > 200 or not _has_digit(line.body):
        return None
    words = line.body.lower().split()
    if not (_opener_words(words) or _date_first(words)) or _field(line) is not None:
        return None
    joined = line.body
    for index in range(start + 1, min(start + HEADER_LINE_SPLITS, len(lines))):
        following = lines[index]
        if following.kind is not _Kind.TEXT:
            return None
        piece = following.body
        if following.depth != line.depth:
            # "<bob@example.com\n>:" puts the end of the header behind a quote marker
            piece = _clean(following.shown)
            if len(piece) > 20 or not piece.endswith((":", "\uff1a")):
                return None
        if not piece or len(piece) > _CONTINUATION_LIMIT:
            return None
        if (
            _opener_words(piece.lower().split())
            and _ending_verb(piece.rstrip(":\uff1a ").lower()) != piece.rstrip(":\uff1a ").lower()
        ):
            return None  # the next line starts a sentence or a header of its own
        joined = f"{joined} {piece}"
        strength = _reply_header(joined)
        if strength is not None:
            return strength, index
    return None


def _plain(line: _Line) -> bool:
    """Return whether ``line`` (unquoted) can start no header, separator, rule or forward.

    Every one of them needs a colon, a digit, a decorated edge, or a ``>`` or
    ``)`` at the end: a dated or terminated reply header, a field of a header
    block, a rule, a decorated separator. A line with none of these is text
    whatever follows it, so the walk passes it by without trying each rule.
    """
    if line.kind is not _Kind.TEXT:
        return False
    body = line.body
    if not body:
        return True
    last = body[-1]
    if body[0] in _DECORATION_CHARS or last in _DECORATION_CHARS or last in ">)":
        return False
    if body.isascii():
        return _ASCII_SIGNS.search(body) is None
    return _COLON_SIGNS.search(body) is None and not any(char.isdigit() for char in body)


def _has_digit(value: str) -> bool:
    if value.isascii():
        return _ASCII_DIGIT.search(value) is not None
    return any(char.isdigit() for char in value)


def _header_in_line(lines: Sequence[_Line], index: int) -> tuple[str, _Strength] | None:
    """Return the reply text before a header that shares its line ("reply--- On … wrote:")."""
    line = lines[index]
    if line.depth or len(line.body) > _LINE_LIMIT or not line.body.endswith(_POSSIBLE_ENDINGS):
        return None
    starts = [match.start() for match in _DASHES.finditer(line.shown)]
    starts += [
        match.start()
        for match in _WORD.finditer(line.shown)
        if match.group().lower() in _LEX.openers
    ]
    for start in sorted(start for start in starts if start > 0)[:3]:
        strength = _reply_header(_clean(line.shown[start:]))
        if strength is not None:
            before = line.shown[:start].rstrip().rstrip("-").rstrip()
            words = before.lower().split()
            if words and not (_opener_words([*words, ""]) or _date_first(words)):
                return before, strength
    return None


def _quotes_follow(lines: Sequence[_Line], after: int) -> int | None:
    """Return the index of the quoted block after blank lines following ``after``, if any."""
    index = after + 1
    while index < len(lines) and lines[index].blank:
        index += 1
    if index < len(lines) and lines[index].depth > 0:
        return index
    return None


def _history_from(lines: Sequence[_Line], index: int) -> bool:
    """Return whether history runs from ``index`` to the end: a separator, or a rule above one."""
    line = lines[index]
    if (
        line.kind is _Kind.SEPARATOR
        or _original_message(line)
        or _header_block(lines, index, relaxed=False)
    ):
        return True
    return _history_below_rule(lines, index)


def _history_below_rule(lines: Sequence[_Line], index: int) -> bool:
    """Return whether the line at ``index`` is a rule with history below it."""
    line = lines[index]
    if not _rule(line):
        return _short_rule(line) and index + 1 < len(lines) and _list_footer(lines[index + 1])
    following = index + 1
    skipped = 0
    while following < len(lines) and lines[following].blank and skipped < 2:
        following += 1
        skipped += 1
    if following >= len(lines) or lines[following].depth != line.depth:
        return False
    after = lines[following]
    if _forward_marker(after):
        return False
    if _original_message(after) or _header_block(lines, following, relaxed=True):
        return True
    if _header_at(lines, following) is not None:
        return True
    return _list_footer(after)


def _list_footer(line: _Line) -> bool:
    return line.body.lower().endswith(_LEX.list_footers)


def _block_end(lines: Sequence[_Line], start: int) -> int:
    """Return the end of the quoted block at ``start``, with lines wrapped out of it."""
    index = start
    while index < len(lines):
        line = lines[index]
        if line.depth > 0:
            index += 1
            continue
        if (
            line.body
            and index + 1 < len(lines)
            and lines[index + 1].depth > 0
            and _wrapped(lines[index - 1], line)
        ):
            index += 1
            continue
        break
    return index


def _wrapped(quoted: _Line, line: _Line) -> bool:
    """Return whether ``line`` is the tail of the quoted line above it, broken by a client."""
    if line.shown.rstrip().endswith(">"):
        return True
    return len(quoted.body) >= 40 and line.body[:1].islower()


def _shows_quote(lines: Sequence[_Line], start: int, end: int) -> bool:
    """Return whether a block of ``>`` lines holds proof that it quotes: a header or separator."""
    for index in range(start, end):
        line = lines[index]
        if line.cited:
            return True
        if line.depth == 0 or _plain(line):  # a plain line holds no header or separator
            continue
        if _original_message(line):
            return True
        header = _header_at(lines, index)
        if header is not None and header[0] is _Strength.STRONG:
            return True
        if _header_block(lines, index, relaxed=False):
            return True
    return False


# --- the walk over the lines --------------------------------------------------------------


def _strip(
    lines: list[_Line], stops: list[int] | None, shown: Sequence[str | None] | None = None
) -> str | None:
    """Return the lines shown as new content, or ``None`` when nothing is hidden.

    ``stops`` holds, in order, every line that is quoted or not plain (more do no harm):
    the walk passes the lines between at once. ``None`` stands for every line. ``shown``
    is ``_shown(lines)`` when the caller has it.
    """
    keep = [True] * len(lines)
    replaced: dict[int, str] = {}
    quoting = False  # an earlier block was shown to be quoted: later blocks are quotes too
    forward_from = len(lines)
    index = 0 if stops is None else _next_stop(stops, 0, len(lines))
    while index < len(lines):
        line = lines[index]
        if line.depth == 0:
            if _plain(line):
                index = index + 1 if stops is None else _next_stop(stops, index + 1, len(lines))
                continue
            if line.kind is _Kind.TEXT and not line.body.strip(_RULE_AND_SPACE):
                # a rule ("--", "-----") is no separator, header, field or forward marker
                if _history_below_rule(lines, index):
                    _drop(keep, index, len(lines))
                    break
                index = index + 1 if stops is None else _next_stop(stops, index + 1, len(lines))
                continue
            if _forward_marker(line):
                forward_from = index
                break
            if _history_from(lines, index):
                _drop(keep, index, len(lines))
                break
            header = _header_at(lines, index)
            shared = _header_in_line(lines, index)
            if shared is not None:
                header = (shared[1], index)
            if header is not None:
                strength, last = header
                block = _quotes_follow(lines, last)
                if block is not None:
                    _drop(keep, index, block)
                    if shared is not None:
                        keep[index] = True
                        replaced[index] = shared[0]
                    end = _block_end(lines, block)
                    _drop(keep, block, end)
                    quoting = True
                    index = end if stops is None else _next_stop(stops, end, len(lines))
                    continue
                if strength is _Strength.STRONG and shared is None:
                    _drop(keep, index, len(lines))
                    break
            index = index + 1 if stops is None else _next_stop(stops, index + 1, len(lines))
            continue
        end = _block_end(lines, index)
        opening = next((i for i in range(index, end) if not lines[i].blank and lines[i].body), end)
        if not quoting and opening < end and _forward_marker(lines[opening]):
            forward_from = index  # a forward the client indented, as Apple Mail does: content
            break
        if quoting or _shows_quote(lines, index, end):
            _drop(keep, index, end)
            quoting = True
        index = end if stops is None else _next_stop(stops, end, len(lines))
    # every delimiter ("--", unquoted) is a stop: its edge is decorated
    delimiters = [
        index
        for index in (range(len(lines)) if stops is None else stops)
        if lines[index].shown[:2] == "--"
        and lines[index].depth == 0
        and lines[index].shown.rstrip("\r\n") in _DELIMITERS
    ]
    _hide_signatures(lines, keep, forward_from, delimiters)
    if all(keep) and not replaced:
        return None
    return _render(_shown(lines) if shown is None else shown, keep, replaced)


def _next_stop(stops: list[int], index: int, end: int) -> int:
    """Return the first of ``stops`` at or after ``index``, or ``end``."""
    position = bisect.bisect_left(stops, index)
    return stops[position] if position < len(stops) else end


def _drop(keep: list[bool], start: int, end: int) -> None:
    if start < end:
        keep[start:end] = [False] * (end - start)


def _segment_ends(keep: Sequence[bool], limit: int) -> Iterator[int]:
    """Yield the index after each run of kept lines that ends at removed lines or the end."""
    for index in range(1, limit + 1):
        if keep[index - 1] and (index == len(keep) or not keep[index]):
            yield index


def _hide_signatures(
    lines: Sequence[_Line], keep: list[bool], limit: int, delimiters: Sequence[int]
) -> None:
    """Hide closing signatures and client lines; ``delimiters``: each unquoted "-- " line."""
    # A signature is hidden only below kept text, so the first kept text line never changes.
    first = next((i for i, line in enumerate(lines) if keep[i] and not line.blank), len(lines))
    for end in list(_segment_ends(keep, limit)):
        last = end - 1
        while last >= 0 and keep[last] and lines[last].blank:
            last -= 1
        if last < 0 or not keep[last]:
            continue
        if delimiters and delimiters[0] <= last:
            _hide_delimited_signature(lines, keep, last, first, delimiters)
        while last >= 0 and (not keep[last] or lines[last].blank):
            last -= 1
        if last > first and _client_line(lines[last].body):
            keep[last] = False


def _hide_delimited_signature(
    lines: Sequence[_Line], keep: list[bool], last: int, first: int, delimiters: Sequence[int]
) -> None:
    """Hide the lines from the delimiter nearest above ``last`` to ``last`` if a signature.

    ``delimiters`` holds, in order, the index of every unquoted "-- " or "--" line.
    """
    delimiter = delimiters[bisect.bisect_right(delimiters, last) - 1]  # one at or above last
    if delimiter <= first or not all(keep[delimiter : last + 1]):
        return
    stripped = lines[delimiter].shown.rstrip("\r\n")
    allowed = _SIGNATURE_LINES if stripped == "-- " else _BARE_SIGNATURE_LINES
    width = _SIGNATURE_WIDTH if stripped == "-- " else _BARE_SIGNATURE_WIDTH
    counted = 0
    for index in range(delimiter + 1, last + 1):
        line = lines[index]
        if not line.blank:
            counted += 1
            if counted > allowed or len(line.body) > width:
                return
    if counted:
        _drop(keep, delimiter, last + 1)


def _client_line(body: str) -> bool:
    """Return whether ``body`` is a line a mail client adds ("Sent from my iPhone")."""
    for cut in ("<http", " http", "<mailto"):
        position = body.find(cut)
        if position > 0:
            body = body[:position]
    body = body.strip().rstrip(".")
    if not body or len(body) > 80 or len(body.split()) > _CLIENT_LINE_WORDS:
        return False
    low = body.lower()
    if low.startswith(_LEX.client_signatures):  # one test for all; then which one
        for phrase in _LEX.client_signatures:
            if low.startswith(phrase):
                return low != phrase
    if low.startswith(_BRANDS_WITH_SPACE):
        for phrase in _LEX.client_signature_brands:
            if low.startswith(phrase + " "):
                rest = body[len(phrase) + 1 :].lstrip()
                return bool(rest) and (rest[0].isupper() or rest[0].isdigit())
    return any(low.endswith(ending) and low != ending for ending in _LEX.client_signature_endings)


def _shown(lines: Sequence[_Line]) -> list[str | None]:
    """Return each line as shown, or ``None`` for a line that is no text (a rule, a separator)."""
    return [line.shown if line.kind is _Kind.TEXT else None for line in lines]


def _render(shown: Sequence[str | None], keep: Sequence[bool], replaced: dict[int, str]) -> str:
    """Return the kept lines, blank runs and gaps where lines were removed shown as one blank."""
    rendered: list[str] = []
    after_text = False  # the last line rendered is not blank
    gap = False
    for index, (value, kept) in enumerate(zip(shown, keep, strict=True)):
        if not kept:
            gap = True
            continue
        if value is None:
            continue
        if replaced:
            value = replaced.get(index, value)
        if not value.strip():
            if after_text:
                rendered.append("")
                after_text = False
            continue
        if gap and after_text:
            rendered.append("")
        gap = False
        rendered.append(value.rstrip("\r"))
        after_text = True
    if rendered and not after_text:
        rendered.pop()  # a blank line is only added after text, so there is at most one
    return "\n".join(rendered)


# --- HTML -----------------------------------------------------------------------------------

_TAG: Final = re.compile(r"<(/?)([a-zA-Z][\w:-]{0,40})([^<>]{0,4000})>")
_ATTRIBUTE: Final = re.compile(r"""([\w:-]{1,40})\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_BLOCKS: Final = frozenset(
    [
        "address",
        "article",
        "aside",
        "br",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_HIDDEN: Final = frozenset({"head", "title", "script", "style", "template", "xml"})
_RAW_TEXT: Final = frozenset({"script", "style"})
_VOID: Final = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"]
)
_QUOTE_CLASSES: Final = frozenset({"yahoo_quoted", "protonmail_quote"})
_QUOTE_IDS: Final = frozenset({"appleoriginalcontents"})
_SEPARATOR_IDS: Final = frozenset({"divrplyfwdmsg"})
_STACK_LIMIT: Final = 2000


class _HtmlLines:
    """Lines of an HTML body with the quote depth of each; blockquote nesting counts as ``>``."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.pieces: list[str] = []
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, quotes, cites)
        self.depth = 0
        self.cited = 0
        self.hidden = 0
        self.pre = 0
        self.counters: list[int] = []

    def flush(self, *, force: bool = False) -> None:
        value = "".join(self.pieces)
        self.pieces = []
        rows = value.split("\n") if self.pre else [" ".join(value.split(" ")).strip(" ")]
        for row in rows:
            if row.strip() or force or self.pre:
                self.add(_Line(row.rstrip(), _clean(row), self.depth, cited=self.cited > 0))

    def add(self, line: _Line) -> None:
        self.lines.append(line)

    def text(self, value: str) -> None:
        if self.hidden or not value:
            return
        value = html_module.unescape(value)
        if not self.pre:
            value = re.sub(r"[ \t\r\n\f]+", " ", value)
        self.pieces.append(value)

    def start(self, tag: str, attributes: str) -> None:
        if tag in _HIDDEN:
            if tag not in _RAW_TEXT:
                self.hidden += 1
                self.stack.append((tag, False, False))
            return
        found = {name.lower(): value.strip("\"'") for name, value in _ATTRIBUTE.findall(attributes)}
        classes = set(found.get("class", "").lower().split())
        element_id = found.get("id", "").lower()
        style = found.get("style", "").lower().replace(" ", "")
        if tag in _BLOCKS or tag in ("blockquote", "hr"):
            self.flush(force=tag == "br")
        if tag == "hr" or ("border-top" in style and "solid" in style and tag in ("div", "p")):
            self.add(_Line("", "", self.depth, _Kind.RULE))
        if element_id in _SEPARATOR_IDS:
            self.add(_Line("", "", self.depth, _Kind.SEPARATOR))
        if tag in _VOID:
            return
        quotes = tag == "blockquote" or bool(classes & _QUOTE_CLASSES) or element_id in _QUOTE_IDS
        cites = tag == "blockquote" and found.get("type", "").lower() == "cite"
        if len(self.stack) < _STACK_LIMIT:
            self.stack.append((tag, quotes, cites))
            self.depth += quotes
            self.cited += cites
            if tag == "pre":
                self.pre += 1
            if tag in ("ol", "ul"):
                self.counters.append(0 if tag == "ol" else -1)
        if tag == "li":
            number = self.counters[-1] if self.counters else -1
            if number >= 0:
                self.counters[-1] = number + 1
                self.pieces.append(f"{number + 1}. ")
            else:
                self.pieces.append("- ")

    def end(self, tag: str) -> None:
        if tag in _RAW_TEXT:
            return
        if tag in _BLOCKS or tag == "blockquote":
            self.flush()
        if not any(open_tag == tag for open_tag, _, _ in self.stack[-50:]):
            return
        while self.stack:
            open_tag, quotes, cites = self.stack.pop()
            self.depth -= quotes
            self.cited -= cites
            if open_tag in _HIDDEN:
                self.hidden -= 1
            if open_tag == "pre":
                self.pre -= 1
            if open_tag in ("ol", "ul") and self.counters:
                self.counters.pop()
            if open_tag == tag:
                break


def _html_lines(html: str) -> list[_Line]:
    walker = _HtmlLines()
    position = 0
    length = len(html)
    while position < length:
        opening = html.find("<", position)
        if opening < 0:
            walker.text(html[position:])
            break
        walker.text(html[position:opening])
        if html.startswith("<!--", opening):
            closing = html.find("-->", opening + 4)
            position = length if closing < 0 else closing + 3
            continue
        tag = _TAG.match(html, opening)
        if tag is None:
            if html.startswith(("<!", "<?"), opening):
                closing = html.find(">", opening, opening + 4000)
                if closing > 0:
                    position = closing + 1
                    continue
            walker.text("<")
            position = opening + 1
            continue
        name = tag.group(2).lower()
        position = tag.end()
        if tag.group(1):
            walker.end(name)
            continue
        walker.start(name, tag.group(3))
        if name in _RAW_TEXT:
            closing = _find_closing(html, name, position)
            position = length if closing < 0 else closing
    walker.flush()
    return walker.lines


def _find_closing(html: str, name: str, start: int) -> int:
    """Return where ``</name`` starts after ``start`` in any case, or -1."""
    pattern = re.compile(rf"</{name}", re.IGNORECASE)
    found = pattern.search(html, start)
    return -1 if found is None else found.start()
