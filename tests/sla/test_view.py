"""The per-target SLA view: state, deadline, done, met, consumed and remaining time per target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from issuecore import (
    Action,
    Actor,
    DeskSettings,
    HelpDesk,
    ServiceLevelAgreement,
    SlaTarget,
    TargetState,
)
from issuecore._model import Issue
from issuecore._sla.tracking import follow, start_sla
from issuecore._sla.view import sla_view
from issuecore._workflow import DEFAULT_WORKFLOW, Change, open_issue
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.testing import FakeClock, RecordingMailer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
TICK = timedelta(microseconds=1)
AGENT = Actor.agent("ben")
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H), "Low": SlaTarget(4 * H)},
    default_priority="Medium",
    default=True,
)


def opened(priority: str | None = None) -> Issue:
    change = open_issue(
        number="ISS-2026-00001", subject="s", raised_by="a@b.test", at=T0, priority=priority
    )
    return start_sla(change, [STANDARD]).issue


def act(issue: Issue, action: str, at: datetime) -> Issue:
    change: Change = DEFAULT_WORKFLOW.apply(issue, action, at=at, actor=AGENT)
    return follow(change, STANDARD, action=action).issue


def test_a_new_issue_has_both_targets_running() -> None:
    view = sla_view(opened().sla, STANDARD, at=T0 + H)  # type: ignore[arg-type]
    assert [target.name for target in view.targets] == ["response", "resolution"]
    assert view.response.state is TargetState.RUNNING
    assert view.response.due_by == T0 + 2 * H
    assert view.response.consumed == H
    assert view.response.remaining_business == H
    assert view.response.remaining_calendar == H
    assert (view.response.done_at, view.response.met) == (None, None)
    assert view.resolution is not None
    assert view.resolution.due_by == T0 + 8 * H


def test_a_target_is_running_at_its_deadline_and_breached_just_after() -> None:
    clock = opened().sla
    assert clock is not None
    at_deadline = sla_view(clock, STANDARD, at=T0 + 2 * H)
    assert at_deadline.response.state is TargetState.RUNNING
    assert at_deadline.response.remaining_business == timedelta(0)
    after = sla_view(clock, STANDARD, at=T0 + 2 * H + TICK)
    assert after.response.state is TargetState.BREACHED
    assert after.response.remaining_business == -TICK


def test_a_reply_in_time_is_met_and_a_late_one_breached() -> None:
    on_time = act(opened(), Action.AGENT_REPLY, T0 + 2 * H)
    view = sla_view(on_time.sla, STANDARD, at=T0 + 3 * H)  # type: ignore[arg-type]
    assert (view.response.state, view.response.met) == (TargetState.MET, True)
    assert view.response.done_at == T0 + 2 * H
    assert view.response.consumed == 2 * H
    assert view.response.remaining_business is None
    late = act(opened(), Action.AGENT_REPLY, T0 + 2 * H + TICK)
    view = sla_view(late.sla, STANDARD, at=T0 + 3 * H)  # type: ignore[arg-type]
    assert (view.response.state, view.response.met) == (TargetState.BREACHED, False)


def test_a_paused_target_has_no_deadline_and_keeps_what_is_left() -> None:
    held = act(opened(), Action.HOLD, T0 + H)
    view = sla_view(held.sla, STANDARD, at=T0 + 30 * H)  # type: ignore[arg-type]
    assert view.response.state is TargetState.PAUSED
    assert view.response.due_by is None
    assert view.response.remaining_business == H
    assert view.response.remaining_calendar is None


def test_a_priority_without_a_resolution_target_has_no_resolution_view() -> None:
    view = sla_view(opened("Low").sla, STANDARD, at=T0)  # type: ignore[arg-type]
    assert view.resolution is None
    assert view.targets == (view.response,)


def test_the_desk_gives_the_view_at_now_or_at_an_instant(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=clock,
            agreements=(STANDARD,),
            settings=DeskSettings(support_address="support@example.com"),
        )
        number = desk.open_issue(subject="s", raised_by="a@b.test", body="b").number
        clock.advance(H)
        now = desk.sla_view(number)
        assert now is not None
        assert now.at == T0 + H
        assert now.response.remaining_business == H
        later = desk.sla_view(number, at=T0 + 3 * H)
        assert later is not None
        assert later.response.state is TargetState.BREACHED


def test_an_issue_without_agreement_has_no_view() -> None:
    from issuecore.adapters.memory import InMemoryStore

    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=FakeClock(T0),
        settings=DeskSettings(support_address="support@example.com"),
    )
    number = desk.open_issue(subject="s", raised_by="a@b.test", body="b").number
    assert desk.sla_view(number) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        desk.sla_view(number, at=datetime(2026, 3, 2, 9, 0))
