"""The SLA clock wired into the lifecycle: issues without an SLA and reset_sla's refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from issuecore import Action, Actor
from issuecore._model import Issue, PriorityChanged
from issuecore._sla.agreement import ServiceLevelAgreement, SlaTarget
from issuecore._sla.tracking import change_priority, follow, reset_sla, start_sla, sweep_sla
from issuecore._workflow import DEFAULT_WORKFLOW, Change, open_issue
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
