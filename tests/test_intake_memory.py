"""Intake's peak memory stays within three times the message's size for a large attachment.

A measurement of allocations (``tracemalloc``), deterministic for a given
message: the message of about 47 MB carries a 35 MB attachment, and the peak
counts everything Python allocated while the desk received it.
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store

ATTACHMENT = 35_000_000


@pytest.fixture(scope="module")
def large_message() -> bytes:
    message = EmailMessage()
    message["From"] = "ana@customer.example"
    message["To"] = "help@desk.example"
    message["Subject"] = "The scans"
    message["Message-ID"] = "<scans@customer.example>"
    message.set_content("All the scans, attached.")
    data = random.Random(35).randbytes(ATTACHMENT)
    message.add_attachment(data, maintype="application", subtype="pdf", filename="scans.pdf")
    return message.as_bytes()


def _receive_peak(store: Store, raw: bytes) -> int:
    from issuecore.testing import FakeClock, RecordingMailer

    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        settings=DeskSettings("help@desk.example"),
    )
    gc.collect()
    tracemalloc.start()
    try:
        outcome = desk.receive(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.kind == "created"
    (entry,) = desk.thread("ISS-2026-00001")
    assert entry.attachments[0].size == ATTACHMENT
    return peak


STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda folder: InMemoryStore(),
    "sqlite": lambda folder: SQLiteStore(folder / "desk.db"),
}


@pytest.mark.parametrize("kind", sorted(STORES))
def test_receiving_a_35_mb_attachment_peaks_below_three_times_the_message(
    kind: str, large_message: bytes, tmp_path: Path
) -> None:
    assert 47_000_000 < len(large_message) < 48_000_000
    store = STORES[kind](tmp_path)
    try:
        peak = _receive_peak(store, large_message)
    finally:
        if isinstance(store, SQLiteStore):
            store.close()
    assert peak <= 3 * len(large_message), f"peak {peak / len(large_message):.2f} x the message"
