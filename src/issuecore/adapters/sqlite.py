"""The embedded :class:`~issuecore.ports.Store`: one SQLite file, standard-library ``sqlite3``.

The file runs in WAL mode (readers never wait for the writer), with foreign
keys on and a busy timeout. Write transactions start with ``BEGIN IMMEDIATE``
so two processes never both read, then both try to write; one waits for the
other instead. Read-only transactions start deferred and run beside a
writer.

The schema is versioned: :data:`MIGRATIONS` is an ordered list, the table
``schema_version`` records which ones ran, and opening a store applies the
missing ones inside one write transaction, so two processes opening a new
file at once apply each migration exactly once.

Attachments and kept messages live in blobs (:mod:`issuecore.adapters.blobs`):
by default in the ``blobs`` and ``blob_chunks`` tables of the same file,
written in the same transaction as the rows that reference them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self

from issuecore._accounts import account_key, check_account, check_attempt
from issuecore._codec import (
    entry_document,
    entry_from_document,
    from_micros,
    issue_document,
    issue_from_document,
    refuse_unstorable_entry,
    to_micros,
)
from issuecore._evolve import evolve
from issuecore._instants import optional_aware, require_aware
from issuecore._marks import NO_DEADLINE, IssueMarks, detail_keys, details_of, searchable
from issuecore._model import Issue, ThreadEntry
from issuecore._queries import IssuePage, IssueQuery, encode_cursor
from issuecore._text import refuse_unstorable, refuse_unstorable_document
from issuecore.adapters._outbox import new_outbox_items
from issuecore.adapters._query import Tables, page_statement
from issuecore.adapters.blobs import (
    DOCUMENT_BLOB,
    BlobContent,
    FallbackBlobStore,
    check_digest,
    discard_released,
    joined,
    load_document,
    store_document,
)
from issuecore.errors import (
    BlobNotFoundError,
    ConcurrencyConflictError,
    DuplicateMessageError,
    IssueNotFoundError,
    SchemaVersionError,
)
from issuecore.mail._addresses import address_key
from issuecore.ports import AgentAccount, BlobStore, MessageRecord, OutboxItem

__all__ = ["MIGRATIONS", "SQLiteBlobStore", "SQLiteStore", "SQLiteUnitOfWork"]


def _move_content_into_blobs(connection: sqlite3.Connection) -> None:
    # Attachments and kept messages reference blobs by digest instead of holding bytes.
    blobs = SQLiteBlobStore(connection)
    connection.execute(
        """CREATE TABLE attachments_by_digest (
            entry_id INTEGER NOT NULL REFERENCES thread_entries (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            document TEXT NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (entry_id, position)
        )"""
    )
    for entry_id, position in connection.execute(
        "SELECT entry_id, position FROM attachments ORDER BY entry_id, position"
    ).fetchall():
        document, data = connection.execute(
            "SELECT document, data FROM attachments WHERE entry_id = ? AND position = ?",
            (entry_id, position),
        ).fetchone()
        connection.execute(
            "INSERT INTO attachments_by_digest (entry_id, position, document, content) "
            "VALUES (?, ?, ?, ?)",
            (entry_id, position, document, blobs.put(data)),
        )
    connection.execute("DROP TABLE attachments")
    connection.execute("ALTER TABLE attachments_by_digest RENAME TO attachments")
    connection.execute(
        """CREATE TABLE kept_messages_by_digest (
            message_id TEXT PRIMARY KEY,
            content TEXT NOT NULL
        )"""
    )
    for (message_id,) in connection.execute(
        "SELECT message_id FROM kept_messages ORDER BY message_id"
    ).fetchall():
        (raw,) = connection.execute(
            "SELECT raw FROM kept_messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        connection.execute(
            "INSERT INTO kept_messages_by_digest (message_id, content) VALUES (?, ?)",
            (message_id, blobs.put(raw)),
        )
    connection.execute("DROP TABLE kept_messages")
    connection.execute("ALTER TABLE kept_messages_by_digest RENAME TO kept_messages")


def _fill_query_columns(connection: sqlite3.Connection) -> None:
    # The issues stored before: their query columns and their subjects and messages in
    # the text index (messages kept in blobs are left out; at-risk comes with the next change).
    for number, document, version in connection.execute(
        "SELECT number, document, version FROM issues"
    ).fetchall():
        issue = issue_from_document(document, version=version)
        connection.execute(
            "UPDATE issues SET priority = :priority, agreement = :agreement, "
            "sla_state = :sla_state, next_deadline = :next_deadline, at_risk_at = :at_risk_at, "
            "deadline_key = :deadline_key WHERE number = :number",
            {**_mark_columns(IssueMarks.of(issue)), "number": number},
        )
        connection.execute(
            "INSERT INTO search_text (body, number) VALUES (?, ?)",
            (searchable(issue.subject), number),
        )
    for number, document in connection.execute(
        "SELECT number, document FROM thread_entries ORDER BY id"
    ).fetchall():
        if document.startswith(DOCUMENT_BLOB):
            continue
        entry = entry_from_document(document, ())
        connection.execute(
            "INSERT INTO search_text (body, number) VALUES (?, ?)",
            (searchable(entry.display_text), number),
        )


def _fill_details(connection: sqlite3.Connection) -> None:
    # Issues stored before version 7 may be read by a newer document format already.
    for number, document, version in connection.execute(
        "SELECT number, document, version FROM issues"
    ).fetchall():
        issue = issue_from_document(document, version=version)
        connection.executemany(
            "INSERT OR IGNORE INTO issue_details (detail, number) VALUES (?, ?)",
            [(key, number) for key in detail_keys(issue)],
        )


def _mark_columns(marks: IssueMarks) -> dict[str, Any]:
    return {
        "priority": marks.priority,
        "agreement": marks.agreement,
        "sla_state": marks.sla_state,
        "next_deadline": marks.next_deadline,
        "at_risk_at": marks.at_risk_at,
        "deadline_key": marks.deadline_key,
    }


Migration = Sequence[str | Callable[[sqlite3.Connection], None]]
"""One schema change: SQL statements, and functions given the connection for data moves."""

MIGRATIONS: Final[Sequence[Migration]] = (
    # 1: issues as JSON documents beside the columns queries need.
    (
        """CREATE TABLE issues (
            number TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            raised_by TEXT NOT NULL,
            version INTEGER NOT NULL,
            wake_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            document TEXT NOT NULL
        )""",
        "CREATE INDEX issues_wake_at ON issues (wake_at, number) WHERE wake_at IS NOT NULL",
        "CREATE INDEX issues_status ON issues (status, created_at, number)",
        "CREATE INDEX issues_raised_by ON issues (raised_by, created_at, number)",
        "CREATE INDEX issues_created_at ON issues (created_at, number)",
        """CREATE TABLE issue_assignees (
            assignee TEXT NOT NULL,
            number TEXT NOT NULL REFERENCES issues (number) ON DELETE CASCADE,
            PRIMARY KEY (assignee, number)
        ) WITHOUT ROWID""",
        "CREATE INDEX issue_assignees_number ON issue_assignees (number)",
        """CREATE TABLE issue_sequences (
            year INTEGER PRIMARY KEY,
            last_value INTEGER NOT NULL
        )""",
        """CREATE TABLE thread_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            number TEXT NOT NULL REFERENCES issues (number) ON DELETE CASCADE,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            message_id TEXT,
            document TEXT NOT NULL
        )""",
        "CREATE INDEX thread_entries_number ON thread_entries (number, id)",
        """CREATE TABLE attachments (
            entry_id INTEGER NOT NULL REFERENCES thread_entries (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            document TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (entry_id, position)
        )""",
        """CREATE TABLE message_ids (
            message_id TEXT PRIMARY KEY,
            number TEXT,
            outcome TEXT NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            number TEXT,
            message_id TEXT NOT NULL,
            message BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER,
            sent_at INTEGER,
            last_error TEXT
        )""",
        "CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) "
        "WHERE next_attempt_at IS NOT NULL",
        """CREATE TABLE auto_replies (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            address TEXT NOT NULL,
            at INTEGER NOT NULL
        )""",
        "CREATE INDEX auto_replies_address ON auto_replies (address, at)",
    ),
    # 2: the raw bytes of messages that went to no issue, so nothing is lost.
    (
        """CREATE TABLE kept_messages (
            message_id TEXT PRIMARY KEY,
            raw BLOB NOT NULL
        )""",
    ),
    # 3: content in blobs of 1 MiB rows, kept once per digest; the existing bytes move there.
    (
        """CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE blob_chunks (
            digest TEXT NOT NULL REFERENCES blobs (digest),
            seq INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (digest, seq)
        )""",
        _move_content_into_blobs,
    ),
    # 4: what each recorded message held, to tell a re-delivery from a reused Message-ID.
    ("ALTER TABLE message_ids ADD COLUMN fingerprint TEXT",),
    # 5: one outbox for every effect (mail, events, to-dos, notices), claimed with a lease;
    # the mail of the old outbox moves over, pending rows still pending.
    (
        """CREATE TABLE effects (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            number TEXT,
            message_id TEXT,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER,
            claimed_by TEXT,
            lease_until INTEGER,
            done_at INTEGER,
            dead_at INTEGER,
            last_error TEXT
        )""",
        "CREATE INDEX effects_pending ON effects (next_attempt_at, seq) "
        "WHERE next_attempt_at IS NOT NULL",
        "CREATE INDEX effects_done ON effects (done_at) WHERE done_at IS NOT NULL",
        "CREATE INDEX effects_dead ON effects (dead_at, seq) WHERE dead_at IS NOT NULL",
        """INSERT INTO effects (id, kind, number, message_id, payload, created_at, attempts,
            next_attempt_at, done_at, dead_at, last_error)
            SELECT 'outbox-' || id, 'mail', number, message_id, message, created_at, attempts,
                next_attempt_at, sent_at,
                CASE WHEN next_attempt_at IS NULL AND sent_at IS NULL THEN created_at END,
                last_error
            FROM outbox ORDER BY id""",
        "DROP TABLE outbox",
    ),
    # 6: the columns and indexes of find, and the text index of search (FTS5).
    (
        "ALTER TABLE issues ADD COLUMN priority TEXT",
        "ALTER TABLE issues ADD COLUMN agreement TEXT",
        "ALTER TABLE issues ADD COLUMN sla_state TEXT",
        "ALTER TABLE issues ADD COLUMN next_deadline INTEGER",
        "ALTER TABLE issues ADD COLUMN at_risk_at INTEGER",
        f"ALTER TABLE issues ADD COLUMN deadline_key INTEGER NOT NULL DEFAULT {NO_DEADLINE}",
        "CREATE INDEX issues_status_deadline ON issues (status, deadline_key, number)",
        "CREATE INDEX issues_status_updated ON issues (status, updated_at, number)",
        "CREATE INDEX issues_deadline ON issues (deadline_key, number)",
        "CREATE INDEX issues_updated_at ON issues (updated_at, number)",
        "CREATE VIRTUAL TABLE search_text USING fts5("
        "body, number UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')",
        _fill_query_columns,
    ),
    # 7: an issue's type, references and custom fields, one key per value, for find.
    (
        """CREATE TABLE issue_details (
            detail TEXT NOT NULL,
            number TEXT NOT NULL REFERENCES issues (number) ON DELETE CASCADE,
            PRIMARY KEY (detail, number)
        )""",
        "CREATE INDEX issue_details_number ON issue_details (number)",
        _fill_details,
    ),
    # 8: the console's agent accounts, and the attempts its limits count in every process.
    (
        """CREATE TABLE agent_accounts (
            address TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            changed_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            scope TEXT NOT NULL,
            attempt_key TEXT NOT NULL,
            at INTEGER NOT NULL
        )""",
        "CREATE INDEX attempts_key ON attempts (scope, attempt_key, at)",
        "CREATE INDEX attempts_at ON attempts (scope, at)",
    ),
)
"""The schema changes in order; entry ``i`` takes the file from version ``i`` to ``i + 1``."""

_DIGESTS_PER_QUERY: Final = 300  # three lists of them stay under SQLite's 999 parameters
_IMMUTABLE: Final = (str, int, float, bool, type(None))
_IDS_PER_STATEMENT: Final = 900  # with the instant, under SQLite's 999 parameters

_TABLES: Final = Tables(
    issues="issues", assignees="issue_assignees", search="search_text", details="issue_details"
)

# WAL mode writes each commit to the log in order: a durable commit takes every commit
# before it to the disk too, so a power cut can only lose the latest non-durable ones.
_DURABLE: Final = "PRAGMA synchronous = FULL"
_NOT_DURABLE: Final = "PRAGMA synchronous = NORMAL"

_EFFECT_COLUMNS: Final = (
    "id, kind, number, message_id, payload, created_at, attempts, next_attempt_at, "
    "claimed_by, lease_until, done_at, dead_at, last_error"
)


class SQLiteStore:
    """A :class:`~issuecore.ports.Store` in the SQLite file at ``path``, created if missing.

    Opening applies any missing schema migrations. Close the store with
    :meth:`close` (or use it as a context manager) to close its connections.
    Attachments and kept messages go to ``blobs`` when given (a
    :class:`~issuecore.adapters.blobs.FileBlobStore`), else to the file's own
    blob tables. Content a committed transaction stopped referencing leaves
    ``blobs`` after the commit, if it can ``discard``
    (:class:`~issuecore.ports.DiscardingBlobStore`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: timedelta = timedelta(seconds=30),
        blobs: BlobStore | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.blobs = blobs
        if self.path == ":memory:" or self.path.startswith("file::memory:"):
            raise ValueError(
                "SQLiteStore needs a file that every connection shares; "
                "for a store in memory use issuecore.adapters.memory.InMemoryStore"
            )
        self._busy_timeout_ms = int(busy_timeout / timedelta(milliseconds=1))
        self._idle: list[sqlite3.Connection] = []
        # The synchronous setting each connection has now, so it is set only on a change.
        self._synchronous: dict[sqlite3.Connection, str] = {}
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.schema_version = self._migrate()
        except BaseException:
            self.close()  # a refused file leaves no connection open
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._synchronous.clear()
        for connection in idle:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("PRAGMA foreign_keys = ON")
            # Every commit reaches the disk before it returns: a committed intake
            # survives a power cut, not only a crash of the process.
            connection.execute(_DURABLE)
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                mode = self._enable_wal(connection)
            if mode != "wal":
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode (it is in {mode} mode)")
        except BaseException:
            connection.close()
            raise
        return connection

    def _enable_wal(self, connection: sqlite3.Connection) -> str:
        # Switching a new file to WAL needs it to itself for a moment, and SQLite
        # answers "locked" at once, without its busy handler, when another
        # process is doing the same; so wait here, up to the busy timeout.
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        pause = 0.005
        while True:
            try:
                return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the SQLiteStore of {self.path} is closed")
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._connect()
        try:
            yield connection
        finally:
            healthy = not connection.in_transaction
            with self._lock:
                if healthy and not self._closed:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                with self._lock:
                    self._synchronous.pop(connection, None)
                connection.close()

    def _commit_durably(self, connection: sqlite3.Connection, durable: bool) -> None:
        """Make the commits of ``connection`` wait for the disk, or not; set only on a change."""
        wanted = _DURABLE if durable else _NOT_DURABLE
        if self._synchronous.get(connection, _DURABLE) != wanted:  # a new one is durable
            connection.execute(wanted)
            with self._lock:
                self._synchronous[connection] = wanted

    def _migrate(self) -> int:
        known = len(MIGRATIONS)
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                found = connection.execute(
                    "SELECT coalesce(max(version), 0) FROM schema_version"
                ).fetchone()[0]
                if found > known:
                    raise SchemaVersionError.too_new(found=found, known=known)
                for version in range(found + 1, known + 1):
                    for statement in MIGRATIONS[version - 1]:
                        if isinstance(statement, str):
                            connection.execute(statement)
                        else:
                            statement(connection)
                    connection.execute(
                        "INSERT INTO schema_version (version, applied_at) "
                        "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                        (version,),
                    )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return known

    @contextmanager
    def transaction(
        self, *, read_only: bool = False, durable: bool = True
    ) -> Iterator[SQLiteUnitOfWork]:
        """Yield a unit of work; it rolls back unless :meth:`SQLiteUnitOfWork.commit` is called.

        A commit returns once the file reached the disk, unless ``durable`` is
        false: then a crash of the process still keeps it, but a power cut
        before the next durable commit may lose it. That suits a change whose
        loss only repeats work, such as marking outbox rows delivered (a lost
        mark delivers the row again, as a crash before the mark would).
        """
        with self._connection() as connection:
            if not read_only:
                # Checked for each transaction: a connection is reused by the next one.
                self._commit_durably(connection, durable)
            connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
            work = SQLiteUnitOfWork(connection, read_only=read_only, blobs=self.blobs)
            try:
                yield work
            finally:
                work.finish()

    def mark_delivered(self, item_ids: Sequence[str], *, at: datetime) -> int:
        """Mark the outbox rows ``item_ids`` delivered at ``at``, committed not durably.

        What ``work.outbox.complete_all`` does in a ``transaction(durable=False)``
        of its own; returns how many were not done before. Up to
        ``_IDS_PER_STATEMENT`` rows (the usual case: one) are marked by one
        ``UPDATE`` that is a transaction by itself, without ``BEGIN`` and
        ``COMMIT``. An id not stored raises :class:`LookupError`; the others
        of that ``UPDATE`` stay marked.
        """
        wanted = list(dict.fromkeys(item_ids))
        if not wanted:
            return 0
        if len(wanted) > _IDS_PER_STATEMENT:
            with self.transaction(durable=False) as work:
                changed = work.outbox.complete_all(wanted, at=at)
                work.commit()
            return changed
        with self._connection() as connection:
            self._commit_durably(connection, durable=False)
            # Outside a transaction each statement commits on its own.
            work = SQLiteUnitOfWork(connection, read_only=False, blobs=self.blobs)
            try:
                return work.outbox.complete_all(wanted, at=at)
            finally:
                work.finish()


class SQLiteUnitOfWork:
    """One transaction of a :class:`SQLiteStore`; see :class:`issuecore.ports.UnitOfWork`."""

    def __init__(
        self, connection: sqlite3.Connection, *, read_only: bool, blobs: BlobStore | None = None
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._read_only = read_only
        self._blobs = blobs
        # Digests this transaction stopped referencing, for the blob store given.
        self._released: set[str] = set()
        # The last issue read, by its document and version, with copies of its mappings
        # as read (the caller may change its own). Intake reads an issue to match a
        # message to it, then again to change it.
        self._last_read: tuple[str, int, Issue, dict[str, Any], dict[str, Any]] | None = None
        # Its number, while this transaction has not written that issue since.
        self._last_number: str | None = None
        # Numbers this transaction has seen stored: no issue row is ever deleted.
        self._present: set[str] = set()
        # The last sequence handed out in each year, written when the transaction commits.
        self._sequences: dict[int, int] = {}

    @property
    def blobs(self) -> BlobStore:
        """Return where this unit of work keeps content: the file's blob tables, unless told."""
        own = SQLiteBlobStore(self._db(), read_only=self._read_only)
        return own if self._blobs is None else FallbackBlobStore(self._blobs, own)

    def finish(self) -> None:
        """Roll back unless committed, and end the unit of work."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.in_transaction:
            connection.execute("ROLLBACK")

    def _db(self, *, writes: bool = False) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("this unit of work has ended; start a new transaction")
        if writes and self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        return self._connection

    def _query(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return self._db().execute(sql, parameters).fetchall()

    def get_issue(self, number: str, *, for_update: bool = False) -> Issue:
        """Return the stored issue ``number`` (the write transaction already excludes writers)."""
        refuse_unstorable("number", number)
        last = self._last_read
        if last is not None and number == self._last_number:
            # Read before in this transaction and not written since: no other writer
            # can change it while the transaction lasts. A copy with the mappings as read.
            self._db()
            return evolve(last[2], references=last[3], fields=last[4])
        rows = self._query("SELECT document, version FROM issues WHERE number = ?", (number,))
        if not rows:
            raise IssueNotFoundError.for_number(number)
        self._present.add(number)
        document, version = rows[0]
        if last is not None and last[1] == version and last[0] == document:
            # The same document decodes to the same issue: a copy with the mappings as read.
            self._last_number = number
            return evolve(last[2], references=last[3], fields=last[4])
        issue = issue_from_document(document, version=version)
        mappings = (dict(issue.references), dict(issue.fields))
        if all(type(value) in _IMMUTABLE for mapping in mappings for value in mapping.values()):
            self._last_read = (document, version, issue, *mappings)
            self._last_number = number
        else:
            self._last_number = None
        return issue

    def _issue_columns(
        self, issue: Issue, wake_at: datetime | None, at_risk_at: datetime | None
    ) -> dict[str, Any]:
        _refuse_unstorable_issue(issue)
        optional_aware("at_risk_at", at_risk_at)
        return {
            **_mark_columns(IssueMarks.of(issue, at_risk_at=at_risk_at)),
            "number": issue.number,
            "status": str(issue.status),
            "raised_by": address_key(issue.raised_by),
            "wake_at": None if wake_at is None else to_micros("wake_at", wake_at),
            "created_at": to_micros("created_at", issue.created_at),
            "updated_at": to_micros("updated_at", issue.updated_at),
            "document": _storable_document(issue_document(issue)),
        }

    def _set_details(self, db: sqlite3.Connection, issue: Issue) -> None:
        db.execute("DELETE FROM issue_details WHERE number = ?", (issue.number,))
        self._add_details(db, issue)

    def _add_details(self, db: sqlite3.Connection, issue: Issue) -> None:
        keys = detail_keys(issue)
        if keys:
            db.executemany(
                "INSERT OR IGNORE INTO issue_details (detail, number) VALUES (?, ?)",
                [(key, issue.number) for key in keys],
            )

    def _set_assignees(self, db: sqlite3.Connection, issue: Issue) -> None:
        db.execute("DELETE FROM issue_assignees WHERE number = ?", (issue.number,))
        self._add_assignees(db, issue)

    def _add_assignees(self, db: sqlite3.Connection, issue: Issue) -> None:
        if issue.assignees:
            db.executemany(
                "INSERT INTO issue_assignees (assignee, number) VALUES (?, ?)",
                [(user, issue.number) for user in dict.fromkeys(issue.assignees)],
            )

    def insert_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store a new issue and return it with version 1."""
        db = self._db(writes=True)
        columns = self._issue_columns(issue, wake_at, at_risk_at)
        inserted = db.execute(
            "INSERT INTO issues (number, status, raised_by, version, wake_at, created_at, "
            "updated_at, document, priority, agreement, sla_state, next_deadline, at_risk_at, "
            "deadline_key) VALUES (:number, :status, :raised_by, 1, :wake_at, "
            ":created_at, :updated_at, :document, :priority, :agreement, :sla_state, "
            ":next_deadline, :at_risk_at, :deadline_key) ON CONFLICT (number) DO NOTHING",
            columns,
        )
        if inserted.rowcount != 1:
            raise ConcurrencyConflictError.already_exists(issue.number)
        self._present.add(issue.number)
        # A new number has no assignee or detail rows to replace (their foreign key).
        self._add_assignees(db, issue)
        self._add_details(db, issue)
        db.execute(
            "INSERT INTO search_text (body, number) VALUES (?, ?)",
            (searchable(issue.subject), issue.number),
        )
        return evolve(issue, version=1)

    def update_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store ``issue`` if the stored version is ``issue.version``; return the next version."""
        db = self._db(writes=True)
        columns = self._issue_columns(issue, wake_at, at_risk_at)
        # Its assignee and detail rows stay as they are if they are those of the copy read.
        rows_kept = False
        if issue.number == self._last_number:
            assert self._last_read is not None
            _, version, read, references, fields = self._last_read  # mappings as read
            rows_kept = (
                issue.version == version
                and issue.assignees == read.assignees
                and detail_keys(issue) == details_of(read.issue_type, references, fields)
            )
            self._last_number = None  # the copy read is no longer what is stored
        updated = db.execute(
            "UPDATE issues SET status = :status, raised_by = :raised_by, version = version + 1, "
            "wake_at = :wake_at, created_at = :created_at, updated_at = :updated_at, "
            "document = :document, priority = :priority, agreement = :agreement, "
            "sla_state = :sla_state, next_deadline = :next_deadline, at_risk_at = :at_risk_at, "
            "deadline_key = :deadline_key WHERE number = :number AND version = :version",
            {**columns, "version": issue.version},
        )
        if updated.rowcount != 1:
            rows = self._query("SELECT version FROM issues WHERE number = ?", (issue.number,))
            if not rows:
                raise IssueNotFoundError.for_number(issue.number)
            raise ConcurrencyConflictError.stale_version(
                issue.number, expected=issue.version, stored=rows[0][0]
            )
        if not rows_kept:
            self._set_assignees(db, issue)
            self._set_details(db, issue)
        return evolve(issue, version=issue.version + 1)

    def next_sequence(self, year: int) -> int:
        """Return the next sequence of ``year``."""
        # Counted here and written once at commit: the transaction holds the file's
        # write lock, so no other writer can take a number meanwhile. (Taken with
        # RETURNING, each number opened a statement journal, which makes the text
        # index write out what it holds in memory as a segment of its own.)
        db = self._db(writes=True)
        last = self._sequences.get(year)
        if last is None:
            row = db.execute(
                "SELECT last_value FROM issue_sequences WHERE year = ?", (year,)
            ).fetchone()
            last = 0 if row is None else int(row[0])
        self._sequences[year] = last + 1
        return last + 1

    def due_issues(self, now: datetime, *, limit: int) -> list[str]:
        """Return up to ``limit`` numbers with ``wake_at <= now``, the earliest first."""
        rows = self._query(
            "SELECT number FROM issues WHERE wake_at IS NOT NULL AND wake_at <= ? "
            "ORDER BY wake_at, number LIMIT ?",
            (to_micros("now", now), limit),
        )
        return [row[0] for row in rows]

    def find_issues(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        raised_by: str | None = None,
        limit: int | None = None,
    ) -> list[Issue]:
        """Return the issues matching every filter given, oldest first."""
        for name, value in (("status", status), ("assignee", assignee), ("raised_by", raised_by)):
            refuse_unstorable(name, value, required=False)
        conditions = []
        parameters: list[Any] = []
        if status is not None:
            conditions.append("issues.status = ?")
            parameters.append(str(status))
        if raised_by is not None:
            conditions.append("issues.raised_by = ?")
            parameters.append(address_key(raised_by))
        if assignee is not None:
            conditions.append(
                "issues.number IN (SELECT number FROM issue_assignees WHERE assignee = ?)"
            )
            parameters.append(assignee)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        parameters.append(-1 if limit is None else limit)
        rows = self._query(
            f"SELECT document, version FROM issues{where} ORDER BY created_at, number LIMIT ?",
            parameters,
        )
        return [issue_from_document(document, version=version) for document, version in rows]

    def find_page(self, query: IssueQuery) -> IssuePage:
        """Return the page of issues ``query`` asks for, read through the indexes."""
        for name, value in (("assignee", query.assignee), ("raised_by", query.raised_by)):
            refuse_unstorable(name, value, required=False)
        statement, parameters = page_statement(query, dialect="sqlite", tables=_TABLES)
        rows = self._query(statement, parameters)
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return IssuePage(
            issues=tuple(issue_from_document(row[1], version=row[2]) for row in page),
            next_cursor=encode_cursor(query, page[-1][3], page[-1][0]) if more else None,
        )

    def _require_issue(self, number: str) -> None:
        refuse_unstorable("number", number)
        if number in self._present:
            self._db()  # refuses as it would have, once the transaction has ended
            return
        if not self._query("SELECT 1 FROM issues WHERE number = ?", (number,)):
            raise IssueNotFoundError.for_number(number)
        self._present.add(number)

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        """Add ``entry`` with its attachments to the end of the thread of issue ``number``."""
        db = self._db(writes=True)
        self._require_issue(number)
        refuse_unstorable("message_id", entry.message_id, required=False)
        document, attachments = entry_document(entry)
        refuse_unstorable_document("thread entry", document)
        for described, _ in attachments:
            refuse_unstorable_document("attachment", described)
        blobs = self.blobs
        cursor = db.execute(
            "INSERT INTO thread_entries (number, at, kind, message_id, document) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                number,
                to_micros("at", entry.at),
                str(entry.kind),
                entry.message_id,
                store_document(document, blobs),
            ),
        )
        db.execute(
            "INSERT INTO search_text (body, number) VALUES (?, ?)",
            (searchable(entry.display_text), number),
        )
        for position, (described, data) in enumerate(attachments):
            db.execute(
                "INSERT INTO attachments (entry_id, position, document, content) "
                "VALUES (?, ?, ?, ?)",
                (cursor.lastrowid, position, described, blobs.put(data)),
            )

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number`` in order, attachments with their bytes."""
        self._require_issue(number)
        entries = self._query(
            "SELECT id, document FROM thread_entries WHERE number = ? ORDER BY id", (number,)
        )
        files: dict[int, list[tuple[str, bytes]]] = {}
        blobs = self.blobs
        for entry_id, described, content in self._query(
            "SELECT attachments.entry_id, attachments.document, attachments.content "
            "FROM attachments JOIN thread_entries ON thread_entries.id = attachments.entry_id "
            "WHERE thread_entries.number = ? ORDER BY attachments.entry_id, attachments.position",
            (number,),
        ):
            files.setdefault(entry_id, []).append((described, blobs.get(content)))
        return [
            entry_from_document(load_document(document, blobs), files.get(entry_id, ()))
            for entry_id, document in entries
        ]

    def record_message(
        self,
        message_id: str,
        *,
        number: str | None,
        outcome: str,
        reason: str,
        at: datetime | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Record what became of ``message_id``."""
        db = self._db(writes=True)
        refuse_unstorable("message_id", message_id)
        refuse_unstorable("number", number, required=False)
        refuse_unstorable("outcome", outcome)
        refuse_unstorable("reason", reason)
        refuse_unstorable("fingerprint", fingerprint, required=False)
        inserted = db.execute(
            "INSERT INTO message_ids (message_id, number, outcome, reason, at, fingerprint) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            (
                message_id,
                number,
                outcome,
                reason,
                None if at is None else to_micros("at", at),
                fingerprint,
            ),
        )
        if inserted.rowcount != 1:
            raise DuplicateMessageError.for_message_id(message_id)

    def keep_message(self, message_id: str, raw: bytes) -> None:
        """Keep the raw bytes of a message that went to no issue, as a blob."""
        db = self._db(writes=True)
        refuse_unstorable("message_id", message_id)
        if self._query("SELECT 1 FROM kept_messages WHERE message_id = ?", (message_id,)):
            return
        db.execute(
            "INSERT INTO kept_messages (message_id, content) VALUES (?, ?)",
            (message_id, self.blobs.put(raw)),
        )

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept for ``message_id``, or ``None``."""
        refuse_unstorable("message_id", message_id)
        rows = self._query("SELECT content FROM kept_messages WHERE message_id = ?", (message_id,))
        return self.blobs.get(rows[0][0]) if rows else None

    def _thread_digests(self, number: str) -> set[str]:
        rows = self._query(
            "SELECT attachments.content FROM attachments JOIN thread_entries "
            "ON thread_entries.id = attachments.entry_id WHERE thread_entries.number = ? "
            "UNION SELECT substr(document, ?) FROM thread_entries "
            "WHERE number = ? AND substr(document, 1, ?) = ?",
            (number, len(DOCUMENT_BLOB) + 1, number, len(DOCUMENT_BLOB), DOCUMENT_BLOB),
        )
        return {digest for (digest,) in rows}

    def _delete_thread(self, number: str) -> None:
        db = self._db(writes=True)
        db.execute(
            "DELETE FROM attachments WHERE entry_id IN "
            "(SELECT id FROM thread_entries WHERE number = ?)",
            (number,),
        )
        db.execute("DELETE FROM thread_entries WHERE number = ?", (number,))
        db.execute("DELETE FROM search_text WHERE number = ?", (number,))
        # FTS5 keeps deleted words in its index segments until they are merged.
        db.execute("INSERT INTO search_text (search_text) VALUES ('optimize')")

    def _drop_unreferenced(self, digests: set[str]) -> None:
        # The file's own blob tables lose them now, in the transaction; a blob store given
        # is told only after the commit, so a rollback loses nothing still referenced.
        if not digests:
            return
        db = self._db(writes=True)
        unreferenced = digests - self._referenced_among(digests)
        for digest in unreferenced:
            db.execute("DELETE FROM blob_chunks WHERE digest = ?", (digest,))
            db.execute("DELETE FROM blobs WHERE digest = ?", (digest,))
        if self._blobs is not None:
            self._released |= unreferenced

    def replace_thread(self, number: str, entries: Sequence[ThreadEntry]) -> None:
        """Replace the whole thread of issue ``number`` with ``entries``, in order."""
        db = self._db(writes=True)
        issue = self.get_issue(number)
        for entry in entries:
            refuse_unstorable_entry(entry)
        old = self._thread_digests(number)
        self._delete_thread(number)
        db.execute(
            "INSERT INTO search_text (body, number) VALUES (?, ?)",
            (searchable(issue.subject), number),
        )
        for entry in entries:
            self.append_entry(number, entry)
        self._drop_unreferenced(old)

    def forget_content(self, number: str) -> None:
        """Delete the kept raw mail recorded for issue ``number`` and its outbox rows."""
        db = self._db(writes=True)
        refuse_unstorable("number", number)
        old = {
            digest
            for (digest,) in self._query(
                "SELECT content FROM kept_messages WHERE message_id IN "
                "(SELECT message_id FROM message_ids WHERE number = ?)",
                (number,),
            )
        }
        db.execute(
            "DELETE FROM kept_messages WHERE message_id IN "
            "(SELECT message_id FROM message_ids WHERE number = ?)",
            (number,),
        )
        db.execute("DELETE FROM effects WHERE number = ?", (number,))
        # The reason may quote a sender; the record stays so a repeat is still known.
        db.execute("UPDATE message_ids SET reason = '[erased]' WHERE number = ?", (number,))
        self._drop_unreferenced(old)

    def remove_issue(self, number: str) -> None:
        """Delete issue ``number`` and everything recorded under its number."""
        db = self._db(writes=True)
        self._require_issue(number)
        self.forget_content(number)
        old = self._thread_digests(number)
        self._delete_thread(number)
        for table in ("issue_assignees", "issue_details", "message_ids", "issues"):
            db.execute(f"DELETE FROM {table} WHERE number = ?", (number,))
        self._drop_unreferenced(old)

    def quarantined_messages(self, *, limit: int) -> list[MessageRecord]:
        """Return up to ``limit`` records of quarantined messages, newest first."""
        rows = self._query(
            "SELECT message_id, number, outcome, reason, at, fingerprint FROM message_ids "
            "WHERE outcome = 'quarantined' ORDER BY at DESC, message_id DESC LIMIT ?",
            (limit,),
        )
        return [
            MessageRecord(
                message_id=message_id,
                number=number,
                outcome=outcome,
                reason=reason,
                at=None if at is None else from_micros(at),
                fingerprint=fingerprint,
            )
            for message_id, number, outcome, reason, at, fingerprint in rows
        ]

    def release_message(self, message_id: str) -> bool:
        """Delete the record of ``message_id`` if it was quarantined."""
        db = self._db(writes=True)
        refuse_unstorable("message_id", message_id)
        cursor = db.execute(
            "DELETE FROM message_ids WHERE message_id = ? AND outcome = 'quarantined'",
            (message_id,),
        )
        return cursor.rowcount > 0

    def referenced_blobs(self) -> set[str]:
        """Return the digest of every blob an attachment or a kept message references."""
        return {
            digest
            for (digest,) in self._query(
                "SELECT content FROM attachments UNION SELECT content FROM kept_messages "
                "UNION SELECT substr(document, ?) FROM thread_entries "
                "WHERE substr(document, 1, ?) = ?",
                (len(DOCUMENT_BLOB) + 1, len(DOCUMENT_BLOB), DOCUMENT_BLOB),
            )
        }

    def _referenced_among(self, digests: Collection[str]) -> set[str]:
        """Return which of ``digests`` an attachment, a kept message or a document references."""
        found: set[str] = set()
        wanted = sorted(digests)
        start = len(DOCUMENT_BLOB) + 1
        for first in range(0, len(wanted), _DIGESTS_PER_QUERY):
            batch = wanted[first : first + _DIGESTS_PER_QUERY]
            marks = ", ".join("?" * len(batch))
            rows = self._query(
                f"SELECT content FROM attachments WHERE content IN ({marks}) "
                f"UNION SELECT content FROM kept_messages WHERE content IN ({marks}) "
                f"UNION SELECT substr(document, ?) FROM thread_entries "
                f"WHERE substr(document, 1, ?) = ? AND substr(document, ?) IN ({marks})",
                (*batch, *batch, start, start - 1, DOCUMENT_BLOB, start, *batch),
            )
            found.update(digest for (digest,) in rows)
        return found

    def lookup_message(self, message_id: str) -> MessageRecord | None:
        """Return the record of ``message_id``, if any."""
        refuse_unstorable("message_id", message_id)
        rows = self._query(
            "SELECT number, outcome, reason, at, fingerprint FROM message_ids WHERE message_id = ?",
            (message_id,),
        )
        if not rows:
            return None
        number, outcome, reason, at, fingerprint = rows[0]
        return MessageRecord(
            message_id=message_id,
            number=number,
            outcome=outcome,
            reason=reason,
            at=None if at is None else from_micros(at),
            fingerprint=fingerprint,
        )

    @property
    def outbox(self) -> SQLiteOutbox:
        """Return the outbox of this unit of work."""
        self._db()
        return SQLiteOutbox(self)

    @property
    def accounts(self) -> SQLiteAccounts:
        """Return the agent accounts of this unit of work."""
        self._db()
        return SQLiteAccounts(self)

    @property
    def attempts(self) -> SQLiteAttempts:
        """Return the attempts counted in this unit of work."""
        self._db()
        return SQLiteAttempts(self)

    def count_auto_replies(self, address: str, since: datetime) -> int:
        """Return how many automatic replies went to ``address`` at or after ``since``."""
        refuse_unstorable("address", address)
        rows = self._query(
            "SELECT count(*) FROM auto_replies WHERE address = ? AND at >= ?",
            (address_key(address), to_micros("since", since)),
        )
        return int(rows[0][0])

    def record_auto_reply(self, address: str, at: datetime) -> None:
        """Count an automatic reply to ``address`` at ``at``."""
        db = self._db(writes=True)
        refuse_unstorable("address", address)
        db.execute(
            "INSERT INTO auto_replies (address, at) VALUES (?, ?)",
            (address_key(address), to_micros("at", at)),
        )

    def forget_auto_replies(self, address: str) -> None:
        """Delete the automatic replies counted against ``address``."""
        db = self._db(writes=True)
        refuse_unstorable("address", address)
        db.execute("DELETE FROM auto_replies WHERE address = ?", (address_key(address),))

    def commit(self) -> None:
        """Keep everything this unit of work did, and end it.

        Then the blobs it released that no row references any more are
        discarded from the blob store given (see :func:`discard_released`).
        """
        db = self._db()
        if self._sequences:
            db.executemany(
                "INSERT INTO issue_sequences (year, last_value) VALUES (?, ?) "
                "ON CONFLICT (year) DO UPDATE SET last_value = excluded.last_value",
                sorted(self._sequences.items()),
            )
            self._sequences = {}
        db.execute("COMMIT")
        released, self._released = self._released, set()
        try:
            discard_released(self._blobs, released, lambda: self._referenced_among(released))
        finally:
            self._connection = None


def _storable_document(document: str) -> str:
    refuse_unstorable_document("issue", document)
    return document


def _refuse_unstorable_issue(issue: Issue) -> None:
    refuse_unstorable("number", issue.number)
    refuse_unstorable("status", issue.status)
    refuse_unstorable("raised_by", issue.raised_by)
    for assignee in issue.assignees:
        refuse_unstorable("assignee", assignee)


def _optional_micros(name: str, value: datetime | None) -> int | None:
    return None if value is None else to_micros(name, require_aware(name, value))


class SQLiteOutbox:
    """The outbox rows of a :class:`SQLiteUnitOfWork`; see :class:`issuecore.ports.Outbox`.

    A claim is one conditional ``UPDATE`` inside the write transaction
    (``BEGIN IMMEDIATE``), so two processes claiming at once take turns and
    never take the same row.
    """

    def __init__(self, work: SQLiteUnitOfWork) -> None:
        self._work = work

    def _select(self, where: str, parameters: Sequence[Any] = ()) -> list[OutboxItem]:
        rows = self._work._query(f"SELECT {_EFFECT_COLUMNS} FROM effects {where}", parameters)
        return [_outbox_item(row) for row in rows]

    def _exists(self, item_id: str) -> None:
        if not self._work._query("SELECT 1 FROM effects WHERE id = ?", (item_id,)):
            raise LookupError(f"no outbox item with id {item_id!r}")

    def add(self, item: OutboxItem) -> None:
        """Store ``item``; an id already stored is left as it is."""
        self.add_all((item,))

    def add_all(self, items: Sequence[OutboxItem]) -> None:
        """Store each of ``items`` as :meth:`add` would, in one statement run for each."""
        fresh = new_outbox_items(items)
        if not fresh:
            return
        self._work._db(writes=True).executemany(
            f"INSERT INTO effects ({_EFFECT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [
                (
                    item.id,
                    str(item.kind),
                    item.number,
                    item.message_id,
                    item.payload,
                    to_micros("created_at", item.created_at),
                    item.attempts,
                    _optional_micros("next_attempt_at", item.next_attempt_at),
                    item.claimed_by,
                    _optional_micros("lease_until", item.lease_until),
                    _optional_micros("done_at", item.done_at),
                    _optional_micros("dead_at", item.dead_at),
                    item.last_error,
                )
                for item in fresh.values()
            ],
        )

    def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows whose lease ran out, the earliest due first."""
        at = to_micros("now", now)
        rows = (
            self._work._db(writes=True)
            .execute(
                "UPDATE effects SET claimed_by = ?, lease_until = ?, attempts = attempts + 1 "
                "WHERE seq IN (SELECT seq FROM effects WHERE next_attempt_at IS NOT NULL "
                "AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "
                "ORDER BY next_attempt_at, seq LIMIT ?) "
                f"RETURNING seq, {_EFFECT_COLUMNS}",
                (owner, to_micros("until", until), at, at, limit),
            )
            .fetchall()
        )
        rows.sort(key=lambda row: (row[8], row[0]))
        return [_outbox_item(row[1:]) for row in rows]

    def complete(self, item_id: str, *, at: datetime) -> bool:
        """Mark ``item_id`` delivered at ``at``; ``False`` if it was already done."""
        changed = (
            self._work._db(writes=True)
            .execute(
                "UPDATE effects SET done_at = ?, dead_at = NULL, next_attempt_at = NULL, "
                "claimed_by = NULL, lease_until = NULL, last_error = NULL "
                "WHERE id = ? AND done_at IS NULL",
                (to_micros("at", at), item_id),
            )
            .rowcount
        )
        if changed != 1:
            self._exists(item_id)
        return changed == 1

    def complete_all(self, item_ids: Sequence[str], *, at: datetime) -> int:
        """Mark each of ``item_ids`` delivered at ``at`` as :meth:`complete` would, in few updates.

        Returns how many were not done before.
        """
        wanted = list(dict.fromkeys(item_ids))
        done_at = to_micros("at", at)
        db = self._work._db(writes=True)
        changed = 0
        for first in range(0, len(wanted), _IDS_PER_STATEMENT):
            batch = wanted[first : first + _IDS_PER_STATEMENT]
            marks = ", ".join("?" * len(batch))
            count = db.execute(
                "UPDATE effects SET done_at = ?, dead_at = NULL, next_attempt_at = NULL, "
                "claimed_by = NULL, lease_until = NULL, last_error = NULL "
                f"WHERE id IN ({marks}) AND done_at IS NULL",
                (done_at, *batch),
            ).rowcount
            if count != len(batch):
                found = {
                    item_id
                    for (item_id,) in self._work._query(
                        f"SELECT id FROM effects WHERE id IN ({marks})", batch
                    )
                }
                for item_id in batch:
                    if item_id not in found:
                        raise LookupError(f"no outbox item with id {item_id!r}")
            changed += count
        return changed

    def fail(
        self, item_id: str, *, owner: str, error: str, retry_at: datetime | None, at: datetime
    ) -> bool:
        """Record a failed delivery by ``owner``; retry at ``retry_at`` or dead-letter it."""
        refuse_unstorable("error", error)
        dead = to_micros("at", at) if retry_at is None else None
        changed = (
            self._work._db(writes=True)
            .execute(
                "UPDATE effects SET next_attempt_at = ?, dead_at = ?, claimed_by = NULL, "
                "lease_until = NULL, last_error = ? "
                "WHERE id = ? AND claimed_by = ? AND done_at IS NULL",
                (_optional_micros("retry_at", retry_at), dead, error, item_id, owner),
            )
            .rowcount
        )
        if changed != 1:
            self._exists(item_id)
        return changed == 1

    def get(self, item_id: str) -> OutboxItem | None:
        """Return the row ``item_id``, or ``None``."""
        found = self._select("WHERE id = ?", (item_id,))
        return found[0] if found else None

    def pending(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` rows not yet delivered nor given up, the earliest due first."""
        return self._select(
            "WHERE next_attempt_at IS NOT NULL ORDER BY next_attempt_at, seq LIMIT ?", (limit,)
        )

    def dead_letters(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` dead letters, the earliest given up first."""
        return self._select("WHERE dead_at IS NOT NULL ORDER BY dead_at, seq LIMIT ?", (limit,))

    def revive(self, item_id: str, *, at: datetime) -> bool:
        """Make the dead letter ``item_id`` pending again at ``at``."""
        changed = (
            self._work._db(writes=True)
            .execute(
                "UPDATE effects SET dead_at = NULL, next_attempt_at = ?, attempts = 0 "
                "WHERE id = ? AND dead_at IS NOT NULL",
                (to_micros("at", at), item_id),
            )
            .rowcount
        )
        return bool(changed == 1)

    def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` rows delivered before ``before``."""
        deleted = (
            self._work._db(writes=True)
            .execute(
                "DELETE FROM effects WHERE seq IN (SELECT seq FROM effects "
                "WHERE done_at IS NOT NULL AND done_at < ? LIMIT ?)",
                (to_micros("before", before), limit),
            )
            .rowcount
        )
        return int(deleted)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    (
        item_id,
        kind,
        number,
        message_id,
        payload,
        created_at,
        attempts,
        next_at,
        claimed_by,
        lease_until,
        done_at,
        dead_at,
        error,
    ) = row
    return OutboxItem(
        id=item_id,
        kind=kind,
        number=number,
        message_id=message_id,
        payload=bytes(payload),
        created_at=from_micros(created_at),
        attempts=attempts,
        next_attempt_at=_optional_instant(next_at),
        claimed_by=claimed_by,
        lease_until=_optional_instant(lease_until),
        done_at=_optional_instant(done_at),
        dead_at=_optional_instant(dead_at),
        last_error=error,
    )


def _optional_instant(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


class SQLiteAccounts:
    """The agent accounts of a :class:`SQLiteUnitOfWork`; see ``ports.AgentAccounts``."""

    def __init__(self, work: SQLiteUnitOfWork) -> None:
        self._work = work

    def get(self, address: str) -> AgentAccount | None:
        """Return the account of ``address``, or ``None``."""
        key = account_key(address)
        rows = self._work._query(
            "SELECT password_hash, changed_at FROM agent_accounts WHERE address = ?", (key,)
        )
        if not rows:
            return None
        return AgentAccount(
            address=key, password_hash=rows[0][0], changed_at=from_micros(rows[0][1])
        )

    def save(self, account: AgentAccount) -> bool:
        """Create the account or replace the one of the same address; return whether it is new."""
        db = self._work._db(writes=True)
        key = check_account(account)
        new = not self._work._query("SELECT 1 FROM agent_accounts WHERE address = ?", (key,))
        db.execute(
            "INSERT INTO agent_accounts (address, password_hash, changed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET password_hash = excluded.password_hash, "
            "changed_at = excluded.changed_at",
            (key, account.password_hash, to_micros("changed_at", account.changed_at)),
        )
        return new

    def remove(self, address: str) -> bool:
        """Delete the account of ``address``; return whether there was one."""
        db = self._work._db(writes=True)
        key = account_key(address)
        deleted = db.execute("DELETE FROM agent_accounts WHERE address = ?", (key,))
        return bool(deleted.rowcount == 1)

    def addresses(self) -> list[str]:
        """Return the address of every account, sorted."""
        # Sorted here: every store orders by code point, whatever the database's collation.
        return sorted(row[0] for row in self._work._query("SELECT address FROM agent_accounts"))


class SQLiteAttempts:
    """The attempts of a :class:`SQLiteUnitOfWork`; see :class:`issuecore.ports.AttemptLog`."""

    def __init__(self, work: SQLiteUnitOfWork) -> None:
        self._work = work

    def record(self, scope: str, key: str, at: datetime) -> None:
        """Count one attempt against ``key`` in ``scope`` at ``at``."""
        db = self._work._db(writes=True)
        check_attempt(scope, key, at)
        db.execute(
            "INSERT INTO attempts (scope, attempt_key, at) VALUES (?, ?, ?)",
            (scope, key, to_micros("at", at)),
        )

    def count(self, scope: str, key: str, *, after: datetime) -> int:
        """Return how many attempts were counted against ``key`` in ``scope`` after ``after``."""
        check_attempt(scope, key, after)
        rows = self._work._query(
            "SELECT count(*) FROM attempts WHERE scope = ? AND attempt_key = ? AND at > ?",
            (scope, key, to_micros("after", after)),
        )
        return int(rows[0][0])

    def prune(self, scope: str, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` attempts of ``scope`` made before ``before``; return how many."""
        db = self._work._db(writes=True)
        check_attempt(scope, "-", before)
        deleted = db.execute(
            "DELETE FROM attempts WHERE id IN (SELECT id FROM attempts "
            "WHERE scope = ? AND at < ? ORDER BY at LIMIT ?)",
            (scope, to_micros("before", before), limit),
        )
        return int(deleted.rowcount)


class SQLiteBlobStore:
    """Blobs in the ``blobs`` and ``blob_chunks`` tables, in the transaction of ``connection``.

    A blob is one ``blobs`` row (digest, size) and its bytes in ``blob_chunks``
    rows of at most :data:`~issuecore.adapters.blobs.CHUNK_SIZE` bytes; a
    rollback takes them back with everything else.
    """

    def __init__(self, connection: sqlite3.Connection, *, read_only: bool = False) -> None:
        self._connection = connection
        self._read_only = read_only

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` unless it is kept already; return its digest."""
        if self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        with BlobContent(content) as described:
            inserted = self._connection.execute(
                "INSERT INTO blobs (digest, size) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                (described.digest, described.size),
            )
            if inserted.rowcount == 1:
                self._connection.executemany(
                    "INSERT INTO blob_chunks (digest, seq, data) VALUES (?, ?, ?)",
                    (
                        (described.digest, seq, piece)
                        for seq, piece in enumerate(described.pieces())
                    ),
                )
            return described.digest

    def _size(self, digest: str) -> int:
        row = self._connection.execute(
            "SELECT size FROM blobs WHERE digest = ?", (check_digest(digest),)
        ).fetchone()
        if row is None:
            raise BlobNotFoundError.for_digest(digest)
        return int(row[0])

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest``."""
        size = self._size(digest)
        return joined(self._pieces(digest), size)

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` one chunk row at a time."""
        self._size(digest)
        return self._pieces(digest)

    def _pieces(self, digest: str) -> Iterator[bytes]:
        sequence = [
            seq
            for (seq,) in self._connection.execute(
                "SELECT seq FROM blob_chunks WHERE digest = ? ORDER BY seq", (digest,)
            )
        ]
        for seq in sequence:
            (data,) = self._connection.execute(
                "SELECT data FROM blob_chunks WHERE digest = ? AND seq = ?", (digest, seq)
            ).fetchone()
            yield data

    def has(self, digest: str) -> bool:
        """Return whether content is kept under ``digest``."""
        row = self._connection.execute(
            "SELECT 1 FROM blobs WHERE digest = ?", (check_digest(digest),)
        ).fetchone()
        return row is not None
