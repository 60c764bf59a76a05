"""Clock paths the lifecycle tests do not reach: a calendar changed under a running clock,
deadlines judged after the fact, targets that are not due, and targets in the wrong place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pendulum
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from issuecore import SlaTargetName
from issuecore._codec import to_micros
from issuecore._sla.agreement import AtRisk, ServiceLevelAgreement, SlaTarget
from issuecore._sla.calendar import BusinessCalendar
from issuecore._sla.clock import (
    SlaClock,
    SlaRole,
    TargetState,
    _fresh,
    _just_after,
    _start_by_observing,
    observe,
    retarget,
    start_clock,
    sweep,
)
from issuecore.errors import NaiveDatetimeError

RESPONSE = SlaTargetName.RESPONSE
RESOLUTION = SlaTargetName.RESOLUTION

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
    assert clock.response.met is False
    assert RESPONSE in clock.breached
    assert [(n.kind, n.target, n.deadline) for n in notices] == [
        ("breached", RESPONSE, T0 + 10 * H)
    ]
    assert "breached" in clock.response.reported


def test_a_late_resolution_found_only_under_a_changed_calendar_is_a_breach() -> None:
    clock, notices = observe(running(), ELAPSED, role=SlaRole.FULFILLED, at=T0 + 13 * H)
    assert clock.resolution.met is False
    assert RESOLUTION in clock.breached
    # The response target is judged only by a response, so only resolution breached.
    assert [(n.kind, n.target, n.deadline) for n in notices] == [
        ("breached", RESOLUTION, T0 + 12 * H)
    ]


def test_a_paused_clock_says_so() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    assert clock.paused is True
    assert clock.remaining(OFFICE, clock.response, T0 + 2 * H) is not None


def test_no_time_remains_on_a_met_target() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H, responded=True)
    assert clock.remaining(OFFICE, clock.response, T0 + 2 * H) is None
    resolved, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.FULFILLED, at=T0 + 2 * H)
    assert resolved.remaining(OFFICE, resolved.resolution, T0 + 3 * H) is None


def test_a_target_met_after_a_pause_has_its_deadline_as_it_stood() -> None:
    # Runs 09:00-10:00 Monday, paused until Tuesday 09:00, responded Tuesday 10:00:
    # two hours consumed; the deadline stood at ten hours of business time.
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    tuesday = datetime(2026, 3, 3, 9, tzinfo=UTC)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=tuesday)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=tuesday + H, responded=True)
    assert clock.judged_deadline(OFFICE, clock.response) == datetime(2026, 3, 4, 10, tzinfo=UTC)


def test_a_target_met_while_paused_short_of_it_has_no_deadline_to_show() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + H)
    clock, _ = observe(clock, ON_OFFICE_HOURS, role=SlaRole.PAUSED, at=T0 + 2 * H, responded=True)
    assert clock.response.met is True
    assert clock.judged_deadline(OFFICE, clock.response) is None


def test_a_target_met_while_running_has_its_deadline_from_the_running_time() -> None:
    clock, _ = observe(running(), ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=T0 + H, responded=True)
    assert clock.judged_deadline(OFFICE, clock.response) == datetime(2026, 3, 3, 11, tzinfo=UTC)


def monday(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def tuesday(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 3, hour, minute, tzinfo=UTC)


def responding_in(hours: int) -> SlaClock:
    return start_clock(
        ON_OFFICE_HOURS,
        priority="Medium",
        response=hours * H,
        resolution=None,
        role=SlaRole.RUNNING,
        at=monday(9),
    )


def moved(clock: SlaClock, role: SlaRole, at: datetime, *, responded: bool = False) -> SlaClock:
    return observe(clock, ON_OFFICE_HOURS, role=role, at=at, responded=responded)[0]


def test_a_target_met_while_running_keeps_its_deadline_after_a_later_pause() -> None:
    # Responded Monday 10:00 while running; paused at 12:00: only the hour before
    # the response counts, so ten hours were due Tuesday 11:00.
    clock = moved(responding_in(10), SlaRole.RUNNING, monday(10), responded=True)
    clock = moved(clock, SlaRole.PAUSED, monday(12))
    assert clock.judged_deadline(OFFICE, clock.response) == tuesday(11)


def test_a_target_reached_in_an_earlier_running_period_has_its_deadline_there() -> None:
    # Ran 09:00-10:00 and 11:00-12:00, then from 13:00 to Tuesday 12:00; answered
    # at 13:00 while paused: eight hours were reached Tuesday 11:00, in the third period.
    clock = moved(responding_in(8), SlaRole.PAUSED, monday(10))
    clock = moved(clock, SlaRole.RUNNING, monday(11))
    clock = moved(clock, SlaRole.PAUSED, monday(12))
    clock = moved(clock, SlaRole.RUNNING, monday(13))
    clock = moved(clock, SlaRole.PAUSED, tuesday(12))
    clock = moved(clock, SlaRole.PAUSED, tuesday(13), responded=True)
    assert clock.response.met is False
    assert clock.judged_deadline(OFFICE, clock.response) == tuesday(11)


def test_a_tighter_target_after_several_pauses_is_due_in_the_period_that_reached_it() -> None:
    # Nine hours consumed in three running periods (the last from Monday 13:00 to
    # Tuesday 12:00); an eight-hour target was reached Tuesday 11:00.
    clock = moved(responding_in(20), SlaRole.PAUSED, monday(10))
    clock = moved(clock, SlaRole.RUNNING, monday(11))
    clock = moved(clock, SlaRole.PAUSED, monday(12))
    clock = moved(clock, SlaRole.RUNNING, monday(13))
    clock = moved(clock, SlaRole.PAUSED, tuesday(12))
    clock = moved(clock, SlaRole.RUNNING, tuesday(13))
    tighter, _ = retarget(
        clock, ON_OFFICE_HOURS, priority="High", response=8 * H, resolution=None, at=tuesday(14)
    )
    assert tighter.response_by == tuesday(11)


def test_a_target_reached_exactly_at_a_pause_has_its_deadline_at_the_pause() -> None:
    clock = moved(responding_in(8), SlaRole.PAUSED, monday(17))
    clock = moved(clock, SlaRole.PAUSED, tuesday(9, 30), responded=True)
    assert clock.response.met is False
    assert clock.judged_deadline(OFFICE, clock.response) == monday(17)


def test_a_late_response_while_running_has_its_deadline_in_the_running_time() -> None:
    # One hour Monday 09:00-10:00, then from 11:00: eight hours are reached Tuesday 10:00.
    clock = moved(responding_in(8), SlaRole.PAUSED, monday(10))
    clock = moved(clock, SlaRole.RUNNING, monday(11))
    clock = moved(clock, SlaRole.RUNNING, tuesday(12), responded=True)
    assert clock.response.met is False
    assert clock.judged_deadline(OFFICE, clock.response) == tuesday(10)


def test_a_late_response_after_closing_time_is_judged_against_the_closing_instant() -> None:
    # Eight hours are used up at Monday 17:00; an answer at 20:00 (closed hours,
    # no business time since) is late against 17:00, not against the answer itself.
    clock = moved(responding_in(8), SlaRole.RUNNING, monday(20), responded=True)
    assert clock.response.met is False
    assert clock.judged_deadline(OFFICE, clock.response) == monday(17)


def test_a_target_is_found_by_its_name() -> None:
    clock = running()
    assert clock.target_state("response") is clock.response
    assert clock.target_state("resolution") is clock.resolution
    with pytest.raises(ValueError, match=r"^no target 'reply'; known: response, resolution$"):
        clock.target_state("reply")


def test_a_target_in_the_wrong_place_is_refused() -> None:
    clock = running()
    with pytest.raises(ValueError, match=r"^response holds the resolution target$"):
        attrs.evolve(clock, response=clock.resolution)
    with pytest.raises(ValueError, match=r"^resolution holds the response target$"):
        attrs.evolve(clock, resolution=clock.response)
    with pytest.raises(ValueError, match=r"^every agreement has a response target$"):
        attrs.evolve(clock, response=TargetState(name=RESPONSE, target=None))
    untargeted = TargetState(name=RESOLUTION, target=None)
    assert attrs.evolve(clock, resolution=untargeted).resolution == untargeted


def test_a_response_in_time_after_a_pause_has_the_deadline_that_stood() -> None:
    # One hour before the pause, one after it by the answer at noon: the six
    # hours left were due Tuesday 10:00.
    clock = moved(responding_in(8), SlaRole.PAUSED, monday(10))
    clock = moved(clock, SlaRole.RUNNING, monday(11))
    clock = moved(clock, SlaRole.RUNNING, monday(12), responded=True)
    assert clock.response.met is True
    assert clock.judged_deadline(OFFICE, clock.response) == tuesday(10)


def test_a_deadline_passed_is_settled_as_a_breach_at_the_next_event_once() -> None:
    # Answered in time; the twelve-hour resolution was due Tuesday 13:00 and
    # nothing happened until a message at 14:00.
    clock = moved(running(), SlaRole.RUNNING, monday(10), responded=True)
    clock, notices = observe(clock, ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=tuesday(14))
    assert [(n.kind, n.target, n.deadline) for n in notices] == [
        ("breached", RESOLUTION, tuesday(13))
    ]
    assert clock.breached == (RESOLUTION,)
    assert clock.resolution.reported == ("breached",)
    assert sweep(clock, ON_OFFICE_HOURS, now=tuesday(15)) == (clock, ())
    assert observe(clock, ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=tuesday(16))[1] == ()


def test_a_clock_started_paused_counts_its_hold_from_the_start() -> None:
    clock = start_clock(
        ON_OFFICE_HOURS,
        priority="Medium",
        response=10 * H,
        resolution=None,
        role=SlaRole.PAUSED,
        at=monday(9),
    )
    clock = moved(clock, SlaRole.RUNNING, monday(11))
    metrics = clock.metrics()
    assert (metrics.hold_business, metrics.hold_elapsed) == (2 * H, 2 * H)


def test_hold_time_is_counted_in_business_and_elapsed_time() -> None:
    clock = moved(running(), SlaRole.PAUSED, monday(16))
    clock = moved(clock, SlaRole.RUNNING, tuesday(10))
    metrics = clock.metrics()
    assert (metrics.hold_business, metrics.hold_elapsed) == (2 * H, 18 * H)


def test_moving_a_clock_refuses_a_naive_instant_by_name() -> None:
    naive = datetime(2026, 3, 2, 10)
    with pytest.raises(NaiveDatetimeError, match=r"^at must"):
        start_clock(
            ON_OFFICE_HOURS,
            priority="Medium",
            response=H,
            resolution=None,
            role=SlaRole.RUNNING,
            at=naive,
        )
    with pytest.raises(NaiveDatetimeError, match=r"^at must"):
        observe(running(), ON_OFFICE_HOURS, role=SlaRole.RUNNING, at=naive)
    with pytest.raises(NaiveDatetimeError, match=r"^at must"):
        retarget(running(), ON_OFFICE_HOURS, priority="High", response=H, resolution=None, at=naive)
    with pytest.raises(NaiveDatetimeError, match=r"^at must"):
        running().status(naive)


def test_a_response_at_the_very_start_is_judged_against_the_whole_target() -> None:
    clock = moved(responding_in(8), SlaRole.RUNNING, monday(9), responded=True)
    assert clock.response.met is True
    assert clock.judged_deadline(OFFICE, clock.response) == monday(17)


def test_the_metrics_give_the_business_time_to_resolution() -> None:
    clock = moved(running(), SlaRole.PAUSED, monday(10), responded=True)
    clock = moved(clock, SlaRole.RUNNING, monday(20))
    clock = moved(clock, SlaRole.FULFILLED, tuesday(11))
    metrics = clock.metrics()
    assert (metrics.first_response_business, metrics.first_response_elapsed) == (H, H)
    assert (metrics.resolution_business, metrics.resolution_elapsed) == (10 * H, 26 * H)


def test_a_target_met_as_the_clock_resumes_has_no_deadline_to_show() -> None:
    # One hour ran before the pause at 10:00; the answer came at 11:00, the
    # instant the clock ran again, so while paused and short of the eight hours.
    clock = moved(responding_in(8), SlaRole.PAUSED, monday(10))
    clock = moved(clock, SlaRole.RUNNING, monday(11), responded=True)
    clock = moved(clock, SlaRole.PAUSED, monday(15))
    assert clock.response.met is True
    assert clock.judged_deadline(OFFICE, clock.response) is None


def test_a_target_is_at_risk_only_while_it_runs() -> None:
    # Ten hours with the last quarter at risk: at risk from Monday 16:30 while
    # running; paused at 17:00 past that point, it has no at-risk instant.
    watched = attrs.evolve(ON_OFFICE_HOURS, at_risk=AtRisk(fraction=0.25))
    clock = running(watched)
    assert clock.at_risk_from(watched, clock.response) == monday(16, 30)
    paused, _ = observe(clock, watched, role=SlaRole.PAUSED, at=monday(17))
    assert paused.at_risk_from(watched, paused.response) is None


@given(
    wall=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"]),
    fold=st.sampled_from([0, 1]),
)
@example(wall=datetime(2026, 10, 25, 2, 59, 59, 999_999), zone="Europe/Berlin", fold=0)
@example(wall=datetime(2026, 10, 25, 2, 59, 59, 999_999), zone="Europe/Berlin", fold=1)
@example(wall=datetime(2026, 3, 29, 1, 59, 59, 999_999), zone="Europe/Berlin", fold=0)
def test_the_instant_after_a_deadline_is_the_one_pendulum_adds(
    wall: datetime, zone: str, fold: int
) -> None:
    deadline = pendulum.instance(wall, tz=zone).replace(fold=fold)
    after = _just_after(deadline)
    assert after.utcoffset() == timedelta(0)
    assert to_micros("after", after) == to_micros("added", deadline + timedelta(microseconds=1))


def test_a_period_ending_at_the_response_keeps_its_recorded_time_on_a_changed_calendar() -> None:
    # Ran Monday 09:00-10:00 on office hours (one hour recorded) and was answered at
    # the pause. Judged on a calendar that opens at 09:30, the recorded hour still
    # counts whole: nine hours remained from 10:00, due Tuesday 11:30 on that calendar.
    late = BusinessCalendar(
        timezone="UTC",
        hours={day: [("09:30", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    clock = moved(responding_in(10), SlaRole.PAUSED, monday(10), responded=True)
    assert clock.response.done_at == monday(10)
    assert clock.judged_deadline(late, clock.response) == tuesday(11, 30)


_CALENDARS = st.sampled_from(
    [
        None,
        OFFICE,
        BusinessCalendar(timezone="Europe/Berlin", hours={"sun": [("01:00", "02:30")]}),
        BusinessCalendar(
            timezone="America/New_York",
            hours={day: [("22:00", "24:00"), ("00:00", "06:00")] for day in ("mon", "tue")},
        ),
    ]
)


@given(
    calendar=_CALENDARS,
    at=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.sampled_from([UTC, pendulum.timezone("Europe/Berlin")]),
    ),
    response=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)),
    resolution=st.none()
    | st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)),
    role=st.sampled_from(list(SlaRole)),
)
@example(calendar=None, at=T0, response=10 * H, resolution=None, role=SlaRole.RUNNING)
@example(calendar=OFFICE, at=T0, response=10 * H, resolution=12 * H, role=SlaRole.PAUSED)
def test_a_clock_started_at_once_is_the_paused_clock_observed_into_its_role(
    calendar: BusinessCalendar | None,
    at: datetime,
    response: timedelta,
    resolution: timedelta | None,
    role: SlaRole,
) -> None:
    terms = attrs.evolve(ON_OFFICE_HOURS, calendar=calendar)
    made = start_clock(
        terms, priority="Medium", response=response, resolution=resolution, role=role, at=at
    )
    paused = _fresh(terms, "Medium", response, resolution, role=SlaRole.PAUSED, at=at)
    observed = _start_by_observing(paused, terms, role=role)
    assert made == observed
    for mine, theirs in zip(
        attrs.astuple(made, recurse=False), attrs.astuple(observed, recurse=False), strict=True
    ):
        assert type(mine) is type(theirs)
    for state in (made.response, made.resolution):
        assert state.due_by is None or state.due_by.tzinfo is pendulum.UTC
