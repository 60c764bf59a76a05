"""The command line and the SLA timeline show each target from its TargetState, the same way.

Met, missed, running, paused short of the deadline, breached and then paused,
and an agreement without a resolution target: one line per target in
``show``, two cells per target in ``issues``, one line per target in the
timeline's text, and one deadline line per target in its picture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from issuecore import Action, Actor, Issue, ServiceLevelAgreement, SlaTarget
from issuecore._sla.tracking import follow, start_sla
from issuecore._timeline import build_timeline, render_svg, render_text
from issuecore._workflow import DEFAULT_WORKFLOW, open_issue
from issuecore.cli._views import Stamps, remaining_cells, target_line
from issuecore.config import Config

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
MICRO = timedelta(microseconds=1)
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H), "Low": SlaTarget(4 * H)},
    default_priority="Medium",
    default=True,
)
CONFIG = Config(agreements=(STANDARD,), timezone="UTC")
STAMP = Stamps(CONFIG)


def opened(priority: str | None = None) -> Issue:
    change = open_issue(
        number="ISS-2026-00001", subject="VPN", raised_by="a@b.test", at=START, priority=priority
    )
    return start_sla(change, [STANDARD]).issue


def act(issue: Issue, action: str, at: datetime) -> Issue:
    change = DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=Actor.agent("ben"))
    return follow(change, STANDARD, action=action).issue


def lines(issue: Issue, now: datetime) -> list[str]:
    assert issue.sla is not None
    return [target_line(CONFIG, STAMP, issue.sla, state, now) for state in issue.sla.targets]


def cells(issue: Issue, now: datetime) -> list[tuple[str, str]]:
    assert issue.sla is not None
    return [remaining_cells(CONFIG, STAMP, issue, state.name, now) for state in issue.sla.targets]


def text(issue: Issue, now: datetime) -> str:
    return render_text(build_timeline(issue, STANDARD, now=now, zone="UTC"))


def test_running_targets_show_their_deadlines_and_time_left() -> None:
    issue = opened()
    now = START + H
    assert lines(issue, now) == [
        "response     target 2h: due 2026-03-02 11:00, left 1h business, 1h calendar",
        "resolution   target 8h: due 2026-03-02 17:00, left 7h business, 7h calendar",
    ]
    assert cells(issue, now) == [("2026-03-02 11:00", "1h"), ("2026-03-02 17:00", "7h")]
    timeline = text(issue, now)
    assert "response due 2026-03-02 11:00 UTC (target 2h): open" in timeline
    assert "resolution due 2026-03-02 17:00 UTC (target 8h): open" in timeline


def test_a_reply_at_the_deadline_is_met_and_one_microsecond_later_missed() -> None:
    on_time = act(opened(), Action.AGENT_REPLY, START + 2 * H)
    late = act(opened(), Action.AGENT_REPLY, START + 2 * H + MICRO)
    now = START + 3 * H
    assert lines(on_time, now)[0] == "response     target 2h: met at 2026-03-02 11:00"
    assert lines(late, now)[0] == "response     target 2h: missed at 2026-03-02 11:00"
    assert cells(on_time, now)[0] == ("met", "-")
    assert cells(late, now)[0] == ("missed", "-")
    assert "response (target 2h, due 2026-03-02 11:00 UTC): met at" in text(on_time, now)
    assert "response (target 2h, due 2026-03-02 11:00 UTC): MISSED at" in text(late, now)


def test_a_paused_target_short_of_its_deadline_has_no_deadline_to_show() -> None:
    issue = act(opened(), Action.HOLD, START + H)
    now = START + 5 * H
    assert lines(issue, now) == [
        "response     target 2h: paused (deadline unknown), left 1h business",
        "resolution   target 8h: paused (deadline unknown), left 7h business",
    ]
    assert cells(issue, now) == [("paused", "1h"), ("paused", "7h")]
    assert "response due unknown while paused (target 2h): open" in text(issue, now)
    assert 'id="deadline-response"' not in render_svg(
        build_timeline(issue, STANDARD, now=now, zone="UTC")
    )


def test_a_target_breached_before_a_pause_shows_the_deadline_it_missed() -> None:
    issue = act(opened(), Action.HOLD, START + 3 * H)
    now = START + 4 * H
    assert lines(issue, now)[0] == (
        "response     target 2h: due 2026-03-02 11:00, left -1h business"
    )
    assert "response due 2026-03-02 11:00 UTC (target 2h): BREACHED" in text(issue, now)
    picture = render_svg(build_timeline(issue, STANDARD, now=now, zone="UTC"))
    assert 'class="breach response"' in picture
    assert 'class="breach resolution"' not in picture


@pytest.mark.parametrize("resolved", [False, True])
def test_an_agreement_without_a_resolution_target_says_so(resolved: bool) -> None:
    issue = opened(priority="Low")
    now = START + H
    if resolved:
        issue = act(issue, Action.RESOLVE, now)
    assert lines(issue, now)[1] == "resolution   no target"
    assert cells(issue, now)[1] == ("none", "-")
    assert "resolution: no target" in text(issue, now)
    picture = render_svg(build_timeline(issue, STANDARD, now=now, zone="UTC"))
    assert "no resolution target" in picture
    assert 'id="deadline-resolution"' not in picture
