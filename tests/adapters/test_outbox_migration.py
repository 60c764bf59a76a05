"""The mail outbox of schema version 2 moves into the outbox of every effect, nothing lost."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from issuecore._codec import to_micros
from issuecore.adapters import sql as sql_adapter
from issuecore.adapters import sqlite as sqlite_adapter
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VERSION = 4  # the last schema with the mail-only outbox


def message(index: int) -> bytes:
    mail = EmailMessage()
    mail["To"] = "ana@example.com"
    mail["Subject"] = f"reply {index}"
    mail["Message-ID"] = f"<old{index}@example.com>"
    mail.set_content("text\n")
    return mail.as_bytes()


def old_rows() -> list[dict[str, Any]]:
    """A pending row, one sent, one given up: what version 2 can hold."""
    at = to_micros("at", AT)
    common = {"number": "ISS-2026-00001", "created_at": at, "attempts": 1}
    return [
        {**common, "message_id": "<old0@example.com>", "message": message(0),
         "next_attempt_at": at, "sent_at": None, "last_error": "421 later"},
        {**common, "message_id": "<old1@example.com>", "message": message(1),
         "next_attempt_at": None, "sent_at": at, "last_error": None},
        {**common, "message_id": "<old2@example.com>", "message": message(2),
         "next_attempt_at": None, "sent_at": None, "last_error": "550 no"},
    ]  # fmt: skip


def check_moved(store: Store) -> None:
    with store.transaction() as work:
        (dead,) = work.outbox.dead_letters(limit=10)
        claimed = work.outbox.claim(
            AT + timedelta(days=1), owner="t", until=AT + timedelta(days=2), limit=10
        )
        work.commit()
    assert (dead.message_id, dead.last_error) == ("<old2@example.com>", "550 no")
    assert [item.message_id for item in claimed] == ["<old0@example.com>"]
    assert claimed[0].email()["Subject"] == "reply 0"
    assert claimed[0].last_error == "421 later"
    with store.transaction(read_only=True) as work:
        sent = work.outbox.get(f"outbox-{2}")
    assert sent is not None
    assert sent.state == "done"


def test_a_version_2_sqlite_outbox_moves_into_the_effects_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    for version in range(VERSION):
        for statement in sqlite_adapter.MIGRATIONS[version]:
            if isinstance(statement, str):
                connection.execute(statement)
            else:
                statement(connection)
        connection.execute("INSERT INTO schema_version VALUES (?, 'old')", (version + 1,))
    connection.executemany(
        "INSERT INTO outbox (number, message_id, message, created_at, attempts, "
        "next_attempt_at, sent_at, last_error) VALUES (:number, :message_id, :message, "
        ":created_at, :attempts, :next_attempt_at, :sent_at, :last_error)",
        old_rows(),
    )
    connection.commit()
    connection.close()
    with SQLiteStore(path) as store:
        check_moved(store)
    tables = sqlite3.connect(path)
    try:
        names = {name for (name,) in tables.execute("SELECT name FROM sqlite_master")}
    finally:
        tables.close()
    assert "outbox" not in names


@pytest.mark.parametrize("variable", ["ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL"])
def test_a_version_2_server_outbox_moves_into_the_effects_table(variable: str) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no database server to test against")
    prefix = f"o{uuid.uuid4().hex[:10]}_"
    engine = sa.create_engine(url)
    schema = sql_adapter._Schema.define(prefix)
    try:
        with engine.begin() as connection:
            schema.schema_version.create(connection)
            for version in range(VERSION):
                sql_adapter.MIGRATIONS[version](connection, schema)
                connection.execute(
                    schema.schema_version.insert().values(version=version + 1, applied_at="old")
                )
            connection.execute(sql_adapter._outbox_version_1(prefix).insert(), old_rows())
        with SqlStore(url, table_prefix=prefix) as store:
            try:
                check_moved(store)
                with engine.connect() as connection:
                    assert not sa.inspect(connection).has_table(f"{prefix}outbox")
            finally:
                store.drop_tables()
    finally:
        engine.dispose()
