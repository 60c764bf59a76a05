"""Service-level agreements: targets per priority, the calendar they count on, and the choice.

An agreement says how long the team has to respond to and resolve an issue of
each priority, measured on a business calendar, which statuses pause the
clock and which fulfil resolution, and which issues it covers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pendulum

from issuecore._instants import require_aware
from issuecore._model import Issue
from issuecore._sla.clock import AgreementStatus, BusinessTime, SlaRole
from issuecore._workflow import DEFAULT_WORKFLOW, Workflow
from issuecore.errors import AgreementError, UnknownPriorityError

__all__ = [
    "AgreementStatus",
    "AtRisk",
    "Condition",
    "ElapsedTime",
    "ServiceLevelAgreement",
    "SlaTarget",
    "check_agreements",
    "choose_agreement",
]


class ElapsedTime:
    """A calendar that is always open: business time is plain elapsed time."""

    def add(self, start: datetime, duration: timedelta) -> pendulum.DateTime:
        """Return ``start + duration``."""
        if (
            type(start) is pendulum.DateTime
            and start.tzinfo is pendulum.UTC
            and type(duration) is timedelta
            and not duration.microseconds
        ):
            # In UTC and in whole seconds pendulum's addition is the stdlib's, which
            # builds the same pendulum DateTime without its Python-level arithmetic.
            result: pendulum.DateTime = datetime.__add__(start, duration)
            return result
        return pendulum.instance(require_aware("start", start)) + duration

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return ``b - a`` as a plain :class:`~datetime.timedelta`."""
        return datetime.__sub__(require_aware("b", b), require_aware("a", a))

    def __repr__(self) -> str:
        return "ElapsedTime()"


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: timedelta | None) -> None:
    if value is not None and value <= timedelta(0):
        raise ValueError(f"the {attribute.name} target must be longer than zero, got {value}")


@attrs.frozen
class SlaTarget:
    """How long the team has to respond and, optionally, to resolve."""

    response: timedelta = attrs.field(validator=_positive)
    resolution: timedelta | None = attrs.field(default=None, validator=_positive)


@attrs.frozen(kw_only=True)
class AtRisk:
    """When a running target counts as at risk: remaining time at or below a threshold.

    Give ``fraction`` (of the target, e.g. ``0.2`` for the last 20 %) or
    ``remaining`` (an absolute amount of business time), or both (the larger
    threshold wins).
    """

    fraction: float | None = None
    remaining: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        if self.fraction is None and self.remaining is None:
            raise ValueError("AtRisk needs fraction= or remaining=")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise ValueError(
                f"AtRisk fraction must lie strictly between 0 and 1, got {self.fraction}"
            )
        if self.remaining is not None and self.remaining <= timedelta(0):
            raise ValueError(f"AtRisk remaining must be longer than zero, got {self.remaining}")

    def threshold(self, target: timedelta) -> timedelta:
        """Return the remaining business time at or below which ``target`` is at risk."""
        by_fraction = timedelta(0)
        if self.fraction is not None:
            by_fraction = timedelta(
                microseconds=round(target // timedelta(microseconds=1) * self.fraction)
            )
        return min(target, max(by_fraction, self.remaining or timedelta(0)))


def _optional_names(value: Iterable[str] | str | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(name) for name in value)


def _accepted(value: Mapping[str, Any] | None) -> dict[str, frozenset[Any] | None]:
    accepted: dict[str, frozenset[Any] | None] = {}
    for name, wanted in (value or {}).items():
        if wanted is None:
            accepted[str(name)] = None
        elif isinstance(wanted, str | int | float | bool):
            accepted[str(name)] = frozenset({wanted})
        else:
            accepted[str(name)] = frozenset(wanted)
    return accepted


@attrs.frozen(kw_only=True)
class Condition:
    """Which issues an agreement covers, declared as data (and so expressible in TOML).

    Every part given must hold: the issue's priority is one of
    ``priorities``, its type one of ``issue_types``, each named reference is
    one of the values given (``None``: present with any value), and each
    named custom field is one of the values given (``None``: present with
    any value). A single value may stand for a one-element set.
    """

    priorities: frozenset[str] | None = attrs.field(default=None, converter=_optional_names)
    issue_types: frozenset[str] | None = attrs.field(default=None, converter=_optional_names)
    references: Mapping[str, frozenset[Any] | None] = attrs.field(
        factory=dict, converter=_accepted, hash=False
    )
    fields: Mapping[str, frozenset[Any] | None] = attrs.field(
        factory=dict, converter=_accepted, hash=False
    )

    def matches(self, issue: Issue) -> bool:
        """Return whether ``issue`` meets every part of this condition."""
        if self.priorities is not None and issue.priority not in self.priorities:
            return False
        if self.issue_types is not None and issue.issue_type not in self.issue_types:
            return False
        for held, wanted_by_name in (
            (issue.references, self.references),
            (issue.fields, self.fields),
        ):
            for name, wanted in wanted_by_name.items():
                if name not in held:
                    return False
                if wanted is not None and not _one_of(held[name], wanted):
                    return False
        return True


def _one_of(value: Any, wanted: frozenset[Any]) -> bool:
    # True == 1 in Python; a field holding True must not meet a condition asking for 1.
    return any(value == option and type(value) is type(option) for option in wanted) or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and any(
            isinstance(option, int | float) and not isinstance(option, bool) and value == option
            for option in wanted
        )
    )


def _targets(value: Mapping[str, SlaTarget]) -> dict[str, SlaTarget]:
    return dict(value)


def _names(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(str(name) for name in value)


@attrs.frozen(kw_only=True, eq=False)
class ServiceLevelAgreement:
    """Targets per priority on a calendar, with the statuses that pause and fulfil.

    ``calendar=None`` counts plain elapsed time. ``pause_on`` and
    ``fulfilled_on`` name the statuses that pause the clock and fulfil
    resolution; left out (``None``), they are the SLA roles the desk's
    workflow declares for its statuses (for the default workflow: Waiting for
    Reply and On Hold pause, Resolved and Closed fulfil). A desk refuses an
    agreement naming a status its workflow lacks. ``applies_to`` is a
    predicate on the issue and ``condition`` a declarative
    :class:`Condition` (on priority, issue type, references and custom
    fields); ``valid_from``/``valid_until`` bound the creation dates it
    covers. Only a ``default`` agreement is a catch-all: a non-default one
    with none of these is chosen only when no default agreement covers the
    issue.
    """

    name: str
    targets: Mapping[str, SlaTarget] = attrs.field(converter=_targets)
    default_priority: str
    calendar: BusinessTime | None = None
    pause_on: frozenset[str] | None = attrs.field(default=None, converter=_names)
    fulfilled_on: frozenset[str] | None = attrs.field(default=None, converter=_names)
    applies_to: Callable[[Issue], bool] | None = None
    condition: Condition | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    default: bool = False
    at_risk: AtRisk | None = None

    def __attrs_post_init__(self) -> None:
        if not self.targets:
            raise AgreementError.bad_field(self.name, "targets", "must name at least one priority")
        if self.default_priority not in self.targets:
            raise AgreementError.bad_field(
                self.name,
                "default_priority",
                f"{self.default_priority!r} has no target; known: {', '.join(self.targets)}",
            )
        if (self.pause_on is None) != (self.fulfilled_on is None):
            raise AgreementError.bad_field(
                self.name, "pause_on/fulfilled_on", "must both be given or both be None"
            )
        if self.pause_on and self.fulfilled_on and self.pause_on & self.fulfilled_on:
            overlap = ", ".join(sorted(self.pause_on & self.fulfilled_on))
            raise AgreementError.bad_field(
                self.name,
                "pause_on",
                f"and fulfilled_on share {overlap}; a status is one or the other",
            )
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise AgreementError.bad_field(
                self.name,
                "valid_from",
                f"{self.valid_from} is after valid_until {self.valid_until}",
            )

    @property
    def business_time(self) -> BusinessTime:
        """Return the calendar business time is counted on."""
        return self.calendar if self.calendar is not None else ElapsedTime()

    @property
    def selective(self) -> bool:
        """Return whether this agreement covers only some issues (a predicate, condition, dates)."""
        return (
            self.applies_to is not None
            or self.condition is not None
            or self.valid_from is not None
            or self.valid_until is not None
        )

    def target_for(self, priority: str | None) -> SlaTarget:
        """Return the target for ``priority``, or the default priority's when it has none.

        An issue whose priority this agreement does not name is still opened
        and tracked, against the target of the agreement's default priority.
        """
        name = self.default_priority if priority is None else priority
        return self.targets.get(name) or self.targets[self.default_priority]

    def target(self, priority: str | None) -> SlaTarget:
        """Return the target for ``priority`` (the default priority when ``None``)."""
        name = self.default_priority if priority is None else priority
        try:
            return self.targets[name]
        except KeyError:
            raise UnknownPriorityError.for_agreement(name, self.name, self.targets) from None

    def role(self, status: str, workflow: Workflow | None = None) -> SlaRole:
        """Return what ``status`` means to this agreement's clock."""
        if self.pause_on is None or self.fulfilled_on is None:
            return (workflow or DEFAULT_WORKFLOW).sla_role(status)
        if status in self.fulfilled_on:
            return SlaRole.FULFILLED
        if status in self.pause_on:
            return SlaRole.PAUSED
        return SlaRole.RUNNING

    def bound_to(self, workflow: Workflow) -> ServiceLevelAgreement:
        """Return this agreement with its pausing and fulfilling statuses taken from ``workflow``.

        Statuses given explicitly are kept, after checking that ``workflow``
        declares each of them; raise :class:`~issuecore.errors.AgreementError` if not.
        """
        if self.pause_on is None or self.fulfilled_on is None:
            return attrs.evolve(
                self,
                pause_on=_with_role(workflow, SlaRole.PAUSED),
                fulfilled_on=_with_role(workflow, SlaRole.FULFILLED),
            )
        known = [spec.name for spec in workflow.statuses]
        for field, names in (("pause_on", self.pause_on), ("fulfilled_on", self.fulfilled_on)):
            unknown = sorted(name for name in names if name not in known)
            if unknown:
                raise AgreementError.unknown_statuses(
                    self.name, field, unknown, workflow=workflow.name, known=known
                )
        return self

    def covers(self, issue: Issue) -> bool:
        """Return whether this agreement's validity and ``applies_to`` accept ``issue``."""
        created = issue.created_at.date()
        if self.valid_from is not None and created < self.valid_from:
            return False
        if self.valid_until is not None and created > self.valid_until:
            return False
        if self.condition is not None and not self.condition.matches(issue):
            return False
        return self.applies_to is None or bool(self.applies_to(issue))

    def __repr__(self) -> str:
        return f"ServiceLevelAgreement(name={self.name!r}, priorities={list(self.targets)!r})"


def _with_role(workflow: Workflow, role: SlaRole) -> frozenset[str]:
    return frozenset(spec.name for spec in workflow.statuses if spec.sla is role)


def check_agreements(
    agreements: Iterable[ServiceLevelAgreement], *, workflow: Workflow | None = None
) -> tuple[ServiceLevelAgreement, ...]:
    """Return the agreements as a tuple after checking that at most one is the default.

    With ``workflow``, each agreement comes back bound to it
    (:meth:`ServiceLevelAgreement.bound_to`): its SLA roles taken from the
    workflow, or its own statuses checked against it.
    """
    listed = tuple(agreements)
    if workflow is not None:
        listed = tuple(agreement.bound_to(workflow) for agreement in listed)
    defaults = [agreement.name for agreement in listed if agreement.default]
    if len(defaults) > 1:
        raise AgreementError.several_defaults(defaults)
    names = [agreement.name for agreement in listed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AgreementError(f"agreement names must be unique; repeated: {', '.join(repeated)}")
    return listed


def choose_agreement(
    agreements: Iterable[ServiceLevelAgreement], issue: Issue
) -> ServiceLevelAgreement | None:
    """Return the agreement that governs ``issue``, or ``None`` when none covers it.

    The first selective non-default agreement (one with ``applies_to``, a
    ``condition`` or validity dates) that covers the issue wins; else the
    default agreement; else the first non-default agreement without any
    selector (kept for desks that have one agreement and no default).
    """
    listed = tuple(agreements)
    for agreement in listed:
        if not agreement.default and agreement.selective and agreement.covers(issue):
            return agreement
    for agreement in listed:
        if agreement.default and agreement.covers(issue):
            return agreement
    for agreement in listed:
        if not agreement.default and not agreement.selective:
            return agreement
    return None
