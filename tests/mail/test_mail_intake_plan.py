"""The intake plan: one shape per outcome, decided without storage.

:func:`~issuecore.mail._intake.plan_intake` is pure, so these properties run it
over every decision Hypothesis can build (including combinations ``decide``
never makes) and over real decisions about strangers' mail.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import NOW, settings, world
from test_mail_strangers import stranger_messages

from issuecore._model import Action, ActorKind, EntryKind
from issuecore.mail import InboundMessage, Quarantined
from issuecore.mail._intake import INTAKE_OUTCOMES, IntakePlan, plan_intake
from issuecore.mail._matching import Decision, DecisionKind, Signal, decide
from issuecore.mail._parse import parse_message
from issuecore.mail._settings import AgentMailPolicy, StrangerPolicy
from strategies import hostile_text

SETTINGS = settings()
ISSUE = "ISS-2026-00042"

addresses = st.sampled_from(
    ["alice@example.com", "bob@example.com", "sam@helpdesk.example", "eve@evil.example"]
)
message_ids = st.sampled_from(["<m-1@example.com>", "<m-2@example.com>", "<ours@helpdesk.example>"])
omissions = st.lists(st.sampled_from(["parts after the 2000th left out", "a part cut"]), max_size=2)

inbound_messages = st.builds(
    InboundMessage,
    message_id=message_ids,
    from_address=st.none() | addresses,
    to=st.lists(addresses, max_size=3).map(tuple),
    subject=hostile_text,
    text=hostile_text,
    html=st.none() | st.just("<p>hello</p>"),
    omissions=omissions.map(tuple),
)
quarantined_messages = st.builds(Quarantined, reason=hostile_text, message_id=message_ids)

decisions = st.builds(
    Decision,
    kind=st.sampled_from(list(DecisionKind)),
    signal=st.sampled_from(list(Signal)),
    reason=hostile_text,
    issue_number=st.none() | st.just(ISSUE),
    sender=st.none() | addresses,
    from_agent=st.booleans(),
    automated=st.booleans(),
    change_status=st.booleans(),
    unverified=st.booleans(),
    follows_up=st.none() | st.just("ISS-2026-00007"),
    subject=st.none() | hostile_text,
    copied_in=st.lists(addresses, max_size=3).map(tuple),
    auto_reply=st.booleans(),
    auto_reply_to=st.none() | addresses,
    previous_outcome=st.none() | st.sampled_from(["created", "appended", "sent", "ignored"]),
    record_as=st.none() | message_ids,
    reused_message_id=st.none() | message_ids,
).filter(lambda d: d.kind is not DecisionKind.APPEND or d.issue_number is not None)

fingerprints = st.none() | st.just("f" * 64)


def plan(
    message: InboundMessage | Quarantined, decision: Decision, fingerprint: str | None = None
) -> IntakePlan:
    return plan_intake(message, decision, settings=SETTINGS, now=NOW, fingerprint=fingerprint)


def shape(result: IntakePlan) -> tuple[bool, ...]:
    """Return which parts a plan has: record, new issue, update, entry."""
    return (
        result.record is not None,
        result.new_issue is not None,
        result.update is not None,
        result.entry is not None,
    )


#: The one shape of each outcome: (record, new issue, update, entry).
SHAPES = {
    "created": (True, True, False, True),
    "appended": (True, False, True, True),
    "ignored": (True, False, False, False),
    "quarantined": (True, False, False, False),
    "duplicate": (False, False, False, False),
}


@given(st.one_of(inbound_messages, quarantined_messages), decisions, fingerprints)
def test_every_outcome_has_exactly_one_plan_shape(
    message: InboundMessage | Quarantined, decision: Decision, fingerprint: str | None
) -> None:
    result = plan(message, decision, fingerprint)

    assert result.outcome in INTAKE_OUTCOMES
    if result.outcome == "loop":
        # A loop is recorded, unless it is our own sent message already on record.
        sent_back = decision.kind is DecisionKind.DUPLICATE
        assert shape(result) == (not sent_back, False, False, False)
    else:
        assert shape(result) == SHAPES[result.outcome]
    # Bytes are kept of what reaches no issue but a loop, and of what was cut.
    cut = isinstance(message, InboundMessage) and bool(message.omissions)
    kept = {"ignored": True, "quarantined": True, "created": cut, "appended": cut}
    assert result.keep_raw == kept.get(result.outcome, False)
    if result.record is not None:
        assert result.record.message_id == result.message_id
        assert result.record.fingerprint == fingerprint
        assert result.record.reason == result.reason


@given(st.one_of(inbound_messages, quarantined_messages), decisions, fingerprints)
def test_the_outcome_follows_the_decision_kind(
    message: InboundMessage | Quarantined, decision: Decision, fingerprint: str | None
) -> None:
    result = plan(message, decision, fingerprint)

    if decision.kind is DecisionKind.DUPLICATE:
        expected = "loop" if decision.previous_outcome == "sent" else "duplicate"
    elif decision.kind is DecisionKind.LOOP:
        expected = "loop"
    elif decision.kind is DecisionKind.IGNORE:
        expected = "ignored"
    elif isinstance(message, Quarantined) or decision.kind is DecisionKind.QUARANTINE:
        expected = "quarantined"  # nothing unreadable reaches an issue, whatever was decided
    else:
        expected = "created" if decision.kind is DecisionKind.CREATE else "appended"
    assert result.outcome == expected
    assert result.signal == str(decision.signal)


@given(st.one_of(inbound_messages, quarantined_messages), decisions, fingerprints)
def test_a_duplicate_plan_writes_nothing(
    message: InboundMessage | Quarantined, decision: Decision, fingerprint: str | None
) -> None:
    duplicate = attrs.evolve(decision, kind=DecisionKind.DUPLICATE)

    result = plan(message, duplicate, fingerprint)

    assert not result.writes_anything
    assert (result.record, result.new_issue, result.update, result.entry, result.note) == (
        (None,) * 5
    )
    assert not result.keep_raw
    assert result.issue_number == decision.issue_number
    assert result.message_id == (decision.record_as or message.message_id)


@given(inbound_messages, decisions)
def test_an_unverified_decision_never_yields_a_verified_append(
    message: InboundMessage, decision: Decision
) -> None:
    unverified = attrs.evolve(
        decision, kind=DecisionKind.APPEND, issue_number=ISSUE, unverified=True
    )

    result = plan(message, unverified)

    assert result.outcome == "appended"
    assert result.record is not None
    assert result.record.outcome == "unverified"
    assert result.entry is not None
    assert result.entry.unverified
    assert result.update is not None
    assert result.update.participants == ()
    assert result.update.action is None  # the status stays; the issue is only marked updated


@given(stranger_messages(), st.sampled_from(list(StrangerPolicy)))
def test_a_stranger_never_yields_a_verified_append(raw: bytes, policy: StrangerPolicy) -> None:
    message = parse_message(raw)
    assert isinstance(message, InboundMessage), message
    rules = settings(stranger_policy=policy)
    decision = decide(
        message,
        lookup=world(),
        settings=rules,
        now=NOW,
        is_closed=lambda status: status == "Closed",
    )

    result = plan_intake(message, decision, settings=rules, now=NOW, fingerprint=None)

    if result.outcome == "appended":
        assert result.record is not None
        assert result.record.outcome == "unverified"
        assert result.entry is not None
        assert result.entry.unverified
        assert result.update is not None
        assert (result.update.participants, result.update.action) == ((), None)


@given(inbound_messages, decisions)
def test_who_wrote_decides_the_entry_kind_and_the_action(
    message: InboundMessage, decision: Decision
) -> None:
    appended = attrs.evolve(decision, kind=DecisionKind.APPEND, issue_number=ISSUE)

    result = plan(message, appended)

    assert result.entry is not None
    assert result.update is not None
    if decision.automated:
        assert result.entry.kind is EntryKind.AUTOMATED_MESSAGE
        assert result.update.action is None
    elif decision.from_agent:
        # Agent mail reaches the customer (an agent reply) or is kept as an internal note.
        assert result.entry.kind in (EntryKind.AGENT_REPLY, EntryKind.INTERNAL_NOTE)
        if result.entry.kind is EntryKind.INTERNAL_NOTE:
            assert (result.update.action, result.relay) == (None, None)
    else:
        assert result.entry.kind is EntryKind.CUSTOMER_MESSAGE
    if result.update.action is not None:
        assert decision.change_status
        assert not decision.unverified
        expected = Action.AGENT_REPLY if decision.from_agent else Action.CUSTOMER_MESSAGE
        assert result.update.action == expected
    assert result.update.actor.kind is (
        ActorKind.AGENT if decision.from_agent else ActorKind.CUSTOMER
    )
    event = result.received(ISSUE)
    assert (event.number, event.message_id, event.automated) == (
        ISSUE,
        result.message_id,
        decision.automated,
    )


@given(inbound_messages, decisions)
def test_a_message_with_parts_left_out_keeps_its_bytes_and_says_so(
    message: InboundMessage, decision: Decision
) -> None:
    # An agent's mail gets a note of its own (see the agent-mail property below).
    filed = attrs.evolve(
        decision,
        kind=DecisionKind.CREATE if decision.issue_number is None else DecisionKind.APPEND,
        from_agent=False,  # agent mail adds its own reason and note: see the agent property
    )

    result = plan(message, filed)

    assert result.keep_raw == bool(message.omissions)
    assert (result.note is not None) == bool(message.omissions or decision.reused_message_id)
    if message.omissions:
        assert result.note is not None
        assert all(omission in result.note.text for omission in message.omissions)
        assert result.reason.endswith("left out: " + "; ".join(message.omissions))
    else:
        assert result.reason == decision.reason


@given(inbound_messages, decisions)
def test_only_a_due_reply_goes_to_the_new_issues_recipient(
    message: InboundMessage, decision: Decision
) -> None:
    created = attrs.evolve(decision, kind=DecisionKind.CREATE)

    result = plan(message, created)
    off = plan_intake(
        message, created, settings=settings(auto_reply=False), now=NOW, fingerprint=None
    )

    assert result.new_issue is not None
    wanted = decision.auto_reply_to if decision.auto_reply else None
    assert result.new_issue.auto_reply_to == (wanted or None)
    assert off.new_issue is not None
    assert off.new_issue.auto_reply_to is None
    assert result.new_issue.subject  # never empty: "(no subject)" at least


def test_a_message_we_sent_coming_back_is_a_loop_that_writes_nothing() -> None:
    message = InboundMessage(message_id="<ours@helpdesk.example>", from_address="x@example.com")
    decision = Decision(
        kind=DecisionKind.DUPLICATE,
        signal=Signal.MESSAGE_ID,
        reason="Message-ID <ours@helpdesk.example> was already recorded as sent",
        issue_number=ISSUE,
        previous_outcome="sent",
        record_as="<ours@helpdesk.example>",
    )

    result = plan(message, decision)

    assert result.outcome == "loop"
    assert result.reason.endswith("is one we sent: our own mail came back")
    assert not result.writes_anything


def test_the_plan_needs_an_aware_instant() -> None:
    message = InboundMessage(message_id="<m@example.com>", from_address="a@example.com")
    decision = Decision(kind=DecisionKind.CREATE, signal=Signal.NONE, reason="new")

    with pytest.raises(ValueError, match="now"):
        plan_intake(
            message, decision, settings=SETTINGS, now=NOW.replace(tzinfo=None), fingerprint=None
        )
    assert plan(message, decision).entry is not None
    assert plan(message, decision) == plan(message, decision)  # nothing but its inputs count
    later = plan_intake(
        message, decision, settings=SETTINGS, now=NOW + timedelta(seconds=1), fingerprint=None
    )
    assert later.entry is not None
    assert later.entry.at == NOW + timedelta(seconds=1)


@given(inbound_messages, decisions, st.sampled_from(list(AgentMailPolicy)), st.booleans())
def test_agent_mail_is_relayed_told_directly_or_kept_as_a_note(
    message: InboundMessage, decision: Decision, policy: AgentMailPolicy, direct: bool
) -> None:
    appended = attrs.evolve(
        decision,
        kind=DecisionKind.APPEND,
        issue_number=ISSUE,
        from_agent=True,
        automated=False,
        unverified=False,
        change_status=True,
        addressed_to_raiser=direct,
    )
    settings = attrs.evolve(SETTINGS, agent_mail_policy=policy)
    result = plan_intake(message, appended, settings=settings, now=NOW, fingerprint=None)

    assert result.entry is not None
    assert result.update is not None
    if result.relay is not None:
        assert policy is AgentMailPolicy.RELAY
        assert not direct
        assert (result.entry.kind, result.update.action) == (
            EntryKind.AGENT_REPLY,
            Action.AGENT_REPLY,
        )
        assert result.relay.body == result.entry.display_text
        assert result.relay.attachments == result.entry.attachments
    elif direct:
        assert (result.entry.kind, result.update.action) == (
            EntryKind.AGENT_REPLY,
            Action.AGENT_REPLY,
        )
    else:
        assert (result.entry.kind, result.update.action) == (EntryKind.INTERNAL_NOTE, None)
        assert result.note is not None
        assert "was not sent to the customer" in result.note.text
        assert all(omission in result.note.text for omission in message.omissions)
