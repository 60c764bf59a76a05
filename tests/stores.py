"""Every store the desk ships with, opened fresh for one test (the servers only when configured)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import BlobStore, EffectKind, OutboxItem, Store
from issuecore.testing.contracts import T0

STORE_KINDS = ("memory", "sqlite", "postgresql", "mariadb")
_SERVER_VARIABLES = {
    "postgresql": "ISSUECORE_TEST_POSTGRES_URL",
    "mariadb": "ISSUECORE_TEST_MARIADB_URL",
}


@contextmanager
def fresh_store(kind: str, tmp_path: Path, *, blobs: BlobStore | None = None) -> Iterator[Store]:
    """Yield an empty store of ``kind``; skip the test when that server is not configured.

    ``blobs`` is the blob store to give it (its own blob tables when ``None``).
    """
    if kind == "memory":
        yield InMemoryStore(blobs=blobs)
        return
    if kind == "sqlite":
        with SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db", blobs=blobs) as sqlite:
            yield sqlite
        return
    variable = _SERVER_VARIABLES[kind]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {kind} URL to run these tests")
    server = SqlStore(url, table_prefix=f"a{uuid.uuid4().hex[:10]}_", blobs=blobs)
    try:
        yield server
    finally:
        server.drop_tables()
        server.close()


def sqlite_at_version(connection: sqlite3.Connection, version: int) -> None:
    """Build an SQLite file as the library of schema ``version`` left it, for migration tests."""
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    for number, migration in enumerate(sqlite_adapter.MIGRATIONS[:version], start=1):
        for statement in migration:
            if isinstance(statement, str):
                connection.execute(statement)
            else:
                statement(connection)
        connection.execute("INSERT INTO schema_version VALUES (?, 'old')", (number,))
    versions = [row[0] for row in connection.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, version + 1))


def add_notices(store: Store, ids: list[str]) -> None:
    """Store one pending notice per id, due at ``T0``, in one committed transaction."""
    with store.transaction() as work:
        for item_id in ids:
            work.outbox.add(
                OutboxItem(
                    id=item_id,
                    kind=EffectKind.NOTICE,
                    number=None,
                    payload=b"{}",
                    created_at=T0,
                    next_attempt_at=T0,
                )
            )
        work.commit()
