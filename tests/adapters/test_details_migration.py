"""Schema version 7: a version 6 database gains the index of issue types, references, fields."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from issuecore._codec import issue_document
from issuecore._model import Issue
from issuecore._queries import IssueQuery, IssueSort
from issuecore._workflow import open_issue
from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from stores import sqlite_at_version

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _issues() -> tuple[Issue, Issue]:
    critical = open_issue(
        number="ISS-2026-00001",
        subject="Line down",
        raised_by="a@b.test",
        at=AT,
        issue_type="Critical",
        references={"customer": "CUST-1"},
        fields={"site": "Hamburg"},
    ).issue
    plain = attrs.evolve(
        open_issue(number="ISS-2026-00002", subject="Invoice", raised_by="a@b.test", at=AT).issue
    )
    return critical, plain


def _check_upgraded(store: SQLiteStore | SqlStore) -> None:
    with store.transaction(read_only=True) as work:
        typed = work.find_page(IssueQuery(issue_types=["Critical"], sort=IssueSort.CREATED))
        referenced = work.find_page(IssueQuery(references={"customer": "CUST-1"}))
        fielded = work.find_page(IssueQuery(fields={"site": "Hamburg"}))
        none = work.find_page(IssueQuery(fields={"site": "Berlin"}))
    assert [issue.number for issue in typed] == ["ISS-2026-00001"]
    assert [issue.number for issue in referenced] == ["ISS-2026-00001"]
    assert [issue.number for issue in fielded] == ["ISS-2026-00001"]
    assert list(none) == []


def test_a_sqlite_file_of_version_6_gains_the_details_index(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    with closing(sqlite3.connect(path)) as connection:
        sqlite_at_version(connection, 6)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert "issue_details" not in tables
        for issue in _issues():
            connection.execute(
                "INSERT INTO issues (number, status, raised_by, version, created_at, updated_at, "
                "document) VALUES (?, ?, ?, 1, 0, 0, ?)",
                (issue.number, str(issue.status), issue.raised_by, issue_document(issue)),
            )
        connection.commit()
    with SQLiteStore(path) as store:
        assert store.schema_version == len(sqlite_adapter.MIGRATIONS)
        _check_upgraded(store)


@pytest.mark.parametrize("variable", ["ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL"])
def test_a_server_database_of_version_6_gains_the_details_index(variable: str) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no database server to test against")
    prefix = f"d{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version, migration in enumerate(sql_adapter.MIGRATIONS[:6], start=1):
                migration(connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version, applied_at="old")
                )
            assert not sa.inspect(connection).has_table(f"{prefix}issue_details")
            for issue in _issues():
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
        with SqlStore(url, table_prefix=prefix) as store:
            try:
                assert store.schema_version == len(sql_adapter.MIGRATIONS)
                _check_upgraded(store)
            finally:
                store.drop_tables()
    finally:
        engine.dispose()
