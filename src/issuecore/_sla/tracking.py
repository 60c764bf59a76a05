"""The SLA clock wired into the lifecycle: every change of an issue moves its clock.

These functions take an issue (or a :class:`~issuecore.Change`) and
the agreement that governs it, and return the change with ``issue.sla``
moved and the SLA events it raised appended. They are pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from issuecore._evolve import evolve
from issuecore._instants import require_aware
from issuecore._model import (
    Action,
    Actor,
    AgreementChanged,
    Event,
    HistoryEntry,
    Issue,
    SlaAtRisk,
    SlaBreached,
    SlaReset,
)
from issuecore._sla.agreement import ServiceLevelAgreement, choose_agreement
from issuecore._sla.clock import SlaNotice, observe, restart, retarget, start_clock, sweep
from issuecore._workflow import Change, Workflow, set_priority

__all__ = [
    "change_priority",
    "follow",
    "reselect",
    "reset_sla",
    "start_sla",
    "sweep_sla",
]


def start_sla(
    change: Change,
    agreements: Iterable[ServiceLevelAgreement],
    *,
    workflow: Workflow | None = None,
) -> Change:
    """Choose the agreement for a newly opened issue and start its clock.

    The issue's priority defaults to the agreement's default priority; a
    priority the agreement has no target for is kept, and the clock runs on
    the target of the agreement's default priority. Without a covering
    agreement the issue is returned unchanged (no SLA).
    """
    issue = change.issue
    agreement = choose_agreement(agreements, issue)
    if agreement is None:
        return change
    priority = issue.priority or agreement.default_priority
    target = agreement.target_for(priority)
    clock = start_clock(
        agreement,
        priority=priority,
        response=target.response,
        resolution=target.resolution,
        role=agreement.role(issue.status, workflow),
        at=issue.created_at,
    )
    return evolve(change, issue=evolve(issue, priority=priority, sla=clock))


def follow(
    change: Change,
    agreement: ServiceLevelAgreement | None,
    *,
    action: str,
    workflow: Workflow | None = None,
) -> Change:
    """Move the clock of ``change.issue`` for the ``action`` that made the change.

    Status roles pause, resume and fulfil; an agent reply is the first
    response if none was recorded yet.
    """
    issue = change.issue
    if issue.sla is None or agreement is None:
        return change
    at = issue.updated_at
    clock, notices = observe(
        issue.sla,
        agreement,
        role=agreement.role(issue.status, workflow),
        at=at,
        responded=action == Action.AGENT_REPLY,
    )
    return _with(change, evolve(issue, sla=clock), notices, at)


def change_priority(
    issue: Issue,
    priority: str,
    agreement: ServiceLevelAgreement | None,
    *,
    at: datetime,
    actor: Actor,
) -> Change:
    """Set the priority and replace the SLA targets, recomputing the deadlines.

    A priority the agreement has no target for runs on the target of the
    agreement's default priority.
    """
    target = None if agreement is None or issue.sla is None else agreement.target_for(priority)
    change = set_priority(issue, priority, at=at, actor=actor)
    if target is None or agreement is None or change.issue.sla is None or not change.events:
        return change
    when = change.issue.updated_at
    clock, notices = retarget(
        change.issue.sla,
        agreement,
        priority=priority,
        response=target.response,
        resolution=target.resolution,
        at=when,
    )
    return _with(change, evolve(change.issue, sla=clock), notices, when)


def reselect(
    change: Change,
    agreements: Iterable[ServiceLevelAgreement],
    *,
    workflow: Workflow | None = None,
) -> Change:
    """Choose the agreement again for ``change.issue``; switch to it if it is another.

    Switching keeps the business time already consumed, the periods the
    clock ran and any verdict already reached, and recomputes the running
    deadlines from the new agreement's targets on its calendar. An issue no
    agreement covers any more loses its SLA; one newly covered starts its
    clock at the change. The change gains an
    :class:`~issuecore.AgreementChanged` event and a history entry.
    """
    issue = change.issue
    chosen = choose_agreement(agreements, issue)
    current = None if issue.sla is None else issue.sla.agreement
    new = None if chosen is None else chosen.name
    if new == current:
        return change
    at = issue.updated_at
    notices: tuple[SlaNotice, ...] = ()
    if chosen is None:
        clock = None
    else:
        target = chosen.target_for(issue.priority)
        role = chosen.role(issue.status, workflow)
        if issue.sla is None:
            clock = start_clock(
                chosen,
                priority=issue.priority or chosen.default_priority,
                response=target.response,
                resolution=target.resolution,
                role=role,
                at=at,
            )
        else:
            moved, notices = retarget(
                evolve(issue.sla, agreement=chosen.name),
                chosen,
                priority=issue.priority or chosen.default_priority,
                response=target.response,
                resolution=target.resolution,
                at=at,
            )
            clock, more = observe(moved, chosen, role=role, at=at)
            notices += more
    actor = Actor.system("sla")
    entry = HistoryEntry(
        at=at,
        actor=actor,
        action="agreement",
        from_status=issue.status,
        to_status=issue.status,
        detail=f"{current} -> {new}",
    )
    new_issue = evolve(issue, sla=clock, history=(*issue.history, entry))
    event = AgreementChanged(number=issue.number, at=at, actor=actor, old=current, new=new)
    switched = Change(issue=new_issue, events=(*change.events, event))
    return _with(switched, new_issue, notices, at)


def reset_sla(
    issue: Issue,
    agreement: ServiceLevelAgreement | None,
    *,
    at: datetime,
    actor: Actor,
    reason: str,
    workflow: Workflow | None = None,
) -> Change:
    """Restart the clock at ``at`` with nothing consumed; record who did it and why."""
    require_aware("at", at)
    if not reason.strip():
        raise ValueError("resetting an SLA needs a reason")
    if issue.sla is None or agreement is None:
        raise ValueError(f"{issue.number} has no SLA to reset")
    at = max(at, issue.updated_at)
    clock = restart(
        issue.sla,
        agreement,
        role=agreement.role(issue.status, workflow),
        at=at,
        by=actor.id,
        reason=reason,
    )
    entry = HistoryEntry(
        at=at,
        actor=actor,
        action="reset_sla",
        from_status=issue.status,
        to_status=issue.status,
        reason=reason,
    )
    new_issue = evolve(issue, sla=clock, updated_at=at, history=(*issue.history, entry))
    event = SlaReset(number=issue.number, at=at, actor=actor, reason=reason)
    return Change(issue=new_issue, events=(event,))


def sweep_sla(issue: Issue, agreement: ServiceLevelAgreement | None, *, now: datetime) -> Change:
    """Raise the at-risk and breach events due by ``now`` (once per target and issue)."""
    if issue.sla is None or agreement is None:
        return Change(issue=issue)
    clock, notices = sweep(issue.sla, agreement, now=now)
    if not notices:
        return Change(issue=issue)
    return _with(Change(issue=issue), evolve(issue, sla=clock), notices, now)


def _with(change: Change, issue: Issue, notices: tuple[SlaNotice, ...], at: datetime) -> Change:
    events: list[Event] = list(change.events)
    system = Actor.system("sla")
    for notice in notices:
        kind = SlaAtRisk if notice.kind == "at_risk" else SlaBreached
        events.append(
            kind(
                number=issue.number,
                at=at,
                actor=system,
                target=notice.target,
                deadline=notice.deadline,
            )
        )
    return Change(issue=issue, events=tuple(events))
