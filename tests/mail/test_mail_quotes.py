"""New content without quoted history, in the languages and clients people use."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore.mail import new_content

REPLY = "Thanks, that worked."


@pytest.mark.parametrize(
    "header",
    [
        "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk <support@helpdesk.example> wrote:",
        "On 25 Nov 2026, at 16:02, Helpdesk <support@helpdesk.example> wrote:",
        "Am 25.11.2026 um 16:02 schrieb Helpdesk <support@helpdesk.example>:",
        "Am Mi., 25. Nov. 2026 um 16:02 Uhr schrieb Helpdesk <support@helpdesk.example>:",
        "Le mer. 25 nov. 2026 à 16:02, Helpdesk <support@helpdesk.example> a écrit :",
        "El mié, 25 nov 2026 a las 16:02, Helpdesk (<support@helpdesk.example>) escribió:",
        "Il giorno mer 25 nov 2026 alle ore 16:02 Helpdesk <support@helpdesk.example> ha scritto:",
        "Op wo 25 nov. 2026 om 16:02 schreef Helpdesk <support@helpdesk.example>:",
        "Em qua., 25 de nov. de 2026 às 16:02, Helpdesk <support@helpdesk.example> escreveu:",
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-------- Message d'origine --------",
        "________________________________",
    ],
)
def test_reply_header_starts_the_quoted_history(header: str) -> None:
    text = f"{REPLY}\n\n{header}\nYour old message.\nMore of it."
    assert new_content(text) == REPLY


def test_reply_header_wrapped_over_two_lines_is_recognised() -> None:
    header = "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk <support@helpdesk.example>\nwrote:"
    text = f"{REPLY}\n\n{header}\n\n> old"
    assert new_content(text) == REPLY


@pytest.mark.parametrize(
    "block",
    [
        "From: Helpdesk <support@helpdesk.example>\nSent: Wednesday, November 25, 2026 4:02 PM\n"
        "To: Alice\nSubject: Re: Printer",
        "Von: Helpdesk <support@helpdesk.example>\nGesendet: Mittwoch, 25. November 2026 16:02\n"
        "An: Alice\nBetreff: AW: Drucker",
        "De : Helpdesk <support@helpdesk.example>\nEnvoyé : mercredi 25 novembre 2026 16:02\n"
        "À : Alice\nObjet : RE: Imprimante",
        "**From:** Helpdesk\n**Sent:** today\n**To:** Alice",
    ],
)
def test_outlook_header_block_starts_the_quoted_history(block: str) -> None:
    text = f"{REPLY}\n\n{block}\n\nYour old message."
    assert new_content(text) == REPLY


def test_quote_markers_are_removed_and_inline_answers_kept() -> None:
    text = "> Did you restart it?\nYes, twice.\n> Which model?\n>> older\nThe X100."
    assert new_content(text) == "Yes, twice.\nThe X100."


def test_signature_after_separator_is_dropped() -> None:
    assert new_content(f"{REPLY}\n-- \nAlice\nACME Corp") == REPLY


def test_text_without_history_is_unchanged() -> None:
    text = "Hello,\n\nthe printer is on fire.\nFrom: the third floor\n\nAlice"
    assert new_content(text) == text


def test_a_lone_from_line_is_not_an_outlook_block() -> None:
    text = "From: my phone\nIt does not work."
    assert new_content(text) == text


def test_a_message_that_is_only_quoted_keeps_its_full_text() -> None:
    text = "> everything here is quoted\n> and nothing is new"
    assert new_content(text) == text


@given(st.text(max_size=500))
def test_new_content_is_made_of_lines_of_the_full_text(text: str) -> None:
    result = new_content(text)
    full_lines = set(text.splitlines())
    assert all(line in full_lines for line in result.splitlines()) or result == text


def test_huge_text_takes_linear_time() -> None:
    unit = "On Monday wrote wrote wrote From: x\n> quoted line\nSent: To: Subject: " * 3 + "\n"
    tenth, huge = unit * 300, unit * 3000

    def seconds(text: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            new_content(text)
            best = min(best, time.perf_counter() - start)
        return best

    assert seconds(huge) < 35 * max(seconds(tenth), 1e-4)
