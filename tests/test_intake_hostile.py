"""Intake never raises for what an untyped caller passes: it records it, bytes kept."""

from __future__ import annotations

import email.message
from datetime import UTC, datetime
from typing import Any

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.memory import InMemoryStore
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingMailer

SUPPORT = "support@desk.example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_desk(clock: Any = None) -> HelpDesk:
    return HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock or FakeClock(START),
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


class NoBytes(email.message.Message):
    """A message whose serialisation to bytes fails."""

    def as_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        raise ValueError("simulated: cannot serialise")


class NoText(NoBytes):
    """A message that cannot be serialised at all, as bytes or as text."""

    def as_string(self, *args: Any, **kwargs: Any) -> str:
        raise ValueError("simulated: cannot serialise")

    def __str__(self) -> str:
        raise ValueError("simulated: cannot serialise")


class NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("simulated: no repr")


def hostile(kind: type[email.message.Message]) -> email.message.Message:
    message = kind()
    message["From"] = "ana@customer.example"
    message["Subject"] = "Help"
    message.set_payload("body")
    return message


def test_a_message_object_that_cannot_give_bytes_is_still_read() -> None:
    desk = make_desk()
    outcome = desk.receive(hostile(NoBytes))
    assert outcome.kind == "created"
    assert outcome.issue_number is not None
    assert desk.get(outcome.issue_number).subject == "Help"


def test_a_message_object_that_cannot_be_serialised_at_all_is_still_read() -> None:
    desk = make_desk()
    outcome = desk.receive(hostile(NoText))
    assert outcome.kind == "created"
    assert outcome.issue_number is not None
    assert desk.get(outcome.issue_number).raised_by == "ana@customer.example"


def test_text_given_instead_of_bytes_is_quarantined_and_kept_as_utf8() -> None:
    desk = make_desk()
    outcome = desk.receive("From: ana@customer.example\n\nGrüße\ud800")  # type: ignore[arg-type]
    assert outcome.kind == "quarantined"
    assert "give bytes" in outcome.reason
    assert desk.kept_message(
        outcome.message_id
    ) == "From: ana@customer.example\n\nGrüße\ud800".encode("utf-8", "surrogatepass")


def test_an_object_whose_repr_fails_is_still_recorded() -> None:
    desk = make_desk()
    outcome = desk.receive(NoRepr())  # type: ignore[arg-type]
    assert outcome.kind == "quarantined"
    assert desk.kept_message(outcome.message_id) == b"<unrepresentable NoRepr>"


def message(message_id: bytes) -> bytes:
    return (
        b"From: ana@customer.example\nTo: support@desk.example\nSubject: s\n"
        b"Message-ID: " + message_id + b"\n\nb\n"
    )


class FailingClock:
    def now(self) -> datetime:
        raise RuntimeError("simulated: the clock is broken")


def test_a_message_whose_intake_fails_is_quarantined_even_when_the_clock_fails() -> None:
    desk = make_desk(FailingClock())
    raw = message(b"<c@x>")
    outcome = desk.receive(raw)
    assert outcome.kind == "quarantined"
    assert outcome.reason == "intake failed: RuntimeError: simulated: the clock is broken"
    assert desk.kept_message("<c@x>") == raw


def test_the_same_bytes_given_twice_in_a_batch_that_fails_are_recorded_once() -> None:
    desk = make_desk(FailingClock())
    raw = message(b"<d@x>")
    report = desk.receive_many([raw, raw], batch_size=10)
    assert [outcome.kind for outcome in report.outcomes] == ["quarantined", "duplicate"]
    assert report.failures == ()
