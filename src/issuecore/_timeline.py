"""The SLA timeline of one issue, as an SVG picture written by hand or as plain text.

The picture has a time axis with ticks, the business windows of the
agreement's calendar shaded, the stretches during which the clock ran and the
pauses between them, vertical lines at the response and resolution
deadlines, markers at the first response and the resolution, and breaches in
red. Nothing here reads the system clock: ``now`` is given.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final
from xml.sax.saxutils import escape as _escape_xml
from xml.sax.saxutils import quoteattr as _quote_xml

import attrs

from issuecore._model import Issue
from issuecore._sla.agreement import ServiceLevelAgreement
from issuecore._sla.calendar import BusinessCalendar
from issuecore._sla.clock import RESOLUTION, RESPONSE, SlaClock, SlaRole
from issuecore.charts import xml_safe
from issuecore.config import format_duration


def escape(text: str) -> str:
    """Return ``text`` escaped for XML, without the characters XML 1.0 cannot hold."""
    return _escape_xml(xml_safe(text))


def quoteattr(text: str) -> str:
    """Return ``text`` as a quoted XML attribute value, XML 1.0 characters only."""
    return _quote_xml(xml_safe(text))


__all__ = ["Stretch", "Timeline", "build_timeline", "render_svg", "render_text"]

_WIDTH: Final = 960
_LEFT: Final = 130
_RIGHT: Final = 30
_TICK_STEPS: Final = tuple(
    timedelta(minutes=m) for m in (15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200)
)
_MAX_WINDOWS: Final = 400
_RED: Final = "#dc2626"
_GREEN: Final = "#16a34a"


@attrs.frozen(kw_only=True)
class Stretch:
    """A span of the clock: ``kind`` is ``"running"``, ``"paused"`` or ``"resolved"``."""

    kind: str
    start: datetime
    end: datetime


@attrs.frozen(kw_only=True)
class Timeline:
    """Everything the picture shows, computed once from the issue's clock."""

    number: str
    subject: str
    agreement: str
    priority: str
    status: str
    start: datetime
    end: datetime
    now: datetime
    zone: str
    windows: tuple[tuple[datetime, datetime], ...]
    always_open: bool
    stretches: tuple[Stretch, ...]
    response_due: datetime | None
    resolution_due: datetime | None
    responded_at: datetime | None
    response_met: bool | None
    resolved_at: datetime | None
    resolution_met: bool | None
    breaches: tuple[tuple[str, datetime, datetime], ...]
    response_target: timedelta
    resolution_target: timedelta | None
    consumed: timedelta


def _plain(at: datetime) -> datetime:
    """Return ``at`` as a standard-library datetime in UTC, whatever library made it."""
    utc = at.astimezone(UTC)
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def _maybe_plain(at: datetime | None) -> datetime | None:
    return None if at is None else _plain(at)


def build_timeline(
    issue: Issue, agreement: ServiceLevelAgreement | None, *, now: datetime, zone: str
) -> Timeline:
    """Return the timeline of ``issue``'s SLA clock as it stands at ``now``."""
    clock = issue.sla
    if clock is None:
        raise ValueError(f"{issue.number} has no SLA")
    now = _plain(now)
    calendar = agreement.business_time if agreement is not None else None
    response_due = clock.response_by
    resolution_due = clock.resolution_by
    if calendar is not None:
        response_due = clock.deadline_of(calendar, RESPONSE)
        resolution_due = clock.deadline_of(calendar, RESOLUTION)
    response_due, resolution_due = _maybe_plain(response_due), _maybe_plain(resolution_due)
    responded_at, resolved_at = _maybe_plain(clock.responded_at), _maybe_plain(clock.resolved_at)
    instants = [_plain(clock.started_at), now]
    instants += [
        t for t in (response_due, resolution_due, responded_at, resolved_at) if t is not None
    ]
    first, last = min(instants), max(instants)
    span = max(last - first, timedelta(hours=1))
    start, end = first - span / 20, last + span / 20
    stretches = tuple(_stretches(issue, clock, agreement, now))
    breaches = []
    for which, due, done_at in (
        (RESPONSE, response_due, responded_at),
        (RESOLUTION, resolution_due, resolved_at),
    ):
        if due is None:
            continue
        until = done_at if done_at is not None else now
        if until > due:
            breaches.append((which, due, until))
    calendar_object = agreement.calendar if agreement is not None else None
    windows: tuple[tuple[datetime, datetime], ...] = ()
    if isinstance(calendar_object, BusinessCalendar):
        windows = tuple(_windows(calendar_object, start, end))
    return Timeline(
        number=issue.number,
        subject=issue.subject,
        agreement=clock.agreement,
        priority=clock.priority,
        status=str(clock.status(now)),
        start=start,
        end=end,
        now=now,
        zone=zone,
        windows=windows,
        always_open=calendar_object is None,
        stretches=stretches,
        response_due=response_due,
        resolution_due=resolution_due,
        responded_at=responded_at,
        response_met=clock.response_met,
        resolved_at=resolved_at,
        resolution_met=clock.resolution_met,
        breaches=tuple(breaches),
        response_target=clock.response_target,
        resolution_target=clock.resolution_target,
        consumed=clock.consumed_at(calendar, now) if calendar is not None else clock.consumed,
    )


def _stretches(
    issue: Issue, clock: SlaClock, agreement: ServiceLevelAgreement | None, now: datetime
) -> Iterator[Stretch]:
    running = [(_plain(p.start), _plain(p.end)) for p in clock.periods]
    if clock.running_since is not None and clock.running_since < now:
        running.append((_plain(clock.running_since), now))
    previous_end = _plain(clock.started_at)
    for index, (start, end) in enumerate(running):
        if start > previous_end and index > 0:
            yield from _gap(issue, agreement, previous_end, start)
        yield Stretch(kind="running", start=start, end=end)
        previous_end = end
    if clock.running_since is None and previous_end < now:
        yield from _gap(issue, agreement, previous_end, now)


def _gap(
    issue: Issue, agreement: ServiceLevelAgreement | None, start: datetime, end: datetime
) -> Iterator[Stretch]:
    """Yield the stretches of a stop of the clock, cut where the status changed."""
    cuts = sorted({_plain(e.at) for e in issue.history if start < e.at < end})
    bounds = [start, *cuts, end]
    for low, high in itertools.pairwise(bounds):
        yield Stretch(kind=_gap_kind(issue, agreement, low), start=low, end=high)


def _gap_kind(issue: Issue, agreement: ServiceLevelAgreement | None, at: datetime) -> str:
    status = issue.status
    for entry in issue.history:
        if entry.at <= at:
            status = entry.to_status
    if agreement is not None and agreement.role(status) is SlaRole.FULFILLED:
        return "resolved"
    return "paused"


def _windows(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Yield the open windows of ``calendar`` overlapping ``[start, end)``."""
    cursor = start
    for _ in range(_MAX_WINDOWS):
        if cursor >= end:
            return
        opened = _plain(calendar.next_open(cursor))
        if opened >= end:
            return
        closed = _window_end(calendar, opened, end)
        yield max(opened, start), closed
        cursor = closed


def _window_end(calendar: BusinessCalendar, opened: datetime, limit: datetime) -> datetime:
    """Return where the window opening at ``opened`` closes (at most ``limit``)."""

    def open_throughout(until: datetime) -> bool:
        return calendar.between(opened, until) == datetime.__sub__(until, opened)

    if open_throughout(limit):
        return limit
    low, high = timedelta(0), limit - opened  # open for ``low``, not for ``high``
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if open_throughout(opened + middle):
            low = middle
        else:
            high = middle
    # The window closes within the last second searched; a closed gap is longer than that,
    # so the open time up to ``high`` is exactly the window, and ``add`` finds its end.
    return _plain(calendar.add(opened, calendar.between(opened, opened + high)))


# --- drawing ------------------------------------------------------------------------


def _hours(delta: timedelta) -> str:
    return format_duration(delta, days=False)


def _local(at: datetime, zone: str) -> datetime:
    return at.astimezone(zoneinfo.ZoneInfo(zone))


def _stamp(at: datetime, zone: str) -> str:
    return _local(at, zone).strftime("%Y-%m-%d %H:%M %Z")


def _ticks(start: datetime, end: datetime, zone: str) -> list[datetime]:
    span = end - start
    step = next((s for s in _TICK_STEPS if span / s <= 12), _TICK_STEPS[-1])
    first = _local(start, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    tick = first
    while tick <= end:
        if tick >= start:
            ticks.append(tick)
        tick = (tick + step) if step < timedelta(days=1) else _next_days(tick, step.days)
    return ticks


def _next_days(tick: datetime, days: int) -> datetime:
    # Whole days step in local wall time, so ticks stay on midnight across DST.
    naive = tick.replace(tzinfo=None) + timedelta(days=days)
    return naive.replace(tzinfo=tick.tzinfo)


def render_svg(timeline: Timeline) -> str:
    """Return the timeline as a standalone SVG document."""
    t = timeline
    width = _WIDTH - _LEFT - _RIGHT
    total = (t.end - t.start).total_seconds()

    def x(at: datetime) -> float:
        fraction = (at - t.start).total_seconds() / total
        return round(_LEFT + width * min(1.0, max(0.0, fraction)), 2)

    parts: list[str] = []

    def add(element: str, **attributes: object) -> None:
        text = attributes.pop("text", None)
        attrs_text = " ".join(
            f"{name.rstrip('_').replace('_', '-')}={quoteattr(str(value))}"
            for name, value in attributes.items()
        )
        if text is None:
            parts.append(f"<{element} {attrs_text}/>")
        else:
            parts.append(f"<{element} {attrs_text}>{escape(str(text))}</{element}>")

    height = 302
    title = f"{t.number}: {t.subject}"
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="12">'
    )
    parts.append(f"<title>{escape(f'SLA timeline of {title}')}</title>")
    add("rect", x=0, y=0, width=_WIDTH, height=height, fill="white")
    add("text", x=10, y=22, font_size=15, font_weight="bold", text=title[:110])
    summary = (
        f"agreement {t.agreement}, priority {t.priority}: {t.status} at {_stamp(t.now, t.zone)}"
        f"; response target {_hours(t.response_target)}"
        + (
            f", resolution target {_hours(t.resolution_target)}"
            if t.resolution_target is not None
            else ", no resolution target"
        )
        + f"; consumed {_hours(t.consumed)} business time"
    )
    add("text", x=10, y=42, text=summary)

    rows = {"hours": 72, "clock": 120, "breach": 168}
    add("text", x=10, y=rows["hours"] + 14, text="business hours")
    add("text", x=10, y=rows["clock"] + 14, text="SLA clock")
    add("text", x=10, y=rows["breach"] + 11, text="breached")
    add("rect", x=_LEFT, y=rows["hours"], width=width, height=20, fill="#f3f4f6")
    if t.always_open:
        add(
            "rect",
            class_="business-window",
            x=_LEFT,
            y=rows["hours"],
            width=width,
            height=20,
            fill="#bfdbfe",
        )
    for opened, closed in t.windows:
        add(
            "rect",
            class_="business-window",
            x=x(opened),
            y=rows["hours"],
            width=max(0.5, round(x(closed) - x(opened), 2)),
            height=20,
            fill="#bfdbfe",
        )
    colours = {"running": "#2563eb", "paused": "#f59e0b", "resolved": "#86efac"}
    for stretch in t.stretches:
        add(
            "rect",
            class_=f"stretch {stretch.kind}",
            x=x(stretch.start),
            y=rows["clock"],
            width=max(0.5, round(x(stretch.end) - x(stretch.start), 2)),
            height=20,
            fill=colours[stretch.kind],
        )
    for which, breach_start, breach_end in t.breaches:
        add(
            "rect",
            class_=f"breach {which}",
            x=x(breach_start),
            y=rows["breach"],
            width=max(0.5, round(x(breach_end) - x(breach_start), 2)),
            height=14,
            fill=_RED,
        )

    top, bottom = 56, 190
    breached = {which for which, _, _ in t.breaches}
    for which, due, label in (
        (RESPONSE, t.response_due, "response due"),
        (RESOLUTION, t.resolution_due, "resolution due"),
    ):
        if due is None:
            continue
        colour = _RED if which in breached else "#111827"
        add(
            "line",
            id=f"deadline-{which}",
            class_="deadline",
            x1=x(due),
            y1=top,
            x2=x(due),
            y2=bottom,
            stroke=colour,
            stroke_width=2,
            stroke_dasharray="6 3",
        )
        anchor = "end" if x(due) > _LEFT + width * 0.8 else "start"
        offset = -4 if anchor == "end" else 4
        y_label = top + 8 if which == RESPONSE else top + 20
        add(
            "text",
            x=round(x(due) + offset, 2),
            y=y_label,
            fill=colour,
            text_anchor=anchor,
            text=f"{label} {_stamp(due, t.zone)}",
        )
    add(
        "line",
        id="now",
        x1=x(t.now),
        y1=top,
        x2=x(t.now),
        y2=bottom,
        stroke="#6b7280",
        stroke_width=1,
    )
    add("text", x=x(t.now), y=bottom + 10, fill="#6b7280", text_anchor="middle", text="now")
    for which, at, met, shape in (
        (RESPONSE, t.responded_at, t.response_met, "first response"),
        (RESOLUTION, t.resolved_at, t.resolution_met, "resolved"),
    ):
        if at is None:
            continue
        colour = _RED if met is False else _GREEN
        add(
            "circle",
            id=f"marker-{which}",
            class_="marker",
            cx=x(at),
            cy=rows["clock"] + 10,
            r=6,
            fill=colour,
            stroke="white",
            stroke_width=1.5,
        )
        position = x(at)
        anchor = (
            "start" if position < _LEFT + 120 else "end" if position > _WIDTH - 150 else "middle"
        )
        add(
            "text",
            x=position,
            y=rows["clock"] - 5 if which == RESPONSE else rows["clock"] + 34,
            fill=colour,
            text_anchor=anchor,
            text=f"{shape} {_stamp(at, t.zone)}",
        )

    axis = 212
    add("line", x1=_LEFT, y1=axis, x2=_LEFT + width, y2=axis, stroke="#111827", stroke_width=1)
    ticks = _ticks(t.start, t.end, t.zone)
    previous_day = None
    for tick in ticks:
        add("line", class_="tick", x1=x(tick), y1=axis, x2=x(tick), y2=axis + 6, stroke="#111827")
        local = _local(tick, t.zone)
        add("text", x=x(tick), y=axis + 19, text_anchor="middle", text=local.strftime("%H:%M"))
        day = local.date()
        if day != previous_day:
            add(
                "text",
                x=x(tick),
                y=axis + 33,
                text_anchor="middle",
                fill="#374151",
                text=local.strftime("%a %d %b"),
            )
            previous_day = day
    add("text", x=_LEFT + width, y=axis + 47, text_anchor="end", fill="#6b7280", text=t.zone)

    legend = [
        ("#bfdbfe", "business hours"),
        ("#2563eb", "clock running"),
        ("#f59e0b", "paused"),
        ("#86efac", "resolved"),
        (_RED, "breach"),
    ]
    lx = _LEFT
    for colour, label in legend:
        add("rect", x=lx, y=height - 28, width=14, height=14, fill=colour)
        add("text", x=lx + 20, y=height - 17, text=label)
        lx += 140
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_text(timeline: Timeline) -> str:
    """Return the timeline as lines of text, for a terminal."""
    t = timeline
    lines = [
        f"{t.number}  {t.subject}",
        f"agreement {t.agreement}, priority {t.priority}: {t.status} at {_stamp(t.now, t.zone)}",
        f"consumed {_hours(t.consumed)} of business time",
        "",
    ]
    for stretch in t.stretches:
        until = "now" if stretch.end == t.now else _stamp(stretch.end, t.zone)
        length = format_duration(stretch.end - stretch.start)
        lines.append(
            f"  {stretch.kind:<9} {_stamp(stretch.start, t.zone)} -> {until} ({length} elapsed)"
        )
    breached = {which for which, _, _ in t.breaches}
    for which, due, target, at, met in (
        (RESPONSE, t.response_due, t.response_target, t.responded_at, t.response_met),
        (RESOLUTION, t.resolution_due, t.resolution_target, t.resolved_at, t.resolution_met),
    ):
        if target is None:
            lines.append(f"  {which}: no target")
            continue
        if at is not None:
            verdict = "met" if met is not False else "MISSED"
            due_text = "" if due is None else f", due {_stamp(due, t.zone)}"
            lines.append(
                f"  {which} (target {_hours(target)}{due_text}): {verdict} at {_stamp(at, t.zone)}"
            )
            continue
        due_text = "unknown while paused" if due is None else _stamp(due, t.zone)
        verdict = "BREACHED" if which in breached else "open"
        lines.append(f"  {which} due {due_text} (target {_hours(target)}): {verdict}")
    if t.always_open:
        lines.append("  business hours: always open (elapsed time)")
    elif t.windows:
        shown = ", ".join(
            f"{_local(a, t.zone).strftime('%a %d %b %H:%M')}-{_local(b, t.zone).strftime('%H:%M')}"
            for a, b in t.windows[:10]
        )
        more = f" and {len(t.windows) - 10} more" if len(t.windows) > 10 else ""
        lines.append(f"  business hours in view: {shown}{more}")
    return "\n".join(lines) + "\n"
