"""Blobs: content kept once by digest, in 1 MiB rows of the database or in files.

The database tests run against the servers at their default settings: on
MariaDB a statement may not exceed ``max_allowed_packet`` (16 MiB), so any
content larger than that stored in one row or one statement fails here.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from issuecore import DeskSettings, HelpDesk
from issuecore._model import Attachment
from issuecore.adapters.blobs import CHUNK_SIZE, FileBlobStore
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import BlobNotFoundError
from issuecore.mail._parse import DEFAULT_MAX_BYTES
from issuecore.ports import BlobStore, Store
from issuecore.testing import FakeClock, RecordingMailer
from issuecore.testing.contracts import (
    T0,
    escaped_content,
    large_content,
    populated_entry,
    simple_issue,
)

SERVERS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}
DATABASES = ["sqlite", *sorted(SERVERS)]
SIXTEEN_MIB = 16 * 1024 * 1024

StoreFactory = Callable[..., Store]


def _server_url(kind: str) -> str:
    variable, what = SERVERS[kind]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    return url


@pytest.fixture
def make_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Open stores of the kind the test is parametrized with; they are closed (and dropped)."""
    kind = request.param
    opened: list[Store] = []

    def make(**options: object) -> Store:
        store: Store
        if kind == "memory":
            store = InMemoryStore(**options)  # type: ignore[arg-type]
        elif kind == "sqlite":
            store = SQLiteStore(tmp_path / f"desk{len(opened)}.db", **options)  # type: ignore[arg-type]
        else:
            prefix = f"b{uuid.uuid4().hex[:10]}_"
            store = SqlStore(_server_url(kind), table_prefix=prefix, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield make
    for store in opened:
        if isinstance(store, SqlStore):
            store.drop_tables()
        if isinstance(store, SQLiteStore | SqlStore):
            store.close()


def _blob_rows(store: Store) -> tuple[int, int]:
    """Return how many rows the store's ``blobs`` and ``blob_chunks`` tables hold."""
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as connection:
            blobs = connection.execute("SELECT count(*) FROM blobs").fetchone()[0]
            chunks = connection.execute("SELECT count(*) FROM blob_chunks").fetchone()[0]
            return int(blobs), int(chunks)
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        prefix = store.table_prefix
        blobs = connection.execute(sa.text(f"SELECT count(*) FROM {prefix}blobs")).scalar_one()
        chunks = connection.execute(
            sa.text(f"SELECT count(*) FROM {prefix}blob_chunks")
        ).scalar_one()
        return int(blobs), int(chunks)


def _largest_chunk(store: Store) -> int:
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as connection:
            return int(
                connection.execute("SELECT max(length(data)) FROM blob_chunks").fetchone()[0]
            )
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        query = sa.text(f"SELECT max(length(data)) FROM {store.table_prefix}blob_chunks")
        return int(connection.execute(query).scalar_one())


def _file(data: bytes, name: str = "large.bin") -> Attachment:
    return Attachment(filename=name, content_type="application/octet-stream", data=data)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the database blob tables ------------------------------------------------------


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_a_rolled_back_transaction_leaves_no_blob_rows(make_store: StoreFactory) -> None:
    store = make_store()
    issue = simple_issue("ISS-2026-00001")
    data = large_content(3 * CHUNK_SIZE, seed=1)
    with store.transaction() as work:
        work.insert_issue(issue, wake_at=None)
        work.commit()
    with store.transaction() as work:
        work.append_entry(issue.number, attrs.evolve(populated_entry(), attachments=(_file(data),)))
        work.keep_message("<rolled-back@example.com>", data + b"!")
        # Written in this transaction, seen by no other.
        assert work.blobs.has(_digest(data))  # type: ignore[attr-defined]
        if not isinstance(store, InMemoryStore):
            assert _blob_rows(store) == (0, 0)
    if not isinstance(store, InMemoryStore):
        assert _blob_rows(store) == (0, 0)
    with store.transaction(read_only=True) as work:
        assert not work.blobs.has(_digest(data))  # type: ignore[attr-defined]
        assert not work.blobs.has(_digest(data + b"!"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("make_store", DATABASES, indirect=True)
def test_identical_content_is_stored_once(make_store: StoreFactory) -> None:
    store = make_store()
    issue = simple_issue("ISS-2026-00001")
    data = large_content(3 * CHUNK_SIZE + 5, seed=2)
    with store.transaction() as work:
        work.insert_issue(issue, wake_at=None)
        for text in ("one", "two"):
            work.append_entry(
                issue.number, attrs.evolve(populated_entry(text=text), attachments=(_file(data),))
            )
        work.keep_message("<same@example.com>", data)
        work.commit()
    with store.transaction() as work:
        work.keep_message("<same-again@example.com>", data)
        work.commit()
    # One blob of four chunks, the last one five bytes long.
    assert _blob_rows(store) == (1, 4)
    with store.transaction(read_only=True) as work:
        assert work.referenced_blobs() == {_digest(data)}  # type: ignore[attr-defined]


@pytest.mark.parametrize("make_store", DATABASES, indirect=True)
def test_no_blob_row_is_larger_than_one_chunk(make_store: StoreFactory) -> None:
    store = make_store()
    with store.transaction() as work:
        work.keep_message("<big@example.com>", large_content(20_000_000, seed=20))
        work.commit()
    assert _largest_chunk(store) == CHUNK_SIZE
    assert _blob_rows(store) == (1, 20)


@pytest.mark.parametrize("make_store", DATABASES, indirect=True)
def test_a_long_entry_document_is_kept_as_a_blob_not_in_its_row(make_store: StoreFactory) -> None:
    store = make_store()
    issue = simple_issue("ISS-2026-00001")
    text = "a pasted log line\n" * 200_000
    with store.transaction() as work:
        work.insert_issue(issue, wake_at=None)
        work.append_entry(issue.number, attrs.evolve(populated_entry(), text=text, new_text=None))
        work.append_entry(issue.number, populated_entry(text="short"))
        work.commit()
    with store.transaction(read_only=True) as work:
        assert [entry.text for entry in work.thread(issue.number)] == [text, "short"]
        in_use = work.referenced_blobs()  # type: ignore[attr-defined]
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as connection:
            lengths = [
                n for (n,) in connection.execute("SELECT length(document) FROM thread_entries")
            ]
    else:
        assert isinstance(store, SqlStore)
        with store.engine.connect() as connection:
            query = sa.text(f"SELECT length(document) FROM {store.table_prefix}thread_entries")
            lengths = list(connection.execute(query).scalars())
    assert max(lengths) < 2_000
    # The document's blob and the populated entry's attachment file.
    assert len(in_use) == 3


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_a_50_mib_blob_round_trips_through_the_blob_port(make_store: StoreFactory) -> None:
    store = make_store()
    data = large_content(DEFAULT_MAX_BYTES, seed=50)
    with store.transaction() as work:
        blobs: BlobStore = work.blobs  # type: ignore[attr-defined]
        digest = blobs.put(data)
        work.commit()
    assert digest == _digest(data)
    with store.transaction(read_only=True) as work:
        blobs = work.blobs  # type: ignore[attr-defined]
        assert blobs.has(digest)
        assert blobs.get(digest) == data
        pieces = list(blobs.chunks(digest))
    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) <= CHUNK_SIZE


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_content_given_in_pieces_is_kept_under_the_digest_of_the_whole(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    data = large_content(2 * CHUNK_SIZE + 3, seed=4)
    odd_pieces = (data[start : start + 777_777] for start in range(0, len(data), 777_777))
    with store.transaction() as work:
        blobs: BlobStore = work.blobs  # type: ignore[attr-defined]
        assert blobs.put(odd_pieces) == _digest(data)
        assert blobs.put(data) == _digest(data)
        assert blobs.put(b"") == _digest(b"")
        work.commit()
    with store.transaction(read_only=True) as work:
        assert work.blobs.get(_digest(data)) == data  # type: ignore[attr-defined]
        assert work.blobs.get(_digest(b"")) == b""  # type: ignore[attr-defined]


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_every_blob_store_refuses_the_same_things(make_store: StoreFactory) -> None:
    store = make_store()
    unknown = _digest(b"never kept")
    with store.transaction() as work:
        blobs: BlobStore = work.blobs  # type: ignore[attr-defined]
        with pytest.raises(BlobNotFoundError, match=unknown):
            blobs.get(unknown)
        with pytest.raises(BlobNotFoundError):
            blobs.chunks(unknown)
        with pytest.raises(ValueError, match="64 lower-case hex digits"):
            blobs.get(unknown.upper())
        with pytest.raises(ValueError, match="64 lower-case hex digits"):
            blobs.has("../../etc/passwd")
        with pytest.raises(TypeError, match="not str"):
            blobs.put("text")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="chunks must be bytes"):
            blobs.put([b"ok", "text"])  # type: ignore[list-item]
        assert not blobs.has(unknown)
    with (
        store.transaction(read_only=True) as work,
        pytest.raises(RuntimeError, match="read_only"),
    ):
        work.blobs.put(b"x")  # type: ignore[attr-defined]


# --- MariaDB at its default settings --------------------------------------------


@pytest.fixture
def mariadb_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(_server_url("mariadb"))
    yield engine
    engine.dispose()


def test_the_mariadb_server_runs_at_its_default_packet_limit(mariadb_engine: sa.Engine) -> None:
    with mariadb_engine.connect() as connection:
        limit = connection.execute(sa.text("SELECT @@max_allowed_packet")).scalar_one()
    # The large-content tests prove something only while this limit stands.
    assert int(limit) <= SIXTEEN_MIB


def test_mariadb_refuses_a_statement_larger_than_its_packet_limit(
    mariadb_engine: sa.Engine,
) -> None:
    with mariadb_engine.connect() as connection, pytest.raises(sa.exc.OperationalError):
        connection.execute(
            sa.text("SELECT LENGTH(:data)"), {"data": large_content(SIXTEEN_MIB + 1, seed=16)}
        )


# --- the desk, end to end ---------------------------------------------------------


def _desk(store: Store) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(T0),
        settings=DeskSettings("help@desk.example"),
    )


def _mail_with_attachment(data: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "ana@customer.example"
    message["To"] = "help@desk.example"
    message["Subject"] = "The scan"
    message["Message-ID"] = "<scan@customer.example>"
    message.set_content("The scan is attached.")
    message.add_attachment(data, maintype="application", subtype="pdf", filename="scan.pdf")
    return message.as_bytes()


@pytest.fixture(scope="module")
def seventy_mb_mail() -> bytes:
    return _mail_with_attachment(large_content(52_000_000, seed=52))


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_a_mail_with_an_8_mb_attachment_opens_an_issue_with_the_file_intact(
    make_store: StoreFactory,
) -> None:
    desk = _desk(make_store())
    data = escaped_content(8 * 1024 * 1024)
    outcome = desk.receive(_mail_with_attachment(data))
    assert (outcome.kind, outcome.issue_number) == ("created", "ISS-2026-00001")
    (entry,) = desk.thread("ISS-2026-00001")
    assert [(file.filename, file.data) for file in entry.attachments] == [("scan.pdf", data)]


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_a_70_mb_mail_is_quarantined_and_its_bytes_kept_intact(
    make_store: StoreFactory, seventy_mb_mail: bytes
) -> None:
    desk = _desk(make_store())
    raw = seventy_mb_mail
    assert len(raw) > 70_000_000 > DEFAULT_MAX_BYTES
    outcome = desk.receive(raw)
    assert outcome.kind == "quarantined"
    assert "exceeds the limit" in outcome.reason
    assert desk.kept_message(outcome.message_id) == raw
    # Intake goes on with the next message.
    assert desk.receive(_mail_with_attachment(b"small")).kind == "created"


# --- the file blob store ----------------------------------------------------------


def test_a_file_blob_round_trips_and_is_named_by_its_digest(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    data = large_content(3 * CHUNK_SIZE + 1, seed=5)
    digest = blobs.put(data)
    assert digest == _digest(data)
    assert blobs.path(digest) == tmp_path / "blobs" / digest[:2] / digest
    assert blobs.path(digest).read_bytes() == data
    assert blobs.get(digest) == data
    assert b"".join(blobs.chunks(digest)) == data
    assert blobs.put(iter([data[:10], data[10:]])) == digest
    assert blobs.has(digest)
    assert sorted(path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()) == [
        digest
    ]


def test_file_blobs_refuse_what_the_database_blobs_refuse(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path)
    unknown = _digest(b"never kept")
    with pytest.raises(BlobNotFoundError):
        blobs.get(unknown)
    with pytest.raises(BlobNotFoundError):
        blobs.chunks(unknown)
    with pytest.raises(ValueError, match="64 lower-case hex digits"):
        blobs.get("../" + unknown[3:])
    with pytest.raises(TypeError, match="not str"):
        blobs.put("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="chunks must be bytes"):
        blobs.put([b"ok", "text"])  # type: ignore[list-item]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_file_blob_written_halfway_leaves_no_file(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path)

    def interrupted() -> Iterator[bytes]:
        yield b"x" * CHUNK_SIZE
        raise OSError("the disk is full")

    with pytest.raises(OSError, match="disk is full"):
        blobs.put(interrupted())
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_a_file_blob_appears_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = FileBlobStore(tmp_path)
    data = large_content(2 * CHUNK_SIZE, seed=6)
    seen: list[tuple[bytes, bool]] = []
    rename = os.replace

    def crash_before_rename(source: str, target: str) -> None:
        # The content is complete and on disk before it gets its name.
        seen.append((Path(source).read_bytes(), Path(target).exists()))
        raise KeyboardInterrupt("the process was stopped")

    monkeypatch.setattr(os, "replace", crash_before_rename)
    with pytest.raises(KeyboardInterrupt):
        blobs.put(data)
    assert seen == [(data, False)]
    assert not blobs.has(_digest(data))
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
    monkeypatch.setattr(os, "replace", rename)
    assert blobs.get(blobs.put(data)) == data


def test_a_sweep_removes_old_unreferenced_files_only(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path)
    kept, orphan, young = (blobs.put(f"content {n}".encode()) for n in range(3))
    leftover = tmp_path / "tmp" / "blob-left-by-a-crash"
    leftover.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    for path in (blobs.path(kept), blobs.path(orphan), leftover):
        os.utime(path, (an_hour_ago, an_hour_ago))
    removed = blobs.sweep({kept}, older_than=timedelta(minutes=30))
    assert removed == [orphan]
    assert [blobs.has(kept), blobs.has(young), blobs.has(orphan)] == [True, True, False]
    assert not leftover.exists()


def test_keeping_content_again_renews_its_file_so_a_sweep_spares_it(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path)
    digest = blobs.put(b"an old orphan")
    an_hour_ago = time.time() - 3600
    os.utime(blobs.path(digest), (an_hour_ago, an_hour_ago))
    # A transaction about to reference the same content again.
    assert blobs.put(b"an old orphan") == digest
    assert blobs.sweep(set(), older_than=timedelta(minutes=30)) == []
    assert blobs.has(digest)


@pytest.mark.parametrize("make_store", ["memory", *DATABASES], indirect=True)
def test_a_store_given_file_blobs_keeps_content_in_files(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    files = FileBlobStore(tmp_path / "blobs")
    store = make_store(blobs=files)
    issue = simple_issue("ISS-2026-00001")
    committed, rolled_back = large_content(CHUNK_SIZE + 1, seed=7), b"rolled back"
    long_text = "a pasted log line\n" * 100_000
    with store.transaction() as work:
        work.insert_issue(issue, wake_at=None)
        work.append_entry(
            issue.number,
            attrs.evolve(populated_entry(text=long_text), attachments=(_file(committed),)),
        )
        work.commit()
    with store.transaction() as work:
        work.keep_message("<gone@example.com>", rolled_back)
    assert files.has(_digest(rolled_back))  # written before the commit that never came
    with store.transaction(read_only=True) as work:
        (entry,) = work.thread(issue.number)
        in_use = work.referenced_blobs()  # type: ignore[attr-defined]
    assert (entry.text, entry.attachments[0].data) == (long_text, committed)
    # The attachment, and on the databases the long entry's document.
    assert _digest(committed) in in_use
    assert len(in_use) == (1 if isinstance(store, InMemoryStore) else 2)
    if not isinstance(store, InMemoryStore):
        assert _blob_rows(store) == (0, 0)
    assert files.sweep(in_use, older_than=timedelta(0)) == [_digest(rolled_back)]
    with store.transaction(read_only=True) as work:
        assert work.thread(issue.number) == [entry]
