"""What a user interface shows of an issue's SLA at an instant: one value per target.

An issue's clock (``issue.sla``, a :class:`~issuecore._sla.clock.SlaClock`)
keeps each target as a :class:`~issuecore._sla.clock.TargetState`:
``issue.sla.response`` and ``issue.sla.resolution``. What depends on the
instant asked (the business time consumed, what is left, whether a deadline
has passed) needs the agreement's calendar too: :func:`sla_view` reads the
clock with its agreement at an instant and returns an :class:`SlaView`, the
agreement status and a :class:`TargetView` per target. It is pure and never
reads the system clock.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from issuecore._instants import optional_utc_converter, require_aware, utc_converter
from issuecore._sla.clock import (
    AgreementStatus,
    BusinessTime,
    ClockTerms,
    SlaClock,
    SlaRole,
    SlaTargetName,
    TargetState,
)

__all__ = ["SlaView", "TargetStatus", "TargetView", "sla_view", "target_view"]


class TargetStatus(enum.StrEnum):
    """Where one target stands at an instant."""

    RUNNING = "running"
    """Not done yet and the clock counts against it."""
    PAUSED = "paused"
    """Not done yet and the clock is stopped (a pausing status, or the issue is finished)."""
    MET = "met"
    """Done by its deadline."""
    BREACHED = "breached"
    """Done after its deadline, or not done and the deadline has passed."""


@attrs.frozen(kw_only=True)
class TargetView:
    """One target of an issue's agreement at an instant: its :class:`TargetState` read at ``at``.

    ``target`` is its length in business time; ``due_by`` the deadline it is
    judged against (``None`` while the clock is paused short of it);
    ``done_at`` when it was achieved and ``met`` whether that was in time
    (both ``None`` while open). ``consumed`` is the business time it has
    used; ``remaining_business`` and ``remaining_calendar`` what is left
    (negative once breached, ``None`` once done; the calendar time is
    ``None`` while paused, because the deadline is then unknown).
    """

    name: SlaTargetName
    status: TargetStatus
    target: timedelta
    due_by: datetime | None = attrs.field(converter=optional_utc_converter)
    done_at: datetime | None = attrs.field(converter=optional_utc_converter)
    met: bool | None
    consumed: timedelta
    remaining_business: timedelta | None
    remaining_calendar: timedelta | None


@attrs.frozen(kw_only=True)
class SlaView:
    """An issue's SLA at ``at``: the agreement, its status and one view per target.

    ``resolution`` is ``None`` when the agreement sets no resolution target
    for the issue's priority.
    """

    agreement: str
    priority: str
    at: datetime = attrs.field(converter=utc_converter)
    status: AgreementStatus
    response: TargetView
    resolution: TargetView | None

    @property
    def targets(self) -> tuple[TargetView, ...]:
        """Return the targets there are, response first."""
        return (self.response,) if self.resolution is None else (self.response, self.resolution)


def sla_view(clock: SlaClock, terms: ClockTerms, *, at: datetime) -> SlaView:
    """Return what ``clock`` (an issue's SLA under the agreement ``terms``) shows at ``at``."""
    require_aware("at", at)
    calendar = terms.business_time
    response = target_view(clock, clock.response, calendar, at=at)
    assert response is not None  # every agreement has a response target
    return SlaView(
        agreement=clock.agreement,
        priority=clock.priority,
        at=at,
        status=clock.status(at),
        response=response,
        resolution=target_view(clock, clock.resolution, calendar, at=at),
    )


def target_view(
    clock: SlaClock, state: TargetState, calendar: BusinessTime | None, *, at: datetime
) -> TargetView | None:
    """Return target ``state`` of ``clock`` read at ``at``; ``None`` when it has no target.

    Without the agreement's ``calendar`` (an agreement no longer configured)
    the deadlines are those stored, the consumed time is what the clock had
    counted at its last change, and nothing is said of the time left.
    """
    require_aware("at", at)
    if state.target is None:
        return None
    due_by = state.due_by if calendar is None else clock.judged_deadline(calendar, state)
    if state.done_at is not None:
        consumed = state.business
        if consumed is None:
            consumed = (
                clock.consumed
                if calendar is None
                else calendar.between(clock.started_at, state.done_at)
            )
        return TargetView(
            name=state.name,
            status=TargetStatus.BREACHED if state.met is False else TargetStatus.MET,
            target=state.target,
            due_by=due_by,
            done_at=state.done_at,
            met=state.met,
            consumed=consumed,
            remaining_business=None,
            remaining_calendar=None,
        )
    left = None if calendar is None else clock.remaining(calendar, state, at)
    if state.breached or (due_by is not None and at > due_by):
        status = TargetStatus.BREACHED
    elif clock.role is SlaRole.RUNNING:
        status = TargetStatus.RUNNING
    else:
        status = TargetStatus.PAUSED
    return TargetView(
        name=state.name,
        status=status,
        target=state.target,
        due_by=due_by,
        done_at=None,
        met=None,
        consumed=clock.consumed if calendar is None else clock.consumed_at(calendar, at),
        remaining_business=None if left is None else left.business,
        remaining_calendar=None if left is None else left.calendar,
    )
