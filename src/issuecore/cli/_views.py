"""Turning issues and reports into lines for a terminal, and into JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from issuecore import Issue, ThreadEntry
from issuecore._sla.clock import RESOLUTION, RESPONSE, SlaClock
from issuecore.config import Config, format_duration

# C0 and C1 controls, DEL, and the characters that reorder or hide text on a terminal.
_UNSAFE: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_UNSAFE_LINE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)

_UNSAFE_IN_JSON: Final = re.compile(
    "[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return ``text`` (one line) with every control character shown as an escape like ``\\x1b``.

    Mail is written by strangers: an ``ESC`` would let them clear the
    operator's screen, retitle the window or hide text, so none reaches it.
    """
    return _UNSAFE_LINE.sub(_escaped, text)


def printable_lines(text: str) -> list[str]:
    """Return the lines of ``text`` (a message body), each with control characters escaped."""
    return [_UNSAFE.sub(_escaped, line) for line in text.splitlines()]


def json_text(value: object) -> str:
    """Return ``value`` as indented JSON whose strings hold no character a terminal obeys.

    JSON escapes C0 controls itself; the C1 controls, DEL and the characters
    that reorder text are written as ``\\u`` escapes too (still valid JSON).
    """
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def cut(text: str, width: int) -> str:
    """Return ``text`` made printable and cut to ``width`` characters with an ellipsis."""
    shown = printable(text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def hours(delta: timedelta) -> str:
    """Return business time in hours and minutes (a "day" of it is not 24 hours)."""
    return format_duration(delta, days=False)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the lines of a plain table with columns as wide as their widest cell."""
    widths = [max(_width(row[index]) for row in (header, *rows)) for index in range(len(header))]
    return [
        "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in (header, *rows)
    ]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class Stamps:
    """Shows instants in the configuration's display zone."""

    def __init__(self, config: Config) -> None:
        import zoneinfo

        self.config = config
        self.zone_name = config.display_timezone()
        self.zone = zoneinfo.ZoneInfo(self.zone_name)

    def __call__(self, at: datetime | None) -> str:
        if at is None:
            return "-"
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")


def remaining_cells(
    config: Config, stamp: Stamps, issue: Issue, which: str, now: datetime
) -> tuple[str, str]:
    """Return the (deadline, business time left) cells of ``which`` target of ``issue``."""
    clock = issue.sla
    if clock is None:
        return "-", "-"
    if clock.target_of(which) is None:
        return "none", "-"
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    if done_at is not None:
        return ("met" if met is not False else "missed"), "-"
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    agreement = config.agreement(clock.agreement)
    if agreement is None:
        return stamp(deadline), "?"
    remaining = clock.remaining(agreement.business_time, which, now)
    left = "-" if remaining is None else hours(remaining.business)
    if deadline is None:
        return "paused", left
    return stamp(deadline), left


def target_line(config: Config, stamp: Stamps, clock: SlaClock, which: str, now: datetime) -> str:
    """Return the line describing ``which`` target: due, left, met or missed."""
    target = clock.target_of(which)
    label = f"{which:<12}"
    if target is None:
        return f"{label} no target"
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    if done_at is not None:
        verdict = "met" if met is not False else "missed"
        return f"{label} target {hours(target)}: {verdict} at {stamp(done_at)}"
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    agreement = config.agreement(clock.agreement)
    remaining = None if agreement is None else clock.remaining(agreement.business_time, which, now)
    due = "paused (deadline unknown)" if deadline is None else f"due {stamp(deadline)}"
    parts = [f"{label} target {hours(target)}: {due}"]
    if remaining is not None:
        parts.append(f"left {hours(remaining.business)} business")
        if remaining.calendar is not None:
            parts.append(f"{format_duration(remaining.calendar)} calendar")
    return ", ".join(parts)


def next_deadline(issue: Issue) -> datetime | None:
    """Return the earliest running deadline of ``issue``, or ``None``."""
    clock = issue.sla
    if clock is None:
        return None
    running = []
    if clock.responded_at is None and clock.response_by is not None:
        running.append(clock.response_by)
    if clock.resolved_at is None and clock.resolution_by is not None:
        running.append(clock.resolution_by)
    return min(running, default=None)


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def target_json(config: Config, clock: SlaClock, which: str, now: datetime) -> dict[str, Any]:
    """Return ``which`` target of ``clock`` as a JSON object."""
    target = clock.target_of(which)
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    agreement = config.agreement(clock.agreement)
    remaining = None
    if target is not None and done_at is None and agreement is not None:
        left = clock.remaining(agreement.business_time, which, now)
        remaining = None if left is None else left.business
    return {
        "target_seconds": _seconds(target),
        "due": _instant(deadline) if done_at is None else None,
        "done_at": _instant(done_at),
        "met": met if done_at is not None else None,
        "business_seconds_left": _seconds(remaining),
    }


def issue_json(config: Config, issue: Issue, now: datetime) -> dict[str, Any]:
    """Return the fields of ``issue`` and its SLA state at ``now`` as a JSON object."""
    clock = issue.sla
    sla: dict[str, Any] | None = None
    if clock is not None:
        sla = {
            "agreement": clock.agreement,
            "priority": clock.priority,
            "status": str(clock.status(now)),
            RESPONSE: target_json(config, clock, RESPONSE, now),
            RESOLUTION: target_json(config, clock, RESOLUTION, now),
        }
    return {
        "number": issue.number,
        "subject": issue.subject,
        "status": str(issue.status),
        "status_since": _instant(issue.status_since),
        "priority": issue.priority,
        "raised_by": issue.raised_by,
        "created_at": _instant(issue.created_at),
        "updated_at": _instant(issue.updated_at),
        "assignees": list(issue.assignees),
        "participants": list(issue.participants),
        "follows_up": issue.follows_up,
        "next_deadline": _instant(next_deadline(issue)),
        "sla": sla,
    }


def entry_json(entry: ThreadEntry) -> dict[str, Any]:
    """Return one thread entry as a JSON object (its text as the desk shows it)."""
    return {
        "at": _instant(entry.at),
        "written_at": _instant(entry.written_at),
        "kind": str(entry.kind),
        "author": entry.author,
        "subject": entry.subject,
        "text": entry.display_text,
        "unverified": entry.unverified,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in entry.attachments
        ],
    }
