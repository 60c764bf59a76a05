"""Draining the outbox with several worker processes: every message once, and how fast.

Run with ``.venv/bin/python benchmarks/delivery.py`` (``--postgres URL``, or
set ``ISSUECORE_TEST_POSTGRES_URL``). Queues 10,000 outbound messages in a
PostgreSQL database, then drains them with 1 worker process and, on fresh
tables, with 4, each worker calling ``HelpDesk.flush_outbox()`` until
nothing is left. Each worker's mailer appends the Message-ID of every
message it is handed to a file of its own; the script then checks that
every queued Message-ID was delivered exactly once and prints messages per
second for 1 and 4 workers side by side. The mailer does no network work,
so the figure is the cost of the outbox itself (claim, hand over, mark
done). The tables are dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from issuecore._desk import DeskSettings, HelpDesk
from issuecore.adapters.sql import SqlStore
from issuecore.ports import OutboxItem

MESSAGES = 10_000
WORKERS = (1, 4)


class LedgerMailer:
    """Appends each Message-ID it is handed to a file."""

    def __init__(self, path: Path) -> None:
        self.stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the worker

    def send(self, message: EmailMessage) -> None:
        self.stream.write(f"{message['Message-ID']}\n")


def queue(url: str, prefix: str, count: int) -> list[str]:
    """Store ``count`` pending messages; return their Message-IDs."""
    due = datetime.now(UTC) - timedelta(seconds=1)
    ids = []
    with SqlStore(url, table_prefix=prefix) as store:
        for start in range(0, count, 500):
            with store.transaction() as work:
                for index in range(start, min(start + 500, count)):
                    message = EmailMessage()
                    message["From"] = "support@example.com"
                    message["To"] = f"customer{index}@example.com"
                    message["Subject"] = f"Re: request {index} [#ISS-2026-{index:05d}]"
                    message["Message-ID"] = f"<bench{index}.{uuid.uuid4().hex}@example.com>"
                    message.set_content("We are on it.\n")
                    work.outbox.add(OutboxItem.for_message(message, number=None, created_at=due))
                    ids.append(str(message["Message-ID"]))
                work.commit()
    return ids


def worker(url: str, prefix: str, ledger: str, start: multiprocessing.synchronize.Event) -> None:
    with SqlStore(url, table_prefix=prefix) as store:
        mailer = LedgerMailer(Path(ledger))
        desk = HelpDesk(
            store=store, mailer=mailer, settings=DeskSettings(support_address="support@example.com")
        )
        start.wait()
        while desk.flush_outbox() != (0, 0):
            pass
        mailer.stream.close()


def drain(url: str, count: int, workers: int, folder: Path) -> float:
    """Queue ``count`` messages, drain them with ``workers`` processes; return the seconds taken."""
    prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    store = SqlStore(url, table_prefix=prefix)
    try:
        queued = queue(url, prefix, count)
        context = multiprocessing.get_context("spawn")
        start = context.Event()
        ledgers = [folder / f"{prefix}{index}.txt" for index in range(workers)]
        processes = [
            context.Process(target=worker, args=(url, prefix, str(ledger), start))
            for ledger in ledgers
        ]
        for process in processes:
            process.start()
        time.sleep(2)  # let every worker connect before the clock starts (not synchronisation)
        began = time.perf_counter()
        start.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - began
        if any(process.exitcode != 0 for process in processes):
            raise SystemExit(f"a worker failed: {[p.exitcode for p in processes]}")
        delivered = Counter(
            line
            for ledger in ledgers
            if ledger.exists()
            for line in ledger.read_text(encoding="utf-8").splitlines()
        )
        repeated = sum(n - 1 for n in delivered.values() if n > 1)
        missing = len(set(queued) - set(delivered))
        if repeated or missing or len(delivered) != count:
            raise SystemExit(f"{workers} workers: {repeated} repeated, {missing} missing")
        shares = [
            len(ledger.read_text(encoding="utf-8").splitlines()) if ledger.exists() else 0
            for ledger in ledgers
        ]
        print(
            f"{workers} worker(s): {count} messages, each delivered once, in {elapsed:.2f} s "
            f"= {count / elapsed:,.0f} messages/s; per worker {shares}",
            flush=True,
        )
        return elapsed
    finally:
        store.drop_tables()
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("ISSUECORE_TEST_POSTGRES_URL"))
    parser.add_argument("--messages", type=int, default=MESSAGES)
    args = parser.parse_args()
    if not args.postgres:
        print("no PostgreSQL URL (--postgres or ISSUECORE_TEST_POSTGRES_URL): skipped")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        timings = {n: drain(args.postgres, args.messages, n, Path(folder)) for n in WORKERS}
    one, many = timings[WORKERS[0]], timings[WORKERS[-1]]
    print(
        f"side by side: 1 worker {args.messages / one:,.0f}/s, {WORKERS[-1]} workers "
        f"{args.messages / many:,.0f}/s: {one / many:.2f} times the throughput"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
