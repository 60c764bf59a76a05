"""What delivering a batch's automatic replies costs on PostgreSQL, counted on the wire.

Each automatic reply is marked done in a transaction of its own right after
the mailer took it (the documented crash window: a crash resends at most that
one mail). What that costs is bounded here: the one ``UPDATE``, a transaction
by itself without ``BEGIN`` and ``COMMIT``, one round trip, and no ping of a
connection the pool handed out a moment before. Round trips are read from libpq's protocol
trace: each time the client turned from sending to reading.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.sql import SqlStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import OutboxItem
from issuecore.testing import FakeClock, RecordingMailer

SUPPORT = "support@desk.example"
REQUESTS = 12


@pytest.fixture
def store() -> Iterator[SqlStore]:
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; give a PostgreSQL URL to run these")
    opened = SqlStore(url, table_prefix=f"r{uuid.uuid4().hex[:10]}_")
    try:
        yield opened
    finally:
        opened.drop_tables()
        opened.close()


class WireCount:
    """Round trips and statements of one store's connections, split by what the desk did."""

    def __init__(self, store: SqlStore, trace: Path) -> None:
        from psycopg import pq

        self.trips = {"intake": 0, "delivery": 0}
        self.statements = {"intake": 0, "delivery": 0}
        self.phase = "intake"
        self._flags = pq.Trace.SUPPRESS_TIMESTAMPS
        self._write = trace.open("a")
        self._read = trace.open()
        self._engine = store.engine
        self._engine.pool.dispose()  # every connection from now on is traced
        sa.event.listen(self._engine, "connect", self._connected)
        sa.event.listen(self._engine, "checkin", self._checked_in)
        sa.event.listen(self._engine, "before_cursor_execute", self._statement)

    def close(self) -> None:
        """Stop counting: the traced connections are closed, later ones are not traced."""
        sa.event.remove(self._engine, "connect", self._connected)
        sa.event.remove(self._engine, "checkin", self._checked_in)
        sa.event.remove(self._engine, "before_cursor_execute", self._statement)
        self._engine.pool.dispose()
        self._write.close()
        self._read.close()

    def _statement(self, *_: object) -> None:
        self.statements[self.phase] += 1

    def _connected(self, dbapi_connection: Any, _: object) -> None:
        dbapi_connection.pgconn.trace(self._write.fileno())
        dbapi_connection.pgconn.set_trace_flags(self._flags)

    def _checked_in(self, dbapi_connection: Any, _: object) -> None:
        # Untracing flushes libpq's buffer: what this checkout sent and read is whole.
        dbapi_connection.pgconn.untrace()
        sending = False
        for line in self._read.read().splitlines():
            direction = line.split("\t", 1)[0]
            if direction == "F":
                sending = True
            elif direction == "B" and sending:
                self.trips[self.phase] += 1
                sending = False
        dbapi_connection.pgconn.trace(self._write.fileno())
        dbapi_connection.pgconn.set_trace_flags(self._flags)


def requests(count: int) -> list[bytes]:
    return [
        (
            f"From: customer{index}@customer.example\nTo: {SUPPORT}\n"
            f"Subject: Request {index}\nDate: Mon, 02 Mar 2026 09:00:00 +0000\n"
            f"Message-ID: <{uuid.uuid4().hex}@customer.example>\n\nBody {index}\n"
        ).encode()
        for index in range(count)
    ]


def test_each_automatic_reply_of_a_batch_is_marked_done_in_one_round_trip(
    store: SqlStore, tmp_path: Path
) -> None:
    mailer = RecordingMailer()
    desk = HelpDesk(
        store=store,
        mailer=mailer,
        clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )
    desk.receive_many(requests(2), batch_size=200)  # the pool's first connection is made
    count = WireCount(store, tmp_path / "trace.txt")
    deliver = desk._delivery.deliver

    def delivering(items: Sequence[OutboxItem]) -> tuple[int, int]:
        count.phase = "delivery"
        try:
            return deliver(items)
        finally:
            count.phase = "intake"

    desk._delivery.deliver = delivering  # type: ignore[method-assign]
    try:
        report = desk.receive_many(requests(REQUESTS), batch_size=200)
    finally:
        count.close()
    assert [outcome.kind for outcome in report.outcomes] == ["created"] * REQUESTS
    assert len(mailer.sent) == REQUESTS + 2
    with store.transaction(read_only=True) as work:
        assert work.outbox.pending(limit=100) == []
    # One update per reply, a transaction by itself (no BEGIN, no COMMIT), one for the
    # events after the last reply; once, after the batch's durable commit, the SET that
    # makes marks not wait for the disk, and once psycopg preparing the update.
    marks = REQUESTS + 1
    assert count.statements["delivery"] == marks + 1
    assert count.trips["delivery"] <= marks + 2, count.trips
