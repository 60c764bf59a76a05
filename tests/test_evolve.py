"""The hot paths' evolve gives what ``attrs.evolve`` gives, value and error alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import ServiceLevelAgreement, SlaTarget
from issuecore._evolve import evolve
from issuecore._model import Issue
from issuecore._sla.tracking import start_sla
from issuecore._workflow import Change, open_issue
from issuecore.errors import NaiveDatetimeError
from issuecore.ports import EffectKind, OutboxItem
from issuecore.testing import strategies

AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=timedelta(hours=8), resolution=timedelta(hours=40))},
    default_priority="Medium",
    default=True,
)

# Values a field may be given: right, converted (another zone, a plain str subclass) and wrong.
instants = st.one_of(
    strategies.aware_datetimes(),
    st.datetimes(),  # naive: refused by the instants' validators
    strategies.aware_datetimes().map(lambda at: at.astimezone(timezone(timedelta(hours=5)))),
)
values = st.one_of(
    st.none(),
    instants,
    st.text(max_size=5),
    st.integers(-3, 3),
    st.tuples(st.text(max_size=3)),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.sampled_from([timedelta(0), timedelta(hours=1), 1.5, b"x"]),
)


def an_issue() -> Issue:
    return open_issue(
        number="ISS-2026-00001",
        subject="Printer on fire",
        raised_by="ann@customer.test",
        at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    ).issue


NAIVE = datetime(2027, 1, 1)


def outcome(make: Any) -> tuple[str, Any]:
    """Return ("value", result) or ("error", (type, message)) of calling ``make``."""
    try:
        return "value", make()
    except Exception as error:
        return "error", (type(error), str(error))


def same_as_attrs(instance: Any, changes: dict[str, Any]) -> None:
    ours = outcome(lambda: evolve(instance, **changes))
    theirs = outcome(lambda: attrs.evolve(instance, **changes))
    assert ours == theirs
    if ours[0] == "value":
        evolved = ours[1]
        assert type(evolved) is type(instance)
        for field in attrs.fields(type(instance)):
            mine, reference = getattr(evolved, field.name), getattr(theirs[1], field.name)
            assert type(mine) is type(reference), field.name
            assert mine == reference, field.name


def sla_issue(issue: Issue) -> Issue:
    return start_sla(Change(issue=issue, events=()), [AGREEMENT]).issue


@given(
    issue=strategies.issues().map(sla_issue),
    chosen=st.lists(st.sampled_from([f.name for f in attrs.fields(Issue)]), unique=True),
    data=st.data(),
)
def test_an_issue_evolved_is_the_issue_attrs_makes(
    issue: Issue, chosen: list[str], data: st.DataObject
) -> None:
    changes = {name: data.draw(values, label=name) for name in chosen}
    same_as_attrs(issue, changes)


@given(issue=strategies.issues().map(sla_issue), other=strategies.issues(), data=st.data())
def test_an_issue_given_another_issues_fields_is_the_issue_attrs_makes(
    issue: Issue, other: Issue, data: st.DataObject
) -> None:
    names = data.draw(st.lists(st.sampled_from([f.name for f in attrs.fields(Issue)]), unique=True))
    same_as_attrs(issue, {name: getattr(other, name) for name in names})


@given(issue=strategies.issues().map(sla_issue), data=st.data())
def test_a_clock_and_its_targets_evolved_are_those_attrs_makes(
    issue: Issue, data: st.DataObject
) -> None:
    clock = issue.sla
    assert clock is not None
    for value in (clock, clock.response, clock.resolution):
        names = [f.name for f in attrs.fields(type(value))]
        chosen = data.draw(st.lists(st.sampled_from(names), unique=True))
        same_as_attrs(value, {name: data.draw(values, label=name) for name in chosen})
    # The clock's own validators: a target of the other name is refused by both.
    same_as_attrs(clock, {"response": clock.resolution})
    same_as_attrs(clock, {"response": clock.resolution, "resolution": clock.response})


@given(at=strategies.aware_datetimes(), data=st.data())
def test_an_outbox_row_evolved_is_the_row_attrs_makes(at: datetime, data: st.DataObject) -> None:
    item = OutboxItem(
        id="a" * 32,
        kind=EffectKind.MAIL,
        number="ISS-2026-00001",
        message_id="<m@example.com>",
        payload=b"Subject: x\n\nbody\n",
        created_at=at,
        next_attempt_at=at,
    )
    names = [f.name for f in attrs.fields(OutboxItem)]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True))
    same_as_attrs(item, {name: data.draw(values, label=name) for name in chosen})


def test_a_converted_field_is_converted_and_the_others_are_the_same_objects() -> None:
    issue = sla_issue(an_issue())
    later = datetime(2027, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    evolved = evolve(issue, updated_at=later, version=7)
    assert evolved.updated_at == later
    assert evolved.updated_at.utcoffset() == timedelta(0)
    assert evolved.version == 7
    assert evolved.sla is issue.sla
    assert evolved.history is issue.history


def test_a_refused_value_raises_what_attrs_raises() -> None:
    issue = an_issue()
    with pytest.raises(NaiveDatetimeError) as ours:
        evolve(issue, closed_at=NAIVE)
    with pytest.raises(NaiveDatetimeError) as theirs:
        attrs.evolve(issue, closed_at=NAIVE)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    assert "closed_at" in str(ours.value)


def test_a_name_without_a_field_raises_type_error() -> None:
    issue = an_issue()
    with pytest.raises(TypeError, match="no_such_field"):
        evolve(issue, no_such_field=1)


def test_a_class_with_an_init_hook_is_built_by_its_init() -> None:
    seen = []

    @attrs.frozen
    class Hooked:
        value: int

        def __attrs_post_init__(self) -> None:
            seen.append(self.value)

    evolve(Hooked(1), value=2)
    assert seen == [1, 2]


def test_a_class_caching_its_hash_gets_a_new_hash() -> None:
    @attrs.frozen(cache_hash=True)
    class Cached:
        value: int

    first = Cached(1)
    hash(first)
    assert hash(evolve(first, value=2)) == hash(Cached(2))


def test_with_validators_switched_off_nothing_is_checked() -> None:
    issue = an_issue()
    naive = NAIVE
    with attrs.validators.disabled():
        assert evolve(issue, closed_at=naive).closed_at == naive
    with pytest.raises(Exception, match="closed_at"):
        evolve(issue, closed_at=naive)


def test_validators_run_in_the_fields_order_when_several_fail() -> None:
    issue = an_issue()
    naive = NAIVE
    changes = {"closed_at": naive, "created_at": naive}  # created_at is declared first
    same_as_attrs(issue, changes)
    with pytest.raises(Exception, match="created_at"):
        evolve(issue, **changes)


def test_the_instant_stays_utc_pendulum() -> None:
    issue = an_issue()
    evolved = evolve(issue, updated_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert type(evolved.updated_at) is type(
        attrs.evolve(issue, updated_at=evolved.updated_at).updated_at
    )


def test_converters_run_in_the_fields_order_whatever_the_order_of_the_changes() -> None:
    issue = an_issue()
    # Both converters refuse; references is declared before fields, so attrs names it.
    changes = {"fields": NAIVE, "references": "0"}
    same_as_attrs(issue, changes)
    with pytest.raises(ValueError, match="dictionary update sequence"):
        evolve(issue, **changes)
