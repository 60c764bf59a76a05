"""Batched intake records what one-by-one intake records, on every store.

``HelpDesk.ingest`` and ``HelpDesk.receive_many`` write many messages per
transaction: later messages see earlier ones, a message that fails is
quarantined on its own while the rest commit, a conflict retries the batch,
and no message is acknowledged before the transaction holding it committed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from issuecore import DeskSettings, HelpDesk, _intake
from issuecore._model import Issue, ThreadEntry
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore, _HeldWrites
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import ConcurrencyConflictError, InvalidArgumentError
from issuecore.mail._matching import message_fingerprint
from issuecore.mail._parse import (
    InboundMessage,
    Quarantined,
    parse_message,
    synthetic_message_id,
)
from issuecore.mail._settings import MailSettings
from issuecore.mail._tokens import TokenFormat
from issuecore.ports import MessageRecord, Store, UnitOfWork
from issuecore.testing import FakeClock, RecordingMailer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUPPORT = "support@desk.example"
POISON = "<poison@customer.example>"
SERVERS = {"postgresql": "ISSUECORE_TEST_POSTGRES_URL", "mariadb": "ISSUECORE_TEST_MARIADB_URL"}


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mariadb"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind in SERVERS and not os.environ.get(SERVERS[kind]):
        pytest.skip(f"{SERVERS[kind]} is not set; give a database URL to run these tests")
    return kind


@contextmanager
def fresh_store(kind: str, tmp_path: Path) -> Iterator[Store]:
    """Yield a new, empty store of ``kind``."""
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "sqlite":
        with SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db") as store:
            yield store
        return
    server = SqlStore(os.environ[SERVERS[kind]], table_prefix=f"b{uuid.uuid4().hex[:10]}_")
    try:
        yield server
    finally:
        server.drop_tables()
        server.close()


def make_desk(store: Any, *, agents: frozenset[str] = frozenset()) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        settings=DeskSettings(
            support_address=SUPPORT,
            agents=agents,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


def message(message_id: str, *, sender: str = "ana@customer.example", subject: str) -> bytes:
    return (
        f"From: {sender}\nTo: {SUPPORT}\nSubject: {subject}\n"
        f"Date: Mon, 02 Mar 2026 09:00:00 +0000\nMessage-ID: {message_id}\n\n"
        f"Body of {message_id}\n"
    ).encode()


def mixed_mailbox() -> list[bytes]:
    """New requests, replies by token to issues opened in the same batch, copies, poison."""
    raws = []
    opened: list[str] = []  # the raiser of each issue, in number order
    for index in range(12):
        sender = f"customer{index % 3}@customer.example"
        if index % 4 == 3:
            # A reply by its raiser to the issue opened just before, by its token.
            number = f"ISS-2026-{len(opened):05d}"
            raws.append(
                message(f"<m{index}@c.example>", sender=opened[-1], subject=f"Re: x [#{number}]")
            )
        else:
            opened.append(sender)
            raws.append(message(f"<m{index}@c.example>", sender=sender, subject=f"Request {index}"))
        if index == 5:
            raws.append(raws[-1])  # a second copy in the same batch
        if index == 6:
            raws.append(message(POISON, subject="poison"))
        if index == 8:
            raws.append(b"\x00\xff not a message at all")
    return raws


class PoisonStore:
    """A store that fails to append the poison message's entry and logs intake commits."""

    def __init__(self, inner: Store, log: list[str] | None = None) -> None:
        self.inner = inner
        self.log = log if log is not None else []
        self.conflicts = 0
        self.poison_failures: int | None = None  # how often the poison fails; None: always

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[UnitOfWork]:
        with self.inner.transaction(read_only=read_only) as work:
            yield _PoisonWork(work, self)  # type: ignore[misc]

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(read_only)


class _PoisonWork:
    def __init__(self, work: UnitOfWork, store: PoisonStore) -> None:
        self._work = work
        self._store = store
        self._records = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._work, name)

    def record_message(self, message_id: str, **details: Any) -> None:
        self._records = True
        self._work.record_message(message_id, **details)

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        if entry.message_id == POISON and self._store.poison_failures != 0:
            if self._store.poison_failures is not None:
                self._store.poison_failures -= 1
            raise RuntimeError("simulated: this message breaks the store")
        self._work.append_entry(number, entry)

    def commit(self) -> None:
        if self._store.conflicts:
            self._store.conflicts -= 1
            raise ConcurrencyConflictError("simulated: another process wrote first", number=None)
        self._work.commit()
        if self._records:  # only intake transactions are logged, not deliveries
            self._store.log.append("commit")


def picture(desk: HelpDesk) -> list[tuple[Issue, list[tuple[str, str, str | None]]]]:
    """Every issue as stored (version included) with its thread, in number order."""
    return [
        (issue, [(str(e.kind), e.author, e.message_id) for e in desk.thread(issue.number)])
        for issue in desk.find()
    ]


def test_batched_intake_records_what_one_by_one_receive_records(
    store_kind: str, tmp_path: Path
) -> None:
    raws = mixed_mailbox()
    with fresh_store(store_kind, tmp_path) as one, fresh_store(store_kind, tmp_path) as many:
        single = make_desk(PoisonStore(one))
        batched = make_desk(PoisonStore(many))

        expected = [single.receive(raw) for raw in raws]
        report = batched.receive_many(raws, batch_size=50)

        assert report.failures == ()
        assert list(report.outcomes) == expected
        assert picture(batched) == picture(single)
        kinds = [outcome.kind for outcome in expected]
        assert kinds.count("duplicate") == 1
        assert kinds.count("quarantined") == 2
        assert kinds.count("appended") == 3


def test_a_reply_by_token_to_an_issue_opened_in_the_same_batch_is_appended(
    store_kind: str, tmp_path: Path
) -> None:
    with fresh_store(store_kind, tmp_path) as store:
        desk = make_desk(store)
        first = message("<a@c.example>", subject="Broken")
        reply = message("<b@c.example>", subject="Re: Broken [#ISS-2026-00001]")

        report = desk.receive_many([first, reply, first], batch_size=10)

        assert [o.kind for o in report.outcomes] == ["created", "appended", "duplicate"]
        assert [o.issue_number for o in report.outcomes] == ["ISS-2026-00001"] * 3
        assert [e.message_id for e in desk.thread("ISS-2026-00001")] == [
            "<a@c.example>",
            "<b@c.example>",
        ]


def test_a_poison_message_mid_batch_is_quarantined_alone_and_the_rest_commit(
    store_kind: str, tmp_path: Path
) -> None:
    raws = [message(f"<p{i}@c.example>", subject=f"Request {i}") for i in range(8)]
    raws.insert(4, message(POISON, subject="poison"))
    with fresh_store(store_kind, tmp_path) as inner:
        store = PoisonStore(inner)
        desk = make_desk(store)

        report = desk.receive_many(raws, batch_size=100)

        kinds = [o.kind for o in report.outcomes]
        assert kinds == ["created"] * 4 + ["quarantined"] + ["created"] * 4
        assert report.outcomes[4].reason == (
            "intake failed: RuntimeError: simulated: this message breaks the store"
        )
        assert desk.kept_message(POISON) == raws[4]
        assert len(desk.find()) == 8
        # The four before it, the poison alone, the four after it.
        assert store.log == ["commit"] * 3


def test_a_batch_that_meets_a_conflict_is_retried_and_records_each_message_once(
    store_kind: str, tmp_path: Path
) -> None:
    raws = [message(f"<c{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    with fresh_store(store_kind, tmp_path) as inner:
        store = PoisonStore(inner)
        store.conflicts = 2
        desk = make_desk(store)

        report = desk.receive_many(raws, batch_size=100)

        assert [o.kind for o in report.outcomes] == ["created"] * 5
        assert [i.number for i in desk.find()] == [f"ISS-2026-{n:05d}" for n in range(1, 6)]
        assert store.log == ["commit"]


class LoggingSource:
    """A mail source whose acknowledgements are written into the shared log."""

    acks_after_reading = True

    def __init__(self, raws: list[bytes], log: list[str]) -> None:
        self.raws = raws
        self.log = log

    def messages(self) -> Iterator[_Logged]:
        for index, raw in enumerate(self.raws):
            self.log.append(f"read {index}")
            yield _Logged(raw, index, self.log)


class _Logged:
    def __init__(self, raw: bytes, index: int, log: list[str]) -> None:
        self.raw = raw
        self.index = index
        self.log = log

    def ack(self) -> None:
        self.log.append(f"ack {self.index}")


def test_ingest_acknowledges_each_message_only_after_its_batch_committed(
    store_kind: str, tmp_path: Path
) -> None:
    raws = [message(f"<k{i}@c.example>", subject=f"Request {i}") for i in range(7)]
    raws.insert(3, message(POISON, subject="poison"))
    log: list[str] = []
    with fresh_store(store_kind, tmp_path) as inner:
        desk = make_desk(PoisonStore(inner, log))

        report = desk.ingest(LoggingSource(raws, log), batch_size=4, batch_seconds=3600)

        assert len(report.outcomes) == 8
        acks = [entry for entry in log if entry.startswith("ack")]
        assert sorted(acks) == sorted(f"ack {i}" for i in range(8))
        for position, entry in enumerate(log):
            if entry.startswith("ack"):
                index = int(entry.split()[1])
                read_at = log.index(f"read {index}")
                assert "commit" in log[read_at:position], f"{entry} came before any commit"
        # Batches of four: messages 4-7 are all read before the first of them is acknowledged.
        assert log.index("read 7") < log.index("ack 4")


def test_ingest_batches_close_once_their_time_is_up(store_kind: str, tmp_path: Path) -> None:
    raws = [message(f"<t{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    log: list[str] = []
    with fresh_store(store_kind, tmp_path) as inner:
        desk = make_desk(PoisonStore(inner, log))

        desk.ingest(LoggingSource(raws, log), batch_size=100, batch_seconds=0)

        assert log.count("commit") == 3
        assert log.index("ack 0") < log.index("read 1")


def test_a_source_that_cannot_take_late_acknowledgements_is_read_one_by_one(
    tmp_path: Path,
) -> None:
    raws = [message(f"<o{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    log: list[str] = []
    source = LoggingSource(raws, log)
    source.acks_after_reading = False
    desk = make_desk(PoisonStore(InMemoryStore(), log))

    desk.ingest(source, batch_size=100, batch_seconds=3600)

    assert log == [entry for i in range(3) for entry in (f"read {i}", "commit", f"ack {i}")]


def test_the_report_counts_every_kind_of_outcome(store_kind: str, tmp_path: Path) -> None:
    with fresh_store(store_kind, tmp_path) as inner:
        report = make_desk(PoisonStore(inner)).receive_many(mixed_mailbox(), batch_size=50)

    # Twelve messages of which three are replies by token, a second copy,
    # the poison message and bytes that are no message.
    assert report.counts() == {
        "created": 9,
        "appended": 3,
        "duplicate": 1,
        "loop": 0,
        "ignored": 0,
        "quarantined": 2,
    }


def test_a_batch_that_keeps_meeting_conflicts_sends_its_first_message_alone(
    store_kind: str, tmp_path: Path
) -> None:
    raws = [message(f"<g{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    with fresh_store(store_kind, tmp_path) as inner:
        store = PoisonStore(inner)
        desk = make_desk(store)
        store.conflicts = desk.settings.max_attempts  # every attempt of the batch conflicts

        report = desk.receive_many(raws, batch_size=100)

        assert [o.kind for o in report.outcomes] == ["created"] * 3
        assert [i.number for i in desk.find()] == [f"ISS-2026-{n:05d}" for n in range(1, 4)]
        # The first message alone, as receive() records it; then the rest as a batch.
        assert store.log == ["commit"] * 2


class BrokenStore:
    """A store whose every transaction fails: nothing can be recorded at all."""

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        raise OSError("simulated: the database is down")


def test_messages_that_cannot_be_recorded_at_all_are_listed_as_failures() -> None:
    raws = [message(f"<f{i}@c.example>", subject=f"Request {i}") for i in range(2)]
    desk = make_desk(BrokenStore())

    report = desk.receive_many(raws, batch_size=100)

    assert report.outcomes == ()
    assert [failure.message_id for failure in report.failures] == [
        "<f0@c.example>",
        "<f1@c.example>",
    ]
    assert all("the database is down" in failure.error for failure in report.failures)
    assert report.counts() == dict.fromkeys(
        ("created", "appended", "duplicate", "loop", "ignored", "quarantined"), 0
    )


def replies_to_stored_issues(count: int, *, stored: int = 10) -> list[bytes]:
    """New requests, and replies by token to the ``stored`` issues opened first, alternating."""
    raws = []
    for index in range(count):
        if index % 2:
            number = f"ISS-2026-{(index // 2) % stored + 1:05d}"
            subject = f"Re: Request [#{number}]"
            sender = f"customer{(index // 2) % stored}@customer.example"
        else:
            subject, sender = f"Later request {index}", f"later{index % 4}@customer.example"
        raws.append(message(f"<s{count}-{index}@c.example>", sender=sender, subject=subject))
    return raws


def first_requests(count: int = 10) -> list[bytes]:
    return [
        message(f"<first{i}@c.example>", sender=f"customer{i}@customer.example", subject="Req")
        for i in range(count)
    ]


def test_replies_to_issues_stored_before_the_batch_are_recorded_as_one_by_one(
    store_kind: str, tmp_path: Path
) -> None:
    raws = replies_to_stored_issues(24)
    with fresh_store(store_kind, tmp_path) as one, fresh_store(store_kind, tmp_path) as many:
        single, batched = make_desk(one), make_desk(many)
        for desk in (single, batched):
            desk.receive_many(first_requests(), batch_size=50)

        expected = [single.receive(raw) for raw in raws]
        report = batched.receive_many(raws, batch_size=50)

        assert list(report.outcomes) == expected
        assert [o.kind for o in expected].count("appended") == 12
        assert picture(batched) == picture(single)
        # Replies appended twice to one issue in the batch leave it at version 3.
        assert batched.get("ISS-2026-00001").version == 3


def test_agent_mail_in_a_batch_is_relayed_as_one_by_one(store_kind: str, tmp_path: Path) -> None:
    agent = "bo@desk.example"
    raws = [
        message("<x1@c.example>", subject="Printer broken"),
        message("<x2@c.example>", sender=agent, subject="Re: Printer [#ISS-2026-00001]"),
        message("<x3@c.example>", subject="Re: Printer [#ISS-2026-00001]"),
        message("<x4@c.example>", sender=agent, subject="Re: Printer [#ISS-2026-00001]"),
    ]
    with fresh_store(store_kind, tmp_path) as one, fresh_store(store_kind, tmp_path) as many:
        single = make_desk(one, agents=frozenset({agent}))
        batched = make_desk(many, agents=frozenset({agent}))

        expected = [single.receive(raw) for raw in raws]
        report = batched.receive_many(raws, batch_size=50)

        assert [o.relayed for o in expected] == [False, True, False, True]
        assert list(report.outcomes) == expected
        assert picture(batched) == picture(single)
        # The relayed replies answer the latest message of the thread as it stood.
        assert mail_sent(batched) == mail_sent(single)


def mail_sent(desk: HelpDesk) -> list[tuple[str, str, str]]:
    return [
        (str(m["To"]), str(m["In-Reply-To"]), str(m["References"]))
        for m in desk.mailer.sent  # type: ignore[attr-defined]
    ]


SERVER_KINDS = [pytest.param(kind, id=kind) for kind in SERVERS]


def server_store(kind: str, tmp_path: Path) -> AbstractContextManager[Store]:
    if not os.environ.get(SERVERS[kind]):
        pytest.skip(f"{SERVERS[kind]} is not set; give a database URL to run these tests")
    return fresh_store(kind, tmp_path)


class MeddlingStore:
    """A store where another writer records ``message_id`` just before the batch's commit."""

    def __init__(self, inner: Store, message_id: str) -> None:
        self.inner = inner
        self.message_id = message_id
        self.meddled = False
        self.attempts = 0

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[UnitOfWork]:
        with self.inner.transaction(read_only=read_only) as work:
            yield _MeddlingWork(work, self)  # type: ignore[misc]

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(read_only)


class _MeddlingWork:
    def __init__(self, work: UnitOfWork, store: MeddlingStore) -> None:
        self._work = work
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._work, name)

    def hold_writes(self, **hints: Any) -> None:
        self._store.attempts += 1
        self._work.hold_writes(**hints)  # type: ignore[attr-defined]

    @property
    def outbox(self) -> Any:
        # The batch's writes are still held: the other writer's record gets in first.
        if not self._store.meddled:
            self._store.meddled = True
            with self._store.inner.transaction() as other:
                other.record_message(
                    self._store.message_id, number=None, outcome="ignored", reason="another"
                )
                other.commit()
        return self._work.outbox


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_a_message_another_process_records_before_a_held_batch_commits_is_retried(
    kind: str, tmp_path: Path
) -> None:
    raws = [message(f"<h{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    with server_store(kind, tmp_path) as inner:
        store = MeddlingStore(inner, "<h2@c.example>")
        desk = make_desk(store)

        report = desk.receive_many(raws, batch_size=100)

        assert store.attempts == 2  # the batch met the other record at commit, and ran again
        assert [o.kind for o in report.outcomes] == ["created"] * 2 + ["duplicate"] + [
            "created"
        ] * 2
        assert [i.number for i in desk.find()] == [f"ISS-2026-{n:05d}" for n in range(1, 5)]
        assert [len(desk.thread(i.number)) for i in desk.find()] == [1] * 4


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_a_batch_whose_held_writes_fail_runs_again_writing_as_it_goes(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = [message(f"<r{i}@c.example>", subject=f"Request {i}") for i in range(8)]
    refused = []
    send = _HeldWrites._send

    def refuse_a_row(held: _HeldWrites) -> None:
        # The database refuses a row of the fourth message, but only when sent held.
        if any(row["message_id"] == "<r3@c.example>" for row in held._entries):
            refused.append("<r3@c.example>")
            raise RuntimeError("simulated: the database refused a held row")
        send(held)

    monkeypatch.setattr(_HeldWrites, "_send", refuse_a_row)
    with server_store(kind, tmp_path) as inner:
        log: list[str] = []
        desk = make_desk(PoisonStore(inner, log))

        report = desk.receive_many(raws, batch_size=50)

        assert refused == ["<r3@c.example>"]
        assert [o.kind for o in report.outcomes] == ["created"] * 8
        # Not one message at a time until the failing one: the whole batch, once more.
        assert log == ["commit"]
        assert [len(desk.thread(i.number)) for i in desk.find()] == [1] * 8


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_batched_intake_sends_as_many_statements_for_80_messages_as_for_40(
    kind: str, tmp_path: Path
) -> None:
    """The statements a batch sends do not grow with its messages: reads ahead, writes per table.

    Counted: every statement SQLAlchemy hands the driver (an executemany is
    one; psycopg sends it as one pipeline, pymysql as one multi-row INSERT,
    an UPDATE row by row), begins and commits, delivery of the effects
    included. Automatic replies are off: each is delivered in a transaction
    of its own, by design, whatever the batch.
    """
    counts = []
    for size in (40, 80):
        with server_store(kind, tmp_path) as store:
            desk = make_desk(store)
            desk.mail = attrs.evolve(desk.mail, auto_reply=False)
            desk.receive_many(first_requests(size // 2), batch_size=200)
            raws = replies_to_stored_issues(size, stored=size // 2)  # each issue once
            statements = [0]

            def count(*_: object, statements: list[int] = statements) -> None:
                statements[0] += 1

            engine = store.engine  # type: ignore[attr-defined]
            for name in ("before_cursor_execute", "begin", "commit"):
                sa.event.listen(engine, name, count)
            report = desk.receive_many(raws, batch_size=200)
            for name in ("before_cursor_execute", "begin", "commit"):
                sa.event.remove(engine, name, count)

            assert [o.kind for o in report.outcomes].count("appended") == size // 2
            counts.append(statements[0])
    print(f"statements for 40 and 80 messages: {counts}")
    assert counts[0] == counts[1], counts
    assert counts[1] <= 20, counts  # a batch of 80 messages: well under one per message


# --- counting from the message's own date, on every path --------------------------------

LATER = START + timedelta(days=2)  # the messages were written at START


def _dated_desk(*, use_message_date: bool = False) -> HelpDesk:
    return HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=FakeClock(LATER),
        settings=DeskSettings(
            support_address=SUPPORT,
            use_message_date=use_message_date,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


def _created(desk: HelpDesk) -> list[datetime]:
    return [issue.created_at for issue in desk.find()]


@pytest.mark.parametrize("count", [1, 3])
def test_receive_many_counts_from_the_message_date_when_asked(count: int) -> None:
    raws = [message(f"<d{i}@c.example>", subject=f"Request {i}") for i in range(count)]
    asked, default = _dated_desk(), _dated_desk()
    asked.receive_many(raws, use_message_date=True)
    default.receive_many(raws)
    assert _created(asked) == [START] * count
    assert _created(default) == [LATER] * count


@pytest.mark.parametrize("count", [1, 3])
def test_a_desk_that_counts_from_message_dates_can_be_told_not_to(count: int) -> None:
    raws = [message(f"<d{i}@c.example>", subject=f"Request {i}") for i in range(count)]
    told, default = _dated_desk(use_message_date=True), _dated_desk(use_message_date=True)
    told.receive_many(raws, use_message_date=False)
    default.receive_many(raws)
    assert _created(told) == [LATER] * count
    assert _created(default) == [START] * count


def test_receive_and_ingest_count_from_the_message_date_when_asked() -> None:
    desk = _dated_desk()
    desk.receive(message("<r1@c.example>", subject="One"), use_message_date=True)
    desk.receive(message("<r2@c.example>", subject="Two"))
    raws = [message(f"<i{i}@c.example>", subject=f"Request {i}") for i in range(2)]
    desk.ingest(LoggingSource(raws, []), use_message_date=True)
    created = {issue.subject: issue.created_at for issue in desk.find()}
    assert created == {"One": START, "Two": LATER, "Request 0": START, "Request 1": START}


def test_bytes_in_a_bytearray_or_memoryview_are_read_as_bytes() -> None:
    desk = _dated_desk()
    raw = message("<b1@c.example>", subject="Bytes")
    first = desk.receive(bytearray(raw))
    again = desk.receive(memoryview(raw))
    assert (first.kind, again.kind) == ("created", "duplicate")
    assert (
        desk.receive_many([bytearray(message("<b2@c.example>", subject="x"))]).counts()["created"]
        == 1
    )


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_unreadable_bytes_in_a_bytearray_or_memoryview_are_kept_exactly(wrap: Any) -> None:
    desk = _dated_desk()
    raw = b"\x00\xff not a message at all"
    outcome = desk.receive(wrap(raw))
    assert outcome.kind == "quarantined"
    assert desk.kept_message(outcome.message_id) == raw


@pytest.mark.parametrize(
    ("batch_size", "commits"), [(None, 1), (0, 5), (1, 5), (2, 3), (5, 1), (6, 1)]
)
def test_ingest_records_up_to_batch_size_messages_a_transaction_200_unless_given(
    batch_size: int | None, commits: int
) -> None:
    raws = [message(f"<s{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    log: list[str] = []
    desk = make_desk(PoisonStore(InMemoryStore(), log))
    report = desk.ingest(LoggingSource(raws, log), batch_size=batch_size, batch_seconds=3600)
    assert report.counts()["created"] == 5
    assert log.count("commit") == commits


@pytest.mark.parametrize(("batch_size", "commits"), [(1, 5), (2, 3), (5, 1), (200, 1)])
def test_receive_many_records_batch_size_messages_a_transaction(
    batch_size: int, commits: int
) -> None:
    raws = [message(f"<s{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    log: list[str] = []
    report = make_desk(PoisonStore(InMemoryStore(), log)).receive_many(raws, batch_size=batch_size)
    assert report.counts()["created"] == 5
    assert log.count("commit") == commits


def test_intake_calls_name_the_argument_they_refuse() -> None:
    desk = _dated_desk()
    with pytest.raises(InvalidArgumentError, match=r"^batch_size=0 is not usable"):
        desk.receive_many([], batch_size=0)
    with pytest.raises(InvalidArgumentError, match=r"^message_id='' is not usable"):
        desk.kept_message("")


# --- a store that holds a batch's writes, without a database server ------------------------


class HoldingStore:
    """A store in memory whose units of work take ``hold_writes`` as a database store does.

    It records the hints each batch gives, and refuses the entry of
    ``refuse_held`` while writes are held, as a database may refuse a held row
    when it is sent; ``held_writes_failed`` then says so.
    """

    def __init__(self, inner: Store, *, refuse_held: str | None = None) -> None:
        self.inner = inner
        self.refuse_held = refuse_held
        self.hints: list[dict[str, list[str]]] = []
        self.log: list[str] = []

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[UnitOfWork]:
        with self.inner.transaction(read_only=read_only) as work:
            yield _HoldingWork(work, self)  # type: ignore[misc]

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(read_only)


class _HoldingWork:
    def __init__(self, work: UnitOfWork, store: HoldingStore) -> None:
        self._work = work
        self._store = store
        self._held = False
        self._records = False
        self.held_writes_failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._work, name)

    def hold_writes(self, **hints: Any) -> None:
        self._held = True
        self._store.hints.append({name: list(values) for name, values in hints.items()})

    def record_message(self, message_id: str, **details: Any) -> None:
        self._records = True
        self._work.record_message(message_id, **details)

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        if self._held and entry.message_id == self._store.refuse_held:
            self.held_writes_failed = True
            raise RuntimeError("simulated: the database refused a held row")
        self._work.append_entry(number, entry)

    def commit(self) -> None:
        self._work.commit()
        if self._records:  # only intake transactions are logged, not deliveries
            self._store.log.append("held commit" if self._held else "commit")


def test_a_batch_is_recorded_with_its_writes_held_where_the_store_can_hold_them() -> None:
    raws = [message(f"<w{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    store = HoldingStore(InMemoryStore())

    report = make_desk(store).receive_many(raws, batch_size=50)

    assert [o.kind for o in report.outcomes] == ["created"] * 3
    assert store.log == ["held commit"]
    assert [hints["message_ids"] for hints in store.hints] == [
        ["<w0@c.example>", "<w1@c.example>", "<w2@c.example>"]
    ]


def test_a_batch_whose_held_writes_fail_mid_batch_runs_again_without_holding_them() -> None:
    raws = [message(f"<v{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    store = HoldingStore(InMemoryStore(), refuse_held="<v2@c.example>")
    desk = make_desk(store)

    report = desk.receive_many(raws, batch_size=50)

    # The failure came from the held writes, not from the third message itself: the
    # whole batch once more, writing as it goes, rather than that message quarantined.
    assert [o.kind for o in report.outcomes] == ["created"] * 5
    assert store.log == ["commit"]
    assert len(store.hints) == 1
    assert [len(desk.thread(i.number)) for i in desk.find()] == [1] * 5


def _prepared(parsed: Any) -> _intake._Prepared:
    return _intake._Prepared(original=b"", raw=b"", fingerprint="f", parsed=parsed)


class _HintsWork:
    def __init__(self) -> None:
        self.hints: list[dict[str, list[str]]] = []

    def hold_writes(self, **hints: Any) -> None:
        self.hints.append({name: list(values) for name, values in hints.items()})


def test_held_writes_are_told_every_message_id_issue_and_sender_the_batch_will_read() -> None:
    tokens = make_desk(InMemoryStore()).mail.tokens
    request = parse_message(
        b"From: Ana <ana@c.example>\nReply-To: ana.home@c.example, desk@c.example\n"
        b"Message-ID: <a@c>\nSubject: Printer\n\nbody\n"
    )
    reply = parse_message(
        b"From: bo@c.example\nMessage-ID: <b@c>\nIn-Reply-To: <x@c>\n"
        b"References: <w@c> <x@c>\nSubject: Re: [#ISS-2026-00007] and [#ISS-2026-00009]\n\nb\n"
    )
    assert isinstance(reply, InboundMessage)
    bounce = attrs.evolve(
        reply, message_id="<d@c>", in_reply_to=None, references=(), subject="Undelivered",
        from_address=None, reply_to=(), returned_message_id="<sent@desk>",
    )  # fmt: skip
    unreadable = Quarantined(message_id="<q@c>", reason="unreadable")
    work = _HintsWork()

    held = _intake._hold_writes(
        work,  # type: ignore[arg-type]
        [_prepared(None), _prepared(request), _prepared(reply), _prepared(unreadable),
         _prepared(bounce)],
        tokens,
    )  # fmt: skip

    assert held is True
    assert work.hints == [
        {
            "message_ids": ["<a@c>", "<b@c>", "<w@c>", "<x@c>", "<x@c>", "<q@c>", "<d@c>",
                            "<sent@desk>"],
            "issue_numbers": ["ISS-2026-00007", "ISS-2026-00009"],
            "addresses": ["ana@c.example", "ana.home@c.example", "desk@c.example",
                          "bo@c.example"],
        }
    ]  # fmt: skip


def test_a_store_that_cannot_hold_writes_is_not_asked_to() -> None:
    parsed = parse_message(b"From: a@c.example\nMessage-ID: <a@c>\nSubject: s\n\nb\n")
    assert _intake._hold_writes(object(), [_prepared(parsed)], TokenFormat()) is False  # type: ignore[arg-type]


# --- when ingest closes a batch -----------------------------------------------------------


class _Ticking:
    """Stands in for the ``time`` module: its ``monotonic`` reads a clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


class TimedSource(LoggingSource):
    """A source whose messages arrive ``step`` seconds apart on the given clock."""

    def __init__(self, raws: list[bytes], log: list[str], clock: _Ticking, step: float) -> None:
        super().__init__(raws, log)
        self.clock = clock
        self.step = step

    def messages(self) -> Iterator[_Logged]:
        for message in super().messages():
            yield message
            self.clock.now += self.step


def test_a_batch_closes_exactly_when_batch_seconds_have_passed_since_its_first_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Ticking(100.0)
    monkeypatch.setattr(_intake, "time", clock)
    raws = [message(f"<e{i}@c.example>", subject=f"Request {i}") for i in range(5)]
    log: list[str] = []
    desk = make_desk(PoisonStore(InMemoryStore(), log))

    # Messages arrive at 100.0, 100.5, 101.0, 101.5 and 102.0.
    desk.ingest(TimedSource(raws, log, clock, 0.5), batch_size=100, batch_seconds=1.0)

    # The third arrives one second after the first: the batch closes with it; the
    # next batch counts its second from its own first message, the fourth.
    assert log == [
        "read 0", "read 1", "read 2", "commit", "ack 0", "ack 1", "ack 2",
        "read 3", "read 4", "commit", "ack 3", "ack 4",
    ]  # fmt: skip


def test_a_source_without_acks_after_reading_is_read_one_message_a_transaction() -> None:
    class PlainSource:
        """A source that says nothing about late acknowledgements."""

        def __init__(self, raws: list[bytes], log: list[str]) -> None:
            self.inner = LoggingSource(raws, log)

        def messages(self) -> Iterator[_Logged]:
            return self.inner.messages()

    raws = [message(f"<n{i}@c.example>", subject=f"Request {i}") for i in range(2)]
    log: list[str] = []
    desk = make_desk(PoisonStore(InMemoryStore(), log))

    report = desk.ingest(PlainSource(raws, log), batch_size=100, batch_seconds=3600)

    assert report.counts()["created"] == 2
    assert log == ["read 0", "commit", "ack 0", "read 1", "commit", "ack 1"]


def test_ingest_lists_what_the_store_could_not_record_with_the_error() -> None:
    raws = [message(f"<u{i}@c.example>", subject=f"Request {i}") for i in range(2)]
    log: list[str] = []
    desk = make_desk(BrokenStore())

    report = desk.ingest(LoggingSource(raws, log), batch_size=100, batch_seconds=3600)

    assert report.outcomes == ()
    assert [failure.message_id for failure in report.failures] == [
        "<u0@c.example>",
        "<u1@c.example>",
    ]
    for failure in report.failures:
        assert failure.error.startswith(f"message {failure.message_id} could not be recorded")
        assert "OSError: simulated: the database is down" in failure.error
    assert not [entry for entry in log if entry.startswith("ack")]


# --- what a batch records of each message -------------------------------------------------


def test_a_message_that_failed_in_a_batch_is_quarantined_with_that_failure_not_run_again() -> None:
    raws = [message(f"<j{i}@c.example>", subject=f"Request {i}") for i in range(2)]
    raws.insert(1, message(POISON, subject="poison"))
    store = PoisonStore(InMemoryStore())
    store.poison_failures = 1  # it would go through a second time
    desk = make_desk(store)

    report = desk.receive_many(raws, batch_size=100)

    assert [o.kind for o in report.outcomes] == ["created", "quarantined", "created"]
    assert report.outcomes[1].reason == (
        "intake failed: RuntimeError: simulated: this message breaks the store"
    )
    assert desk.message_record(POISON) == MessageRecord(
        message_id=POISON,
        number=None,
        outcome="quarantined",
        reason=report.outcomes[1].reason,
        at=START,
        fingerprint=message_fingerprint(raws[1]),
    )


def test_a_batch_records_each_message_with_its_fingerprint_as_receive_does() -> None:
    raws = [message(f"<y{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    single, batched = make_desk(InMemoryStore()), make_desk(InMemoryStore())
    for raw in raws:
        single.receive(raw)

    batched.receive_many(raws, batch_size=100)

    ids = [f"<y{i}@c.example>" for i in range(3)]
    assert [batched.message_record(i) for i in ids] == [single.message_record(i) for i in ids]
    assert [batched.message_record(i).fingerprint for i in ids] == [  # type: ignore[union-attr]
        message_fingerprint(raw) for raw in raws
    ]


def test_a_batch_that_meets_one_conflict_fewer_than_the_attempts_still_commits_whole() -> None:
    raws = [message(f"<z{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    store = PoisonStore(InMemoryStore())
    desk = make_desk(store)
    store.conflicts = desk.settings.max_attempts - 1  # the last attempt goes through

    report = desk.receive_many(raws, batch_size=100)

    assert [o.kind for o in report.outcomes] == ["created"] * 3
    assert store.log == ["commit"]


def test_a_desk_allowed_one_attempt_sends_a_batch_that_met_a_conflict_one_by_one() -> None:
    raws = [message(f"<a{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    store = PoisonStore(InMemoryStore())
    store.conflicts = 1
    desk = HelpDesk(
        store=store,  # type: ignore[arg-type]
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        settings=DeskSettings(
            support_address=SUPPORT,
            max_attempts=1,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )

    report = desk.receive_many(raws, batch_size=100)

    assert [o.kind for o in report.outcomes] == ["created"] * 3
    # The first message alone, as receive() records it; then the rest as a batch.
    assert store.log == ["commit"] * 2


def test_a_message_whose_reading_raises_in_a_batch_is_recorded_as_receive_records_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(raw: bytes) -> InboundMessage | Quarantined:
        if b"<explodes@c.example>" in raw:
            raise RuntimeError("simulated: the parser broke")
        return parse_message(raw)

    monkeypatch.setattr(_intake, "parse_message", parse)
    raws = [message(f"<{name}@c.example>", subject=name) for name in ("b1", "explodes", "b2")]
    desk = make_desk(InMemoryStore())

    report = desk.receive_many(raws, batch_size=100)

    assert [o.kind for o in report.outcomes] == ["created", "quarantined", "created"]
    # Unread, the message is known by the Message-ID made from its bytes.
    assert report.outcomes[1].message_id == synthetic_message_id(raws[1])
    assert report.outcomes[1].reason == "intake failed: RuntimeError: simulated: the parser broke"
    assert desk.kept_message(synthetic_message_id(raws[1])) == raws[1]


def test_a_message_a_batch_sends_alone_counts_from_its_date_when_asked() -> None:
    raws = [message(f"<l{i}@c.example>", subject=f"Request {i}") for i in range(3)]
    store = PoisonStore(InMemoryStore())
    desk = HelpDesk(
        store=store,  # type: ignore[arg-type]
        mailer=RecordingMailer(),
        clock=FakeClock(LATER),
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )
    store.conflicts = desk.settings.max_attempts  # the first message goes alone

    desk.receive_many(raws, use_message_date=True)

    assert store.log == ["commit"] * 2
    assert _created(desk) == [START] * 3


# --- SQLite: what a batch costs the file ------------------------------------------------


def test_a_sqlite_batch_writes_the_text_index_once_and_reads_each_issue_once(
    tmp_path: Path,
) -> None:
    """Ten new issues and ten replies: the text index is written out at commit, not per issue.

    The full-text index holds what a transaction adds in memory until
    something makes it write a segment; a statement with a journal of its own
    (``RETURNING``) did so for every new issue, and merging those segments cost
    more than the rest of the batch. An issue read to match a reply is not read
    again to change it, and an entry's issue, once seen, is not looked up again.
    Issue numbers are counted in the transaction, which holds the file's write
    lock, and written at commit.
    """
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = make_desk(store)
        desk.receive_many(first_requests(10), batch_size=200)
        statements: list[str] = []
        for connection in store._idle:
            connection.set_trace_callback(statements.append)
        report = desk.receive_many(replies_to_stored_issues(20, stored=10), batch_size=200)
        for connection in store._idle:
            connection.set_trace_callback(None)

    assert [o.kind for o in report.outcomes].count("appended") == 10
    assert sum(s.startswith("INSERT INTO thread_entries") for s in statements) == 20
    segment_writes = [s for s in statements if "'search_text_data'(id, block)" in s]
    assert 0 < len(segment_writes) <= 6, len(segment_writes)
    issue_reads = [s for s in statements if s.startswith("SELECT document, version FROM issues")]
    assert len(issue_reads) == 10  # one per reply
    assert not [s for s in statements if s.startswith("SELECT 1 FROM issues")]
    # Numbers are counted in the transaction and written once, at commit.
    sequences = [s for s in statements if "issue_sequences" in s]
    assert len(sequences) == 2, sequences  # read once, written once
    # A reply changes neither assignees nor details: their rows are left alone.
    assert not [
        s for s in statements if s.startswith(("DELETE FROM issue_", "INSERT INTO issue_a"))
    ]
