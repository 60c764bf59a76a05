"""A :class:`~issuecore.ports.Store` on a database server through SQLAlchemy Core 2.

Runs on PostgreSQL (``postgresql+psycopg://...``) and MariaDB or MySQL
(``mysql+pymysql://...``), the databases ERPs run on, so several worker
processes on several machines can share one database: ``get_issue(...,
for_update=True)`` takes a row lock, and the sweep and the outbox queries use
``FOR UPDATE SKIP LOCKED`` so workers divide the due rows between them
instead of queueing behind each other. Needs the ``sql`` extra.

Instants are stored as integer microseconds since 1970-01-01 UTC
(``BIGINT``), which orders and compares the same on every database. Issues
are JSON documents beside the columns that queries use. Table names carry a
prefix (``issuecore_`` unless told otherwise), so the tables can live in a
database shared with an ERP.

The schema is versioned like :mod:`issuecore.adapters.sqlite`: a
``schema_version`` table and an ordered list of migrations applied at open
under a database lock (``pg_advisory_xact_lock`` / ``GET_LOCK``), so
processes opening at once apply each migration exactly once.

Attachments and kept messages live in blobs (:mod:`issuecore.adapters.blobs`):
by default in the ``blobs`` and ``blob_chunks`` tables, in rows of at most
1 MiB written in the same transaction as the rows that reference them, so
every statement stays far below MariaDB's default ``max_allowed_packet``
(16 MiB).
"""

from __future__ import annotations

import functools
import hashlib
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from issuecore._accounts import (
    ADDRESS_WIDTH,
    HASH_WIDTH,
    KEY_WIDTH,
    SCOPE_WIDTH,
    account_key,
    check_account,
    check_attempt,
)
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
from issuecore._marks import NO_DEADLINE, IssueMarks, detail_keys, searchable
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
    stays_inline,
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

__all__ = ["SqlBlobStore", "SqlStore", "SqlUnitOfWork"]

_MYSQL: Final = ("mysql", "mariadb")
_SYNCHRONOUS_COMMIT: Final = "issuecore synchronous_commit"  # the session's, in Connection.info
_IDLE_SINCE: Final = "issuecore idle since"  # when the pool got it back, in the record's info
_PING_AFTER_IDLE: Final = 1.0  # seconds a pooled connection sits unused before a ping
_DIGESTS_PER_QUERY: Final = 500  # a digest list per table kept short in each statement
_TEXT: Final = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL)
_BLOB: Final = sa.LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)
# Case- and accent-insensitive on MariaDB, so its FULLTEXT index matches words as the others do.
_SEARCH_TEXT: Final = sa.Text().with_variant(
    mysql.LONGTEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MYSQL
)
_QUERY_COLUMNS: Final = (
    sa.Column("priority", sa.String(255)),
    sa.Column("agreement", sa.String(255)),
    sa.Column("sla_state", sa.String(64)),
    sa.Column("next_deadline", sa.BigInteger),
    sa.Column("at_risk_at", sa.BigInteger),
    sa.Column("deadline_key", sa.BigInteger, nullable=False, server_default=str(NO_DEADLINE)),
)
_NUMBER: Final = 64
_ADDRESS: Final = 320
_DIGEST: Final = 64


@attrs.frozen
class _Schema:
    """The tables of one store, their names prefixed."""

    prefix: str
    metadata: sa.MetaData
    schema_version: sa.Table
    issues: sa.Table
    issue_assignees: sa.Table
    issue_details: sa.Table
    issue_sequences: sa.Table
    thread_entries: sa.Table
    attachments: sa.Table
    message_ids: sa.Table
    kept_messages: sa.Table
    effects: sa.Table
    auto_replies: sa.Table
    search_text: sa.Table
    blobs: sa.Table
    blob_chunks: sa.Table
    agent_accounts: sa.Table
    attempts: sa.Table

    @classmethod
    def define(cls, prefix: str) -> _Schema:
        metadata = sa.MetaData()

        def table(name: str, *items: sa.schema.SchemaItem) -> sa.Table:
            # utf8mb4_bin: exact, case-sensitive text on MariaDB/MySQL, as on PostgreSQL.
            return sa.Table(
                f"{prefix}{name}",
                metadata,
                *items,
                mysql_engine="InnoDB",
                mysql_charset="utf8mb4",
                mysql_collate="utf8mb4_bin",
            )

        def index(name: str, *columns: Any, **options: Any) -> sa.Index:
            return sa.Index(f"{prefix}{name}", *columns, **options)

        schema_version = table(
            "schema_version",
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("applied_at", sa.String(40), nullable=False),
        )
        issues = table(
            "issues",
            sa.Column("number", sa.String(_NUMBER), primary_key=True),
            sa.Column("status", sa.String(64), nullable=False),
            sa.Column("raised_by", sa.String(_ADDRESS), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("wake_at", sa.BigInteger),
            sa.Column("created_at", sa.BigInteger, nullable=False),
            sa.Column("updated_at", sa.BigInteger, nullable=False),
            sa.Column("document", _TEXT, nullable=False),
            # Added by migration 6: what find filters and sorts by.
            *(column._copy() for column in _QUERY_COLUMNS),
        )
        index(
            "issues_wake_at",
            issues.c.wake_at,
            issues.c.number,
            postgresql_where=issues.c.wake_at.is_not(None),
        )
        index("issues_status", issues.c.status, issues.c.created_at, issues.c.number)
        index("issues_raised_by", issues.c.raised_by, issues.c.created_at, issues.c.number)
        index("issues_created_at", issues.c.created_at, issues.c.number)
        issue_assignees = table(
            "issue_assignees",
            sa.Column("assignee", sa.String(255), primary_key=True),
            sa.Column(
                "number",
                sa.String(_NUMBER),
                sa.ForeignKey(issues.c.number, ondelete="CASCADE"),
                primary_key=True,
            ),
        )
        index("issue_assignees_number", issue_assignees.c.number)
        # Added by migration 7: one key per type, reference and custom field of an issue.
        issue_details = table(
            "issue_details",
            sa.Column("detail", sa.String(64), primary_key=True),
            sa.Column(
                "number",
                sa.String(_NUMBER),
                sa.ForeignKey(issues.c.number, ondelete="CASCADE"),
                primary_key=True,
            ),
        )
        index("issue_details_number", issue_details.c.number)
        issue_sequences = table(
            "issue_sequences",
            sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("last_value", sa.BigInteger, nullable=False),
        )
        thread_entries = table(
            "thread_entries",
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column(
                "number",
                sa.String(_NUMBER),
                sa.ForeignKey(issues.c.number, ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("at", sa.BigInteger, nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("message_id", _TEXT),
            sa.Column("document", _TEXT, nullable=False),
        )
        index("thread_entries_number", thread_entries.c.number, thread_entries.c.id)
        attachments = table(
            "attachments",
            sa.Column(
                "entry_id",
                sa.BigInteger,
                sa.ForeignKey(thread_entries.c.id, ondelete="CASCADE"),
                primary_key=True,
                autoincrement=False,
            ),
            sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("document", _TEXT, nullable=False),
            sa.Column("content", sa.String(_DIGEST), nullable=False),
        )
        message_ids = table(
            "message_ids",
            # SHA-256 of the Message-ID: unique however long the identifier is.
            sa.Column("digest", sa.String(64), primary_key=True),
            sa.Column("message_id", _TEXT, nullable=False),
            sa.Column("number", sa.String(_NUMBER)),
            sa.Column("outcome", sa.String(64), nullable=False),
            sa.Column("reason", _TEXT, nullable=False),
            sa.Column("at", sa.BigInteger),
            # Added by migration 3: what the recorded message held.
            sa.Column("fingerprint", sa.String(64)),
        )
        kept_messages = table(
            "kept_messages",
            sa.Column("digest", sa.String(64), primary_key=True),
            sa.Column("message_id", _TEXT, nullable=False),
            sa.Column("content", sa.String(_DIGEST), nullable=False),
        )
        blobs = table(
            "blobs",
            sa.Column("digest", sa.String(_DIGEST), primary_key=True),
            sa.Column("size", sa.BigInteger, nullable=False),
        )
        blob_chunks = table(
            "blob_chunks",
            sa.Column(
                "digest", sa.String(_DIGEST), sa.ForeignKey(blobs.c.digest), primary_key=True
            ),
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("data", _BLOB, nullable=False),
        )
        effects = table(
            "effects",
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("id", sa.String(64), nullable=False, unique=True),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("number", sa.String(_NUMBER)),
            sa.Column("message_id", _TEXT),
            sa.Column("payload", _BLOB, nullable=False),
            sa.Column("created_at", sa.BigInteger, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("next_attempt_at", sa.BigInteger),
            sa.Column("claimed_by", sa.String(255)),
            sa.Column("lease_until", sa.BigInteger),
            sa.Column("done_at", sa.BigInteger),
            sa.Column("dead_at", sa.BigInteger),
            sa.Column("last_error", _TEXT),
        )
        index(
            "effects_pending",
            effects.c.next_attempt_at,
            effects.c.seq,
            postgresql_where=effects.c.next_attempt_at.is_not(None),
        )
        index("effects_done", effects.c.done_at, postgresql_where=effects.c.done_at.is_not(None))
        index(
            "effects_dead",
            effects.c.dead_at,
            effects.c.seq,
            postgresql_where=effects.c.dead_at.is_not(None),
        )
        search_text = table(
            "search_text",
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("number", sa.String(_NUMBER), nullable=False),
            sa.Column("body", _SEARCH_TEXT, nullable=False),
        )
        auto_replies = table(
            "auto_replies",
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("address", sa.String(_ADDRESS), nullable=False),
            sa.Column("at", sa.BigInteger, nullable=False),
        )
        index("auto_replies_address", auto_replies.c.address, auto_replies.c.at)
        # Added by migration 8: the console's agent accounts and the attempts its limits count.
        agent_accounts = table(
            "agent_accounts",
            sa.Column("address", sa.String(ADDRESS_WIDTH), primary_key=True),
            sa.Column("password_hash", sa.String(HASH_WIDTH), nullable=False),
            sa.Column("changed_at", sa.BigInteger, nullable=False),
        )
        attempts = table(
            "attempts",
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("scope", sa.String(SCOPE_WIDTH), nullable=False),
            sa.Column("attempt_key", sa.String(KEY_WIDTH), nullable=False),
            sa.Column("at", sa.BigInteger, nullable=False),
        )
        index("attempts_key", attempts.c.scope, attempts.c.attempt_key, attempts.c.at)
        index("attempts_at", attempts.c.scope, attempts.c.at)
        return cls(
            prefix=prefix,
            metadata=metadata,
            schema_version=schema_version,
            issues=issues,
            issue_assignees=issue_assignees,
            issue_details=issue_details,
            issue_sequences=issue_sequences,
            thread_entries=thread_entries,
            attachments=attachments,
            message_ids=message_ids,
            kept_messages=kept_messages,
            effects=effects,
            auto_replies=auto_replies,
            search_text=search_text,
            blobs=blobs,
            blob_chunks=blob_chunks,
            agent_accounts=agent_accounts,
            attempts=attempts,
        )

    def data_tables(self) -> list[sa.Table]:
        """Return every table but ``schema_version``, in dependency order."""
        return [table for table in self.metadata.sorted_tables if table is not self.schema_version]


def _outbox_version_1(prefix: str) -> sa.Table:
    """Return the mail outbox of versions 1 to 3, which version 4 replaced by ``effects``."""
    metadata = sa.MetaData()
    outbox = sa.Table(
        f"{prefix}outbox",
        metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(_NUMBER)),
        sa.Column("message_id", _TEXT, nullable=False),
        sa.Column("message", _BLOB, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger),
        sa.Column("sent_at", sa.BigInteger),
        sa.Column("last_error", _TEXT),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    sa.Index(
        f"{prefix}outbox_pending",
        outbox.c.next_attempt_at,
        outbox.c.id,
        postgresql_where=outbox.c.next_attempt_at.is_not(None),
    )
    return outbox


def _bytes_tables(schema: _Schema) -> tuple[sa.Table, sa.Table]:
    """Return ``attachments`` and ``kept_messages`` as versions 1 and 2 made them, with bytes."""
    metadata = sa.MetaData()
    schema.issues.to_metadata(metadata)
    entries = schema.thread_entries.to_metadata(metadata)
    options = schema.attachments.dialect_kwargs
    attachments = sa.Table(
        schema.attachments.name,
        metadata,
        sa.Column(
            "entry_id",
            sa.BigInteger,
            sa.ForeignKey(entries.c.id, ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", _TEXT, nullable=False),
        sa.Column("data", _BLOB, nullable=False),
        **options,
    )
    kept_messages = sa.Table(
        schema.kept_messages.name,
        metadata,
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("message_id", _TEXT, nullable=False),
        sa.Column("raw", _BLOB, nullable=False),
        **options,
    )
    return attachments, kept_messages


def _create_version_1(connection: sa.Connection, schema: _Schema) -> None:
    later = {
        schema.kept_messages,
        schema.attachments,
        schema.blobs,
        schema.blob_chunks,
        schema.message_ids,
        schema.effects,
        schema.search_text,
        schema.issues,
        schema.issue_details,
        schema.agent_accounts,
        schema.attempts,
    }
    issues = _without_columns(schema.issues, *(column.name for column in _QUERY_COLUMNS))
    issues.create(connection, checkfirst=False)
    for created in schema.issues.indexes:
        created.create(connection, checkfirst=False)
    tables = [table for table in schema.data_tables() if table not in later]
    schema.metadata.create_all(connection, tables=tables, checkfirst=False)
    attachments, _ = _bytes_tables(schema)
    attachments.create(connection, checkfirst=False)
    _without_columns(schema.message_ids, "fingerprint").create(connection, checkfirst=False)
    _outbox_version_1(schema.prefix).create(connection, checkfirst=False)


def _without_columns(table: sa.Table, *names: str) -> sa.Table:
    # The shape a table had before later migrations added ``names``.
    columns = [column._copy() for column in table.columns if column.name not in names]
    return sa.Table(table.name, sa.MetaData(), *columns, **table.kwargs)


def _create_version_2(connection: sa.Connection, schema: _Schema) -> None:
    # The raw bytes of messages that went to no issue, so nothing is lost.
    _, kept_messages = _bytes_tables(schema)
    kept_messages.create(connection, checkfirst=False)


def _move_content_into_blobs(connection: sa.Connection, schema: _Schema) -> None:
    # Attachments and kept messages reference blobs by digest instead of holding bytes.
    # MariaDB commits each ALTER TABLE on its own, so every step can run again
    # after an interruption: it skips what is done and moves what is left.
    schema.metadata.create_all(
        connection, tables=[schema.blobs, schema.blob_chunks], checkfirst=True
    )
    moves = (
        (schema.attachments.name, "data", ("entry_id", "position")),
        (schema.kept_messages.name, "raw", ("digest",)),
    )
    quote = connection.dialect.identifier_preparer.quote
    for table_name, data, key in moves:
        name = quote(table_name)
        columns = {column["name"] for column in sa.inspect(connection).get_columns(table_name)}
        if "content" not in columns:
            connection.execute(sa.text(f"ALTER TABLE {name} ADD COLUMN content VARCHAR(64) NULL"))
        if data in columns:
            table = sa.table(
                table_name,
                *(sa.column(column) for column in key),
                sa.column(data, sa.LargeBinary()),
                sa.column("content", sa.String(_DIGEST)),
            )
            _move_bytes(connection, schema, table, data, key)
            connection.execute(sa.text(f"ALTER TABLE {name} DROP COLUMN {quote(data)}"))
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"ALTER TABLE {name} ALTER COLUMN content SET NOT NULL"))
        else:
            connection.execute(sa.text(f"ALTER TABLE {name} MODIFY content VARCHAR(64) NOT NULL"))


def _move_bytes(
    connection: sa.Connection,
    schema: _Schema,
    table: sa.TableClause,
    data_name: str,
    key: tuple[str, ...],
) -> None:
    # The bytes are hashed and cut into chunks by the server: no row crosses the wire whole.
    content, data = table.c.content, table.c[data_name]
    if connection.dialect.name == "postgresql":
        hashed = sa.func.encode(sa.func.sha256(data), "hex")
    else:
        hashed = sa.func.sha2(data, 256)
    keys = [table.c[name] for name in key]
    pending = connection.execute(
        sa.select(*keys, hashed, sa.func.length(data))
        .select_from(table)
        .where(content.is_(None))
        .order_by(*keys)
    ).all()
    chunk = 1024 * 1024
    for row in pending:
        where = [column == value for column, value in zip(keys, row[: len(key)], strict=True)]
        digest, size = str(row[-2]).lower(), int(row[-1])
        claimed = _claim_blob(connection, schema.blobs, digest, size)
        if claimed:
            for seq, start in enumerate(range(0, size, chunk)):
                piece = sa.func.substring(data, start + 1, chunk)
                connection.execute(
                    schema.blob_chunks.insert().from_select(
                        ["digest", "seq", "data"],
                        sa.select(
                            sa.literal(digest, sa.String(_DIGEST)),
                            sa.literal(seq, sa.Integer),
                            piece,
                        )
                        .select_from(table)
                        .where(*where),
                    )
                )
        connection.execute(sa.update(table).where(*where).values(content=digest))


def _claim_blob(connection: sa.Connection, blobs: sa.Table, digest: str, size: int) -> bool:
    """Insert the ``blobs`` row of ``digest`` unless there is one; return whether it was new."""
    if connection.dialect.name == "postgresql":
        claimed = connection.execute(
            postgresql.insert(blobs)
            .values(digest=digest, size=size)
            .on_conflict_do_nothing(index_elements=[blobs.c.digest])
            .returning(blobs.c.digest)
        ).first()
        return claimed is not None
    inserted = connection.execute(
        sa.insert(blobs).prefix_with("IGNORE").values(digest=digest, size=size)
    )
    return inserted.rowcount == 1


def _add_message_fingerprints(connection: sa.Connection, schema: _Schema) -> None:
    # What each recorded message held, to tell a re-delivery from a reused Message-ID.
    # MariaDB commits an ALTER TABLE on its own: after an interruption it is done already.
    columns = sa.inspect(connection).get_columns(schema.message_ids.name)
    if "fingerprint" in {column["name"] for column in columns}:
        return
    table = connection.dialect.identifier_preparer.format_table(schema.message_ids)
    connection.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN fingerprint VARCHAR(64)"))


def _create_version_5(connection: sa.Connection, schema: _Schema) -> None:
    # One outbox for every effect, claimed with a lease; the old outbox's mail moves over.
    schema.metadata.create_all(connection, tables=[schema.effects], checkfirst=False)
    outbox = _outbox_version_1(schema.prefix)
    rows = connection.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    if rows:
        connection.execute(
            schema.effects.insert(),
            [
                {
                    "id": f"outbox-{row.id}",
                    "kind": "mail",
                    "number": row.number,
                    "message_id": row.message_id,
                    "payload": row.message,
                    "created_at": row.created_at,
                    "attempts": row.attempts,
                    "next_attempt_at": row.next_attempt_at,
                    "claimed_by": None,
                    "lease_until": None,
                    "done_at": row.sent_at,
                    "dead_at": (
                        row.created_at
                        if row.next_attempt_at is None and row.sent_at is None
                        else None
                    ),
                    "last_error": row.last_error,
                }
                for row in rows
            ],
        )
    outbox.drop(connection)


def _add_query_columns(connection: sa.Connection, schema: _Schema) -> None:
    # The columns and indexes of find, and the text index of search. MariaDB commits
    # each ALTER TABLE on its own, so every step checks whether it is done already.
    issues = schema.issues
    quote = connection.dialect.identifier_preparer
    table = quote.format_table(issues)
    inspector = sa.inspect(connection)
    present = {column["name"] for column in inspector.get_columns(issues.name)}
    for column in _QUERY_COLUMNS:
        if column.name not in present:
            kind = column.type.compile(dialect=connection.dialect)
            default = "" if column.nullable else f" NOT NULL DEFAULT {NO_DEADLINE}"
            connection.execute(
                sa.text(
                    f"ALTER TABLE {table} ADD COLUMN {quote.quote(column.name)} {kind}{default}"
                )
            )
    indexes = {index["name"] for index in inspector.get_indexes(issues.name)}
    for name, columns in (
        ("issues_status_deadline", "status, deadline_key, number"),
        ("issues_status_updated", "status, updated_at, number"),
        ("issues_deadline", "deadline_key, number"),
        ("issues_updated_at", "updated_at, number"),
    ):
        if f"{schema.prefix}{name}" not in indexes:
            index = quote.quote(f"{schema.prefix}{name}")
            connection.execute(sa.text(f"CREATE INDEX {index} ON {table} ({columns})"))
    search = schema.search_text
    if not inspector.has_table(search.name):
        search.create(connection, checkfirst=False)
        name = quote.quote(f"{schema.prefix}search_text_body")
        searched = quote.format_table(search)
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text(
                    f"CREATE INDEX {name} ON {searched} USING gin (to_tsvector('simple', body))"
                )
            )
        else:
            connection.execute(sa.text(f"CREATE FULLTEXT INDEX {name} ON {searched} (body)"))
    _fill_query_columns(connection, schema)


def _fill_query_columns(connection: sa.Connection, schema: _Schema) -> None:
    # The issues stored before: their query columns, their subjects and messages in the
    # text index (messages kept in blobs are left out; at-risk comes with the next change).
    issues, search, entries = schema.issues, schema.search_text, schema.thread_entries
    if connection.execute(sa.select(sa.func.count()).select_from(search)).scalar():
        return
    for row in connection.execute(sa.select(issues.c.number, issues.c.document, issues.c.version)):
        issue = issue_from_document(row.document, version=row.version)
        connection.execute(
            issues.update()
            .where(issues.c.number == row.number)
            .values(**_mark_columns(IssueMarks.of(issue)))
        )
        connection.execute(
            search.insert().values(number=row.number, body=searchable(issue.subject))
        )
    for stored in connection.execute(
        sa.select(entries.c.number, entries.c.document).order_by(entries.c.id)
    ):
        if stored.document.startswith(DOCUMENT_BLOB):
            continue
        entry = entry_from_document(stored.document, ())
        connection.execute(
            search.insert().values(number=stored.number, body=searchable(entry.display_text))
        )


def _add_issue_details(connection: sa.Connection, schema: _Schema) -> None:
    # The keys find filters types, references and custom fields by; issues stored
    # before carry none, but a document may already hold them, so they are filled.
    details = schema.issue_details
    if not sa.inspect(connection).has_table(details.name):
        details.create(connection, checkfirst=False)
        for index in details.indexes:
            index.create(connection, checkfirst=True)
    issues = schema.issues
    rows = connection.execute(
        sa.select(issues.c.number, issues.c.document, issues.c.version)
    ).fetchall()
    for number, document, version in rows:
        keys = detail_keys(issue_from_document(document, version=version))
        connection.execute(details.delete().where(details.c.number == number))
        if keys:
            connection.execute(
                details.insert(), [{"detail": key, "number": number} for key in keys]
            )


def _add_accounts_and_attempts(connection: sa.Connection, schema: _Schema) -> None:
    # The console's agent accounts and the attempts its limits count in every process.
    # MariaDB commits each CREATE on its own: after an interruption some may exist.
    for created in (schema.agent_accounts, schema.attempts):
        created.create(connection, checkfirst=True)
        for index in created.indexes:
            index.create(connection, checkfirst=True)


def _mark_columns(marks: IssueMarks) -> dict[str, Any]:
    return {
        "priority": marks.priority,
        "agreement": marks.agreement,
        "sla_state": marks.sla_state,
        "next_deadline": marks.next_deadline,
        "at_risk_at": marks.at_risk_at,
        "deadline_key": marks.deadline_key,
    }


MIGRATIONS: Final[Sequence[Callable[[sa.Connection, _Schema], None]]] = (
    _create_version_1,
    _create_version_2,
    _move_content_into_blobs,
    _add_message_fingerprints,
    _create_version_5,
    _add_query_columns,
    _add_issue_details,
    _add_accounts_and_attempts,
)
"""The schema changes in order; entry ``i`` takes the database from version ``i`` to ``i + 1``.

:class:`_Schema` describes the newest schema; when a later migration alters a
table, migration 1 keeps creating the shape of version 1.
"""


def _ping_after_idle(engine: sa.Engine) -> None:
    """Make ``engine``'s pool ping a connection on checkout when it sat idle long enough.

    A connection the server or the network dropped is found by the ping and
    replaced before the transaction starts. One used a moment ago is not
    pinged: a desk delivering its mail takes a connection for every row it
    marks done, and a ping is a round trip of its own.
    """
    dialect = engine.dialect

    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)  # none on a new connection: nothing to ping
        if since is None or time.monotonic() - since < _PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
            # psycopg began a transaction for the ping; the checkout starts none.
            dbapi_connection.rollback()
        except dialect.loaded_dbapi.Error as error:
            # The pool replaces the connection and checks the new one out instead.
            raise sa.exc.DisconnectionError(
                f"a pooled connection failed its ping: {error}"
            ) from error

    sa.event.listen(engine, "checkin", returned)
    sa.event.listen(engine, "checkout", taken)


class SqlStore:
    """A :class:`~issuecore.ports.Store` in a PostgreSQL or MariaDB/MySQL database.

    ``url`` is a SQLAlchemy URL or an :class:`sqlalchemy.Engine` (which the
    store then does not dispose of; give it ``isolation_level="READ COMMITTED"``).
    ``engine_options`` go to :func:`sqlalchemy.create_engine`. A pooled
    connection is pinged before use only when it sat idle for a second or
    more (a round trip saved on every transaction of a busy desk); a dead
    one is replaced. Give ``pool_pre_ping=True`` to ping on every checkout
    instead. Opening applies missing migrations.
    Close the store with :meth:`close` or use it as a context manager.
    Attachments and kept messages go to ``blobs`` when given, else to the
    database's own blob tables; content a committed transaction stopped
    referencing leaves ``blobs`` after the commit, if it can ``discard``
    (:class:`~issuecore.ports.DiscardingBlobStore`).
    """

    def __init__(
        self,
        url: str | sa.URL | sa.Engine,
        *,
        table_prefix: str = "issuecore_",
        engine_options: Mapping[str, Any] | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.blobs = blobs
        if isinstance(url, sa.Engine):
            self._engine = url
            self._owns_engine = False
        else:
            options = {
                # Read committed on MariaDB too: no gap locks, so workers skipping
                # each other's rows do not block each other's updates.
                "isolation_level": "READ COMMITTED",
                **(engine_options or {}),
            }
            self._engine = sa.create_engine(url, **options)
            self._owns_engine = True
            if "pool_pre_ping" not in options:
                _ping_after_idle(self._engine)
        self._dialect = self._engine.dialect.name
        if self._dialect not in ("postgresql", *_MYSQL):
            if self._owns_engine:
                self._engine.dispose()
            raise ValueError(
                f"SqlStore runs on PostgreSQL and MariaDB/MySQL, not {self._dialect!r}; "
                "for SQLite use issuecore.adapters.sqlite.SQLiteStore"
            )
        self.table_prefix = table_prefix
        self._schema = _Schema.define(table_prefix)
        try:
            self.schema_version = self._migrate()
        except BaseException:
            self.close()
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

    @property
    def engine(self) -> sa.Engine:
        """Return the SQLAlchemy engine the store uses."""
        return self._engine

    def close(self) -> None:
        """Close the store's connections (dispose of the engine it created)."""
        if self._owns_engine:
            self._engine.dispose()

    def drop_tables(self) -> None:
        """Drop every table of this store, ``schema_version`` included: all data is lost."""
        with self._engine.begin() as connection:
            self._schema.metadata.drop_all(connection)

    def _lock_name(self) -> str:
        digest = hashlib.sha256(f"issuecore migrations {self.table_prefix}".encode()).digest()
        return digest.hex()[:32]

    def _migrate(self) -> int:
        known = len(MIGRATIONS)
        versions = self._schema.schema_version
        with self._engine.connect() as connection:
            if self._dialect == "postgresql":
                key = int.from_bytes(bytes.fromhex(self._lock_name())[:8], "big", signed=True)
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            else:
                got = connection.execute(
                    sa.text("SELECT GET_LOCK(:name, 600)"), {"name": self._lock_name()}
                ).scalar()
                if got != 1:
                    raise RuntimeError("timed out waiting for another process's migrations")
            try:
                versions.create(connection, checkfirst=True)
                found = connection.execute(sa.select(sa.func.max(versions.c.version))).scalar()
                found = int(found or 0)
                if found > known:
                    raise SchemaVersionError.too_new(found=found, known=known)
                for version in range(found + 1, known + 1):
                    MIGRATIONS[version - 1](connection, self._schema)
                    connection.execute(
                        versions.insert().values(
                            version=version, applied_at=datetime.now(UTC).isoformat()
                        )
                    )
                connection.commit()
            finally:
                if self._dialect != "postgresql":
                    connection.execute(
                        sa.text("SELECT RELEASE_LOCK(:name)"), {"name": self._lock_name()}
                    )
                    connection.commit()
        return known

    @contextmanager
    def transaction(
        self, *, read_only: bool = False, durable: bool = True
    ) -> Iterator[SqlUnitOfWork]:
        """Yield a unit of work; it rolls back unless :meth:`SqlUnitOfWork.commit` is called.

        On PostgreSQL a commit returns once the server wrote it to disk,
        unless ``durable`` is false: then it returns before
        (``synchronous_commit`` off), so a crash of the server may lose it,
        though never a durable commit made after it. That suits a change
        whose loss only repeats work, such as marking outbox rows delivered.
        MariaDB commits every transaction as its server is configured to.
        """
        with self._engine.connect() as connection:
            connection.begin()
            commits = None if read_only else self._commits(connection, durable=durable)
            work = SqlUnitOfWork(
                connection, self._schema, self._dialect, read_only=read_only, blobs=self.blobs
            )
            try:
                yield work
            except sa.exc.DBAPIError as error:
                reason = _aborted_for_concurrency(error)
                if reason is None:
                    raise
                raise ConcurrencyConflictError.aborted_by_database(reason) from error
            finally:
                work.finish()
            if commits is not None and work.committed:
                # Set in the session: the next transaction on this connection only
                # sends a SET when it wants the other kind of commit.
                connection.info[_SYNCHRONOUS_COMMIT] = commits

    def mark_delivered(self, item_ids: Sequence[str], *, at: datetime) -> int:
        """Mark the outbox rows ``item_ids`` delivered at ``at``, committed not durably.

        What ``work.outbox.complete_all`` does in a ``transaction(durable=False)``
        of its own; returns how many were not done before. On PostgreSQL the one
        ``UPDATE`` runs as a transaction by itself, without ``BEGIN`` and
        ``COMMIT``: one round trip instead of three. An id not stored raises
        :class:`LookupError`; on PostgreSQL the others stay marked.
        """
        wanted = list(dict.fromkeys(item_ids))
        if not wanted:
            return 0
        if self._dialect != "postgresql":
            with self.transaction(durable=False) as work:
                changed = work.outbox.complete_all(wanted, at=at)
                work.commit()
            return changed
        with self._engine.connect() as pooled:
            connection = pooled.execution_options(isolation_level="AUTOCOMMIT")
            try:
                if connection.info.get(_SYNCHRONOUS_COMMIT, "DEFAULT") != "off":
                    connection.exec_driver_sql("SET synchronous_commit TO off")
                    connection.info[_SYNCHRONOUS_COMMIT] = "off"
                outbox = SqlOutbox(lambda writes=False: connection, self._schema.effects)
                return outbox.complete_all(wanted, at=at)
            except sa.exc.DBAPIError as error:
                reason = _aborted_for_concurrency(error)
                if reason is None:
                    raise
                raise ConcurrencyConflictError.aborted_by_database(reason) from error

    def _commits(self, connection: sa.Connection, *, durable: bool) -> str | None:
        """Make the session's commits durable or not; return the setting, ``None`` if ignored."""
        if self._dialect != "postgresql":
            return None
        wanted = "DEFAULT" if durable else "off"
        # A new connection has the server's setting; a rolled-back SET is undone with it.
        if connection.info.get(_SYNCHRONOUS_COMMIT, "DEFAULT") != wanted:
            connection.exec_driver_sql(f"SET synchronous_commit TO {wanted}")
        return wanted


class SqlUnitOfWork:
    """One transaction of a :class:`SqlStore`; see :class:`issuecore.ports.UnitOfWork`."""

    def __init__(
        self,
        connection: sa.Connection,
        schema: _Schema,
        dialect: str,
        *,
        read_only: bool,
        blobs: BlobStore | None = None,
    ) -> None:
        self._connection: sa.Connection | None = connection
        self._schema = schema
        self._dialect = dialect
        self._read_only = read_only
        self._blobs = blobs
        # Digests this transaction stopped referencing, for the blob store given.
        self._released: set[str] = set()
        # In a batch (hold_writes): what it read and the writes it holds until a flush.
        self._held: _HeldWrites | None = None
        self.committed = False

    @property
    def blobs(self) -> BlobStore:
        """Return where this unit of work keeps content: the database's blob tables, unless told."""
        own = SqlBlobStore(self._db(reads_stay=True), self._schema, read_only=self._read_only)
        return own if self._blobs is None else FallbackBlobStore(self._blobs, own)

    def finish(self) -> None:
        """Roll back unless committed, and end the unit of work."""
        connection, self._connection = self._connection, None
        self._held = None
        if connection is not None and connection.in_transaction():
            connection.rollback()

    def hold_writes(
        self,
        *,
        message_ids: Iterable[str] = (),
        issue_numbers: Iterable[str] = (),
        addresses: Iterable[str] = (),
    ) -> None:
        """Hold this transaction's intake writes and send them together, each table in one go.

        For batched intake: from now on the issues, thread entries, message
        records and automatic-reply counts written are held and sent at
        :meth:`commit`, or earlier when a read they may change goes to the
        database. Reads are answered from what the transaction read and
        wrote, so they see its own writes. The records of ``message_ids``,
        the issues ``issue_numbers`` and the recent automatic replies of
        ``addresses`` are read ahead, a few statements for the whole batch.
        Every issue read is locked until the transaction ends, as
        ``get_issue(..., for_update=True)`` locks it.

        A write no store could take still raises at once; a conflict with
        another writer (:class:`~issuecore.errors.ConcurrencyConflictError`,
        :class:`~issuecore.errors.DuplicateMessageError`) may instead be
        raised by the flush, at the latest by :meth:`commit`.
        :attr:`held_writes_failed` then says the error came from held writes.
        """
        self._db_for_writes()
        if self._held is None:
            self._held = _HeldWrites(self._connection_now(), self._schema, self._dialect)
        self._held.read_records(message_ids)
        self._held.read_issues(issue_numbers)
        self._held.expect_senders(addresses)

    @property
    def held_writes_failed(self) -> bool:
        """Return whether sending the writes :meth:`hold_writes` held failed in this transaction."""
        return self._held is not None and self._held.failed

    def _connection_now(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("this unit of work has ended; start a new transaction")
        return self._connection

    def _db(self, *, writes: bool = False, reads_stay: bool = False) -> sa.Connection:
        """Return the connection, the held writes sent first (see :meth:`hold_writes`).

        A write through it may change what the batch read, so the transaction
        stops holding writes, unless ``reads_stay``: the write touches only
        blobs, attachments and kept messages, which the batch does not read.
        """
        connection = self._connection_now()
        if writes and self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        if self._held is not None:
            self._held.flush()
            if writes and not reads_stay:
                self._held = None
        return connection

    def get_issue(self, number: str, *, for_update: bool = False) -> Issue:
        """Return the stored issue ``number``; ``for_update`` locks its row."""
        refuse_unstorable("number", number)
        if self._held is not None:
            return self._held.issue(number)
        issues = self._schema.issues
        query = sa.select(issues.c.document, issues.c.version).where(issues.c.number == number)
        if for_update:
            query = query.with_for_update()
        row = self._db().execute(query).one_or_none()
        if row is None:
            raise IssueNotFoundError.for_number(number)
        return issue_from_document(row.document, version=row.version)

    def _issue_columns(
        self, issue: Issue, wake_at: datetime | None, at_risk_at: datetime | None
    ) -> dict[str, Any]:
        optional_aware("at_risk_at", at_risk_at)
        refuse_unstorable("number", issue.number)
        refuse_unstorable("status", issue.status)
        refuse_unstorable("raised_by", issue.raised_by)
        for assignee in issue.assignees:
            refuse_unstorable("assignee", assignee)
        document = issue_document(issue)
        refuse_unstorable_document("issue", document)
        return {
            "status": str(issue.status),
            "raised_by": address_key(issue.raised_by),
            "wake_at": None if wake_at is None else to_micros("wake_at", wake_at),
            "created_at": to_micros("created_at", issue.created_at),
            "updated_at": to_micros("updated_at", issue.updated_at),
            "document": document,
            **_mark_columns(IssueMarks.of(issue, at_risk_at=at_risk_at)),
        }

    def _set_details(self, db: sa.Connection, issue: Issue, *, new: bool = False) -> None:
        details = self._schema.issue_details
        if not new:  # a new issue has no rows: the foreign key deletes them with their issue
            db.execute(details.delete().where(details.c.number == issue.number))
        keys = list(dict.fromkeys(detail_keys(issue)))
        if keys:
            db.execute(details.insert(), [{"detail": key, "number": issue.number} for key in keys])

    def _set_assignees(self, db: sa.Connection, issue: Issue, *, new: bool = False) -> None:
        assignees = self._schema.issue_assignees
        if not new:  # as for details
            db.execute(assignees.delete().where(assignees.c.number == issue.number))
        users = list(dict.fromkeys(issue.assignees))
        if users:
            db.execute(
                assignees.insert(), [{"assignee": user, "number": issue.number} for user in users]
            )

    def insert_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store a new issue and return it with version 1."""
        if self._held is not None:
            self._db_for_writes()
            columns = self._issue_columns(issue, wake_at, at_risk_at)
            return self._held.insert_issue(issue, columns)
        db = self._db(writes=True)
        columns = self._issue_columns(issue, wake_at, at_risk_at)
        try:
            with db.begin_nested():
                db.execute(
                    self._schema.issues.insert().values(number=issue.number, version=1, **columns)
                )
        except sa.exc.IntegrityError:
            raise ConcurrencyConflictError.already_exists(issue.number) from None
        self._set_assignees(db, issue, new=True)
        self._set_details(db, issue, new=True)
        db.execute(
            self._schema.search_text.insert().values(
                number=issue.number, body=searchable(issue.subject)
            )
        )
        return evolve(issue, version=1)

    def update_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store ``issue`` if the stored version is ``issue.version``; return the next version."""
        if self._held is not None:
            self._db_for_writes()
            columns = self._issue_columns(issue, wake_at, at_risk_at)
            return self._held.update_issue(issue, columns)
        db = self._db(writes=True)
        issues = self._schema.issues
        columns = self._issue_columns(issue, wake_at, at_risk_at)
        updated = db.execute(
            issues.update()
            .where(issues.c.number == issue.number, issues.c.version == issue.version)
            .values(version=issues.c.version + 1, **columns)
        )
        if updated.rowcount != 1:
            stored = db.execute(
                sa.select(issues.c.version).where(issues.c.number == issue.number)
            ).scalar()
            if stored is None:
                raise IssueNotFoundError.for_number(issue.number)
            raise ConcurrencyConflictError.stale_version(
                issue.number, expected=issue.version, stored=stored
            )
        self._set_assignees(db, issue)
        self._set_details(db, issue)
        return evolve(issue, version=issue.version + 1)

    def next_sequence(self, year: int) -> int:
        """Return the next sequence of ``year``; the row stays locked until the transaction ends."""
        if self._held is not None:
            self._db_for_writes()
            return self._held.next_sequence(year)
        db = self._db(writes=True)
        sequences = self._schema.issue_sequences
        if self._dialect == "postgresql":
            upsert = postgresql.insert(sequences).values(year=year, last_value=1)
            statement = upsert.on_conflict_do_update(
                index_elements=[sequences.c.year],
                set_={"last_value": sequences.c.last_value + 1},
            ).returning(sequences.c.last_value)
            return int(db.execute(statement).scalar_one())
        mysql_upsert = mysql.insert(sequences).values(year=year, last_value=1)
        db.execute(mysql_upsert.on_duplicate_key_update(last_value=sequences.c.last_value + 1))
        locked = sa.select(sequences.c.last_value).where(sequences.c.year == year).with_for_update()
        return int(db.execute(locked).scalar_one())

    def due_issues(self, now: datetime, *, limit: int) -> list[str]:
        """Return up to ``limit`` numbers with ``wake_at <= now``, the earliest first.

        The rows are locked until the transaction ends; rows other workers
        hold are skipped.
        """
        issues = self._schema.issues
        query = (
            sa.select(issues.c.number)
            .where(issues.c.wake_at.is_not(None), issues.c.wake_at <= to_micros("now", now))
            .order_by(issues.c.wake_at, issues.c.number)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self._db().execute(query).scalars())

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
        issues, assignees = self._schema.issues, self._schema.issue_assignees
        query = sa.select(issues.c.document, issues.c.version).order_by(
            issues.c.created_at, issues.c.number
        )
        if status is not None:
            query = query.where(issues.c.status == str(status))
        if raised_by is not None:
            query = query.where(issues.c.raised_by == address_key(raised_by))
        if assignee is not None:
            query = query.where(
                issues.c.number.in_(
                    sa.select(assignees.c.number).where(assignees.c.assignee == assignee)
                )
            )
        if limit is not None:
            query = query.limit(limit)
        return [
            issue_from_document(row.document, version=row.version)
            for row in self._db().execute(query)
        ]

    def find_page(self, query: IssueQuery) -> IssuePage:
        """Return the page of issues ``query`` asks for, read through the indexes."""
        for name, value in (("assignee", query.assignee), ("raised_by", query.raised_by)):
            refuse_unstorable(name, value, required=False)
        preparer = self._db().dialect.identifier_preparer
        tables = Tables(
            issues=preparer.format_table(self._schema.issues),
            assignees=preparer.format_table(self._schema.issue_assignees),
            details=preparer.format_table(self._schema.issue_details),
            search=preparer.format_table(self._schema.search_text),
        )
        dialect = "postgresql" if self._dialect == "postgresql" else "mysql"
        statement, parameters = page_statement(query, dialect=dialect, tables=tables)
        rows: list[Any] = list(self._db().execute(sa.text(statement), parameters))
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return IssuePage(
            issues=tuple(issue_from_document(row.document, version=row.version) for row in page),
            next_cursor=encode_cursor(query, page[-1].sort_key, page[-1].number) if more else None,
        )

    def _require_issue(self, number: str) -> None:
        refuse_unstorable("number", number)
        if self._held is not None:
            self._held.issue(number)
            return
        issues = self._schema.issues
        found = self._db().execute(sa.select(issues.c.number).where(issues.c.number == number))
        if found.first() is None:
            raise IssueNotFoundError.for_number(number)

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        """Add ``entry`` with its attachments to the end of the thread of issue ``number``."""
        self._db_for_writes()
        self._require_issue(number)
        refuse_unstorable("message_id", entry.message_id, required=False)
        document, files = entry_document(entry)
        refuse_unstorable_document("thread entry", document)
        for described, _ in files:
            refuse_unstorable_document("attachment", described)
        if self._held is not None and not files and stays_inline(document):
            self._held.append_entry(
                {
                    "number": number,
                    "at": to_micros("at", entry.at),
                    "kind": str(entry.kind),
                    "message_id": entry.message_id,
                    "document": document,
                },
                searchable(entry.display_text),
            )
            return
        db = self._db(writes=True, reads_stay=True)
        blobs = self.blobs
        inserted = db.execute(
            self._schema.thread_entries.insert().values(
                number=number,
                at=to_micros("at", entry.at),
                kind=str(entry.kind),
                message_id=entry.message_id,
                document=store_document(document, blobs),
            )
        )
        db.execute(
            self._schema.search_text.insert().values(
                number=number, body=searchable(entry.display_text)
            )
        )
        if files:
            entry_id = _new_id(inserted)
            for position, (described, data) in enumerate(files):
                db.execute(
                    self._schema.attachments.insert().values(
                        entry_id=entry_id,
                        position=position,
                        document=described,
                        content=blobs.put(data),
                    )
                )

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number`` in order, attachments with their bytes."""
        self._require_issue(number)
        entries, attachments = self._schema.thread_entries, self._schema.attachments
        db = self._db()
        rows = db.execute(
            sa.select(entries.c.id, entries.c.document)
            .where(entries.c.number == number)
            .order_by(entries.c.id)
        ).all()
        files: dict[int, list[tuple[str, bytes]]] = {}
        blobs = self.blobs
        for entry_id, described, content in db.execute(
            sa.select(attachments.c.entry_id, attachments.c.document, attachments.c.content)
            .join(entries, entries.c.id == attachments.c.entry_id)
            .where(entries.c.number == number)
            .order_by(attachments.c.entry_id, attachments.c.position)
        ).all():
            files.setdefault(entry_id, []).append((described, blobs.get(content)))
        return [
            entry_from_document(load_document(document, blobs), files.get(entry_id, ()))
            for entry_id, document in rows
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
        self._db_for_writes()
        refuse_unstorable("message_id", message_id)
        refuse_unstorable("number", number, required=False)
        refuse_unstorable("outcome", outcome)
        refuse_unstorable("reason", reason)
        refuse_unstorable("fingerprint", fingerprint, required=False)
        row = {
            "digest": _digest(message_id),
            "message_id": message_id,
            "number": number,
            "outcome": outcome,
            "reason": reason,
            "at": None if at is None else to_micros("at", at),
            "fingerprint": fingerprint,
        }
        if self._held is not None:
            self._held.record_message(row)
            return
        db = self._db(writes=True)
        try:
            with db.begin_nested():
                db.execute(self._schema.message_ids.insert().values(**row))
        except sa.exc.IntegrityError:
            raise DuplicateMessageError.for_message_id(message_id) from None

    def keep_message(self, message_id: str, raw: bytes) -> None:
        """Keep the raw bytes of a message that went to no issue, as a blob."""
        kept = self._schema.kept_messages
        db = self._db(writes=True, reads_stay=True)
        refuse_unstorable("message_id", message_id)
        digest = _digest(message_id)
        if db.execute(sa.select(kept.c.digest).where(kept.c.digest == digest)).first():
            return
        content = self.blobs.put(raw)
        db.execute(kept.insert().values(digest=digest, message_id=message_id, content=content))

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept for ``message_id``, or ``None``."""
        refuse_unstorable("message_id", message_id)
        kept = self._schema.kept_messages
        row = (
            self._db()
            .execute(sa.select(kept.c.content).where(kept.c.digest == _digest(message_id)))
            .one_or_none()
        )
        return None if row is None else self.blobs.get(row.content)

    def _thread_digests(self, number: str) -> set[str]:
        attachments, entries = self._schema.attachments, self._schema.thread_entries
        prefix = len(DOCUMENT_BLOB)
        files = (
            sa.select(attachments.c.content)
            .join(entries, entries.c.id == attachments.c.entry_id)
            .where(entries.c.number == number)
        )
        documents = sa.select(sa.func.substr(entries.c.document, prefix + 1, 64)).where(
            entries.c.number == number,
            sa.func.substr(entries.c.document, 1, prefix) == DOCUMENT_BLOB,
        )
        return set(self._db().execute(sa.union(files, documents)).scalars())

    def _delete_thread(self, number: str) -> None:
        db = self._db(writes=True)
        attachments, entries = self._schema.attachments, self._schema.thread_entries
        search = self._schema.search_text
        ids = sa.select(entries.c.id).where(entries.c.number == number)
        db.execute(attachments.delete().where(attachments.c.entry_id.in_(ids)))
        db.execute(entries.delete().where(entries.c.number == number))
        db.execute(search.delete().where(search.c.number == number))

    def _drop_unreferenced(self, digests: set[str]) -> None:
        # The database's own blob tables lose them now, in the transaction; a blob store
        # given is told only after the commit, so a rollback loses nothing still referenced.
        if not digests:
            return
        db = self._db(writes=True)
        blobs, chunks = self._schema.blobs, self._schema.blob_chunks
        unreferenced = digests - self._referenced_among(digests)
        for digest in unreferenced:
            db.execute(chunks.delete().where(chunks.c.digest == digest))
            db.execute(blobs.delete().where(blobs.c.digest == digest))
        if self._blobs is not None:
            self._released |= unreferenced

    def replace_thread(self, number: str, entries: Sequence[ThreadEntry]) -> None:
        """Replace the whole thread of issue ``number`` with ``entries``, in order."""
        db = self._db(writes=True)
        issue = self.get_issue(number, for_update=True)
        for entry in entries:
            refuse_unstorable_entry(entry)
        old = self._thread_digests(number)
        self._delete_thread(number)
        db.execute(
            self._schema.search_text.insert().values(number=number, body=searchable(issue.subject))
        )
        for entry in entries:
            self.append_entry(number, entry)
        self._drop_unreferenced(old)

    def forget_content(self, number: str) -> None:
        """Delete the kept raw mail recorded for issue ``number`` and its outbox rows."""
        db = self._db(writes=True)
        refuse_unstorable("number", number)
        kept, messages = self._schema.kept_messages, self._schema.message_ids
        recorded = sa.select(messages.c.digest).where(messages.c.number == number)
        old = set(
            db.execute(sa.select(kept.c.content).where(kept.c.digest.in_(recorded))).scalars()
        )
        db.execute(kept.delete().where(kept.c.digest.in_(recorded)))
        effects = self._schema.effects
        db.execute(effects.delete().where(effects.c.number == number))
        # The reason may quote a sender; the record stays so a repeat is still known.
        db.execute(messages.update().where(messages.c.number == number).values(reason="[erased]"))
        self._drop_unreferenced(old)

    def remove_issue(self, number: str) -> None:
        """Delete issue ``number`` and everything recorded under its number."""
        db = self._db(writes=True)
        self._require_issue(number)
        self.forget_content(number)
        old = self._thread_digests(number)
        self._delete_thread(number)
        schema = self._schema
        for table in (
            schema.issue_assignees,
            schema.issue_details,
            schema.message_ids,
            schema.issues,
        ):
            db.execute(table.delete().where(table.c.number == number))
        self._drop_unreferenced(old)

    def quarantined_messages(self, *, limit: int) -> list[MessageRecord]:
        """Return up to ``limit`` records of quarantined messages, newest first."""
        messages = self._schema.message_ids
        rows = self._db().execute(
            sa.select(messages)
            .where(messages.c.outcome == "quarantined")
            .order_by(messages.c.at.desc(), messages.c.digest.desc())
            .limit(limit)
        )
        return [
            MessageRecord(
                message_id=row.message_id,
                number=row.number,
                outcome=row.outcome,
                reason=row.reason,
                at=None if row.at is None else from_micros(row.at),
                fingerprint=row.fingerprint,
            )
            for row in rows
        ]

    def release_message(self, message_id: str) -> bool:
        """Delete the record of ``message_id`` if it was quarantined."""
        messages = self._schema.message_ids
        db = self._db(writes=True)
        refuse_unstorable("message_id", message_id)
        result = db.execute(
            messages.delete().where(
                messages.c.digest == _digest(message_id), messages.c.outcome == "quarantined"
            )
        )
        return bool(result.rowcount)

    def referenced_blobs(self) -> set[str]:
        """Return the digest of every blob an attachment or a kept message references."""
        attachments, kept = self._schema.attachments, self._schema.kept_messages
        entries = self._schema.thread_entries
        prefix = len(DOCUMENT_BLOB)
        documents = sa.select(sa.func.substr(entries.c.document, prefix + 1, 64)).where(
            sa.func.substr(entries.c.document, 1, prefix) == DOCUMENT_BLOB
        )
        query = sa.union(sa.select(attachments.c.content), sa.select(kept.c.content), documents)
        return set(self._db().execute(query).scalars())

    def _referenced_among(self, digests: Collection[str]) -> set[str]:
        """Return which of ``digests`` an attachment, a kept message or a document references."""
        attachments, kept = self._schema.attachments, self._schema.kept_messages
        entries = self._schema.thread_entries
        prefix = len(DOCUMENT_BLOB)
        stored = sa.func.substr(entries.c.document, prefix + 1, 64)
        found: set[str] = set()
        wanted = sorted(digests)
        for first in range(0, len(wanted), _DIGESTS_PER_QUERY):
            batch = wanted[first : first + _DIGESTS_PER_QUERY]
            query = sa.union(
                sa.select(attachments.c.content).where(attachments.c.content.in_(batch)),
                sa.select(kept.c.content).where(kept.c.content.in_(batch)),
                sa.select(stored).where(
                    sa.func.substr(entries.c.document, 1, prefix) == DOCUMENT_BLOB,
                    stored.in_(batch),
                ),
            )
            found.update(self._db().execute(query).scalars())
        return found

    def lookup_message(self, message_id: str) -> MessageRecord | None:
        """Return the record of ``message_id``, if any."""
        refuse_unstorable("message_id", message_id)
        if self._held is not None:
            return self._held.record(message_id)
        messages = self._schema.message_ids
        row = (
            self._db()
            .execute(sa.select(messages).where(messages.c.digest == _digest(message_id)))
            .one_or_none()
        )
        if row is None:
            return None
        return MessageRecord(
            message_id=row.message_id,
            number=row.number,
            outcome=row.outcome,
            reason=row.reason,
            at=None if row.at is None else from_micros(row.at),
            fingerprint=row.fingerprint,
        )

    @property
    def outbox(self) -> SqlOutbox:
        """Return the outbox of this unit of work."""
        self._db()
        return SqlOutbox(self._db, self._schema.effects)

    @property
    def accounts(self) -> SqlAccounts:
        """Return the agent accounts of this unit of work."""
        self._db()
        return SqlAccounts(self._db, self._schema.agent_accounts)

    @property
    def attempts(self) -> SqlAttempts:
        """Return the attempts counted in this unit of work."""
        self._db()
        return SqlAttempts(self._db, self._schema.attempts)

    def count_auto_replies(self, address: str, since: datetime) -> int:
        """Return how many automatic replies went to ``address`` at or after ``since``."""
        refuse_unstorable("address", address)
        if self._held is not None:
            return self._held.count_auto_replies(address_key(address), to_micros("since", since))
        replies = self._schema.auto_replies
        query = sa.select(sa.func.count()).where(
            replies.c.address == address_key(address), replies.c.at >= to_micros("since", since)
        )
        return int(self._db().execute(query).scalar_one())

    def record_auto_reply(self, address: str, at: datetime) -> None:
        """Count an automatic reply to ``address`` at ``at``."""
        self._db_for_writes()
        refuse_unstorable("address", address)
        if self._held is not None:
            self._held.record_auto_reply(address_key(address), to_micros("at", at))
            return
        db = self._db(writes=True)
        db.execute(
            self._schema.auto_replies.insert().values(
                address=address_key(address), at=to_micros("at", at)
            )
        )

    def forget_auto_replies(self, address: str) -> None:
        """Delete the automatic replies counted against ``address``."""
        db = self._db(writes=True)
        refuse_unstorable("address", address)
        replies = self._schema.auto_replies
        db.execute(replies.delete().where(replies.c.address == address_key(address)))

    def _db_for_writes(self) -> None:
        """Refuse a write if this transaction ended or is read-only; send no held writes."""
        self._connection_now()
        if self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")

    def commit(self) -> None:
        """Keep everything this unit of work did (held writes sent first), and end it.

        Then the blobs it released that no row references any more are
        discarded from the blob store given (see :func:`discard_released`).
        """
        db = self._db()
        db.commit()
        self.committed = True
        released, self._released = self._released, set()
        try:
            # The check reads in a transaction of its own, after the commit.
            discard_released(self._blobs, released, lambda: self._referenced_among(released))
        finally:
            self._connection = None
            self._held = None
            # Ends the check's read; the work has committed, so a failure here is not raised
            # (the pool resets a connection it gets back).
            with suppress(sa.exc.SQLAlchemyError):
                if db.in_transaction():
                    db.rollback()


@attrs.frozen
class _OutboxStatements:
    """The statements a deliverer runs for every row, built once per table.

    Building a statement anew costs more than sending it; these take their
    values as parameters.
    """

    complete: sa.Update
    complete_all: sa.Update
    fail: sa.Update


@functools.lru_cache(maxsize=64)
def _outbox_statements(effects: sa.Table, dialect: str) -> _OutboxStatements:
    """Return the marking statements of the outbox table ``effects`` on ``dialect``."""
    if dialect == "postgresql":  # one array parameter, as in _among
        ids = sa.bindparam("item_ids", type_=postgresql.ARRAY(effects.c.id.type))
        among: sa.ColumnElement[bool] = effects.c.id == sa.any_(ids)
    else:
        among = effects.c.id.in_(sa.bindparam("item_ids", expanding=True))
    done = effects.update().values(
        done_at=sa.bindparam("at"),
        dead_at=None,
        next_attempt_at=None,
        claimed_by=None,
        lease_until=None,
        last_error=None,
    )
    return _OutboxStatements(
        complete=done.where(effects.c.id == sa.bindparam("item_id"), effects.c.done_at.is_(None)),
        complete_all=done.where(among, effects.c.done_at.is_(None)),
        fail=effects.update()
        .where(
            effects.c.id == sa.bindparam("item_id"),
            effects.c.claimed_by == sa.bindparam("owner"),
            effects.c.done_at.is_(None),
        )
        .values(
            next_attempt_at=sa.bindparam("retry_at"),
            dead_at=sa.bindparam("dead_at"),
            claimed_by=None,
            lease_until=None,
            last_error=sa.bindparam("error"),
        ),
    )


class SqlOutbox:
    """The outbox rows of a :class:`SqlUnitOfWork`; see :class:`issuecore.ports.Outbox`.

    A claim selects due rows ``FOR UPDATE SKIP LOCKED``, so workers claiming
    at once divide the rows between them instead of queueing, then marks
    them claimed in the same transaction.
    """

    def __init__(self, db: Callable[..., sa.Connection], effects: sa.Table) -> None:
        self._db = db
        self._effects = effects

    def _columns(self) -> list[sa.Column[Any]]:
        return [column for column in self._effects.c if column.name != "seq"]

    def _exists(self, item_id: str) -> None:
        effects = self._effects
        found = self._db().execute(sa.select(effects.c.seq).where(effects.c.id == item_id))
        if found.first() is None:
            raise LookupError(f"no outbox item with id {item_id!r}")

    def add(self, item: OutboxItem) -> None:
        """Store ``item``; an id already stored is left as it is."""
        self.add_all((item,))

    def add_all(self, items: Sequence[OutboxItem]) -> None:
        """Store each of ``items`` as :meth:`add` would: one insert (a look-up first on MariaDB)."""
        fresh = new_outbox_items(items)
        if not fresh:
            return
        effects = self._effects
        db = self._db(writes=True)
        rows = [
            {
                "id": item.id,
                "kind": str(item.kind),
                "number": item.number,
                "message_id": item.message_id,
                "payload": item.payload,
                "created_at": to_micros("created_at", item.created_at),
                "attempts": item.attempts,
                "next_attempt_at": _optional_micros("next_attempt_at", item.next_attempt_at),
                "claimed_by": item.claimed_by,
                "lease_until": _optional_micros("lease_until", item.lease_until),
                "done_at": _optional_micros("done_at", item.done_at),
                "dead_at": _optional_micros("dead_at", item.dead_at),
                "last_error": item.last_error,
            }
            for item in fresh.values()
        ]
        if db.dialect.name == "postgresql":
            # One statement: the rows whose id is stored already are skipped by the insert.
            inserted = _insert_arrays(db, effects, rows, skip="id")
            assert inserted is not None  # every row has the same columns
            return
        stored = set(
            db.execute(sa.select(effects.c.id).where(effects.c.id.in_(list(fresh)))).scalars()
        )
        rows = [row for row in rows if row["id"] not in stored]
        if rows:
            db.execute(effects.insert(), rows)

    def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows whose lease ran out, the earliest due first."""
        effects = self._effects
        db = self._db(writes=True)
        at = to_micros("now", now)
        chosen = list(
            db.execute(
                sa.select(effects.c.seq)
                .where(
                    effects.c.next_attempt_at.is_not(None),
                    effects.c.next_attempt_at <= at,
                    sa.or_(effects.c.lease_until.is_(None), effects.c.lease_until <= at),
                )
                .order_by(effects.c.next_attempt_at, effects.c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not chosen:
            return []
        db.execute(
            effects.update()
            .where(effects.c.seq.in_(chosen))
            .values(
                claimed_by=owner,
                lease_until=to_micros("until", until),
                attempts=effects.c.attempts + 1,
            )
        )
        return self._select(
            effects.c.seq.in_(chosen), order=(effects.c.next_attempt_at, effects.c.seq)
        )

    def _select(
        self, condition: sa.ColumnElement[bool], *, order: Sequence[Any], limit: int | None = None
    ) -> list[OutboxItem]:
        query = sa.select(*self._columns()).where(condition).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        return [_effect(row) for row in self._db().execute(query)]

    def complete_all(self, item_ids: Sequence[str], *, at: datetime) -> int:
        """Mark each of ``item_ids`` delivered at ``at`` as :meth:`complete` would, in one update.

        Returns how many were not done before.
        """
        wanted = list(dict.fromkeys(item_ids))
        if not wanted:
            return 0
        effects = self._effects
        db = self._db(writes=True)
        changed = db.execute(
            _outbox_statements(effects, db.dialect.name).complete_all,
            {"item_ids": wanted, "at": to_micros("at", at)},
        )
        if changed.rowcount != len(wanted):
            found = set(
                self._db()
                .execute(sa.select(effects.c.id).where(effects.c.id.in_(wanted)))
                .scalars()
            )
            for item_id in wanted:
                if item_id not in found:
                    raise LookupError(f"no outbox item with id {item_id!r}")
        return int(changed.rowcount)

    def complete(self, item_id: str, *, at: datetime) -> bool:
        """Mark ``item_id`` delivered at ``at``; ``False`` if it was already done."""
        db = self._db(writes=True)
        changed = db.execute(
            _outbox_statements(self._effects, db.dialect.name).complete,
            {"item_id": item_id, "at": to_micros("at", at)},
        )
        if changed.rowcount != 1:
            self._exists(item_id)
        return changed.rowcount == 1

    def fail(
        self, item_id: str, *, owner: str, error: str, retry_at: datetime | None, at: datetime
    ) -> bool:
        """Record a failed delivery by ``owner``; retry at ``retry_at`` or dead-letter it."""
        refuse_unstorable("error", error)
        db = self._db(writes=True)
        changed = db.execute(
            _outbox_statements(self._effects, db.dialect.name).fail,
            {
                "item_id": item_id,
                "owner": owner,
                "retry_at": _optional_micros("retry_at", retry_at),
                "dead_at": to_micros("at", at) if retry_at is None else None,
                "error": error,
            },
        )
        if changed.rowcount != 1:
            self._exists(item_id)
        return changed.rowcount == 1

    def get(self, item_id: str) -> OutboxItem | None:
        """Return the row ``item_id``, or ``None``."""
        found = self._select(self._effects.c.id == item_id, order=())
        return found[0] if found else None

    def pending(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` rows not yet delivered nor given up, the earliest due first."""
        effects = self._effects
        return self._select(
            effects.c.next_attempt_at.is_not(None),
            order=(effects.c.next_attempt_at, effects.c.seq),
            limit=limit,
        )

    def dead_letters(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` dead letters, the earliest given up first."""
        effects = self._effects
        return self._select(
            effects.c.dead_at.is_not(None), order=(effects.c.dead_at, effects.c.seq), limit=limit
        )

    def revive(self, item_id: str, *, at: datetime) -> bool:
        """Make the dead letter ``item_id`` pending again at ``at``."""
        effects = self._effects
        changed = self._db(writes=True).execute(
            effects.update()
            .where(effects.c.id == item_id, effects.c.dead_at.is_not(None))
            .values(dead_at=None, next_attempt_at=to_micros("at", at), attempts=0)
        )
        return bool(changed.rowcount == 1)

    def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` rows delivered before ``before``."""
        effects = self._effects
        db = self._db(writes=True)
        old = list(
            db.execute(
                sa.select(effects.c.seq)
                .where(effects.c.done_at.is_not(None), effects.c.done_at < to_micros("at", before))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not old:
            return 0
        db.execute(effects.delete().where(effects.c.seq.in_(old)))
        return len(old)


class SqlAccounts:
    """The agent accounts of a :class:`SqlUnitOfWork`; see ``ports.AgentAccounts``."""

    def __init__(self, db: Callable[..., sa.Connection], accounts: sa.Table) -> None:
        self._db = db
        self._accounts = accounts

    def get(self, address: str) -> AgentAccount | None:
        """Return the account of ``address``, or ``None``."""
        key = account_key(address)
        accounts = self._accounts
        row = (
            self._db()
            .execute(
                sa.select(accounts.c.password_hash, accounts.c.changed_at).where(
                    accounts.c.address == key
                )
            )
            .one_or_none()
        )
        if row is None:
            return None
        return AgentAccount(
            address=key, password_hash=row.password_hash, changed_at=from_micros(row.changed_at)
        )

    def save(self, account: AgentAccount) -> bool:
        """Create the account or replace the one of the same address; return whether it is new."""
        db = self._db(writes=True)
        key = check_account(account)
        accounts = self._accounts
        values = {
            "password_hash": account.password_hash,
            "changed_at": to_micros("changed_at", account.changed_at),
        }
        stored = db.execute(
            sa.select(accounts.c.address).where(accounts.c.address == key).with_for_update()
        ).first()
        if stored is None:
            try:
                with db.begin_nested():
                    db.execute(accounts.insert().values(address=key, **values))
                return True
            except sa.exc.IntegrityError:
                pass  # saved by another transaction meanwhile: replace it below
        db.execute(accounts.update().where(accounts.c.address == key).values(**values))
        return False

    def remove(self, address: str) -> bool:
        """Delete the account of ``address``; return whether there was one."""
        db = self._db(writes=True)
        accounts = self._accounts
        deleted = db.execute(accounts.delete().where(accounts.c.address == account_key(address)))
        return bool(deleted.rowcount == 1)

    def addresses(self) -> list[str]:
        """Return the address of every account, sorted."""
        # Sorted here: every store orders by code point, whatever the database's collation.
        return sorted(self._db().execute(sa.select(self._accounts.c.address)).scalars())


class SqlAttempts:
    """The attempts of a :class:`SqlUnitOfWork`; see :class:`issuecore.ports.AttemptLog`."""

    def __init__(self, db: Callable[..., sa.Connection], attempts: sa.Table) -> None:
        self._db = db
        self._attempts = attempts

    def record(self, scope: str, key: str, at: datetime) -> None:
        """Count one attempt against ``key`` in ``scope`` at ``at``."""
        db = self._db(writes=True)
        check_attempt(scope, key, at)
        db.execute(
            self._attempts.insert().values(scope=scope, attempt_key=key, at=to_micros("at", at))
        )

    def count(self, scope: str, key: str, *, after: datetime) -> int:
        """Return how many attempts were counted against ``key`` in ``scope`` after ``after``."""
        check_attempt(scope, key, after)
        attempts = self._attempts
        query = sa.select(sa.func.count()).where(
            attempts.c.scope == scope,
            attempts.c.attempt_key == key,
            attempts.c.at > to_micros("after", after),
        )
        return int(self._db().execute(query).scalar_one())

    def prune(self, scope: str, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` attempts of ``scope`` made before ``before``; return how many."""
        db = self._db(writes=True)
        check_attempt(scope, "-", before)
        attempts = self._attempts
        old = list(
            db.execute(
                sa.select(attempts.c.id)
                .where(attempts.c.scope == scope, attempts.c.at < to_micros("before", before))
                .order_by(attempts.c.at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not old:
            return 0
        db.execute(attempts.delete().where(attempts.c.id.in_(old)))
        return len(old)


def _effect(row: sa.Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        kind=row.kind,
        number=row.number,
        message_id=row.message_id,
        payload=bytes(row.payload),
        created_at=from_micros(row.created_at),
        attempts=row.attempts,
        next_attempt_at=_optional_instant(row.next_attempt_at),
        claimed_by=row.claimed_by,
        lease_until=_optional_instant(row.lease_until),
        done_at=_optional_instant(row.done_at),
        dead_at=_optional_instant(row.dead_at),
        last_error=row.last_error,
    )


class SqlBlobStore:
    """Blobs in the ``blobs`` and ``blob_chunks`` tables, in the transaction of ``connection``.

    A blob is one ``blobs`` row (digest, size) and its bytes in ``blob_chunks``
    rows of at most :data:`~issuecore.adapters.blobs.CHUNK_SIZE` bytes, one
    statement per row; a rollback takes them back with everything else.
    """

    def __init__(self, connection: sa.Connection, schema: _Schema, *, read_only: bool) -> None:
        self._connection = connection
        self._schema = schema
        self._read_only = read_only

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` unless it is kept already; return its digest."""
        if self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        with BlobContent(content) as described:
            # Claiming the digest first waits for a transaction writing the same content.
            if _claim_blob(self._connection, self._schema.blobs, described.digest, described.size):
                insert = self._schema.blob_chunks.insert()
                for seq, piece in enumerate(described.pieces()):
                    self._connection.execute(
                        insert.values(digest=described.digest, seq=seq, data=bytes(piece))
                    )
            return described.digest

    def _size(self, digest: str) -> int:
        blobs = self._schema.blobs
        size = self._connection.execute(
            sa.select(blobs.c.size).where(blobs.c.digest == check_digest(digest))
        ).scalar()
        if size is None:
            raise BlobNotFoundError.for_digest(digest)
        return int(size)

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest``."""
        return joined(self._pieces(digest), self._size(digest))

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` one chunk row at a time."""
        self._size(digest)
        return self._pieces(digest)

    def _pieces(self, digest: str) -> Iterator[bytes]:
        chunks = self._schema.blob_chunks
        sequence = list(
            self._connection.execute(
                sa.select(chunks.c.seq).where(chunks.c.digest == digest).order_by(chunks.c.seq)
            ).scalars()
        )
        for seq in sequence:
            yield self._connection.execute(
                sa.select(chunks.c.data).where(chunks.c.digest == digest, chunks.c.seq == seq)
            ).scalar_one()

    def has(self, digest: str) -> bool:
        """Return whether content is kept under ``digest``."""
        blobs = self._schema.blobs
        found = self._connection.execute(
            sa.select(blobs.c.digest).where(blobs.c.digest == check_digest(digest))
        ).first()
        return found is not None


def _among(column: sa.ColumnElement[Any], values: Sequence[Any], dialect: str) -> Any:
    """Return ``column IN values``; on PostgreSQL ``= ANY`` of one array parameter.

    psycopg converts every statement's placeholders with a pattern match,
    remembering the result only for short statements: a list of 200
    placeholders is matched anew each time, one array parameter is not.
    """
    if dialect == "postgresql":
        return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(column.type)))
    return column.in_(values)


@functools.lru_cache(maxsize=256)
def _unnest_insert(
    table: sa.Table, names: tuple[str, ...], skip: str | None, dialect: sa.Dialect
) -> str:
    """Return a PostgreSQL INSERT of one row per array position, in the arrays' order.

    Each column ``name`` is bound as one array parameter ``u_name``: a short
    statement whatever the number of rows, sent in one round trip, where an
    executemany sends a bind and an execute for every row and a multi-row
    ``VALUES`` a placeholder for every value. A row whose column ``skip`` is
    stored already is left out, and the statement returns ``skip`` of the
    rows it inserted. The arrays go in psycopg's binary format (``%(u_name)b``):
    in text, every element is searched and escaped, which for 200 stored
    documents costs more than the rest of the batch's statements together.
    """
    arrays = [
        sa.bindparam(f"u_{name}", type_=postgresql.ARRAY(table.c[name].type)) for name in names
    ]
    rows = (
        sa.func.unnest(*arrays)
        .table_valued(
            *(sa.column(name, table.c[name].type) for name in names), with_ordinality="u_position"
        )
        .render_derived(name="u")
    )
    source = sa.select(*(rows.c[name] for name in names)).order_by(rows.c.u_position)
    insert = postgresql.insert(table).from_select(list(names), source)
    if skip is None:
        sql = str(insert.compile(dialect=dialect))
    else:
        skipping = insert.on_conflict_do_nothing(index_elements=[table.c[skip]])
        sql = str(skipping.returning(table.c[skip]).compile(dialect=dialect))
    for name in names:
        sql = sql.replace(f"%(u_{name})s", f"%(u_{name})b")
    return sql


def _insert_arrays(
    db: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, skip: str | None
) -> set[Any] | None:
    """Insert ``rows`` on PostgreSQL as arrays (see :func:`_unnest_insert`).

    Returns what the insert returned (the values of ``skip`` inserted), or
    ``None`` when the rows do not all have the same columns: nothing was sent.
    """
    names = tuple(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        return None
    kinds = _array_kinds(table, names)
    _typed_arrays_known(db.connection.driver_connection)
    values = {
        f"u_{name}": kind([row[name] for row in rows])
        for name, kind in zip(names, kinds, strict=True)
    }
    result = db.exec_driver_sql(_unnest_insert(table, names, skip, db.dialect), values)
    return set(result.scalars()) if skip is not None else set()


class _TextArray(list[Any]):
    """The values of a text column, sent as ``text[]``."""


class _BigIntArray(list[Any]):
    """The values of an integer column, sent as ``bigint[]`` (the insert casts them)."""


class _ByteaArray(list[Any]):
    """The values of a binary column, sent as ``bytea[]``."""


_ARRAY_ELEMENTS: Final = {_TextArray: "text", _BigIntArray: "int8", _ByteaArray: "bytea"}


@functools.lru_cache(maxsize=256)
def _array_kinds(table: sa.Table, names: tuple[str, ...]) -> tuple[type[list[Any]], ...]:
    """Return the array type each column's values are sent as.

    psycopg finds the type of a plain list by looking at every element, once
    to choose its dumper and again to make it (and for integers to find the
    smallest type that holds the largest); a list of a type its dumper is
    registered for is dumped at once. A column of another type goes as a
    plain list.
    """

    def kind(column_type: sa.types.TypeEngine[Any]) -> type[list[Any]]:
        if isinstance(column_type, sa.String):
            return _TextArray
        if isinstance(column_type, sa.Integer):
            return _BigIntArray
        if isinstance(column_type, sa.LargeBinary):
            return _ByteaArray
        return list

    return tuple(kind(table.c[name].type) for name in names)


_TYPED: Final[weakref.WeakSet[Any]] = weakref.WeakSet()


def _typed_arrays_known(connection: Any) -> None:
    """Register the dumpers of the typed arrays on psycopg ``connection``, once."""
    if connection in _TYPED:
        return
    from psycopg.postgres import types
    from psycopg.types.array import ListBinaryDumper

    for values, element in _ARRAY_ELEMENTS.items():
        info = types[element]
        dumper = type(
            f"{values.__name__}Dumper",
            (ListBinaryDumper,),
            {"element_oid": info.oid, "oid": info.array_oid},
        )
        connection.adapters.register_dumper(values, dumper)
    _TYPED.add(connection)


def _insert_rows(
    db: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], dialect: str
) -> None:
    """Insert ``rows`` in their order: on PostgreSQL as arrays (see :func:`_unnest_insert`)."""
    if not rows:
        return
    if dialect == "postgresql" and _insert_arrays(db, table, rows, skip=None) is not None:
        return
    db.execute(table.insert(), rows)


@attrs.define
class _IssueWrite:
    """An issue a batch holds to write: new (``expected`` is ``None``) or replacing ``expected``."""

    issue: Issue
    columns: dict[str, Any]
    expected: int | None


class _HeldWrites:
    """What one batched transaction read, and the writes it holds until a flush sends them.

    Reads are answered from here first: an issue, a message record or a count
    of automatic replies the batch read or wrote is not read again. The held
    writes go out table by table, each table in one statement (an executemany
    that psycopg sends as one pipeline), in an order the foreign keys accept;
    an issue written several times is written once, checked against the
    version the batch first read.
    """

    def __init__(self, connection: sa.Connection, schema: _Schema, dialect: str) -> None:
        self._connection = connection
        self._schema = schema
        self._dialect = dialect
        self.failed = False
        # Read (or written) so far; a record of ``None`` is known to be absent.
        self._issues: dict[str, Issue] = {}
        self._records: dict[str, MessageRecord | None] = {}
        self._senders: set[str] = set()
        self._reply_times: dict[str, list[int]] = {}
        self._replies_since: int | None = None
        # year -> [the value stored, the last value handed out]; the row is locked.
        self._sequences: dict[int, list[int]] = {}
        # Held, in the order written.
        self._issue_writes: dict[str, _IssueWrite] = {}
        self._entries: list[dict[str, Any]] = []
        self._search: list[dict[str, Any]] = []
        self._messages: list[dict[str, Any]] = []
        self._replies: list[dict[str, Any]] = []

    # --- reads ----------------------------------------------------------------------

    def read_records(self, message_ids: Iterable[str]) -> None:
        """Read the records of ``message_ids`` ahead, in a few statements."""
        digests = sorted({_digest(message_id) for message_id in message_ids} - self._records.keys())
        messages = self._schema.message_ids
        for first in range(0, len(digests), _DIGESTS_PER_QUERY):
            batch = digests[first : first + _DIGESTS_PER_QUERY]
            self._records.update(dict.fromkeys(batch))
            rows = self._connection.execute(
                sa.select(messages).where(_among(messages.c.digest, batch, self._dialect))
            )
            for row in rows:
                self._records[row.digest] = _message_record(row._mapping)

    def record(self, message_id: str) -> MessageRecord | None:
        digest = _digest(message_id)
        if digest not in self._records:
            self.read_records((message_id,))
        return self._records[digest]

    def issue(self, number: str) -> Issue:
        """Return issue ``number`` as the batch last saw or wrote it; a first read locks its row."""
        known = self._issues.get(number)
        if known is None:
            self.read_issues((number,))
            known = self._issues.get(number)
        if known is None:
            raise IssueNotFoundError.for_number(number)
        return known

    def read_issues(self, numbers: Iterable[str]) -> None:
        """Read the stored issues among ``numbers`` ahead, locking their rows in number order."""
        wanted = sorted({number for number in numbers if number not in self._issues})
        issues = self._schema.issues
        for first in range(0, len(wanted), _DIGESTS_PER_QUERY):
            rows = self._connection.execute(
                sa.select(issues.c.number, issues.c.document, issues.c.version)
                .where(
                    _among(
                        issues.c.number, wanted[first : first + _DIGESTS_PER_QUERY], self._dialect
                    )
                )
                .order_by(issues.c.number)
                .with_for_update()
            )
            for row in rows:
                self._issues[row.number] = issue_from_document(row.document, version=row.version)

    def expect_senders(self, addresses: Iterable[str]) -> None:
        """Note the addresses whose automatic replies the batch will count, to read them at once."""
        for address in addresses:
            with suppress(Exception):  # an address that has no key is simply not read ahead
                self._senders.add(address_key(address))

    def count_auto_replies(self, key: str, since: int) -> int:
        """Return the automatic replies to ``key`` since ``since``: those stored and those held."""
        if self._replies_since is None or since < self._replies_since:
            # The first count reads every sender of the batch at once.
            self._reply_times.clear()
            self._read_replies({*self._senders, key}, since)
        elif key not in self._reply_times:
            self._read_replies({key}, self._replies_since)
        stored = sum(1 for at in self._reply_times[key] if at >= since)
        held = sum(1 for row in self._replies if row["address"] == key and row["at"] >= since)
        return stored + held

    def _read_replies(self, keys: set[str], since: int) -> None:
        replies = self._schema.auto_replies
        ordered = sorted(keys)
        self._replies_since = since
        for first in range(0, len(ordered), _DIGESTS_PER_QUERY):
            batch = ordered[first : first + _DIGESTS_PER_QUERY]
            for key in batch:
                self._reply_times.setdefault(key, [])
            rows = self._connection.execute(
                sa.select(replies.c.address, replies.c.at).where(
                    _among(replies.c.address, batch, self._dialect), replies.c.at >= since
                )
            )
            for address, at in rows:
                self._reply_times[address].append(int(at))

    # --- held writes ------------------------------------------------------------------

    def next_sequence(self, year: int) -> int:
        if year not in self._sequences:
            stored = self._lock_sequence(year)
            self._sequences[year] = [stored, stored]
        self._sequences[year][1] += 1
        return self._sequences[year][1]

    def _lock_sequence(self, year: int) -> int:
        """Return the last sequence of ``year`` stored; its row stays locked until the end."""
        sequences = self._schema.issue_sequences
        db = self._connection
        if self._dialect == "postgresql":
            upsert = postgresql.insert(sequences).values(year=year, last_value=0)
            statement = upsert.on_conflict_do_update(
                index_elements=[sequences.c.year], set_={"last_value": sequences.c.last_value}
            ).returning(sequences.c.last_value)
            return int(db.execute(statement).scalar_one())
        mysql_upsert = mysql.insert(sequences).values(year=year, last_value=0)
        db.execute(mysql_upsert.on_duplicate_key_update(last_value=sequences.c.last_value))
        locked = sa.select(sequences.c.last_value).where(sequences.c.year == year).with_for_update()
        return int(db.execute(locked).scalar_one())

    def insert_issue(self, issue: Issue, columns: dict[str, Any]) -> Issue:
        if issue.number in self._issues or issue.number in self._issue_writes:
            raise ConcurrencyConflictError.already_exists(issue.number)
        stored = evolve(issue, version=1)
        self._issue_writes[issue.number] = _IssueWrite(issue=stored, columns=columns, expected=None)
        self._issues[issue.number] = stored
        self._search.append({"number": issue.number, "body": searchable(issue.subject)})
        return stored

    def update_issue(self, issue: Issue, columns: dict[str, Any]) -> Issue:
        current = self.issue(issue.number)
        if current.version != issue.version:
            raise ConcurrencyConflictError.stale_version(
                issue.number, expected=issue.version, stored=current.version
            )
        stored = evolve(issue, version=issue.version + 1)
        held = self._issue_writes.get(issue.number)
        expected = issue.version if held is None else held.expected
        self._issue_writes[issue.number] = _IssueWrite(
            issue=stored, columns=columns, expected=expected
        )
        self._issues[issue.number] = stored
        return stored

    def append_entry(self, row: dict[str, Any], searched: str) -> None:
        self._entries.append(row)
        self._search.append({"number": row["number"], "body": searched})

    def record_message(self, row: dict[str, Any]) -> None:
        # A record not read (the desk's own replies) is not looked up: the flush finds a repeat.
        if self._records.get(row["digest"]) is not None:
            raise DuplicateMessageError.for_message_id(row["message_id"])
        self._messages.append(row)
        self._records[row["digest"]] = _message_record(row)

    def record_auto_reply(self, key: str, at: int) -> None:
        self._replies.append({"address": key, "at": at})

    # --- flush --------------------------------------------------------------------------

    def flush(self) -> None:
        """Send every held write, table by table; raise a conflict as the single writes would.

        After a failed flush some held writes were sent and some not: the
        transaction can only be rolled back, so every later flush (and so
        every commit) refuses.
        """
        if self.failed:
            raise RuntimeError(
                "sending this transaction's held writes failed; roll it back and start again"
            )
        if not (
            self._issue_writes
            or self._entries
            or self._search
            or self._messages
            or self._replies
            or any(stored != last for stored, last in self._sequences.values())
        ):
            return
        try:
            self._send()
        except BaseException:
            self.failed = True
            raise

    def _send(self) -> None:
        schema, db = self._schema, self._connection
        sequences = schema.issue_sequences
        for year, numbers in sorted(self._sequences.items()):
            if numbers[1] != numbers[0]:
                db.execute(
                    sequences.update().where(sequences.c.year == year).values(last_value=numbers[1])
                )
                numbers[0] = numbers[1]
        writes, self._issue_writes = self._issue_writes, {}
        new = [write for write in writes.values() if write.expected is None]
        changed = [write for write in writes.values() if write.expected is not None]
        self._insert_new(
            schema.issues,
            [{"number": w.issue.number, "version": w.issue.version, **w.columns} for w in new],
            lambda number: ConcurrencyConflictError.already_exists(number),
        )
        self._update_versions(changed)
        self._replace_keys(new, changed)
        entries, self._entries = self._entries, []
        _insert_rows(db, schema.thread_entries, entries, self._dialect)
        search, self._search = self._search, []
        _insert_rows(db, schema.search_text, search, self._dialect)
        messages, self._messages = self._messages, []
        self._insert_new(
            schema.message_ids,
            messages,
            lambda digest: DuplicateMessageError.for_message_id(
                next(row["message_id"] for row in messages if row["digest"] == digest)
            ),
        )
        replies, self._replies = self._replies, []
        _insert_rows(db, schema.auto_replies, replies, self._dialect)
        for row in replies:  # now stored: counted with those read
            if row["address"] in self._reply_times:
                self._reply_times[row["address"]].append(row["at"])

    def _insert_new(
        self,
        table: sa.Table,
        rows: list[dict[str, Any]],
        conflict: Callable[[str], Exception],
    ) -> None:
        """Insert ``rows``, each with a new primary key; raise ``conflict`` for one that is not."""
        if not rows:
            return
        key = next(iter(table.primary_key.columns))
        db = self._connection
        inserted = None
        if self._dialect == "postgresql":
            inserted = _insert_arrays(db, table, rows, skip=key.name)
        if inserted is not None:
            for row in rows:
                if row[key.name] not in inserted:
                    raise conflict(row[key.name])
            return
        if self._dialect == "postgresql":
            inserted = set(
                db.execute(
                    postgresql.insert(table).on_conflict_do_nothing().returning(key), rows
                ).scalars()
            )
            for row in rows:
                if row[key.name] not in inserted:
                    raise conflict(row[key.name])
            return
        try:
            db.execute(table.insert(), rows)
        except sa.exc.IntegrityError:
            # MariaDB undid the statement alone; name a row that was there before.
            wanted = [row[key.name] for row in rows]
            found = set(db.execute(sa.select(key).where(key.in_(wanted))).scalars())
            taken = [value for value in wanted if value in found]
            if not taken:
                raise
            raise conflict(taken[0]) from None

    def _update_versions(self, changed: list[_IssueWrite]) -> None:
        if not changed:
            return
        issues = self._schema.issues
        names = list(changed[0].columns)
        statement = (
            issues.update()
            .where(
                issues.c.number == sa.bindparam("held_number"),
                issues.c.version == sa.bindparam("held_expected"),
            )
            .values(
                version=sa.bindparam("held_version"),
                **{name: sa.bindparam(f"held_{name}") for name in names},
            )
        )
        rows = [
            {
                "held_number": write.issue.number,
                "held_expected": write.expected,
                "held_version": write.issue.version,
                **{f"held_{name}": write.columns[name] for name in names},
            }
            for write in changed
        ]
        updated = self._connection.execute(statement, rows)
        if updated.rowcount == len(rows):
            return
        # Another transaction changed an issue the batch did not read with a lock.
        numbers = [write.issue.number for write in changed]
        stored = dict(
            self._connection.execute(
                sa.select(issues.c.number, issues.c.version).where(issues.c.number.in_(numbers))
            ).tuples()
        )
        for write in changed:
            number = write.issue.number
            if number not in stored:
                raise IssueNotFoundError.for_number(number)
            assert write.expected is not None
            if stored[number] != write.expected:
                raise ConcurrencyConflictError.stale_version(
                    number, expected=write.expected, stored=stored[number]
                )
        raise ConcurrencyConflictError.aborted_by_database("an issue changed while written")

    def _replace_keys(self, new: list[_IssueWrite], changed: list[_IssueWrite]) -> None:
        """Write the assignee and detail rows of the issues written: deleted first if stored."""
        schema, db = self._schema, self._connection
        numbers = [write.issue.number for write in changed]
        assignees: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        for write in (*new, *changed):
            number = write.issue.number
            users = dict.fromkeys(write.issue.assignees)
            assignees.extend({"assignee": user, "number": number} for user in users)
            keys = dict.fromkeys(detail_keys(write.issue))
            details.extend({"detail": key, "number": number} for key in keys)
        for table, rows in ((schema.issue_assignees, assignees), (schema.issue_details, details)):
            if numbers:
                db.execute(table.delete().where(_among(table.c.number, numbers, self._dialect)))
            _insert_rows(db, table, rows, self._dialect)


def _message_record(row: Mapping[Any, Any]) -> MessageRecord:
    """Return the record a ``message_ids`` row holds."""
    return MessageRecord(
        message_id=row["message_id"],
        number=row["number"],
        outcome=row["outcome"],
        reason=row["reason"],
        at=None if row["at"] is None else from_micros(row["at"]),
        fingerprint=row["fingerprint"],
    )


# Errors a database raises to end one of several transactions competing for
# the same rows; running the transaction again is the documented remedy.
_POSTGRESQL_RETRYABLE: Final = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
}
_MYSQL_RETRYABLE: Final = {1213: "deadlock found", 1205: "lock wait timeout"}


def _aborted_for_concurrency(error: sa.exc.DBAPIError) -> str | None:
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _POSTGRESQL_RETRYABLE:
        return _POSTGRESQL_RETRYABLE[sqlstate]
    arguments = getattr(original, "args", ())
    if arguments and isinstance(arguments[0], int):
        return _MYSQL_RETRYABLE.get(arguments[0])
    return None


def _new_id(inserted: sa.CursorResult[Any]) -> int:
    key = inserted.inserted_primary_key
    assert key is not None
    return int(key[0])


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


def _optional_micros(name: str, value: datetime | None) -> int | None:
    return None if value is None else to_micros(name, require_aware(name, value))


def _optional_instant(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)
