"""Several workers sweeping one database raise each SLA event once and close each issue once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from concurrency_support import run_together

from issuecore.testing import FakeClock

WORKER = Path(__file__).with_name("sweep_worker.py")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISSUES = 40


def prepare(store: Any) -> list[str]:
    """Open issues at START; half get an agent reply, so they wait and can auto-close."""
    from sweep_worker import desk_on  # type: ignore[import-not-found]

    desk = desk_on(store, FakeClock(START))
    numbers = []
    for index in range(ISSUES):
        number = desk.open_issue(subject=f"s{index}", raised_by="c@customer.test", body="b").number
        if index % 2:
            desk.reply(number, body="Please check.", author="agent@example.com")
        numbers.append(number)
    return numbers


def sweep_together(spec: str, workers: int) -> list[dict[str, Any]]:
    instant = (START + timedelta(days=8)).isoformat()
    return run_together(WORKER, [[spec, instant] for _ in range(workers)])


def check(numbers: list[str], results: list[dict[str, Any]]) -> None:
    breaches = Counter(tuple(pair) for result in results for pair in result["breaches"])
    closed = Counter(number for result in results for number in result["closed"])
    waiting = set(numbers[1::2])
    open_ones = set(numbers[0::2])
    # Open issues breach both targets; waiting ones met the response and are paused.
    assert set(breaches) == {(n, "response") for n in open_ones} | {
        (n, "resolution") for n in open_ones
    }
    assert all(count == 1 for count in breaches.values()), "an SLA event was raised twice"
    assert set(closed) == waiting
    assert all(count == 1 for count in closed.values()), "an issue was auto-closed twice"


def test_two_workers_sweeping_one_sqlite_file_raise_each_event_once(tmp_path: Path) -> None:
    from issuecore.adapters.sqlite import SQLiteStore

    path = tmp_path / "desk.db"
    with SQLiteStore(path) as store:
        numbers = prepare(store)
    check(numbers, sweep_together(str(path), 2))


def test_four_workers_sweeping_postgresql_raise_each_event_once(postgres_spec: str) -> None:
    from issuecore.adapters.sql import SqlStore

    url, _, prefix = postgres_spec.partition("#")
    with SqlStore(url, table_prefix=prefix) as store:
        numbers = prepare(store)
    check(numbers, sweep_together(postgres_spec, 4))
