"""Intake never raises for what an untyped caller passes: it records it, bytes kept."""

from __future__ import annotations

import email.message
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from issuecore import DeskSettings, HelpDesk, _intake
from issuecore._model import Attachment
from issuecore.adapters.memory import InMemoryStore
from issuecore.mail._matching import message_fingerprint
from issuecore.mail._parse import InboundMessage, Quarantined, synthetic_message_id
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


def test_clean_parsed_text_is_taken_as_it_is() -> None:
    parsed = _intake.parse_message(b"From: a@c.example\nMessage-ID: <m@c>\nSubject: s\n\nbody\n")
    assert _intake._cleaned(parsed) is parsed
    attachment = Attachment(filename="a.txt", content_type="text/plain", data=b"a")
    with_file = attrs.evolve(parsed, attachments=(attachment,))
    assert _intake._cleaned(with_file) is with_file


@pytest.mark.parametrize(
    "field",
    ["subject", "text", "from_name", "cc", "headers", "references", "attachments", "defects"],
)
def test_a_lone_surrogate_in_any_one_field_is_cleaned(field: str) -> None:
    parsed = _intake.parse_message(b"From: a@c.example\nMessage-ID: <m@c>\nSubject: s\n\nbody\n")
    assert isinstance(parsed, InboundMessage)
    bad = "x\udcff"
    values: dict[str, object] = {
        "subject": bad,
        "text": bad,
        "from_name": bad,
        "cc": ("b@c.example", bad),
        "headers": (*parsed.headers, ("x-odd", bad)),
        "references": ("<r@c>", f"<{bad}@c>"),
        "attachments": (Attachment(filename=bad, content_type="text/plain", data=b"a"),),
        "defects": (bad,),
    }
    dirty = attrs.evolve(parsed, **{field: values[field]})  # type: ignore[misc, arg-type]
    cleaned = _intake._cleaned(dirty)
    assert isinstance(cleaned, InboundMessage)
    assert "\udcff" not in repr(attrs.asdict(cleaned))
    assert getattr(cleaned, field) != getattr(dirty, field)
    others = [name for name in attrs.fields_dict(InboundMessage) if name != field]
    assert all(getattr(cleaned, name) == getattr(dirty, name) for name in others)


_NUL = "x\x00y"
_DIRTY_VALUES: dict[str, object] = {
    "message_id": f"<{_NUL}@c>",
    "in_reply_to": f"<{_NUL}@c>",
    "references": ("<r@c>", f"<{_NUL}@c>"),
    "returned_message_id": f"<{_NUL}@c>",
    "from_address": f"{_NUL}@c.example",
    "from_name": _NUL,
    "reply_to": (f"{_NUL}@c.example",),
    "to": (f"{_NUL}@c.example",),
    "cc": ("b@c.example", f"{_NUL}@c.example"),
    "subject": _NUL,
    "text": _NUL,
    "html": _NUL,
    "attachments": (Attachment(filename=_NUL, content_type="text/plain", data=b"a"),),
    "headers": (("x-odd", _NUL),),
    "content_type": _NUL,
    "report_type": _NUL,
    "defects": (_NUL,),
    "omissions": (_NUL,),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *_DIRTY_VALUES.items(),
        ("attachments", (Attachment(filename="a", content_type=_NUL, data=b"a"),)),
        ("attachments", (Attachment(filename="a", content_type="t/p", data=b"", content_id=_NUL),)),
        ("headers", ((_NUL, "v"),)),
    ],
)
def test_a_nul_in_any_text_is_found_by_the_one_search(field: str, value: object) -> None:
    parsed = _intake.parse_message(b"From: a@c.example\nMessage-ID: <m@c>\nSubject: s\n\nbody\n")
    assert isinstance(parsed, InboundMessage)
    dirty = attrs.evolve(parsed, **{field: value})  # type: ignore[misc, arg-type]
    cleaned = _intake._cleaned(dirty)
    assert cleaned is not dirty
    assert "\x00" not in repr(attrs.asdict(cleaned))


def test_every_text_field_of_a_message_is_searched_for_what_to_clean() -> None:
    # a field added to InboundMessage must be cleaned (and searched) or named here as no text
    not_text = {"synthetic_message_id", "date", "size"}
    assert set(attrs.fields_dict(InboundMessage)) - not_text == set(_DIRTY_VALUES)


def test_each_text_of_an_attachment_is_cleaned_and_the_rest_kept() -> None:
    dirty = Attachment(
        filename="f\x00.txt", content_type="text/\x00", data=b"a", content_id="<\x00@c>"
    )
    assert _intake._cleaned_attachment(dirty) == Attachment(
        filename="f\ufffd.txt", content_type="text/\ufffd", data=b"a", content_id="<%00@c>"
    )
    only_id = Attachment(
        filename="f.txt", content_type="text/plain", data=b"a", content_id="<\x00>"
    )
    assert _intake._cleaned_attachment(only_id) == attrs.evolve(only_id, content_id="<%00>")
    clean = Attachment(filename="f.txt", content_type="text/plain", data=b"a", content_id="<i@c>")
    assert _intake._cleaned_attachment(clean) is clean


def test_a_message_whose_every_text_needs_cleaning_is_cleaned_throughout() -> None:
    parsed = _intake.parse_message(b"From: a@c.example\nMessage-ID: <m@c>\nSubject: s\n\nbody\n")
    assert isinstance(parsed, InboundMessage)
    everything = {
        **_DIRTY_VALUES,
        "references": (f"<{_NUL}@c>",),
        "cc": (f"{_NUL}@c.example",),
        "headers": ((_NUL, _NUL),),
        "attachments": (Attachment(filename=_NUL, content_type=_NUL, data=b"a", content_id=_NUL),),
    }
    dirty = attrs.evolve(parsed, **everything)  # type: ignore[misc, arg-type]

    cleaned = _intake._cleaned(dirty)

    # Identifiers are percent-escaped, every other text has U+FFFD for the NUL.
    text, identifier = "x\ufffdy", "x%00y"
    assert cleaned == attrs.evolve(
        parsed,
        message_id=f"<{identifier}@c>",
        in_reply_to=f"<{identifier}@c>",
        references=(f"<{identifier}@c>",),
        returned_message_id=f"<{identifier}@c>",
        from_address=f"{text}@c.example",
        from_name=text,
        reply_to=(f"{text}@c.example",),
        to=(f"{text}@c.example",),
        cc=(f"{text}@c.example",),
        subject=text,
        text=text,
        html=text,
        attachments=(
            Attachment(filename=text, content_type=text, data=b"a", content_id=identifier),
        ),
        headers=((text, text),),
        content_type=text,
        report_type=text,
        defects=(text,),
        omissions=(text,),
    )


class OddText(NoBytes):
    """A message that cannot give bytes, whose text holds an undecodable byte."""

    def as_string(self, *args: Any, **kwargs: Any) -> str:
        return "From: ana@customer.example\nSubject: Help\n\ncaf\udce9\n"


def test_a_message_object_that_cannot_give_bytes_is_fingerprinted_from_its_text() -> None:
    desk = make_desk()

    outcome = desk.receive(hostile(OddText))

    record = desk.message_record(outcome.message_id)
    assert record is not None
    assert record.fingerprint == message_fingerprint(
        b"From: ana@customer.example\nSubject: Help\n\ncaf\xe9\n"
    )


class OddRepr(NoText):
    """A message that cannot be serialised, whose repr holds an undecodable byte."""

    def __repr__(self) -> str:
        return "odd \udcff"


def test_a_message_object_that_cannot_be_serialised_is_kept_as_its_repr() -> None:
    desk = make_desk(FailingClock())  # its intake fails, so its bytes are kept

    outcome = desk.receive(hostile(OddRepr))

    assert outcome.kind == "quarantined"
    assert desk.kept_message(outcome.message_id) == b"odd \\udcff"


class OddObject:
    def __repr__(self) -> str:
        return "odd \udcff"


@pytest.mark.parametrize(
    ("given", "kept"),
    [(42, b"42"), (["a list"], b"['a list']"), (OddObject(), b"odd \\udcff")],
    ids=["int", "list", "odd-repr"],
)
def test_an_object_that_is_no_message_is_kept_as_its_repr(given: object, kept: bytes) -> None:
    desk = make_desk()

    outcome = desk.receive(given)  # type: ignore[arg-type]

    assert outcome.kind == "quarantined"
    assert desk.kept_message(outcome.message_id) == kept


def test_a_message_whose_fingerprint_cannot_be_taken_is_quarantined_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fingerprint(raw: bytes) -> str:
        raise RuntimeError("simulated: no fingerprint")

    monkeypatch.setattr(_intake, "message_fingerprint", fingerprint)
    desk = make_desk()
    raw = message(b"<f@x>")

    outcome = desk.receive(raw)

    assert (outcome.kind, outcome.message_id) == ("quarantined", synthetic_message_id(raw))
    assert outcome.reason == "intake failed: RuntimeError: simulated: no fingerprint"
    record = desk.message_record(outcome.message_id)
    assert record is not None
    assert record.fingerprint is None
    assert desk.kept_message(outcome.message_id) == raw


def test_the_reason_and_message_id_of_an_unreadable_message_are_cleaned() -> None:
    unreadable = Quarantined(reason="cannot read \x00 here", message_id="<\udcff@c>", size=3)

    assert _intake._cleaned(unreadable) == Quarantined(
        reason="cannot read \ufffd here", message_id="<%FF@c>", size=3
    )
