"""Text every store can keep: cleaning at the desk and the check every store makes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore._text import (
    clean_identifier,
    clean_optional,
    clean_text,
    refuse_unstorable,
    refuse_unstorable_document,
)
from issuecore.errors import UnstorableValueError


def undecodable(raw: bytes) -> str:
    """Return ``raw`` read as Python reads bytes it cannot decode."""
    return raw.decode("utf-8", "surrogateescape")


def test_clean_text_keeps_text_without_unsafe_characters_exactly() -> None:
    value = "Grüße ✓ %41 \U0001f600"
    assert clean_text(value) is value


def test_clean_text_replaces_nul() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"


def test_clean_text_reads_undecodable_utf8_runs_as_utf8() -> None:
    # "é" as UTF-8 next to a byte that is no UTF-8 at all, both escaped.
    value = "caf" + undecodable(b"\xc3") + undecodable(b"\xa9") + "!"
    assert value != "café!"
    assert clean_text(value) == "café!"


def test_clean_text_replaces_each_byte_that_is_not_utf8() -> None:
    assert clean_text("x" + undecodable(b"\xff\xfe") + "y") == "x\ufffd\ufffdy"


def test_clean_text_joins_a_surrogate_pair_into_its_character() -> None:
    assert clean_text("a\ud83d\ude00b\x00") == "a\U0001f600b\ufffd"


def test_clean_text_replaces_a_lone_high_surrogate() -> None:
    assert clean_text("a\ud800b") == "a\ufffdb"


def test_clean_optional_keeps_none_and_cleans_text() -> None:
    assert clean_optional(None) is None
    assert clean_optional("a\x00") == "a\ufffd"


def test_clean_identifier_keeps_an_identifier_without_unsafe_characters_exactly() -> None:
    value = "<50%off@example.com>"
    assert clean_identifier(value) is value


def test_clean_identifier_escapes_bytes_nul_surrogates_and_percent() -> None:
    value = "<a%" + undecodable(b"\xff") + "\x00\ud800@x>"
    assert clean_identifier(value) == "<a%25%FF%00%uD800@x>"


def test_clean_identifier_escapes_the_last_escaped_byte_range() -> None:
    assert clean_identifier("\udc80\udcff") == "%80%FF"
    # Just outside the range of escaped bytes: another lone surrogate.
    assert clean_identifier("\udc7f\udd00") == "%uDC7F%uDD00"


def test_two_escaped_identifiers_do_not_collide() -> None:
    assert clean_identifier("a%00\x00") == "a%2500%00"
    assert clean_identifier("a\x00%00\x00") == "a%00%2500%00"
    assert clean_identifier("a%00\x00") != clean_identifier("a\x00\x00")


@given(st.text())
def test_cleaned_text_and_identifiers_are_storable(value: str) -> None:
    refuse_unstorable("text", clean_text(value))
    refuse_unstorable("identifier", clean_identifier(value))


@given(st.binary())
def test_cleaned_undecodable_bytes_are_storable(raw: bytes) -> None:
    value = undecodable(raw)
    refuse_unstorable("text", clean_text(value))
    refuse_unstorable("identifier", clean_identifier(value))


def test_refuse_unstorable_refuses_none_when_required() -> None:
    with pytest.raises(UnstorableValueError, match="subject cannot be stored: it is None") as info:
        refuse_unstorable("subject", None)
    assert info.value.field == "subject"


def test_refuse_unstorable_accepts_none_when_not_required() -> None:
    refuse_unstorable("subject", None, required=False)


def test_refuse_unstorable_refuses_what_is_not_text() -> None:
    with pytest.raises(UnstorableValueError, match="expected text, got bytes"):
        refuse_unstorable("subject", b"x")


@pytest.mark.parametrize(("value", "position"), [("ab\x00", 2), ("\ud800", 0), ("x\udcff", 1)])
def test_refuse_unstorable_names_the_position_of_the_bad_character(
    value: str, position: int
) -> None:
    with pytest.raises(UnstorableValueError, match=f"character {position} is "):
        refuse_unstorable("body", value)


def test_a_document_may_hold_nul_but_not_a_surrogate() -> None:
    refuse_unstorable_document("document", '{"a":"\x00"}')
    with pytest.raises(UnstorableValueError, match="character 6 is"):
        refuse_unstorable_document("document", '{"a":"\udc80"}')
