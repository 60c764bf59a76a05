"""The fixture corpus: real mail shapes, each with the decision it must get."""

from __future__ import annotations

from typing import Any

import pytest
from mail_support import FIXTURES, NOW, WORKFLOW, FakeLookup, fixture_bytes, settings

from issuecore.mail import InboundMessage, new_content, parse_message
from issuecore.mail._matching import Decision, DecisionKind, Signal, decide

K = DecisionKind
S = Signal

#: fixture name -> (kind, signal, issue number, other fields that must hold)
EXPECTED: dict[str, tuple[DecisionKind, Signal, str | None, dict[str, Any]]] = {
    "outlook_reply": (K.APPEND, S.IN_REPLY_TO, "ISS-2026-00042", {"change_status": True}),
    "gmail_reply": (K.APPEND, S.REFERENCES, "ISS-2026-00042", {"change_status": True}),
    "apple_mail_reply": (K.APPEND, S.SUBJECT_TOKEN, "ISS-2026-00042", {"change_status": True}),
    "thunderbird_reply": (
        K.APPEND,
        S.IN_REPLY_TO,
        "ISS-2026-00007",
        {"reopen": True, "change_status": True},
    ),
    "reply_to_known_inbound": (K.APPEND, S.IN_REPLY_TO, "ISS-2026-00042", {}),
    "agent_token_reply": (K.APPEND, S.SUBJECT_TOKEN, "ISS-2026-00042", {"from_agent": True}),
    "late_follow_up": (
        K.CREATE,
        S.SUBJECT_TOKEN,
        None,
        {"follows_up": "ISS-2026-00003", "subject": "Password reset link expired"},
    ),
    "forward": (K.CREATE, S.NONE, None, {"subject": "Invoice question", "auto_reply": True}),
    "new_customer": (
        K.CREATE,
        S.NONE,
        None,
        {
            "subject": "Cannot log in \u2013 ürgent",
            "copied_in": ("frank@customer.example",),
            "auto_reply_to": "erin.private@customer.example",
        },
    ),
    "html_only_with_tricky_attachment": (K.CREATE, S.NONE, None, {"subject": "Rechnung für März"}),
    "unknown_token": (K.CREATE, S.NONE, None, {"subject": "Old thing"}),
    "bounce_dsn": (
        K.APPEND,
        S.RETURNED_MESSAGE,
        "ISS-2026-00042",
        {"automated": True, "change_status": False, "auto_reply": False},
    ),
    "ooo_exchange": (
        K.APPEND,
        S.IN_REPLY_TO,
        "ISS-2026-00042",
        {"automated": True, "change_status": False},
    ),
    "ooo_gmail": (
        K.APPEND,
        S.IN_REPLY_TO,
        "ISS-2026-00007",
        {"automated": True, "change_status": False, "reopen": False},
    ),
    "ooo_zimbra": (K.IGNORE, S.AUTOMATED, None, {"automated": True}),
    "mailing_list": (K.IGNORE, S.AUTOMATED, None, {"automated": True}),
    "hijack_attempt": (
        K.CREATE,
        S.SUBJECT_TOKEN,
        None,
        {"subject": "Printer on fire", "follows_up": None, "unverified": False},
    ),
    "forged_reference": (
        K.CREATE,
        S.NONE,
        None,
        {
            "forged_references": (
                "<ic1.4953532d323032362d3030303432.ffff.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@helpdesk.example>",
            )
        },
    ),
    "unverified_reference": (K.CREATE, S.NONE, None, {"subject": "more questions"}),
    "duplicate": (
        K.DUPLICATE,
        S.MESSAGE_ID,
        "ISS-2026-00042",
        {"previous_outcome": "created"},
    ),
    "loop_own_message": (K.LOOP, S.OWN_MESSAGE_ID, None, {}),
    "loop_header": (K.LOOP, S.LOOP_HEADER, None, {}),
    "own_address": (K.LOOP, S.OWN_ADDRESS, None, {}),
    "no_sender": (K.QUARANTINE, S.NO_SENDER, None, {}),
    "not_an_email": (K.QUARANTINE, S.UNREADABLE, None, {}),
}


def _decide(name: str, lookup: FakeLookup, **changes: object) -> Decision:
    return decide(
        parse_message(fixture_bytes(name)),
        lookup=lookup,
        settings=settings(**changes),
        now=NOW,
        is_closed=WORKFLOW.is_closed,
    )


def test_every_fixture_has_an_expected_decision() -> None:
    assert {path.stem for path in FIXTURES.glob("*.eml")} == set(EXPECTED)


def test_fixtures_cover_every_kind_and_signal_of_the_decision() -> None:
    kinds = {kind for kind, _, _, _ in EXPECTED.values()}
    signals = {signal for _, signal, _, _ in EXPECTED.values()}
    assert kinds == set(DecisionKind)
    assert signals == set(Signal)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gets_its_decision(name: str, lookup: FakeLookup) -> None:
    kind, signal, number, fields = EXPECTED[name]
    decision = _decide(name, lookup)
    assert (decision.kind, decision.signal, decision.issue_number) == (kind, signal, number)
    for field, value in fields.items():
        assert getattr(decision, field) == value, field
    assert decision.reason


def test_hijack_attempt_learns_nothing_about_the_other_issue(lookup: FakeLookup) -> None:
    decision = _decide("hijack_attempt", lookup)
    assert decision.issue_number is None
    assert decision.subject is not None
    assert "00042" not in decision.subject
    assert decision.auto_reply_to == "mallory@evil.example"


def test_hijack_attempt_is_kept_unverified_under_attach_unverified(lookup: FakeLookup) -> None:
    decision = _decide("hijack_attempt", lookup, stranger_policy="attach_unverified")
    assert decision.kind is DecisionKind.APPEND
    assert decision.issue_number == "ISS-2026-00042"
    assert decision.unverified
    assert not decision.change_status
    assert not decision.auto_reply


def test_hijack_attempt_is_quarantined_under_reject(lookup: FakeLookup) -> None:
    decision = _decide("hijack_attempt", lookup, stranger_policy="reject")
    assert decision.kind is DecisionKind.QUARANTINE
    assert decision.signal is Signal.SUBJECT_TOKEN
    assert "not a participant" in decision.reason


def test_zimbra_out_of_office_creates_an_issue_when_automated_mail_may(
    lookup: FakeLookup,
) -> None:
    decision = _decide("ooo_zimbra", lookup, automated_policy="create")
    assert decision.kind is DecisionKind.CREATE
    assert decision.automated
    assert not decision.auto_reply
    assert decision.auto_reply_to is None


def test_reply_to_recently_closed_issue_starts_new_issue_when_follow_ups_always_do(
    lookup: FakeLookup,
) -> None:
    decision = _decide("thunderbird_reply", lookup, follow_up_policy="new_issue")
    assert decision.kind is DecisionKind.CREATE
    assert decision.follows_up == "ISS-2026-00007"


def test_late_follow_up_reopens_when_follow_ups_always_reopen(lookup: FakeLookup) -> None:
    decision = _decide("late_follow_up", lookup, follow_up_policy="reopen")
    assert decision.kind is DecisionKind.APPEND
    assert decision.issue_number == "ISS-2026-00003"
    assert decision.reopen


def test_outlook_reply_new_content_drops_the_original_message() -> None:
    message = parse_message(fixture_bytes("outlook_reply"))
    assert isinstance(message, InboundMessage)
    assert (
        new_content(message.text) == "The fire is out, but the printer still blinks red.\n\nAlice"
    )
    assert "-----Original Message-----" in message.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gmail_reply", "I can confirm: the toner cartridge is melted. 🔥"),
        ("apple_mail_reply", "Here is a photo of the blinking light."),
        (
            "thunderbird_reply",
            "Leider ist das Problem wieder da. Die Verbindung bricht wieder stündlich ab.\n"
            "\nGruß\nCarol",
        ),
        ("new_customer", "Since this morning I cannot log in. Frank sees the same."),
    ],
)
def test_client_reply_new_content_is_only_what_was_written(name: str, expected: str) -> None:
    message = parse_message(fixture_bytes(name))
    assert isinstance(message, InboundMessage)
    assert new_content(message.text) == expected
