"""The SLA clock wired into the lifecycle: choosing the agreement again, resets and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from issuecore import Action, Actor
from issuecore._model import (
    AgreementChanged,
    DetailsChanged,
    Issue,
    PriorityChanged,
    SlaBreached,
    SlaReset,
)
from issuecore._sla.agreement import Condition, ServiceLevelAgreement, SlaTarget
from issuecore._sla.clock import SlaRole
from issuecore._sla.tracking import (
    change_priority,
    follow,
    reselect,
    reset_sla,
    start_sla,
    sweep_sla,
)
from issuecore._workflow import (
    DEFAULT_WORKFLOW,
    Change,
    StatusSpec,
    Workflow,
    open_issue,
    set_details,
)
from issuecore.errors import NaiveDatetimeError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
AGENT = Actor.agent("agent@example.com")
LATER_ONLY = ServiceLevelAgreement(
    name="Later",
    targets={"Low": SlaTarget(response=H), "High": SlaTarget(response=H / 2)},
    default_priority="Low",
    valid_from=date(2027, 1, 1),
)
NOW_ON = ServiceLevelAgreement(
    name="Now",
    targets={"Low": SlaTarget(response=H), "High": SlaTarget(response=H / 2)},
    default_priority="Low",
)


def opened() -> Change:
    return open_issue(number="ISS-2026-00001", subject="Help", raised_by="a@x.test", at=T0)


def without_sla() -> Issue:
    issue = start_sla(opened(), [LATER_ONLY]).issue
    assert issue.sla is None
    return issue


def test_an_issue_no_agreement_covers_starts_without_an_sla_and_keeps_its_priority() -> None:
    change = opened()
    assert start_sla(change, [LATER_ONLY]) is change
    assert start_sla(change, []) is change


def test_an_issue_an_agreement_covers_gets_its_default_priority_and_a_clock() -> None:
    issue = start_sla(opened(), [LATER_ONLY, NOW_ON]).issue
    assert issue.priority == "Low"
    assert issue.sla is not None
    assert issue.sla.agreement == "Now"


def test_following_an_issue_without_an_sla_changes_nothing() -> None:
    change = DEFAULT_WORKFLOW.apply(without_sla(), Action.AGENT_REPLY, at=T0 + H, actor=AGENT)
    assert follow(change, NOW_ON, action=Action.AGENT_REPLY) is change
    with_sla = start_sla(opened(), [NOW_ON])
    assert follow(with_sla, None, action=Action.AGENT_REPLY) is with_sla


def test_changing_the_priority_of_an_issue_without_an_sla_only_sets_the_priority() -> None:
    change = change_priority(without_sla(), "High", NOW_ON, at=T0 + H, actor=AGENT)
    assert change.issue.priority == "High"
    assert change.issue.sla is None
    assert [type(event) for event in change.events] == [PriorityChanged]


def test_changing_the_priority_without_an_agreement_keeps_the_clock() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    change = change_priority(issue, "High", None, at=T0 + H, actor=AGENT)
    assert change.issue.priority == "High"
    assert change.issue.sla == issue.sla


def test_changing_to_the_same_priority_changes_no_target() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    change = change_priority(issue, "Low", NOW_ON, at=T0 + H, actor=AGENT)
    assert change.events == ()
    assert change.issue.sla == issue.sla


def test_reset_needs_a_reason() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    for reason in ("", "   "):
        with pytest.raises(ValueError, match="resetting an SLA needs a reason"):
            reset_sla(issue, NOW_ON, at=T0 + H, actor=AGENT, reason=reason)


def test_reset_refuses_an_issue_without_an_sla() -> None:
    with pytest.raises(ValueError, match="ISS-2026-00001 has no SLA to reset"):
        reset_sla(without_sla(), NOW_ON, at=T0 + H, actor=AGENT, reason="scope changed")


def test_reset_refuses_without_an_agreement() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    with pytest.raises(ValueError, match="ISS-2026-00001 has no SLA to reset"):
        reset_sla(issue, None, at=T0 + H, actor=AGENT, reason="scope changed")


def test_reset_refuses_a_naive_instant() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    with pytest.raises(NaiveDatetimeError, match=r"^at must"):
        reset_sla(issue, NOW_ON, at=datetime(2026, 3, 2, 10), actor=AGENT, reason="scope")


def test_a_sweep_refuses_a_naive_instant() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    with pytest.raises(NaiveDatetimeError, match=r"^now must"):
        sweep_sla(issue, NOW_ON, now=datetime(2026, 3, 2, 10))


def test_reset_before_the_last_update_happens_at_the_last_update() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    change = reset_sla(issue, NOW_ON, at=T0 - H, actor=AGENT, reason="scope changed")
    assert change.issue.updated_at == T0
    assert change.issue.history[-1].at == T0


def test_sweeping_an_issue_without_an_sla_raises_nothing() -> None:
    issue = without_sla()
    swept = sweep_sla(issue, NOW_ON, now=T0 + 10 * H)
    assert swept.issue is issue
    assert swept.events == ()
    with_sla = start_sla(opened(), [NOW_ON]).issue
    assert sweep_sla(with_sla, None, now=T0 + 10 * H).events == ()


# --- events the SLA raises ---------------------------------------------------------


def test_a_breach_found_by_a_sweep_is_raised_by_the_sla_at_the_sweep() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    swept = sweep_sla(issue, NOW_ON, now=T0 + 2 * H)
    (breach,) = swept.events
    assert breach == SlaBreached(
        number="ISS-2026-00001",
        at=T0 + 2 * H,
        actor=Actor.system("sla"),
        target="response",
        deadline=T0 + H,
    )
    assert swept.issue.sla is not None
    assert swept.issue.sla.breached == ("response",)


def test_a_priority_change_after_the_deadline_raises_the_breach_at_the_change() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    change = change_priority(issue, "High", NOW_ON, at=T0 + 2 * H, actor=AGENT)
    assert [type(event) for event in change.events] == [PriorityChanged, SlaBreached]
    assert change.events[1].at == T0 + 2 * H


def test_changing_to_the_same_priority_keeps_targets_the_agreement_has_revised_since() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    revised = ServiceLevelAgreement(
        name="Now", targets={"Low": SlaTarget(response=3 * H)}, default_priority="Low"
    )
    change = change_priority(issue, "Low", revised, at=T0 + H / 2, actor=AGENT)
    assert change.issue.sla == issue.sla


# --- resets ------------------------------------------------------------------------


def test_a_reset_records_who_why_and_when_in_history_and_an_event() -> None:
    issue = start_sla(opened(), [NOW_ON]).issue
    change = reset_sla(issue, NOW_ON, at=T0 + 2 * H, actor=AGENT, reason="scope changed")
    assert change.issue.updated_at == T0 + 2 * H
    entry = change.issue.history[-1]
    assert (entry.at, entry.actor, entry.action) == (T0 + 2 * H, AGENT, "reset_sla")
    assert (entry.from_status, entry.to_status) == ("Open", "Open")
    assert entry.reason == "scope changed"
    assert change.events == (
        SlaReset(number="ISS-2026-00001", at=T0 + 2 * H, actor=AGENT, reason="scope changed"),
    )
    assert change.issue.sla is not None
    assert change.issue.sla.response_by == T0 + 3 * H


# --- a workflow of the desk's own ------------------------------------------------------

PARKING = Workflow(
    name="parking",
    statuses=[
        StatusSpec(name="New", sla=SlaRole.RUNNING, initial=True),
        StatusSpec(name="Parked", sla=SlaRole.PAUSED),
        StatusSpec(name="Done", sla=SlaRole.FULFILLED, closed=True),
    ],
    transitions={("New", "park"): "Parked", ("Parked", "finish"): "Done"},
)


def opened_in(flow: Workflow) -> Change:
    return open_issue(
        number="ISS-2026-00001", subject="Help", raised_by="a@x.test", at=T0, workflow=flow
    )


def test_the_clock_takes_the_roles_of_the_desks_workflow() -> None:
    started = start_sla(opened_in(PARKING), [NOW_ON], workflow=PARKING)
    assert started.issue.sla is not None
    assert started.issue.sla.role is SlaRole.RUNNING
    parked = PARKING.apply(started.issue, "park", at=T0 + H / 2, actor=AGENT)
    followed = follow(parked, NOW_ON, action="park", workflow=PARKING).issue.sla
    assert followed is not None
    assert followed.role is SlaRole.PAUSED
    assert followed.response_by is None


def test_a_reset_takes_the_role_of_the_desks_workflow() -> None:
    started = start_sla(opened_in(PARKING), [NOW_ON], workflow=PARKING).issue
    parked = PARKING.apply(started, "park", at=T0 + H / 2, actor=AGENT)
    issue = follow(parked, NOW_ON, action="park", workflow=PARKING).issue
    reset = reset_sla(issue, NOW_ON, at=T0 + H, actor=AGENT, reason="new scope", workflow=PARKING)
    assert reset.issue.sla is not None
    assert reset.issue.sla.role is SlaRole.PAUSED


# --- choosing the agreement again ------------------------------------------------------

GOLD = ServiceLevelAgreement(
    name="Gold",
    targets={"Low": SlaTarget(response=4 * H), "High": SlaTarget(response=2 * H, resolution=8 * H)},
    default_priority="Low",
    condition=Condition(fields={"contract": "gold"}),
)


def with_contract(issue: Issue, contract: str, *, at: datetime) -> Change:
    return set_details(
        issue, at=at, actor=AGENT, issue_type=None, references={}, fields={"contract": contract}
    )


def test_an_agreement_still_chosen_leaves_the_change_alone() -> None:
    issue = start_sla(opened(), [NOW_ON, GOLD]).issue
    change = with_contract(issue, "silver", at=T0 + H / 2)
    assert reselect(change, [NOW_ON, GOLD]) is change


def test_switching_agreements_keeps_the_time_consumed_and_records_the_switch() -> None:
    issue = start_sla(opened(), [NOW_ON, GOLD]).issue
    issue = change_priority(issue, "High", NOW_ON, at=T0, actor=AGENT).issue
    change = reselect(with_contract(issue, "gold", at=T0 + H / 4), [NOW_ON, GOLD])
    sla = change.issue.sla
    assert sla is not None
    assert (sla.agreement, sla.priority) == ("Gold", "High")
    # a quarter hour consumed counts against Gold's two-hour response and eight-hour resolution
    assert sla.response_by == T0 + 2 * H
    assert sla.resolution_by == T0 + 8 * H
    assert sla.role is SlaRole.RUNNING
    assert [type(event) for event in change.events] == [DetailsChanged, AgreementChanged]
    assert change.events[1] == AgreementChanged(
        number="ISS-2026-00001", at=T0 + H / 4, actor=Actor.system("sla"), old="Now", new="Gold"
    )
    entry = change.issue.history[-1]
    assert (entry.at, entry.actor, entry.action) == (T0 + H / 4, Actor.system("sla"), "agreement")
    assert (entry.from_status, entry.to_status, entry.detail) == ("Open", "Open", "Now -> Gold")
    assert change.issue.history[:-1] == with_contract(issue, "gold", at=T0 + H / 4).issue.history


def test_switching_after_the_old_deadline_reports_its_breach_at_the_switch() -> None:
    issue = start_sla(opened(), [NOW_ON, GOLD]).issue
    change = reselect(with_contract(issue, "gold", at=T0 + 2 * H), [NOW_ON, GOLD])
    assert [type(event) for event in change.events] == [
        DetailsChanged,
        AgreementChanged,
        SlaBreached,
    ]
    breach = change.events[2]
    assert (breach.at, breach.deadline) == (T0 + 2 * H, T0 + H)  # type: ignore[attr-defined]
    assert change.issue.sla is not None
    assert change.issue.sla.breached == ("response",)


def test_switching_to_a_tighter_agreement_past_its_deadline_reports_the_breach() -> None:
    issue = start_sla(opened(), [NOW_ON, GOLD]).issue  # Now: one hour to respond
    tight = attrs.evolve(GOLD, targets={"Low": SlaTarget(response=H / 4)})
    change = reselect(with_contract(issue, "gold", at=T0 + H / 2), [NOW_ON, tight])
    breach = change.events[-1]
    assert isinstance(breach, SlaBreached)
    assert (breach.at, breach.deadline) == (T0 + H / 2, T0 + H / 4)


def test_an_issue_no_agreement_covers_any_more_loses_its_sla() -> None:
    no_contract = ServiceLevelAgreement(
        name="Any",
        targets={"Low": SlaTarget(response=H)},
        default_priority="Low",
        applies_to=lambda issue: "contract" not in issue.fields,
    )
    issue = start_sla(opened(), [no_contract]).issue
    assert issue.sla is not None
    change = reselect(with_contract(issue, "gold", at=T0 + H / 2), [no_contract])
    assert change.issue.sla is None
    assert change.events[-1] == AgreementChanged(
        number="ISS-2026-00001", at=T0 + H / 2, actor=Actor.system("sla"), old="Any", new=None
    )
    assert change.issue.history[-1].detail == "Any -> None"


def test_an_issue_newly_covered_starts_its_clock_at_the_change() -> None:
    issue = without_sla()
    issue = change_priority(issue, "High", None, at=T0, actor=AGENT).issue
    change = reselect(with_contract(issue, "gold", at=T0 + H), [LATER_ONLY, GOLD])
    sla = change.issue.sla
    assert sla is not None
    assert (sla.agreement, sla.priority, sla.started_at) == ("Gold", "High", T0 + H)
    assert sla.response_by == T0 + 3 * H
    assert sla.role is SlaRole.RUNNING
    assert change.events[-1] == AgreementChanged(
        number="ISS-2026-00001", at=T0 + H, actor=Actor.system("sla"), old=None, new="Gold"
    )


def test_an_issue_without_a_priority_newly_covered_runs_on_the_default_priority() -> None:
    change = reselect(with_contract(without_sla(), "gold", at=T0 + H), [GOLD])
    sla = change.issue.sla
    assert sla is not None
    assert (sla.priority, sla.response_by) == ("Low", T0 + 5 * H)


def test_switching_agreements_takes_the_role_of_the_desks_workflow() -> None:
    started = start_sla(opened_in(PARKING), [NOW_ON, GOLD], workflow=PARKING).issue
    parked = PARKING.apply(started, "park", at=T0 + H / 2, actor=AGENT)
    issue = follow(parked, NOW_ON, action="park", workflow=PARKING).issue
    change = reselect(with_contract(issue, "gold", at=T0 + H), [NOW_ON, GOLD], workflow=PARKING)
    sla = change.issue.sla
    assert sla is not None
    assert (sla.agreement, sla.role, sla.response_by) == ("Gold", SlaRole.PAUSED, None)
    assert sla.consumed == H / 2
