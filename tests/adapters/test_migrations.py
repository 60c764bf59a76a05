"""A database written by an earlier schema version is upgraded in place, keeping its data."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.workflow import open_issue

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_version_1_sqlite_file_is_upgraded_and_keeps_its_issues(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    for statement in sqlite_adapter.MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z')")
    connection.commit()
    connection.close()
    with SQLiteStore(path) as store:
        # A version-1 file has no table for kept messages until the upgrade.
        assert store.schema_version == len(sqlite_adapter.MIGRATIONS)
        issue = open_issue(number="ISS-2026-00001", subject="s", raised_by="a@b.test", at=AT).issue
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=None)
            work.keep_message("<q@x.test>", b"raw")
            work.commit()
    with SQLiteStore(path) as store, store.transaction(read_only=True) as work:
        assert work.get_issue("ISS-2026-00001").subject == "s"
        assert work.kept_message("<q@x.test>") == b"raw"
    versions = sqlite3.connect(path)
    try:
        assert [
            v for (v,) in versions.execute("SELECT version FROM schema_version ORDER BY 1")
        ] == list(range(1, len(sqlite_adapter.MIGRATIONS) + 1))
    finally:
        versions.close()


def test_a_version_1_server_database_is_upgraded_and_keeps_its_issues() -> None:
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; no PostgreSQL server to test against")
    prefix = f"m{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            sql_adapter.MIGRATIONS[0](connection, schema)
            connection.execute(schema.schema_version.insert().values(version=1, applied_at="old"))
            assert not sa.inspect(connection).has_table(f"{prefix}kept_messages")
        issue = open_issue(number="ISS-2026-00001", subject="s", raised_by="a@b.test", at=AT).issue
        with SqlStore(url, table_prefix=prefix) as store:
            assert store.schema_version == len(sql_adapter.MIGRATIONS)
            with store.transaction() as work:
                work.insert_issue(issue, wake_at=None)
                work.keep_message("<q@x.test>", b"raw")
                work.commit()
            with store.transaction(read_only=True) as work:
                assert work.kept_message("<q@x.test>") == b"raw"
            store.drop_tables()
    finally:
        engine.dispose()
