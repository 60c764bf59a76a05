"""Every Store adapter that ships passes the contract adopters check their own adapters with.

The fixtures are annotated with the port, so mypy also checks that each
adapter matches :class:`issuecore.ports.Store`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing.contracts import StoreContract


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return InMemoryStore()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        with SQLiteStore(tmp_path / "desk.db") as store:
            yield store


def _server_store(variable: str, what: str) -> Iterator[SqlStore]:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    store = SqlStore(url, table_prefix=prefix)
    try:
        yield store
    finally:
        store.drop_tables()
        store.close()


def _emptied(store: SqlStore) -> SqlStore:
    with store.engine.begin() as connection:
        for table in reversed(store._schema.data_tables()):
            connection.execute(table.delete())
    return store


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[SqlStore]:
    yield from _server_store("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture(scope="module")
def mariadb_store() -> Iterator[SqlStore]:
    yield from _server_store("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL")


class TestSqlStoreOnPostgreSQL(StoreContract):
    @pytest.fixture
    def store(self, postgres_store: SqlStore) -> Store:
        return _emptied(postgres_store)


class TestSqlStoreOnMariaDB(StoreContract):
    @pytest.fixture
    def store(self, mariadb_store: SqlStore) -> Store:
        return _emptied(mariadb_store)
