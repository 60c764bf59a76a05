"""Several processes sharing one database lose no update and never draw a number twice."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from store_workers import open_and_report, open_store, read_modify_write

from issuecore.adapters.sql import MIGRATIONS as SQL_MIGRATIONS
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from issuecore.testing.contracts import simple_issue

SPAWN = multiprocessing.get_context("spawn")


def _run(target: Any, processes: int, *arguments: Any) -> list[Any]:
    """Start ``processes`` workers that begin together; return what each reported."""
    start = SPAWN.Barrier(processes)
    results = SPAWN.Queue()
    workers = [
        SPAWN.Process(target=target, args=(*arguments, start, results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        reported = [results.get(timeout=300) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
        results.close()
        results.join_thread()
    assert [worker.exitcode for worker in workers] == [0] * processes
    return reported


def _check_no_lost_update_and_no_repeated_number(
    kind: str, location: str, prefix: str, *, processes: int, rounds: int, same_transaction: bool
) -> int:
    numbers = [f"C-{index}" for index in range(3)]
    with open_store(kind, location, prefix) as store, store.transaction() as work:
        for number in numbers:
            work.insert_issue(attrs.evolve(simple_issue(number), subject="0"), wake_at=None)
        work.commit()
    reported = _run(
        read_modify_write, processes, kind, location, prefix, numbers, rounds, same_transaction
    )
    with open_store(kind, location, prefix) as store, store.transaction(read_only=True) as work:
        stored = [work.get_issue(number) for number in numbers]
    successes = sum(successes for successes, _, _ in reported)
    conflicts: int = sum(conflicts for _, conflicts, _ in reported)
    drawn = [sequence for _, _, sequences in reported for sequence in sequences]
    assert successes == processes * rounds
    assert sum(int(issue.subject) for issue in stored) == successes
    assert [issue.version for issue in stored] == [int(issue.subject) + 1 for issue in stored]
    assert sorted(drawn) == list(range(1, processes * rounds + 1))
    return conflicts


def test_two_processes_on_one_sqlite_file_lose_no_update(tmp_path: Path) -> None:
    _check_no_lost_update_and_no_repeated_number(
        "sqlite",
        str(tmp_path / "desk.db"),
        "",
        processes=2,
        rounds=100,
        same_transaction=False,
    )


def test_processes_opening_a_new_sqlite_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    assert _run(open_and_report, 4, "sqlite", str(path), "") == [len(SQLITE_MIGRATIONS)] * 4
    with open_store("sqlite", str(path), "") as store, store.transaction() as work:
        assert work.find_issues() == []


@pytest.fixture
def postgres_url() -> Iterator[tuple[str, str]]:
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; give a PostgreSQL URL to run these")
    prefix = f"c{uuid.uuid4().hex[:10]}_"
    yield url, prefix
    with SqlStore(url, table_prefix=prefix) as store:
        store.drop_tables()


def test_four_processes_on_postgresql_lose_no_update(postgres_url: tuple[str, str]) -> None:
    url, prefix = postgres_url
    _check_no_lost_update_and_no_repeated_number(
        "sql", url, prefix, processes=4, rounds=50, same_transaction=True
    )


def test_processes_opening_a_new_postgresql_schema_at_once_migrate_it_once(
    postgres_url: tuple[str, str],
) -> None:
    url, prefix = postgres_url
    assert _run(open_and_report, 4, "sql", url, prefix) == [len(SQL_MIGRATIONS)] * 4
