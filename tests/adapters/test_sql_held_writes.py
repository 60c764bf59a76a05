"""SqlUnitOfWork.hold_writes: a batch's writes held until commit, its reads answered from them.

Batched intake holds the writes of up to 200 messages and sends them table
by table at commit. What the transaction reads must still see what it wrote,
and a conflict with another writer must still raise, at the latest at
commit, so the batch is retried on fresh state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from issuecore._model import EntryKind, ThreadEntry
from issuecore.adapters.sql import SqlStore, SqlUnitOfWork
from issuecore.errors import ConcurrencyConflictError, DuplicateMessageError, IssueNotFoundError
from issuecore.ports import EffectKind, OutboxItem, Store, new_effect_id
from issuecore.testing.contracts import T0, StoreContract, simple_issue

SERVERS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}


@pytest.fixture(params=sorted(SERVERS))
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    variable, what = SERVERS[request.param]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    opened = SqlStore(url, table_prefix=f"h{uuid.uuid4().hex[:10]}_")
    try:
        yield opened
    finally:
        opened.drop_tables()
        opened.close()


def note(text: str, message_id: str | None = None) -> ThreadEntry:
    return ThreadEntry(
        kind=EntryKind.CUSTOMER_MESSAGE,
        author="ana@example.com",
        text=text,
        at=T0,
        message_id=message_id,
    )


class Statements:
    """Counts the statements sent on an engine while in a ``with`` block."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.count = 0

    def _counted(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        sa.event.listen(self.engine, "before_cursor_execute", self._counted)
        return self

    def __exit__(self, *_: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._counted)


def test_a_batch_holding_its_writes_reads_what_it_wrote(store: SqlStore) -> None:
    with store.transaction() as work:
        work.hold_writes(message_ids=["<1@c.example>"], addresses=["ana@example.com"])
        first = work.next_sequence(2026)
        number = f"ISS-2026-{first:05d}"
        stored = work.insert_issue(simple_issue(number), wake_at=None)
        assert work.get_issue(number) == stored
        changed = work.update_issue(attrs.evolve(stored, subject="Changed"), wake_at=None)
        assert work.get_issue(number, for_update=True) == changed
        assert changed.version == 2
        work.append_entry(number, note("first", "<1@c.example>"))
        work.record_message("<1@c.example>", number=number, outcome="created", reason="new", at=T0)
        assert work.lookup_message("<1@c.example>") is not None
        with pytest.raises(DuplicateMessageError):
            work.record_message("<1@c.example>", number=number, outcome="created", reason="new")
        work.record_auto_reply("Ana@Example.com", T0)
        assert work.count_auto_replies("ana@example.com", T0 - timedelta(hours=1)) == 1
        assert work.next_sequence(2026) == first + 1
        # A read the batch cannot answer itself sends the held writes first.
        assert [entry.text for entry in work.thread(number)] == ["first"]
        work.append_entry(number, note("second"))
        work.commit()

    with store.transaction(read_only=True) as work:
        assert work.get_issue(number) == changed
        assert [entry.text for entry in work.thread(number)] == ["first", "second"]
        record = work.lookup_message("<1@c.example>")
        assert record is not None
        assert record.number == number
        assert work.count_auto_replies("ana@example.com", T0 - timedelta(hours=1)) == 1
    with store.transaction() as work:
        assert work.next_sequence(2026) == first + 2


def test_held_writes_go_out_in_statements_per_table_not_per_row(store: SqlStore) -> None:
    counts = []
    for size in (10, 40):
        with store.transaction() as work, Statements(store.engine) as statements:
            work.hold_writes()
            for _ in range(size):
                number = f"ISS-2026-{work.next_sequence(2026):05d}"
                issue = work.insert_issue(simple_issue(number), wake_at=None)
                work.update_issue(issue, wake_at=None)
                work.append_entry(number, note(f"text of {number}", f"<{number}@c.example>"))
                work.record_message(
                    f"<{number}@c.example>", number=number, outcome="created", reason="new"
                )
                work.record_auto_reply(f"{number}@c.example", T0)
            work.commit()
        counts.append(statements.count)
    # Lock the year's row (MariaDB: insert it if missing, then lock it), write it back,
    # then issues, search rows, entries, records and automatic replies: one statement
    # each, however many messages.
    locking = 1 if store.engine.dialect.name == "postgresql" else 2
    assert counts == [locking + 6, locking + 6]


def test_on_postgresql_a_batch_sends_short_statements_psycopg_converts_once(
    store: SqlStore,
) -> None:
    """However many rows, each statement stays short, with few parameters, and is no executemany.

    psycopg remembers how it converted a statement's placeholders only for
    statements of at most 4096 characters and 50 parameters; a longer one
    (a multi-row VALUES, an IN list of 200 keys) is matched anew each time.
    """
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the arrays and psycopg's statement cache are PostgreSQL's")
    sent: list[tuple[str, int, bool]] = []

    def record(*arguments: Any) -> None:
        _, _, statement, parameters, _, executemany = arguments
        sent.append((statement, len(parameters), executemany))

    numbers = [f"ISS-2026-{sequence:05d}" for sequence in range(1, 121)]
    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.transaction() as work:
            work.hold_writes(
                message_ids=[f"<{number}@c.example>" for number in numbers],
                issue_numbers=numbers,
                addresses=[f"{number}@c.example" for number in numbers],
            )
            for number in numbers:
                assert f"ISS-2026-{work.next_sequence(2026):05d}" == number
                issue = work.insert_issue(simple_issue(number), wake_at=None)
                work.append_entry(number, note(f"text of {number}", f"<{number}@c.example>"))
                work.record_message(
                    f"<{number}@c.example>", number=number, outcome="created", reason="new"
                )
                work.record_auto_reply(f"{number}@c.example", T0)
                work.count_auto_replies(f"{number}@c.example", T0)
                work.update_issue(issue, wake_at=None)
            work.outbox.add_all([notice(number) for number in numbers])
            work.commit()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    assert len(sent) <= 12, [statement[:60] for statement, _, _ in sent]
    for statement, parameters, executemany in sent:
        assert len(statement) <= 4096, statement[:200]
        assert parameters <= 50, statement[:200]
        assert not executemany, statement[:200]
        if "unnest(" in statement:
            # Arrays of documents go in binary: in text psycopg searches and escapes each element.
            assert ")s::" not in statement, statement
    assert sum("unnest(" in statement for statement, _, _ in sent) >= 5
    with store.transaction(read_only=True) as work:
        assert [entry.text for entry in work.thread(numbers[-1])] == [f"text of {numbers[-1]}"]
        assert work.get_issue(numbers[0]).version == 2
        assert len(work.outbox.pending(limit=200)) == len(numbers)


def test_held_rows_go_as_typed_arrays_psycopg_takes_without_looking_at_each_element(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("typed arrays are sent to PostgreSQL only; MariaDB takes the rows as they are")
    from psycopg.types.array import BaseListDumper

    looked_at: list[list[Any]] = []
    find = BaseListDumper._find_list_element

    def looking(dumper: BaseListDumper, values: list[Any], format: Any) -> Any:
        looked_at.append(values)
        return find(dumper, values, format)

    monkeypatch.setattr(BaseListDumper, "_find_list_element", looking)
    numbers = [f"ISS-2026-{sequence:05d}" for sequence in range(1, 31)]
    payload = bytes(range(256))  # not text in any encoding
    with store.transaction() as work:
        work.hold_writes(message_ids=[], issue_numbers=numbers, addresses=[])
        for number in numbers:
            assert f"ISS-2026-{work.next_sequence(2026):05d}" == number
            work.insert_issue(simple_issue(number), wake_at=None)
            # No Message-ID: a NULL among the text values; the text goes beyond Latin-1.
            work.append_entry(number, note(f"Ünïcode ✓ {number}"))
            work.record_auto_reply(f"{number}@c.example", T0)
        work.outbox.add_all([attrs.evolve(notice(number), payload=payload) for number in numbers])
        work.commit()
    with store.transaction(read_only=True) as work:
        entries = work.thread(numbers[-1])
        assert [entry.text for entry in entries] == [f"Ünïcode ✓ {numbers[-1]}"]
        assert entries[0].message_id is None
        assert entries[0].at == T0  # microseconds since 1970: beyond a 32-bit integer
        assert {item.payload for item in work.outbox.pending(limit=100)} == {payload}
        assert work.count_auto_replies(f"{numbers[0]}@c.example", T0) == 1
    # Lists of keys to look up may be looked at; no inserted column's values were.
    assert looked_at, "psycopg looked at no list at all: the check would see nothing"
    for values in looked_at:
        assert payload not in values
        assert not any(isinstance(value, str) and "Ünïcode" in value for value in values)


def notice(number: str) -> OutboxItem:
    return OutboxItem(
        id=new_effect_id(),
        kind=EffectKind.NOTICE,
        number=number,
        payload=b'{"user":"ben@example.com","text":"Assigned to you"}',
        created_at=T0,
        next_attempt_at=T0,
    )


def test_an_issue_stored_before_the_batch_is_updated_against_the_version_read(
    store: SqlStore,
) -> None:
    with store.transaction() as work:
        work.insert_issue(simple_issue("ISS-2026-00001", assignees=("bo",)), wake_at=None)
        work.commit()
    with store.transaction() as work:
        work.hold_writes(issue_numbers=["ISS-2026-00001", "ISS-2026-00404"])
        issue = work.get_issue("ISS-2026-00001", for_update=True)
        once = work.update_issue(attrs.evolve(issue, assignees=("cy",)), wake_at=None)
        twice = work.update_issue(attrs.evolve(once, subject="Again"), wake_at=None)
        with pytest.raises(ConcurrencyConflictError):
            work.update_issue(attrs.evolve(issue, subject="From the old version"), wake_at=None)
        with pytest.raises(IssueNotFoundError):
            work.get_issue("ISS-2026-00404")
        work.commit()
    with store.transaction(read_only=True) as work:
        assert work.get_issue("ISS-2026-00001") == twice
        assert twice.version == 3
        assert [i.number for i in work.find_issues(assignee="cy")] == ["ISS-2026-00001"]
        assert work.find_issues(assignee="bo") == []


def test_a_message_another_writer_records_meanwhile_fails_the_commit_as_a_duplicate(
    store: SqlStore,
) -> None:
    with store.transaction() as work:
        work.hold_writes(message_ids=["<early@c.example>"])
        work.record_message("<late@c.example>", number=None, outcome="ignored", reason="held")
        with store.transaction() as other:
            other.record_message("<late@c.example>", number=None, outcome="ignored", reason="x")
            other.commit()
        with pytest.raises(DuplicateMessageError) as raised:
            work.commit()
        assert raised.value.message_id == "<late@c.example>"
        assert work.held_writes_failed
    with store.transaction(read_only=True) as work:
        record = work.lookup_message("<late@c.example>")
        assert record is not None
        assert record.reason == "x"


def test_an_issue_number_another_writer_takes_meanwhile_fails_the_commit_as_a_conflict(
    store: SqlStore,
) -> None:
    with store.transaction() as work:
        work.hold_writes()
        work.insert_issue(simple_issue("ISS-2026-00007"), wake_at=None)
        work.append_entry("ISS-2026-00007", note("held"))
        with store.transaction() as other:
            other.insert_issue(
                simple_issue("ISS-2026-00007", raised_by="bo@example.com"), wake_at=None
            )
            other.commit()
        with pytest.raises(ConcurrencyConflictError) as raised:
            work.commit()
        assert raised.value.number == "ISS-2026-00007"
    with store.transaction(read_only=True) as work:
        assert work.get_issue("ISS-2026-00007").raised_by == "bo@example.com"
        assert work.thread("ISS-2026-00007") == []


def test_a_transaction_whose_held_writes_failed_cannot_commit_what_was_sent(
    store: SqlStore,
) -> None:
    with store.transaction() as work:
        work.hold_writes()
        work.insert_issue(simple_issue("ISS-2026-00001"), wake_at=None)
        work.record_message("<taken@c.example>", number=None, outcome="ignored", reason="held")
        with store.transaction() as other:
            other.record_message("<taken@c.example>", number=None, outcome="ignored", reason="x")
            other.commit()
        with pytest.raises(DuplicateMessageError):
            work.find_issues()  # a read that sends the held writes first
        with pytest.raises(RuntimeError, match="roll it back"):
            work.commit()
    with store.transaction(read_only=True) as work:
        assert work.find_issues() == []


def test_a_write_the_batch_does_not_hold_ends_the_holding_so_reads_stay_true(
    store: SqlStore,
) -> None:
    with store.transaction() as work:
        work.record_message("<q@c.example>", number=None, outcome="quarantined", reason="bad")
        work.commit()
    with store.transaction() as work:
        work.hold_writes(message_ids=["<q@c.example>"])
        assert work.lookup_message("<q@c.example>") is not None
        assert work.release_message("<q@c.example>")
        assert work.lookup_message("<q@c.example>") is None
        work.record_message("<q@c.example>", number=None, outcome="ignored", reason="again")
        work.commit()
    with store.transaction(read_only=True) as work:
        record = work.lookup_message("<q@c.example>")
        assert record is not None
        assert record.outcome == "ignored"


class HoldingStore:
    """A SqlStore whose every writing unit of work holds its writes from the start."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.blobs = inner.blobs

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[SqlUnitOfWork]:
        with self.inner.transaction(read_only=read_only) as work:
            if not read_only:
                work.hold_writes()
            yield work


@pytest.fixture(scope="module")
def contract_server(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    variable, what = SERVERS[request.param]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    opened = SqlStore(url, table_prefix=f"k{uuid.uuid4().hex[:10]}_")
    try:
        yield opened
    finally:
        opened.drop_tables()
        opened.close()


@pytest.mark.parametrize("contract_server", sorted(SERVERS), indirect=True, scope="module")
class TestSqlStoreHoldingWrites(StoreContract):
    """The whole store contract, every writing unit of work holding its writes.

    Two tests change: a taken issue number and a recorded Message-ID the
    batch did not read raise when the held writes are sent, at commit.
    """

    @pytest.fixture
    def store(self, contract_server: SqlStore) -> Store:
        with contract_server.engine.begin() as connection:
            for table in reversed(contract_server._schema.data_tables()):
                connection.execute(table.delete())
        return HoldingStore(contract_server)

    def test_inserting_a_taken_number_raises_conflict(self, store: Store) -> None:
        issue = simple_issue("ISS-2026-00001")
        self.insert(store, issue)
        with store.transaction() as work:
            work.insert_issue(attrs.evolve(issue, subject="other"), wake_at=None)
            with pytest.raises(ConcurrencyConflictError):
                work.commit()
        assert self.get(store, issue.number).subject == issue.subject

    def test_recording_a_message_twice_raises_duplicate(self, store: Store) -> None:
        with store.transaction() as work:
            work.record_message("<twice@example.com>", number=None, outcome="x", reason="first")
            work.commit()
        with store.transaction() as work:
            work.record_message("<twice@example.com>", number=None, outcome="x", reason="again")
            with pytest.raises(DuplicateMessageError) as raised:
                work.commit()
        assert raised.value.message_id == "<twice@example.com>"
        with store.transaction(read_only=True) as work:
            record = work.lookup_message("<twice@example.com>")
        assert record is not None
        assert record.reason == "first"
