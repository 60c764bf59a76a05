"""Every effect of a change goes through the outbox: stored with it, retried, dead-lettered.

Run on the in-memory store, a SQLite file, and PostgreSQL and MariaDB when
their URLs are given.
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

from issuecore import DeskSettings, HelpDesk
from issuecore._desk_core import _add_effects
from issuecore._model import Assigned, IssueOpened, NoteAdded
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.null import NullEventSink, NullNotifier, NullTaskBoard
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import (
    ConcurrencyConflictError,
    InvalidArgumentError,
    NaiveDatetimeError,
    UnstorableValueError,
)
from issuecore.ports import EffectKind, OutboxItem, Store, new_effect_id
from issuecore.testing import (
    FakeClock,
    RecordingEventSink,
    RecordingMailer,
    RecordingNotifier,
    RecordingTaskBoard,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUPPORT = "support@example.com"


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    if request.param == "sqlite":
        with SQLiteStore(tmp_path / "desk.db") as sqlite_store:
            yield sqlite_store
        return
    variable = {
        "postgresql": "ISSUECORE_TEST_POSTGRES_URL",
        "mariadb": "ISSUECORE_TEST_MARIADB_URL",
    }[request.param]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no {request.param} server to test against")
    from issuecore.adapters.sql import SqlStore

    server_store = SqlStore(url, table_prefix=f"x{uuid.uuid4().hex[:10]}_")
    try:
        yield server_store
    finally:
        server_store.drop_tables()
        server_store.close()


class Broken:
    """A port whose every method raises while ``down``, and records calls once up."""

    def __init__(self, down: bool = True) -> None:
        self.down = down
        self.calls: list[tuple[str, tuple[Any, ...], str | None]] = []
        self.attempts = 0

    def _call(self, name: str, arguments: tuple[Any, ...], effect_id: str | None) -> None:
        self.attempts += 1
        if self.down:
            raise RuntimeError("the ERP is down")
        self.calls.append((name, arguments, effect_id))

    def publish(self, event: Any, *, effect_id: str | None = None) -> None:
        self._call("publish", (event,), effect_id)

    def notify(self, user: str, text: str, *, effect_id: str | None = None) -> None:
        self._call("notify", (user, text), effect_id)

    def open_todo(self, number: str, user: str, text: str, *, effect_id: str | None = None) -> None:
        self._call("open_todo", (number, user, text), effect_id)

    def close_todos(
        self, number: str, user: str | None = None, *, effect_id: str | None = None
    ) -> None:
        self._call("close_todos", (number, user), effect_id)


def make_desk(store: Store, clock: FakeClock, **ports: Any) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=ports.pop("mailer", RecordingMailer()),
        clock=clock,
        settings=DeskSettings(
            support_address=SUPPORT, send_attempts=3, **ports.pop("settings", {})
        ),
        **ports,
    )


def test_a_desk_without_ports_stores_its_effects_and_delivers_them_to_nothing(
    store: Store,
) -> None:
    desk = make_desk(store, FakeClock(START))
    assert isinstance(desk.tasks, NullTaskBoard)
    assert isinstance(desk.notifier, NullNotifier)
    assert isinstance(desk.events, NullEventSink)
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.assign(number, "ben@example.com", by="lead@example.com")
    with store.transaction(read_only=True) as work:
        assert work.outbox.pending(limit=10) == []
        assert work.outbox.dead_letters(limit=10) == []


def test_an_event_sink_that_raises_does_not_reach_the_caller(store: Store) -> None:
    sink = Broken()
    desk = make_desk(store, FakeClock(START), events=sink)
    issue = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    desk.add_note(issue.number, body="n", author="ben@example.com")
    assert desk.thread(issue.number)[-1].text == "n"
    assert sink.attempts == 2  # each event was tried once, right after its commit
    with store.transaction(read_only=True) as work:
        pending = work.outbox.pending(limit=10)
    assert [item.kind for item in pending] == [EffectKind.EVENT, EffectKind.EVENT]
    assert {item.last_error for item in pending} == {"RuntimeError: the ERP is down"}


def test_a_failed_effect_is_retried_after_the_back_off_with_the_same_id(store: Store) -> None:
    clock = FakeClock(START)
    sink = Broken()
    desk = make_desk(store, clock, events=sink)
    desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    assert desk.tick().sent == 0  # not due before retry_after
    sink.down = False
    clock.advance(desk.settings.retry_after - timedelta(microseconds=1))
    assert desk.tick().sent == 0
    clock.advance(timedelta(microseconds=1))
    assert (desk.tick().sent, desk.tick().sent) == (1, 0)
    ((name, (event,), effect_id),) = sink.calls
    assert (name, type(event)) == ("publish", IssueOpened)
    assert effect_id is not None


def test_a_port_that_keeps_failing_becomes_a_dead_letter_with_its_reason(store: Store) -> None:
    clock = FakeClock(START)
    notifier = Broken()
    desk = make_desk(store, clock, notifier=notifier)
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.assign(number, "ben@example.com", by="lead@example.com")
    clock.advance(timedelta(minutes=1))
    assert desk.tick().failed == 1  # the second attempt
    assert desk.dead_letters() == []
    clock.advance(timedelta(minutes=2))
    assert desk.tick().failed == 1  # the third and last
    (dead,) = desk.dead_letters()
    assert (dead.kind, dead.attempts, dead.state) == (EffectKind.NOTICE, 3, "dead")
    assert dead.last_error == "RuntimeError: the ERP is down"
    clock.advance(timedelta(days=1))
    assert (desk.tick().sent, desk.tick().failed) == (0, 0)
    assert notifier.attempts == 3

    notifier.down = False
    assert desk.retry_dead_letter(dead.id) is True
    assert desk.retry_dead_letter(dead.id) is False
    assert desk.tick().sent == 1
    assert notifier.calls == [
        ("notify", ("ben@example.com", f"Issue {number} was assigned to you: s"), dead.id)
    ]
    assert desk.dead_letters() == []


def test_dead_letters_are_listed_up_to_the_limit_a_hundred_unless_given() -> None:
    clock = FakeClock(START)
    desk = make_desk(InMemoryStore(), clock, notifier=Broken())
    for index in range(101):
        number = desk.open_issue(
            subject=f"s{index}", raised_by="ana@customer.test", body="b"
        ).number
        desk.assign(number, "ben@example.com", by="lead@example.com")
    for _ in range(2):  # the second and third attempts; the first was made after the commit
        clock.advance(timedelta(hours=1))
        assert desk.tick().failed == 101
    assert len(desk.dead_letters()) == 100
    assert len(desk.dead_letters(limit=101)) == 101
    assert len(desk.dead_letters(limit=1)) == 1


def test_dead_letter_calls_name_the_argument_they_refuse(store: Store) -> None:
    desk = make_desk(store, FakeClock(START))
    with pytest.raises(InvalidArgumentError, match=r"^effect_id='' is not usable"):
        desk.retry_dead_letter("")
    with pytest.raises(InvalidArgumentError, match=r"^limit=0 is not usable"):
        desk.dead_letters(limit=0)


def test_retrying_a_dead_letter_with_a_clock_without_zone_names_the_clock(store: Store) -> None:
    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2026, 3, 2, 9, 0)  # no zone: the mistake under test

    desk = make_desk(store, NaiveClock())  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError, match=r"clock\.now\(\) must be timezone-aware"):
        desk.retry_dead_letter("effect-1")


def test_mail_the_transport_refuses_is_dead_lettered_after_the_last_attempt(
    store: Store,
) -> None:
    class Refusing:
        def send(self, message: Any) -> None:
            raise ConnectionRefusedError("no server")

    clock = FakeClock(START)
    desk = make_desk(store, clock, mailer=Refusing())
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.reply(number, body="hello", author="ben@example.com")
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        desk.tick()
    (dead,) = desk.dead_letters()
    assert (dead.kind, dead.number) == (EffectKind.MAIL, number)
    assert dead.email()["Message-ID"] == dead.message_id
    assert dead.last_error == "ConnectionRefusedError: no server"


def test_ports_that_take_effect_id_get_it_and_ports_that_do_not_are_called_plainly(
    store: Store,
) -> None:
    class PlainTodos:
        def __init__(self) -> None:
            self.rows: list[tuple[str, ...]] = []

        def open_todo(self, number: str, user: str, text: str) -> None:
            self.rows.append(("open", number, user, text))

        def close_todos(self, number: str, user: str | None = None) -> None:
            self.rows.append(("close", number, str(user)))

    class KeywordSink:
        def __init__(self) -> None:
            self.seen: list[tuple[str, str]] = []

        def publish(self, event: Any, **context: Any) -> None:
            self.seen.append((type(event).__name__, context["effect_id"]))

    todos, sink, notifier = PlainTodos(), KeywordSink(), RecordingNotifier()
    desk = make_desk(store, FakeClock(START), tasks=todos, events=sink, notifier=notifier)
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.assign(number, "ben@example.com", by="lead@example.com")
    desk.close(number, by="ben@example.com")
    assert todos.rows == [
        ("open", number, "ben@example.com", f"{number}: s"),
        ("close", number, "None"),
    ]
    assert [name for name, _ in sink.seen][:2] == ["IssueOpened", "Assigned"]
    ids = [effect_id for _, effect_id in sink.seen]
    assert len(set(ids)) == len(ids)
    assert notifier.ids[0] is not None
    assert notifier.ids[0] not in ids


def test_effects_held_by_a_desk_that_died_are_delivered_by_another_once_the_lease_ends(
    store: Store,
) -> None:
    class Dies:
        def publish(self, event: Any) -> None:
            raise SystemExit("the process ends here")  # not an Exception: nothing catches it

    clock = FakeClock(START)
    first = make_desk(store, clock, events=Dies())
    with pytest.raises(SystemExit):
        first.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    events = RecordingEventSink()
    second = make_desk(store, clock, events=events)
    assert second.get("ISS-2026-00001").subject == "s"  # the change itself was committed
    assert second.tick().sent == 0  # the dead desk's lease still holds
    clock.advance(second.settings.delivery_lease)
    assert second.tick().sent == 1
    assert [type(event) for event in events.events] == [IssueOpened]


def test_tick_deletes_delivered_effects_older_than_keep_delivered(store: Store) -> None:
    clock = FakeClock(START)
    events = RecordingEventSink()
    desk = make_desk(store, clock, events=events, settings={"keep_delivered": timedelta(days=1)})
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.add_note(number, body="n", author="ben@example.com")
    opened_id, noted_id = events.ids
    assert opened_id is not None
    assert noted_id is not None
    clock.advance(timedelta(days=1))
    desk.tick()
    with store.transaction(read_only=True) as work:
        assert work.outbox.get(opened_id) is not None  # exactly a day old: kept
    clock.advance(timedelta(microseconds=1))
    desk.tick()
    with store.transaction(read_only=True) as work:
        assert work.outbox.get(opened_id) is None
        assert work.outbox.get(noted_id) is None


def test_without_keep_delivered_delivered_effects_stay(store: Store) -> None:
    clock = FakeClock(START)
    events = RecordingEventSink()
    desk = make_desk(store, clock, events=events, settings={"keep_delivered": None})
    desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    clock.advance(timedelta(days=3650))
    desk.tick()
    (effect_id,) = events.ids
    assert effect_id is not None
    with store.transaction(read_only=True) as work:
        kept = work.outbox.get(effect_id)
    assert kept is not None
    assert kept.state == "done"


def test_the_effects_of_one_call_are_delivered_in_order(store: Store) -> None:
    tasks, notifier, events = RecordingTaskBoard(), RecordingNotifier(), RecordingEventSink()
    desk = make_desk(store, FakeClock(START), tasks=tasks, notifier=notifier, events=events)
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.assign(number, "ben@example.com", by="lead@example.com")
    desk.add_note(number, body="n", author="ben@example.com")
    assert [type(event) for event in events.events] == [IssueOpened, Assigned, NoteAdded]
    assert [todo.user for todo in tasks.todos] == ["ben@example.com"]
    assert tasks.todos[0].effect_id is not None
    assert notifier.messages == [("ben@example.com", f"Issue {number} was assigned to you: s")]


def test_an_effect_whose_deliverers_keep_dying_is_dead_lettered_after_the_last_claim(
    store: Store,
) -> None:
    class Dies:
        def __init__(self) -> None:
            self.calls = 0

        def publish(self, event: Any) -> None:
            self.calls += 1
            raise SystemExit("the process ends here")  # never reports back

    clock = FakeClock(START)
    dies = Dies()
    desk = make_desk(store, clock, events=dies)
    with pytest.raises(SystemExit):
        desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    for _ in range(2):  # the second and third claims (send_attempts is 3)
        clock.advance(desk.settings.delivery_lease)
        with pytest.raises(SystemExit):
            desk.tick()
    assert dies.calls == 3
    clock.advance(desk.settings.delivery_lease)
    report = desk.tick()
    assert (report.sent, report.failed) == (0, 1)
    assert dies.calls == 3  # the fourth claim gives up without calling the port
    (dead,) = desk.dead_letters()
    assert (dead.kind, dead.state) == (EffectKind.EVENT, "dead")
    assert dead.last_error == "gave up after 3 claims that never reported back"


def test_a_port_method_without_a_signature_is_called_plainly(store: Store) -> None:
    class Plain:
        publish = type  # a builtin inspect cannot read; it takes no effect_id keyword

    desk = make_desk(store, FakeClock(START), events=Plain())
    desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    assert desk.dead_letters() == []
    with store.transaction(read_only=True) as work:
        assert work.outbox.pending(limit=10) == []


def test_pruning_deletes_delivered_effects_in_batches_until_none_is_left(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("issuecore._delivery._PRUNE_BATCH", 2)
    clock = FakeClock(START)
    events = RecordingEventSink()
    desk = make_desk(store, clock, events=events, settings={"keep_delivered": timedelta(days=1)})
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    for index in range(4):
        desk.add_note(number, body=f"n{index}", author="ben@example.com")
    assert len(events.ids) == 5
    clock.advance(timedelta(days=2))
    desk.tick()
    with store.transaction(read_only=True) as work:
        assert [work.outbox.get(effect_id) for effect_id in events.ids if effect_id] == [None] * 5


class Conflicting:
    """A store whose next ``conflicts`` commits fail as if another writer won a lock."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.conflicts = 0

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[Any]:
        with self.inner.transaction(read_only=read_only) as work:
            yield _ConflictingWork(work, self)

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[Any]:
        return self._transaction(read_only)


class _ConflictingWork:
    def __init__(self, work: Any, store: Conflicting) -> None:
        self._work = work
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._work, name)

    def commit(self) -> None:
        if self._store.conflicts:
            self._store.conflicts -= 1
            raise ConcurrencyConflictError("simulated: a deadlock", number=None)
        self._work.commit()


def conflicting_desk_with_a_retry_due(store: Store) -> tuple[HelpDesk, Conflicting, Broken]:
    """Return a desk whose notice failed once and is due again, and its store and notifier."""
    clock = FakeClock(START)
    notifier = Broken()
    conflicting = Conflicting(store)
    desk = make_desk(conflicting, clock, notifier=notifier)
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.assign(number, "ben@example.com", by="lead@example.com")
    notifier.down = False
    clock.advance(timedelta(minutes=1))
    return desk, conflicting, notifier


def test_claiming_from_the_outbox_is_repeated_after_conflicts(store: Store) -> None:
    desk, conflicting, notifier = conflicting_desk_with_a_retry_due(store)
    conflicting.conflicts = 4  # the fifth attempt claims the row
    assert desk.flush_outbox() == (1, 0)
    assert [name for name, _, _ in notifier.calls] == ["notify"]


def test_claiming_from_the_outbox_gives_up_after_five_conflicts(store: Store) -> None:
    desk, conflicting, notifier = conflicting_desk_with_a_retry_due(store)
    conflicting.conflicts = 5
    with pytest.raises(ConcurrencyConflictError, match="simulated: a deadlock"):
        desk.flush_outbox()
    assert notifier.calls == []
    assert desk.flush_outbox() == (1, 0)


def _effect(effect_id: str, payload: bytes) -> OutboxItem:
    return OutboxItem(
        id=effect_id,
        kind=EffectKind.EVENT,
        number=None,
        payload=payload,
        created_at=START,
        next_attempt_at=START,
    )


def test_adding_effects_together_keeps_the_first_of_each_id_as_adding_one_by_one_does(
    store: Store,
) -> None:
    with store.transaction() as work:
        work.outbox.add(_effect("a" * 32, b"stored"))
        work.commit()
    with store.transaction() as work:
        work.outbox.add_all(  # type: ignore[attr-defined]
            [
                _effect("a" * 32, b"again"),
                _effect("b" * 32, b"first"),
                _effect("b" * 32, b"second"),
                _effect("c" * 32, b"new"),
            ]
        )
        work.outbox.add_all([])  # type: ignore[attr-defined]
        work.commit()
    with store.transaction(read_only=True) as work:
        payloads = [work.outbox.get(letter * 32) for letter in "abc"]
        assert [item.payload for item in payloads if item] == [b"stored", b"first", b"new"]
        assert [item.id for item in work.outbox.pending(limit=10)] == [
            letter * 32 for letter in "abc"
        ]


def test_adding_effects_together_refuses_unstorable_text_before_writing(store: Store) -> None:
    with store.transaction() as work:
        with pytest.raises(UnstorableValueError):
            work.outbox.add_all(  # type: ignore[attr-defined]
                [_effect("a" * 32, b"ok"), attrs.evolve(_effect("b" * 32, b""), number="\x00")]
            )
        assert work.outbox.get("a" * 32) is None


class _AddOnly:
    """An adopter's outbox offering the port's ``add`` alone."""

    def __init__(self) -> None:
        self.added: list[OutboxItem] = []

    def add(self, item: OutboxItem) -> None:
        self.added.append(item)


def test_effects_go_one_by_one_to_an_outbox_without_add_all() -> None:
    outbox = _AddOnly()
    items = [_effect("a" * 32, b"1"), _effect("b" * 32, b"2")]
    _add_effects(outbox, items)  # type: ignore[arg-type]
    assert outbox.added == items


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "mariadb"], indirect=True)
def test_completing_effects_together_marks_each_as_completing_one_by_one_does(
    store: Store,
) -> None:
    with store.transaction() as work:
        work.outbox.add_all(  # type: ignore[attr-defined]
            [_effect(letter * 32, letter.encode()) for letter in "abc"]
        )
        work.outbox.complete("a" * 32, at=START)
        work.commit()
    later = START + timedelta(minutes=1)
    with store.transaction() as work:
        done = work.outbox.complete_all(  # type: ignore[attr-defined]
            ["a" * 32, "b" * 32, "c" * 32, "c" * 32], at=later
        )
        work.commit()
    assert done == 2
    with store.transaction(read_only=True) as work:
        items = [work.outbox.get(letter * 32) for letter in "abc"]
    assert [item.done_at if item else None for item in items] == [START, later, later]
    assert all(item and item.next_attempt_at is None for item in items)
    with store.transaction() as work, pytest.raises(LookupError, match="d" * 32):
        work.outbox.complete_all(["b" * 32, "d" * 32], at=later)  # type: ignore[attr-defined]


class _RecordingDurability:
    """A SQLite store that records, of each write transaction, whether it had to be durable."""

    def __init__(self, inner: SQLiteStore) -> None:
        self.inner = inner
        self.durable: list[bool] = []

    def transaction(
        self, *, read_only: bool = False, durable: bool = True
    ) -> AbstractContextManager[Any]:
        if not read_only:
            self.durable.append(durable)
        return self.inner.transaction(read_only=read_only, durable=durable)


def test_effects_are_marked_delivered_in_transactions_that_need_not_wait_for_the_disk(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "desk.db") as sqlite_store:
        store = _RecordingDurability(sqlite_store)
        desk = make_desk(store, FakeClock(START))
        desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
        # The change with its effects is durable; marking them delivered need not be.
        assert store.durable == [True, False]


def test_events_for_the_default_sink_are_marked_delivered_without_being_read(
    store: Store,
) -> None:
    unreadable = _effect("e" * 32, b"{ not an event")
    with store.transaction() as work:
        work.outbox.add(unreadable)
        work.commit()
    assert make_desk(store, FakeClock(START)).flush_outbox() == (1, 0)
    with store.transaction() as work:
        work.outbox.add(attrs.evolve(unreadable, id="f" * 32))
        work.commit()
    # A sink of the adopter's own gets each event read back; this one cannot be.
    listened = make_desk(store, FakeClock(START), events=RecordingEventSink())
    assert listened.flush_outbox() == (0, 1)


class MarkingStore(InMemoryStore):
    """An in-memory store that marks delivered rows itself, as SqlStore does."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[list[str]] = []
        self.transactions = 0

    def transaction(self, **options: Any) -> Any:
        self.transactions += 1
        return super().transaction(**options)

    def mark_delivered(self, item_ids: list[str], *, at: datetime) -> int:
        self.marked.append(list(item_ids))
        with super().transaction() as work:
            changed = sum(work.outbox.complete(item_id, at=at) for item_id in item_ids)
            work.commit()
        return changed


def test_a_store_that_marks_delivered_rows_itself_is_asked_to_instead_of_a_unit_of_work() -> None:
    store = MarkingStore()
    mailer = RecordingMailer()
    desk = make_desk(store, FakeClock(START), mailer=mailer, events=RecordingEventSink())
    transactions = store.transactions
    desk.receive(
        b"From: bo@customer.test\nTo: support@example.com\nSubject: Help\n"
        b"Message-ID: <help@customer.test>\n\nBroken.\n"
    )
    assert store.transactions == transactions + 1  # the intake alone: the marks went direct
    # The automatic reply marked alone right after the mailer took it, then the events.
    assert len(mailer.sent) == 1
    assert [len(ids) for ids in store.marked] == [1, 2]
    with store.transaction(read_only=True) as work:
        assert work.outbox.pending(limit=10) == []


def test_an_effect_id_is_a_random_version_4_uuid_in_hexadecimal() -> None:
    ids = [new_effect_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for effect_id in ids:
        parsed = uuid.UUID(hex=effect_id)
        assert parsed.hex == effect_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # Every other bit is drawn: each is seen both ways over the ids.
    fixed = {48, 49, 50, 51, 64, 65}  # the version's four bits and the variant's two
    bits = [int(effect_id, 16) for effect_id in ids]
    for position in range(128):
        if 127 - position in fixed:
            continue
        seen = {(value >> position) & 1 for value in bits}
        assert seen == {0, 1}, position
