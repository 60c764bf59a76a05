"""The console's pages cost the same whether the desk holds ten thousand issues or a million.

Run with ``.venv/bin/python benchmarks/console.py`` (add ``--postgres URL`` or set
``ISSUECORE_TEST_POSTGRES_URL`` to include PostgreSQL; ``--sizes`` to change
the sizes). Stores 10,000 and 1,000,000 open issues through the store's own
``insert_issue`` (so every index and the text index are filled as the desk
fills them), plus one issue whose thread holds 200 messages, then times the
server's answer to ``GET /issues`` (the inbox's first page with its counts
per status) and ``GET /issues/{number}`` (that issue's page) through the
ASGI application in process: routing, the desk's reads, the SLA figures and
the template, without a network. Prints best and median per page and the
ratio of the largest size to the smallest, side by side (target: at most
2). SQLite files are kept under the temporary directory and reused by later
runs; PostgreSQL tables are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
from starlette.testclient import TestClient

from issuecore._desk import DeskSettings, HelpDesk
from issuecore._model import EntryKind, Issue, ThreadEntry
from issuecore._sla.tracking import start_sla
from issuecore._workflow import format_issue_number, open_issue
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.config import DEFAULT_AGREEMENT
from issuecore.errors import IssueNotFoundError
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from issuecore.web import WebSettings, create_app

SIZES = (10_000, 1_000_000)
THREAD = 200
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CALLS = 25
TARGET = 2.0
BATCH = 20_000
TEMPLATES = 500
THREAD_NUMBER = format_issue_number(2026, 1, prefix="WEB")
PRIORITIES = ("Urgent", "High", "Medium", "Low")


def templates() -> list[Issue]:
    """Return open issues opened over the last days, each with its SLA clock started."""
    made = []
    for index in range(TEMPLATES):
        change = open_issue(
            number="WEB-0",
            subject=f"The printer on floor {index % 9} prints blank pages, case {index}",
            raised_by=f"customer{index}@example.com",
            at=NOW - timedelta(minutes=7 * index + 1),
            priority=PRIORITIES[index % len(PRIORITIES)],
        )
        made.append(start_sla(change, [DEFAULT_AGREEMENT]).issue)
    return made


def fill(store: Store, count: int) -> None:
    """Insert ``count`` open issues (the first with a thread of ``THREAD`` messages)."""
    made = templates()
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        with store.transaction() as work:
            for index in range(first, min(count, first + BATCH)):
                template = made[index % TEMPLATES]
                issue = attrs.evolve(
                    template, number=format_issue_number(2026, index + 1, prefix="WEB")
                )
                deadline = issue.sla.response_by if issue.sla is not None else None
                work.insert_issue(issue, wake_at=deadline, at_risk_at=None)
            if first == 0:
                for position in range(THREAD):
                    work.append_entry(
                        THREAD_NUMBER,
                        ThreadEntry(
                            kind=EntryKind.CUSTOMER_MESSAGE
                            if position % 2 == 0
                            else EntryKind.AGENT_REPLY,
                            author="customer0@example.com" if position % 2 == 0 else "ben@x.test",
                            text=f"Message {position}: still blank.\n\n> earlier text\n" * 3,
                            new_text=f"Message {position}: still blank.",
                            at=NOW - timedelta(hours=THREAD - position),
                        ),
                    )
            work.commit()
    print(f"  stored {count:>9,} issues in {time.perf_counter() - started:.0f} s", flush=True)


def complete(store: Store, count: int) -> bool:
    """Return whether an earlier run stored all ``count`` issues (the last one is there)."""
    try:
        with store.transaction(read_only=True) as work:
            work.get_issue(format_issue_number(2026, count, prefix="WEB"))
    except IssueNotFoundError:
        return False
    return True


def sqlite_store(directory: Path, count: int) -> SQLiteStore:
    """Return a SQLite store holding ``count`` issues, filled now or by an earlier run."""
    path = directory / f"console-{count}.db"
    if path.exists():
        store = SQLiteStore(path)
        if complete(store, count):
            return store
        store.close()
        path.unlink()
    store = SQLiteStore(path)
    fill(store, count)
    return store


def measure(store: Store) -> dict[str, tuple[float, float]]:
    """Return best and median seconds of the inbox and of the long issue page."""
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(NOW),
        agreements=[DEFAULT_AGREEMENT],
        settings=DeskSettings(
            "support@example.com",
            agents={"ben@x.test"},
            mail=MailSettings(support_address="support@example.com", signing_key=b"k" * 32),
        ),
    )
    app = create_app(desk, WebSettings(secret_key=b"s" * 32), zone="UTC")
    results = {}
    with TestClient(app, base_url="http://localhost") as client:
        for name, path, expect in (
            ("inbox", "/issues", "issue-link"),
            ("issue page", f"/issues/{THREAD_NUMBER}", "Message 199"),
        ):
            timings = []
            for _ in range(CALLS):
                began = time.perf_counter()
                response = client.get(path)
                timings.append(time.perf_counter() - began)
                assert response.status_code == 200, path
                assert expect in response.text, path
            results[name] = (min(timings), statistics.median(timings))
    return results


def run(
    name: str, open_store: Callable[[int], Store], sizes: tuple[int, ...]
) -> dict[str, dict[int, tuple[float, float]]]:
    measured: dict[str, dict[int, tuple[float, float]]] = {}
    for count in sizes:
        store = open_store(count)
        try:
            for page, figures in measure(store).items():
                measured.setdefault(f"{name} {page}", {})[count] = figures
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("ISSUECORE_TEST_POSTGRES_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL tables")
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES, metavar=("SMALL", "LARGE"))
    options = parser.parse_args()
    sizes = tuple(options.sizes)
    directory = Path(tempfile.gettempdir()) / "issuecore-benchmarks"
    directory.mkdir(exist_ok=True)
    print(f"console: GET /issues and GET /issues/<{THREAD} messages>, {CALLS} calls each")
    measured = run("SQLite", lambda count: sqlite_store(directory, count), sizes)
    if options.postgres:
        from issuecore.adapters.sql import SqlStore

        def postgres(count: int) -> Store:
            store = SqlStore(options.postgres, table_prefix=f"bench_web_{count}_")
            if not complete(store, count):
                store.drop_tables()
                store.close()
                store = SqlStore(options.postgres, table_prefix=f"bench_web_{count}_")
                fill(store, count)
            return store

        measured.update(run("PG", postgres, sizes))
        if not options.keep:
            for count in sizes:
                with SqlStore(options.postgres, table_prefix=f"bench_web_{count}_") as store:
                    store.drop_tables()
    else:
        print("  PostgreSQL: not measured; give --postgres URL or set ISSUECORE_TEST_POSTGRES_URL")
    print_table(measured, sizes)


def print_table(
    measured: dict[str, dict[int, tuple[float, float]]], sizes: tuple[int, ...], *, width: int = 18
) -> None:
    """Print best and median per size and the ratio of the largest to the smallest.

    Exits with status 1 when a ratio misses ``TARGET``.
    """
    print()
    small, large = sizes
    header = f"{'measured':{width}} {f'{small:,} stored':>22} {f'{large:,} stored':>22}"
    print(f"{header} {'ratio':>7}  target")
    print(f"{'':{width}} {'best / median ms':>22} {'best / median ms':>22}")
    failed = False
    for name, results in measured.items():
        cells = [f"{results[size][0] * 1e3:9.1f} / {results[size][1] * 1e3:9.1f}" for size in sizes]
        ratio = results[large][0] / results[small][0]
        verdict = "ok" if ratio <= TARGET else "MISSED"
        failed = failed or ratio > TARGET
        print(
            f"{name:{width}} {cells[0]:>22} {cells[1]:>22} {ratio:7.2f}  <= {TARGET:.0f} {verdict}"
        )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
