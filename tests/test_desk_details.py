"""Issue types, references and custom fields; agreements chosen by condition and chosen again.

The peers' scenarios: an agreement for issue type "Critical" with its own
targets, the issue type setting the default priority, an agreement applied
again when a field changes, and a non-default agreement without a condition
never winning over the default.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from issuecore import (
    DeskSettings,
    HelpDesk,
    InvalidArgumentError,
    ServiceLevelAgreement,
    SlaTarget,
)
from issuecore._model import AgreementChanged, DetailsChanged
from issuecore._sla.agreement import Condition, choose_agreement
from issuecore._workflow import open_issue
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingEventSink, RecordingMailer
from stores import STORE_KINDS, fresh_store

H = timedelta(hours=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=2 * H, resolution=8 * H),
        "Medium": SlaTarget(response=8 * H, resolution=40 * H),
        "Low": SlaTarget(response=16 * H),
    },
    default_priority="Medium",
    default=True,
)
CRITICAL = ServiceLevelAgreement(
    name="Critical 24h",
    targets={"Urgent": SlaTarget(response=1 * H, resolution=24 * H)},
    default_priority="Urgent",
    condition=Condition(issue_types={"Critical"}),
)
GOLD = ServiceLevelAgreement(
    name="Gold",
    targets={"Medium": SlaTarget(response=4 * H, resolution=20 * H)},
    default_priority="Medium",
    condition=Condition(fields={"contract": "gold"}),
)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


class Env:
    def __init__(self, store: Store, agreements: tuple[ServiceLevelAgreement, ...]) -> None:
        self.clock = FakeClock(START)
        self.events = RecordingEventSink()
        self.desk = HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=self.clock,
            agreements=agreements,
            events=self.events,
            settings=DeskSettings(
                support_address="support@example.com", type_priorities={"Critical": "Urgent"}
            ),
        )

    def open(self, **details: Any) -> str:
        return self.desk.open_issue(
            subject="Printer", raised_by="ana@customer.test", body="Help", **details
        ).number


@pytest.fixture
def env(store: Store) -> Env:
    return Env(store, (STANDARD, CRITICAL, GOLD))


def test_type_references_and_fields_are_stored_and_read_back(env: Env) -> None:
    number = env.open(
        issue_type="Billing",
        references={"customer": "CUST-0001", "sales_order": "SO-42"},
        fields={"seats": 40, "ratio": 0.5, "vip": True, "note": "call first", "none": None},
    )
    issue = env.desk.get(number)
    assert issue.issue_type == "Billing"
    assert issue.references == {"customer": "CUST-0001", "sales_order": "SO-42"}
    assert issue.fields == {
        "seats": 40,
        "ratio": 0.5,
        "vip": True,
        "note": "call first",
        "none": None,
    }
    assert type(issue.fields["vip"]) is bool
    assert type(issue.fields["seats"]) is int
    assert env.desk.find()[0] == issue


def test_an_agreement_for_issue_type_critical_has_its_own_targets(env: Env) -> None:
    issue = env.desk.get(env.open(issue_type="Critical"))
    assert issue.sla is not None
    assert issue.sla.agreement == "Critical 24h"
    assert issue.sla.response_by == START + H
    assert issue.sla.resolution_by == START + 24 * H


def test_the_issue_type_sets_the_default_priority(env: Env) -> None:
    typed = env.desk.get(env.open(issue_type="Critical"))
    assert typed.priority == "Urgent"
    untyped = env.desk.get(env.open(issue_type="Billing"))
    assert untyped.priority == "Medium"


def test_a_priority_given_wins_over_the_types_default(env: Env) -> None:
    issue = env.desk.get(env.open(issue_type="Critical", priority="Low"))
    assert issue.priority == "Low"


def test_a_priority_the_chosen_agreement_lacks_still_opens_on_its_default_target(
    env: Env,
) -> None:
    # "Critical 24h" has no "Low" target: the issue opens, on the Urgent target.
    issue = env.desk.get(env.open(issue_type="Critical", priority="Low"))
    assert issue.sla is not None
    assert issue.sla.agreement == "Critical 24h"
    assert issue.sla.response_by == START + H


def test_the_agreement_is_applied_again_when_a_field_changes(env: Env) -> None:
    number = env.open()
    assert env.desk.get(number).sla.agreement == "Standard"  # type: ignore[union-attr]
    env.clock.advance(H)
    gold = env.desk.set_details(number, fields={"contract": "gold"}, by="ben")
    assert gold.sla is not None
    assert gold.sla.agreement == "Gold"
    # one hour consumed counts against Gold's four-hour response target
    assert gold.sla.response_by == env.clock.now() + 3 * H
    assert gold.sla.resolution_by == env.clock.now() + 19 * H
    (changed,) = env.events.of_type(AgreementChanged)
    assert (changed.old, changed.new) == ("Standard", "Gold")  # type: ignore[attr-defined]
    assert gold.history[-1].action == "agreement"
    back = env.desk.set_details(number, fields={"contract": "silver"}, by="ben")
    assert back.sla is not None
    assert back.sla.agreement == "Standard"
    assert len(env.events.of_type(AgreementChanged)) == 2


def test_setting_the_type_sets_its_priority_and_switches_the_agreement(env: Env) -> None:
    number = env.open()
    critical = env.desk.set_details(number, issue_type="Critical", by="ben")
    assert critical.issue_type == "Critical"
    assert critical.priority == "Urgent"
    assert critical.sla is not None
    assert critical.sla.agreement == "Critical 24h"
    assert critical.sla.response_by == START + H


def test_set_details_records_history_and_an_event_and_keeps_what_is_not_given(
    env: Env,
) -> None:
    number = env.open(issue_type="Billing", references={"customer": "CUST-1"})
    issue = env.desk.set_details(number, fields={"seats": 3}, by="ben")
    assert issue.issue_type == "Billing"
    assert issue.references == {"customer": "CUST-1"}
    assert issue.fields == {"seats": 3}
    assert issue.history[-1].action == "set_details"
    assert issue.history[-1].detail == "fields"
    (event,) = env.events.of_type(DetailsChanged)
    assert event.fields == {"seats": 3}  # type: ignore[attr-defined]
    assert env.desk.get(number) == issue


def test_setting_the_same_details_again_changes_nothing(env: Env) -> None:
    number = env.open(issue_type="Billing")
    before = env.desk.get(number)
    assert env.desk.set_details(number, issue_type="Billing", by="ben") == before
    assert env.events.of_type(DetailsChanged) == []


def test_the_type_can_be_cleared(env: Env) -> None:
    number = env.open(issue_type="Billing")
    assert env.desk.set_details(number, issue_type=None, by="ben").issue_type is None


def test_changing_the_priority_chooses_the_agreement_again(store: Store) -> None:
    urgent_only = ServiceLevelAgreement(
        name="Urgent desk",
        targets={"Urgent": SlaTarget(response=H / 2)},
        default_priority="Urgent",
        condition=Condition(priorities={"Urgent"}),
    )
    env = Env(store, (STANDARD, urgent_only))
    number = env.open()
    moved = env.desk.set_priority(number, "Urgent", by="ben")
    assert moved.sla is not None
    assert moved.sla.agreement == "Urgent desk"
    assert moved.sla.response_by == START + H / 2


@pytest.mark.parametrize(
    ("details", "argument"),
    [
        ({"issue_type": ""}, "issue_type"),
        ({"issue_type": "Crit\x1bical"}, "issue_type"),
        ({"references": ["customer"]}, "references"),
        ({"references": {"customer": None}}, "references['customer']"),
        ({"references": {"": "x"}}, "references key"),
        ({"fields": {"seats": [1, 2]}}, "fields['seats']"),
        ({"fields": {"ratio": float("nan")}}, "fields['ratio']"),
        ({"fields": {"note": "bell\x07"}}, "fields['note']"),
        ({"fields": "seats=3"}, "fields"),
    ],
)
def test_unusable_details_are_refused(env: Env, details: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        env.open(**details)
    assert caught.value.argument == argument
    number = env.open()
    with pytest.raises(InvalidArgumentError):
        env.desk.set_details(number, by="ben", **details)  # type: ignore[arg-type]


def test_a_non_default_agreement_without_a_condition_does_not_win_over_the_default() -> None:
    everyone = ServiceLevelAgreement(
        name="Everyone", targets={"Medium": SlaTarget(response=H)}, default_priority="Medium"
    )
    issue = open_issue(number="A", subject="s", raised_by="a@b.test", at=START).issue
    assert choose_agreement([everyone, STANDARD], issue) is STANDARD
    # Without a default it is still the catch-all it was.
    assert choose_agreement([everyone], issue) is everyone


def test_a_condition_needs_every_part_to_hold() -> None:
    condition = Condition(
        priorities={"Urgent"},
        issue_types="Critical",
        references={"customer": None},
        fields={"seats": {10, 20}},
    )
    base = open_issue(
        number="A",
        subject="s",
        raised_by="a@b.test",
        at=START,
        priority="Urgent",
        issue_type="Critical",
        references={"customer": "C-1"},
        fields={"seats": 10},
    ).issue
    assert condition.matches(base)
    import attrs

    assert not condition.matches(attrs.evolve(base, priority="Low"))
    assert not condition.matches(attrs.evolve(base, issue_type="Billing"))
    assert not condition.matches(attrs.evolve(base, references={}))
    assert not condition.matches(attrs.evolve(base, fields={"seats": 11}))
    assert not condition.matches(attrs.evolve(base, fields={}))
    assert Condition(fields={"vip": 1}).matches(attrs.evolve(base, fields={"vip": True})) is False


def test_find_filters_by_type_references_and_fields(env: Env) -> None:
    critical = env.open(issue_type="Critical", references={"customer": "C-1"}, fields={"n": 1})
    billing = env.open(issue_type="Billing", references={"customer": "C-2"}, fields={"n": True})
    plain = env.open()

    def found(**filters: Any) -> list[str]:
        return [issue.number for issue in env.desk.find_page(sort="created", **filters)]

    assert found(issue_types=["Critical"]) == [critical]
    assert found(issue_types=["Critical", "Billing"]) == [critical, billing]
    assert found(references={"customer": "C-2"}) == [billing]
    assert found(fields={"n": 1}) == [critical]
    assert found(fields={"n": True}) == [billing]
    assert found(fields={"n": 1}, issue_types=["Billing"]) == []
    assert plain in found()
    env.desk.set_details(critical, issue_type=None, fields={}, by="ben")
    assert found(issue_types=["Critical"]) == []
    assert found(fields={"n": 1}) == []
