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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import attrs

from issuecore._evolve import evolve
from issuecore._instants import optional_utc_converter, require_aware, utc_converter

if TYPE_CHECKING:  # the agreement and view modules build on this one
    from issuecore._sla.agreement import AtRisk
    from issuecore._sla.view import SlaView

__all__ = [
    "AgreementStatus",
    "BusinessTime",
    "ClockTerms",
    "Period",
    "Remaining",
    "SlaClock",
    "SlaMetrics",
    "SlaNotice",
    "SlaRole",
    "SlaTargetName",
    "TargetState",
]


class SlaTargetName(enum.StrEnum):
    """The two targets of an agreement."""

    RESPONSE = "response"
    """The first agent reply."""
    RESOLUTION = "resolution"
    """Entering a fulfilled status."""


_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)
_AT_RISK = "at_risk"
_BREACHED = "breached"


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


class BusinessTime(Protocol):
    """What the SLA clock needs of a calendar: exact addition and measurement."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """Return the earliest instant at which ``duration`` of open time has passed."""
        ...

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return the open time in ``[a, b)``."""
        ...


class ClockTerms(Protocol):
    """What the clock needs of an agreement (``ServiceLevelAgreement`` provides it)."""

    @property
    def name(self) -> str:
        """Return the agreement's name."""
        ...

    @property
    def business_time(self) -> BusinessTime:
        """Return the calendar business time is counted on."""
        ...

    @property
    def at_risk(self) -> AtRisk | None:
        """Return when a running target counts as at risk, if the agreement says."""
        ...


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
class TargetState:
    """One target of an issue's SLA clock: its length, running deadline and verdict.

    ``target`` is the length in business time (``None``: the agreement sets
    no such target for the priority). ``due_by`` is the running deadline:
    ``None`` while the clock is paused, once the target is done, or without
    a target. ``done_at`` is when it was achieved (the first agent reply,
    entering a fulfilled status), ``met`` whether that was in time (``None``
    while open or without a target) and ``business`` the business time from
    the clock's start to ``done_at``. ``breached`` is sticky until a reset;
    ``reported`` names the notices already raised for it (``"at_risk"``,
    ``"breached"``).
    """

    name: SlaTargetName = attrs.field(converter=SlaTargetName)
    target: timedelta | None
    due_by: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    done_at: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    met: bool | None = None
    business: timedelta | None = None
    breached: bool = False
    reported: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        """Return whether the target exists and is not done yet."""
        return self.target is not None and self.done_at is None


def _named(
    name: SlaTargetName,
) -> Callable[[object, attrs.Attribute[TargetState], TargetState], None]:
    def check(_: object, attribute: attrs.Attribute[TargetState], value: TargetState) -> None:
        if value.name is not name:
            raise ValueError(f"{attribute.name} holds the {value.name} target")
        if name is SlaTargetName.RESPONSE and value.target is None:
            raise ValueError("every agreement has a response target")

    return check


@attrs.frozen(kw_only=True)
class SlaClock:
    """The SLA state of one issue; ``status(at)`` is computed for the instant asked.

    ``agreement`` is the agreement's name. ``response`` and ``resolution``
    are the two targets, each a :class:`TargetState`. ``response_by`` and
    ``resolution_by`` are their running deadlines: ``None`` while paused,
    once met, or when there is no such target.
    """

    agreement: str
    priority: str
    response: TargetState = attrs.field(validator=_named(SlaTargetName.RESPONSE))
    resolution: TargetState = attrs.field(validator=_named(SlaTargetName.RESOLUTION))
    started_at: datetime = attrs.field(converter=utc_converter)
    role: SlaRole
    periods: tuple[Period, ...] = ()
    consumed: timedelta = _ZERO
    running_since: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    paused_since: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    hold_business: timedelta = _ZERO
    hold_elapsed: timedelta = _ZERO
    reset_at: datetime | None = attrs.field(default=None, converter=optional_utc_converter)
    reset_by: str | None = None
    reset_reason: str | None = None

    # --- reading --------------------------------------------------------------

    @property
    def targets(self) -> tuple[TargetState, TargetState]:
        """Return both targets, response first."""
        return (self.response, self.resolution)

    def target_state(self, name: str) -> TargetState:
        """Return the target called ``name`` (``"response"`` or ``"resolution"``)."""
        for state in self.targets:
            if state.name == name:
                return state
        raise ValueError(f"no target {name!r}; known: response, resolution")

    @property
    def response_by(self) -> datetime | None:
        """Return the running response deadline; ``None`` while paused or once responded."""
        return self.response.due_by

    @property
    def resolution_by(self) -> datetime | None:
        """Return the running resolution deadline; ``None`` while paused, resolved or untargeted."""
        return self.resolution.due_by

    @property
    def breached(self) -> tuple[SlaTargetName, ...]:
        """Return the names of the targets breached since the clock (re)started."""
        return tuple(state.name for state in self.targets if state.breached)

    def status(self, at: datetime) -> AgreementStatus:
        """Return the agreement status at ``at``, never stale."""
        require_aware("at", at)
        if self._overdue(at):
            return AgreementStatus.FAILED
        return self._recorded_status()

    def _recorded_status(self) -> AgreementStatus:
        # The status as the clock recorded it, without deadlines passed since.
        if self.breached:
            return AgreementStatus.FAILED
        if self.role is SlaRole.FULFILLED and self.resolution.done_at is not None:
            return AgreementStatus.FULFILLED
        if self.resolution.target is None and self.response.met:
            return AgreementStatus.FULFILLED
        if self.role is not SlaRole.RUNNING:
            return AgreementStatus.PAUSED
        if self.response.done_at is None:
            return AgreementStatus.FIRST_RESPONSE_DUE
        return AgreementStatus.RESOLUTION_DUE

    def _overdue(self, at: datetime) -> bool:
        return any(s.due_by < at for s in self.targets if s.due_by is not None)

    def view(self, terms: ClockTerms, *, at: datetime) -> SlaView:
        """Return what this clock shows at ``at`` under its agreement ``terms``, per target.

        The same as :meth:`HelpDesk.sla_view <issuecore.HelpDesk.sla_view>`,
        for an issue read without a desk.
        """
        from issuecore._sla.view import sla_view  # the view module imports this one

        return sla_view(self, terms, at=at)

    @property
    def paused(self) -> bool:
        """Return whether the clock is stopped by a pausing status."""
        return self.role is SlaRole.PAUSED

    def consumed_at(self, calendar: BusinessTime, at: datetime) -> timedelta:
        """Return the business time consumed up to ``at``."""
        if self.running_since is None or at <= self.running_since:
            return self.consumed
        return self.consumed + calendar.between(self.running_since, at)

    def deadline(self, calendar: BusinessTime, amount: timedelta) -> datetime | None:
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

    def judged_deadline(self, calendar: BusinessTime, state: TargetState) -> datetime | None:
        """Return the deadline of target ``state`` as it stood when it was judged, or now.

        For a target already met or missed this is the deadline it was judged
        against (the clock stops counting for a target once it is done); for
        a running target it is the running deadline; ``None`` when there is
        no such target or the clock was paused short of it.
        """
        target, done = state.target, state.done_at
        if target is None:
            return None
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

    def remaining(
        self, calendar: BusinessTime, state: TargetState, at: datetime
    ) -> Remaining | None:
        """Return the time left on target ``state`` at ``at``, or ``None`` if it is not due."""
        if state.target is None or state.done_at is not None:
            return None
        business = state.target - self.consumed_at(calendar, at)
        calendar_left = None if state.due_by is None else _elapsed(at, state.due_by)
        return Remaining(business=business, calendar=calendar_left)

    def metrics(self) -> SlaMetrics:
        """Return first response, resolution and hold time, business and elapsed."""
        response, resolution = self.response, self.resolution
        return SlaMetrics(
            first_response_business=response.business,
            first_response_elapsed=None
            if response.done_at is None
            else _elapsed(self.started_at, response.done_at),
            resolution_business=resolution.business,
            resolution_elapsed=None
            if resolution.done_at is None
            else _elapsed(self.started_at, resolution.done_at),
            hold_business=self.hold_business,
            hold_elapsed=self.hold_elapsed,
        )

    def wake_at(self, terms: ClockTerms) -> datetime | None:
        """Return the next instant a sweep must look at this clock, or ``None``."""
        candidates = [instant for _, _, instant in self._pending(terms)]
        return min(candidates) if candidates else None

    def at_risk_from(self, terms: ClockTerms, state: TargetState) -> datetime | None:
        """Return the instant running target ``state`` counts as at risk under ``terms``, if any."""
        if terms.at_risk is None or state.target is None or state.due_by is None:
            return None
        return self.deadline(
            terms.business_time, state.target - terms.at_risk.threshold(state.target)
        )

    def _pending(self, terms: ClockTerms) -> list[tuple[str, TargetState, datetime]]:
        if self.role is not SlaRole.RUNNING:
            return []
        pending: list[tuple[str, TargetState, datetime]] = []
        for state in self.targets:
            if state.due_by is None or state.target is None or _BREACHED in state.reported:
                continue
            pending.append((_BREACHED, state, _just_after(state.due_by)))
            if _AT_RISK not in state.reported:
                risky = self.at_risk_from(terms, state)
                if risky is not None:
                    pending.append((_AT_RISK, state, risky))
        return pending


# --- moving the clock ------------------------------------------------------------


def _just_after(instant: datetime) -> datetime:
    """Return the instant one microsecond after the aware ``instant``, in UTC.

    The same instant as ``instant + _TICK``, which for a pendulum DateTime goes
    through pendulum's calendar arithmetic; this reads the wall time and its
    offset and adds in the standard library's.
    """
    offset = instant.utcoffset()
    assert offset is not None
    wall = datetime(
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
        instant.second,
        instant.microsecond,
        tzinfo=UTC,
    )
    return wall - offset + _TICK


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Return ``end - start`` as a plain timedelta, whatever datetime subclass they are."""
    return datetime.__sub__(end, start)


def _replace(clock: SlaClock, *states: TargetState) -> SlaClock:
    """Return ``clock`` with each of ``states`` in place of the target of its name."""
    changes = {str(state.name): state for state in states}
    return evolve(clock, **changes)


def _reported(state: TargetState, kind: str) -> TargetState:
    """Return ``state`` with the notice ``kind`` recorded as raised."""
    if kind in state.reported:
        return state
    return evolve(state, reported=(*state.reported, kind))


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
    if role is SlaRole.RUNNING or role is SlaRole.PAUSED:
        # What observing the paused clock into ``role`` at ``at`` gives, made at once: no time
        # has passed to consume or hold, and only a running clock has deadlines.
        clock = _fresh(terms, priority, response, resolution, role=role, at=at)
        return _with_deadlines(clock, terms.business_time)
    paused = _fresh(terms, priority, response, resolution, role=SlaRole.PAUSED, at=at)
    return _start_by_observing(paused, terms, role=role)


def _start_by_observing(paused: SlaClock, terms: ClockTerms, *, role: SlaRole) -> SlaClock:
    """Return :func:`start_clock`'s clock: the fresh ``paused`` clock observed into ``role``."""
    assert paused.paused_since is not None
    moved, _ = observe(paused, terms, role=role, at=paused.paused_since)
    return evolve(moved, hold_business=_ZERO, hold_elapsed=_ZERO)


def _fresh(
    terms: ClockTerms,
    priority: str,
    response: timedelta,
    resolution: timedelta | None,
    *,
    role: SlaRole,
    at: datetime,
) -> SlaClock:
    """Return a clock with nothing consumed, running or paused since ``at`` as ``role`` says."""
    return SlaClock(
        agreement=terms.name,
        priority=priority,
        response=TargetState(name=SlaTargetName.RESPONSE, target=response),
        resolution=TargetState(name=SlaTargetName.RESOLUTION, target=resolution),
        started_at=at,
        role=role,
        running_since=at if role is SlaRole.RUNNING else None,
        paused_since=at if role is SlaRole.PAUSED else None,
    )


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
    if responded and clock.response.done_at is None:
        judged, more = _judge(clock, clock.response, calendar, at)
        clock, notices = _replace(clock, judged), notices + more
    if role is not clock.role:
        clock, more = _change_role(clock, terms, role, at)
        notices += more
    return _with_deadlines(clock, calendar), notices


def _judge(
    clock: SlaClock, state: TargetState, calendar: BusinessTime, at: datetime
) -> tuple[TargetState, tuple[SlaNotice, ...]]:
    """Return target ``state`` done at ``at``: met or not, and a breach notice if it is news."""
    deadline = None if state.target is None else clock.deadline(calendar, state.target)
    met = deadline is None or at <= deadline
    judged = evolve(
        state,
        done_at=at,
        met=None if state.target is None else met,
        business=calendar.between(clock.started_at, at),
    )
    if met or state.breached:
        return judged, ()
    assert deadline is not None
    judged = _reported(evolve(judged, breached=True), _BREACHED)
    return judged, (SlaNotice(kind=_BREACHED, target=state.name, deadline=deadline),)


def _settle(clock: SlaClock, at: datetime) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Record as breached every running deadline that ``at`` is after."""
    notices: list[SlaNotice] = []
    settled: list[TargetState] = []
    for state in clock.targets:
        if state.due_by is None or at <= state.due_by or state.breached:
            continue
        if _BREACHED not in state.reported:
            notices.append(SlaNotice(kind=_BREACHED, target=state.name, deadline=state.due_by))
        settled.append(_reported(evolve(state, breached=True), _BREACHED))
    if not settled:
        return clock, ()
    return _replace(clock, *settled), tuple(notices)


def _change_role(
    clock: SlaClock, terms: ClockTerms, role: SlaRole, at: datetime
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    calendar = terms.business_time
    notices: tuple[SlaNotice, ...] = ()
    resolution = clock.resolution
    if role is SlaRole.FULFILLED and resolution.done_at is None:
        resolution, notices = _judge(clock, resolution, calendar, at)
    elif clock.role is SlaRole.FULFILLED:
        # Reopened: the earlier resolution no longer counts.
        resolution = evolve(resolution, done_at=None, met=None, business=None)
    changes: dict[str, object] = {"role": role, "resolution": resolution}
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
    return evolve(clock, **changes), notices


def _with_deadlines(clock: SlaClock, calendar: BusinessTime) -> SlaClock:
    moved = []
    for state in clock.targets:
        due_by = None
        if clock.role is SlaRole.RUNNING and state.open:
            assert state.target is not None
            due_by = clock.deadline(calendar, state.target)
        if due_by != state.due_by:
            moved.append(evolve(state, due_by=due_by))
    return _replace(clock, *moved) if moved else clock


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
    clock = evolve(
        clock,
        priority=priority,
        response=evolve(clock.response, target=response),
        resolution=evolve(clock.resolution, target=resolution),
    )
    return _with_deadlines(clock, terms.business_time), notices


def sweep(
    clock: SlaClock, terms: ClockTerms, *, now: datetime
) -> tuple[SlaClock, tuple[SlaNotice, ...]]:
    """Report each target that became at risk or breached by ``now``, once per target."""
    require_aware("now", now)
    notices: list[SlaNotice] = []
    pending = sorted(clock._pending(terms), key=lambda item: item[2])
    due = [(kind, state.name, instant) for kind, state, instant in pending if instant <= now]
    if not due:
        return clock, ()
    # A sweep that comes late finds the breach due as well: it alone is news then.
    breaching = {name for kind, name, _ in due if kind == _BREACHED}
    swept = {state.name: state for state in clock.targets}
    for kind, name, _instant in due:
        state = _reported(swept[name], kind)
        if kind == _BREACHED:
            state = evolve(state, breached=True)
        swept[name] = state
        if kind == _AT_RISK and name in breaching:
            continue
        assert state.due_by is not None
        notices.append(SlaNotice(kind=kind, target=name, deadline=state.due_by))
    return _replace(clock, *swept.values()), tuple(notices)


def restart(
    clock: SlaClock, terms: ClockTerms, *, role: SlaRole, at: datetime, by: str, reason: str
) -> SlaClock:
    """Return the clock reset at ``at``: nothing consumed, no response, no breach."""
    assert clock.response.target is not None  # checked when the clock was made
    fresh = start_clock(
        terms,
        priority=clock.priority,
        response=clock.response.target,
        resolution=clock.resolution.target,
        role=role,
        at=at,
    )
    return evolve(fresh, reset_at=at, reset_by=by, reset_reason=reason)
