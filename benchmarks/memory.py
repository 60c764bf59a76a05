"""Peak memory of intake: one message with a 35 MB attachment, against bare ``email`` parsing.

Run: ``python benchmarks/memory.py``. The message (about 47 MB once base64
encoded) is built before measuring; each figure is the peak of the memory
Python allocated while the step ran (``tracemalloc``), as a multiple of the
message's size. SQLite's own page cache is not Python's memory and is not
counted. The figures come from one run, side by side:

- bare ``email``: ``BytesParser(policy=default).parsebytes`` and the
  attachment decoded with ``get_payload(decode=True)``, the baseline;
- ``parse_message``: issuecore's reading of the message;
- ``HelpDesk.receive`` into the memory store and into SQLite (the
  attachment stored in 1 MiB blob rows);
- ``HelpDesk.thread`` reading the attachment back from SQLite.

Then a long-running desk with its default ports (no task board, notifier or
event sink given, the default ``DeskSettings``) does 100,000 operations on
1,000 issues, each issue in turn getting an agent's note, the customer's mail
with the issue's token (``receive``) and an agent reply sent through the
outbox; ``tick`` runs every 100 operations and the clock moves a minute per
operation (so delivered outbox rows are pruned after 7 days, 10,080
operations). Each store runs in a process of its own, side by side:

- ``InMemoryStore`` holds every thread entry, message record and outbox
  row, so its memory grows with the data it keeps;
- ``SQLiteStore`` keeps the data on disk: what grows in memory is what the
  desk holds on to.

For each, after the 1,000-operation warm-up and after every 10,000
operations: the interpreter's memory blocks after a full collection
(``sys.getallocatedblocks``) and the resident size; then the growth per
1,000 operations from 10,000 to 100,000, the bytes allocated during the
last 10,000 operations and still held at the end (``tracemalloc`` over that
stretch only), and the peak resident size. ``--operations N`` runs N
operations instead (figures after every tenth); ``--long-running-only``
skips the 35 MB message.
"""

from __future__ import annotations

import argparse
import email.policy
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._parse import parse_message
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

ATTACHMENT = 35_000_000
BOUND = 3.0


def message_with_attachment(size: int) -> bytes:
    """Return a customer's message carrying ``size`` random bytes as a PDF attachment."""
    message = EmailMessage()
    message["From"] = "ana@customer.example"
    message["To"] = "help@desk.example"
    message["Subject"] = "The scans"
    message["Message-ID"] = "<scans@customer.example>"
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    message.set_content("All the scans, attached.")
    data = random.Random(35).randbytes(size)
    message.add_attachment(data, maintype="application", subtype="pdf", filename="scans.pdf")
    return message.as_bytes()


def peak(step: Callable[[], Any]) -> int:
    """Return the peak of Python's allocations while ``step`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bare_email(raw: bytes) -> list[bytes]:
    """Parse ``raw`` with the standard library alone and decode its attachments."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return [part.get_payload(decode=True) for part in message.iter_attachments()]


def desk(store: Store) -> HelpDesk:
    """Return a desk on ``store`` with a fixed clock."""
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        settings=DeskSettings("help@desk.example"),
    )


def intake_peaks() -> None:
    """Print the peak memory of intake of one message with a 35 MB attachment."""
    raw = message_with_attachment(ATTACHMENT)
    size = len(raw)
    print(f"message: {size:,} bytes, carrying a {ATTACHMENT:,}-byte attachment")
    print(f"{'step':<44} {'peak bytes':>14} {'x message':>10}")
    rows: list[tuple[str, int]] = [
        ("bare email: parsebytes + get_payload", peak(lambda: bare_email(raw))),
        ("parse_message", peak(lambda: parse_message(raw))),
    ]
    rows.append(
        ("HelpDesk.receive, InMemoryStore", peak(lambda: desk(InMemoryStore()).receive(raw)))
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        SQLiteStore(Path(folder) / "desk.db") as store,
    ):
        sqlite_desk = desk(store)
        rows.append(("HelpDesk.receive, SQLiteStore", peak(lambda: sqlite_desk.receive(raw))))
        number = "ISS-2026-00001"
        rows.append(("HelpDesk.thread, SQLiteStore", peak(lambda: sqlite_desk.thread(number))))
    for name, measured in rows:
        print(f"{name:<44} {measured:>14,} {measured / size:>10.2f}")
    receives = [measured for name, measured in rows if name.startswith("HelpDesk.receive")]
    worst = max(receives) / size
    print(f"worst intake peak: {worst:.2f} x the message (bound: {BOUND:.1f} x)")


# --- a long-running desk ---------------------------------------------------------------

OPERATIONS = 100_000
ISSUES = 1_000
SUPPORT = "support@desk.example"
AGENT = "ben@desk.example"
STORES = {"memory": "InMemoryStore (holds all data)", "sqlite": "SQLiteStore (data on disk)"}


class SendingNowhere:
    """A mailer that accepts every message and keeps none, as a relay would."""

    def send(self, message: EmailMessage) -> None:
        """Accept ``message``."""


def customer_mail(step: int, number: str) -> bytes:
    """Return the customer's mail of operation ``step`` on issue ``number``."""
    return (
        f"From: Ana <ana@customer.example>\r\nTo: {SUPPORT}\r\n"
        f"Subject: Re: issue [#{number}]\r\nMessage-ID: <op{step}@customer.example>\r\n"
        f"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nStill broken, step {step}.\r\n"
    ).encode()


def blocks() -> int:
    """Return how many memory blocks the interpreter holds, after a full collection."""
    gc.collect()
    return sys.getallocatedblocks()


def resident_kib() -> int:
    """Return the process's resident size now (Linux), else its peak so far, in KiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return pages * resource.getpagesize() // 1024


def run_long(kind: str, operations: int, folder: Path) -> Iterator[dict[str, int]]:
    """Run ``operations`` on a desk with default ports over store ``kind``, yielding figures.

    One figure after the warm-up (a hundredth of the operations) and one after
    each tenth; the last tenth runs under ``tracemalloc`` to count what it
    leaves behind.
    """
    store: Store = SQLiteStore(folder / "desk.db") if kind == "sqlite" else InMemoryStore()
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    running = HelpDesk(
        store=store, mailer=SendingNowhere(), clock=clock, settings=DeskSettings(SUPPORT)
    )
    numbers = [
        running.open_issue(subject=f"issue {i}", raised_by="ana@customer.example", body="b").number
        for i in range(ISSUES)
    ]

    def work(start: int, stop: int) -> None:
        for step in range(start, stop):
            number = numbers[step % ISSUES]
            turn = (step // ISSUES) % 3  # each issue in turn: a note, the customer's mail, a reply
            if turn == 0:
                running.add_note(number, body=f"note {step}", author=AGENT)
            elif turn == 1:
                outcome = running.receive(customer_mail(step, number))
                assert outcome.issue_number == number, outcome
            else:
                running.reply(number, body=f"reply {step}", author=AGENT)
            clock.advance(timedelta(minutes=1))
            if step % 100 == 99:
                running.tick()

    checkpoints = [operations // 100] + [operations * tenth // 10 for tenth in range(1, 11)]
    last = checkpoints[-2]
    done = 0
    for checkpoint in checkpoints:
        traced = checkpoint == operations and last < operations
        if traced:
            gc.collect()
            tracemalloc.start()
        work(done, checkpoint)
        done = checkpoint
        figures = {"operations": done, "blocks": blocks(), "resident_kib": resident_kib()}
        if traced:
            figures["held_from_last"] = tracemalloc.get_traced_memory()[0]
            figures["last_from"] = last
            tracemalloc.stop()
        if done == operations:
            figures["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        yield figures
    if isinstance(store, SQLiteStore):
        store.close()


def long_running(operations: int) -> None:
    """Print the memory figures of a long-running desk on each store, each in its own process."""
    print(
        f"\nlong-running desk, default ports, {operations:,} operations on {ISSUES:,} issues"
        " (notes, customer mail, agent replies; tick every 100)"
    )
    children = {
        kind: subprocess.Popen(
            [sys.executable, __file__, "--child", kind, "--operations", str(operations)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for kind in STORES
    }  # side by side, each in its own process: the figures are per process
    results: dict[str, list[dict[str, int]]] = {}
    for kind, child in children.items():
        output, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"the {kind} run failed with exit status {child.returncode}")
        results[kind] = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    header = f"{'operations':>10}"
    for kind in STORES:
        header += f"  {STORES[kind] + ': blocks':>42} {'resident':>10}"
    print(header)
    rows = zip(*results.values(), strict=True)
    for row in rows:
        line = f"{row[0]['operations']:>10,}"
        for figures in row:
            line += f"  {figures['blocks']:>42,} {figures['resident_kib'] / 1024:>7,.0f} MiB"
        print(line)
    for kind, figures in results.items():
        middle, end = figures[1], figures[-1]
        span = end["operations"] - middle["operations"]
        growth = 1000 * (end["blocks"] - middle["blocks"]) / span if span else 0.0
        print(
            f"{STORES[kind]}: {growth:+,.1f} blocks per 1,000 operations from"
            f" {middle['operations']:,} to {end['operations']:,};"
            f" {end.get('held_from_last', 0) / 1024:,.0f} KiB allocated after"
            f" {end.get('last_from', 0):,} operations still held at the end;"
            f" peak resident {end['peak_kib'] / 1024:,.0f} MiB"
        )
    print("blocks: the interpreter's memory blocks after a full collection")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--operations", type=int, default=OPERATIONS)
    parser.add_argument("--long-running-only", action="store_true")
    parser.add_argument("--child", choices=sorted(STORES), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        with tempfile.TemporaryDirectory() as folder:
            for figures in run_long(arguments.child, arguments.operations, Path(folder)):
                line = json.dumps(figures)
                print(line, flush=True)
                print(f"{arguments.child}: {line}", file=sys.stderr, flush=True)
        return
    if not arguments.long_running_only:
        intake_peaks()
    long_running(arguments.operations)


if __name__ == "__main__":
    main()
