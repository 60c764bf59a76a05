"""The ports: what the help desk needs from the world, as :class:`typing.Protocol` classes.

The desk does each operation as one unit of work::

    with store.transaction() as work:
        issue = work.get_issue(number, for_update=True)
        ...                                   # pure domain rules
        work.update_issue(changed, wake_at=due)
        work.append_entry(number, entry)
        work.enqueue(item)
        work.commit()                         # nothing is kept without this

Leaving the ``with`` block without :meth:`UnitOfWork.commit` rolls everything
back, also when an exception leaves it.
"""

from __future__ import annotations

import email.policy
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Protocol

import attrs

from issuecore._instants import aware_field, optional_aware_field
from issuecore.model import Event, Issue, ThreadEntry

__all__ = [
    "BlobStore",
    "Clock",
    "EventSink",
    "InboundMessage",
    "MailSource",
    "Mailer",
    "MessageRecord",
    "Notifier",
    "OutboxItem",
    "Store",
    "TaskBoard",
    "UnitOfWork",
]


# Lines up to RFC 5322's 998 characters: a long Message-ID in In-Reply-To or
# References is then kept as it is instead of being RFC 2047-encoded.
_STORED = email.policy.default.clone(max_line_length=998)


@attrs.frozen(kw_only=True)
class MessageRecord:
    """What became of one inbound Message-ID: the issue it went to, the outcome and why."""

    message_id: str
    number: str | None
    outcome: str
    reason: str
    at: datetime | None = attrs.field(default=None, validator=optional_aware_field)


@attrs.frozen(kw_only=True)
class OutboxItem:
    """One outbound message waiting to be sent, or sent; ``id`` is given by the store.

    ``message`` holds the raw bytes of an :class:`email.message.EmailMessage`;
    :meth:`email` parses them back. A row is pending while ``next_attempt_at``
    is set; it is cleared when the message is sent or given up.
    """

    number: str | None
    message_id: str
    message: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    created_at: datetime = attrs.field(validator=aware_field)
    next_attempt_at: datetime | None = attrs.field(validator=optional_aware_field)
    attempts: int = 0
    sent_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    last_error: str | None = None
    id: int | None = None

    @classmethod
    def for_message(
        cls, message: EmailMessage, *, number: str | None, created_at: datetime
    ) -> OutboxItem:
        """Return a new pending item for ``message``, due at ``created_at``."""
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("an outbound message needs a Message-ID header before it is queued")
        return cls(
            number=number,
            message_id=str(message_id),
            message=message.as_bytes(policy=_STORED),
            created_at=created_at,
            next_attempt_at=created_at,
        )

    def email(self) -> EmailMessage:
        """Return the message parsed back from its bytes."""
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.message)
        assert isinstance(parsed, EmailMessage)
        return parsed


class UnitOfWork(Protocol):
    """One transaction against a :class:`Store`; nothing is kept unless :meth:`commit` is called."""

    def get_issue(self, number: str, *, for_update: bool = False) -> Issue:
        """Return the stored issue ``number``; raise ``IssueNotFoundError`` if there is none.

        ``for_update`` takes a row lock where the database has them, so other
        writers of this issue wait until this unit of work ends.
        """
        ...

    def insert_issue(self, issue: Issue, *, wake_at: datetime | None) -> Issue:
        """Store a new issue and return it with version 1.

        Raise ``ConcurrencyConflictError`` if the number is taken. ``wake_at``
        is the earliest instant the sweep must look at the issue again.
        """
        ...

    def update_issue(self, issue: Issue, *, wake_at: datetime | None) -> Issue:
        """Store ``issue`` over the stored one and return it with the next version.

        Succeeds only if the stored version equals ``issue.version``; else raise
        ``ConcurrencyConflictError`` (``IssueNotFoundError`` if there is none).
        """
        ...

    def next_sequence(self, year: int) -> int:
        """Return the next issue sequence of ``year`` (1, 2, ...), never handed out twice."""
        ...

    def due_issues(self, now: datetime, *, limit: int) -> list[str]:
        """Return up to ``limit`` numbers whose ``wake_at`` is at or before ``now``, oldest first.

        Servers with row locks lock the rows and skip rows other workers hold.
        """
        ...

    def find_issues(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        raised_by: str | None = None,
        limit: int | None = None,
    ) -> list[Issue]:
        """Return the issues matching every filter given, oldest first.

        ``raised_by`` matches by address identity
        (:func:`~issuecore.mail.addresses.address_key`: ASCII case and IDNA
        domain forms aside, exactly); the other filters exactly.
        """
        ...

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        """Add ``entry`` (with its attachments) to the end of the thread of issue ``number``."""
        ...

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number`` in the order the entries were appended."""
        ...

    def record_message(
        self,
        message_id: str,
        *,
        number: str | None,
        outcome: str,
        reason: str,
        at: datetime | None = None,
    ) -> None:
        """Record what became of ``message_id``; raise ``DuplicateMessageError`` if recorded."""
        ...

    def lookup_message(self, message_id: str) -> MessageRecord | None:
        """Return the record of ``message_id``, or ``None`` if it was never recorded."""
        ...

    def keep_message(self, message_id: str, raw: bytes) -> None:
        """Keep the raw bytes of a message that went to no issue (quarantined, ignored).

        Keeping the same ``message_id`` again replaces nothing and raises nothing.
        """
        ...

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept for ``message_id``, or ``None``."""
        ...

    def enqueue(self, item: OutboxItem) -> OutboxItem:
        """Add ``item`` to the outbox and return it with its ``id``."""
        ...

    def pending_outbox(self, now: datetime, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` items due for an attempt at ``now``, the earliest due first.

        Servers with row locks lock the rows and skip rows other workers hold.
        """
        ...

    def mark_sent(self, item_id: int, at: datetime) -> None:
        """Record that item ``item_id`` was sent at ``at``; it is no longer pending."""
        ...

    def mark_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt; retry at ``retry_at``, or never again when it is ``None``."""
        ...

    def count_auto_replies(self, address: str, since: datetime) -> int:
        """Return how many automatic replies were counted against ``address`` since ``since``."""
        ...

    def record_auto_reply(self, address: str, at: datetime) -> None:
        """Count an automatic reply against ``address`` at ``at``, keyed by its address key."""
        ...

    def commit(self) -> None:
        """Keep everything this unit of work did."""
        ...


class Store(Protocol):
    """Durable storage of issues, threads, the Message-ID index and the outbox."""

    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        """Return a context manager yielding a unit of work that rolls back unless committed.

        ``read_only`` promises that nothing will be written, which lets the
        embedded database run it beside a writer.
        """
        ...


class BlobStore(Protocol):
    """Content-addressed bytes: each content is kept once, under the SHA-256 of its bytes.

    A digest is the lower-case hexadecimal SHA-256 of the content (64
    characters). Stores keep attachments and kept messages here and reference
    them by digest; see ``storage.md`` for where the bytes of each adapter live.
    """

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` (bytes, or an iterable of byte chunks) and return its digest.

        Keeping content that is already kept stores nothing more.
        """
        ...

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest``; raise ``BlobNotFoundError`` if none is."""
        ...

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` in pieces; raise ``BlobNotFoundError`` first."""
        ...

    def has(self, digest: str) -> bool:
        """Return whether content is kept under ``digest``."""
        ...


class Mailer(Protocol):
    """Sends outbound mail."""

    def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise if it was not accepted."""
        ...


class InboundMessage(Protocol):
    """One message from a mail source, acknowledged only once the desk committed it."""

    @property
    def raw(self) -> bytes:
        """Return the message exactly as received."""
        ...

    def ack(self) -> None:
        """Mark the message handled at the source (delete, move or flag it)."""
        ...


class MailSource(Protocol):
    """Yields inbound messages; a message not acknowledged is offered again next time."""

    def messages(self) -> Iterator[InboundMessage]:
        """Yield the messages waiting at the source."""
        ...


class Clock(Protocol):
    """Tells the time; the domain never reads the system clock itself."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...


class TaskBoard(Protocol):
    """To-dos for assignees."""

    def open_todo(self, number: str, user: str, text: str) -> None:
        """Open a to-do for ``user`` about issue ``number``."""
        ...

    def close_todos(self, number: str, user: str | None = None) -> None:
        """Close the open to-dos of issue ``number``, only ``user``'s when given."""
        ...


class Notifier(Protocol):
    """Messages to users of the desk."""

    def notify(self, user: str, text: str) -> None:
        """Tell ``user`` ``text``."""
        ...


class EventSink(Protocol):
    """Receives the domain events of committed changes."""

    def publish(self, event: Event) -> None:
        """Handle ``event``."""
        ...
