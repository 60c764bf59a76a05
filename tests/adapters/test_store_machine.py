"""Random sequences of units of work leave every shipped store equal to a plain model."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing.contracts import StoreStateMachine

POSTGRES_URL = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
MARIADB_URL = os.environ.get("ISSUECORE_TEST_MARIADB_URL")


class InMemoryStoreMachine(StoreStateMachine):
    def make_store(self) -> Store:
        return InMemoryStore()


class SQLiteStoreMachine(StoreStateMachine):
    def make_store(self) -> Store:
        self.folder = Path(tempfile.mkdtemp(prefix="issuecore-machine-"))
        self.sqlite = SQLiteStore(self.folder / "desk.db")
        return self.sqlite

    def close_store(self, store: Store) -> None:
        self.sqlite.close()
        shutil.rmtree(self.folder)


class _ServerStoreMachine(StoreStateMachine):
    """Runs on one set of tables per server, emptied before every run and dropped at the end."""

    url: str | None = None
    shared: SqlStore | None = None

    def make_store(self) -> Store:
        cls = type(self)
        if cls.shared is None:
            assert cls.url is not None
            cls.shared = SqlStore(cls.url, table_prefix=f"m{uuid.uuid4().hex[:10]}_")
        with cls.shared.engine.begin() as connection:
            for table in reversed(cls.shared._schema.data_tables()):
                connection.execute(table.delete())
        return cls.shared


class PostgresStoreMachine(_ServerStoreMachine):
    url = POSTGRES_URL


class MariaDBStoreMachine(_ServerStoreMachine):
    url = MARIADB_URL


@pytest.fixture(scope="module", autouse=True)
def drop_server_tables() -> object:
    yield None
    for machine in (PostgresStoreMachine, MariaDBStoreMachine):
        if machine.shared is not None:
            machine.shared.drop_tables()
            machine.shared.close()
            machine.shared = None


TestInMemoryStoreMachine = InMemoryStoreMachine.TestCase
TestSQLiteStoreMachine = SQLiteStoreMachine.TestCase
TestPostgresStoreMachine = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="ISSUECORE_TEST_POSTGRES_URL is not set; give a PostgreSQL URL to run these tests",
)(PostgresStoreMachine.TestCase)
TestMariaDBStoreMachine = pytest.mark.skipif(
    not MARIADB_URL,
    reason="ISSUECORE_TEST_MARIADB_URL is not set; give a MariaDB/MySQL URL to run these tests",
)(MariaDBStoreMachine.TestCase)
# Every step on a file or a server waits for the disk or the network, and the
# invariant reads every issue after each step; a fraction of the profile's runs,
# of at most 30 steps, keeps the suite quick while the profile still scales it.
_profile = settings()
_runs = {
    TestSQLiteStoreMachine: _profile.max_examples // 4,
    TestPostgresStoreMachine: _profile.max_examples // 10,
    TestMariaDBStoreMachine: _profile.max_examples // 10,
}
for _durable_case, _examples in _runs.items():
    _durable_case.settings = settings(
        _durable_case.settings,
        max_examples=max(10, _examples),
        stateful_step_count=min(30, _profile.stateful_step_count),
    )
del _durable_case
