"""Schema version 8: a version 7 database keeps its data and gains agent accounts and attempts."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from issuecore._codec import issue_document
from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import AgentAccount
from issuecore.workflow import open_issue
from stores import sqlite_at_version

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISSUE = open_issue(
    number="ISS-2026-00001", subject="Printer on fire", raised_by="ana@b.test", at=AT
).issue
ROW = {
    "n": ISSUE.number,
    "s": str(ISSUE.status),
    "r": ISSUE.raised_by,
    "d": issue_document(ISSUE),
}
INSERT_ISSUE = (
    "INSERT INTO {prefix}issues (number, status, raised_by, version, created_at, updated_at, "
    "document) VALUES (:n, :s, :r, 1, 0, 0, :d)"
)


def _check_upgraded(store: SQLiteStore | SqlStore) -> None:
    account = AgentAccount(address="ben@example.com", password_hash="$argon2id$x", changed_at=AT)
    with store.transaction() as work:
        assert work.get_issue(ISSUE.number).subject == "Printer on fire"
        assert work.count_auto_replies("ana@b.test", AT - timedelta(days=1)) == 1
        assert work.accounts.addresses() == []
        assert work.accounts.save(account) is True
        work.attempts.record("signin", "key", AT)
        work.commit()
    with store.transaction(read_only=True) as work:
        assert work.accounts.get("Ben@example.com") == account
        assert work.attempts.count("signin", "key", after=AT - timedelta(seconds=1)) == 1


def test_the_schema_is_at_version_8() -> None:
    assert len(sqlite_adapter.MIGRATIONS) == 8
    assert len(sql_adapter.MIGRATIONS) == 8


def test_a_sqlite_file_of_version_7_keeps_its_issues_and_gains_accounts(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    with closing(sqlite3.connect(path)) as connection:
        sqlite_at_version(connection, 7)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert not {"agent_accounts", "attempts"} & tables
        connection.execute(INSERT_ISSUE.format(prefix=""), ROW)
        connection.execute(
            "INSERT INTO auto_replies (address, at) VALUES ('ana@b.test', ?)",
            (int(AT.timestamp() * 1_000_000),),
        )
        connection.commit()
    with SQLiteStore(path) as store:
        assert store.schema_version == 8
        _check_upgraded(store)
    with SQLiteStore(path) as store:  # opening again applies nothing twice
        assert store.schema_version == 8
        with store.transaction(read_only=True) as work:
            assert work.accounts.addresses() == ["ben@example.com"]


@pytest.mark.parametrize("variable", ["ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL"])
def test_a_server_database_of_version_7_keeps_its_issues_and_gains_accounts(
    variable: str,
) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no database server to test against")
    prefix = f"m{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version, migration in enumerate(sql_adapter.MIGRATIONS[:7], start=1):
                migration(connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version, applied_at="old")
                )
            inspector = sa.inspect(connection)
            assert not inspector.has_table(f"{prefix}agent_accounts")
            assert not inspector.has_table(f"{prefix}attempts")
            connection.execute(sa.text(INSERT_ISSUE.format(prefix=prefix)), ROW)
            connection.execute(
                schema.auto_replies.insert().values(
                    address="ana@b.test", at=int(AT.timestamp() * 1_000_000)
                )
            )
        with SqlStore(url, table_prefix=prefix) as store:
            try:
                assert store.schema_version == 8
                _check_upgraded(store)
                with SqlStore(url, table_prefix=prefix) as again:
                    assert again.schema_version == 8
            finally:
                store.drop_tables()
    finally:
        engine.dispose()
