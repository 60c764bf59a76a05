"""Intake throughput and memory: messages per second into SQLite and PostgreSQL vs bare parsing.

Run: ``python benchmarks/ingest.py`` (PostgreSQL is measured when
``ISSUECORE_TEST_POSTGRES_URL`` is set). Every figure is measured side by side
in this one run on the same generated mailbox: per-message ``receive`` and
batched ``receive_many`` (the path of ``ingest``), with the statements sent
to PostgreSQL per message counted.
"""

from __future__ import annotations

import email
import email.policy
import os
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


def batched_rate(desk: HelpDesk, messages: list[bytes]) -> float:
    began = time.perf_counter()
    report = desk.receive_many(messages, batch_size=BATCH)
    elapsed = time.perf_counter() - began
    assert len(report.outcomes) == len(messages), report.failures
    return len(messages) / elapsed


def line(label: str, value: float, bare: float, trips: float | None = None) -> str:
    text = f"{label:<50} {value:9.0f} messages/s   ({bare / value:5.1f}x the bare parse time"
    text += " per message)" if trips is None else f", {trips:5.1f} statements per message)"
    return text


def postgres_figures(url: str, messages: list[bytes], bare: float) -> None:
    from sqlalchemy import event

    from issuecore.adapters.sql import SqlStore

    for label, batched in (
        ("HelpDesk.receive into PostgreSQL:", False),
        (f"batched intake ({BATCH}/transaction) into PostgreSQL:", True),
    ):
        store = SqlStore(url, table_prefix=f"b{uuid.uuid4().hex[:8]}_")
        statements = [0]

        def count(*_: object, statements: list[int] = statements) -> None:
            statements[0] += 1

        event.listen(store.engine, "before_cursor_execute", count)
        event.listen(store.engine, "commit", count)
        event.listen(store.engine, "begin", count)
        try:
            desk = desk_on(store)
            value = batched_rate(desk, messages) if batched else rate(desk.receive, messages)
        finally:
            event.remove(store.engine, "before_cursor_execute", count)
            store.drop_tables()
            store.close()
        print(line(label, value, bare, statements[0] / len(messages)))


def main() -> None:
    messages = mailbox(MESSAGES)
    folder = Path(tempfile.mkdtemp(prefix="issuecore-bench-"))
    bare = max(rate(bare_parse, messages) for _ in range(3))
    print(line("bare email.message_from_bytes (policy.default):", bare, bare))

    with SQLiteStore(folder / "ingest.db") as store:
        sqlite_rate = rate(desk_on(store).receive, messages)
    print(line("HelpDesk.receive into SQLite:", sqlite_rate, bare))
    with SQLiteStore(folder / "batched.db") as store:
        sqlite_batched = batched_rate(desk_on(store), messages)
    print(line(f"batched intake ({BATCH}/transaction) into SQLite:", sqlite_batched, bare))

    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if url:
        postgres_figures(url, messages, bare)
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
