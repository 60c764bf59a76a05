"""The default lifecycle, workflow validation, and the pure operations on issues."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import (
    Action,
    Actor,
    InvalidTransitionError,
    Issue,
    NaiveDatetimeError,
    SlaRole,
    Status,
    StatusSpec,
    Transition,
    Workflow,
    WorkflowError,
)
from issuecore._model import (
    Assigned,
    DetailsChanged,
    HistoryEntry,
    NoteAdded,
    ParticipantAdded,
    PriorityChanged,
    Unassigned,
)
from issuecore._workflow import (
    DEFAULT_WORKFLOW,
    add_note,
    add_participant,
    assign,
    auto_close_due_at,
    format_issue_number,
    open_issue,
    set_details,
    set_priority,
    unassign,
)
from issuecore.testing.strategies import actions, aware_datetimes, issues, statuses

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor.agent("agent@example.com")
CUSTOMER = Actor.customer("customer@example.com")

OPN, WFR, HLD, RES, CLS = (
    Status.OPEN,
    Status.WAITING_FOR_REPLY,
    Status.ON_HOLD,
    Status.RESOLVED,
    Status.CLOSED,
)

# lifecycle.md's table, written out row by row independently of the implementation.
EXPECTED = {
    "customer_message": {OPN: OPN, WFR: OPN, HLD: OPN, RES: OPN, CLS: OPN},
    "agent_reply": {OPN: WFR, WFR: WFR, HLD: WFR, RES: RES, CLS: CLS},
    "hold": {OPN: HLD, WFR: HLD},
    "resolve": {OPN: RES, WFR: RES, HLD: RES},
    "close": {OPN: CLS, WFR: CLS, HLD: CLS, RES: CLS},
    "auto_close": {WFR: CLS},
    "reopen": {RES: OPN, CLS: OPN},
    "resume": {WFR: OPN, HLD: OPN},
}


def new_issue(status: str = OPN, number: str = "ISS-2026-00042") -> Issue:
    issue = open_issue(
        number=number, subject="Invoice missing", raised_by="customer@example.com", at=T0
    ).issue
    return issue if status == OPN else _evolve_status(issue, status)


def _evolve_status(issue: Issue, status: str) -> Issue:
    return attrs.evolve(issue, status=status)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(list(Status), list(Action))))
def test_every_status_action_pair_follows_the_lifecycle_table(
    status: Status, action: Action
) -> None:
    issue = new_issue(status)
    expected = EXPECTED[action].get(status)
    if expected is None:
        with pytest.raises(InvalidTransitionError) as caught:
            DEFAULT_WORKFLOW.apply(issue, action, at=T0 + timedelta(hours=1), actor=AGENT)
        assert caught.value.status == status
        assert caught.value.action == action
        assert caught.value.number == "ISS-2026-00042"
        assert caught.value.allowed == tuple(
            sorted(a for a, row in EXPECTED.items() if status in row)
        )
    else:
        change = DEFAULT_WORKFLOW.apply(issue, action, at=T0 + timedelta(hours=1), actor=AGENT)
        assert change.issue.status == expected
        assert change.issue.history[-1].action == action
        assert change.issue.history[-1].from_status == status
        assert change.issue.history[-1].to_status == expected


def test_refusal_message_names_issue_status_action_and_allowed_actions() -> None:
    issue = new_issue(CLS)
    with pytest.raises(InvalidTransitionError) as caught:
        DEFAULT_WORKFLOW.apply(issue, Action.RESOLVE, at=T0, actor=AGENT)
    assert str(caught.value) == (
        "cannot resolve ISS-2026-00042: it is Closed; "
        "allowed from Closed: agent_reply, customer_message, reopen"
    )


def test_invalid_transition_is_a_value_error_and_an_issuecore_error() -> None:
    from issuecore import IssueCoreError

    with pytest.raises(ValueError, match="cannot hold"):
        DEFAULT_WORKFLOW.apply(new_issue(RES), Action.HOLD, at=T0, actor=AGENT)
    assert issubclass(InvalidTransitionError, IssueCoreError)


def test_default_table_has_exactly_the_documented_rows() -> None:
    expected = {(s, a): t for a, row in EXPECTED.items() for s, t in row.items()}
    assert dict(DEFAULT_WORKFLOW.table) == expected


def test_auto_close_of_resolved_issues_is_opt_in() -> None:
    assert DEFAULT_WORKFLOW.target(RES, Action.AUTO_CLOSE) is None
    assert Workflow.default().target(RES, Action.AUTO_CLOSE) is None
    assert Workflow.default(auto_close_resolved=True).target(RES, Action.AUTO_CLOSE) == CLS


def test_agent_reply_on_resolved_issue_does_not_reopen_it_but_is_recorded() -> None:
    change = DEFAULT_WORKFLOW.apply(new_issue(RES), Action.AGENT_REPLY, at=T0, actor=AGENT)
    assert change.issue.status == RES
    assert change.events == ()
    assert change.issue.last_agent_reply_at == T0


def test_customer_reply_reopens_waiting_issue() -> None:
    waiting = DEFAULT_WORKFLOW.apply(new_issue(), Action.AGENT_REPLY, at=T0, actor=AGENT).issue
    later = T0 + timedelta(hours=2)
    change = DEFAULT_WORKFLOW.apply(waiting, Action.CUSTOMER_MESSAGE, at=later, actor=CUSTOMER)
    assert change.issue.status == OPN
    assert change.issue.status_since == later
    assert [type(e).__name__ for e in change.events] == ["StatusChanged"]


def test_closing_raises_closed_event_and_stamps_closed_at() -> None:
    change = DEFAULT_WORKFLOW.apply(
        new_issue(), Action.CLOSE, at=T0, actor=AGENT, reason="duplicate of ISS-2026-00001"
    )
    assert change.issue.closed_at == T0
    assert [type(e).__name__ for e in change.events] == ["StatusChanged", "IssueClosed"]
    assert change.issue.history[-1].reason == "duplicate of ISS-2026-00001"


def test_reopening_clears_closed_and_resolved_instants() -> None:
    resolved = DEFAULT_WORKFLOW.apply(new_issue(), Action.RESOLVE, at=T0, actor=AGENT).issue
    closed = DEFAULT_WORKFLOW.apply(resolved, Action.CLOSE, at=T0, actor=AGENT).issue
    assert closed.resolved_at == T0
    reopened = DEFAULT_WORKFLOW.apply(closed, Action.REOPEN, at=T0, actor=AGENT).issue
    assert reopened.closed_at is None
    assert reopened.resolved_at is None


def test_first_response_is_the_first_agent_reply_only() -> None:
    first = DEFAULT_WORKFLOW.apply(new_issue(), Action.AGENT_REPLY, at=T0, actor=AGENT).issue
    second = DEFAULT_WORKFLOW.apply(
        first, Action.AGENT_REPLY, at=T0 + timedelta(hours=1), actor=AGENT
    ).issue
    assert second.first_responded_at == T0
    assert second.last_agent_reply_at == T0 + timedelta(hours=1)


def test_an_earlier_instant_than_the_last_entry_is_recorded_at_the_last_entry() -> None:
    issue = add_note(new_issue(), at=T0 + timedelta(hours=1), actor=AGENT).issue
    change = DEFAULT_WORKFLOW.apply(issue, Action.HOLD, at=T0, actor=AGENT)
    assert change.issue.history[-1].at == T0 + timedelta(hours=1)


# --- auto-close -------------------------------------------------------------------


def waiting_since(at: datetime) -> Issue:
    return DEFAULT_WORKFLOW.apply(new_issue(), Action.AGENT_REPLY, at=at, actor=AGENT).issue


def test_waiting_issue_closes_after_seven_days_of_silence() -> None:
    issue = waiting_since(T0)
    assert DEFAULT_WORKFLOW.auto_close(issue, now=T0 + timedelta(days=7)).issue.status == CLS


def test_waiting_issue_stays_open_one_microsecond_before_due() -> None:
    issue = waiting_since(T0)
    almost = T0 + timedelta(days=7) - timedelta(microseconds=1)
    change = DEFAULT_WORKFLOW.auto_close(issue, now=almost)
    assert change.issue is issue
    assert change.events == ()


def test_notes_and_assignments_do_not_restart_the_auto_close_clock() -> None:
    issue = waiting_since(T0)
    issue = add_note(issue, at=T0 + timedelta(days=6), actor=AGENT).issue
    issue = assign(issue, "ben@example.com", at=T0 + timedelta(days=6), actor=AGENT).issue
    closed = DEFAULT_WORKFLOW.auto_close(issue, now=T0 + timedelta(days=7)).issue
    assert closed.status == CLS
    assert closed.history[-1].actor == Actor.system("auto-close")
    assert closed.history[-1].reason == (
        "no reply from the customer for 7 days "
        "since the last agent reply at 2026-03-02 09:00:00 UTC"
    )


def test_a_later_agent_reply_restarts_the_auto_close_clock() -> None:
    issue = waiting_since(T0)
    issue = DEFAULT_WORKFLOW.apply(
        issue, Action.AGENT_REPLY, at=T0 + timedelta(days=3), actor=AGENT
    ).issue
    assert auto_close_due_at(issue) == T0 + timedelta(days=10)
    assert DEFAULT_WORKFLOW.auto_close(issue, now=T0 + timedelta(days=7)).issue.status == WFR


def test_auto_close_none_turns_it_off() -> None:
    issue = waiting_since(T0)
    assert auto_close_due_at(issue, after=None) is None
    assert (
        DEFAULT_WORKFLOW.auto_close(issue, now=T0 + timedelta(days=999), after=None).issue == issue
    )


def test_open_issue_is_never_due_for_auto_close() -> None:
    assert auto_close_due_at(new_issue()) is None


def test_resolved_issue_auto_closes_only_when_configured_counting_from_resolution() -> None:
    flow = Workflow.default(auto_close_resolved=True)
    issue = waiting_since(T0)
    resolved = flow.apply(issue, Action.RESOLVE, at=T0 + timedelta(days=5), actor=AGENT).issue
    assert auto_close_due_at(resolved, workflow=flow) == T0 + timedelta(days=12)
    assert auto_close_due_at(resolved) is None
    due = T0 + timedelta(days=12)
    assert flow.auto_close(resolved, now=due).issue.status == CLS
    assert DEFAULT_WORKFLOW.auto_close(resolved, now=due).issue is resolved


# --- non-status operations ---------------------------------------------------------


def test_assigning_twice_is_a_no_op() -> None:
    once = assign(new_issue(), "ben@example.com", at=T0, actor=AGENT)
    twice = assign(once.issue, "ben@example.com", at=T0, actor=AGENT)
    assert once.issue.assignees == ("ben@example.com",)
    assert twice.issue is once.issue
    assert twice.events == ()


def test_several_assignees_and_unassign() -> None:
    issue = assign(new_issue(), "ben@example.com", at=T0, actor=AGENT).issue
    issue = assign(issue, "ana@example.com", at=T0, actor=AGENT).issue
    change = unassign(issue, "ben@example.com", at=T0, actor=AGENT)
    assert change.issue.assignees == ("ana@example.com",)
    assert change.issue.history[-1].action == "unassign"
    again = unassign(change.issue, "ben@example.com", at=T0, actor=AGENT)
    assert again.issue is change.issue
    assert again.events == ()


def test_participants_compare_case_insensitively() -> None:
    issue = add_participant(new_issue(), "Boss@Example.com", at=T0, actor=CUSTOMER).issue
    assert issue.is_participant("boss@example.com")
    assert issue.is_participant("CUSTOMER@example.com")
    again = add_participant(issue, "boss@EXAMPLE.com", at=T0, actor=CUSTOMER)
    assert again.issue is issue
    assert again.events == ()


def test_priority_change_is_recorded_with_old_and_new() -> None:
    change = set_priority(new_issue(), "Urgent", at=T0, actor=AGENT)
    assert change.issue.priority == "Urgent"
    assert change.issue.history[-1].detail == "None -> Urgent"
    assert set_priority(change.issue, "Urgent", at=T0, actor=AGENT).events == ()
    lowered = set_priority(change.issue, "Low", at=T0, actor=AGENT)
    assert lowered.issue.history[-1].detail == "Urgent -> Low"
    assert lowered.events == (
        PriorityChanged(number=change.issue.number, at=T0, actor=AGENT, old="Urgent", new="Low"),
    )


def test_issue_numbers_follow_the_naming_series() -> None:
    assert format_issue_number(2026, 42) == "ISS-2026-00042"
    assert format_issue_number(2026, 123456) == "ISS-2026-123456"
    with pytest.raises(ValueError, match="starts at 1"):
        format_issue_number(2026, 0)


def test_naive_datetimes_are_refused_everywhere() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    issue = new_issue()
    with pytest.raises(NaiveDatetimeError, match="at must be timezone-aware"):
        open_issue(number="X", subject="s", raised_by="a@b.c", at=naive)
    with pytest.raises(NaiveDatetimeError, match=r"^at must be timezone-aware"):
        DEFAULT_WORKFLOW.apply(issue, Action.HOLD, at=naive, actor=AGENT)
    with pytest.raises(NaiveDatetimeError, match=r"^now must be timezone-aware"):
        DEFAULT_WORKFLOW.auto_close(issue, now=naive)
    for operation in (assign, unassign, add_participant, set_priority):
        with pytest.raises(NaiveDatetimeError):
            operation(issue, "x", at=naive, actor=AGENT)
    with pytest.raises(NaiveDatetimeError):
        add_note(issue, at=naive, actor=AGENT)


# --- properties -----------------------------------------------------------------


@given(issue=issues(), status=statuses(), action=actions(), at=aware_datetimes())
def test_apply_either_follows_the_table_or_refuses_and_changes_nothing(
    issue: Issue, status: str, action: str, at: datetime
) -> None:
    issue = _evolve_status(issue, status)
    target = DEFAULT_WORKFLOW.table.get((status, action))
    if target is None:
        with pytest.raises(InvalidTransitionError):
            DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=AGENT)
        return
    change = DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=AGENT)
    assert change.issue.status == target
    assert change.issue.history[:-1] == issue.history
    assert change.issue.history[-1].at >= issue.updated_at
    assert bool(change.events) == (target != status)


@given(steps=st.lists(actions(), max_size=30))
def test_every_allowed_sequence_keeps_history_ordered(steps: list[str]) -> None:
    issue = new_issue()
    at = T0
    for step in steps:
        at += timedelta(minutes=17)
        if DEFAULT_WORKFLOW.target(issue.status, step) is not None:
            issue = DEFAULT_WORKFLOW.apply(issue, step, at=at, actor=AGENT).issue
    instants = [entry.at for entry in issue.history]
    assert instants == sorted(instants)
    assert len(issue.history) >= 1


# --- a custom workflow ---------------------------------------------------------------


def escalation_workflow() -> Workflow:
    return Workflow(
        name="escalation",
        statuses=[
            StatusSpec(name="New", sla=SlaRole.RUNNING, initial=True),
            StatusSpec(name="Escalated", sla=SlaRole.RUNNING),
            StatusSpec(name="Done", sla=SlaRole.FULFILLED, closed=True),
        ],
        transitions={
            ("New", "escalate"): "Escalated",
            ("New", "close"): "Done",
            ("Escalated", "close"): "Done",
            ("Done", "reopen"): "New",
        },
    )


def test_custom_workflow_is_applied_like_the_default() -> None:
    flow = escalation_workflow()
    issue = open_issue(number="T-1", subject="s", raised_by="a@b.c", at=T0, workflow=flow).issue
    assert issue.status == "New"
    escalated = flow.apply(issue, "escalate", at=T0, actor=AGENT).issue
    assert escalated.status == "Escalated"
    with pytest.raises(InvalidTransitionError, match="allowed from Escalated: close"):
        flow.apply(escalated, "escalate", at=T0, actor=AGENT)


def test_workflow_diagram_is_generated_from_the_table() -> None:
    mermaid = DEFAULT_WORKFLOW.to_mermaid()
    assert mermaid.startswith("stateDiagram-v2\n")
    assert '    state "Waiting for Reply" as WaitingForReply' in mermaid
    assert "    [*] --> Open" in mermaid
    assert "    Open --> WaitingForReply: agent_reply" in mermaid
    assert "    WaitingForReply --> Closed: close, auto_close" in mermaid
    assert "    Closed --> [*]" in mermaid
    edges = [line for line in mermaid.splitlines() if "-->" in line and "[*]" not in line]
    assert sum(len(line.split(": ")[1].split(", ")) for line in edges) == len(
        DEFAULT_WORKFLOW.table
    )
    dot = escalation_workflow().to_dot()
    assert '"New" -> "Escalated" [label="escalate"];' in dot


# --- validation -----------------------------------------------------------------


def spec(name: str, **kwargs: object) -> StatusSpec:
    kwargs.setdefault("sla", SlaRole.RUNNING)
    return StatusSpec(name=name, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statuses", "transitions", "message"),
    [
        ([], {}, "malformed workflow: it declares no statuses"),
        (
            [spec("A"), spec("B", closed=True)],
            {("A", "go"): "B"},
            "no status is initial; mark exactly one with initial=True",
        ),
        (
            [spec("A", initial=True), spec("B", initial=True), spec("C", closed=True)],
            {("A", "go"): "C", ("B", "go"): "C"},
            "2 statuses are initial (A, B); mark exactly one",
        ),
        (
            [spec("A", initial=True), spec("B")],
            {("A", "go"): "B"},
            "no status is closed; mark at least one with closed=True",
        ),
        (
            [spec("A", initial=True), spec("B", sla=None, closed=True)],
            {("A", "go"): "B"},
            "status 'B' does not state its SLA role",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True)],
            {("A", "go"): "B", ("A", "escalate"): "Escalted"},
            "names unknown status 'Escalted'; known: A, B",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True), spec("Lost")],
            {("A", "go"): "B", ("Lost", "go"): "B"},
            "status 'Lost' cannot be reached from the initial status 'A'",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True), spec("Limbo")],
            {("A", "go"): "B", ("A", "park"): "Limbo"},
            "status 'Limbo' has no path to a closed status (B)",
        ),
        (
            [spec("A", initial=True), spec("A"), spec("B", closed=True)],
            {("A", "go"): "B"},
            "status 'A' is declared twice",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True), spec("C", closed=True)],
            [
                Transition(source="A", action="go", target="B"),
                Transition(source="A", action="go", target="C"),
            ],
            "action 'go' from 'A' is declared twice, to 'B' and to 'C'",
        ),
    ],
    ids=[
        "empty",
        "no-initial",
        "two-initial",
        "no-closed",
        "no-sla-role",
        "unknown-status",
        "unreachable",
        "dead-end",
        "duplicate-status",
        "conflicting-rows",
    ],
)
def test_malformed_workflow_is_refused_with_its_message(
    statuses: list[StatusSpec], transitions: object, message: str
) -> None:
    with pytest.raises(WorkflowError) as caught:
        Workflow(statuses=statuses, transitions=transitions)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_several_problems_are_listed_together() -> None:
    with pytest.raises(WorkflowError) as caught:
        Workflow(statuses=[spec("A"), spec("B", sla=None)], transitions={})
    text = str(caught.value)
    assert text.startswith("malformed workflow (3 problems):")
    assert "no status is initial" in text
    assert "no status is closed" in text
    assert "status 'B' does not state its SLA role" in text


def test_workflow_without_on_hold_is_valid() -> None:
    table = {k: v for k, v in DEFAULT_WORKFLOW.table.items() if HLD not in (k[0], v)}
    flow = Workflow(
        statuses=[s for s in DEFAULT_WORKFLOW.statuses if s.name != HLD], transitions=table
    )
    assert HLD not in {s.name for s in flow.statuses}
    assert flow.allowed(OPN) == ("agent_reply", "close", "customer_message", "resolve")


def test_unknown_status_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown status 'Pending'; known: Open, Waiting for Reply"):
        DEFAULT_WORKFLOW.spec("Pending")


# --- each pure operation records exactly one history entry and one event ----------------------


def _raised() -> Issue:
    return open_issue(
        number="ISS-2026-00001", subject="Printer", raised_by="customer@example.com", at=T0
    ).issue


LATER = T0 + timedelta(minutes=5)


def _entry(action: str, detail: str | None) -> HistoryEntry:
    return HistoryEntry(
        at=LATER, actor=AGENT, action=action, from_status=OPN, to_status=OPN, detail=detail
    )


def test_add_note_records_a_note_entry_and_a_note_event() -> None:
    change = add_note(_raised(), at=LATER, actor=AGENT)
    assert change.issue.history[-1] == _entry("note", None)
    assert change.events == (NoteAdded(number="ISS-2026-00001", at=LATER, actor=AGENT),)


def test_assign_records_the_user_and_an_assigned_event() -> None:
    change = assign(_raised(), "ben", at=LATER, actor=AGENT)
    assert change.issue.assignees == ("ben",)
    assert change.issue.history[-1] == _entry("assign", "ben")
    assert change.events == (Assigned(number="ISS-2026-00001", at=LATER, actor=AGENT, user="ben"),)


def test_unassign_records_the_user_and_an_unassigned_event() -> None:
    assigned = assign(_raised(), "ben", at=T0, actor=AGENT).issue
    change = unassign(assigned, "ben", at=LATER, actor=AGENT)
    assert change.issue.assignees == ()
    assert change.issue.history[-1] == _entry("unassign", "ben")
    expected = Unassigned(number="ISS-2026-00001", at=LATER, actor=AGENT, user="ben")
    assert change.events == (expected,)


def test_add_participant_records_the_address_and_a_participant_event() -> None:
    change = add_participant(_raised(), "cc@example.com", at=LATER, actor=AGENT)
    assert change.issue.participants == ("cc@example.com",)
    assert change.issue.history[-1] == _entry("add_participant", "cc@example.com")
    expected = ParticipantAdded(
        number="ISS-2026-00001", at=LATER, actor=AGENT, address="cc@example.com"
    )
    assert change.events == (expected,)


def test_set_priority_records_old_and_new_and_a_priority_event() -> None:
    issue = _raised()
    change = set_priority(issue, "Urgent", at=LATER, actor=AGENT)
    assert change.issue.priority == "Urgent"
    assert change.issue.history[-1] == _entry("set_priority", f"{issue.priority} -> Urgent")
    expected = PriorityChanged(
        number="ISS-2026-00001", at=LATER, actor=AGENT, old=issue.priority, new="Urgent"
    )
    assert change.events == (expected,)


@pytest.mark.parametrize(
    "operation",
    [
        lambda issue, at: add_note(issue, at=at, actor=AGENT),
        lambda issue, at: assign(issue, "ben", at=at, actor=AGENT),
        lambda issue, at: unassign(issue, "ben", at=at, actor=AGENT),
        lambda issue, at: add_participant(issue, "cc@example.com", at=at, actor=AGENT),
        lambda issue, at: set_priority(issue, "Urgent", at=at, actor=AGENT),
        lambda issue, at: set_details(
            issue, at=at, actor=AGENT, issue_type="Billing", references={}, fields={}
        ),
    ],
)
def test_each_operation_names_the_naive_at_argument(operation: Any) -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^at must be timezone-aware"):
        operation(_raised(), datetime(2026, 3, 2, 9))


def test_set_details_records_what_changed_and_a_details_event() -> None:
    change = set_details(
        _raised(),
        at=LATER,
        actor=AGENT,
        issue_type="Billing",
        references={"customer": "C-1"},
        fields={"seats": 3},
    )
    issue = change.issue
    assert (issue.issue_type, issue.references, issue.fields) == (
        "Billing",
        {"customer": "C-1"},
        {"seats": 3},
    )
    assert issue.history[-1] == _entry("set_details", "issue_type, references, fields")
    expected = DetailsChanged(
        number="ISS-2026-00001",
        at=LATER,
        actor=AGENT,
        issue_type="Billing",
        references={"customer": "C-1"},
        fields={"seats": 3},
    )
    assert change.events == (expected,)
    only_fields = set_details(
        issue,
        at=LATER,
        actor=AGENT,
        issue_type="Billing",
        references={"customer": "C-1"},
        fields={},
    )
    assert only_fields.issue.history[-1].detail == "fields"


def test_setting_the_same_details_again_changes_nothing() -> None:
    details: dict[str, Any] = {
        "issue_type": "Billing",
        "references": {"customer": "C-1"},
        "fields": {"seats": 3},
    }
    issue = set_details(_raised(), at=LATER, actor=AGENT, **details).issue
    again = set_details(issue, at=LATER, actor=AGENT, **details)
    assert again.issue is issue
    assert again.events == ()


@pytest.mark.parametrize(
    ("after", "words"),
    [
        (timedelta(days=1), "1 day"),
        (timedelta(days=2), "2 days"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=3), "3 hours"),
        (timedelta(hours=26), "26 hours"),
        (timedelta(minutes=90), "1:30:00"),
    ],
)
def test_auto_close_reason_says_the_silence_in_words(after: timedelta, words: str) -> None:
    issue = DEFAULT_WORKFLOW.apply(_raised(), Action.AGENT_REPLY, at=T0, actor=AGENT).issue
    change = DEFAULT_WORKFLOW.auto_close(issue, now=T0 + after, after=after)
    reason = change.issue.history[-1].reason
    assert reason is not None
    assert reason.startswith(f"no reply from the customer for {words} since")


# --- the Graphviz picture and the validation messages, word for word --------------------------

DEFAULT_DOT = (
    "\n".join(
        [
            'digraph "default" {',
            "    rankdir=LR;",
            "    node [shape=box, style=rounded];",
            '    "Open" [label="Open\\n(running)"];',
            '    "Waiting for Reply" [label="Waiting for Reply\\n(paused)"];',
            '    "On Hold" [label="On Hold\\n(paused)"];',
            '    "Resolved" [label="Resolved\\n(fulfilled)"];',
            '    "Closed" [label="Closed\\n(fulfilled)", peripheries=2];',
            "    start [shape=point];",
            '    start -> "Open";',
            '    "Open" -> "Open" [label="customer_message"];',
            '    "Waiting for Reply" -> "Open" [label="customer_message, resume"];',
            '    "On Hold" -> "Open" [label="customer_message, resume"];',
            '    "Resolved" -> "Open" [label="customer_message, reopen"];',
            '    "Closed" -> "Open" [label="customer_message, reopen"];',
            '    "Open" -> "Waiting for Reply" [label="agent_reply"];',
            '    "Waiting for Reply" -> "Waiting for Reply" [label="agent_reply"];',
            '    "On Hold" -> "Waiting for Reply" [label="agent_reply"];',
            '    "Resolved" -> "Resolved" [label="agent_reply"];',
            '    "Closed" -> "Closed" [label="agent_reply"];',
            '    "Open" -> "On Hold" [label="hold"];',
            '    "Waiting for Reply" -> "On Hold" [label="hold"];',
            '    "Open" -> "Resolved" [label="resolve"];',
            '    "Waiting for Reply" -> "Resolved" [label="resolve"];',
            '    "On Hold" -> "Resolved" [label="resolve"];',
            '    "Open" -> "Closed" [label="close"];',
            '    "Waiting for Reply" -> "Closed" [label="close, auto_close"];',
            '    "On Hold" -> "Closed" [label="close"];',
            '    "Resolved" -> "Closed" [label="close"];',
            "}",
        ]
    )
    + "\n"
)


def test_to_dot_of_the_default_workflow_is_the_whole_graph() -> None:
    assert DEFAULT_WORKFLOW.to_dot() == DEFAULT_DOT


def test_to_mermaid_of_a_small_workflow_is_the_whole_diagram() -> None:
    flow = Workflow(
        statuses=[
            spec("new", initial=True),
            spec("needs_info", sla=SlaRole.PAUSED),
            spec("Done", sla=SlaRole.FULFILLED, closed=True),
        ],
        transitions={("new", "ask"): "needs_info", ("needs_info", "close"): "Done"},
    )
    assert flow.to_mermaid() == (
        "stateDiagram-v2\n"
        '    state "new" as New\n'
        '    state "needs_info" as Needs_Info\n'
        "    [*] --> New\n"
        "    New --> Needs_Info: ask\n"
        "    Needs_Info --> Done: close\n"
        "    Done --> [*]\n"
    )


@pytest.mark.parametrize(
    ("statuses", "transitions", "message"),
    [
        (
            [spec("A"), spec("B", closed=True)],
            {("A", "go"): "B"},
            "no status is initial; mark exactly one with initial=True",
        ),
        (
            [spec("A", initial=True)],
            {},
            "no status is closed; mark at least one with closed=True\n"
            "  - status 'A' has no path to a closed status (none declared)",
        ),
        (
            [spec("A", initial=True, sla=None, closed=True)],
            {},
            "status 'A' does not state its SLA role; "
            "give sla=SlaRole.RUNNING, SlaRole.PAUSED or SlaRole.FULFILLED",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True)],
            {("A", ""): "B", ("A", "go"): "B"},
            "a transition from 'A' has an empty action name",
        ),
        (
            [spec("A", initial=True), spec("B", closed=True), spec("C", closed=True), spec("D")],
            {("A", "go"): "B", ("A", "stop"): "C", ("A", "park"): "D"},
            "status 'D' has no path to a closed status (B, C)",
        ),
    ],
    ids=["no-initial", "no-closed", "no-sla-role", "empty-action", "dead-end"],
)
def test_a_malformed_workflows_message_word_for_word(
    statuses: list[StatusSpec], transitions: object, message: str
) -> None:
    with pytest.raises(WorkflowError) as caught:
        Workflow(statuses=statuses, transitions=transitions)  # type: ignore[arg-type]
    problems = message.count("\n  - ") + 1
    heading = "malformed workflow: " if problems == 1 else "malformed workflow (2 problems):\n  - "
    assert str(caught.value) == heading + message


def test_the_default_workflow_is_named_default() -> None:
    assert Workflow.default().name == "default"
