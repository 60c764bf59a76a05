"""The matching decision, rule by rule, beyond the fixture corpus."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import NOW, SIGNING_KEY, WORKFLOW, FakeLookup, issue, settings, world

from issuecore._model import Status
from issuecore.errors import NaiveDatetimeError
from issuecore.mail import InboundMessage, Quarantined, parse_message
from issuecore.mail._matching import (
    Decision,
    DecisionKind,
    PriorMessage,
    Signal,
    decide,
    message_fingerprint,
    reused_message_id,
)
from issuecore.mail._signing import make_message_id
from strategies import hostile_text

VICTIM = "ISS-2026-00042"


def _message(
    *,
    sender: str = "alice@example.com",
    subject: str = "Hello",
    message_id: str = "<m1@example.com>",
    extra: str = "",
) -> InboundMessage:
    raw = f"From: {sender}\nSubject: {subject}\nMessage-ID: {message_id}\n{extra}\nbody\n"
    message = parse_message(raw.encode("utf-8", "surrogateescape"))
    assert isinstance(message, InboundMessage)
    return message


def _decide(
    message: InboundMessage | Quarantined, lookup: FakeLookup, **changes: object
) -> Decision:
    return decide(
        message, lookup=lookup, settings=settings(**changes), now=NOW, is_closed=WORKFLOW.is_closed
    )


def _signed(number: str, unique: str = "u1") -> str:
    return make_message_id(number, key=SIGNING_KEY, domain="helpdesk.example", unique=unique)


def test_duplicate_wins_over_every_other_signal(lookup: FakeLookup) -> None:
    lookup.add_message("<m1@example.com>", "ignored", None)
    message = _message(subject=f"Re: [#{VICTIM}]", extra=f"In-Reply-To: {_signed(VICTIM)}")
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.DUPLICATE
    assert decision.previous_outcome == "ignored"
    assert decision.issue_number is None


def test_an_unreadable_message_seen_before_is_a_duplicate_not_quarantined_again(
    lookup: FakeLookup,
) -> None:
    unreadable = parse_message(b"")
    assert isinstance(unreadable, Quarantined)
    lookup.add_message(unreadable.message_id, "quarantined", None)
    decision = _decide(unreadable, lookup)
    assert decision.kind is DecisionKind.DUPLICATE
    assert decision.previous_outcome == "quarantined"


def test_an_unreadable_message_seen_for_the_first_time_is_quarantined(
    lookup: FakeLookup,
) -> None:
    unreadable = parse_message(b"")
    assert isinstance(unreadable, Quarantined)
    decision = _decide(unreadable, lookup)
    assert decision.kind is DecisionKind.QUARANTINE
    assert decision.record_as == unreadable.message_id


def _fingerprinted(lookup: FakeLookup, fingerprint: str | None) -> None:
    lookup.messages["<m1@example.com>"] = PriorMessage(
        message_id="<m1@example.com>", outcome="created", fingerprint=fingerprint
    )


def test_the_same_fingerprint_under_a_recorded_message_id_is_a_duplicate(
    lookup: FakeLookup,
) -> None:
    _fingerprinted(lookup, "a" * 64)
    decision = decide(
        _message(), lookup=lookup, settings=settings(), now=NOW,
        is_closed=WORKFLOW.is_closed, fingerprint="a" * 64,
    )  # fmt: skip
    assert decision.kind is DecisionKind.DUPLICATE


@pytest.mark.parametrize(("recorded", "given"), [(None, "b" * 64), ("a" * 64, None)])
def test_without_both_fingerprints_a_recorded_message_id_is_a_duplicate(
    lookup: FakeLookup, recorded: str | None, given: str | None
) -> None:
    _fingerprinted(lookup, recorded)
    decision = decide(
        _message(), lookup=lookup, settings=settings(), now=NOW,
        is_closed=WORKFLOW.is_closed, fingerprint=given,
    )  # fmt: skip
    assert decision.kind is DecisionKind.DUPLICATE


def test_another_fingerprint_under_a_recorded_message_id_is_decided_under_a_derived_id(
    lookup: FakeLookup,
) -> None:
    _fingerprinted(lookup, "a" * 64)
    decision = decide(
        _message(), lookup=lookup, settings=settings(), now=NOW,
        is_closed=WORKFLOW.is_closed, fingerprint="b" * 64,
    )  # fmt: skip
    derived = reused_message_id("<m1@example.com>", "b" * 64)
    assert decision.kind is DecisionKind.CREATE
    assert decision.record_as == derived
    assert decision.reused_message_id == "<m1@example.com>"
    lookup.add_message(derived, "created", "ISS-2026-00099")
    again = decide(
        _message(), lookup=lookup, settings=settings(), now=NOW,
        is_closed=WORKFLOW.is_closed, fingerprint="b" * 64,
    )  # fmt: skip
    assert again.kind is DecisionKind.DUPLICATE
    assert again.issue_number == "ISS-2026-00099"


def test_in_reply_to_wins_over_references_and_token(lookup: FakeLookup) -> None:
    lookup.add_issue(issue("ISS-2026-00050", raised_by="alice@example.com", subject="Other"))
    message = _message(
        subject="Re: [#ISS-2026-00050]",
        extra=f"In-Reply-To: {_signed(VICTIM)}\nReferences: {_signed('ISS-2026-00050')}",
    )
    decision = _decide(message, lookup)
    assert (decision.signal, decision.issue_number) == (Signal.IN_REPLY_TO, VICTIM)


def test_references_are_tried_newest_first(lookup: FakeLookup) -> None:
    lookup.add_issue(issue("ISS-2026-00050", raised_by="alice@example.com", subject="Other"))
    refs = f"{_signed(VICTIM)} {_signed('ISS-2026-00050')}"
    decision = _decide(_message(extra=f"References: {refs}"), lookup)
    assert (decision.signal, decision.issue_number) == (Signal.REFERENCES, "ISS-2026-00050")


def test_signed_reference_to_an_issue_that_no_longer_exists_falls_through(
    lookup: FakeLookup,
) -> None:
    decision = _decide(_message(extra=f"In-Reply-To: {_signed('ISS-2020-00001')}"), lookup)
    assert decision.kind is DecisionKind.CREATE


def test_stranger_with_valid_token_starts_own_issue(lookup: FakeLookup) -> None:
    decision = _decide(_message(sender="eve@evil.example", subject=f"[#{VICTIM}] hi"), lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.issue_number is None
    assert decision.subject == "hi"


def test_stranger_naming_own_issue_and_victim_goes_to_own_issue(lookup: FakeLookup) -> None:
    lookup.add_issue(issue("ISS-2026-00060", raised_by="eve@evil.example", subject="Eve's"))
    subject = f"[#{VICTIM}] and [#ISS-2026-00060]"
    decision = _decide(_message(sender="eve@evil.example", subject=subject), lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, "ISS-2026-00060")


ALICE_FIRST = "<CAF-alice-first@mail.gmail.com>"  # Alice's own Message-ID, received on VICTIM


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_stranger_quoting_a_customers_message_id_starts_own_issue(
    header: str, lookup: FakeLookup
) -> None:
    message = _message(sender="eve@evil.example", extra=f"{header}: {ALICE_FIRST}")
    decision = _decide(message, lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.CREATE, None)
    assert decision.signal is Signal(header.lower().replace("-", "_"))
    assert decision.copied_in == ()
    assert "eve@evil.example is not a participant; it starts its own issue" in decision.reason


@pytest.mark.parametrize(
    ("policy", "kind", "number"),
    [
        ("attach_unverified", DecisionKind.APPEND, VICTIM),
        ("reject", DecisionKind.QUARANTINE, None),
    ],
)
def test_stranger_quoting_a_customers_message_id_follows_the_stranger_policy(
    policy: str, kind: DecisionKind, number: str | None, lookup: FakeLookup
) -> None:
    message = _message(
        sender="eve@evil.example", extra=f"In-Reply-To: {ALICE_FIRST}\nCc: eve2@evil.example"
    )
    decision = _decide(message, lookup, stranger_policy=policy)
    assert (decision.kind, decision.issue_number) == (kind, number)
    assert not decision.change_status
    assert decision.copied_in == ()
    assert decision.unverified is (kind is DecisionKind.APPEND)


@pytest.mark.parametrize("sender", ["alice@example.com", "BOB@example.com", "sam@helpdesk.example"])
def test_participants_and_agents_quoting_a_customers_message_id_join_its_issue(
    sender: str, lookup: FakeLookup
) -> None:
    decision = _decide(_message(sender=sender, extra=f"References: {ALICE_FIRST}"), lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, VICTIM)
    assert decision.change_status


def test_anyone_replying_to_mail_the_desk_sent_joins_its_issue(lookup: FakeLookup) -> None:
    old_key = make_message_id(VICTIM, key=b"k" * 32, domain="helpdesk.example", unique="old")
    lookup.add_message(old_key, "sent", VICTIM)
    for reference in (_signed(VICTIM), old_key):
        message = _message(sender="colleague@example.org", extra=f"In-Reply-To: {reference}")
        decision = _decide(message, lookup)
        assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, VICTIM)


def test_a_later_reference_the_sender_may_use_wins_over_a_customers_message_id(
    lookup: FakeLookup,
) -> None:
    lookup.add_issue(issue("ISS-2026-00060", raised_by="eve@evil.example", subject="Eve's"))
    lookup.add_message("<eve-1@evil.example>", "created", "ISS-2026-00060")
    message = _message(
        sender="eve@evil.example",
        extra=f"In-Reply-To: {ALICE_FIRST}\nReferences: <eve-1@evil.example> {ALICE_FIRST}",
    )
    decision = _decide(message, lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, "ISS-2026-00060")


def test_stranger_quoting_a_customers_message_id_with_own_token_goes_to_own_issue(
    lookup: FakeLookup,
) -> None:
    lookup.add_issue(issue("ISS-2026-00060", raised_by="eve@evil.example", subject="Eve's"))
    message = _message(
        sender="eve@evil.example",
        subject="Re: [#ISS-2026-00060]",
        extra=f"In-Reply-To: {ALICE_FIRST}",
    )
    decision = _decide(message, lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, "ISS-2026-00060")


@pytest.mark.parametrize(
    "sender",
    ["alice@example.com", "ALICE@EXAMPLE.COM", "bob@Example.com", "sam@helpdesk.example"],
)
def test_raiser_participants_and_agents_pass_the_token_check(
    sender: str, lookup: FakeLookup
) -> None:
    decision = _decide(_message(sender=sender, subject=f"Re: x [#{VICTIM}]"), lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, VICTIM)


def test_raiser_copying_someone_in_names_them_for_the_participants(lookup: FakeLookup) -> None:
    message = _message(
        subject=f"Re: x [#{VICTIM}]",
        extra="To: support@helpdesk.example\nCc: Carl <carl@example.com>, bob@example.com",
    )
    decision = _decide(message, lookup)
    assert decision.copied_in == ("carl@example.com",)


def test_participant_who_is_not_the_raiser_copies_nobody_in(lookup: FakeLookup) -> None:
    message = _message(
        sender="bob@example.com", subject=f"Re: x [#{VICTIM}]", extra="Cc: carl@example.com"
    )
    assert _decide(message, lookup).copied_in == ()


@pytest.mark.parametrize(
    ("closed_days_ago", "reopens"),
    [(1, True), (14, True), (14.001, False), (40, False)],
)
def test_follow_up_reopens_only_within_the_window(closed_days_ago: float, reopens: bool) -> None:
    lookup = world()
    closed = issue(
        "ISS-2026-00070",
        raised_by="alice@example.com",
        subject="Done",
        status=Status.CLOSED,
        closed_at=NOW - timedelta(days=closed_days_ago),
    )
    lookup.add_issue(closed)
    decision = _decide(_message(subject="Re: Done [#ISS-2026-00070]"), lookup)
    if reopens:
        assert (decision.kind, decision.reopen) == (DecisionKind.APPEND, True)
    else:
        assert (decision.kind, decision.follows_up) == (DecisionKind.CREATE, "ISS-2026-00070")


def test_closed_issue_without_closing_instant_counts_as_past_the_window(
    lookup: FakeLookup,
) -> None:
    lookup.add_issue(
        issue("ISS-2026-00071", raised_by="alice@example.com", subject="x", status=Status.CLOSED)
    )
    decision = _decide(_message(subject="[#ISS-2026-00071]"), lookup)
    assert decision.follows_up == "ISS-2026-00071"


def test_closed_is_whatever_the_predicate_says(lookup: FakeLookup) -> None:
    message = _message(subject=f"[#{VICTIM}]")
    decision = decide(
        message, lookup=lookup, settings=settings(), now=NOW, is_closed=lambda status: True
    )
    assert decision.follows_up == VICTIM  # open issue, but the predicate calls it closed


def test_automated_mail_never_changes_status_or_gets_an_auto_reply(lookup: FakeLookup) -> None:
    message = _message(subject=f"Re: [#{VICTIM}]", extra="Auto-Submitted: auto-replied")
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.APPEND
    assert decision.automated
    assert not decision.change_status
    assert not decision.auto_reply


def test_new_issue_auto_reply_goes_to_reply_to_else_from(lookup: FakeLookup) -> None:
    plain = _decide(_message(sender="zoe@example.com"), lookup)
    assert (plain.auto_reply, plain.auto_reply_to) == (True, "zoe@example.com")
    with_reply_to = _decide(
        _message(sender="zoe@example.com", extra="Reply-To: desk@zoe.example"), lookup
    )
    assert with_reply_to.auto_reply_to == "desk@zoe.example"


def test_no_auto_reply_when_the_desk_turns_them_off(lookup: FakeLookup) -> None:
    decision = _decide(_message(sender="zoe@example.com"), lookup, auto_reply=False)
    assert (decision.kind, decision.auto_reply, decision.auto_reply_to) == (
        DecisionKind.CREATE,
        False,
        None,
    )


def test_loop_header_naming_someone_else_is_no_loop(lookup: FakeLookup) -> None:
    message = _message(extra="X-IssueCore-Loop: other@desk.example")
    assert _decide(message, lookup).kind is DecisionKind.CREATE


def test_quarantined_parse_result_is_quarantined_with_its_reason(lookup: FakeLookup) -> None:
    result = parse_message(b"")
    decision = _decide(result, lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.QUARANTINE, Signal.UNREADABLE)
    assert decision.reason == "empty message"


def test_naive_now_is_refused(lookup: FakeLookup) -> None:
    with pytest.raises(NaiveDatetimeError):
        decide(
            _message(),
            lookup=lookup,
            settings=settings(),
            now=datetime(2026, 1, 1),
            is_closed=WORKFLOW.is_closed,
        )


@given(
    sender_local=st.from_regex(r"[a-z]{1,10}", fullmatch=True),
    subject=hostile_text,
    references=st.lists(st.from_regex(r"<[a-z0-9.]{1,40}@[a-z.]{1,20}>", fullmatch=True)),
)
def test_a_stranger_never_gets_into_an_issue_verified(
    sender_local: str, subject: str, references: list[str]
) -> None:
    lookup = world()
    message = _message(
        sender=f"{sender_local}@stranger.example",
        subject=f"{subject} [#{VICTIM}]".replace("\n", " ").replace("\r", " "),
        extra=f"References: {' '.join(references)}" if references else "",
    )
    decision = _decide(message, lookup, stranger_policy="attach_unverified")
    if decision.kind is DecisionKind.APPEND:
        assert decision.unverified
        assert not decision.change_status


@given(subject=hostile_text, name=hostile_text)
def test_any_message_gets_exactly_one_decision_with_a_reason(subject: str, name: str) -> None:
    raw = f"From: {name} <x@example.com>\nSubject: {subject}\n\nbody\n"
    message = parse_message(raw.encode("utf-8", "surrogateescape"))
    decision = _decide(message, world())
    assert decision.kind in set(DecisionKind)
    assert decision.reason


def test_decision_is_a_frozen_value(lookup: FakeLookup) -> None:
    decision = _decide(_message(), lookup)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decision.kind = DecisionKind.IGNORE  # type: ignore[misc]


def test_a_message_seen_for_the_first_time_is_recorded_under_its_own_message_id(
    lookup: FakeLookup,
) -> None:
    decision = _decide(_message(), lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.record_as == "<m1@example.com>"


# --- loops, follow-up policies and what a decision records, stated one by one -----------


def _closed(days_ago: float) -> FakeLookup:
    lookup = world()
    lookup.add_issue(
        issue(
            "ISS-2026-00070",
            raised_by="alice@example.com",
            subject="Done",
            status=Status.CLOSED,
            closed_at=NOW - timedelta(days=days_ago),
        )
    )
    return lookup


def test_a_follow_up_policy_of_new_issue_starts_one_even_a_minute_after_closing() -> None:
    decision = _decide(
        _message(subject="Re: Done [#ISS-2026-00070]"),
        _closed(1 / 1440),
        follow_up_policy="new_issue",
    )
    assert (decision.kind, decision.follows_up, decision.reopen) == (
        DecisionKind.CREATE,
        "ISS-2026-00070",
        False,
    )
    assert decision.reason.endswith(
        "; follow-ups always start a new issue, so this starts a new issue"
    )


def test_a_follow_up_policy_of_reopen_reopens_however_long_ago_it_closed() -> None:
    decision = _decide(
        _message(subject="Re: Done [#ISS-2026-00070]"), _closed(400), follow_up_policy="reopen"
    )
    assert (decision.kind, decision.reopen, decision.change_status) == (
        DecisionKind.APPEND,
        True,
        True,
    )
    assert decision.reason.endswith("; the closed issue is reopened (reopen)")


def test_a_late_follow_up_says_how_long_the_window_is() -> None:
    decision = _decide(_message(subject="Re: Done [#ISS-2026-00070]"), _closed(15))
    assert decision.reason.endswith(
        "; it was closed more than 14 days, 0:00:00 ago, so this starts a new issue"
    )


def test_automated_mail_on_a_closed_issue_is_added_without_reopening_it() -> None:
    message = _message(subject="Re: Done [#ISS-2026-00070]", extra="Auto-Submitted: auto-replied")
    decision = _decide(message, _closed(1), follow_up_policy="reopen")
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, "ISS-2026-00070")
    assert (decision.reopen, decision.change_status, decision.automated) == (False, False, True)
    assert "automated mail is added to the closed issue without reopening it" in decision.reason


def test_mail_from_our_own_address_is_a_loop(lookup: FakeLookup) -> None:
    decision = _decide(_message(sender="Support@Helpdesk.example"), lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.LOOP, Signal.OWN_ADDRESS)
    assert decision.reason == "sent from our own address Support@helpdesk.example"


def test_mail_whose_loop_header_names_us_is_a_loop(lookup: FakeLookup) -> None:
    message = _message(extra="X-IssueCore-Loop: SUPPORT@helpdesk.example")
    decision = _decide(message, lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.LOOP, Signal.LOOP_HEADER)
    assert decision.reason == "X-IssueCore-Loop names us: our own mail came back"


def test_mail_under_a_message_id_we_signed_is_a_loop(lookup: FakeLookup) -> None:
    decision = _decide(_message(message_id=_signed(VICTIM)), lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.LOOP, Signal.OWN_MESSAGE_ID)
    assert decision.reason.endswith("is one we signed: our own mail came back")


def test_mail_without_a_readable_sender_is_quarantined(lookup: FakeLookup) -> None:
    decision = _decide(_message(sender="not an address"), lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.QUARANTINE, Signal.NO_SENDER)
    assert decision.reason == "the message has no readable sender"


def test_a_bounce_goes_to_the_issue_of_the_message_it_returns(lookup: FakeLookup) -> None:
    bounce = attrs.evolve(
        _message(sender="mailer-daemon@mx.example", extra="Auto-Submitted: auto-replied"),
        returned_message_id=_signed(VICTIM),
    )
    decision = _decide(bounce, lookup)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.RETURNED_MESSAGE,
        VICTIM,
    )
    person = attrs.evolve(_message(sender="zoe@example.com"), returned_message_id=_signed(VICTIM))
    assert _decide(person, lookup).signal is not Signal.RETURNED_MESSAGE


def test_a_reference_that_claims_to_be_ours_but_is_forged_is_recorded(lookup: FakeLookup) -> None:
    forged = _signed(VICTIM).replace("@", "x@", 1)
    decision = _decide(_message(extra=f"In-Reply-To: {forged}"), lookup)
    assert decision.forged_references == (forged,)
    assert decision.kind is DecisionKind.CREATE


def test_a_decision_says_whether_an_agent_sent_it(lookup: FakeLookup) -> None:
    assert _decide(_message(sender="Sam@helpdesk.example"), lookup).from_agent
    assert not _decide(_message(sender="zoe@example.com"), lookup).from_agent


@pytest.mark.parametrize(
    ("header", "direct"),
    [
        ("To: ALICE@example.com", True),
        ("Cc: alice@Example.com", True),
        ("Cc: bob@example.com", False),
    ],
)
def test_an_append_says_whether_the_raiser_had_the_message_already(
    lookup: FakeLookup, header: str, direct: bool
) -> None:
    message = _message(sender="bob@example.com", subject=f"Re: [#{VICTIM}]", extra=header)
    decision = _decide(message, lookup)
    assert (decision.kind, decision.addressed_to_raiser) == (DecisionKind.APPEND, direct)


def test_a_reused_message_id_is_named_in_the_reason(lookup: FakeLookup) -> None:
    lookup.messages["<m1@example.com>"] = PriorMessage(
        message_id="<m1@example.com>", outcome="created", issue_number=VICTIM, fingerprint="a" * 64
    )
    decision = decide(
        _message(sender="zoe@example.com"),
        lookup=lookup,
        settings=settings(),
        now=NOW,
        is_closed=WORKFLOW.is_closed,
        fingerprint="b" * 64,
    )
    derived = reused_message_id("<m1@example.com>", "b" * 64)
    assert (decision.reused_message_id, decision.record_as) == ("<m1@example.com>", derived)
    assert decision.reason.endswith(
        "; its Message-ID <m1@example.com> was already recorded for a different message, "
        f"so it is kept as {derived}"
    )


# --- the fingerprint and the derived Message-ID are stored: their recipes must not drift ----


def _recipe(sender: bytes, date: bytes, body: bytes) -> str:
    """Return the fingerprint docs/threading.md describes, from its three parts."""
    digest = hashlib.sha256()
    for part in (sender, date):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.hexdigest()


CANONICAL = (
    b"From: Ana <ana@c.example>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\nSubject: Hi\r\n"
    b"\r\nLine one\r\nLine two  \r\n\r\n"
)


def test_the_fingerprint_of_a_message_is_the_one_earlier_releases_recorded() -> None:
    expected = "8c4ba70cd34148e112efb6807b63206d6c775e534d40daefe65ab5bc5f5ced48"
    assert message_fingerprint(CANONICAL) == expected
    parts = (b"Ana <ana@c.example>", b"Mon, 2 Mar 2026 09:00:00 +0000", b"Line one\nLine two")
    assert _recipe(*parts) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"From: Ana\r\n  <ana@c.example>\r\nDate: Mon, 2 Mar 2026\r\n\t09:00:00 +0000\r\n\r\nb",
        b"From: Ana\n <ana@c.example>\nDate: Mon, 2 Mar 2026\n 09:00:00 +0000\n\nb",
        b"FROM : Ana \t <ana@c.example> \r\ndate:\tMon,  2 Mar 2026   09:00:00 +0000\r\n\r\nb",
        b"From\r\nX: y\r\nFrom: Ana <ana@c.example>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
        b"From: Eve <eve@e.example>\r\nDate: Tue, 3 Mar 2026 09:00:00 +0000\r\n\r\nb",
    ],
    ids=["folded-crlf", "folded-lf", "case-and-blanks", "first-of-each"],
)
def test_the_fingerprint_reads_from_and_date_unfolded_with_blanks_made_one_space(
    raw: bytes,
) -> None:
    expected = _recipe(b"Ana <ana@c.example>", b"Mon, 2 Mar 2026 09:00:00 +0000", b"b")
    assert message_fingerprint(raw) == expected


def test_the_fingerprint_counts_a_missing_from_or_date_as_empty() -> None:
    assert message_fingerprint(b"Subject: x\r\n\r\nbody\r\n") == _recipe(b"", b"", b"body")
    assert message_fingerprint(b"Date: d\n\nbody") == _recipe(b"", b"d", b"body")
    assert message_fingerprint(b"From: f\n\nbody") == _recipe(b"f", b"", b"body")


def test_the_fingerprint_of_a_message_without_a_body_reads_every_line_as_a_header() -> None:
    assert message_fingerprint(b"From: f\r\nDate: d\r\n") == _recipe(b"f", b"d", b"")
    assert message_fingerprint(b"") == _recipe(b"", b"", b"")


def test_the_fingerprint_keeps_the_body_from_its_first_byte_and_its_inner_blank_lines() -> None:
    raw = b"From: f\n\n\n  indented\r\n\r\n\r\nlast \r\n"
    assert message_fingerprint(raw) == _recipe(b"f", b"", b"\n  indented\n\n\nlast")


def test_a_derived_message_id_is_the_one_earlier_releases_recorded() -> None:
    fingerprint = "b" * 64
    assert reused_message_id("<m1@c.example>", fingerprint) == (
        "<3b1b07141f3fa97983cdad6c561acc231c5ccb58@reused.issuecore.invalid>"
    )
    digest = hashlib.sha256(b"<m1@c.example>\0" + fingerprint.encode()).hexdigest()
    assert reused_message_id("<m1@c.example>", fingerprint) == (
        f"<{digest[:40]}@reused.issuecore.invalid>"
    )


def test_a_message_id_holding_undecodable_bytes_still_gets_a_derived_one() -> None:
    derived = reused_message_id("<\udcff@c.example>", "b" * 64)
    assert derived == "<45f14118d5af826fedd3f6cd948ea1165ea92fd8@reused.issuecore.invalid>"


# --- what each rule says, and the paths no other test takes ------------------------------


def test_a_duplicate_names_its_sender_and_the_record_it_duplicates(lookup: FakeLookup) -> None:
    lookup.add_message("<m1@example.com>", "appended", VICTIM)
    decision = _decide(_message(sender="Zoe@example.com"), lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.DUPLICATE, Signal.MESSAGE_ID)
    assert decision.reason == "Message-ID <m1@example.com> was already recorded as appended"
    assert (decision.sender, decision.issue_number) == ("Zoe@example.com", VICTIM)
    assert (decision.previous_outcome, decision.record_as) == ("appended", "<m1@example.com>")


def test_a_duplicate_of_a_reused_message_id_is_recorded_under_the_derived_one(
    lookup: FakeLookup,
) -> None:
    _fingerprinted(lookup, "a" * 64)
    derived = reused_message_id("<m1@example.com>", "b" * 64)
    lookup.add_message(derived, "created", "ISS-2026-00099")
    decision = decide(
        _message(), lookup=lookup, settings=settings(), now=NOW,
        is_closed=WORKFLOW.is_closed, fingerprint="b" * 64,
    )  # fmt: skip
    assert (decision.kind, decision.record_as) == (DecisionKind.DUPLICATE, derived)
    assert decision.reason == f"Message-ID {derived} was already recorded as created"
    assert decision.reused_message_id is None


def test_an_unreadable_duplicate_has_no_sender(lookup: FakeLookup) -> None:
    unreadable = parse_message(b"")
    assert isinstance(unreadable, Quarantined)
    lookup.add_message(unreadable.message_id, "quarantined", None)
    decision = _decide(unreadable, lookup)
    assert (decision.kind, decision.sender) == (DecisionKind.DUPLICATE, None)


def test_the_refused_naive_instant_is_named(lookup: FakeLookup) -> None:
    with pytest.raises(NaiveDatetimeError, match=r"\bnow\b"):
        decide(
            _message(), lookup=lookup, settings=settings(), now=datetime(2026, 1, 1),
            is_closed=WORKFLOW.is_closed,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("reference", "how"),
    [
        (_signed(VICTIM), f"our signed message on {VICTIM}"),
        (ALICE_FIRST, f"a message we received, recorded on {VICTIM}"),
        ("<sent-1@helpdesk.example>", f"a message we sent, recorded on {VICTIM}"),
    ],
    ids=["signed", "received", "sent"],
)
def test_a_header_match_says_which_header_named_what(
    lookup: FakeLookup, reference: str, how: str
) -> None:
    lookup.add_message("<sent-1@helpdesk.example>", "sent", VICTIM)
    decision = _decide(_message(extra=f"In-Reply-To: {reference}"), lookup)
    assert (decision.kind, decision.issue_number) == (DecisionKind.APPEND, VICTIM)
    assert decision.reason == f"in_reply_to {reference} is {how}"
    assert decision.forged_references == ()


def test_an_unknown_in_reply_to_leaves_the_references_to_decide(lookup: FakeLookup) -> None:
    message = _message(
        sender="colleague@example.org",
        extra=f"In-Reply-To: <unknown@example.org>\nReferences: {_signed(VICTIM)}",
    )
    decision = _decide(message, lookup)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.REFERENCES,
        VICTIM,
    )


def test_a_reference_named_twice_is_looked_at_once_and_the_next_one_still_counts(
    lookup: FakeLookup,
) -> None:
    forged = _signed(VICTIM).replace("@", "x@", 1)
    message = _message(
        sender="colleague@example.org",
        extra=f"In-Reply-To: {forged}\nReferences: {_signed(VICTIM, 'u2')} {forged}",
    )
    decision = _decide(message, lookup)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.REFERENCES,
        VICTIM,
    )
    assert decision.forged_references == (forged,)


def test_a_message_kept_unverified_places_no_reply_on_its_issue(lookup: FakeLookup) -> None:
    # <hijack-0@evil.example> came from a stranger and was kept on VICTIM unverified.
    decision = _decide(_message(extra="In-Reply-To: <hijack-0@evil.example>"), lookup)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.CREATE,
        Signal.NONE,
        None,
    )
    assert decision.reason == "no reference to a known issue"


def test_a_stranger_naming_two_issues_by_header_is_judged_on_the_first(lookup: FakeLookup) -> None:
    lookup.add_issue(issue("ISS-2026-00060", raised_by="carl@example.com", subject="Carl's"))
    lookup.add_message("<carl-1@example.com>", "created", "ISS-2026-00060")
    message = _message(
        sender="eve@evil.example",
        extra=f"In-Reply-To: {ALICE_FIRST}\nReferences: <carl-1@example.com>",
    )
    decision = _decide(message, lookup, stranger_policy="attach_unverified")
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.IN_REPLY_TO,
        VICTIM,
    )
    assert decision.reason == (
        f"in_reply_to {ALICE_FIRST} is a message we received, recorded on {VICTIM} "
        "but eve@evil.example is not a participant; kept unverified by policy"
    )


def test_a_participant_matched_by_token_is_told_so(lookup: FakeLookup) -> None:
    decision = _decide(_message(sender="bob@example.com", subject=f"Re: [#{VICTIM}]"), lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.APPEND, Signal.SUBJECT_TOKEN)
    assert decision.reason == f"subject token names {VICTIM} and bob@example.com is a participant"
    assert (decision.change_status, decision.reopen, decision.unverified) == (True, False, False)


@pytest.mark.parametrize(
    ("policy", "kind", "ending"),
    [
        ("reject", DecisionKind.QUARANTINE, "; rejected by policy"),
        ("attach_unverified", DecisionKind.APPEND, "; kept unverified by policy"),
        ("new_issue", DecisionKind.CREATE, "; it starts its own issue"),
    ],
)
def test_a_stranger_naming_an_issue_by_token_is_told_which_policy_applied(
    lookup: FakeLookup, policy: str, kind: DecisionKind, ending: str
) -> None:
    message = _message(sender="eve@evil.example", subject=f"Re: [#{VICTIM}]")
    decision = _decide(message, lookup, stranger_policy=policy)
    assert (decision.kind, decision.signal) == (kind, Signal.SUBJECT_TOKEN)
    assert decision.reason == (
        f"subject token names {VICTIM} but eve@evil.example is not a participant{ending}"
    )
    assert decision.unverified is (kind is DecisionKind.APPEND)
    assert decision.issue_number == (VICTIM if kind is DecisionKind.APPEND else None)
    assert not decision.change_status


def test_an_agent_copying_someone_in_names_them_for_the_participants(lookup: FakeLookup) -> None:
    message = _message(
        sender="sam@helpdesk.example",
        subject=f"Re: [#{VICTIM}]",
        extra="To: alice@example.com\nCc: carl@example.com, noreply@shop.example",
    )
    decision = _decide(message, lookup)
    assert (decision.kind, decision.from_agent) == (DecisionKind.APPEND, True)
    assert decision.copied_in == ("carl@example.com",)


def test_a_new_issue_copies_in_neither_the_sender_nor_the_desk_nor_robots(
    lookup: FakeLookup,
) -> None:
    message = _message(
        sender="zoe@example.com",
        extra="To: Support@helpdesk.example, ZOE@example.com\n"
        "Cc: mailer-daemon@mx.example, yan@example.com",
    )
    decision = _decide(message, lookup)
    assert decision.kind is DecisionKind.CREATE
    assert decision.copied_in == ("yan@example.com",)


def test_a_new_issue_without_a_subject_is_called_no_subject(lookup: FakeLookup) -> None:
    assert _decide(_message(subject=""), lookup).subject == "(no subject)"
    assert _decide(_message(subject="Re: [#ISS-2099-00001]"), lookup).subject == "(no subject)"


def test_ignored_automated_mail_says_which_signals_fired(lookup: FakeLookup) -> None:
    message = _message(extra="Auto-Submitted: auto-generated\nPrecedence: bulk")
    decision = _decide(message, lookup)
    assert (decision.kind, decision.signal) == (DecisionKind.IGNORE, Signal.AUTOMATED)
    assert decision.automated
    assert decision.automation == ("Auto-Submitted: auto-generated", "Precedence: bulk")
    assert decision.reason == (
        "automated mail matching no issue is ignored: "
        "Auto-Submitted: auto-generated; Precedence: bulk"
    )


def test_a_no_reply_sender_writing_for_a_person_is_named_in_the_reason(
    lookup: FakeLookup,
) -> None:
    message = _message(sender="noreply@erp.example", extra="Reply-To: buyer@customer.example")
    decision = _decide(message, lookup)
    assert decision.reason == (
        "no reference to a known issue; noreply@erp.example sends on behalf of "
        "buyer@customer.example (Reply-To)"
    )


def test_automated_mail_from_the_raiser_on_a_closed_issue_still_copies_in_and_says_direct() -> None:
    message = _message(
        subject="Re: Done [#ISS-2026-00070]",
        extra="Auto-Submitted: auto-replied\nTo: alice@example.com\nCc: carl@example.com, "
        "dan@example.com",
    )
    decision = _decide(message, _closed(1), max_new_participants=1)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.SUBJECT_TOKEN,
        "ISS-2026-00070",
    )
    assert (decision.reopen, decision.change_status) == (False, False)
    assert (decision.copied_in, decision.left_out) == (("carl@example.com",), ("dan@example.com",))
    assert decision.addressed_to_raiser
    assert decision.reason.endswith(
        "without reopening it; 1 more copied-in addresses left out (max_new_participants is 1)"
    )


def test_a_reopening_follow_up_from_the_raiser_copies_in_and_says_direct() -> None:
    message = _message(
        subject="Re: Done [#ISS-2026-00070]",
        extra="To: alice@example.com\nCc: carl@example.com, dan@example.com",
    )
    decision = _decide(message, _closed(1), max_new_participants=1)
    assert (decision.kind, decision.signal, decision.issue_number) == (
        DecisionKind.APPEND,
        Signal.SUBJECT_TOKEN,
        "ISS-2026-00070",
    )
    assert (decision.reopen, decision.change_status) == (True, True)
    assert (decision.copied_in, decision.left_out) == (("carl@example.com",), ("dan@example.com",))
    assert decision.addressed_to_raiser
    assert decision.reason.endswith(
        "(reopen_within); 1 more copied-in addresses left out (max_new_participants is 1)"
    )


def test_a_follow_up_to_an_open_issue_says_what_was_left_out() -> None:
    lookup = world()
    message = _message(
        subject=f"Re: [#{VICTIM}]", extra="Cc: carl@example.com, dan@example.com, eva@example.com"
    )
    decision = _decide(message, lookup, max_new_participants=1)
    assert decision.copied_in == ("carl@example.com",)
    assert decision.left_out == ("dan@example.com", "eva@example.com")
    assert decision.reason == (
        f"subject token names {VICTIM} and alice@example.com is a participant; "
        "2 more copied-in addresses left out (max_new_participants is 1)"
    )


@pytest.mark.parametrize(
    ("days_ago", "policy", "kind"),
    [
        (15, "reopen_within", DecisionKind.CREATE),
        (1, "new_issue", DecisionKind.CREATE),
        (1, "reopen_within", DecisionKind.APPEND),
        (400, "reopen", DecisionKind.APPEND),
    ],
)
def test_a_follow_up_keeps_the_signal_that_named_the_closed_issue(
    days_ago: int, policy: str, kind: DecisionKind
) -> None:
    lookup = _closed(days_ago)
    lookup.add_message("<done-1@example.com>", "created", "ISS-2026-00070")
    message = _message(extra="In-Reply-To: <done-1@example.com>")
    decision = _decide(message, lookup, follow_up_policy=policy)
    assert (decision.kind, decision.signal) == (kind, Signal.IN_REPLY_TO)
    if kind is DecisionKind.APPEND:
        assert (decision.issue_number, decision.reopen) == ("ISS-2026-00070", True)
    else:
        assert (decision.issue_number, decision.follows_up) == (None, "ISS-2026-00070")


def test_a_new_issue_subject_loses_the_token_in_the_desks_own_format(lookup: FakeLookup) -> None:
    message = _message(subject="Re: Printer (Ticket ISS-2099-00001)")
    decision = _decide(message, lookup, token_format="(Ticket {number})")
    assert (decision.kind, decision.subject) == (DecisionKind.CREATE, "Printer")


def test_a_no_reply_sender_naming_our_own_address_copies_in_nobody(lookup: FakeLookup) -> None:
    message = _message(
        sender="noreply@erp.example",
        extra="Reply-To: Support@helpdesk.example\nCc: yan@example.com",
    )
    decision = _decide(message, lookup, automated_policy="create")
    assert (decision.kind, decision.automated) == (DecisionKind.CREATE, True)
    assert decision.copied_in == ("yan@example.com",)
    assert decision.reason == "no reference to a known issue"
    assert (decision.auto_reply, decision.auto_reply_to) == (False, None)
