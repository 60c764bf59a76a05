"""A database from before find's columns gains them, and its issues and threads are searchable."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from issuecore._codec import entry_document, issue_document
from issuecore._model import EntryKind, Issue, ThreadEntry
from issuecore._queries import IssueQuery, IssueSort, SlaFilter
from issuecore._sla.clock import SlaClock, SlaRole, SlaTargetName, TargetState
from issuecore._workflow import open_issue
from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from stores import sqlite_at_version

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = AT + timedelta(hours=4)


def _old_issues() -> tuple[Issue, Issue, ThreadEntry]:
    clock = SlaClock(
        agreement="Standard",
        priority="High",
        response=TargetState(
            name=SlaTargetName.RESPONSE, target=timedelta(hours=4), due_by=DEADLINE
        ),
        resolution=TargetState(name=SlaTargetName.RESOLUTION, target=None),
        started_at=AT,
        role=SlaRole.RUNNING,
        running_since=AT,
    )
    late = attrs.evolve(
        open_issue(
            number="ISS-2026-00001", subject="Printer on fire", raised_by="a@b.test", at=AT
        ).issue,
        sla=clock,
        priority="High",
    )
    early = attrs.evolve(
        open_issue(number="ISS-2026-00002", subject="Invoice", raised_by="a@b.test", at=AT).issue,
        sla=attrs.evolve(
            clock, response=attrs.evolve(clock.response, due_by=DEADLINE - timedelta(hours=1))
        ),
        priority="High",
    )
    entry = ThreadEntry(
        kind=EntryKind.CUSTOMER_MESSAGE, author="a@b.test", text="toner everywhere", at=AT
    )
    return late, early, entry


def _check_upgraded(store: SQLiteStore | SqlStore) -> None:
    with store.transaction(read_only=True) as work:
        by_deadline = work.find_page(IssueQuery(priorities=["High"]))
        searched = work.find_page(IssueQuery(text="toner", sort=IssueSort.CREATED))
        subject = work.find_page(IssueQuery(text="invoice", sort=IssueSort.CREATED))
        breached = work.find_page(
            IssueQuery(sla=[SlaFilter.BREACHED], at=DEADLINE + timedelta(seconds=1))
        )
    assert [issue.number for issue in by_deadline] == ["ISS-2026-00002", "ISS-2026-00001"]
    assert [issue.number for issue in searched] == ["ISS-2026-00001"]
    assert [issue.number for issue in subject] == ["ISS-2026-00002"]
    assert [issue.number for issue in breached] == ["ISS-2026-00002", "ISS-2026-00001"]


def test_a_sqlite_file_from_before_find_gains_its_columns_and_text_index(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    late, early, entry = _old_issues()
    with closing(sqlite3.connect(path)) as connection:
        sqlite_at_version(connection, 5)
        for issue in (late, early):
            connection.execute(
                "INSERT INTO issues (number, status, raised_by, version, created_at, updated_at, "
                "document) VALUES (?, ?, ?, 1, 0, 0, ?)",
                (issue.number, str(issue.status), issue.raised_by, issue_document(issue)),
            )
        document, _ = entry_document(entry)
        connection.execute(
            "INSERT INTO thread_entries (number, at, kind, document) VALUES (?, 0, ?, ?)",
            (late.number, str(entry.kind), document),
        )
        connection.commit()
    with SQLiteStore(path) as store:
        assert store.schema_version == len(sqlite_adapter.MIGRATIONS)
        _check_upgraded(store)


@pytest.mark.parametrize("variable", ["ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL"])
def test_a_server_database_from_before_find_gains_its_columns_and_text_index(
    variable: str,
) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no database server to test against")
    prefix = f"q{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    late, early, entry = _old_issues()
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version, migration in enumerate(sql_adapter.MIGRATIONS[:5], start=1):
                migration(connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version, applied_at="old")
                )
            columns = {c["name"] for c in sa.inspect(connection).get_columns(f"{prefix}issues")}
            assert "deadline_key" not in columns
            for issue in (late, early):
                connection.execute(
                    sa.text(
                        f"INSERT INTO {prefix}issues (number, status, raised_by, version, "
                        "created_at, updated_at, document) VALUES (:n, :s, :r, 1, 0, 0, :d)"
                    ),
                    {
                        "n": issue.number,
                        "s": str(issue.status),
                        "r": issue.raised_by,
                        "d": issue_document(issue),
                    },
                )
            document, _ = entry_document(entry)
            connection.execute(
                schema.thread_entries.insert().values(
                    number=late.number, at=0, kind=str(entry.kind), document=document
                )
            )
        with SqlStore(url, table_prefix=prefix) as store:
            try:
                assert store.schema_version == len(sql_adapter.MIGRATIONS)
                _check_upgraded(store)
            finally:
                store.drop_tables()
    finally:
        engine.dispose()
