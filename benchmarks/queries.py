"""Finding, searching and reporting cost the same at ten thousand issues as at a million.

Run with ``.venv/bin/python benchmarks/queries.py`` (add ``--postgres URL``
or set ``ISSUECORE_TEST_POSTGRES_URL`` to include PostgreSQL; ``--sizes`` to
change the sizes). Reuses the stores ``benchmarks/console.py`` builds (the
SQLite files under the temporary directory, the PostgreSQL tables
``bench_web_{count}_*`` it keeps with ``--keep``) and fills the ones
missing the same way; a store an earlier run left incomplete is dropped and
filled again, so do not run this while ``console.py`` is filling one.

To each store it adds, once, the same ``REPORT_COUNT`` issues opened in
``REPORT_MONTH`` (numbers ``RPT-2025-…``, every priority, a quarter each
answered and resolved in time, answered late and resolved, answered and
left open past the resolution deadline, never answered): every size holds
the same issues in that month, beside however many opened later. On
PostgreSQL it then runs ``ANALYZE`` on the store's tables (what autovacuum
does after a bulk load), so the plans are those a running server chooses.
Then it times, through :class:`~issuecore._desk.HelpDesk`:

- ``find_page`` of the first page of open issues by their next deadline
  (the command line's ``list``);
- a text search for a word only those issues hold, open ones first by
  deadline (``list --search``), so the matches are the same at each size;
- ``report`` of ``REPORT_MONTH`` by priority.

Prints best and median of ``CALLS`` calls each, the ratio of the largest
size to the smallest (target: at most 2; exit status 1 when one misses),
and the query plan (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on
PostgreSQL) of each measured call's statement at the largest size.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect

import console  # benchmarks/console.py: this script's directory is first on sys.path
from issuecore._desk import DeskSettings, HelpDesk
from issuecore._model import Action, Actor, Issue
from issuecore._queries import IssueQuery, IssueSort
from issuecore._sla.clock import SlaRole
from issuecore._sla.tracking import follow, start_sla
from issuecore._workflow import Workflow, format_issue_number, open_issue
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.config import DEFAULT_AGREEMENT
from issuecore.errors import IssueNotFoundError
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

CALLS = 25
REPORT_PREFIX = "RPT"
REPORT_MONTH = "2025-11"
REPORT_COUNT = 1_000
REPORT_START = datetime(2025, 11, 1, 8, 0, tzinfo=UTC)
SEARCH = "toner"
AGENT = "ben@x.test"

Plans = dict[str, list[str]]


def report_issues() -> list[Issue]:
    """Return the issues of the reported month, each in one of four outcomes."""
    workflow = Workflow.default()
    agent = Actor.agent(AGENT)
    made = []
    for index in range(REPORT_COUNT):
        opened = REPORT_START + timedelta(minutes=40 * index)
        change = start_sla(
            open_issue(
                number=format_issue_number(2025, index + 1, prefix=REPORT_PREFIX),
                subject=f"Toner leaks from the printer on floor {index % 9}, case {index}",
                raised_by=f"buyer{index}@example.com",
                at=opened,
                priority=console.PRIORITIES[index % len(console.PRIORITIES)],
            ),
            [DEFAULT_AGREEMENT],
        )
        outcome = index % 4
        steps: list[tuple[str, timedelta]] = []
        if outcome == 0:  # answered within the hour, resolved the next day
            steps = [(Action.AGENT_REPLY, timedelta(hours=1)), (Action.RESOLVE, timedelta(days=1))]
        elif outcome == 1:  # answered after three days, resolved after ten
            steps = [(Action.AGENT_REPLY, timedelta(days=3)), (Action.RESOLVE, timedelta(days=10))]
        elif outcome == 2:  # answered in time, never resolved
            steps = [(Action.AGENT_REPLY, timedelta(hours=2))]
        for action, after in steps:
            change = follow(
                workflow.apply(change.issue, action, at=opened + after, actor=agent),
                DEFAULT_AGREEMENT,
                action=action,
            )
        made.append(change.issue)
    return made


def add_report_issues(store: Store) -> None:
    """Store the reported month's issues unless an earlier run did (the last one is there)."""
    last = format_issue_number(2025, REPORT_COUNT, prefix=REPORT_PREFIX)
    try:
        with store.transaction(read_only=True) as work:
            work.get_issue(last)
        return
    except IssueNotFoundError:
        pass
    with store.transaction() as work:
        for issue in report_issues():
            try:
                work.get_issue(issue.number)
                continue
            except IssueNotFoundError:
                pass
            wake_at = issue.sla.wake_at(DEFAULT_AGREEMENT) if issue.sla is not None else None
            work.insert_issue(issue, wake_at=wake_at, at_risk_at=None)
        work.commit()
    print(f"  added {REPORT_COUNT:,} issues opened in {REPORT_MONTH}", flush=True)


def make_desk(store: Store) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(console.NOW),
        agreements=[DEFAULT_AGREEMENT],
        settings=DeskSettings(
            "support@example.com",
            agents={AGENT},
            mail=MailSettings(support_address="support@example.com", signing_key=b"k" * 32),
        ),
    )


def calls(desk: HelpDesk) -> dict[str, Callable[[], int]]:
    """Return the measured calls by name; each returns how many issues it saw."""
    workflow = desk.workflow
    still_open = tuple(
        spec.name
        for spec in workflow.statuses
        if not spec.closed and workflow.sla_role(spec.name) is not SlaRole.FULFILLED
    )
    first_page = IssueQuery(statuses=still_open, sort=IssueSort.DEADLINE, limit=50)
    search = IssueQuery(statuses=still_open, text=SEARCH, sort=IssueSort.DEADLINE, limit=50)
    return {
        "open by deadline": lambda: len(desk.find_page(first_page)),
        f"search {SEARCH!r}": lambda: len(desk.find_page(search)),
        f"report {REPORT_MONTH}": lambda: desk.report(REPORT_MONTH, by="priority").total.opened,
    }


class Recorder:
    """Keeps the statements a store runs while recording; nothing is traced the rest of the time."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.attach: Callable[[], None] = lambda: None
        self.detach: Callable[[], None] = lambda: None

    @contextmanager
    def record(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self.attach()
        try:
            yield self.statements
        finally:
            self.detach()

    def main_statement(self) -> tuple[str, Any] | None:
        """Return the longest SELECT recorded: the one reading the issues."""
        selects = [item for item in self.statements if item[0].lstrip()[:6].upper() == "SELECT"]
        return max(selects, key=lambda item: len(item[0]), default=None)


def trace_sqlite(store: SQLiteStore, recorder: Recorder) -> Callable[[str, Any], list[str]]:
    """Let ``recorder`` trace the SQL of ``store`` (values bound); return how to explain one."""

    # The store keeps its idle connections; a single-threaded caller always gets this one back.
    def attach() -> None:
        with store._connection() as connection:
            connection.set_trace_callback(lambda sql: recorder.statements.append((sql, None)))

    def detach() -> None:
        with store._connection() as connection:
            connection.set_trace_callback(None)

    recorder.attach, recorder.detach = attach, detach

    def explain(sql: str, parameters: Any) -> list[str]:
        # The traced SQL has its values bound already; ``parameters`` is None.
        explainer = sqlite3.connect(store.path)
        try:
            rows = explainer.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        finally:
            explainer.close()
        depth = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines

    return explain


def trace_sql(store: SqlStore, recorder: Recorder) -> Callable[[str, Any], list[str]]:
    """Let ``recorder`` trace the statements of ``store``'s engine; return how to explain one."""

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        recorder.statements.append((statement, parameters))

    recorder.attach = lambda: event.listen(store.engine, "before_cursor_execute", before)
    recorder.detach = lambda: event.remove(store.engine, "before_cursor_execute", before)

    def explain(statement: str, parameters: Any) -> list[str]:
        with store.engine.connect() as connection:
            result = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            return [f"  {row[0]}" for row in result]

    return explain


def analyse(store: SqlStore, prefix: str) -> None:
    """Bring PostgreSQL's statistics of the store's tables up to date, as autovacuum would."""
    names = [name for name in inspect(store.engine).get_table_names() if name.startswith(prefix)]
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"ANALYZE {', '.join(names)}")


def measure(
    store: Store, explain: Callable[[str, Any], list[str]] | None, recorder: Recorder
) -> tuple[dict[str, tuple[float, float]], Plans]:
    """Return best and median seconds per call, and its plan when ``explain`` is given."""
    desk = make_desk(store)
    results = {}
    plans: Plans = {}
    for name, call in calls(desk).items():
        timings = []
        seen = 0
        for _ in range(CALLS):
            began = time.perf_counter()
            seen = call()
            timings.append(time.perf_counter() - began)
        expected = REPORT_COUNT if name.startswith("report") else 50
        if seen != expected:
            raise SystemExit(f"{name}: saw {seen} issues, expected {expected}")
        results[name] = (min(timings), statistics.median(timings))
        if explain is not None:
            with recorder.record():
                call()
            chosen = recorder.main_statement()
            if chosen is None:
                plans[name] = ["(no SELECT was recorded)"]
            else:
                plans[name] = [chosen[0], *explain(*chosen)]
    return results, plans


def run(
    name: str,
    open_store: Callable[[int], Store],
    sizes: tuple[int, ...],
    plans: dict[str, Plans],
) -> dict[str, dict[int, tuple[float, float]]]:
    measured: dict[str, dict[int, tuple[float, float]]] = {}
    for count in sizes:
        store = open_store(count)
        try:
            add_report_issues(store)
            recorder = Recorder()
            explain: Callable[[str, Any], list[str]] | None = None
            if count == max(sizes):
                if isinstance(store, SQLiteStore):
                    explain = trace_sqlite(store, recorder)
                elif isinstance(store, SqlStore):
                    explain = trace_sql(store, recorder)
            figures, found = measure(store, explain, recorder)
            for call, numbers in figures.items():
                measured.setdefault(f"{name} {call}", {})[count] = numbers
            if found:
                plans[f"{name} at {count:,} issues"] = found
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("ISSUECORE_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--sizes", type=int, nargs=2, default=console.SIZES, metavar=("SMALL", "LARGE")
    )
    options = parser.parse_args()
    sizes = tuple(options.sizes)
    directory = Path(tempfile.gettempdir()) / "issuecore-benchmarks"
    directory.mkdir(exist_ok=True)
    print(f"queries: first page by deadline, a text search, a month's report; {CALLS} calls each")
    plans: dict[str, Plans] = {}
    measured = run("SQLite", lambda count: console.sqlite_store(directory, count), sizes, plans)
    if options.postgres:

        def postgres(count: int) -> SqlStore:
            store = SqlStore(options.postgres, table_prefix=f"bench_web_{count}_")
            if not console.complete(store, count):
                store.drop_tables()
                store.close()
                store = SqlStore(options.postgres, table_prefix=f"bench_web_{count}_")
                console.fill(store, count)
            return store

        def analysed(count: int) -> Store:
            store = postgres(count)
            add_report_issues(store)
            analyse(store, f"bench_web_{count}_")
            return store

        measured.update(run("PG", analysed, sizes, plans))
    else:
        print("  PostgreSQL: not measured; give --postgres URL or set ISSUECORE_TEST_POSTGRES_URL")
    for where, found in plans.items():
        for call, (statement, *plan) in found.items():
            print(f"\nplan of {call!r}, {where}:\n  {' '.join(statement.split())}")
            print("\n".join(plan))
    console.print_table(measured, sizes, width=26)


if __name__ == "__main__":
    main()
