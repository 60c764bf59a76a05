"""One datetime type: every instant the desk or a store gives back is a pendulum DateTime in UTC.

One scenario runs on every store with a clock standing in Berlin time; the
issue, its history and SLA clock, its thread, the events published and the
dead letters come back with the same values and the same type everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingEventSink, RecordingMailer
from issuecore.testing.contracts import instants_in, is_pendulum_utc
from stores import STORE_KINDS, fresh_store

H = timedelta(hours=1)
BERLIN_MORNING = pendulum.datetime(2026, 3, 2, 9, 0, tz="Europe/Berlin")
AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H)},
    default_priority="Medium",
    default=True,
)


class _FailingSink(RecordingEventSink):
    def publish(self, event: Any, *, effect_id: str | None = None) -> None:
        super().publish(event, effect_id=effect_id)
        if type(event).__name__ == "NoteAdded":
            raise ConnectionError("sink down")


def _scenario(store: Store) -> dict[str, Any]:
    clock = FakeClock(BERLIN_MORNING)
    events = _FailingSink()
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=clock,
        agreements=(AGREEMENT,),
        events=events,
        settings=DeskSettings(support_address="support@example.com", send_attempts=1),
    )
    number = desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="Help").number
    clock.advance(3 * H)  # the response target is breached
    desk.tick()
    desk.reply(number, body="Looking", author="ben")
    clock.advance(H)
    desk.hold(number, by="ben", reason="vendor")
    desk.add_note(number, body="asked the vendor", author="ben")
    clock.advance(H)
    desk.act(number, "customer_message", by="ben")
    desk.resolve(number, by="ben")
    return {
        "issue": desk.get(number),
        "found": desk.find(),
        "thread": desk.thread(number),
        "events": list(events.events),
        "dead": [(item.created_at, item.dead_at) for item in desk.dead_letters()],
    }


def _without_ids(values: list[Any]) -> list[Any]:
    # Each desk signs its own Message-IDs; everything else must be equal.
    return [
        attrs.evolve(value, message_id=None) if hasattr(value, "message_id") else value
        for value in values
    ]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


def test_every_instant_out_of_the_desk_is_a_pendulum_datetime_in_utc(store: Store) -> None:
    result = _scenario(store)
    found = instants_in(list(result.values()))
    assert len(found) > 40
    assert [(type(value), value.tzinfo) for value in found if not is_pendulum_utc(value)] == []
    assert result["dead"], "the failing sink leaves a dead letter"


def test_every_store_gives_back_the_same_instants(store: Store, tmp_path: Path) -> None:
    with fresh_store("memory", tmp_path) as reference:
        expected = _scenario(reference)
    result = _scenario(store)
    assert result["issue"] == expected["issue"]
    assert _without_ids(result["thread"]) == _without_ids(expected["thread"])
    assert _without_ids(result["events"]) == _without_ids(expected["events"])
    assert [str(value) for value in instants_in(result["issue"])] == [
        str(value) for value in instants_in(expected["issue"])
    ]
    assert len(result["dead"]) == len(expected["dead"])


def test_an_instant_given_in_any_zone_is_kept_as_the_same_instant_in_utc(store: Store) -> None:
    issue = _scenario(store)["issue"]
    assert issue.created_at == BERLIN_MORNING
    assert issue.created_at.isoformat() == "2026-03-02T08:00:00+00:00"
    assert isinstance(issue.created_at, datetime)
