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
"""

from __future__ import annotations

import email.policy
import gc
import random
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
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


def main() -> None:
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


if __name__ == "__main__":
    main()
