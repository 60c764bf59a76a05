"""What the SQLite store promises beyond the contract: its file, migrations and locking."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from issuecore.adapters.sqlite import MIGRATIONS, SQLiteStore
from issuecore.errors import SchemaVersionError
from issuecore.testing.contracts import T0, populated_issue, simple_issue
from stores import add_notices


def _versions(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as connection:
        return [row[0] for row in connection.execute("SELECT version FROM schema_version")]


def test_a_new_file_records_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with SQLiteStore(path) as store:
        assert store.schema_version == len(MIGRATIONS)
    with SQLiteStore(path):
        pass
    assert _versions(path) == list(range(1, len(MIGRATIONS) + 1))


def test_reopening_a_file_keeps_its_issues(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with SQLiteStore(path) as store, store.transaction() as work:
        work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=T0)
        work.commit()
    with SQLiteStore(path) as store, store.transaction(read_only=True) as work:
        assert work.get_issue("ISS-2026-00001").version == 1
        assert work.due_issues(T0, limit=5) == ["ISS-2026-00001"]


def test_a_file_from_a_newer_issuecore_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, 'later')",
            (len(MIGRATIONS) + 1,),
        )
    with pytest.raises(SchemaVersionError, match="upgrade issuecore"):
        SQLiteStore(path)


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_store_in_memory_is_refused_with_the_alternative_named() -> None:
    with pytest.raises(ValueError, match="InMemoryStore"):
        SQLiteStore(":memory:")


def test_a_closed_store_refuses_transactions(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "desk.db")
    store.close()
    with pytest.raises(RuntimeError, match="closed"), store.transaction():
        pass


def test_a_reader_sees_committed_state_while_a_writer_is_open(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "desk.db") as store:
        with store.transaction() as work:
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
            work.commit()
        with store.transaction() as writer:
            writer.insert_issue(simple_issue("ISS-2026-00002"), wake_at=None)
            with store.transaction(read_only=True) as reader:
                assert [issue.number for issue in reader.find_issues()] == ["ISS-2026-00001"]
            writer.commit()


def test_a_second_writer_cannot_start_while_the_first_is_open(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with SQLiteStore(path) as first, SQLiteStore(path, busy_timeout=timedelta(0)) as second:
        with first.transaction() as work:
            work.next_sequence(2026)
            with pytest.raises(sqlite3.OperationalError, match="locked"), second.transaction():
                pass
            work.commit()
        with second.transaction() as work:
            assert work.next_sequence(2026) == 2
            work.commit()


def test_a_failed_transaction_returns_a_usable_connection(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "desk.db") as store:

        def fail_midway() -> None:
            with store.transaction() as work:
                work.next_sequence(2026)
                raise KeyError("boom")

        with pytest.raises(KeyError):
            fail_midway()
        with store.transaction() as work:
            assert work.next_sequence(2026) == 1
            work.commit()


def test_a_refused_file_leaves_no_connection_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, 'later')",
            (len(MIGRATIONS) + 1,),
        )
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def counting_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        opened.append(connection)
        return connection

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    with pytest.raises(SchemaVersionError):
        SQLiteStore(path)

    assert opened
    for connection in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")


def _synchronous(work: Any) -> int:
    # 2 is FULL (the commit waits for the disk), 1 is NORMAL.
    return int(work._db().execute("PRAGMA synchronous").fetchone()[0])


def test_a_transaction_that_need_not_be_durable_commits_without_waiting_for_the_disk(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "desk.db") as store:
        with store.transaction(durable=False) as work:
            assert _synchronous(work) == 1
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
            work.commit()
        with store.transaction() as work:  # the same connection, durable again
            assert _synchronous(work) == 2
            assert work.get_issue("ISS-2026-00001").version == 1


def test_completing_more_effects_than_one_statement_holds_marks_each_once(tmp_path: Path) -> None:
    ids = [f"{index:032x}" for index in range(1901)]
    with SQLiteStore(tmp_path / "desk.db") as store:
        add_notices(store, ids)
        with store.transaction() as work:
            work.outbox.complete(ids[-1], at=T0)
            work.commit()
        later = T0 + timedelta(minutes=1)
        with store.transaction() as work:
            assert work.outbox.complete_all([*ids, *ids[:5]], at=later) == 1900
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
            assert {work.outbox.get(ids[0]).done_at, work.outbox.get(ids[-1]).done_at} == {
                later,
                T0,
            }
        with store.transaction() as work, pytest.raises(LookupError, match="f" * 32):
            work.outbox.complete_all([*ids[:1000], "f" * 32], at=later)


def test_an_issue_read_again_in_a_transaction_is_equal_with_mappings_of_its_own(
    tmp_path: Path,
) -> None:
    number = "ISS-2026-00001"
    with SQLiteStore(tmp_path / "desk.db") as store:
        with store.transaction() as work:
            work.insert_issue(populated_issue(number), wake_at=None)
            work.commit()
        with store.transaction(read_only=True) as work:
            stored = work.get_issue(number)
        with store.transaction() as work:
            first = work.get_issue(number)
            first.fields["mutated"] = True  # type: ignore[index]
            first.references["mutated"] = "yes"  # type: ignore[index]
            again = work.get_issue(number, for_update=True)
            assert again == stored
            work.update_issue(attrs.evolve(again, subject="changed"), wake_at=None)
            assert work.get_issue(number) == attrs.evolve(stored, subject="changed", version=2)
            listed = attrs.evolve(again, fields={"tags": ["a"]}, version=2)
            work.update_issue(listed, wake_at=None)
            work.get_issue(number).fields["tags"].append("mutated")
            assert work.get_issue(number).fields == {"tags": ["a"]}


def test_mark_delivered_marks_rows_done_counting_those_not_done_before(tmp_path: Path) -> None:
    ids = [f"effect-{index}" for index in range(3)]
    with SQLiteStore(tmp_path / "desk.db") as store:
        add_notices(store, ids)
        done_at = T0 + timedelta(minutes=5)
        assert store.mark_delivered(ids[:2], at=done_at) == 2
        assert store.mark_delivered(ids, at=done_at) == 1  # the first two were done already
        assert store.mark_delivered([], at=done_at) == 0
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
            item = work.outbox.get(ids[0])
            assert item is not None
            assert item.done_at == done_at
        with pytest.raises(LookupError, match="no outbox item with id 'nowhere'"):
            store.mark_delivered(["nowhere"], at=done_at)


def test_mark_delivered_sends_one_update_and_leaves_the_next_intake_durable(
    tmp_path: Path,
) -> None:
    """One mark is one statement committing on its own, without waiting for the disk.

    The connection then goes back to the pool; the next transaction on it
    waits for the disk again, and keeps nothing without commit().
    """
    with SQLiteStore(tmp_path / "desk.db") as store:
        add_notices(store, ["one", "two"])
        statements: list[str] = []
        (connection,) = store._idle
        connection.set_trace_callback(statements.append)
        assert store.mark_delivered(["one"], at=T0) == 1
        assert store.mark_delivered(["two"], at=T0) == 1
        connection.set_trace_callback(None)
        assert [s.split()[0] for s in statements] == ["PRAGMA", "UPDATE", "UPDATE"]
        assert statements[0] == "PRAGMA synchronous = NORMAL"
        with store.transaction() as work:
            assert _synchronous(work) == 2
            work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
        with store.transaction(read_only=True) as work:
            assert work.find_issues() == []


def test_mark_delivered_of_more_rows_than_one_statement_holds_marks_each(tmp_path: Path) -> None:
    ids = [f"{index:032x}" for index in range(1801)]
    with SQLiteStore(tmp_path / "desk.db") as store:
        add_notices(store, ids)
        assert store.mark_delivered(ids, at=T0) == len(ids)
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
