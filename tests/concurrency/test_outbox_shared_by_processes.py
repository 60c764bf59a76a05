"""Four processes (ingest, reply, note, tick) on one database send every message exactly once."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from concurrency_support import open_store, run_together

from issuecore import HelpDesk

WORKER = Path(__file__).with_name("outbox_worker.py")
OPERATIONS = 40


def outbound_ids(spec: str) -> list[str]:
    """Return the Message-ID of every outbound message the desk stored."""
    if "://" not in spec:
        import sqlite3

        connection = sqlite3.connect(spec)
        try:
            rows = connection.execute("SELECT message_id FROM effects WHERE kind = 'mail'")
            return [message_id for (message_id,) in rows]
        finally:
            connection.close()
    url, _, prefix = spec.partition("#")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(f"SELECT message_id FROM {prefix}effects WHERE kind = 'mail'")
            )
            return [message_id for (message_id,) in rows]
    finally:
        engine.dispose()


def share_one_desk(spec: str, ledger: Path) -> None:
    from outbox_worker import desk_for  # type: ignore[import-not-found]

    ledger.mkdir()
    store = open_store(spec)
    try:
        desk: HelpDesk = desk_for(store, ledger, seed=0)
        numbers = [
            desk.open_issue(subject=f"shared {i}", raised_by=f"c{i}@customer.test", body="b").number
            for i in range(3)
        ]
    finally:
        store.close()
    results = run_together(
        WORKER,
        [[role, spec, str(ledger), str(OPERATIONS), *numbers] for role in ROLES],
    )
    assert sorted(result["role"] for result in results) == sorted(ROLES)
    # Whatever the workers left (a refused message retried after they stopped) goes now.
    store = open_store(spec)
    try:
        final = desk_for(store, ledger, seed=1)
        while final.flush_outbox() != (0, 0):
            pass
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
            assert work.outbox.dead_letters(limit=10) == []
    finally:
        store.close()

    stored = outbound_ids(spec)
    # 40 automatic replies and 40 agent replies.
    assert len(stored) == len(set(stored)) == 2 * OPERATIONS
    delivered = Counter(path.read_text(encoding="utf-8") for path in ledger.iterdir())
    duplicates = {message_id: n for message_id, n in delivered.items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} messages were sent more than once"
    assert set(delivered) == set(stored), "a message was never sent"


ROLES = ["ingest", "reply", "note", "tick"]


def test_four_processes_on_one_sqlite_file_send_every_message_exactly_once(
    tmp_path: Path,
) -> None:
    share_one_desk(str(tmp_path / "desk.db"), tmp_path / "ledger")


def test_four_processes_on_postgresql_send_every_message_exactly_once(
    postgres_spec: str, tmp_path: Path
) -> None:
    share_one_desk(postgres_spec, tmp_path / "ledger")


@pytest.fixture
def mariadb_spec() -> Iterator[str]:
    """Yield ``URL#prefix`` for fresh tables on the test MariaDB server; drop them after."""
    url = os.environ.get("ISSUECORE_TEST_MARIADB_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_MARIADB_URL is not set; no MariaDB server to test against")
    from issuecore.adapters.sql import SqlStore

    prefix = f"c{uuid.uuid4().hex[:10]}_"
    store = SqlStore(url, table_prefix=prefix)
    try:
        yield f"{url}#{prefix}"
    finally:
        store.drop_tables()
        store.close()


def test_four_processes_on_mariadb_send_every_message_exactly_once(
    mariadb_spec: str, tmp_path: Path
) -> None:
    share_one_desk(mariadb_spec, tmp_path / "ledger")
