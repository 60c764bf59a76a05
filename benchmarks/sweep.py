"""The sweep's cost grows with the issues due, not with the issues stored.

Run with ``.venv/bin/python benchmarks/sweep.py`` (add ``--postgres URL`` or set
``ISSUECORE_TEST_POSTGRES_URL`` to include PostgreSQL). Stores 10,000 and
1,000,000 issues, the same 100 of them due, on SQLite and on PostgreSQL, and
times ``due_issues(now, limit=100)`` inside an open unit of work (the query
the sweep runs) and a whole ``HelpDesk.tick()`` that processes those 100
issues. Prints best and median per call, and the ratio of the
1,000,000-issue time to the 10,000-issue time side by side (target: at most
2). The SQLite files are kept under the temporary directory and reused by
later runs; the PostgreSQL tables are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from issuecore._codec import issue_document, to_micros
from issuecore._desk import DeskSettings, HelpDesk
from issuecore._workflow import format_issue_number, open_issue
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import MIGRATIONS, SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

SIZES = (10_000, 1_000_000)
DUE = 100
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CALLS = 300
TICKS = 7
TARGET = 2.0
COLUMNS = ("number", "status", "raised_by", "version", "wake_at", "created_at", "updated_at")


def rows(count: int) -> Iterator[tuple[Any, ...]]:
    """Yield ``count`` issue rows: ``DUE`` due before NOW, half the rest later, half never."""
    template = open_issue(
        number="ISS-2026-00000",
        subject="The printer on the second floor prints blank pages",
        raised_by="ana.silva@example.com",
        at=NOW - timedelta(days=30),
    ).issue
    document = issue_document(attrs.evolve(template, version=1))
    created = to_micros("created_at", template.created_at)
    now = to_micros("now", NOW)
    minute = 60_000_000
    for index in range(count):
        number = format_issue_number(2026, index + 1, prefix="BEN")
        if index < DUE:
            wake_at: int | None = now - (index + 1) * minute
        elif index % 2:
            wake_at = now + (index % 50_000 + 1) * minute
        else:
            wake_at = None
        yield (
            number,
            "Open",
            "ana.silva@example.com",
            1,
            wake_at,
            created + index,
            created + index,
            document.replace("ISS-2026-00000", number),
        )


def load_sqlite(directory: Path, count: int) -> Path:
    """Return a SQLite file holding ``count`` issues, built now or by an earlier run."""
    path = directory / f"sweep-{count}-schema{len(MIGRATIONS)}.db"
    if path.exists():
        with closing(sqlite3.connect(path)) as connection:
            if connection.execute("SELECT count(*) FROM issues").fetchone()[0] == count:
                sqlite_reset(path)()  # the same issues due as when it was built
                return path
        path.unlink()
    started = time.perf_counter()
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO issues ({', '.join(COLUMNS)}, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows(count),
        )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    print(f"  loaded {count:>9,} issues into SQLite in {time.perf_counter() - started:.1f} s")
    return path


def load_postgres(url: str, count: int) -> SqlStore:
    """Return a store on PostgreSQL holding ``count`` issues, loaded with COPY if missing."""
    store = SqlStore(url, table_prefix=f"bench_sweep_{count}_")
    table = f"bench_sweep_{count}_issues"
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    if stored == count:
        postgres_reset(store, count)()  # the same issues due as when it was loaded
        return store
    started = time.perf_counter()
    raw = store.engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")
            copy_sql = f"COPY {table} ({', '.join(COLUMNS)}, document) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for row in rows(count):
                    copy.write_row(row)
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
    print(f"  loaded {count:>9,} issues into PostgreSQL in {time.perf_counter() - started:.1f} s")
    return store


def measure(store: Store) -> tuple[float, float, list[str]]:
    """Return the best and median seconds of one sweep query, and what it returned."""
    timings = []
    with store.transaction() as work:
        found = work.due_issues(NOW, limit=DUE)
    for _ in range(CALLS):
        with store.transaction() as work:
            started = time.perf_counter()
            work.due_issues(NOW, limit=DUE)
            timings.append(time.perf_counter() - started)
    return min(timings), statistics.median(timings), found


def run(name: str, open_store: Callable[[int], Store]) -> dict[int, tuple[float, float]]:
    """Measure the sweep on both sizes; check both return the same 100 numbers."""
    results: dict[int, tuple[float, float]] = {}
    expected: list[str] | None = None
    for count in SIZES:
        store = open_store(count)
        try:
            best, median, found = measure(store)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
        numbers = sorted(found)
        if len(found) != DUE or (expected is not None and numbers != expected):
            raise SystemExit(f"{name}: the sweep of {count:,} issues found other issues")
        expected = numbers
        results[count] = (best, median)
    return results


def due_again(execute: Callable[[str, list[dict[str, Any]]], None], table: str) -> None:
    """Make the same ``DUE`` issues due again, as they were loaded (outside any timing)."""
    now = to_micros("now", NOW)
    minute = 60_000_000
    execute(
        f"UPDATE {table} SET wake_at = :wake WHERE number = :number",
        [
            {
                "wake": now - (index + 1) * minute,
                "number": format_issue_number(2026, index + 1, prefix="BEN"),
            }
            for index in range(DUE)
        ],
    )


def measure_tick(store: Store, reset: Callable[[], None]) -> tuple[float, float]:
    """Return the best and median seconds of a whole ``HelpDesk.tick()`` over the due issues."""
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(NOW),
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"s" * 32),
        ),
    )
    timings = []
    for _ in range(TICKS):
        reset()
        started = time.perf_counter()
        desk.tick()
        timings.append(time.perf_counter() - started)
        with store.transaction(read_only=True) as work:
            if work.due_issues(NOW, limit=DUE):
                raise SystemExit("the tick left due issues behind")
    return min(timings), statistics.median(timings)


def sqlite_reset(path: Path) -> Callable[[], None]:
    def reset() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            due_again(
                lambda sql, rows: connection.executemany(
                    sql.replace(":wake", "?").replace(":number", "?"),
                    [(r["wake"], r["number"]) for r in rows],
                ),
                "issues",
            )
            connection.execute("COMMIT")

    return reset


def postgres_reset(store: SqlStore, count: int) -> Callable[[], None]:
    def reset() -> None:
        with store.engine.begin() as connection:
            due_again(
                lambda sql, rows: connection.execute(sa.text(sql), rows),
                f"bench_sweep_{count}_issues",
            )

    return reset


def run_ticks(
    name: str, open_store: Callable[[int], tuple[Store, Callable[[], None]]]
) -> dict[int, tuple[float, float]]:
    """Measure a whole tick on both sizes."""
    results: dict[int, tuple[float, float]] = {}
    for count in SIZES:
        store, reset = open_store(count)
        try:
            results[count] = measure_tick(store, reset)
            reset()  # leave the same issues due, as loaded, for the next run
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
    return results


def sqlite_plan(path: Path) -> str:
    """Return SQLite's plan for the sweep query."""
    with closing(sqlite3.connect(path)) as connection:
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT number FROM issues WHERE wake_at IS NOT NULL "
            "AND wake_at <= ? ORDER BY wake_at, number LIMIT ?",
            (to_micros("now", NOW), DUE),
        ).fetchall()
    return "; ".join(str(row[-1]) for row in plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("ISSUECORE_TEST_POSTGRES_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL tables")
    options = parser.parse_args()
    directory = Path(tempfile.gettempdir()) / "issuecore-benchmarks"
    directory.mkdir(exist_ok=True)

    print(f"sweep: due_issues(now, limit={DUE}) with {DUE} due; {CALLS} calls per size")
    print(f"  and a whole HelpDesk.tick() over the same {DUE} due issues; {TICKS} ticks per size")
    measured: dict[str, dict[int, tuple[float, float]]] = {}
    measured["SQLite query"] = run(
        "SQLite", lambda count: SQLiteStore(load_sqlite(directory, count))
    )
    print(f"  SQLite plan: {sqlite_plan(load_sqlite(directory, SIZES[-1]))}")
    measured["SQLite tick"] = run_ticks(
        "SQLite",
        lambda count: (
            SQLiteStore(load_sqlite(directory, count)),
            sqlite_reset(load_sqlite(directory, count)),
        ),
    )
    if options.postgres:
        measured["PG query"] = run(
            "PostgreSQL", lambda count: load_postgres(options.postgres, count)
        )

        def postgres_with_reset(count: int) -> tuple[Store, Callable[[], None]]:
            store = load_postgres(options.postgres, count)
            return store, postgres_reset(store, count)

        measured["PG tick"] = run_ticks("PostgreSQL", postgres_with_reset)
        if not options.keep:
            for count in SIZES:
                with SqlStore(options.postgres, table_prefix=f"bench_sweep_{count}_") as store:
                    store.drop_tables()
    else:
        print("  PostgreSQL: not measured; give --postgres URL or set ISSUECORE_TEST_POSTGRES_URL")
    print()

    small, large = SIZES
    header = f"{'measured':12} {f'{small:,} stored':>22} {f'{large:,} stored':>22}"
    print(f"{header} {'ratio':>7}  target")
    print(f"{'':12} {'best / median µs':>22} {'best / median µs':>22}")
    failed = False
    for name, results in measured.items():
        cells = [f"{results[size][0] * 1e6:9.1f} / {results[size][1] * 1e6:9.1f}" for size in SIZES]
        ratio = results[large][0] / results[small][0]
        verdict = "ok" if ratio <= TARGET else "MISSED"
        failed = failed or ratio > TARGET
        print(f"{name:12} {cells[0]:>22} {cells[1]:>22} {ratio:7.2f}  <= {TARGET:.0f} {verdict}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
