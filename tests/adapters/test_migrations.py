"""A database written by an earlier schema version is upgraded in place, keeping its data."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from issuecore._codec import entry_document, issue_document
from issuecore._model import Attachment, EntryKind, ThreadEntry
from issuecore._workflow import open_issue
from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.blobs import FileBlobStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore

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


def test_a_sqlite_file_from_before_fingerprints_gains_them_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    for version, statements in enumerate(sqlite_adapter.MIGRATIONS[:2], start=1):
        for statement in statements:
            assert isinstance(statement, str)
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version VALUES (?, 'old')", (version,))
    connection.execute(
        "INSERT INTO message_ids (message_id, number, outcome, reason, at) "
        "VALUES ('<old@x.test>', NULL, 'ignored', 'before fingerprints', NULL)"
    )
    connection.commit()
    connection.close()
    with SQLiteStore(path) as store:
        with store.transaction() as work:
            old = work.lookup_message("<old@x.test>")
            work.record_message(
                "<new@x.test>", number=None, outcome="x", reason="y", fingerprint="f" * 64
            )
            work.commit()
        with store.transaction(read_only=True) as work:
            new = work.lookup_message("<new@x.test>")
    assert old is not None
    assert (old.outcome, old.reason, old.fingerprint) == ("ignored", "before fingerprints", None)
    assert new is not None
    assert new.fingerprint == "f" * 64


def test_a_server_database_from_before_fingerprints_gains_them_and_keeps_its_records() -> None:
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; no PostgreSQL server to test against")
    prefix = f"m{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version, migration in enumerate(sql_adapter.MIGRATIONS[:2], start=1):
                migration(connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version, applied_at="old")
                )
            columns = {
                c["name"] for c in sa.inspect(connection).get_columns(f"{prefix}message_ids")
            }
            assert "fingerprint" not in columns
            connection.execute(
                sa.text(
                    f"INSERT INTO {prefix}message_ids (digest, message_id, outcome, reason) "
                    "VALUES (:digest, '<old@x.test>', 'ignored', 'before fingerprints')"
                ),
                {"digest": sql_adapter._digest("<old@x.test>")},
            )
        with SqlStore(url, table_prefix=prefix) as store:
            assert store.schema_version == len(sql_adapter.MIGRATIONS)
            with store.transaction() as work:
                old = work.lookup_message("<old@x.test>")
                work.record_message(
                    "<new@x.test>", number=None, outcome="x", reason="y", fingerprint="f" * 64
                )
                work.commit()
            with store.transaction(read_only=True) as work:
                new = work.lookup_message("<new@x.test>")
            store.drop_tables()
        assert old is not None
        assert (old.outcome, old.fingerprint) == ("ignored", None)
        assert new is not None
        assert new.fingerprint == "f" * 64
    finally:
        engine.dispose()


# Version 3 moves the bytes of attachments and kept messages into blobs.

_LARGE = bytes(range(256)) * (14 * 1024) + b"tail"  # 3.5 MiB and four bytes: four chunks
_SMALL_RAW = b"From: robot@example.test\r\n\r\n\x00\xff"


def _thread_with_files() -> tuple[str, list[ThreadEntry]]:
    number = "ISS-2026-00001"
    first = ThreadEntry(
        kind=EntryKind.CUSTOMER_MESSAGE,
        author="a@b.test",
        text="two files",
        at=AT,
        attachments=(
            Attachment(filename="scan.pdf", content_type="application/pdf", data=_LARGE),
            Attachment(filename="empty.txt", content_type="text/plain", data=b""),
        ),
    )
    second = attrs.evolve(first, text="the scan again", attachments=first.attachments[:1])
    return number, [first, second]


def _assert_moved(store: SQLiteStore | SqlStore, number: str, entries: list[ThreadEntry]) -> None:
    with store.transaction(read_only=True) as work:
        assert work.thread(number) == entries
        assert work.kept_message("<raw@x.test>") == _SMALL_RAW
        assert work.kept_message("<same-as-scan@x.test>") == _LARGE
        assert work.referenced_blobs() == {
            hashlib.sha256(content).hexdigest() for content in (_LARGE, b"", _SMALL_RAW)
        }


def test_version_3_moves_sqlite_attachments_and_kept_messages_into_blobs(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    number, entries = _thread_with_files()
    issue = open_issue(number=number, subject="s", raised_by="a@b.test", at=AT).issue
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version in (1, 2):
            for statement in sqlite_adapter.MIGRATIONS[version - 1]:
                assert isinstance(statement, str)
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version VALUES (?, 'old')", (version,))
        connection.execute(
            "INSERT INTO issues VALUES (?, 'Open', 'a@b.test', 1, NULL, 0, 0, ?)",
            (number, issue_document(issue)),
        )
        for entry in entries:
            document, files = entry_document(entry)
            entry_id = connection.execute(
                "INSERT INTO thread_entries (number, at, kind, document) VALUES (?, 0, ?, ?)",
                (number, str(entry.kind), document),
            ).lastrowid
            for position, (described, data) in enumerate(files):
                connection.execute(
                    "INSERT INTO attachments VALUES (?, ?, ?, ?)",
                    (entry_id, position, described, data),
                )
        connection.execute("INSERT INTO kept_messages VALUES ('<raw@x.test>', ?)", (_SMALL_RAW,))
        connection.execute(
            "INSERT INTO kept_messages VALUES ('<same-as-scan@x.test>', ?)", (_LARGE,)
        )
    with SQLiteStore(path) as store:
        _assert_moved(store, number, entries)
    # Given files afterwards, the store still reads what the migration moved.
    with SQLiteStore(path, blobs=FileBlobStore(tmp_path / "blobs")) as store:
        _assert_moved(store, number, entries)
    with closing(sqlite3.connect(path)) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(attachments)")}
        kept_columns = {row[1] for row in connection.execute("PRAGMA table_info(kept_messages)")}
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM blob_chunks)"
        ).fetchone()
    assert columns == {"entry_id", "position", "document", "content"}
    assert kept_columns == {"message_id", "content"}
    # The scan (four chunks) is kept once; the empty file has no chunk; the raw message one.
    assert counts == (3, 5)


@pytest.mark.parametrize("variable", ["ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL"])
def test_version_3_moves_server_attachments_and_kept_messages_into_blobs(variable: str) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no server to test against")
    prefix = f"m{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    attachments, kept_messages = sql_adapter._bytes_tables(schema)
    number, entries = _thread_with_files()
    issue = open_issue(number=number, subject="s", raised_by="a@b.test", at=AT).issue
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version in (1, 2):
                sql_adapter.MIGRATIONS[version - 1](connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version, applied_at="old")
                )
            connection.execute(
                schema.issues.insert().values(
                    number=number,
                    status="Open",
                    raised_by="a@b.test",
                    version=1,
                    created_at=0,
                    updated_at=0,
                    document=issue_document(issue),
                )
            )
            for entry in entries:
                document, files = entry_document(entry)
                inserted = connection.execute(
                    schema.thread_entries.insert().values(
                        number=number, at=0, kind=str(entry.kind), document=document
                    )
                )
                entry_id = inserted.inserted_primary_key[0]
                for position, (described, data) in enumerate(files):
                    connection.execute(
                        attachments.insert().values(
                            entry_id=entry_id, position=position, document=described, data=data
                        )
                    )
            for message_id, raw in (
                ("<raw@x.test>", _SMALL_RAW),
                ("<same-as-scan@x.test>", _LARGE),
            ):
                connection.execute(
                    kept_messages.insert().values(
                        digest=hashlib.sha256(message_id.encode()).hexdigest(),
                        message_id=message_id,
                        raw=raw,
                    )
                )
        with SqlStore(url, table_prefix=prefix) as store:
            try:
                _assert_moved(store, number, entries)
                with engine.connect() as connection:
                    inspector = sa.inspect(connection)
                    columns = {c["name"] for c in inspector.get_columns(f"{prefix}attachments")}
                    kept = {c["name"] for c in inspector.get_columns(f"{prefix}kept_messages")}
                    counts = connection.execute(
                        sa.text(
                            f"SELECT (SELECT count(*) FROM {prefix}blobs), "
                            f"(SELECT count(*) FROM {prefix}blob_chunks)"
                        )
                    ).one()
                assert columns == {"entry_id", "position", "document", "content"}
                assert kept == {"digest", "message_id", "content"}
                assert tuple(counts) == (3, 5)
            finally:
                store.drop_tables()
    finally:
        engine.dispose()
