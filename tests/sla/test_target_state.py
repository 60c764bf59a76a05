"""Each SLA target of an issue is one TargetState: ``issue.sla.response``, ``.resolution``.

The cases run through the desk on every store, so the state read back is the
state the store kept: met, breached, paused, without a resolution target, done
at an instant, and each deadline exactly on its edge (an event at the due
instant meets it; one microsecond later breaches it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from issuecore import (
    DeskSettings,
    HelpDesk,
    ServiceLevelAgreement,
    SlaBreached,
    SlaTarget,
    SlaTargetName,
    TargetState,
    TargetStatus,
)
from issuecore.testing import FakeClock, RecordingEventSink, RecordingMailer
from stores import STORE_KINDS, fresh_store

H = timedelta(hours=1)
MICRO = timedelta(microseconds=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")  # a Monday
OFFICE = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H), "Low": SlaTarget(4 * H)},
    default_priority="Medium",
    default=True,
)


class Desk:
    def __init__(self, desk: HelpDesk, clock: FakeClock, events: RecordingEventSink) -> None:
        self.desk, self.clock, self.events = desk, clock, events

    def open(self, priority: str | None = None) -> str:
        issue = self.desk.open_issue(
            subject="VPN drops", raised_by="ana@customer.test", body="!", priority=priority
        )
        return issue.number

    def at(self, instant: pendulum.DateTime) -> None:
        self.clock.advance(instant - self.clock.now())

    def breaches(self) -> list[str]:
        return [str(event.target) for event in self.events.events if isinstance(event, SlaBreached)]


@pytest.fixture(params=STORE_KINDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    with fresh_store(request.param, tmp_path) as store:
        clock = FakeClock(START)
        events = RecordingEventSink()
        yield Desk(
            HelpDesk(
                store=store,
                mailer=RecordingMailer(),
                clock=clock,
                agreements=[STANDARD],
                events=events,
                settings=DeskSettings(support_address="support@example.com"),
            ),
            clock,
            events,
        )


def test_a_new_issue_has_two_running_targets_with_their_deadlines(desk: Desk) -> None:
    clock = desk.desk.get(desk.open()).sla
    assert clock is not None
    assert clock.response == TargetState(
        name=SlaTargetName.RESPONSE, target=2 * H, due_by=START + 2 * H
    )
    assert clock.resolution == TargetState(
        name=SlaTargetName.RESOLUTION, target=8 * H, due_by=START + 8 * H
    )
    assert clock.targets == (clock.response, clock.resolution)
    assert (clock.response_by, clock.resolution_by) == (START + 2 * H, START + 8 * H)


def test_a_reply_at_the_due_instant_meets_the_response_target(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + 2 * H)
    desk.desk.reply(number, body="On it.", author="ben")
    clock = desk.desk.get(number).sla
    assert clock is not None
    response = clock.response
    assert (response.done_at, response.met, response.breached) == (START + 2 * H, True, False)
    assert response.business == 2 * H
    assert response.due_by is None  # done: no running deadline
    assert clock.response_by is None
    assert desk.breaches() == []


def test_a_reply_one_microsecond_late_breaches_the_response_target(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + 2 * H + MICRO)
    desk.desk.reply(number, body="Sorry for the wait.", author="ben")
    clock = desk.desk.get(number).sla
    assert clock is not None
    response = clock.response
    assert (response.done_at, response.met, response.breached) == (
        START + 2 * H + MICRO,
        False,
        True,
    )
    assert clock.resolution.breached is False
    assert clock.breached == (SlaTargetName.RESPONSE,)
    assert desk.breaches() == ["response"]


def test_the_sweep_at_the_due_instant_breaches_nothing_and_one_microsecond_later_it_does(
    desk: Desk,
) -> None:
    number = desk.open()
    desk.at(START + 2 * H)
    desk.desk.tick()
    still = desk.desk.get(number).sla
    assert still is not None
    assert still.response.breached is False
    assert desk.breaches() == []
    desk.at(START + 2 * H + MICRO)
    desk.desk.tick()
    swept = desk.desk.get(number).sla
    assert swept is not None
    assert (swept.response.breached, swept.response.done_at, swept.response.met) == (
        True,
        None,
        None,
    )
    assert swept.response.reported == ("breached",)
    assert swept.response.due_by == START + 2 * H  # still running, in the past
    assert desk.breaches() == ["response"]


def test_a_paused_issue_has_no_running_deadline_for_either_target(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + H)
    desk.desk.hold(number, by="ben")
    clock = desk.desk.get(number).sla
    assert clock is not None
    assert [state.due_by for state in clock.targets] == [None, None]
    assert (clock.response_by, clock.resolution_by) == (None, None)
    assert [state.done_at for state in clock.targets] == [None, None]
    view = desk.desk.sla_view(number, at=START + 3 * H)
    assert view is not None
    assert [target.status for target in view.targets] == [TargetStatus.PAUSED] * 2
    assert view.response.remaining_business == H


def test_a_target_breached_before_a_pause_has_no_running_deadline_while_paused(
    desk: Desk,
) -> None:
    number = desk.open()
    desk.at(START + 3 * H)
    desk.desk.hold(number, by="ben")
    clock = desk.desk.get(number).sla
    assert clock is not None
    assert (clock.response.breached, clock.response.due_by, clock.response_by) == (True, None, None)
    assert desk.breaches() == ["response"]
    view = desk.desk.sla_view(number)
    assert view is not None
    assert view.response.due_by == START + 2 * H  # the deadline it is judged against
    assert view.response.status is TargetStatus.BREACHED


def test_an_issue_without_a_resolution_target_keeps_when_it_was_resolved(desk: Desk) -> None:
    number = desk.open(priority="Low")
    clock = desk.desk.get(number).sla
    assert clock is not None
    assert clock.resolution == TargetState(name=SlaTargetName.RESOLUTION, target=None)
    assert clock.resolution_by is None
    desk.at(START + 30 * H)
    desk.desk.resolve(number, by="ben")
    resolved = desk.desk.get(number).sla
    assert resolved is not None
    resolution = resolved.resolution
    assert (resolution.target, resolution.done_at, resolution.met) == (None, START + 30 * H, None)
    assert resolution.breached is False
    assert resolved.metrics().resolution_elapsed == 30 * H
    view = desk.desk.sla_view(number)
    assert view is not None
    assert view.resolution is None


def test_resolving_on_time_records_when_and_reopening_forgets_it(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + 8 * H)
    desk.desk.resolve(number, by="ben")
    resolved = desk.desk.get(number).sla
    assert resolved is not None
    assert (resolved.resolution.done_at, resolved.resolution.met) == (START + 8 * H, True)
    assert resolved.resolution.business == 8 * H
    desk.at(START + 9 * H)
    desk.desk.reopen(number, by="ben")
    reopened = desk.desk.get(number).sla
    assert reopened is not None
    resolution = reopened.resolution
    assert (resolution.done_at, resolution.met, resolution.business) == (None, None, None)
    # All eight hours were consumed before resolving: the deadline lies in the past.
    assert resolution.due_by == START + 8 * H


def test_resolving_one_microsecond_late_breaches_the_resolution_target(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + 8 * H + MICRO)
    desk.desk.resolve(number, by="ben")
    clock = desk.desk.get(number).sla
    assert clock is not None
    assert (clock.resolution.met, clock.resolution.breached) == (False, True)
    assert "resolution" in desk.breaches()


def test_the_summary_at_an_instant_reads_the_same_targets(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + H)
    clock = desk.desk.get(number).sla
    view = desk.desk.sla_view(number)
    assert clock is not None
    assert view is not None
    for state, target in zip(clock.targets, view.targets, strict=True):
        assert (target.name, target.target, target.due_by) == (
            state.name,
            state.target,
            state.due_by,
        )
        assert target.remaining_calendar == state.due_by - desk.clock.now()  # type: ignore[operator]


def test_the_clock_read_without_a_desk_gives_the_desks_summary(desk: Desk) -> None:
    number = desk.open()
    desk.at(START + H)
    desk.desk.reply(number, body="On it.", author="ben")
    at = START + 30 * H
    clock = desk.desk.get(number).sla
    assert clock is not None
    assert clock.view(STANDARD, at=at) == desk.desk.sla_view(number, at=at)
