"""A long-running desk on its default ports keeps bounded memory: effects are not kept around.

The desk takes notes, receives customer mail and sends agent replies through
the outbox, with ``tick`` every 100 operations, over a store that forgets old
data; the memory the interpreter holds must stop growing once the desk is
warm. ``benchmarks/memory.py`` runs the same kind of work for 100,000
operations on the memory store and SQLite and prints the figures.
"""

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

OPERATIONS = 7_500
WARM_UP = 1_500
MIDDLE = 4_500
ISSUES = 50
KEPT = 5
SUPPORT = "support@example.com"
AGENT = "ben@example.com"


class ShortMemoryStore(InMemoryStore):
    """An in-memory store that keeps only the last few thread entries, history lines and records.

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
            if len(tables.messages) > ISSUES * KEPT:
                tables.messages = dict(list(tables.messages.items())[-ISSUES * KEPT :])


class DroppingMailer:
    """Counts what it is given and keeps none of it."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, message: EmailMessage) -> None:
        """Send nowhere."""
        self.sent += 1


def _customer_mail(step: int, number: str) -> bytes:
    return (
        f"From: ana@customer.test\r\nTo: {SUPPORT}\r\nSubject: Re: issue [#{number}]\r\n"
        f"Message-ID: <op{step}@customer.test>\r\n\r\nStill broken, step {step}.\r\n"
    ).encode()


def _held() -> int:
    """Return how many memory blocks the interpreter holds, after a full collection."""
    gc.collect()
    return sys.getallocatedblocks()


def test_a_long_running_desk_with_default_ports_keeps_bounded_memory() -> None:
    store = ShortMemoryStore()
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    mailer = DroppingMailer()
    desk = HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        settings=DeskSettings(support_address=SUPPORT, keep_delivered=timedelta(hours=1)),
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
            turn = (step // ISSUES) % 3  # each issue in turn: a note, the customer's mail, a reply
            if turn == 0:
                desk.add_note(number, body=f"note {step}", author=AGENT)
            elif turn == 1:
                assert desk.receive(_customer_mail(step, number)).issue_number == number
            else:
                desk.reply(number, body=f"reply {step}", author=AGENT)
            clock.advance(timedelta(minutes=1))
            if step % 100 == 99:
                desk.tick()

    work(0, WARM_UP)
    after_warm_up = _held()
    work(WARM_UP, MIDDLE)
    in_the_middle = _held()
    work(MIDDLE, OPERATIONS)
    at_the_end = _held()
    assert mailer.sent == OPERATIONS // 3  # every reply went out
    with store.transaction(read_only=True) as unit:
        assert unit.outbox.pending(limit=10) == []
    # Delivered rows older than an hour are pruned at each tick: at most three rows (a mail
    # and its events) for each operation of the last 60 + 100 minutes remain.
    assert len(store._tables.outbox) <= 3 * (60 + 100)
    # One object kept per operation would be 3,000 blocks or more in each half, one for every
    # tenth operation 300; the desk holds on to none (measured: a few dozen blocks either way).
    first, second = in_the_middle - after_warm_up, at_the_end - in_the_middle
    assert first < 300, f"memory grew by {first} blocks over operations {WARM_UP}-{MIDDLE}"
    assert second < 300, f"memory grew by {second} blocks over operations {MIDDLE}-{OPERATIONS}"
