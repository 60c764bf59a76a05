"""Turning issues and reports into lines for a terminal, and into JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from issuecore import Issue, SlaClock, SlaTargetName, TargetState, TargetView, ThreadEntry
from issuecore._sla.view import target_view
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


def _target_view(
    config: Config, clock: SlaClock, state: TargetState, now: datetime
) -> TargetView | None:
    """Return target ``state`` read at ``now``, on its agreement's calendar if still configured."""
    agreement = config.agreement(clock.agreement)
    calendar = None if agreement is None else agreement.business_time
    return target_view(clock, state, calendar, at=now)


def remaining_cells(
    config: Config, stamp: Stamps, issue: Issue, which: SlaTargetName, now: datetime
) -> tuple[str, str]:
    """Return the (deadline, business time left) cells of ``which`` target of ``issue``."""
    clock = issue.sla
    if clock is None:
        return "-", "-"
    view = _target_view(config, clock, clock.target_state(which), now)
    if view is None:
        return "none", "-"
    if view.done_at is not None:
        return ("missed" if view.met is False else "met"), "-"
    left = "?" if view.remaining_business is None else hours(view.remaining_business)
    if view.due_by is None:
        return "paused", left
    return stamp(view.due_by), left


def target_line(
    config: Config, stamp: Stamps, clock: SlaClock, state: TargetState, now: datetime
) -> str:
    """Return the line describing target ``state`` of ``clock``: due, left, met or missed."""
    label = f"{state.name:<12}"
    view = _target_view(config, clock, state, now)
    if view is None:
        return f"{label} no target"
    if view.done_at is not None:
        verdict = "missed" if view.met is False else "met"
        return f"{label} target {hours(view.target)}: {verdict} at {stamp(view.done_at)}"
    due = "paused (deadline unknown)" if view.due_by is None else f"due {stamp(view.due_by)}"
    parts = [f"{label} target {hours(view.target)}: {due}"]
    if view.remaining_business is not None:
        parts.append(f"left {hours(view.remaining_business)} business")
        if view.remaining_calendar is not None:
            parts.append(f"{format_duration(view.remaining_calendar)} calendar")
    return ", ".join(parts)


def next_deadline(issue: Issue) -> datetime | None:
    """Return the earliest running deadline of ``issue``, or ``None``."""
    clock = issue.sla
    if clock is None:
        return None
    return min((state.due_by for state in clock.targets if state.due_by), default=None)


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def target_json(
    config: Config, clock: SlaClock, state: TargetState, now: datetime
) -> dict[str, Any]:
    """Return target ``state`` of ``clock`` as a JSON object."""
    view = _target_view(config, clock, state, now)
    done = view is not None and view.done_at is not None
    return {
        "target_seconds": _seconds(state.target),
        "due": _instant(state.due_by) if not done else None,
        "done_at": _instant(state.done_at),
        "met": state.met if done else None,
        "business_seconds_left": None if view is None else _seconds(view.remaining_business),
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
            **{state.name: target_json(config, clock, state, now) for state in clock.targets},
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
