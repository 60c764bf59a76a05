"""Intake throughput and memory: messages per second into SQLite and PostgreSQL vs bare parsing.

Run: ``python benchmarks/ingest.py`` (PostgreSQL is measured when
``ISSUECORE_TEST_POSTGRES_URL`` is set). Every figure is measured side by side
in this one run on the same generated mailbox: per-message ``receive`` and
batched ``receive_many`` (the path of ``ingest``). Each rate, the bare parse's
included, is the best of three runs, each intake run on a new store. For
batched SQLite intake, the ratio to the bare parse is also given as the
median of seven pairs, each a bare parse and an intake run back to back.

For PostgreSQL two counts per message follow the rate, each from a second,
untimed run on a fresh store:

- statements: every statement SQLAlchemy hands to the driver
  (``before_cursor_execute``); an executemany counts once.
- round trips: every time the client sent something and then had to wait
  for the server's answer, read from libpq's protocol trace (a run of
  frontend messages followed by a backend message). This counts what the
  statement count leaves out: the pool's ping on checkout, ``BEGIN``,
  ``COMMIT``, savepoints, psycopg preparing a statement it saw five times;
  an executemany, which psycopg sends as one pipeline, counts as often as
  the client stopped to read in it. Split into the intake transactions and
  the deliveries after each commit (each automatic reply is marked sent in
  a transaction of its own, right after the mailer took it).
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore._workflow import format_issue_number, open_issue
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingMailer

MESSAGES = 600
BATCH = 200
RUNS = 3  # each rate is the best of this many runs
PAIRS = 7  # bare parse and batched SQLite intake run back to back, this many times
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=timedelta(hours=8), resolution=timedelta(hours=40))},
    default_priority="Medium",
    default=True,
)


def mailbox(count: int, *, offset: int = 0) -> list[bytes]:
    """Return ``count`` messages: two new requests, then a follow-up by token, repeating."""
    messages = []
    for index in range(count):
        message = EmailMessage()
        raiser = index - 2 if index % 3 == 2 else index
        message["From"] = (
            f"Customer {raiser % 40} <customer{raiser % 40}@customer{raiser % 7}.test>"
        )
        message["To"] = "support@example.com"
        if index % 3 == 2:
            number = format_issue_number(2026, offset + (index // 3) * 2 + 1)
            message["Subject"] = f"Re: Order {index - 2} [#{number}]"
        else:
            message["Subject"] = f"Order {index} arrived damaged"
        message["Message-ID"] = f"<bench-{uuid.uuid4().hex}@customer.test>"
        message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
        message.set_content(
            "Hello,\n\nthe parcel arrived today and the box was crushed.\n"
            "Could you send a replacement?\n\n-- \nCustomer\n" * 3
        )
        messages.append(message.as_bytes())
    return messages


def desk_on(store: Any) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        agreements=[AGREEMENT],
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"b" * 32),
        ),
    )


def rate(action: Callable[[bytes], object], messages: list[bytes]) -> float:
    began = time.perf_counter()
    for raw in messages:
        action(raw)
    return len(messages) / (time.perf_counter() - began)


def bare_parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=email.policy.default)


def preload(store: Any, count: int) -> None:
    """Store ``count`` issues directly, in batches, to measure intake beside them."""
    batch = 5000
    for first in range(0, count, batch):
        with store.transaction() as work:
            for _ in range(first, min(count, first + batch)):
                sequence = work.next_sequence(2025)
                issue = open_issue(
                    number=format_issue_number(2025, sequence),
                    subject="old issue",
                    raised_by="old@customer.test",
                    at=START - timedelta(days=400),
                ).issue
                work.insert_issue(issue, wake_at=None)
            work.commit()


def peak_intake_memory(stored: int, messages: list[bytes], folder: Path) -> int:
    path = folder / f"memory-{stored}.db"
    with SQLiteStore(path) as store:
        preload(store, stored)
        desk = desk_on(store)
        tracemalloc.start()
        for raw in messages:
            desk.receive(raw)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def sqlite_run(path: Path, measure: Callable[[HelpDesk], float]) -> float:
    """Return what ``measure`` gives for a desk on a new SQLite file at ``path``."""
    with SQLiteStore(path) as store:
        return measure(desk_on(store))


def batched_rate(desk: HelpDesk, messages: list[bytes]) -> float:
    began = time.perf_counter()
    report = desk.receive_many(messages, batch_size=BATCH)
    elapsed = time.perf_counter() - began
    assert len(report.outcomes) == len(messages), report.failures
    return len(messages) / elapsed


def line(label: str, value: float, bare: float) -> str:
    return f"{label:<50} {value:9.0f} messages/s   ({bare / value:5.1f}x the bare parse time)"


class RoundTrips:
    """Counts statements and protocol round trips of one store, split by what the desk was doing."""

    def __init__(self, store: Any, desk: HelpDesk, trace: Path) -> None:
        from psycopg import pq
        from sqlalchemy import event

        self.statements = 0
        self.trips = {"intake": 0, "delivery": 0}
        self.phase = "intake"
        self._trace = trace.open("a")
        self._read = trace.open()
        self._flags = pq.Trace.SUPPRESS_TIMESTAMPS
        store.engine.pool.dispose()  # every connection from now on is traced
        event.listen(store.engine, "connect", self._connected)
        event.listen(store.engine, "checkin", self._checked_in)
        event.listen(store.engine, "before_cursor_execute", self._statement)
        deliver = desk._delivery.deliver

        def delivering(items: Any) -> Any:
            self.phase = "delivery"
            try:
                return deliver(items)
            finally:
                self.phase = "intake"

        desk._delivery.deliver = delivering  # type: ignore[method-assign]

    def _statement(self, *_: object) -> None:
        self.statements += 1

    def _connected(self, dbapi_connection: Any, _: object) -> None:
        dbapi_connection.pgconn.trace(self._trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(self._flags)

    def _checked_in(self, dbapi_connection: Any, _: object) -> None:
        # Untracing flushes libpq's buffer; what this checkout sent and read is then whole.
        dbapi_connection.pgconn.untrace()
        self.trips[self.phase] += waits(self._read)
        dbapi_connection.pgconn.trace(self._trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(self._flags)


def waits(trace: io.TextIOBase) -> int:
    """Return how often the client turned from sending to reading in the trace lines not read."""
    turns = 0
    sending = False
    for line in trace.read().splitlines():
        direction = line.split("\t", 1)[0]
        if direction == "F":
            sending = True
        elif direction == "B" and sending:
            turns += 1
            sending = False
    return turns


def postgres_run(url: str, messages: list[bytes], *, batched: bool) -> float:
    """Return the rate of one run into new PostgreSQL tables."""
    from issuecore.adapters.sql import SqlStore

    store = SqlStore(url, table_prefix=f"b{uuid.uuid4().hex[:8]}_")
    try:
        desk = desk_on(store)
        return batched_rate(desk, messages) if batched else rate(desk.receive, messages)
    finally:
        store.drop_tables()
        store.close()


def postgres_figures(url: str, messages: list[bytes], bare: float, folder: Path) -> None:
    from issuecore.adapters.sql import SqlStore

    for label, batched in (
        ("HelpDesk.receive into PostgreSQL:", False),
        (f"batched intake ({BATCH}/transaction) into PostgreSQL:", True),
    ):
        value = max(postgres_run(url, messages, batched=batched) for _ in range(RUNS))
        print(line(label, value, bare))
        store = SqlStore(url, table_prefix=f"b{uuid.uuid4().hex[:8]}_")
        try:
            desk = desk_on(store)
            counted = RoundTrips(store, desk, folder / f"trace-{uuid.uuid4().hex}.txt")
            again = mailbox(len(messages))  # the same mail with Message-IDs of its own
            if batched:
                batched_rate(desk, again)
            else:
                rate(desk.receive, again)
        finally:
            store.drop_tables()
            store.close()
        intake, delivery = counted.trips["intake"], counted.trips["delivery"]
        print(
            f"{'':<50} per message: {counted.statements / len(again):5.2f} statements, "
            f"{(intake + delivery) / len(again):5.2f} round trips "
            f"({intake / len(again):.2f} intake, {delivery / len(again):.2f} delivery)"
        )


def paired_ratios(folder: Path, messages: list[bytes]) -> list[float]:
    """Return the batched SQLite time over the bare parse time, each run just after the other.

    A shared machine's load and its disk move from one second to the next;
    a pair run back to back sees nearly the same machine, so the median of
    the pairs' ratios moves less than the ratio of two best runs taken apart.
    """
    ratios = []
    for run in range(PAIRS):
        bare = rate(bare_parse, messages)
        batched = sqlite_run(folder / f"paired-{run}.db", lambda d: batched_rate(d, messages))
        ratios.append(bare / batched)
    return ratios


def main() -> None:
    messages = mailbox(MESSAGES)
    folder = Path(tempfile.mkdtemp(prefix="issuecore-bench-"))
    bare = max(rate(bare_parse, messages) for _ in range(RUNS))
    print(line("bare email.message_from_bytes (policy.default):", bare, bare))

    # Each figure is the best of three runs, as for the bare parse, each on a fresh file:
    # the first run of a process also pays for what Python does once (compiling
    # patterns, loading time zones), which the bare parse's best run leaves out.
    sqlite_rate = max(
        sqlite_run(folder / f"ingest-{run}.db", lambda desk: rate(desk.receive, messages))
        for run in range(RUNS)
    )
    print(line("HelpDesk.receive into SQLite:", sqlite_rate, bare))
    sqlite_batched = max(
        sqlite_run(folder / f"batched-{run}.db", lambda desk: batched_rate(desk, messages))
        for run in range(RUNS)
    )
    print(line(f"batched intake ({BATCH}/transaction) into SQLite:", sqlite_batched, bare))
    ratios = paired_ratios(folder, messages)
    print(
        f"{'':<50} paired with a bare parse just before each run: median "
        f"{statistics.median(ratios):.2f}x the bare parse time "
        f"({PAIRS} pairs, {min(ratios):.2f}x to {max(ratios):.2f}x)"
    )

    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if url:
        postgres_figures(url, messages, bare, folder)
    else:
        print("PostgreSQL: skipped (ISSUECORE_TEST_POSTGRES_URL unset)")

    sample = mailbox(150, offset=0)
    small = peak_intake_memory(1_000, sample, folder)
    large = peak_intake_memory(50_000, mailbox(150, offset=0), folder)
    print(
        f"peak intake memory, 150 messages beside 1,000 stored issues:  {small / 1e6:6.2f} MB\n"
        f"peak intake memory, 150 messages beside 50,000 stored issues: {large / 1e6:6.2f} MB"
        f"   (ratio {large / small:.2f}; independent of the number stored)"
    )


if __name__ == "__main__":
    main()
