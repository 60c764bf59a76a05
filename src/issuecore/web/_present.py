"""What the pages show of an issue's SLA: per-target state, time left, at-risk and breached marks.

Built only from the public SLA clock (:class:`~issuecore.SlaClock`)
and the agreements the desk was given, so the console judges an issue the
way ``issuecore show`` and the desk's queries do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from issuecore import AgreementStatus, Issue, ServiceLevelAgreement
from issuecore.config import format_duration

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


@attrs.frozen(kw_only=True)
class TargetView:
    """One SLA target as a page shows it."""

    name: str
    target: timedelta | None
    deadline: datetime | None
    done_at: datetime | None
    met: bool | None
    left_business: timedelta | None
    left_calendar: timedelta | None
    at_risk: bool
    breached: bool

    @property
    def target_text(self) -> str:
        return "no target" if self.target is None else format_duration(self.target, days=False)

    @property
    def left_text(self) -> str:
        if self.left_business is None:
            return "-"
        text = f"{format_duration(self.left_business, days=False)} business"
        if self.left_calendar is not None:
            text += f", {format_duration(self.left_calendar)} calendar"
        return text


@attrs.frozen(kw_only=True)
class SlaView:
    """An issue's agreement, its status now, and its targets."""

    agreement: str
    priority: str
    status: AgreementStatus
    targets: tuple[TargetView, ...]
    next_deadline: datetime | None
    reset_at: datetime | None
    reset_by: str | None
    reset_reason: str | None

    @property
    def breached(self) -> bool:
        return self.status is AgreementStatus.FAILED

    @property
    def at_risk(self) -> bool:
        return not self.breached and any(target.at_risk for target in self.targets)

    @property
    def mark(self) -> str:
        """Return ``breached``, ``at-risk`` or ``""``: the CSS class and word the inbox shows."""
        return "breached" if self.breached else "at-risk" if self.at_risk else ""


def sla_view(
    issue: Issue, agreements: Mapping[str, ServiceLevelAgreement], now: datetime
) -> SlaView | None:
    """Return what the pages show of ``issue``'s SLA at ``now``; ``None`` without an agreement."""
    clock = issue.sla
    if clock is None:
        return None
    agreement = agreements.get(clock.agreement)
    status = clock.status(now)
    targets = []
    for which in ("response", "resolution"):
        target = clock.target_of(which)
        done_at = clock.responded_at if which == "response" else clock.resolved_at
        met = clock.response_met if which == "response" else clock.resolution_met
        deadline = clock.response_by if which == "response" else clock.resolution_by
        remaining = (
            None if agreement is None else clock.remaining(agreement.business_time, which, now)
        )
        left = None if remaining is None else remaining.business
        # As the clock judges it: a deadline is missed once it lies in the past.
        breached = which in clock.breached or (
            deadline is not None and done_at is None and deadline < now
        )
        at_risk = False
        if (
            target is not None
            and left is not None
            and not breached
            and agreement is not None
            and agreement.at_risk is not None
        ):
            at_risk = left <= agreement.at_risk.threshold(target)
        targets.append(
            TargetView(
                name=which,
                target=target,
                deadline=deadline,
                done_at=done_at,
                met=met,
                left_business=left,
                left_calendar=None if remaining is None else remaining.calendar,
                at_risk=at_risk,
                breached=breached,
            )
        )
    deadlines = [t.deadline for t in targets if t.deadline is not None and t.done_at is None]
    return SlaView(
        agreement=clock.agreement,
        priority=clock.priority,
        status=status,
        targets=tuple(targets),
        next_deadline=min(deadlines) if deadlines else None,
        reset_at=clock.reset_at,
        reset_by=clock.reset_by,
        reset_reason=clock.reset_reason,
    )


def safe_filename(name: str) -> str:
    """Return ``name`` reduced to letters, digits, ``.``, ``-`` and ``_``; never empty or hidden."""
    cleaned = _UNSAFE_NAME.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    return cleaned[:120] or "attachment"


def safe_media_type(content_type: str) -> str:
    """Return ``content_type`` if it is a plain ``type/subtype``, else a generic binary type."""
    candidate = content_type.split(";", 1)[0].strip().lower()
    return candidate if _MEDIA_TYPE.fullmatch(candidate) else "application/octet-stream"
