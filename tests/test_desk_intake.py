"""Intake that survives real-world and hostile mail, on every store.

``HelpDesk.receive`` never raises for any input; every message ends in one
recorded outcome; a re-delivery is a duplicate; a different message reusing
a Message-ID is kept; what a limit left out is said on the thread; only a
store that records nothing at all makes ``receive`` raise.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from issuecore import DeskSettings, HelpDesk, StoreUnavailableError
from issuecore._model import EntryKind
from issuecore.adapters.maildir import MaildirSource
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail import _parse as parse_module
from issuecore.mail._matching import message_fingerprint, reused_message_id
from issuecore.mail._settings import MailSettings
from issuecore.ports import MessageRecord, Store, UnitOfWork
from issuecore.testing import FakeClock, RecordingMailer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUPPORT = "support@desk.example"

STORE_KINDS = ["memory", "sqlite", "postgresql", "mariadb"]
_SERVERS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}


@contextmanager
def open_store(kind: str, tmp_path: Path) -> Iterator[Store]:
    """Yield a fresh, empty store of ``kind``; server stores skip when no URL is given."""
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "sqlite":
        with SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db") as store:
            yield store
        return
    variable, what = _SERVERS[kind]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    server = SqlStore(url, table_prefix=f"i{uuid.uuid4().hex[:10]}_")
    try:
        yield server
    finally:
        server.drop_tables()
        server.close()


@pytest.fixture(scope="module")
def server_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Store]]:
    """Open each database server's store once per module, when a test first asks for it."""
    with ExitStack() as stack:
        opened: dict[str, Store] = {}

        def get(kind: str) -> Store:
            if kind not in opened:
                folder = tmp_path_factory.mktemp(kind)
                opened[kind] = stack.enter_context(open_store(kind, folder))
            return opened[kind]

        yield get


def emptied(store: SqlStore) -> SqlStore:
    with store.engine.begin() as connection:
        for table in reversed(store._schema.data_tables()):
            connection.execute(table.delete())
    return store


@pytest.fixture(params=STORE_KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, server_store: Callable[[str], Store]
) -> Iterator[Store]:
    if request.param in _SERVERS:
        server = server_store(request.param)
        assert isinstance(server, SqlStore)
        yield emptied(server)
        return
    with open_store(request.param, tmp_path) as opened:
        yield opened


def make_desk(store: Store) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


def message(
    *,
    message_id: bytes = b"<m1@customer.example>",
    sender: bytes = b"ana@customer.example",
    subject: bytes = b"Printer on fire",
    date: bytes = b"Mon, 02 Mar 2026 09:00:00 +0000",
    headers: bytes = b"",
    body: bytes = b"Our printer is on fire.\n",
) -> bytes:
    return (
        b"From: " + sender + b"\nTo: " + SUPPORT.encode() + b"\nSubject: " + subject
        + b"\nDate: " + date + b"\nMessage-ID: " + message_id + b"\n" + headers + b"\n" + body
    )  # fmt: skip


def strings_in(value: object) -> Iterator[str]:
    """Yield every string inside ``value`` (attrs instances, tuples, lists, dicts)."""
    if isinstance(value, str):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from strings_in(getattr(value, field.name))
    elif isinstance(value, list | tuple | frozenset | set):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)


def assert_storable(value: object) -> None:
    for text in strings_in(value):
        assert not any(0xD800 <= ord(char) <= 0xDFFF for char in text), ascii(text)


def everything_stored(desk: HelpDesk) -> list[Any]:
    found: list[Any] = []
    for issue in desk.find():
        found.append(issue)
        found.extend(desk.thread(issue.number))
    return found


# --- finding 1: one byte no longer stops intake --------------------------------------------

# The message that stopped intake for good on every database store.
MINIMAL_POISON = b"From: a@c.example\nTo: s@d.example\nSubject: s\nMessage-ID: <\xff@c>\n\nx\n"

HOSTILE = {
    "message_id": message(message_id=b"<\xff@c.example>"),
    "in_reply_to": message(headers=b"In-Reply-To: <\xfe\xff@c.example>\n"),
    "references": message(headers=b"References: <a@c.example> <\xff\x00@c.example>\n"),
    "part_content_type": (
        b"From: ana@customer.example\nTo: s@d.example\nSubject: s\nMessage-ID: <p@c.example>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain; charset=utf-8\n\nhello\n--b\n"
        b'Content-Type: application/\xff\xfe; name="\xe4\xff.bin"\n'
        b"Content-ID: <\xff\xfe@c.example>\n\nDATA\n--b--\n"
    ),
    "utf7_body": (
        b"From: ana@customer.example\nTo: s@d.example\nSubject: s\nMessage-ID: <u7@c.example>\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-7\n\n+2D3cAA- and +2D0-\n"
    ),
    "unicode_escape_body": (
        b"From: ana@customer.example\nTo: s@d.example\nSubject: s\nMessage-ID: <ue@c.example>\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain; charset=unicode_escape\n\n"
        b"lone \\udcff and \\ud800 and \\x00\n"
    ),
    "nul_everywhere": message(
        message_id=b"<n\x00ul@c.example>", subject=b"a\x00b", body=b"x\x00y\n"
    ),
    "raw_bytes_in_subject_and_name": message(
        sender=b"\xff\xfe Ana <ana@customer.example>", subject=b"caf\xe9 \xff"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_byte_anywhere_is_recorded_and_a_second_delivery_is_a_duplicate(
    store: Store, name: str
) -> None:
    desk = make_desk(store)
    raw = HOSTILE[name]

    first = desk.receive(raw)
    again = desk.receive(raw)

    assert first.kind == "created", first.reason
    assert again.kind == "duplicate"
    assert again.message_id == first.message_id
    assert_storable(first)
    assert_storable(everything_stored(desk))


def test_an_undecodable_byte_in_a_message_id_is_percent_escaped(store: Store) -> None:
    desk = make_desk(store)

    outcome = desk.receive(
        b"From: a@c.example\nTo: s@d.example\nSubject: s\nMessage-ID: <\xff@c>\n\nx\n"
    )

    assert outcome.kind == "created"
    assert outcome.message_id == "<%FF@c>"
    assert outcome.issue_number is not None
    (entry,) = desk.thread(outcome.issue_number)
    assert entry.message_id == "<%FF@c>"


def test_different_undecodable_message_ids_stay_different_messages(store: Store) -> None:
    desk = make_desk(store)

    one = desk.receive(message(message_id=b"<\xff@c.example>", body=b"one\n"))
    two = desk.receive(message(message_id=b"<\xfe@c.example>", body=b"two\n"))
    percent = desk.receive(message(message_id=b"<%\xff@c.example>", body=b"three\n"))

    assert (one.kind, two.kind, percent.kind) == ("created", "created", "created")
    assert len({one.message_id, two.message_id, percent.message_id}) == 3
    assert percent.message_id == "<%25%FF@c.example>"


def test_a_stray_byte_in_utf8_text_reads_as_windows_1252_and_the_rest_as_utf8(
    store: Store,
) -> None:
    desk = make_desk(store)

    outcome = desk.receive(message(subject=b"caf\xc3\xa9 \xff", body=b"ok\n"))

    assert outcome.issue_number is not None
    (entry,) = desk.thread(outcome.issue_number)
    assert entry.subject == "caf\u00e9 \u00ff"


# --- finding 2: duplicates first --------------------------------------------------------------

UNREADABLE = {
    "empty": b"",
    "blank": b"\r\n\r\n",
    "not_an_email": b"\x00\x01\x02 not mail at all",
    "no_sender": b"Subject: who?\nMessage-ID: <ns@c.example>\n\nhi\n",
    "loop": message(sender=SUPPORT.encode(), message_id=b"<loop@desk.example>"),
    "ignored": message(headers=b"Auto-Submitted: auto-generated\nList-Id: <l.example>\n"),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_a_second_delivery_of_mail_on_no_issue_is_a_duplicate_and_changes_nothing(
    store: Store, name: str
) -> None:
    desk = make_desk(store)
    raw = UNREADABLE[name]

    first = desk.receive(raw)
    again = desk.receive(raw)
    third = desk.receive(raw)

    assert first.kind in ("quarantined", "loop", "ignored")
    assert (again.kind, third.kind) == ("duplicate", "duplicate")
    assert again.message_id == first.message_id
    assert desk.find() == []


def test_a_re_delivery_with_headers_added_on_the_way_is_a_duplicate(store: Store) -> None:
    desk = make_desk(store)
    raw = message()
    relayed = b"Received: from mx2.example by mx.desk.example\r\n" + raw.replace(b"\n", b"\r\n")

    first = desk.receive(raw)
    again = desk.receive(relayed)

    assert (first.kind, again.kind) == ("created", "duplicate")
    assert first.issue_number is not None
    assert len(desk.thread(first.issue_number)) == 1


# --- finding 3: a reused Message-ID keeps the second message ---------------------------------


def test_a_different_message_reusing_a_message_id_is_kept_under_a_derived_id(
    store: Store,
) -> None:
    desk = make_desk(store)
    original = message(body=b"The first message.\n")
    impostor = message(sender=b"ben@other.example", body=b"A different message.\n")

    first = desk.receive(original)
    second = desk.receive(impostor)
    second_again = desk.receive(impostor)
    first_again = desk.receive(original)

    derived = reused_message_id("<m1@customer.example>", message_fingerprint(impostor))
    assert (first.kind, second.kind) == ("created", "created")
    assert second.message_id == derived
    assert derived.endswith("@reused.issuecore.invalid>")
    assert "<m1@customer.example> was already recorded for a different message" in second.reason
    assert (second_again.kind, second_again.message_id) == ("duplicate", derived)
    assert (first_again.kind, first_again.message_id) == ("duplicate", "<m1@customer.example>")
    assert second.issue_number is not None
    message_entry, note = desk.thread(second.issue_number)
    assert message_entry.message_id == derived
    assert message_entry.text == "A different message.\n"
    assert note.kind is EntryKind.SYSTEM
    assert "<m1@customer.example>" in note.text
    assert derived in note.text


@pytest.mark.parametrize(
    "change",
    [
        {"sender": b"ben@other.example"},
        {"date": b"Tue, 03 Mar 2026 09:00:00 +0000"},
        {"body": b"Our printer is on fire again.\n"},
    ],
    ids=["sender", "date", "body"],
)
def test_each_part_of_the_fingerprint_tells_messages_apart(change: dict[str, bytes]) -> None:
    assert message_fingerprint(message(**change)) != message_fingerprint(message())


def test_the_fingerprint_ignores_other_headers_line_endings_and_trailing_blanks() -> None:
    raw = message()
    redelivered = (
        b"Received: by relay\r\nDelivered-To: s@d.example\r\n"
        + raw.replace(b"\n", b"\r\n")
        + b"\r\n\r\n"
    )
    assert message_fingerprint(redelivered) == message_fingerprint(raw)
    assert message_fingerprint(message(subject=b"Other subject")) == message_fingerprint(raw)


def test_a_record_without_a_fingerprint_treats_any_message_under_it_as_a_duplicate(
    store: Store,
) -> None:
    desk = make_desk(store)
    with store.transaction() as work:
        work.record_message(
            "<m1@customer.example>", number=None, outcome="ignored", reason="before version 3"
        )
        work.commit()

    outcome = desk.receive(message(body=b"Whatever it says now.\n"))

    assert outcome.kind == "duplicate"
    assert desk.find() == []


# --- finding 4: nothing silently lost -------------------------------------------------------


def test_a_message_with_parts_left_out_says_so_on_the_thread_and_keeps_its_bytes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = message(message_id=b"<cut@c.example>")
    read = parse_module.parse_message(raw)
    assert isinstance(read, parse_module.InboundMessage)
    cut = attrs.evolve(
        read,
        omissions=(
            "parts nested deeper than 40 levels left out",
            "parts after the 2000th left out",
        ),
    )
    monkeypatch.setattr("issuecore._intake.parse_message", lambda given: cut)
    desk = make_desk(store)

    outcome = desk.receive(raw)

    assert outcome.kind == "created"
    assert "left out: parts nested deeper than 40 levels left out" in outcome.reason
    assert outcome.issue_number is not None
    entry, note = desk.thread(outcome.issue_number)
    assert entry.kind is EntryKind.CUSTOMER_MESSAGE
    assert note.kind is EntryKind.SYSTEM
    assert "- parts nested deeper than 40 levels left out" in note.text
    assert "- parts after the 2000th left out" in note.text
    assert desk.kept_message("<cut@c.example>") == raw


def _nested(depth: int) -> bytes:
    head = b"From: ana@customer.example\nTo: s@d.example\nSubject: deep\nMessage-ID: <deep@c>\n"
    parts = [head + b"MIME-Version: 1.0\n"]
    for level in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level))
    parts.append(b"Content-Type: text/plain\n\ninnermost\n")
    for level in reversed(range(depth)):
        parts.append(b"--b%d--\n" % level)
    return b"".join(parts)


def _many_attachments(count: int) -> bytes:
    head = (
        b"From: ana@customer.example\nTo: s@d.example\nSubject: many\nMessage-ID: <many@c>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nsee attached\n"
    )
    part = b'--b\nContent-Type: application/octet-stream; name="f.bin"\n\nx\n'
    return head + part * count + b"--b--\n"


@pytest.mark.parametrize(
    ("raw", "message_id"),
    [(_nested(120), "<deep@c>"), (_many_attachments(2500), "<many@c>")],
    ids=["nested-120-levels", "2500-attachments"],
)
def test_a_message_cut_by_a_limit_is_noted_on_its_thread_end_to_end(
    tmp_path: Path, raw: bytes, message_id: str
) -> None:
    with open_store("sqlite", tmp_path) as store:
        desk = make_desk(store)
        outcome = desk.receive(raw)
        assert outcome.issue_number is not None
        notes = [e for e in desk.thread(outcome.issue_number) if e.kind is EntryKind.SYSTEM]
        assert len(notes) == 1
        assert "left out" in notes[0].text
        assert desk.kept_message(message_id) == raw


def test_a_message_nested_60_levels_is_read_whole_with_no_note(tmp_path: Path) -> None:
    with open_store("sqlite", tmp_path) as store:
        desk = make_desk(store)
        outcome = desk.receive(_nested(60))
        assert outcome.issue_number is not None
        thread = desk.thread(outcome.issue_number)
        assert [e.kind for e in thread] == [EntryKind.CUSTOMER_MESSAGE]
        assert "innermost" in thread[0].text


# --- anything at all, from an untyped caller ----------------------------------------------


# Ids pytest can take back on its command line (repr would put a backslash into one).
@pytest.mark.parametrize(
    "given",
    ["From: a@b.example\n\nnot bytes", None, 42, ["a list"]],
    ids=["str", "None", "int", "list"],
)
def test_anything_not_bytes_is_quarantined_with_the_reason(store: Store, given: Any) -> None:
    desk = make_desk(store)

    outcome = desk.receive(given)
    again = desk.receive(given)

    assert outcome.kind == "quarantined"
    assert f"cannot read a {type(given).__name__}" in outcome.reason
    assert again.kind == "duplicate"
    assert desk.kept_message(outcome.message_id) is not None


def test_an_object_whose_repr_fails_is_still_quarantined(store: Store) -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    outcome = make_desk(store).receive(Unprintable())  # type: ignore[arg-type]

    assert outcome.kind == "quarantined"


# --- the last resort -------------------------------------------------------------------------


class _FailingWork:
    """A unit of work that raises from chosen methods, a given number of times."""

    def __init__(self, work: UnitOfWork, failures: dict[str, int]) -> None:
        self._work = work
        self._failures = failures

    def __getattr__(self, name: str) -> Any:
        if self._failures.get(name, 0) > 0:
            self._failures[name] -= 1

            def fail(*args: object, **kwargs: object) -> None:
                raise RuntimeError(f"simulated failure in {name}")

            return fail
        return getattr(self._work, name)


class FailingStore:
    """A store whose units of work fail at the methods and times given."""

    def __init__(self, inner: Store, **failures: int) -> None:
        self.inner = inner
        self.failures = dict(failures)
        self.down = False

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[UnitOfWork]:
        if self.down:
            raise ConnectionError("simulated: the database server is unreachable")
        with self.inner.transaction(read_only=read_only) as work:
            yield _FailingWork(work, self.failures)  # type: ignore[misc]

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(read_only)


def test_a_failure_in_the_normal_path_is_quarantined_with_the_reason(store: Store) -> None:
    failing = FailingStore(store, append_entry=1)
    desk = make_desk(failing)  # type: ignore[arg-type]
    raw = message()

    outcome = desk.receive(raw)
    again = desk.receive(raw)

    assert outcome.kind == "quarantined"
    assert outcome.signal == "intake_error"
    assert outcome.reason == "intake failed: RuntimeError: simulated failure in append_entry"
    assert desk.kept_message("<m1@customer.example>") == raw
    assert again.kind == "duplicate"
    assert desk.find() == []


def test_a_failing_message_reusing_a_message_id_is_quarantined_under_the_derived_id(
    store: Store,
) -> None:
    failing = FailingStore(store)
    desk = make_desk(failing)  # type: ignore[arg-type]
    assert desk.receive(message()).kind == "created"
    other = message(
        sender=b"bea@customer.example", body=b"A different message under the same Message-ID.\n"
    )
    failing.failures["insert_issue"] = 1
    outcome = desk.receive(other)
    again = desk.receive(other)

    derived = reused_message_id("<m1@customer.example>", message_fingerprint(other))
    assert (outcome.kind, outcome.message_id, outcome.signal) == (
        "quarantined",
        derived,
        "intake_error",
    )
    assert outcome.reason == "intake failed: RuntimeError: simulated failure in insert_issue"
    assert (outcome.issue_number, outcome.created, outcome.auto_reply) == (None, False, False)
    assert desk.kept_message(derived) == other
    assert desk.kept_message("<m1@customer.example>") is None
    assert (again.kind, again.message_id) == ("duplicate", derived)
    assert len(desk.find()) == 1


def test_a_message_whose_intake_fails_again_after_being_quarantined_is_a_duplicate(
    store: Store,
) -> None:
    failing = FailingStore(store)
    desk = make_desk(failing)  # type: ignore[arg-type]
    failing.failures["insert_issue"] = 1
    first = desk.receive(message())
    failing.failures["lookup_message"] = 1  # the normal path fails; the last resort reads it
    again = desk.receive(message())
    assert first.kind == "quarantined"
    assert (again.kind, again.message_id, again.signal, again.issue_number) == (
        "duplicate",
        "<m1@customer.example>",
        "message_id",
        None,
    )
    assert again.reason == "Message-ID <m1@customer.example> was already recorded as quarantined"
    assert (again.created, again.auto_reply) == (False, False)


def test_the_reason_of_a_failure_is_bounded_and_storable(store: Store) -> None:
    class OddError(Exception):
        def __str__(self) -> str:
            return "\udcff\x00" + "x" * 5000

    failing = FailingStore(store)
    desk = make_desk(failing)  # type: ignore[arg-type]

    def explode(*args: object, **kwargs: object) -> None:
        raise OddError

    desk._receive = explode  # type: ignore[method-assign]
    outcome = desk.receive(message())

    assert outcome.kind == "quarantined"
    assert len(outcome.reason) <= 500
    assert outcome.reason.startswith("intake failed: OddError: \ufffd\ufffdxxx")


def test_when_the_store_is_down_receive_raises_the_typed_error_and_records_nothing(
    store: Store,
) -> None:
    failing = FailingStore(store)
    failing.down = True
    desk = make_desk(failing)  # type: ignore[arg-type]

    with pytest.raises(StoreUnavailableError) as raised:
        desk.receive(message())

    assert isinstance(raised.value, OSError)
    assert raised.value.message_id == "<m1@customer.example>"
    assert isinstance(raised.value.cause, ConnectionError)
    assert "was not acknowledged" in str(raised.value)
    failing.down = False
    assert desk.receive(message()).kind == "created"


def test_the_last_resort_logs_the_message_its_reason_and_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = make_desk(FailingStore(InMemoryStore(), append_entry=1))  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="issuecore.intake"):
        desk.receive(message())

    [record] = [r for r in caplog.records if r.name == "issuecore.intake"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "intake of <m1@customer.example> failed; recording it as quarantined: "
        "intake failed: RuntimeError: simulated failure in append_entry"
    )
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "simulated failure in append_entry"


def test_a_message_the_last_resort_quarantines_is_recorded_at_now_with_its_fingerprint() -> None:
    desk = make_desk(FailingStore(InMemoryStore(), append_entry=1))  # type: ignore[arg-type]
    raw = message()

    desk.receive(raw)

    assert desk.message_record("<m1@customer.example>") == MessageRecord(
        message_id="<m1@customer.example>",
        number=None,
        outcome="quarantined",
        reason="intake failed: RuntimeError: simulated failure in append_entry",
        at=START,
        fingerprint=message_fingerprint(raw),
    )


def test_a_recorded_message_whose_second_delivery_fails_is_a_duplicate_naming_its_issue() -> None:
    failing = FailingStore(InMemoryStore())
    desk = make_desk(failing)  # type: ignore[arg-type]
    first = desk.receive(message())
    failing.failures["lookup_message"] = 1  # the normal path fails; the last resort reads it

    again = desk.receive(message())

    assert first.kind == "created"
    assert (again.kind, again.issue_number) == ("duplicate", first.issue_number)
    assert again.reason == "Message-ID <m1@customer.example> was already recorded as created"


def test_a_message_reusing_a_message_id_whose_intake_fails_twice_is_recorded_once() -> None:
    failing = FailingStore(InMemoryStore())
    desk = make_desk(failing)  # type: ignore[arg-type]
    assert desk.receive(message()).kind == "created"
    other = message(sender=b"bea@customer.example", body=b"Another message, the same ID.\n")
    derived = reused_message_id("<m1@customer.example>", message_fingerprint(other))

    failing.failures["insert_issue"] = 1
    first = desk.receive(other)
    failing.failures["lookup_message"] = 1  # again the normal path fails
    again = desk.receive(other)

    assert (first.kind, first.message_id) == ("quarantined", derived)
    assert (again.kind, again.message_id, again.issue_number) == ("duplicate", derived, None)
    assert again.reason == f"Message-ID {derived} was already recorded as quarantined"


def test_when_the_store_is_down_the_error_says_why_the_quarantine_failed_too() -> None:
    failing = FailingStore(InMemoryStore())
    failing.down = True
    desk = make_desk(failing)  # type: ignore[arg-type]

    with pytest.raises(StoreUnavailableError) as raised:
        desk.receive(message())

    assert str(raised.value) == (
        "message <m1@customer.example> could not be recorded: intake failed with "
        "ConnectionError: simulated: the database server is unreachable, and recording it "
        "as quarantined failed with ConnectionError: simulated: the database server is "
        "unreachable; it was not acknowledged and will be read again"
    )


class ReadingStore:
    """A store that notes whether each transaction was opened to read only."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.read_only: list[bool] = []

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        self.read_only.append(read_only)
        return self.inner.transaction(read_only=read_only)


def test_reading_a_kept_message_opens_a_read_only_transaction() -> None:
    store = ReadingStore(InMemoryStore())
    desk = make_desk(store)  # type: ignore[arg-type]
    raw = b"\x00\xff not a message at all"
    outcome = desk.receive(raw)
    store.read_only.clear()

    assert desk.kept_message(outcome.message_id) == raw
    assert store.read_only == [True]


# --- ingest reads everything behind a poison message ------------------------------------------


def _maildir(folder: Path, *messages: bytes) -> Path:
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True)
    for index, raw in enumerate(messages):
        (folder / "new" / f"{index:04d}.desk:2,").write_bytes(raw)
    return folder


GOOD = [
    message(message_id=b"<g1@c.example>", body=b"one\n"),
    message(message_id=b"<g2@c.example>", sender=b"ben@c.example", body=b"two\n"),
    message(message_id=b"<g3@c.example>", sender=b"chen@c.example", body=b"three\n"),
]


def test_ingest_reads_every_message_behind_a_poison_message(store: Store, tmp_path: Path) -> None:
    folder = _maildir(tmp_path / "inbox", MINIMAL_POISON, b"", *GOOD)
    desk = make_desk(store)

    report = desk.ingest(MaildirSource(folder))

    assert [o.kind for o in report.outcomes] == ["created", "quarantined", *["created"] * 3]
    assert report.failures == ()
    assert list((folder / "new").iterdir()) == []
    again = desk.ingest(MaildirSource(folder))
    assert again.outcomes == ()


def test_ingest_leaves_unrecorded_messages_unacknowledged_and_reads_the_rest(
    store: Store, tmp_path: Path
) -> None:
    folder = _maildir(tmp_path / "inbox", *GOOD)
    failing = FailingStore(store)
    failing.down = True
    desk = make_desk(failing)  # type: ignore[arg-type]

    report = desk.ingest(MaildirSource(folder))

    assert report.outcomes == ()
    assert [f.message_id for f in report.failures] == [
        "<g1@c.example>",
        "<g2@c.example>",
        "<g3@c.example>",
    ]
    assert len(list((folder / "new").iterdir())) == 3
    failing.down = False
    recovered = desk.ingest(MaildirSource(folder))
    assert [o.kind for o in recovered.outcomes] == ["created"] * 3
    assert list((folder / "new").iterdir()) == []


def test_ingest_acknowledges_a_message_only_once_it_is_recorded(
    store: Store, tmp_path: Path
) -> None:
    folder = _maildir(tmp_path / "inbox", GOOD[0])
    failing = FailingStore(store, append_entry=1)
    desk = make_desk(failing)  # type: ignore[arg-type]

    report = desk.ingest(MaildirSource(folder))

    assert [o.kind for o in report.outcomes] == ["quarantined"]
    assert list((folder / "new").iterdir()) == []
    assert desk.kept_message("<g1@c.example>") == GOOD[0]
