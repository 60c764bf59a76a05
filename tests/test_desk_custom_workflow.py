"""Agreements take their SLA roles from the workflow; a finished issue raises no SLA event."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuecore import (
    AgreementError,
    DeskSettings,
    HelpDesk,
    ServiceLevelAgreement,
    SlaRole,
    SlaTarget,
    StatusSpec,
    Workflow,
)
from issuecore._model import SlaAtRisk, SlaBreached
from issuecore._workflow import DEFAULT_WORKFLOW
from issuecore.adapters.memory import InMemoryStore
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingEventSink, RecordingMailer

H = timedelta(hours=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")

TRIAGE = Workflow(
    name="triage",
    statuses=[
        StatusSpec(name="New", sla=SlaRole.RUNNING, initial=True),
        StatusSpec(name="Working", sla=SlaRole.RUNNING),
        StatusSpec(name="Parked", sla=SlaRole.PAUSED),
        StatusSpec(name="Fixed", sla=SlaRole.FULFILLED),
        StatusSpec(name="Done", sla=SlaRole.FULFILLED, closed=True),
    ],
    transitions={
        ("New", "take"): "Working",
        ("Working", "park"): "Parked",
        ("Parked", "unpark"): "Working",
        ("Working", "fix"): "Fixed",
        ("Fixed", "finish"): "Done",
        ("New", "finish"): "Done",
        ("Working", "finish"): "Done",
        ("Parked", "finish"): "Done",
        ("Done", "revive"): "Working",
    },
)
ACTIONS = sorted({action for _, action in TRIAGE.table})

# No pause_on/fulfilled_on: the roles come from the workflow.
PLAIN = ServiceLevelAgreement(
    name="Plain",
    targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H)},
    default_priority="Medium",
    default=True,
)


def _desk(
    store: Store | None = None, *, agreements: tuple[ServiceLevelAgreement, ...] = (PLAIN,)
) -> tuple[HelpDesk, FakeClock, RecordingEventSink]:
    clock = FakeClock(START)
    events = RecordingEventSink()
    desk = HelpDesk(
        store=store or InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock,
        agreements=agreements,
        events=events,
        settings=DeskSettings(support_address="support@example.com", workflow=TRIAGE),
    )
    return desk, clock, events


def test_an_agreement_without_roles_takes_them_from_the_workflow() -> None:
    bound = PLAIN.bound_to(TRIAGE)
    assert bound.pause_on == frozenset({"Parked"})
    assert bound.fulfilled_on == frozenset({"Fixed", "Done"})
    assert bound.role("Working") is SlaRole.RUNNING
    assert bound.role("Parked") is SlaRole.PAUSED
    assert bound.role("Done") is SlaRole.FULFILLED


def test_the_default_workflow_gives_the_familiar_roles() -> None:
    bound = PLAIN.bound_to(DEFAULT_WORKFLOW)
    assert bound.pause_on == frozenset({"Waiting for Reply", "On Hold"})
    assert bound.fulfilled_on == frozenset({"Resolved", "Closed"})


def test_explicit_statuses_are_kept_when_the_workflow_has_them() -> None:
    explicit = ServiceLevelAgreement(
        name="Explicit",
        targets={"Medium": SlaTarget(response=2 * H)},
        default_priority="Medium",
        pause_on={"Parked", "Fixed"},
        fulfilled_on={"Done"},
    )
    assert explicit.bound_to(TRIAGE) is explicit


@pytest.mark.parametrize(
    ("pause_on", "fulfilled_on", "named"),
    [
        ({"On Hold"}, {"Done"}, "pause_on names 'On Hold'"),
        ({"Parked"}, {"Closed", "Resolved"}, "fulfilled_on names 'Closed', 'Resolved'"),
    ],
)
def test_the_desk_refuses_an_agreement_naming_a_status_its_workflow_lacks(
    pause_on: set[str], fulfilled_on: set[str], named: str
) -> None:
    wrong = ServiceLevelAgreement(
        name="Wrong",
        targets={"Medium": SlaTarget(response=2 * H)},
        default_priority="Medium",
        pause_on=pause_on,
        fulfilled_on=fulfilled_on,
    )
    with pytest.raises(AgreementError, match=named) as caught:
        _desk(agreements=(wrong,))
    assert "'triage'" in str(caught.value)
    assert "New, Working, Parked, Fixed, Done" in str(caught.value)


def test_a_finished_issue_of_a_custom_workflow_raises_no_sla_event() -> None:
    desk, clock, events = _desk()
    number = desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="b").number
    clock.advance(H)
    done = desk.act(number, "finish", by="ben")
    assert done.sla is not None
    assert done.sla.resolution.done_at == clock.now()
    assert done.sla.resolution.met is True
    clock.advance(30 * 24 * H)
    desk.tick()
    assert events.of_type(SlaBreached) == []
    assert desk.get(number).sla.response_by is None  # type: ignore[union-attr]


def test_a_paused_status_of_a_custom_workflow_stops_the_clock() -> None:
    desk, clock, events = _desk()
    number = desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="b").number
    desk.act(number, "take", by="ben")
    clock.advance(H)
    desk.act(number, "park", by="ben")
    clock.advance(10 * H)
    desk.tick()
    assert events.of_type(SlaBreached) == []
    working = desk.act(number, "unpark", by="ben")
    assert working.sla is not None
    assert working.sla.response_by == clock.now() + H


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=0, max_value=20)), max_size=12
    )
)
def test_no_sla_event_is_raised_for_an_issue_that_is_finished(
    steps: list[tuple[str, int]],
) -> None:
    desk, clock, events = _desk()
    number = desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="b").number
    for action, hours in steps:
        if TRIAGE.target(desk.get(number).status, action) is not None:
            desk.act(number, action, by="ben")
        clock.advance(hours * H)
        desk.tick()
    if TRIAGE.target(desk.get(number).status, "finish") is not None:
        desk.act(number, "finish", by="ben")
    if desk.get(number).status not in TRIAGE.closed | {"Fixed"}:
        return
    finished_at = clock.now()
    clock.advance(60 * 24 * H)
    desk.tick()
    late = [
        event
        for event in events.events
        if isinstance(event, SlaBreached | SlaAtRisk) and event.at > finished_at
    ]
    assert late == []


# An auto-close that leaves the issue where it was: the issue stays due after its sweep.
NAGGING = Workflow(
    name="nagging",
    statuses=[
        StatusSpec(name="New", sla=SlaRole.RUNNING, initial=True),
        StatusSpec(name="Waiting", sla=SlaRole.PAUSED),
        StatusSpec(name="Done", sla=SlaRole.FULFILLED, closed=True),
    ],
    transitions={
        ("New", "wait"): "Waiting",
        ("Waiting", "auto_close"): "Waiting",
        ("New", "auto_close"): "Done",
        ("Waiting", "finish"): "Done",
    },
)


@pytest.mark.parametrize("waiting", [1, 2, 3])
def test_issues_that_stay_due_after_their_sweep_hold_up_neither_the_tick_nor_others(
    waiting: int,
) -> None:
    clock = FakeClock(START)
    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock,
        settings=DeskSettings(
            support_address="support@example.com", workflow=NAGGING, auto_close_after=24 * H
        ),
    )
    stuck = []
    for index in range(waiting):  # due first: the earliest due issues come first
        number = desk.open_issue(subject=f"s{index}", raised_by="ana@customer.test", body="b")
        stuck.append(desk.act(number.number, "wait", by="ben").number)
    clock.advance(H)
    later = desk.open_issue(subject="later", raised_by="ana@customer.test", body="b").number
    clock.advance(48 * H)
    assert desk.tick().closed == (later,)
    assert [desk.get(number).status for number in stuck] == ["Waiting"] * waiting
    assert desk.tick().closed == ()
