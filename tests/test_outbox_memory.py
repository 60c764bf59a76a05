"""A long-running desk on its default ports keeps bounded memory: effects are not kept around."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import attrs

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from issuecore.adapters.null import NullEventSink, NullNotifier, NullTaskBoard
from issuecore.testing import FakeClock

OPERATIONS = 14_000
WARM_UP = 2_000
ISSUES = 50
KEPT = 5


class ShortMemoryStore(InMemoryStore):
    """An in-memory store that keeps only the last few thread entries and history lines.

    A real store keeps everything, on disk; trimming here leaves in memory
    only what the desk itself holds on to, which is what this test measures.
    """

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[InMemoryUnitOfWork]:
        with super().transaction(read_only=read_only) as work:
            yield work
        if not read_only:
            tables = self._tables
            for number, entries in tables.threads.items():
                tables.threads[number] = entries[-KEPT:]
            for number, (issue, wake_at) in tables.issues.items():
                if len(issue.history) > KEPT:
                    trimmed = attrs.evolve(issue, history=issue.history[-KEPT:])
                    tables.issues[number] = (trimmed, wake_at)


class DroppingMailer:
    def send(self, message: EmailMessage) -> None:
        """Send nowhere."""


def test_a_long_running_desk_with_default_ports_keeps_bounded_memory() -> None:
    store = ShortMemoryStore()
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    desk = HelpDesk(
        store=store,
        mailer=DroppingMailer(),
        clock=clock,
        settings=DeskSettings(
            support_address="support@example.com", keep_delivered=timedelta(hours=1)
        ),
    )
    assert isinstance(desk.tasks, NullTaskBoard)
    assert isinstance(desk.notifier, NullNotifier)
    assert isinstance(desk.events, NullEventSink)
    numbers = [
        desk.open_issue(subject=f"issue {i}", raised_by="ana@customer.test", body="b").number
        for i in range(ISSUES)
    ]

    def work(start: int, stop: int) -> None:
        for step in range(start, stop):
            number = numbers[step % ISSUES]
            desk.add_note(number, body=f"note {step}", author="ben@example.com")
            clock.advance(timedelta(minutes=1))
            if step % 100 == 99:
                desk.tick()

    def held() -> int:
        """Return how many memory blocks the interpreter holds, after a full collection."""
        gc.collect()
        return sys.getallocatedblocks()

    work(0, WARM_UP)
    after_warm_up = held()
    work(WARM_UP, OPERATIONS)
    at_the_end = held()
    with store.transaction(read_only=True) as unit:
        assert unit.outbox.pending(limit=10) == []
    # Delivered rows older than an hour are pruned: one an operation, a minute apart.
    assert len(store._tables.outbox) <= 60 + 100
    # One object kept per operation would be 12,000 blocks or more.
    growth = at_the_end - after_warm_up
    assert growth < 2_000, f"memory grew by {growth} blocks over {OPERATIONS - WARM_UP} operations"
