"""What SqlStore promises beyond the contract: migrations, table prefixes and row locks."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import sqlalchemy as sa

from issuecore.adapters import sql as sql_adapter
from issuecore.adapters.sql import MIGRATIONS, SqlStore
from issuecore.errors import ConcurrencyConflictError, IssueNotFoundError, SchemaVersionError
from issuecore.ports import EffectKind, OutboxItem
from issuecore.testing.contracts import T0, simple_issue
from stores import add_notices

SERVERS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}


@pytest.fixture(params=sorted(SERVERS))
def url(request: pytest.FixtureRequest) -> str:
    variable, what = SERVERS[request.param]
    found = os.environ.get(variable)
    if not found:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    return found


@pytest.fixture
def prefix(url: str) -> Iterator[str]:
    chosen = f"s{uuid.uuid4().hex[:10]}_"
    yield chosen
    with SqlStore(url, table_prefix=chosen) as store:
        store.drop_tables()


def test_a_new_database_records_every_migration_once(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        assert store.schema_version == len(MIGRATIONS)
    with SqlStore(url, table_prefix=prefix) as store, store.engine.connect() as connection:
        versions = connection.execute(sa.text(f"SELECT version FROM {prefix}schema_version"))
        assert sorted(versions.scalars()) == list(range(1, len(MIGRATIONS) + 1))


def test_a_database_from_a_newer_issuecore_is_refused(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store, store.engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO {prefix}schema_version (version, applied_at) VALUES (:v, 'x')"),
            {"v": len(MIGRATIONS) + 1},
        )
    try:
        with pytest.raises(SchemaVersionError, match="upgrade issuecore"):
            SqlStore(url, table_prefix=prefix)
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                sa.text(f"DELETE FROM {prefix}schema_version WHERE version = :v"),
                {"v": len(MIGRATIONS) + 1},
            )
        engine.dispose()


def test_stores_with_different_prefixes_keep_their_issues_apart(url: str, prefix: str) -> None:
    other_prefix = f"o{uuid.uuid4().hex[:10]}_"
    with (
        SqlStore(url, table_prefix=prefix) as mine,
        SqlStore(url, table_prefix=other_prefix) as other,
    ):
        try:
            with mine.transaction() as work:
                work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
                work.commit()
            with other.transaction(read_only=True) as work:
                assert work.find_issues() == []
        finally:
            other.drop_tables()


def test_numbers_differing_in_case_are_different_issues(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        with store.transaction() as work:
            work.insert_issue(simple_issue("iss-a"), wake_at=None)
            work.insert_issue(simple_issue("ISS-A", raised_by="bob@example.com"), wake_at=None)
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.get_issue("ISS-A").raised_by == "bob@example.com"


def test_workers_sweeping_at_once_get_different_due_issues(url: str, prefix: str) -> None:
    numbers = [f"ISS-2026-{index:05d}" for index in range(1, 6)]
    with SqlStore(url, table_prefix=prefix) as store:
        with store.transaction() as work:
            for offset, number in enumerate(numbers):
                work.insert_issue(simple_issue(number), wake_at=T0 + timedelta(minutes=offset))
            work.commit()
        now = T0 + timedelta(hours=1)
        with store.transaction() as first, store.transaction() as second:
            assert first.due_issues(now, limit=2) == numbers[:2]
            assert second.due_issues(now, limit=10) == numbers[2:]


def test_an_issue_locked_for_update_is_skipped_by_the_sweep(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        with store.transaction() as work:
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=T0)
            work.insert_issue(simple_issue("ISS-2026-00002"), wake_at=T0)
            work.commit()
        with store.transaction() as editor:
            locked = editor.get_issue("ISS-2026-00001", for_update=True)
            with store.transaction() as sweeper:
                assert sweeper.due_issues(T0, limit=10) == ["ISS-2026-00002"]
            # MariaDB keeps the sweeper's lock on the skipped index entry until
            # its transaction ends, so the editor writes after the sweep.
            editor.update_issue(attrs.evolve(locked, subject="edited"), wake_at=None)
            editor.commit()


def test_workers_claiming_at_once_get_different_outbox_items(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        items = [
            OutboxItem(
                id=f"effect-{index}",
                kind=EffectKind.MAIL,
                number=None,
                message_id=f"<{index}@example.com>",
                payload=b"Subject: x\n\nbody\n",
                created_at=T0,
                next_attempt_at=T0 + timedelta(seconds=index),
            )
            for index in range(4)
        ]
        with store.transaction() as work:
            for item in items:
                work.outbox.add(item)
            work.commit()
        later = T0 + timedelta(hours=1)
        with store.transaction() as first, store.transaction() as second:
            # The first claim is not committed yet: its rows stay locked, and skipped.
            taken = first.outbox.claim(later, owner="one", until=later, limit=3)
            rest = second.outbox.claim(later, owner="two", until=later, limit=3)
        assert [item.id for item in taken] == ["effect-0", "effect-1", "effect-2"]
        assert [item.id for item in rest] == ["effect-3"]


def test_a_database_other_than_postgresql_or_mariadb_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLiteStore"):
        SqlStore("sqlite://")


def test_a_deadlock_ends_one_transaction_with_a_conflict_to_retry(url: str, prefix: str) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        with store.transaction() as work:
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
            work.insert_issue(simple_issue("ISS-2026-00002"), wake_at=None)
            work.commit()
        both_hold_one = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def lock_in_order(first: str, second: str) -> None:
            try:
                with store.transaction() as work:
                    work.get_issue(first, for_update=True)
                    both_hold_one.wait()
                    work.get_issue(second, for_update=True)
                    work.commit()
            except ConcurrencyConflictError as error:
                outcomes[first] = f"conflict {error.number}"
            else:
                outcomes[first] = "committed"

        threads = [
            threading.Thread(target=lock_in_order, args=("ISS-2026-00001", "ISS-2026-00002")),
            threading.Thread(target=lock_in_order, args=("ISS-2026-00002", "ISS-2026-00001")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes.values()) == ["committed", "conflict None"]


def synchronous_commit(work: object) -> str:
    connection = work._connection  # type: ignore[attr-defined]
    return str(connection.exec_driver_sql("SHOW synchronous_commit").scalar())


def test_a_transaction_not_durable_commits_without_waiting_for_the_disk(
    url: str, prefix: str
) -> None:
    # One connection, so each transaction finds the setting the one before left.
    with SqlStore(url, table_prefix=prefix, engine_options={"pool_size": 1}) as store:
        postgresql = store.engine.dialect.name == "postgresql"
        with store.transaction() as work:
            default = synchronous_commit(work) if postgresql else ""
            work.commit()
        with store.transaction(durable=False) as work:
            if postgresql:
                assert synchronous_commit(work) == "off"
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
            work.commit()
        with store.transaction(durable=False) as work:
            if postgresql:
                assert synchronous_commit(work) == "off"  # still, and no SET sent for it
        with store.transaction() as work:
            if postgresql:
                assert synchronous_commit(work) == default
            # Rolled back: the setting it made is undone with it.
        with store.transaction() as work:
            if postgresql:
                assert synchronous_commit(work) == default
            assert work.get_issue("ISS-2026-00001").version == 1


def server_side_id(store: SqlStore) -> int:
    """Return the server's id of the connection the store's next transaction gets."""
    with store.transaction(read_only=True) as work:
        connection: sa.Connection = work._connection  # type: ignore[assignment]
        if store.engine.dialect.name == "postgresql":
            return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        return int(connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one())


def end_connection(url: str, server_id: int) -> None:
    """End the server's connection ``server_id`` from a connection of its own."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_terminate_backend(:id)"), {"id": server_id})
            else:
                connection.exec_driver_sql(f"KILL {server_id:d}")
    finally:
        engine.dispose()


def test_a_pooled_connection_the_server_ended_while_idle_is_replaced_before_use(
    url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_adapter, "_PING_AFTER_IDLE", 0.0)  # every checkout counts as idle
    with SqlStore(url, table_prefix=prefix, engine_options={"pool_size": 1}) as store:
        ended = server_side_id(store)
        end_connection(url, ended)
        with store.transaction() as work:
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
            work.commit()
        assert server_side_id(store) != ended


def test_a_pooled_connection_used_a_moment_ago_is_not_pinged(
    url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_adapter, "_PING_AFTER_IDLE", 3600.0)
    with SqlStore(url, table_prefix=prefix, engine_options={"pool_size": 1}) as store:
        pings: list[object] = []
        ping = store.engine.dialect.do_ping

        def counted(connection: object) -> bool:
            pings.append(connection)
            return ping(connection)  # type: ignore[arg-type]

        monkeypatch.setattr(store.engine.dialect, "do_ping", counted)
        for _ in range(3):
            with store.transaction(durable=False) as work:
                work.outbox.pending(limit=1)
        assert pings == []
        monkeypatch.setattr(sql_adapter, "_PING_AFTER_IDLE", 0.0)
        with store.transaction(durable=False) as work:
            work.outbox.pending(limit=1)
        assert len(pings) == 1


def test_a_pool_pre_ping_given_pings_on_every_checkout(
    url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_adapter, "_PING_AFTER_IDLE", 3600.0)
    options = {"pool_size": 1, "pool_pre_ping": True}
    with SqlStore(url, table_prefix=prefix, engine_options=options) as store:
        ended = server_side_id(store)
        end_connection(url, ended)
        assert server_side_id(store) != ended


def test_mark_delivered_marks_rows_done_at_once_counting_those_not_done_before(
    url: str, prefix: str
) -> None:
    with SqlStore(url, table_prefix=prefix, engine_options={"pool_size": 1}) as store:
        ids = [f"effect-{index}" for index in range(3)]
        add_notices(store, ids)
        done_at = T0 + timedelta(minutes=5)
        assert store.mark_delivered(ids[:2], at=done_at) == 2
        assert store.mark_delivered(ids, at=done_at) == 1  # the first two were done already
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
            item = work.outbox.get(ids[0])
            assert item is not None
            assert item.done_at == done_at
        # The marks committed each statement on its own; the pool's connection does not:
        # a unit of work after them still keeps nothing without commit().
        with store.transaction() as work:
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
        with store.transaction(read_only=True) as work, pytest.raises(IssueNotFoundError):
            work.get_issue("ISS-2026-00001")
        with pytest.raises(LookupError, match="no outbox item with id 'nowhere'"):
            store.mark_delivered(["nowhere"], at=done_at)
