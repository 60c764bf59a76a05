"""What a user interface shows of an issue's SLA at an instant: one value per target.

:func:`sla_view` reads an issue's :class:`~issuecore.SlaClock` with
its agreement at an instant and returns an :class:`SlaView`: the agreement
status and, for the response and the resolution target, a
:class:`TargetView` with the target's length, when it is due, when it was
done, whether it was met, the business time consumed and what is left in
business and in calendar time. It is pure and never reads the system clock.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from issuecore._instants import optional_utc_converter, require_aware, utc_converter
from issuecore._sla.clock import (
    RESOLUTION,
    RESPONSE,
    AgreementStatus,
    ClockTerms,
    SlaClock,
    SlaRole,
)

__all__ = ["SlaView", "TargetState", "TargetView", "sla_view"]


class TargetState(enum.StrEnum):
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
    """One target of an issue's agreement at an instant.

    ``target`` is its length in business time; ``due_by`` the deadline it is
    judged against (``None`` while the clock is paused short of it);
    ``done_at`` when it was achieved and ``met`` whether that was in time
    (both ``None`` while open). ``consumed`` is the business time it has
    used; ``remaining_business`` and ``remaining_calendar`` what is left
    (negative once breached, ``None`` once done; the calendar time is
    ``None`` while paused, because the deadline is then unknown).
    """

    name: str
    state: TargetState
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
    response = _target(clock, terms, RESPONSE, at)
    assert response is not None  # every agreement has a response target
    return SlaView(
        agreement=clock.agreement,
        priority=clock.priority,
        at=at,
        status=clock.status(at),
        response=response,
        resolution=_target(clock, terms, RESOLUTION, at),
    )


def _target(clock: SlaClock, terms: ClockTerms, which: str, at: datetime) -> TargetView | None:
    length = clock.target_of(which)
    if length is None:
        return None
    calendar = terms.business_time
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    due_by = clock.deadline_of(calendar, which)
    if done_at is not None:
        used = clock.response_business if which == RESPONSE else clock.resolution_business
        consumed = used if used is not None else calendar.between(clock.started_at, done_at)
        state = TargetState.MET if met or met is None else TargetState.BREACHED
        return TargetView(
            name=which,
            state=state,
            target=length,
            due_by=due_by,
            done_at=done_at,
            met=met,
            consumed=consumed,
            remaining_business=None,
            remaining_calendar=None,
        )
    consumed = clock.consumed_at(calendar, at)
    left = clock.remaining(calendar, which, at)
    overdue = due_by is not None and at > due_by
    if which in clock.breached or overdue:
        state = TargetState.BREACHED
    elif clock.role is SlaRole.RUNNING:
        state = TargetState.RUNNING
    else:
        state = TargetState.PAUSED
    return TargetView(
        name=which,
        state=state,
        target=length,
        due_by=due_by,
        done_at=None,
        met=None,
        consumed=consumed,
        remaining_business=None if left is None else left.business,
        remaining_calendar=None if left is None else left.calendar,
    )
