"""What the in-memory store promises beyond the contract, and the contract's own fixtures."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest

from issuecore.adapters.memory import InMemoryStore
from issuecore.errors import ConcurrencyConflictError
from issuecore.testing.contracts import populated_entry, populated_issue, simple_issue


def _fields_left_at_default(value: Any) -> list[str]:
    left = []
    for field in attrs.fields(type(value)):
        default: Any = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        current = getattr(value, field.name)
        if current == default:
            left.append(field.name)
        elif attrs.has(type(current)):
            left.extend(f"{field.name}.{name}" for name in _fields_left_at_default(current))
    return left


def test_the_contract_round_trips_an_issue_with_every_field_set() -> None:
    assert _fields_left_at_default(populated_issue("ISS-2026-00001")) == []


def test_the_contract_round_trips_an_entry_with_every_field_set() -> None:
    assert _fields_left_at_default(populated_entry()) == []


def test_a_second_transaction_in_the_same_thread_is_refused() -> None:
    store = InMemoryStore()
    with store.transaction(), pytest.raises(RuntimeError, match="already open"):
        store.transaction().__enter__()


def test_threads_incrementing_with_retry_lose_no_update() -> None:
    store = InMemoryStore()
    with store.transaction() as work:
        work.insert_issue(attrs.evolve(simple_issue("ISS-2026-00001"), subject="0"), wake_at=None)
        work.commit()
    conflicts = []

    def increment(times: int) -> None:
        for _ in range(times):
            while True:
                with store.transaction(read_only=True) as work:
                    issue = work.get_issue("ISS-2026-00001")
                try:
                    with store.transaction() as work:
                        changed = attrs.evolve(issue, subject=str(int(issue.subject) + 1))
                        work.update_issue(changed, wake_at=None)
                        work.commit()
                except ConcurrencyConflictError:
                    conflicts.append(1)
                else:
                    break

    threads = [threading.Thread(target=increment, args=(200,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.transaction(read_only=True) as work:
        stored = work.get_issue("ISS-2026-00001")
    assert (stored.subject, stored.version) == ("800", 801)
