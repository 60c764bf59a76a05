"""Who a message may add, whom it may get answered, and who counts as its sender.

The matching decision caps the participants one message adds, the rate
limit counts each automatic reply against the sender and the recipient, and
a no-reply sender that names a person in Reply-To is taken for that
person's system, not for a robot.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from mail_support import NOW, WORKFLOW, FakeLookup, issue, settings

from issuecore.config import parse_config
from issuecore.errors import ConfigError, MailSettingsError
from issuecore.mail import InboundMessage, classify_automated, parse_message
from issuecore.mail._automated import reply_to_person
from issuecore.mail._compose import (
    InMemoryAutoReplyCounter,
    auto_reply_recipient,
    compose_agent_reply,
    reserve_auto_reply,
)
from issuecore.mail._matching import Decision, DecisionKind, decide
from issuecore.mail._settings import MailSettings

VICTIM = "ISS-2026-00042"  # raised by alice@example.com, bob@example.com copied in


def _message(
    *,
    sender: str = "alice@example.com",
    subject: str = "Hello",
    cc: tuple[str, ...] = (),
    reply_to: str | None = None,
    extra: str = "",
) -> InboundMessage:
    lines = [f"From: {sender}", "To: support@helpdesk.example", f"Subject: {subject}"]
    if cc:
        lines.append("Cc: " + ", ".join(cc))
    if reply_to is not None:
        lines.append(f"Reply-To: {reply_to}")
    lines.append("Message-ID: <p1@example.com>")
    raw = "\n".join(lines) + f"\n{extra}\nbody\n"
    message = parse_message(raw.encode())
    assert isinstance(message, InboundMessage)
    return message


def _decide(message: InboundMessage, lookup: FakeLookup, **changes: object) -> Decision:
    return decide(
        message, lookup=lookup, settings=settings(**changes), now=NOW, is_closed=WORKFLOW.is_closed
    )


def _copies(count: int) -> tuple[str, ...]:
    return tuple(f"p{index}@copied.example" for index in range(count))


# --- the participant cap -----------------------------------------------------------------


def test_new_issue_takes_exactly_the_cap_of_copied_in_addresses(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="new@example.com", cc=_copies(3)), lookup, max_new_participants=3
    )
    assert decision.kind is DecisionKind.CREATE
    assert decision.copied_in == _copies(3)
    assert decision.left_out == ()
    assert "left out" not in decision.reason


def test_new_issue_leaves_out_what_is_copied_in_beyond_the_cap(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="new@example.com", cc=_copies(4)), lookup, max_new_participants=3
    )
    assert decision.copied_in == _copies(3)
    assert decision.left_out == ("p3@copied.example",)
    assert decision.reason.endswith(
        "; 1 more copied-in addresses left out (max_new_participants is 3)"
    )


def test_cap_counts_only_addresses_not_yet_on_the_issue(lookup: FakeLookup) -> None:
    cc = ("bob@example.com", *_copies(2))
    decision = _decide(_message(subject=f"Re: [#{VICTIM}]", cc=cc), lookup, max_new_participants=2)
    assert decision.kind is DecisionKind.APPEND
    assert decision.copied_in == _copies(2)
    assert decision.left_out == ()


def test_follow_up_leaves_out_what_is_copied_in_beyond_the_cap(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(subject=f"Re: [#{VICTIM}]", cc=_copies(3)), lookup, max_new_participants=2
    )
    assert decision.kind is DecisionKind.APPEND
    assert decision.copied_in == _copies(2)
    assert decision.left_out == ("p2@copied.example",)
    assert "1 more copied-in addresses left out" in decision.reason


def test_a_cap_of_zero_adds_nobody(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="new@example.com", cc=_copies(2)), lookup, max_new_participants=0
    )
    assert decision.copied_in == ()
    assert decision.left_out == _copies(2)


def test_participant_copying_others_in_adds_nobody(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="bob@example.com", subject=f"Re: [#{VICTIM}]", cc=_copies(2)), lookup
    )
    assert decision.kind is DecisionKind.APPEND
    assert decision.copied_in == ()


def test_stranger_kept_unverified_adds_nobody(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="mallory@evil.example", subject=f"Re: [#{VICTIM}]", cc=_copies(2)),
        lookup,
        stranger_policy="attach_unverified",
    )
    assert (decision.kind, decision.unverified) == (DecisionKind.APPEND, True)
    assert decision.copied_in == ()


def test_copying_in_the_raiser_does_not_make_a_stranger_a_participant(lookup: FakeLookup) -> None:
    message = _message(
        sender="mallory@evil.example",
        subject=f"Re: [#{VICTIM}]",
        cc=("alice@example.com",),
        reply_to="alice@example.com",
    )
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.issue_number is None


def test_lookalike_of_the_raiser_is_a_stranger(lookup: FakeLookup) -> None:
    decision = _decide(
        _message(sender="\u0430lice@example.com", subject=f"Re: [#{VICTIM}]"), lookup
    )
    assert decision.kind is DecisionKind.CREATE


# --- automatic replies: one per message, counted against the sender too ----------------


def test_only_the_first_reply_to_address_is_answered() -> None:
    message = _message(sender="a@example.com", reply_to="x@third.example, y@third.example")
    assert auto_reply_recipient(message, settings()) == "x@third.example"


def test_reply_counts_against_the_sender_as_well_as_the_recipient() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=2)
    for index in range(2):
        assert reserve_auto_reply(
            counter, f"v{index}@third.example", now=NOW, settings=config, sender="m@evil.example"
        )
    assert counter.count_since("M@evil.example", NOW) == 2
    assert not reserve_auto_reply(
        counter, "v2@third.example", now=NOW, settings=config, sender="m@evil.example"
    )
    # refused replies are not counted against the recipient either
    assert counter.count_since("v2@third.example", NOW) == 0


def test_reply_refused_when_the_recipient_has_reached_the_limit() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=1)
    assert reserve_auto_reply(
        counter, "v@third.example", now=NOW, settings=config, sender="a@x.example"
    )
    assert not reserve_auto_reply(
        counter, "v@third.example", now=NOW, settings=config, sender="b@x.example"
    )
    assert counter.count_since("b@x.example", NOW) == 0


def test_reply_to_the_sender_itself_is_counted_once() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=2)
    assert reserve_auto_reply(
        counter, "a@x.example", now=NOW, settings=config, sender="A@x.example"
    )
    assert counter.count_since("a@x.example", NOW) == 1


def test_senders_count_frees_up_after_the_window() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=1, auto_reply_window=timedelta(hours=1))
    assert reserve_auto_reply(
        counter, "v1@t.example", now=NOW, settings=config, sender="m@e.example"
    )
    later = NOW + timedelta(hours=1, seconds=1)
    assert reserve_auto_reply(
        counter, "v2@t.example", now=later, settings=config, sender="m@e.example"
    )


@pytest.mark.parametrize(
    ("header", "signal"),
    [
        ("List-Post: <mailto:list@lists.example>", "list-post present"),
        ("List-Help: <mailto:list-request@lists.example?subject=help>", "list-help present"),
        ("List-Subscribe: <mailto:list-join@lists.example>", "list-subscribe present"),
        ("List-Owner: <mailto:owner@lists.example>", "list-owner present"),
        ("List-Archive: <https://lists.example/archive>", "list-archive present"),
        ("Return-Path: < >", "empty Return-Path"),
    ],
)
def test_list_mail_and_a_null_return_path_get_no_automatic_reply(
    lookup: FakeLookup, header: str, signal: str
) -> None:
    message = _message(sender="someone@lists.example", extra=header)
    assert signal in classify_automated(message).signals
    decision = _decide(message, lookup, automated_policy="create")
    assert decision.kind is DecisionKind.CREATE
    assert (decision.auto_reply, decision.auto_reply_to) == (False, None)


# --- no-reply senders ----------------------------------------------------------------------


@pytest.mark.parametrize("robot", ["noreply", "no-reply", "donotreply", "do-not-reply", "no_reply"])
def test_no_reply_sender_naming_a_person_is_not_automated(robot: str) -> None:
    message = _message(sender=f"{robot}@erp.example", reply_to="buyer@customer.example")
    assert classify_automated(message).signals == ()
    assert reply_to_person(message) == "buyer@customer.example"


@pytest.mark.parametrize(
    ("sender", "reply_to"),
    [
        pytest.param("noreply@erp.example", None, id="no-reply-to"),
        pytest.param("noreply@erp.example", "noreply@other.example", id="robot-reply-to"),
        pytest.param("mailer-daemon@mx.example", "buyer@customer.example", id="mailer-daemon"),
        pytest.param("postmaster@mx.example", "buyer@customer.example", id="postmaster"),
        pytest.param("noreply@erp.example", "buyer@xn--zz.example", id="unusable-reply-to"),
    ],
)
def test_robot_sender_without_a_person_to_answer_stays_automated(
    sender: str, reply_to: str | None
) -> None:
    message = _message(sender=sender, reply_to=reply_to)
    assert any(s.startswith("robot sender") for s in classify_automated(message).signals)


def test_no_reply_sender_naming_our_own_address_stays_automated(lookup: FakeLookup) -> None:
    message = _message(sender="noreply@erp.example", reply_to="Support@Helpdesk.example")
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.IGNORE


def test_no_reply_sender_with_another_signal_stays_automated() -> None:
    message = _message(
        sender="noreply@erp.example",
        reply_to="buyer@customer.example",
        extra="Auto-Submitted: auto-generated",
    )
    assert classify_automated(message).signals == ("Auto-Submitted: auto-generated",)


def test_no_reply_order_opens_an_issue_with_the_person_as_contact(lookup: FakeLookup) -> None:
    message = _message(
        sender="noreply@erp.example",
        reply_to="buyer@customer.example",
        cc=("boss@customer.example",),
    )
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.sender == "noreply@erp.example"
    assert decision.copied_in == ("buyer@customer.example", "boss@customer.example")
    assert (decision.auto_reply, decision.auto_reply_to) == (True, "buyer@customer.example")
    assert "sends on behalf of buyer@customer.example" in decision.reason


def test_no_reply_sender_naming_a_participant_is_a_stranger(lookup: FakeLookup) -> None:
    message = _message(
        sender="noreply@evil.example", subject=f"Re: [#{VICTIM}]", reply_to="alice@example.com"
    )
    decision = _decide(message, lookup)
    assert decision.issue_number != VICTIM


def test_agent_reply_to_an_issue_raised_by_a_robot_goes_to_its_person() -> None:
    target = issue(
        "ISS-2026-00050",
        raised_by="noreply@erp.example",
        subject="Order",
        participants=("buyer@customer.example", "boss@customer.example"),
    )
    reply = compose_agent_reply(target, body="Confirmed.", settings=settings(), now=NOW)
    assert reply["To"] == "buyer@customer.example"
    assert reply["Cc"] == "boss@customer.example"


def _realmail(name: str) -> bytes:
    """Return a message of the real-world corpus, or skip saying where it was looked for."""
    repo = Path(__file__).resolve().parents[2]
    places = [Path(p) for p in (os.environ.get("ISSUECORE_REALMAIL"),) if p]
    places.append(repo.parent / "shared" / "realmail")
    for place in places:
        path = place / "zammad-mail" / name
        if path.is_file():
            return path.read_bytes()
    pytest.skip(f"the real-world mail corpus is not at {', '.join(map(str, places))}")


def test_real_no_reply_notice_naming_an_office_in_reply_to_opens_an_issue(
    lookup: FakeLookup,
) -> None:
    # A Japanese secretariat's circular, sent from noreply@ with Reply-To info@.
    message = parse_message(_realmail("mail098.box"))
    assert isinstance(message, InboundMessage)
    assert message.from_address == "noreply@example.org"
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.copied_in[0] == "info@example.org"
    assert decision.auto_reply_to == "info@example.org"


# --- the setting and its configuration key -----------------------------------------------------


def test_max_new_participants_defaults_to_twenty() -> None:
    assert MailSettings(support_address="help@example.com").max_new_participants == 20


@pytest.mark.parametrize("value", [-1, 2.5, "20"])
def test_max_new_participants_refuses_what_is_not_a_whole_number(value: object) -> None:
    with pytest.raises(MailSettingsError, match="0 or more"):
        MailSettings(support_address="help@example.com", max_new_participants=value)  # type: ignore[arg-type]


def test_max_new_participants_is_read_from_the_configuration_file() -> None:
    config = parse_config("[mail]\nmax_new_participants = 5\n")
    assert config.mail == {"max_new_participants": 5}


def test_a_negative_max_new_participants_in_the_file_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"mail\.max_new_participants"):
        parse_config("[mail]\nmax_new_participants = -1\n")
