"""Stores keep an SLA clock in the flat document they always kept, whatever its shape in memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from issuecore import SlaClock, SlaRole, SlaTargetName, TargetState
from issuecore._codec import decode, encode
from issuecore._sla.clock import Period
from issuecore._workflow import open_issue
from stores import STORE_KINDS, fresh_store

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)

# Written by the release whose clock held response_* and resolution_* fields.
STORED: dict[str, Any] = {
    "agreement": "Standard",
    "priority": "High",
    "response_target": 14400000000,
    "resolution_target": 172800000000,
    "started_at": "2026-03-02T09:00:00+00:00",
    "role": "running",
    "periods": [
        {
            "start": "2026-03-02T09:00:00+00:00",
            "end": "2026-03-02T10:00:00+00:00",
            "business": 3600000000,
        }
    ],
    "consumed": 3600000000,
    "running_since": "2026-03-02T11:00:00+00:00",
    "paused_since": None,
    "responded_at": "2026-03-02T10:00:00+00:00",
    "response_met": True,
    "response_business": 3600000000,
    "resolved_at": None,
    "resolution_met": None,
    "resolution_business": None,
    "response_by": None,
    "resolution_by": "2026-03-04T11:00:00+00:00",
    "breached": ["resolution"],
    "notified": ["at_risk:response", "breached:resolution"],
    "hold_business": 1800000000,
    "hold_elapsed": 3600000000,
    "reset_at": "2026-03-02T09:00:00+00:00",
    "reset_by": "bob",
    "reset_reason": "wrong priority",
}

CLOCK = SlaClock(
    agreement="Standard",
    priority="High",
    response=TargetState(
        name=SlaTargetName.RESPONSE,
        target=4 * H,
        done_at=AT + H,
        met=True,
        business=H,
        reported=("at_risk",),
    ),
    resolution=TargetState(
        name=SlaTargetName.RESOLUTION,
        target=48 * H,
        due_by=AT + 50 * H,
        breached=True,
        reported=("breached",),
    ),
    started_at=AT,
    role=SlaRole.RUNNING,
    periods=(Period(start=AT, end=AT + H, business=H),),
    consumed=H,
    running_since=AT + 2 * H,
    hold_business=H / 2,
    hold_elapsed=H,
    reset_at=AT,
    reset_by="bob",
    reset_reason="wrong priority",
)


def test_a_clock_is_stored_in_the_flat_document_of_earlier_releases() -> None:
    document = encode(CLOCK, SlaClock)
    assert list(document) == list(STORED)
    assert document == STORED


def test_a_flat_document_of_earlier_releases_reads_back_as_one_state_per_target() -> None:
    assert decode(STORED, SlaClock) == CLOCK


def test_a_clock_without_a_resolution_target_round_trips() -> None:
    untargeted = TargetState(name=SlaTargetName.RESOLUTION, target=None, done_at=AT + 3 * H)
    clock = attrs.evolve(CLOCK, resolution=untargeted, role=SlaRole.FULFILLED)
    document = encode(clock, SlaClock)
    assert (document["resolution_target"], document["resolved_at"]) == (
        None,
        "2026-03-02T12:00:00+00:00",
    )
    assert document["breached"] == []
    assert decode(json.loads(json.dumps(document)), SlaClock) == clock


def test_a_stored_notice_naming_no_target_is_refused() -> None:
    with pytest.raises(ValueError, match="names no target"):
        decode({**STORED, "notified": ["response:at_risk"]}, SlaClock)


def test_a_target_in_the_wrong_place_is_refused() -> None:
    with pytest.raises(ValueError, match="response holds the resolution target"):
        attrs.evolve(CLOCK, response=CLOCK.resolution)
    with pytest.raises(ValueError, match="every agreement has a response target"):
        attrs.evolve(CLOCK, response=TargetState(name=SlaTargetName.RESPONSE, target=None))


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_every_store_reads_back_the_targets_it_was_given(kind: str, tmp_path: Path) -> None:
    opened = open_issue(number="ISS-2026-00001", subject="s", raised_by="a@b.test", at=AT)
    issue = attrs.evolve(opened.issue, sla=CLOCK)
    with fresh_store(kind, tmp_path) as store:
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=None)
            work.commit()
        with store.transaction(read_only=True) as work:
            kept = work.get_issue(issue.number).sla
    assert kept == CLOCK
    assert kept is not None
    assert (kept.response.reported, kept.resolution.reported) == (("at_risk",), ("breached",))
