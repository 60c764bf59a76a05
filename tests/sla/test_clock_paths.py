"""Clock paths the lifecycle tests do not reach: a calendar changed under a running clock,
deadlines judged after the fact, and targets that are not due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from issuecore._sla.agreement import ServiceLevelAgreement, SlaTarget
from issuecore._sla.calendar import BusinessCalendar
from issuecore._sla.clock import RESOLUTION, RESPONSE, SlaClock, SlaRole, observe, start_clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
OFFICE = BusinessCalendar(
    timezone="UTC", hours={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
)
ON_OFFICE_HOURS = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=10 * H, resolution=12 * H)},
    default_priority="Medium",
    calendar=OFFICE,
)
ELAPSED = attrs.evolve(ON_OFFICE_HOURS, calendar=None)


def running(terms: ServiceLevelAgreement = ON_OFFICE_HOURS) -> SlaClock:
    return start_clock(
        terms,
        priority="Medium",
        response=10 * H,
        resolution=12 * H,
        role=SlaRole.RUNNING,
        at=T0,
    )


def test_a_clock_starts_running_with_deadlines_on_its_calendar() -> None:
    clock = running()
    assert clock.response_by == datetime(2026, 3, 3, 11, tzinfo=UTC)  # 8h Monday, 2h Tuesday
    assert clock.paused is False


def test_a_late_response_found_only_under_a_changed_calendar_is_a_breach() -> None:
    # Started on office hours (due Tuesday 11:00); the agreement now counts
    # elapsed time (due Monday 19:00); a reply at 20:00 is late though no
    # running deadline had passed.
    clock, notices = observe(
        running(), ELAPSED, role=SlaRole.PAUSED, at=T0 + 11 * H, responded=True
    )
    assert clock.response_met is False
    assert RESPONSE in clock.breached
    assert [(n.kind, n.target, n.deadline) for n in notices] == [
        ("breached", RESPONSE, T0 + 10 * H)
    ]
    assert "breached:response" in clock.notified


def test_a_late_resolution_found_only_under_a_changed_calendar_is_a_breach() -> None:
    clock, notices = observe(running(), ELAPSED, role=SlaRole.FULFILLED, at=T0 + 13 * H)
    assert clock.resolution_met is False
    assert RESOLUTION in clock.breached
    # The response target is judged only by a response, so only resolution breached.
    assert [(n.kind, n.target, n.deadline) for n in notices] == [
        ("breached", RESOLUTION, T0 + 12 * H)
    ]


def test_a_paused_clock_says_so() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    assert clock.paused is True
    assert clock.remaining(OFFICE, RESPONSE, T0 + 2 * H) is not None


def test_no_time_remains_on_a_met_target() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H, responded=True)
    assert clock.remaining(OFFICE, RESPONSE, T0 + 2 * H) is None
    resolved, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.FULFILLED, at=T0 + 2 * H)
    assert resolved.remaining(OFFICE, RESOLUTION, T0 + 3 * H) is None


def test_a_target_met_after_a_pause_has_its_deadline_as_it_stood() -> None:
    # Runs 09:00-10:00 Monday, paused until Tuesday 09:00, responded Tuesday 10:00:
    # two hours consumed; the deadline stood at ten hours of business time.
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    tuesday = datetime(2026, 3, 3, 9, tzinfo=UTC)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=tuesday)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=tuesday + H, responded=True)
    assert clock.deadline_of(OFFICE, RESPONSE) == datetime(2026, 3, 4, 10, tzinfo=UTC)


def test_a_target_met_while_paused_short_of_it_has_no_deadline_to_show() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + 2 * H, responded=True)
    assert clock.response_met is True
    assert clock.deadline_of(OFFICE, RESPONSE) is None


def test_a_target_met_while_running_has_its_deadline_from_the_running_time() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=T0 + H, responded=True)
    assert clock.deadline_of(OFFICE, RESPONSE) == datetime(2026, 3, 3, 11, tzinfo=UTC)
