"""Service-level figures of a period: opened, resolved, met and breached, in business time.

A report is about the issues *opened* in its period (a cohort): how many
there were, how many are resolved or closed by now, how many met or breached
their response and resolution targets, and the median and 90th percentile
of the business time to first response and to resolution, as the SLA clock
measured them on the agreement's calendar. Groups split the figures by
priority, agreement, assignee and month of opening, in any combination.

The desk reads the period's issues a page at a time through the index on
the creation instant, so a report costs what the period holds, whatever the
size of the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from issuecore._instants import require_aware
from issuecore._model import Issue
from issuecore._queries import MAX_PAGE, IssuePage, IssueQuery, IssueSort
from issuecore._sla.clock import RESOLUTION, RESPONSE, SlaClock

__all__ = [
    "NONE",
    "REPORT_DIMENSIONS",
    "Report",
    "ReportPeriod",
    "ReportRow",
    "build_report",
    "percentile",
]

REPORT_DIMENSIONS = ("priority", "agreement", "assignee", "month")
"""What a report can be grouped by."""

NONE = "(none)"
"""The group of issues without a value: no priority, no agreement, nobody assigned."""

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")


@attrs.frozen(kw_only=True)
class ReportPeriod:
    """A half-open stretch of time: from ``start`` (included) to ``end`` (excluded)."""

    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        require_aware("start", self.start)
        require_aware("end", self.end)
        if self.end <= self.start:
            raise ValueError(
                f"a report period must end after it starts: {self.start.isoformat()} "
                f"to {self.end.isoformat()}"
            )

    @classmethod
    def month(cls, year: int, month: int) -> ReportPeriod:
        """Return the calendar month ``year``-``month`` in UTC."""
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return cls(start=start, end=end)

    @classmethod
    def parse(cls, text: str) -> ReportPeriod:
        """Return the period ``"2026-03"`` (a month) or ``"2026"`` (a year) names, in UTC."""
        text = text.strip()
        if found := _MONTH.fullmatch(text):
            year, month = int(found[1]), int(found[2])
            if 1 <= month <= 12:
                return cls.month(year, month)
        elif _YEAR.fullmatch(text):
            year = int(text)
            return cls(
                start=datetime(year, 1, 1, tzinfo=UTC), end=datetime(year + 1, 1, 1, tzinfo=UTC)
            )
        raise ValueError(f"period {text!r} is neither a month (2026-03) nor a year (2026)")


@attrs.frozen(kw_only=True)
class ReportRow:
    """The figures of one group; ``group`` holds its value of each dimension grouped by."""

    group: tuple[str, ...]
    opened: int
    resolved: int
    response_met: int
    response_breached: int
    resolution_met: int
    resolution_breached: int
    response_median: timedelta | None
    response_p90: timedelta | None
    resolution_median: timedelta | None
    resolution_p90: timedelta | None

    @property
    def response_met_percent(self) -> float | None:
        """Return met responses as a percentage of those judged, ``None`` if none was."""
        return _percent(self.response_met, self.response_breached)

    @property
    def response_breached_percent(self) -> float | None:
        """Return breached responses as a percentage of those judged."""
        return _percent(self.response_breached, self.response_met)

    @property
    def resolution_met_percent(self) -> float | None:
        """Return met resolutions as a percentage of those judged, ``None`` if none was."""
        return _percent(self.resolution_met, self.resolution_breached)

    @property
    def resolution_breached_percent(self) -> float | None:
        """Return breached resolutions as a percentage of those judged."""
        return _percent(self.resolution_breached, self.resolution_met)

    def as_dict(self, by: Sequence[str]) -> dict[str, object]:
        """Return the row as JSON-ready values (durations in seconds)."""
        return {
            **dict(zip(by, self.group, strict=True)),
            "opened": self.opened,
            "resolved": self.resolved,
            "response_met": self.response_met,
            "response_breached": self.response_breached,
            "response_met_percent": self.response_met_percent,
            "response_breached_percent": self.response_breached_percent,
            "resolution_met": self.resolution_met,
            "resolution_breached": self.resolution_breached,
            "resolution_met_percent": self.resolution_met_percent,
            "resolution_breached_percent": self.resolution_breached_percent,
            "response_median_seconds": _seconds(self.response_median),
            "response_p90_seconds": _seconds(self.response_p90),
            "resolution_median_seconds": _seconds(self.resolution_median),
            "resolution_p90_seconds": _seconds(self.resolution_p90),
        }


@attrs.frozen(kw_only=True)
class Report:
    """The figures of a period: one row per group (in group order) and the total."""

    period: ReportPeriod
    by: tuple[str, ...]
    at: datetime
    rows: tuple[ReportRow, ...]
    total: ReportRow

    def as_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "at": self.at.isoformat(),
            "by": list(self.by),
            "rows": [row.as_dict(self.by) for row in self.rows],
            "total": self.total.as_dict(()),
        }


def percentile(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    """Return the nearest-rank percentile of ``values`` (``0.5`` the lower median), or ``None``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _percent(part: int, other: int) -> float | None:
    whole = part + other
    return None if whole == 0 else round(100 * part / whole, 1)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _dimensions(by: str | Iterable[str]) -> tuple[str, ...]:
    chosen = (by,) if isinstance(by, str) else tuple(by)
    for name in chosen:
        if name not in REPORT_DIMENSIONS:
            raise ValueError(
                f"cannot group a report by {name!r}; known: {', '.join(REPORT_DIMENSIONS)}"
            )
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"each dimension may be grouped by once, got {', '.join(chosen)}")
    return chosen


def _period(period: ReportPeriod | str | tuple[datetime, datetime]) -> ReportPeriod:
    if isinstance(period, ReportPeriod):
        return period
    if isinstance(period, str):
        return ReportPeriod.parse(period)
    start, end = period
    return ReportPeriod(start=start, end=end)


@attrs.frozen
class _Facts:
    """What one issue adds to a report."""

    resolved: bool
    response: bool | None
    resolution: bool | None
    response_time: timedelta | None
    resolution_time: timedelta | None


def _verdict(clock: SlaClock, which: str, at: datetime) -> bool | None:
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    if met is not None:
        return met
    if which in clock.breached:
        return False
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    if deadline is not None and deadline < at:
        return False
    return None


def _facts(issue: Issue, at: datetime) -> _Facts:
    clock = issue.sla
    resolved = issue.resolved_at is not None or issue.closed_at is not None
    if clock is None:
        return _Facts(resolved, None, None, None, None)
    return _Facts(
        resolved=resolved,
        response=_verdict(clock, RESPONSE, at),
        resolution=_verdict(clock, RESOLUTION, at),
        response_time=clock.response_business,
        resolution_time=clock.resolution_business,
    )


def _groups(issue: Issue, by: Sequence[str]) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [()]
    for name in by:
        if name == "priority":
            values = [issue.priority or NONE]
        elif name == "agreement":
            values = [issue.sla.agreement if issue.sla is not None else NONE]
        elif name == "assignee":
            values = list(dict.fromkeys(issue.assignees)) or [NONE]
        else:
            values = [issue.created_at.astimezone(UTC).strftime("%Y-%m")]
        keys = [(*key, value) for key in keys for value in values]
    return keys


def _row(group: tuple[str, ...], facts: Sequence[_Facts]) -> ReportRow:
    responses = [fact.response_time for fact in facts if fact.response_time is not None]
    resolutions = [fact.resolution_time for fact in facts if fact.resolution_time is not None]
    return ReportRow(
        group=group,
        opened=len(facts),
        resolved=sum(fact.resolved for fact in facts),
        response_met=sum(fact.response is True for fact in facts),
        response_breached=sum(fact.response is False for fact in facts),
        resolution_met=sum(fact.resolution is True for fact in facts),
        resolution_breached=sum(fact.resolution is False for fact in facts),
        response_median=percentile(responses, 0.5),
        response_p90=percentile(responses, 0.9),
        resolution_median=percentile(resolutions, 0.5),
        resolution_p90=percentile(resolutions, 0.9),
    )


def build_report(
    find_page: Callable[[IssueQuery], IssuePage],
    period: ReportPeriod | str | tuple[datetime, datetime],
    *,
    by: str | Iterable[str] = (),
    at: datetime,
) -> Report:
    """Return the report of ``period`` from the pages ``find_page`` returns, judged at ``at``."""
    chosen = _dimensions(by)
    span = _period(period)
    require_aware("at", at)
    grouped: dict[tuple[str, ...], list[_Facts]] = {}
    every: list[_Facts] = []
    query = IssueQuery(
        created_from=span.start, created_before=span.end, sort=IssueSort.CREATED, limit=MAX_PAGE
    )
    while True:
        page = find_page(query)
        for issue in page.issues:
            fact = _facts(issue, at)
            every.append(fact)
            for group in _groups(issue, chosen):
                grouped.setdefault(group, []).append(fact)
        if page.next_cursor is None:
            break
        query = attrs.evolve(query, after=page.next_cursor)
    return Report(
        period=span,
        by=chosen,
        at=at,
        rows=tuple(_row(group, grouped[group]) for group in sorted(grouped)),
        total=_row((), every),
    )
