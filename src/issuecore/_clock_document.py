"""The stored shape of an SLA clock: the flat document stores have always kept.

:class:`~issuecore._sla.clock.SlaClock` holds each target as one
:class:`~issuecore._sla.clock.TargetState`; stores keep the clock as the flat
document written before that (``response_target``, ``responded_at``,
``response_by``, ``breached``, ``notified`` and so on), so no store needs a
migration and documents written by either version read back alike. The codec
turns a clock into a :class:`StoredClock` and back through the functions here:
its general rules through the shape itself, its compiled coders through the
shape's fields by name, without making the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from issuecore._instants import optional_utc_converter, utc_converter
from issuecore._sla.clock import (
    Period,
    SlaClock,
    SlaRole,
    SlaTargetName,
    TargetState,
)

__all__ = [
    "StoredClock",
    "clock_from_fields",
    "clock_from_stored",
    "stored_clock",
    "stored_clock_fields",
]

_ZERO = timedelta(0)
_RESPONSE, _RESOLUTION = SlaTargetName.RESPONSE, SlaTargetName.RESOLUTION


@attrs.frozen(kw_only=True)
class StoredClock:
    """An SLA clock as stores keep it: the two targets' state in parallel keys.

    ``breached`` lists the breached targets by name; ``notified`` the notices
    already raised, each ``"<kind>:<target>"`` (``"at_risk:response"``).
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


def stored_clock(clock: SlaClock) -> StoredClock:
    """Return ``clock`` in its stored shape."""
    return StoredClock(**stored_clock_fields(clock))


def stored_clock_fields(clock: SlaClock) -> dict[str, Any]:
    """Return the fields of ``clock``'s stored shape by name, the instants as the clock has them."""
    response, resolution = clock.response, clock.resolution
    assert response.target is not None  # checked when the clock was made
    return {
        "agreement": clock.agreement,
        "priority": clock.priority,
        "response_target": response.target,
        "resolution_target": resolution.target,
        "started_at": clock.started_at,
        "role": clock.role,
        "periods": clock.periods,
        "consumed": clock.consumed,
        "running_since": clock.running_since,
        "paused_since": clock.paused_since,
        "responded_at": response.done_at,
        "response_met": response.met,
        "response_business": response.business,
        "resolved_at": resolution.done_at,
        "resolution_met": resolution.met,
        "resolution_business": resolution.business,
        "response_by": response.due_by,
        "resolution_by": resolution.due_by,
        "breached": tuple(str(name) for name in clock.breached),
        "notified": tuple(f"{kind}:{s.name}" for s in clock.targets for kind in s.reported),
        "hold_business": clock.hold_business,
        "hold_elapsed": clock.hold_elapsed,
        "reset_at": clock.reset_at,
        "reset_by": clock.reset_by,
        "reset_reason": clock.reset_reason,
    }


def clock_from_stored(stored: StoredClock) -> SlaClock:
    """Return the clock ``stored`` keeps; a notice naming no known target is refused."""
    return clock_from_fields(attrs.asdict(stored, recurse=False))


def clock_from_fields(stored: Mapping[str, Any]) -> SlaClock:
    """Return the clock whose stored shape has the fields ``stored`` (every one, by name)."""
    reported: dict[str, list[str]] = {_RESPONSE: [], _RESOLUTION: []}
    for notice in stored["notified"]:
        kind, _, name = notice.partition(":")
        if name not in reported:
            raise ValueError(f"stored SLA notice {notice!r} names no target (response, resolution)")
        if kind not in reported[name]:  # the target's name is its member's value
            reported[name].append(kind)
    breached = stored["breached"]
    return SlaClock(
        agreement=stored["agreement"],
        priority=stored["priority"],
        response=TargetState(
            name=_RESPONSE,
            target=stored["response_target"],
            due_by=stored["response_by"],
            done_at=stored["responded_at"],
            met=stored["response_met"],
            business=stored["response_business"],
            breached=_RESPONSE in breached,
            reported=tuple(reported[_RESPONSE]),
        ),
        resolution=TargetState(
            name=_RESOLUTION,
            target=stored["resolution_target"],
            due_by=stored["resolution_by"],
            done_at=stored["resolved_at"],
            met=stored["resolution_met"],
            business=stored["resolution_business"],
            breached=_RESOLUTION in breached,
            reported=tuple(reported[_RESOLUTION]),
        ),
        started_at=stored["started_at"],
        role=stored["role"],
        periods=stored["periods"],
        consumed=stored["consumed"],
        running_since=stored["running_since"],
        paused_since=stored["paused_since"],
        hold_business=stored["hold_business"],
        hold_elapsed=stored["hold_elapsed"],
        reset_at=stored["reset_at"],
        reset_by=stored["reset_by"],
        reset_reason=stored["reset_reason"],
    )
