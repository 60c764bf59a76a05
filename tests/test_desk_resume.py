"""An agent takes an issue off hold or out of Waiting for Reply; the SLA clock runs again then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from issuecore import (
    Action,
    AgreementStatus,
    DeskSettings,
    HelpDesk,
    InvalidTransitionError,
    ServiceLevelAgreement,
    SlaTarget,
    Status,
)
from issuecore._workflow import DEFAULT_WORKFLOW
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from stores import fresh_store

H = timedelta(hours=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
AGENT = "ben"
AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=2 * H, resolution=10 * H)},
    default_priority="Medium",
    default=True,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def desk(store: Store, clock: FakeClock) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=clock,
        agreements=(AGREEMENT,),
        settings=DeskSettings(support_address="support@example.com"),
    )


def _opened(desk: HelpDesk) -> str:
    return desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="Help").number


def test_the_default_workflow_resumes_from_on_hold_and_waiting_for_reply_only() -> None:
    sources = {source for (source, action) in DEFAULT_WORKFLOW.table if action == Action.RESUME}
    assert sources == {Status.ON_HOLD, Status.WAITING_FOR_REPLY}
    assert DEFAULT_WORKFLOW.target(Status.ON_HOLD, Action.RESUME) == Status.OPEN
    assert DEFAULT_WORKFLOW.target(Status.WAITING_FOR_REPLY, Action.RESUME) == Status.OPEN


def test_an_agent_resumes_an_issue_from_on_hold(desk: HelpDesk, clock: FakeClock) -> None:
    number = _opened(desk)
    clock.advance(H)
    desk.hold(number, by=AGENT, reason="waiting on the vendor")
    clock.advance(5 * H)  # paused: none of this counts
    resumed = desk.resume(number, by=AGENT, reason="the vendor answered")
    assert resumed.status == Status.OPEN
    assert resumed.history[-1].action == "resume"
    assert resumed.history[-1].reason == "the vendor answered"
    assert resumed.sla is not None
    assert resumed.sla.status(clock.now()) is AgreementStatus.FIRST_RESPONSE_DUE
    # One hour was consumed before the hold, so one hour of the response target is left.
    assert resumed.sla.response_by == clock.now() + H
    assert resumed.sla.resolution_by == clock.now() + 9 * H


def test_an_agent_resumes_an_issue_from_waiting_for_reply(desk: HelpDesk, clock: FakeClock) -> None:
    number = _opened(desk)
    clock.advance(H)
    desk.reply(number, body="Can you send a photo?", author=AGENT)
    clock.advance(3 * H)
    resumed = desk.resume(number, by=AGENT, reason="the customer called")
    assert resumed.status == Status.OPEN
    assert resumed.sla is not None
    assert resumed.sla.response_met is True
    assert resumed.sla.status(clock.now()) is AgreementStatus.RESOLUTION_DUE
    assert resumed.sla.resolution_by == clock.now() + 9 * H


def test_resuming_an_open_issue_is_refused_and_changes_nothing(desk: HelpDesk) -> None:
    number = _opened(desk)
    before = desk.get(number)
    with pytest.raises(InvalidTransitionError, match="cannot resume"):
        desk.resume(number, by=AGENT)
    assert desk.get(number) == before


def test_resuming_a_closed_issue_is_refused(desk: HelpDesk) -> None:
    number = _opened(desk)
    desk.close(number, by=AGENT)
    with pytest.raises(InvalidTransitionError, match="allowed from Closed"):
        desk.resume(number, by=AGENT)
