"""Reference tokens and subject prefixes, including hostile and huge subjects."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore.mail import clean_subject, reply_subject
from issuecore.mail._tokens import (
    DEFAULT_TOKENS,
    REPLY_PREFIXES,
    TokenFormat,
    find_numbers,
    strip_prefixes,
)
from strategies import subjects

NUMBER = "ISS-2026-00042"


@pytest.mark.parametrize(
    "subject",
    [
        "[#ISS-2026-00042]",
        "Printer on fire [#ISS-2026-00042]",
        "[#ISS-2026-00042] Printer on fire",
        "Re: AW: Printer [#iss-2026-00042] on fire",
        "Printer [ # ISS-2026-00042 ]",
        "Printer [# ISS - 2026 - 00042]",
        "RE:[#Iss-2026-00042]",
    ],
)
def test_token_is_found_tolerating_case_spaces_and_position(subject: str) -> None:
    assert DEFAULT_TOKENS.numbers(subject) == (NUMBER,)


@pytest.mark.parametrize(
    "subject",
    ["ISS-2026-00042", "[ISS-2026-00042]", "#ISS-2026-00042", "[#]", "[#ISS]", "[#ISS-2026-00042"],
)
def test_text_that_is_not_a_token_names_no_issue(subject: str) -> None:
    assert DEFAULT_TOKENS.numbers(subject) == ()


def test_several_tokens_are_found_in_order_without_repeats() -> None:
    subject = "[#ISS-2026-00002] x [#ISS-2026-00001] [#iss-2026-00002]"
    assert DEFAULT_TOKENS.numbers(subject) == ("ISS-2026-00002", "ISS-2026-00001")


def test_token_format_is_configurable() -> None:
    tokens = TokenFormat("(Ticket {number})", r"\d{4,}")
    assert tokens.render("12345") == "(Ticket 12345)"
    assert tokens.numbers("Re: Help (ticket 12345)") == ("12345",)
    assert tokens.numbers("Help [#12345]") == ()


@pytest.mark.parametrize("bad", ["{number}", "[#]", "[#{number}", "{number}]", "  {number}  "])
def test_token_format_needs_marks_on_both_sides(bad: str) -> None:
    with pytest.raises(ValueError, match="needs"):
        TokenFormat(bad)


@given(st.text(max_size=40).filter(lambda s: "[" not in s and "]" not in s))
def test_rendered_token_is_found_again_in_any_subject(text: str) -> None:
    subject = f"{text} {DEFAULT_TOKENS.render(NUMBER)} {text}"
    assert NUMBER in DEFAULT_TOKENS.numbers(subject)


@pytest.mark.parametrize("prefix", REPLY_PREFIXES)
def test_every_listed_prefix_is_stripped(prefix: str) -> None:
    assert strip_prefixes(f"{prefix}: Printer on fire") == "Printer on fire"
    assert strip_prefixes(f"{prefix.upper()}: Printer on fire") == "Printer on fire"
    assert strip_prefixes(f"{prefix.lower()} : Printer on fire") == "Printer on fire"


@pytest.mark.parametrize(
    "subject",
    [
        "Re[2]: Printer on fire",
        "Re(3): Printer on fire",
        "RE: Re: AW: Fwd: Printer on fire",
        "Re[2]: AW(3): Fw:Printer on fire",
        "回复\uff1a转发: Printer on fire",
        "Отв: Пер: Printer on fire",
        "Ατ: Απ: Printer on fire",
        "  re :  Printer on fire",
    ],
)
def test_counters_and_repeated_prefixes_are_stripped(subject: str) -> None:
    assert strip_prefixes(subject) == "Printer on fire"


@pytest.mark.parametrize(
    "subject", ["Reply needed", "Re Printer", "Invoice: March", "Regarding: x", "Fwd"]
)
def test_words_that_only_look_like_prefixes_stay(subject: str) -> None:
    assert strip_prefixes(subject) == subject


def test_clean_subject_drops_prefixes_tokens_and_line_breaks() -> None:
    assert clean_subject("Re: Printer\r\n on fire [#ISS-2026-00042]") == "Printer on fire"


def test_reply_subject_has_one_prefix_and_one_token() -> None:
    subject = reply_subject("RE: Re: Printer on fire [#ISS-2026-00042]", NUMBER)
    assert subject == "Re: Printer on fire [#ISS-2026-00042]"


@given(subjects)
def test_reply_subject_is_always_one_safe_line(subject: str) -> None:
    result = reply_subject(subject, NUMBER)
    assert not any(char in result for char in "\r\n\0")
    assert result.endswith(DEFAULT_TOKENS.render(NUMBER))
    assert DEFAULT_TOKENS.numbers(result)[-1] == NUMBER


def _seconds(function: object, text: str) -> float:
    # CPU time of this process: parallel test workers and other load do not count.
    assert callable(function)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        function(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize(
    "unit", ["[#", "[# ", "Re:", "Re ", " ", "[#ISS-2026-", "[#" + "A" * 70, "a" * 10]
)
def test_huge_hostile_subjects_take_linear_time(unit: str) -> None:
    huge = unit * (1_000_000 // len(unit))
    tenth = unit * (100_000 // len(unit))
    for function in (DEFAULT_TOKENS.numbers, strip_prefixes, clean_subject):
        big_time, tenth_time = _seconds(function, huge), _seconds(function, tenth)
        # ten times the input: linear work costs about 10 times, quadratic work 100 times
        assert big_time < 35 * max(tenth_time, 1e-4)


# --- the limits and options each function states, one boundary a test -----------------------


def test_find_numbers_reads_the_tokens_of_the_subject_given() -> None:
    assert find_numbers(f"Re: [#{NUMBER}] and [#ISS-2026-00007]") == (NUMBER, "ISS-2026-00007")


def test_clean_subject_keeps_at_most_250_characters() -> None:
    cleaned = clean_subject("x" * 300)
    assert cleaned == "x" * 249 + "…"


def test_clean_subject_reads_a_subject_of_10_000_characters_whole() -> None:
    subject = "Re: " * 2499 + "Re:X"
    assert len(subject) == 10_000
    assert clean_subject(subject) == "X"


def test_clean_subject_cuts_a_subject_longer_than_10_000_characters_first() -> None:
    subject = "Re: " * 2500 + "X"
    assert len(subject) == 10_001
    assert clean_subject(subject) == "…"


def test_reply_subject_cuts_a_number_to_64_characters() -> None:
    number = "A-" + "1" * 98
    assert reply_subject("Help", number) == f"Re: Help [#{number[:63]}…]"


def test_reply_subject_removes_tokens_of_its_own_format() -> None:
    braces = TokenFormat("{{number}}")
    token = braces.render(NUMBER)
    assert token == "{" + NUMBER + "}"
    assert reply_subject(f"Re: {token} Help", NUMBER, tokens=braces) == f"Re: Help {token}"


def test_remove_reads_a_spaced_token_against_the_number_pattern() -> None:
    digits = TokenFormat(number_pattern=r"\d+(?:-\d+)+")
    assert digits.remove("Help [# 2026 - 42 ]") == "Help"


def test_number_goes_where_the_first_number_placeholder_stands() -> None:
    tokens = TokenFormat("[{number}|{number}]")
    assert tokens.render(NUMBER) == f"[{NUMBER}|{{number}}]"


def test_number_stops_at_the_first_mark_of_the_closer() -> None:
    dotted = TokenFormat("<{number}.>", r"[\d.]+")
    assert dotted.numbers("Help <12.>") == ("12",)
    assert dotted.numbers("Help <1.2.>") == ()


def test_clean_subject_keeps_a_token_that_names_no_issue_number() -> None:
    assert clean_subject("Re: Help [#urgent] now [#ISS-2026-00042]") == "Help [#urgent] now"
