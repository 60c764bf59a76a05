"""The per-issue SLA clock: pauses, verdicts, priority changes, resets, at-risk and breach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import Action, Actor, BusinessCalendar, SlaTargetName, Status
from issuecore._model import Issue, SlaAtRisk, SlaBreached
from issuecore._sla.agreement import (
    AgreementStatus,
    AtRisk,
    ServiceLevelAgreement,
    SlaTarget,
    check_agreements,
    choose_agreement,
)
from issuecore._sla.tracking import change_priority, follow, reset_sla, start_sla, sweep_sla
from issuecore._workflow import DEFAULT_WORKFLOW, Change, open_issue
from issuecore.errors import AgreementError, UnknownPriorityError

RESPONSE = SlaTargetName.RESPONSE
RESOLUTION = SlaTargetName.RESOLUTION

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
AGENT = Actor.agent("agent@example.com")
CUSTOMER = Actor.customer("ana@example.com")

STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=1 * H, resolution=4 * H),
        "High": SlaTarget(response=4 * H, resolution=16 * H),
        "Medium": SlaTarget(response=8 * H, resolution=timedelta(days=3)),
        "Low": SlaTarget(response=timedelta(days=1)),
    },
    default_priority="Medium",
    at_risk=AtRisk(fraction=0.25),
    default=True,
)


def opened(priority: str | None = None, agreement: ServiceLevelAgreement = STANDARD) -> Issue:
    change = open_issue(
        number="ISS-2026-00001",
        subject="Printer on fire",
        raised_by="ana@example.com",
        at=T0,
        priority=priority,
    )
    return start_sla(change, [agreement]).issue


def act(issue: Issue, action: str, at: datetime, actor: Actor = AGENT) -> Change:
    change = DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=actor)
    return follow(change, STANDARD, action=action)


def test_new_issue_gets_default_priority_and_running_deadlines() -> None:
    issue = opened()
    assert issue.priority == "Medium"
    assert issue.sla is not None
    assert issue.sla.agreement == "Standard"
    assert issue.sla.response_by == T0 + 8 * H
    assert issue.sla.resolution_by == T0 + timedelta(days=3)
    assert issue.sla.status(T0) is AgreementStatus.FIRST_RESPONSE_DUE


def test_unknown_priority_names_the_known_ones() -> None:
    with pytest.raises(UnknownPriorityError) as caught:
        STANDARD.target("P1")
    assert str(caught.value) == (
        "priority 'P1' has no target in agreement 'Standard'; known: Urgent, High, Medium, Low"
    )


def test_a_priority_without_target_opens_on_the_default_priority_target() -> None:
    issue = opened(priority="P1")
    assert issue.priority == "P1"
    assert issue.sla is not None
    assert issue.sla.priority == "P1"
    assert issue.sla.response_by == T0 + 8 * H
    assert issue.sla.resolution_by == T0 + timedelta(days=3)


def test_reply_on_time_meets_response_and_pauses_the_clock() -> None:
    issue = act(opened(), Action.AGENT_REPLY, T0 + 2 * H).issue
    assert issue.sla is not None
    assert issue.sla.response.met is True
    assert issue.sla.status(T0 + 2 * H) is AgreementStatus.PAUSED
    assert issue.sla.response_by is None
    assert issue.sla.resolution_by is None
    assert issue.sla.consumed == 2 * H


def test_reply_exactly_at_deadline_meets_it_and_one_microsecond_later_breaches() -> None:
    on_time = act(opened(), Action.AGENT_REPLY, T0 + 8 * H).issue
    assert on_time.sla is not None
    assert on_time.sla.response.met is True
    late_change = act(opened(), Action.AGENT_REPLY, T0 + 8 * H + timedelta(microseconds=1))
    late = late_change.issue
    assert late.sla is not None
    assert late.sla.response.met is False
    assert late.sla.status(T0 + 9 * H) is AgreementStatus.FAILED
    assert [type(e).__name__ for e in late_change.events] == ["StatusChanged", "SlaBreached"]


def test_status_is_computed_for_the_instant_asked_never_stale() -> None:
    issue = opened()
    assert issue.sla is not None
    assert issue.sla.status(T0 + 8 * H) is AgreementStatus.FIRST_RESPONSE_DUE
    assert issue.sla.status(T0 + 8 * H + timedelta(microseconds=1)) is AgreementStatus.FAILED


def test_paused_time_does_not_count_and_resuming_keeps_the_remaining_time() -> None:
    issue = act(opened(), Action.AGENT_REPLY, T0 + 2 * H).issue  # 2 h consumed
    issue = act(issue, Action.CUSTOMER_MESSAGE, T0 + 50 * H, CUSTOMER).issue
    assert issue.sla is not None
    assert issue.sla.resolution_by == T0 + 50 * H + timedelta(days=3) - 2 * H
    metrics = issue.sla.metrics()
    assert metrics.hold_elapsed == 48 * H
    assert metrics.first_response_elapsed == 2 * H


def test_resolution_on_time_is_fulfilled_and_reopening_resumes_consumed_time() -> None:
    issue = act(opened(), Action.RESOLVE, T0 + 5 * H).issue
    assert issue.sla is not None
    assert issue.sla.status(T0 + 100 * H) is AgreementStatus.FULFILLED
    assert issue.sla.resolution.met is True
    reopened = act(issue, Action.REOPEN, T0 + 30 * H).issue
    assert reopened.sla is not None
    assert reopened.sla.resolution.done_at is None
    assert reopened.sla.consumed == 5 * H
    assert reopened.sla.response_by == T0 + 30 * H + 3 * H
    assert reopened.sla.resolution_by == T0 + 30 * H + timedelta(days=3) - 5 * H
    assert reopened.sla.status(T0 + 30 * H) is AgreementStatus.FIRST_RESPONSE_DUE


def test_resolving_without_any_reply_after_the_response_deadline_fails() -> None:
    issue = act(opened(), Action.RESOLVE, T0 + 10 * H).issue
    assert issue.sla is not None
    assert issue.sla.breached == (RESPONSE,)
    assert issue.sla.status(T0 + 10 * H) is AgreementStatus.FAILED


def test_late_resolution_fails_and_failure_is_sticky() -> None:
    issue = act(
        opened(priority="Urgent"), Action.AGENT_REPLY, T0 + 30 * 60 * timedelta(seconds=1)
    ).issue
    issue = act(issue, Action.CUSTOMER_MESSAGE, T0 + 1 * H, CUSTOMER).issue
    change = act(issue, Action.RESOLVE, T0 + 5 * H)
    assert change.issue.sla is not None
    assert change.issue.sla.resolution.met is False
    assert any(isinstance(e, SlaBreached) and e.target == RESOLUTION for e in change.events)
    assert change.issue.sla.status(T0 + 6 * H) is AgreementStatus.FAILED


def test_agreement_without_resolution_target_is_fulfilled_by_a_timely_response() -> None:
    issue = act(opened(priority="Low"), Action.AGENT_REPLY, T0 + 3 * H).issue
    assert issue.sla is not None
    assert issue.sla.resolution_by is None
    assert issue.sla.status(T0 + 3 * H) is AgreementStatus.FULFILLED


def test_escalation_can_make_an_issue_overdue_at_once() -> None:
    issue = opened()
    change = change_priority(issue, "Urgent", STANDARD, at=T0 + 2 * H, actor=AGENT)
    clock = change.issue.sla
    assert clock is not None
    assert clock.priority == "Urgent"
    assert clock.response_by == T0 + 1 * H  # in the past: the target was exceeded
    assert clock.status(T0 + 2 * H) is AgreementStatus.FAILED


def test_escalation_moves_deadlines_earlier_and_keeps_response_verdict() -> None:
    issue = act(opened(), Action.AGENT_REPLY, T0 + 5 * H).issue
    issue = act(issue, Action.CUSTOMER_MESSAGE, T0 + 6 * H, CUSTOMER).issue
    change = change_priority(issue, "High", STANDARD, at=T0 + 7 * H, actor=AGENT)
    clock = change.issue.sla
    assert clock is not None
    assert clock.response.met is True
    assert clock.resolution_by == T0 + 6 * H + (16 * H - 5 * H)


def test_a_priority_without_target_runs_on_the_default_priority_target() -> None:
    change = change_priority(opened(priority="Urgent"), "Whenever", STANDARD, at=T0, actor=AGENT)
    assert change.issue.priority == "Whenever"
    assert change.issue.sla is not None
    assert change.issue.sla.response_by == T0 + 8 * H


def test_reset_restarts_clock_clears_breach_and_records_who_and_why() -> None:
    late = act(opened(priority="Urgent"), Action.AGENT_REPLY, T0 + 2 * H).issue
    assert late.sla is not None
    assert late.sla.status(T0 + 2 * H) is AgreementStatus.FAILED
    late = act(late, Action.CUSTOMER_MESSAGE, T0 + 3 * H, CUSTOMER).issue
    change = reset_sla(late, STANDARD, at=T0 + 4 * H, actor=AGENT, reason="customer changed scope")
    clock = change.issue.sla
    assert clock is not None
    assert clock.breached == ()
    assert clock.response.done_at is None
    assert clock.consumed == timedelta(0)
    assert clock.response_by == T0 + 5 * H
    assert (clock.reset_by, clock.reset_reason) == ("agent@example.com", "customer changed scope")
    assert clock.reset_at == T0 + 4 * H
    assert change.issue.history[-1].action == "reset_sla"
    assert clock.status(T0 + 4 * H) is AgreementStatus.FIRST_RESPONSE_DUE


def test_sweep_raises_at_risk_then_breach_once_each() -> None:
    issue = opened(priority="Urgent")  # response 1 h, at risk in the last 15 min
    assert issue.sla is not None
    assert issue.sla.wake_at(STANDARD) == T0 + 45 * timedelta(minutes=1)
    quiet = sweep_sla(issue, STANDARD, now=T0 + 44 * timedelta(minutes=1))
    assert quiet.events == ()
    risky = sweep_sla(issue, STANDARD, now=T0 + 50 * timedelta(minutes=1))
    assert [(type(e).__name__, e.target) for e in risky.events] == [("SlaAtRisk", RESPONSE)]
    again = sweep_sla(risky.issue, STANDARD, now=T0 + 55 * timedelta(minutes=1))
    assert again.events == ()
    breached = sweep_sla(again.issue, STANDARD, now=T0 + 5 * H)
    kinds = [(type(e).__name__, e.target) for e in breached.events]
    assert kinds == [("SlaBreached", RESPONSE), ("SlaBreached", RESOLUTION)]
    assert sweep_sla(breached.issue, STANDARD, now=T0 + 50 * H).events == ()
    assert breached.issue.sla is not None
    assert breached.issue.sla.wake_at(STANDARD) is None


def test_a_late_sweep_reports_the_breach_without_the_at_risk_due_before_it() -> None:
    issue = opened(priority="Urgent")  # response 1 h, at risk from 45 min
    late = sweep_sla(issue, STANDARD, now=T0 + 2 * H)
    kinds = [(type(e).__name__, e.target) for e in late.events]
    assert ("SlaBreached", RESPONSE) in kinds
    assert ("SlaAtRisk", RESPONSE) not in kinds
    assert late.issue.sla is not None
    assert "at_risk" in late.issue.sla.response.reported  # never raised later either
    assert not any(
        isinstance(e, SlaAtRisk) and e.target == RESPONSE
        for e in sweep_sla(late.issue, STANDARD, now=T0 + 3 * H).events
    )


def test_an_on_time_sweep_still_reports_at_risk_before_the_breach() -> None:
    issue = opened(priority="Urgent")
    risky = sweep_sla(issue, STANDARD, now=T0 + 46 * timedelta(minutes=1))
    assert [(type(e).__name__, e.target) for e in risky.events] == [("SlaAtRisk", RESPONSE)]


def test_breach_revealed_by_a_reply_is_not_raised_again_by_the_sweep() -> None:
    change = act(opened(priority="Urgent"), Action.AGENT_REPLY, T0 + 2 * H)
    assert sum(isinstance(e, SlaBreached) for e in change.events) == 1
    back = act(change.issue, Action.CUSTOMER_MESSAGE, T0 + 3 * H, CUSTOMER).issue
    swept = sweep_sla(back, STANDARD, now=T0 + 50 * H)
    assert [e.target for e in swept.events if isinstance(e, SlaBreached)] == [RESOLUTION]
    assert not any(isinstance(e, SlaAtRisk) and e.target == RESPONSE for e in swept.events)


def test_remaining_time_in_business_and_calendar_terms_turns_negative() -> None:
    issue = opened(priority="Urgent")
    clock = issue.sla
    assert clock is not None
    calendar = STANDARD.business_time
    left = clock.remaining(calendar, clock.response, T0 + 15 * timedelta(minutes=1))
    assert left is not None
    assert (left.business, left.calendar) == (45 * timedelta(minutes=1), 45 * timedelta(minutes=1))
    over = clock.remaining(calendar, clock.response, T0 + 2 * H)
    assert over is not None
    assert over.business == -H
    assert over.calendar == -H


# --- choosing agreements ------------------------------------------------------------


def test_first_matching_agreement_wins_over_the_default() -> None:
    vip = ServiceLevelAgreement(
        name="VIP",
        targets={"Medium": SlaTarget(response=H)},
        default_priority="Medium",
        applies_to=lambda issue: issue.raised_by.endswith("@bigcustomer.com"),
    )
    big = open_issue(number="A", subject="s", raised_by="x@bigcustomer.com", at=T0).issue
    small = open_issue(number="B", subject="s", raised_by="x@small.com", at=T0).issue
    assert choose_agreement([STANDARD, vip], big) is vip
    assert choose_agreement([STANDARD, vip], small) is STANDARD
    assert choose_agreement([vip], small) is None


def test_validity_dates_bound_the_agreement() -> None:
    old = ServiceLevelAgreement(
        name="2025 terms",
        targets={"Medium": SlaTarget(response=H)},
        default_priority="Medium",
        valid_until=datetime(2025, 12, 31).date(),
    )
    issue = open_issue(number="A", subject="s", raised_by="x@y.z", at=T0).issue
    assert choose_agreement([old, STANDARD], issue) is STANDARD


def test_at_most_one_default_agreement() -> None:
    other = ServiceLevelAgreement(
        name="Other",
        targets={"Medium": SlaTarget(response=H)},
        default_priority="Medium",
        default=True,
    )
    with pytest.raises(
        AgreementError, match="at most one agreement may be the default; these are: Standard, Other"
    ):
        check_agreements([STANDARD, other])


def test_agreement_configuration_errors_say_what_is_wrong() -> None:
    with pytest.raises(
        AgreementError, match="default_priority 'Normal' has no target; known: High"
    ):
        ServiceLevelAgreement(
            name="X", targets={"High": SlaTarget(response=H)}, default_priority="Normal"
        )
    with pytest.raises(ValueError, match="response target must be longer than zero"):
        SlaTarget(response=timedelta(0))
    with pytest.raises(ValueError, match="fraction must lie strictly between 0 and 1"):
        AtRisk(fraction=1.5)


# --- properties -----------------------------------------------------------------------

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                Action.AGENT_REPLY,
                Action.CUSTOMER_MESSAGE,
                Action.HOLD,
                Action.RESOLVE,
                Action.REOPEN,
            ]
        ),
        st.integers(min_value=0, max_value=24 * 60),
    ),
    max_size=20,
)


@given(steps=steps, probe=st.integers(min_value=0, max_value=24 * 60))
def test_deadlines_never_move_earlier_without_an_event(
    steps: list[tuple[str, int]], probe: int
) -> None:
    issue = opened(priority="High")
    at = T0
    for action, minutes in steps:
        at += timedelta(minutes=minutes)
        if DEFAULT_WORKFLOW.target(issue.status, action) is not None:
            issue = act(issue, action, at).issue
    clock = issue.sla
    assert clock is not None
    later = at + timedelta(minutes=probe)
    swept = sweep_sla(issue, STANDARD, now=later).issue.sla
    assert swept is not None
    assert swept.response_by == clock.response_by
    assert swept.resolution_by == clock.resolution_by


@given(
    before=st.integers(min_value=0, max_value=600),
    paused=st.integers(min_value=0, max_value=6000),
    probe=st.integers(min_value=0, max_value=600),
)
def test_pausing_then_resuming_never_shortens_the_time_left(
    before: int, paused: int, probe: int
) -> None:
    issue = act(opened(priority="High"), Action.AGENT_REPLY, T0 + timedelta(minutes=before)).issue
    resumed_at = T0 + timedelta(minutes=before + paused)
    resumed = act(issue, Action.CUSTOMER_MESSAGE, resumed_at, CUSTOMER).issue
    assert resumed.sla is not None
    assert issue.sla is not None
    calendar = STANDARD.business_time
    left_at_pause = 16 * H - issue.sla.consumed
    left_now = resumed.sla.remaining(
        calendar, resumed.sla.resolution, resumed_at + timedelta(minutes=probe)
    )
    assert left_now is not None
    assert left_now.business == left_at_pause - timedelta(minutes=probe)
    assert resumed.sla.resolution_by is not None
    assert resumed.sla.resolution_by >= resumed_at + left_at_pause - timedelta(microseconds=0)
    assert resumed.sla.status(resumed_at) in {
        AgreementStatus.RESOLUTION_DUE,
        AgreementStatus.FAILED,
    }
    assert resumed.status == Status.OPEN


def test_deadline_of_a_judged_target_is_the_deadline_it_was_judged_against() -> None:
    issue = act(opened(), Action.AGENT_REPLY, T0 + 2 * H).issue
    issue = act(issue, Action.CUSTOMER_MESSAGE, T0 + 30 * H, CUSTOMER).issue
    clock = issue.sla
    assert clock is not None
    calendar = STANDARD.business_time
    assert clock.judged_deadline(calendar, clock.response) == T0 + 8 * H
    assert clock.deadline(calendar, clock.response.target) == T0 + 30 * H + 6 * H
    assert clock.judged_deadline(calendar, clock.resolution) == clock.resolution_by
    late = act(opened(), Action.AGENT_REPLY, T0 + 9 * H).issue
    assert late.sla is not None
    assert late.sla.judged_deadline(calendar, late.sla.response) == T0 + 8 * H


# --- the same properties on a business calendar --------------------------------------

OFFICE = ServiceLevelAgreement(
    name="Office",
    calendar=BusinessCalendar(
        timezone="America/New_York",
        hours={
            "mon": [("09:00", "12:00"), ("13:00", "17:00")],
            "tue": [("09:00", "17:00")],
            "wed": [("22:00", "06:00")],
            "fri": [("09:00", "17:00")],
        },
        holidays=[date(2026, 3, 13)],
    ),
    targets={"High": SlaTarget(response=4 * H, resolution=16 * H)},
    default_priority="High",
    at_risk=AtRisk(fraction=0.25),
    default=True,
)


def office_issue() -> Issue:
    change = open_issue(number="ISS-2026-00007", subject="s", raised_by="ana@example.com", at=T0)
    return start_sla(change, [OFFICE]).issue


def office_act(issue: Issue, action: str, at: datetime) -> Issue:
    actor = CUSTOMER if action == Action.CUSTOMER_MESSAGE else AGENT
    change = DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=actor)
    return follow(change, OFFICE, action=action).issue


@given(steps=steps, probe=st.integers(min_value=0, max_value=7 * 24 * 60))
def test_on_a_business_calendar_deadlines_never_move_earlier_without_an_event(
    steps: list[tuple[str, int]], probe: int
) -> None:
    issue = office_issue()
    at = T0
    for action, minutes in steps:
        at += timedelta(minutes=minutes * 3)
        if DEFAULT_WORKFLOW.target(issue.status, action) is not None:
            issue = office_act(issue, action, at)
    clock = issue.sla
    assert clock is not None
    swept = sweep_sla(issue, OFFICE, now=at + timedelta(minutes=probe)).issue.sla
    assert swept is not None
    assert (swept.response_by, swept.resolution_by) == (clock.response_by, clock.resolution_by)


@given(
    before=st.integers(min_value=0, max_value=3 * 24 * 60),
    paused=st.integers(min_value=0, max_value=10 * 24 * 60),
)
def test_on_a_business_calendar_pausing_never_shortens_the_time_left(
    before: int, paused: int
) -> None:
    calendar = OFFICE.business_time
    issue = office_act(office_issue(), Action.AGENT_REPLY, T0 + timedelta(minutes=before))
    assert issue.sla is not None
    left_at_pause = 16 * H - issue.sla.consumed
    resumed_at = T0 + timedelta(minutes=before + paused)
    resumed = office_act(issue, Action.CUSTOMER_MESSAGE, resumed_at)
    assert resumed.sla is not None
    left = resumed.sla.remaining(calendar, resumed.sla.resolution, resumed_at)
    assert left is not None
    assert left.business == left_at_pause
    deadline = resumed.sla.resolution_by
    assert deadline is not None
    if left_at_pause > timedelta(0):
        assert deadline >= resumed_at
        assert calendar.between(resumed_at, deadline) == left_at_pause
    else:  # the target was reached exactly when the clock paused: that instant stays the deadline
        assert deadline <= resumed_at
