"""Service-level agreements: targets, at-risk thresholds, roles, validity, conditions, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import Status
from issuecore._model import Issue
from issuecore._sla.agreement import (
    AtRisk,
    Condition,
    ElapsedTime,
    ServiceLevelAgreement,
    SlaTarget,
    check_agreements,
    choose_agreement,
)
from issuecore._workflow import DEFAULT_WORKFLOW, open_issue
from issuecore.errors import AgreementError, NaiveDatetimeError

H = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def agreement(**changes: object) -> ServiceLevelAgreement:
    fields: dict[str, object] = {
        "name": "Gold",
        "targets": {"High": SlaTarget(response=H), "Low": SlaTarget(response=4 * H)},
        "default_priority": "Low",
    }
    fields.update(changes)
    return ServiceLevelAgreement(**fields)  # type: ignore[arg-type]


def issue_created(on: date, **changes: object) -> Issue:
    at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    opened = open_issue(number="ISS-2026-00001", subject="Help", raised_by="a@x.test", at=at).issue
    return attrs.evolve(opened, **changes)


def test_elapsed_time_adds_and_measures_plain_time() -> None:
    elapsed = ElapsedTime()
    assert elapsed.add(T0, 3 * H) == T0 + 3 * H
    assert elapsed.between(T0, T0 + 3 * H) == 3 * H
    assert type(elapsed.between(T0, T0 + H)) is timedelta
    assert repr(elapsed) == "ElapsedTime()"


def test_elapsed_time_refuses_naive_instants_by_name() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^start must"):
        ElapsedTime().add(datetime(2026, 3, 2), H)
    with pytest.raises(NaiveDatetimeError, match=r"^b must"):
        ElapsedTime().between(T0, datetime(2026, 3, 2))
    with pytest.raises(NaiveDatetimeError, match=r"^a must"):
        ElapsedTime().between(datetime(2026, 3, 2), T0)


@pytest.mark.parametrize("field", ["response", "resolution"])
def test_a_target_of_zero_is_refused_naming_it(field: str) -> None:
    arguments = {"response": H, field: timedelta(0)}
    with pytest.raises(ValueError, match=f"the {field} target must be longer than zero, got 0:00"):
        SlaTarget(**arguments)


def test_a_target_of_one_microsecond_is_accepted() -> None:
    tiny = timedelta(microseconds=1)
    assert SlaTarget(response=tiny, resolution=tiny).resolution == tiny


def test_at_risk_needs_a_fraction_or_a_remaining_time() -> None:
    with pytest.raises(ValueError, match=r"^AtRisk needs fraction= or remaining=$"):
        AtRisk()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_at_risk_fraction_must_lie_strictly_between_0_and_1(fraction: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        AtRisk(fraction=fraction)


@pytest.mark.parametrize("remaining", [timedelta(0), -H])
def test_at_risk_remaining_must_be_longer_than_zero(remaining: timedelta) -> None:
    with pytest.raises(ValueError, match="AtRisk remaining must be longer than zero"):
        AtRisk(remaining=remaining)


def test_at_risk_threshold_by_fraction() -> None:
    assert AtRisk(fraction=0.25).threshold(4 * H) == H


def test_at_risk_threshold_by_remaining_time_is_capped_at_the_target() -> None:
    assert AtRisk(remaining=H).threshold(4 * H) == H
    assert AtRisk(remaining=5 * H).threshold(4 * H) == 4 * H


def test_at_risk_threshold_with_both_takes_the_larger() -> None:
    assert AtRisk(fraction=0.5, remaining=H).threshold(4 * H) == 2 * H
    assert AtRisk(fraction=0.1, remaining=H).threshold(4 * H) == H


def test_at_risk_threshold_rounds_to_the_nearest_microsecond() -> None:
    assert AtRisk(fraction=0.5).threshold(timedelta(microseconds=3)) == timedelta(microseconds=2)


def test_an_agreement_needs_a_target() -> None:
    with pytest.raises(AgreementError, match="'Gold': targets must name at least one priority"):
        agreement(targets={})


def test_the_default_priority_must_have_a_target() -> None:
    with pytest.raises(
        AgreementError,
        match=r"^agreement 'Gold': default_priority 'Medium' has no target; known: High, Low$",
    ):
        agreement(default_priority="Medium")


@pytest.mark.parametrize(
    "changes",
    [{"pause_on": {"On Hold"}}, {"fulfilled_on": {"Closed"}}],
    ids=["pause_on", "fulfilled_on"],
)
def test_pause_on_and_fulfilled_on_are_both_given_or_both_none(
    changes: dict[str, set[str]],
) -> None:
    # Left out, both are None: the roles come from the desk's workflow.
    with pytest.raises(AgreementError, match="must both be given or both be None"):
        agreement(**changes)


def test_a_status_cannot_both_pause_and_fulfil() -> None:
    with pytest.raises(
        AgreementError,
        match=r"^agreement 'Gold': pause_on and fulfilled_on share Closed, Resolved; a status",
    ):
        agreement(pause_on={"Resolved", "Closed", "On Hold"}, fulfilled_on={"Resolved", "Closed"})


def test_validity_may_not_end_before_it_begins() -> None:
    with pytest.raises(
        AgreementError,
        match=r"^agreement 'Gold': valid_from 2026-02-02 is after valid_until 2026-02-01$",
    ):
        agreement(valid_from=date(2026, 2, 2), valid_until=date(2026, 2, 1))


def test_validity_of_a_single_day_is_accepted() -> None:
    day = date(2026, 2, 1)
    assert agreement(valid_from=day, valid_until=day).covers(issue_created(day))


def test_validity_bounds_are_inclusive_dates() -> None:
    bounded = agreement(valid_from=date(2026, 2, 1), valid_until=date(2026, 2, 28))
    assert not bounded.covers(issue_created(date(2026, 1, 31)))
    assert bounded.covers(issue_created(date(2026, 2, 1)))
    assert bounded.covers(issue_created(date(2026, 2, 28)))
    assert not bounded.covers(issue_created(date(2026, 3, 1)))


def test_applies_to_decides_after_validity() -> None:
    only_urgent = agreement(applies_to=lambda issue: issue.priority == "High")
    assert only_urgent.covers(issue_created(date(2026, 2, 1), priority="High"))
    assert not only_urgent.covers(issue_created(date(2026, 2, 1), priority="Low"))


def test_roles_come_from_the_agreement_when_it_names_them() -> None:
    custom = agreement(pause_on={"On Hold"}, fulfilled_on={"Closed"})
    assert custom.role(Status.ON_HOLD).name == "PAUSED"
    assert custom.role(Status.CLOSED).name == "FULFILLED"
    assert custom.role(Status.RESOLVED).name == "RUNNING"
    assert custom.role(Status.WAITING_FOR_REPLY).name == "RUNNING"


def test_roles_come_from_the_workflow_when_the_agreement_names_none() -> None:
    asking = agreement(pause_on=None, fulfilled_on=None)
    for status in (Status.ON_HOLD, Status.RESOLVED, Status.OPEN, Status.WAITING_FOR_REPLY):
        assert asking.role(status) == DEFAULT_WORKFLOW.sla_role(status)
        assert asking.role(status, DEFAULT_WORKFLOW) == DEFAULT_WORKFLOW.sla_role(status)


def test_the_target_of_no_priority_is_the_default_prioritys() -> None:
    gold = agreement()
    assert gold.target(None) == gold.target("Low") == SlaTarget(response=4 * H)
    assert gold.target_for(None) == SlaTarget(response=4 * H)


def test_the_repr_names_the_agreement_and_its_priorities() -> None:
    assert repr(agreement()) == "ServiceLevelAgreement(name='Gold', priorities=['High', 'Low'])"


def test_agreement_names_must_be_unique() -> None:
    with pytest.raises(AgreementError, match=r"agreement names must be unique; repeated: Gold$"):
        check_agreements([agreement(), agreement(name="Silver"), agreement()])
    with pytest.raises(AgreementError, match=r"repeated: Gold, Silver$"):
        check_agreements([agreement(name="Silver"), agreement()] * 2)


def test_at_most_one_agreement_is_the_default() -> None:
    with pytest.raises(AgreementError, match="these are: Gold, Silver"):
        check_agreements([agreement(default=True), agreement(name="Silver", default=True)])
    listed = [agreement(default=True), agreement(name="Silver")]
    assert check_agreements(iter(listed)) == tuple(listed)


def test_the_first_covering_agreement_wins_over_the_default() -> None:
    fallback = agreement(name="Standard", default=True)
    early = agreement(name="Early", valid_until=date(2026, 1, 31))
    late = agreement(name="Late", valid_from=date(2026, 2, 1))
    also_late = agreement(name="AlsoLate", valid_from=date(2026, 2, 1))
    chosen = choose_agreement([fallback, early, late, also_late], issue_created(date(2026, 2, 1)))
    assert chosen is late


def test_the_default_agreement_is_chosen_when_no_other_covers() -> None:
    fallback = agreement(name="Standard", default=True)
    early = agreement(name="Early", valid_until=date(2026, 1, 31))
    assert choose_agreement([early, fallback], issue_created(date(2026, 2, 1))) is fallback


def test_no_agreement_is_chosen_when_the_default_does_not_cover_the_issue() -> None:
    fallback = agreement(name="Standard", default=True, valid_from=date(2026, 3, 1))
    assert choose_agreement([fallback], issue_created(date(2026, 2, 1))) is None
    assert choose_agreement([], issue_created(date(2026, 2, 1))) is None


def test_a_covering_agreement_is_chosen_without_any_default() -> None:
    only = agreement()
    assert choose_agreement([only], issue_created(date(2026, 2, 1))) is only


# --- conditions ------------------------------------------------------------------------


def test_an_empty_condition_covers_every_issue() -> None:
    assert Condition().matches(issue_created(date(2026, 2, 1)))
    assert agreement(condition=Condition()).covers(issue_created(date(2026, 2, 1)))


def test_an_agreement_with_a_condition_covers_only_the_issues_meeting_it() -> None:
    critical = agreement(condition=Condition(issue_types="Critical"))
    assert critical.covers(issue_created(date(2026, 2, 1), issue_type="Critical"))
    assert not critical.covers(issue_created(date(2026, 2, 1), issue_type="Billing"))
    assert not critical.covers(issue_created(date(2026, 2, 1)))


def test_a_single_name_stands_for_a_set_of_one() -> None:
    condition = Condition(priorities="High", issue_types=["Critical", "Outage"])
    assert condition.priorities == frozenset({"High"})
    assert condition.issue_types == frozenset({"Critical", "Outage"})
    high = issue_created(date(2026, 2, 1), priority="High", issue_type="Outage")
    assert condition.matches(high)
    assert not condition.matches(attrs.evolve(high, priority="Low"))
    assert not condition.matches(attrs.evolve(high, issue_type="Billing"))


def test_a_reference_named_without_values_needs_only_to_be_present() -> None:
    condition = Condition(references={"customer": None})
    assert condition.references == {"customer": None}
    day = date(2026, 2, 1)
    assert condition.matches(issue_created(day, references={"customer": "C-1"}))
    assert not condition.matches(issue_created(day, references={"order": "SO-1"}))


def test_a_reference_or_field_must_hold_one_of_the_values_given() -> None:
    condition = Condition(references={"customer": "C-1"}, fields={"seats": {10, 20}})
    assert condition.references == {"customer": frozenset({"C-1"})}
    assert condition.fields == {"seats": frozenset({10, 20})}
    day = date(2026, 2, 1)
    both = issue_created(day, references={"customer": "C-1"}, fields={"seats": 20})
    assert condition.matches(both)
    assert not condition.matches(attrs.evolve(both, references={"customer": "C-2"}))
    assert not condition.matches(attrs.evolve(both, fields={"seats": 11}))
    assert not condition.matches(attrs.evolve(both, fields={}))


def test_a_text_field_matches_only_the_same_text() -> None:
    condition = Condition(fields={"contract": "gold"})
    day = date(2026, 2, 1)
    assert condition.matches(issue_created(day, fields={"contract": "gold"}))
    assert not condition.matches(issue_created(day, fields={"contract": "silver"}))
    assert not condition.matches(issue_created(day, fields={"contract": 1}))


def test_numbers_match_across_int_and_float_but_never_booleans() -> None:
    day = date(2026, 2, 1)
    assert Condition(fields={"seats": 10.0}).matches(issue_created(day, fields={"seats": 10}))
    assert Condition(fields={"seats": 10}).matches(issue_created(day, fields={"seats": 10.0}))
    assert not Condition(fields={"vip": 1}).matches(issue_created(day, fields={"vip": True}))
    assert not Condition(fields={"vip": True}).matches(issue_created(day, fields={"vip": 1}))
    assert Condition(fields={"vip": True}).matches(issue_created(day, fields={"vip": True}))


@given(
    start=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    seconds=st.integers(min_value=-(10**9), max_value=10**9),
    micros=st.sampled_from([0, 0, 1, 999_999]),
)
def test_elapsed_time_adds_as_pendulum_does(start: datetime, seconds: int, micros: int) -> None:
    begin = pendulum.instance(start).in_timezone(pendulum.UTC)
    duration = timedelta(seconds=seconds, microseconds=micros)
    expected = pendulum.instance(begin) + duration
    added = ElapsedTime().add(begin, duration)
    assert (added, type(added), added.fold) == (expected, type(expected), expected.fold)
    assert added.tzinfo is expected.tzinfo is pendulum.UTC


# --- the elapsed-time calendar's quick path, and whole error messages --------------------


def test_elapsed_time_adds_to_a_standard_utc_datetime_as_pendulum_does() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    deadline = ElapsedTime().add(start, timedelta(hours=8))
    assert type(deadline) is pendulum.DateTime
    assert deadline == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_elapsed_time_adds_to_a_standard_datetime_in_pendulums_utc_as_pendulum_does() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=pendulum.UTC)
    deadline = ElapsedTime().add(start, timedelta(seconds=1))
    assert type(deadline) is pendulum.DateTime
    assert deadline == datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)


def test_elapsed_time_adds_across_the_spring_forward_in_absolute_time() -> None:
    start = pendulum.datetime(2026, 3, 28, 12, 0, tz="Europe/Berlin")
    deadline = ElapsedTime().add(start, timedelta(hours=24))
    assert type(deadline) is pendulum.DateTime
    assert deadline - start == timedelta(hours=24)
    assert (deadline.hour, deadline.utcoffset()) == (13, timedelta(hours=2))


def test_elapsed_time_adds_microseconds_exactly() -> None:
    start = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
    deadline = ElapsedTime().add(start, timedelta(seconds=1, microseconds=7))
    assert type(deadline) is pendulum.DateTime
    assert deadline == datetime(2026, 3, 2, 9, 0, 1, 7, tzinfo=UTC)


def test_pause_on_without_fulfilled_on_is_refused_naming_the_agreement() -> None:
    with pytest.raises(AgreementError) as raised:
        agreement(pause_on={"On Hold"}, fulfilled_on=None)
    assert str(raised.value) == (
        "agreement 'Gold': pause_on/fulfilled_on must both be given or both be None"
    )


def test_a_status_the_workflow_lacks_is_refused_naming_the_agreement() -> None:
    with pytest.raises(AgreementError) as raised:
        agreement(pause_on={"Parked"}, fulfilled_on={"Closed"}).bound_to(DEFAULT_WORKFLOW)
    assert str(raised.value).startswith("agreement 'Gold': pause_on names 'Parked', which ")
