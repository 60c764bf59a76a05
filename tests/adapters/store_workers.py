"""Functions that worker processes run in the store concurrency tests (importable under spawn)."""

from __future__ import annotations

from typing import Any

import attrs

from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import ConcurrencyConflictError
from issuecore.ports import Store


def open_store(kind: str, location: str, prefix: str) -> SQLiteStore | SqlStore:
    """Open the store the test names: a SQLite file or a server database with a table prefix."""
    if kind == "sqlite":
        return SQLiteStore(location)
    return SqlStore(location, table_prefix=prefix)


def _increment(store: Store, number: str, *, same_transaction: bool) -> None:
    if same_transaction:
        with store.transaction() as work:
            issue = work.get_issue(number)
            work.update_issue(
                attrs.evolve(issue, subject=str(int(issue.subject) + 1)), wake_at=None
            )
            work.commit()
        return
    with store.transaction(read_only=True) as work:
        issue = work.get_issue(number)
    with store.transaction() as work:
        work.update_issue(attrs.evolve(issue, subject=str(int(issue.subject) + 1)), wake_at=None)
        work.commit()


def read_modify_write(
    kind: str,
    location: str,
    prefix: str,
    numbers: list[str],
    rounds: int,
    same_transaction: bool,
    start: Any,
    results: Any,
) -> None:
    """Increment the issues' counters ``rounds`` times, retrying on conflict, then draw numbers.

    Puts ``(successes, conflicts, sequences drawn)`` on ``results``.
    """
    store = open_store(kind, location, prefix)
    try:
        start.wait()
        successes = conflicts = 0
        for round_number in range(rounds):
            number = numbers[round_number % len(numbers)]
            while True:
                try:
                    _increment(store, number, same_transaction=same_transaction)
                except ConcurrencyConflictError:
                    conflicts += 1
                else:
                    successes += 1
                    break
        sequences = []
        for _ in range(rounds):
            with store.transaction() as work:
                sequences.append(work.next_sequence(2026))
                work.commit()
        results.put((successes, conflicts, sequences))
    finally:
        store.close()


def open_and_report(kind: str, location: str, prefix: str, start: Any, results: Any) -> None:
    """Open the store at the same moment as the other workers and report its schema version."""
    start.wait()
    store = open_store(kind, location, prefix)
    try:
        results.put(store.schema_version)
    finally:
        store.close()
