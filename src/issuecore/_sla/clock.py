"""The SLA clock of one issue: consumed business time, pauses, verdicts and deadlines.

The clock is an immutable value kept on the issue (``issue.sla``). Pure
functions move it forward at an instant; they never read the system clock.
Business time is counted on the agreement's calendar, and pauses are measured
in business time too, so resuming never pushes a deadline outside working
hours.

A target's deadline is the earliest instant at which the consumed time
reaches the target. An event at or before the deadline meets it; any instant
after it breaches it. Breaches are sticky until the clock is reset.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from issuecore._instants import optional_utc_converter, require_aware, utc_converter

__all__ = [
    "RESOLUTION",
    "RESPONSE",
    "AgreementStatus",
    "ClockTerms",
    "Period",
    "Remaining",
    "SlaClock",
    "SlaMetrics",
    "SlaNotice",
    "SlaRole",
]

RESPONSE = "response"
RESOLUTION = "resolution"
_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)


class SlaRole(enum.StrEnum):
    """What a status means to the SLA clock."""

    RUNNING = "running"
    """Business time counts against the targets."""
    PAUSED = "paused"
    """The clock stops (waiting on the customer or a third party)."""
    FULFILLED = "fulfilled"
    """Resolution is achieved; the clock stops."""


class AgreementStatus(enum.StrEnum):
    """Where an issue stands against its agreement at an instant."""

    FIRST_RESPONSE_DUE = "First Response Due"
    RESOLUTION_DUE = "Resolution Due"
    PAUSED = "Paused"
    FULFILLED = "Fulfilled"
    FAILED = "Failed"


class _Calendar(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def between(self, a: datetime, b: datetime) -> timedelta: ...


class _Threshold(Protocol):
    def threshold(self, target: timedelta) -> timedelta: ...


class ClockTerms(Protocol):
    """What the clock needs of an agreement (``ServiceLevelAgreement`` provides it)."""

    @property
    def name(self) -> str: ...

    @property
    def business_time(self) -> _Calendar: ...

    @property
    def at_risk(self) -> _Threshold | None: ...


@attrs.frozen(kw_only=True)
class Period:
    """A closed stretch during which the clock ran, with the business time it held."""

    start: datetime = attrs.field(converter=utc_converter)
    end: datetime = attrs.field(converter=utc_converter)
    business: timedelta


@attrs.frozen(kw_only=True)
class SlaNotice:
    """Something the clock wants reported: a target ``"at_risk"`` or ``"breached"``."""

    kind: str
    target: str
    deadline: datetime = attrs.field(converter=utc_converter)


@attrs.frozen(kw_only=True)
class Remaining:
    """Time left on a target at an instant, negative once breached.

    ``business`` is business time; ``calendar`` is wall-clock time until the
    deadline, ``None`` while the clock is paused (the deadline is unknown).
    """

    business: timedelta
    calendar: timedelta | None


@attrs.frozen(kw_only=True)
class SlaMetrics:
    """First response, resolution and hold time, in business and in elapsed time."""

    first_response_business: timedelta | None
    first_response_elapsed: timedelta | None
    resolution_business: timedelta | None
    resolution_elapsed: timedelta | None
    hold_business: timedelta
    hold_elapsed: timedelta


@attrs.frozen(kw_only=True)
class SlaClock:
    """The SLA state of one issue; ``status(at)`` is computed for the instant asked.

    ``agreement`` is the agreement's name. ``response_by`` and
    ``resolution_by`` are the running deadlines: ``None`` while paused, once
    met, or when there is no such target.
    """

    agreement: str
    priority: str
    response_target: timedelta
    resolution_target: timedelta | None
    started_at: datetime = attrs.field(converter=utc_converter)
    role: SlaRole
    periods: tuple[Period, ...] = ()
    consumed: timedelta = _ZERO
    running_since: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    paused_since: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    responded_at: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    response_met: bool | None = None
    response_business: timedelta | None = None
    resolved_at: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    resolution_met: bool | None = None
    resolution_business: timedelta | None = None
    response_by: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    resolution_by: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    breached: tuple[str, ...] = ()
    notified: tuple[str, ...] = ()
    hold_business: timedelta = _ZERO
    hold_elapsed: timedelta = _ZERO
    reset_at: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    reset_by: str | None = None
    reset_reason: str | None = None

    # --- reading --------------------------------------------------------------

    def status(self, at: datetime) -> AgreementStatus:
        """Return the agreement status at ``at``, never stale."""
        require_aware("at", at)
        if self.breached or self._overdue(at):
            return AgreementStatus.FAILED
        if self.role is SlaRole.FULFILLED and self.resolved_at is not None:
            return AgreementStatus.FULFILLED
        if self.resolution_target is None and self.response_met:
            return AgreementStatus.FULFILLED
        if self.role is not SlaRole.RUNNING:
            return AgreementStatus.PAUSED
        if self.responded_at is None:
            return AgreementStatus.FIRST_RESPONSE_DUE
        return AgreementStatus.RESOLUTION_DUE

    def _overdue(self, at: datetime) -> bool:
        return any(deadline < at for deadline in (self.response_by, self.resolution_by) if deadline)

    @property
    def paused(self) -> bool:
        """Return whether the clock is stopped by a pausing status."""
        return self.role is SlaRole.PAUSED

    def consumed_at(self, calendar: _Calendar, at: datetime) -> timedelta:
        """Return the business time consumed up to ``at``."""
        if self.running_since is None or at <= self.running_since:
            return self.consumed
        return self.consumed + calendar.between(self.running_since, at)

    def target_of(self, which: str) -> timedelta | None:
        """Return the length of the ``"response"`` or ``"resolution"`` target."""
        return self.response_target if which == RESPONSE else self.resolution_target

    def deadline(self, calendar: _Calendar, amount: timedelta) -> datetime | None:
        """Return the earliest instant consumed time reaches ``amount``, if known.

        Walks the closed running periods (few: one per pause), then the
        running one; ``None`` while paused short of ``amount``.
        """
        reached = _ZERO
        for period in self.periods:
            if reached + period.business >= amount:
                return calendar.add(period.start, amount - reached)
            reached += period.business
        if self.running_since is not None:
            return calendar.add(self.running_since, amount - reached)
        return None

    def deadline_of(self, calendar: _Calendar, which: str) -> datetime | None:
        """Return the deadline of ``which`` target as it stood when it was judged, or now.

        For a target already met or missed this is the deadline it was judged
        against (the clock stops counting for a target once it is done); for
        a running target it is the running deadline; ``None`` when there is
        no such target or the clock was paused short of it.
        """
        target = self.target_of(which)
        if target is None:
            return None
        done = self.responded_at if which == RESPONSE else self.resolved_at
        if done is None:
            return self.deadline(calendar, target)
        reached = _ZERO
        for period in self.periods:
            if period.start >= done:
                break
            business = (
                period.business if period.end <= done else calendar.between(period.start, done)
            )
            if reached + business >= target:
                return calendar.add(period.start, target - reached)
            reached += business
            if period.end >= done:
                return calendar.add(done, target - reached)
        if self.running_since is not None and self.running_since <= done:
            running = calendar.between(self.running_since, done)
            if reached + running >= target:
                return calendar.add(self.running_since, target - reached)
            return calendar.add(done, target - reached - running)
        return None

    def remaining(self, calendar: _Calendar, which: str, at: datetime) -> Remaining | None:
        """Return the time left on ``which`` target at ``at``, or ``None`` if it is not due."""
        target = self.target_of(which)
        if target is None or (which == RESPONSE and self.responded_at is not None):
            return None
        if which == RESOLUTION and self.resolved_at is not None:
            return None
        business = target - self.consumed_at(calendar, at)
        deadline = self.response_by if which == RESPONSE else self.resolution_by
        calendar_left = None if deadline is None else _elapsed(at, deadline)
        return Remaining(business=business, calendar=calendar_left)

    def metrics(self) -> SlaMetrics:
        """Return first response, resolution and hold time, business and elapsed."""
        return SlaMetrics(
            first_response_business=self.response_business,
            first_response_elapsed=None
            if self.responded_at is None
            else _elapsed(self.started_at, self.responded_at),
            resolution_business=self.resolution_business,
            resolution_elapsed=None
            if self.resolved_at is None
            else _elapsed(self.started_at, self.resolved_at),
            hold_business=self.hold_business,
            hold_elapsed=self.hold_elapsed,
        )

    def wake_at(self, terms: ClockTerms) -> datetime | None:
        """Return the next instant a sweep must look at this clock, or ``None``."""
        candidates = [instant for _, _, instant in self._pending(terms)]
        return min(candidates) if candidates else None

    def _pending(self, terms: ClockTerms) -> list[tuple[str, str, datetime]]:
        if self.role is not SlaRole.RUNNING:
            return []
        pending: list[tuple[str, str, datetime]] = []
        calendar = terms.business_time
        for which, deadline in ((RESPONSE, self.response_by), (RESOLUTION, self.resolution_by)):
            target = self.target_of(which)
            if deadline is None or target is None:
                continue
            if f"breached:{which}" in self.notified:
                continue
            pending.append(("breached", which, deadline + _TICK))
            if terms.at_risk is not None and f"at_risk:{which}" not in self.notified:
                risky = self.deadline(calendar, target - terms.at_risk.threshold(target))
                if risky is not None:
                    pending.append(("at_risk", which, risky))
        return pending


# --- moving the clock ------------------------------------------------------------


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Return ``end - start`` as a plain timedelta, whatever datetime subclass they are."""
    return datetime.__sub__(end, start)


def start_clock(
    terms: ClockTerms,
    *,
    priority: str,
    response: timedelta,
    resolution: timedelta | None,
    role: SlaRole,
    at: datetime,
) -> SlaClock:
    """Return a clock started at ``at`` with nothing consumed, in the given role."""
    require_aware("at", at)
    clock = SlaClock(
        agreement=terms.name,
        priority=priority,
        response_target=response,
        resolution_target=resolution,
        started_at=at,
        role=SlaRole.PAUSED,
        paused_since=at,
    )
    moved, _ = observe(clock, terms, role=role, at=at)
    return attrs.evolve(moved, hold_business=_ZERO, hold_elapsed=_ZERO)


def observe(
    clock: SlaClock,
    terms: ClockTerms,
    *,
    role: SlaRole,
    at: datetime,
    responded: bool = False,
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Move ``clock`` to ``at``: settle breaches, record a first response, change role.

    ``responded`` says the event is an agent reply (a first response if none
    was recorded). Returns the new clock and any breach it revealed.
    """
    require_aware("at", at)
    calendar = terms.business_time
    clock, notices = _settle(clock, at)
    changes: dict[str, object] = {}
    if responded and clock.responded_at is None:
        deadline = clock.deadline(calendar, clock.response_target)
        met = deadline is None or at <= deadline
        changes |= {
            "responded_at": at,
            "response_met": met,
            "response_business": calendar.between(clock.started_at, at),
        }
        if not met and RESPONSE not in clock.breached:
            assert deadline is not None
            changes["breached"] = (*clock.breached, RESPONSE)
            notices += (SlaNotice(kind="breached", target=RESPONSE, deadline=deadline),)
            changes["notified"] = (*clock.notified, f"breached:{RESPONSE}")
    clock = attrs.evolve(clock, **changes)  # type: ignore[arg-type]
    if role is not clock.role:
        clock, more = _change_role(clock, terms, role, at)
        notices += more
    return _with_deadlines(clock, calendar), notices


def _settle(clock: SlaClock, at: datetime) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Record as breached every running deadline that ``at`` is after."""
    notices: list[SlaNotice] = []
    breached = list(clock.breached)
    notified = list(clock.notified)
    for which, deadline in ((RESPONSE, clock.response_by), (RESOLUTION, clock.resolution_by)):
        if deadline is not None and at > deadline and which not in breached:
            breached.append(which)
            if f"breached:{which}" not in notified:
                notified.append(f"breached:{which}")
                notices.append(SlaNotice(kind="breached", target=which, deadline=deadline))
    if not notices and breached == list(clock.breached):
        return clock, ()
    return attrs.evolve(clock, breached=tuple(breached), notified=tuple(notified)), tuple(notices)


def _change_role(
    clock: SlaClock, terms: ClockTerms, role: SlaRole, at: datetime
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    calendar = terms.business_time
    notices: tuple[SlaNotice, ...] = ()
    changes: dict[str, object] = {"role": role}
    if role is SlaRole.FULFILLED and clock.resolved_at is None:
        target = clock.resolution_target
        deadline = None if target is None else clock.deadline(calendar, target)
        met = deadline is None or at <= deadline
        changes |= {
            "resolved_at": at,
            "resolution_met": None if target is None else met,
            "resolution_business": calendar.between(clock.started_at, at),
        }
        if not met and RESOLUTION not in clock.breached:
            assert deadline is not None
            changes["breached"] = (*clock.breached, RESOLUTION)
            changes["notified"] = (*clock.notified, f"breached:{RESOLUTION}")
            notices = (SlaNotice(kind="breached", target=RESOLUTION, deadline=deadline),)
    elif clock.role is SlaRole.FULFILLED:
        # Reopened: the earlier resolution no longer counts.
        changes |= {"resolved_at": None, "resolution_met": None, "resolution_business": None}
    if clock.running_since is not None:
        business = calendar.between(clock.running_since, at)
        period = Period(start=clock.running_since, end=at, business=business)
        changes |= {
            "periods": (*clock.periods, period),
            "consumed": clock.consumed + business,
            "running_since": None,
        }
    if clock.paused_since is not None:
        changes |= {
            "hold_business": clock.hold_business + calendar.between(clock.paused_since, at),
            "hold_elapsed": clock.hold_elapsed + _elapsed(clock.paused_since, at),
            "paused_since": None,
        }
    if role is SlaRole.RUNNING:
        changes["running_since"] = at
    elif role is SlaRole.PAUSED:
        changes["paused_since"] = at
    return attrs.evolve(clock, **changes), notices  # type: ignore[arg-type]


def _with_deadlines(clock: SlaClock, calendar: _Calendar) -> SlaClock:
    response_by = resolution_by = None
    if clock.role is SlaRole.RUNNING:
        if clock.responded_at is None:
            response_by = clock.deadline(calendar, clock.response_target)
        if clock.resolution_target is not None and clock.resolved_at is None:
            resolution_by = clock.deadline(calendar, clock.resolution_target)
    if response_by == clock.response_by and resolution_by == clock.resolution_by:
        return clock
    return attrs.evolve(clock, response_by=response_by, resolution_by=resolution_by)


def retarget(
    clock: SlaClock,
    terms: ClockTerms,
    *,
    priority: str,
    response: timedelta,
    resolution: timedelta | None,
    at: datetime,
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Replace the targets (a priority change) and recompute deadlines from time consumed.

    A first response already given keeps its verdict; breaches stay recorded.
    """
    clock, notices = _settle(clock, require_aware("at", at))
    clock = attrs.evolve(
        clock, priority=priority, response_target=response, resolution_target=resolution
    )
    return _with_deadlines(clock, terms.business_time), notices


def sweep(
    clock: SlaClock, terms: ClockTerms, *, now: datetime
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Report each target that became at risk or breached by ``now``, once per target."""
    require_aware("now", now)
    notices: list[SlaNotice] = []
    notified = list(clock.notified)
    breached = list(clock.breached)
    pending = sorted(clock._pending(terms), key=lambda item: item[2])
    due = [(kind, which, instant) for kind, which, instant in pending if instant <= now]
    # A sweep that comes late finds the breach due as well: it alone is news then.
    breaching = {which for kind, which, _ in due if kind == "breached"}
    for kind, which, _instant in due:
        deadline = clock.response_by if which == RESPONSE else clock.resolution_by
        assert deadline is not None
        notified.append(f"{kind}:{which}")
        if kind == "breached" and which not in breached:
            breached.append(which)
        if kind == "at_risk" and which in breaching:
            continue
        notices.append(SlaNotice(kind=kind, target=which, deadline=deadline))
    if not due:
        return clock, ()
    return attrs.evolve(clock, notified=tuple(notified), breached=tuple(breached)), tuple(notices)


def restart(
    clock: SlaClock, terms: ClockTerms, *, role: SlaRole, at: datetime, by: str, reason: str
) -> SlaClock:
    """Return the clock reset at ``at``: nothing consumed, no response, no breach."""
    fresh = start_clock(
        terms,
        priority=clock.priority,
        response=clock.response_target,
        resolution=clock.resolution_target,
        role=role,
        at=at,
    )
    return attrs.evolve(fresh, reset_at=at, reset_by=by, reset_reason=reason)
