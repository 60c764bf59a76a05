"""Erasing and purging with a file blob store: the released files go once the erasure commits.

Every file under the blob folder is read back whole and searched for the
person's address, their words and the bytes of their attachment. A file
kept again within the blob store's grace stays for a later sweep; a rollback
deletes nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pendulum
import pytest

from issuecore import (
    Attachment,
    DeskSettings,
    EntryKind,
    HelpDesk,
    ServiceLevelAgreement,
    SlaTarget,
    ThreadEntry,
)
from issuecore.adapters import sql, sqlite
from issuecore.adapters.blobs import FileBlobStore
from issuecore.adapters.memory import InMemoryUnitOfWork
from issuecore.adapters.sql import SqlUnitOfWork
from issuecore.adapters.sqlite import SQLiteStore, SQLiteUnitOfWork
from issuecore.ports import BlobStore, Store
from issuecore.testing import FakeClock, RecordingMailer
from issuecore.testing.contracts import simple_issue
from stores import STORE_KINDS, fresh_store

H = timedelta(hours=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
PERSON = "ana.secret@customer.test"
WORDS = "my confidential diagnosis xylophone"
SCAN = b"SCANNED-PASSPORT-BYTES-0042"
SHARED = b"THE-PUBLIC-PRICE-LIST-2026"
# A subject this long is cut, so the raw message is kept under the issue's number.
LONG_SUBJECT = "Passport problem xylophone " * 400
UNITS_OF_WORK = {
    "memory": InMemoryUnitOfWork,
    "sqlite": SQLiteUnitOfWork,
    "postgresql": SqlUnitOfWork,
    "mariadb": SqlUnitOfWork,
}


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def files(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def store(kind: str, tmp_path: Path, files: FileBlobStore) -> Iterator[Store]:
    with fresh_store(kind, tmp_path, blobs=files) as opened:
        yield opened


def _desk(store: Store) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        agreements=(
            ServiceLevelAgreement(
                name="Standard",
                targets={"Medium": SlaTarget(response=2 * H)},
                default_priority="Medium",
                default=True,
            ),
        ),
        settings=DeskSettings(support_address="support@example.com"),
    )


def _mail(sender: str, subject: str, message_id: str, body: str, *files: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    for number, data in enumerate(files):
        message.add_attachment(
            data, maintype="application", subtype="pdf", filename=f"file{number}.pdf"
        )
    return message.as_bytes()


def _scenario(desk: HelpDesk) -> tuple[str, str]:
    """Open the person's issue (scan, shared file, kept raw mail) and someone else's."""
    theirs = desk.receive(
        _mail(PERSON, LONG_SUBJECT, "<p1@customer.test>", f"Hello, {WORDS}.", SCAN, SHARED)
    ).issue_number
    other = desk.receive(
        _mail("bob@other.test", "Prices", "<o1@other.test>", "Our price list.", SHARED)
    ).issue_number
    assert theirs is not None
    assert other is not None
    return theirs, other


def _blob_files(files: FileBlobStore) -> list[Path]:
    return sorted(path for path in files.root.rglob("*") if path.is_file())


def _traces(files: FileBlobStore) -> list[bytes]:
    found = b"".join(path.read_bytes() for path in _blob_files(files))
    return [needle for needle in (PERSON.encode(), b"xylophone", SCAN) if needle in found]


def _age(files: FileBlobStore) -> None:
    """Make every file older than the blob store's grace, as if kept long ago."""
    long_ago = time.time() - files.grace.total_seconds() - 60
    for path in _blob_files(files):
        os.utime(path, (long_ago, long_ago))


def _referenced(store: Store) -> set[str]:
    with store.transaction(read_only=True) as work:
        return set(work.referenced_blobs())  # type: ignore[attr-defined]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_erasing_a_person_deletes_their_blob_files_and_keeps_a_shared_one(
    store: Store, files: FileBlobStore
) -> None:
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    assert _traces(files) == [PERSON.encode(), b"xylophone", SCAN]
    _age(files)

    assert desk.erase_person(PERSON, by="dpo") == (theirs,)

    assert _traces(files) == []
    assert files.has(_digest(SHARED))
    # What is left is exactly what rows reference: no orphan for a sweep.
    assert {path.name for path in _blob_files(files)} == _referenced(store)


def test_erasing_one_issue_deletes_its_files_once_committed(
    store: Store, files: FileBlobStore
) -> None:
    desk = _desk(store)
    theirs, other = _scenario(desk)
    _age(files)
    desk.erase(theirs, by="dpo")
    assert _traces(files) == []
    assert [entry.attachments[0].data for entry in desk.thread(other)] == [SHARED]


def test_purging_deletes_the_files_of_the_purged_issues(store: Store, files: FileBlobStore) -> None:
    desk = _desk(store)
    theirs, other = _scenario(desk)
    desk.close(theirs, by="ben")
    _age(files)
    assert desk.purge(closed_before=START + H) == (theirs,)
    assert _traces(files) == []
    assert [entry.attachments[0].data for entry in desk.thread(other)] == [SHARED]


def test_an_erasure_that_rolls_back_deletes_no_file(
    store: Store, files: FileBlobStore, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    _age(files)
    before = {path: path.read_bytes() for path in _blob_files(files)}

    def fail(self: object, address: str) -> None:
        raise RuntimeError("the database went away")

    # The last step of erase_person, after the issue's blobs were released.
    monkeypatch.setattr(UNITS_OF_WORK[kind], "forget_auto_replies", fail)
    with pytest.raises(RuntimeError, match="went away"):
        desk.erase_person(PERSON, by="dpo")

    assert {path: path.read_bytes() for path in _blob_files(files)} == before
    first = desk.thread(theirs)[0]
    assert [attachment.data for attachment in first.attachments] == [SCAN, SHARED]


def test_files_kept_within_the_grace_stay_until_a_sweep(store: Store, files: FileBlobStore) -> None:
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    # Just written: a transaction keeping the same content could be about to reference it.
    desk.erase(theirs, by="dpo")
    assert _traces(files) == [PERSON.encode(), b"xylophone", SCAN]
    assert desk.thread(theirs)[0].attachments == ()

    _age(files)
    files.sweep(_referenced(store), older_than=timedelta(minutes=1))
    assert _traces(files) == []
    assert files.has(_digest(SHARED))


# On PostgreSQL the erasure commits while the other transaction is open; MariaDB and
# SQLite make it wait for that transaction's locks, and the check after the commit then
# sees the new reference.
@pytest.mark.parametrize("kind", ["postgresql"])
def test_content_another_transaction_keeps_while_it_is_erased_survives(
    store: Store, files: FileBlobStore
) -> None:
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    _age(files)
    scan = files.path(_digest(SCAN))
    failures: list[BaseException] = []

    def erase() -> None:
        try:
            desk.erase(theirs, by="dpo")
        except BaseException as failure:  # reported by the test thread
            failures.append(failure)

    with store.transaction() as work:
        work.insert_issue(simple_issue("ISS-2026-09999"), wake_at=None)
        # The same bytes kept again: put touches the file.
        work.append_entry("ISS-2026-09999", _scan_filed_again())
        # The erasure commits while this transaction, not yet committed, references the scan.
        eraser = threading.Thread(target=erase)
        eraser.start()
        eraser.join(timeout=60)
        assert not eraser.is_alive(), "the erasure waited for the other transaction"
        assert failures == []
        assert scan.exists()
        work.commit()
    assert desk.thread(theirs)[0].attachments == ()
    assert desk.thread("ISS-2026-09999")[0].attachments[0].data == SCAN
    _age(files)
    assert _digest(SCAN) not in files.sweep(_referenced(store), older_than=timedelta(minutes=1))


def _scan_filed_again() -> ThreadEntry:
    return ThreadEntry(
        kind=EntryKind.AGENT_REPLY,
        author="ben",
        text="The same scan, filed again.",
        at=START,
        attachments=(Attachment(filename="p.pdf", content_type="application/pdf", data=SCAN),),
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_content_referenced_again_between_the_commit_and_the_discard_survives(
    store: Store, files: FileBlobStore, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    files.grace = timedelta(0)  # only the check after the commit protects the scan now
    adapter = sqlite if kind == "sqlite" else sql
    discard = adapter.discard_released
    staged: list[str] = []

    def another_commit_first(
        blobs: BlobStore | None, released: Collection[str], referenced: Callable[[], Any]
    ) -> list[str]:
        if not staged:
            staged.append("ISS-2026-09999")
            with _another_writer(store, files) as other, other.transaction() as work:
                work.insert_issue(simple_issue(staged[0]), wake_at=None)
                work.append_entry(staged[0], _scan_filed_again())
                work.commit()
        return discard(blobs, released, referenced)

    monkeypatch.setattr(adapter, "discard_released", another_commit_first)
    desk.erase(theirs, by="dpo")

    assert staged == ["ISS-2026-09999"]
    assert desk.thread(theirs)[0].attachments == ()
    assert desk.thread(staged[0])[0].attachments[0].data == SCAN
    assert b"xylophone" not in b"".join(path.read_bytes() for path in _blob_files(files))


def _another_writer(store: Store, files: FileBlobStore) -> AbstractContextManager[Store]:
    """Return a store writing the same data beside ``store`` (SQLite locks per instance)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, blobs=files)
    return nullcontext(store)


def test_many_released_blobs_are_checked_and_discarded_in_batches(
    store: Store, files: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)  # durability is not tested here
    files.grace = timedelta(0)
    pieces = [f"attachment {n}".encode() for n in range(650)]
    many, other = simple_issue("ISS-2026-00001"), simple_issue("ISS-2026-00002")
    shared = [pieces[0], pieces[400], pieces[649]]  # in the first, a middle and the last batch
    with store.transaction() as work:
        work.insert_issue(many, wake_at=None)
        work.insert_issue(other, wake_at=None)
        work.append_entry(many.number, _with_files(pieces))
        work.append_entry(other.number, _with_files(shared))
        work.commit()
    with store.transaction() as work:
        work.remove_issue(many.number)
        work.commit()
    assert sorted(path.name for path in _blob_files(files)) == sorted(map(_digest, shared))


def test_a_long_entry_kept_as_a_blob_by_another_issue_survives_an_erasure(
    store: Store, files: FileBlobStore
) -> None:
    files.grace = timedelta(0)
    pasted = "a pasted log line that another issue has too\n" * 8000  # kept as a blob
    desk = _desk(store)
    theirs, _ = _scenario(desk)
    other = desk.open_issue(subject="Logs", raised_by="bob@other.test", body="See below.")
    for number in (theirs, other.number):
        desk.add_note(number, body=pasted, author="ben")
    desk.erase(theirs, by="dpo")
    assert desk.thread(other.number)[-1].text == pasted
    assert [entry.text for entry in desk.thread(theirs)][-1] == "[erased]"
    assert _traces(files) == []


def _with_files(contents: list[bytes]) -> ThreadEntry:
    return ThreadEntry(
        kind=EntryKind.AGENT_REPLY,
        author="ben",
        text="Files.",
        at=START,
        attachments=tuple(
            Attachment(filename=f"{n}.txt", content_type="text/plain", data=data)
            for n, data in enumerate(contents)
        ),
    )


class _PlainBlobs:
    """An adopter's blob store written before blob stores could discard."""

    def __init__(self, files: FileBlobStore) -> None:
        self._files = files
        self.put = files.put
        self.get = files.get
        self.chunks = files.chunks
        self.has = files.has


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_blob_store_without_discard_keeps_its_files_for_its_owner(
    store_kind: str, tmp_path: Path, files: FileBlobStore
) -> None:
    plain: BlobStore = _PlainBlobs(files)
    with fresh_store(store_kind, tmp_path, blobs=plain) as store:
        desk = _desk(store)
        theirs, _ = _scenario(desk)
        _age(files)
        desk.erase(theirs, by="dpo")
        assert desk.thread(theirs)[0].attachments == ()
        assert _traces(files) == [PERSON.encode(), b"xylophone", SCAN]
