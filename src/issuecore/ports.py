"""The ports: what the help desk needs from the world, as :class:`typing.Protocol` classes.

The desk does each operation as one unit of work::

    with store.transaction() as work:
        issue = work.get_issue(number, for_update=True)
        ...                                   # pure domain rules
        work.update_issue(changed, wake_at=due)
        work.append_entry(number, entry)
        work.outbox.add(item)                 # every effect, as a row
        work.commit()                         # nothing is kept without this

Leaving the ``with`` block without :meth:`UnitOfWork.commit` rolls everything
back, also when an exception leaves it.
"""

from __future__ import annotations

import email.policy
import enum
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Protocol, runtime_checkable

import attrs

from issuecore._instants import (
    aware_field,
    optional_aware_field,
    optional_utc_converter,
    utc_converter,
)
from issuecore._model import Event, Issue, ThreadEntry
from issuecore._queries import IssuePage, IssueQuery
from issuecore.mail._headers import MimeHeaderFactory
from issuecore.mail._plain import read_one_part

__all__ = [
    "AgentAccount",
    "AgentAccounts",
    "AttemptLog",
    "BlobStore",
    "Clock",
    "DiscardingBlobStore",
    "EffectKind",
    "EventSink",
    "MailSource",
    "Mailer",
    "MessageRecord",
    "Notifier",
    "Outbox",
    "OutboxItem",
    "PendingMessage",
    "Store",
    "TaskBoard",
    "TokenProvider",
    "UnitOfWork",
    "new_effect_id",
]


# Lines up to RFC 5322's 998 characters: a long Message-ID in In-Reply-To or
# References is then kept as it is instead of being RFC 2047-encoded.
_STORED = email.policy.default.clone(max_line_length=998)
# Reading a stored message back asks for each part's Content-Type several times;
# intake's header factory builds those objects faster, and the same.
_READ = email.policy.default.clone(header_factory=MimeHeaderFactory())


@attrs.frozen(kw_only=True)
class MessageRecord:
    """What became of one inbound Message-ID: the issue it went to, the outcome and why.

    ``fingerprint`` identifies the content recorded under the Message-ID (see
    :func:`issuecore.mail._matching.message_fingerprint`); ``None`` for records
    written before fingerprints were kept, and for messages the desk sent.
    """

    message_id: str
    number: str | None
    outcome: str
    reason: str
    at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    fingerprint: str | None = None


class EffectKind(enum.StrEnum):
    """What an outbox row asks to be done once its transaction has committed."""

    MAIL = "mail"
    EVENT = "event"
    TODO_OPENED = "todo_opened"
    TODOS_CLOSED = "todos_closed"
    NOTICE = "notice"


@attrs.frozen(kw_only=True)
class OutboxItem:
    """One effect of a committed change, stored in the same transaction: mail, event, to-do, notice.

    ``id`` is stable: it never changes between attempts, so whoever receives
    the effect can drop a repeat by it (mail also keeps its ``message_id``).
    ``payload`` holds the raw bytes of the message for mail, JSON for the
    other kinds. A row is pending while ``next_attempt_at`` is set; it is
    cleared when the effect is delivered (``done_at``) or given up as a dead
    letter (``dead_at``). A deliverer holds a row it claimed until
    ``lease_until``; after that, any deliverer may claim it again.
    ``attempts`` counts the claims.
    """

    id: str
    kind: EffectKind = attrs.field(converter=EffectKind)
    number: str | None
    payload: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    message_id: str | None = None
    created_at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    next_attempt_at: datetime | None = attrs.field(
        converter=optional_utc_converter, validator=optional_aware_field
    )
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    done_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    dead_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    last_error: str | None = None

    @classmethod
    def for_message(
        cls,
        message: EmailMessage,
        *,
        number: str | None,
        created_at: datetime,
        id: str | None = None,
    ) -> OutboxItem:
        """Return a new pending item for ``message``, due at ``created_at``."""
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("an outbound message needs a Message-ID header before it is queued")
        return cls(
            id=id if id is not None else new_effect_id(),
            kind=EffectKind.MAIL,
            number=number,
            message_id=str(message_id),
            payload=message.as_bytes(policy=_STORED),
            created_at=created_at,
            next_attempt_at=created_at,
        )

    @property
    def state(self) -> str:
        """Return ``"pending"``, ``"done"`` or ``"dead"``."""
        if self.done_at is not None:
            return "done"
        if self.dead_at is not None:
            return "dead"
        return "pending"

    def email(self) -> EmailMessage:
        """Return the message parsed back from its bytes (mail only)."""
        if self.kind is not EffectKind.MAIL:
            raise ValueError(f"outbox item {self.id} is a {self.kind}, not mail")
        # The desk's own mail is one text part, read without the feed parser.
        parsed = read_one_part(self.payload, _READ)
        if parsed is None:
            parsed = BytesParser(policy=_READ).parsebytes(self.payload)
        assert isinstance(parsed, EmailMessage)
        for part in parsed.walk():
            # The parse kept the raw header lines; later reads use the standard policy.
            part.policy = email.policy.default
        return parsed


def new_effect_id() -> str:
    """Return a fresh stable id for an outbox item (a random UUID in hexadecimal)."""
    # What uuid.uuid4().hex gives, without building the UUID object (ids are made per effect).
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


class Outbox(Protocol):
    """The outbox rows of one unit of work: ``work.outbox``.

    Rows are added in the transaction of the change that causes them. A
    deliverer claims due rows in a transaction of its own and commits the
    claim before it delivers; servers with row locks skip rows another
    claiming transaction holds, and every store skips rows whose lease has
    not run out.
    """

    def add(self, item: OutboxItem) -> None:
        """Store ``item``; an ``id`` already stored is left as it is."""
        ...

    def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[OutboxItem]:
        """Claim up to ``limit`` pending rows due at ``now`` whose lease ran out, oldest due first.

        Each claimed row gets ``claimed_by=owner``, ``lease_until=until`` and
        one more attempt; the rows are returned as they now stand.
        """
        ...

    def complete(self, item_id: str, *, at: datetime) -> bool:
        """Mark ``item_id`` delivered at ``at``; return ``False`` if it was already done.

        Raise ``LookupError`` for an unknown id.
        """
        ...

    def fail(
        self, item_id: str, *, owner: str, error: str, retry_at: datetime | None, at: datetime
    ) -> bool:
        """Record a failed delivery by ``owner``: retry at ``retry_at``, or dead-letter it.

        Return ``False`` (and change nothing) when ``owner`` no longer holds
        the row or it is done. Raise ``LookupError`` for an unknown id.
        """
        ...

    def get(self, item_id: str) -> OutboxItem | None:
        """Return the row ``item_id``, or ``None``."""
        ...

    def pending(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` rows not yet delivered nor given up, the earliest due first."""
        ...

    def dead_letters(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` dead letters, the earliest given up first."""
        ...

    def revive(self, item_id: str, *, at: datetime) -> bool:
        """Make the dead letter ``item_id`` pending again at ``at`` with no attempts counted.

        Return ``False`` if it is not a dead letter (pending, done or unknown).
        """
        ...

    def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` rows delivered before ``before``; return how many went."""
        ...


@attrs.frozen(kw_only=True)
class AgentAccount:
    """An agent who may sign in to the console: the address and a hash of the password.

    ``password_hash`` is a self-describing hash (argon2id, as the console
    makes it); ``changed_at`` is when the password was last set.
    """

    address: str
    password_hash: str = attrs.field(repr=False)
    changed_at: datetime = attrs.field(converter=utc_converter, validator=aware_field)


class AgentAccounts(Protocol):
    """The agent accounts of one unit of work: ``work.accounts``.

    An account is kept under the :func:`~issuecore.mail.address_key`
    of its address, which is what :meth:`get` returns as the address. Every
    store refuses, with ``UnstorableValueError``, an address of more than 320
    characters (its key), a hash of more than 512, and text no store can keep.
    """

    def get(self, address: str) -> AgentAccount | None:
        """Return the account of ``address``, or ``None``."""
        ...

    def save(self, account: AgentAccount) -> bool:
        """Create the account or replace the one of the same address; return whether it is new."""
        ...

    def remove(self, address: str) -> bool:
        """Delete the account of ``address``; return whether there was one."""
        ...

    def addresses(self) -> list[str]:
        """Return the address of every account, sorted."""
        ...


class AttemptLog(Protocol):
    """Attempts counted against a key, shared by every process on the store: ``work.attempts``.

    The console counts failed sign-ins and contact form submissions here, so
    every web worker on one database sees the same counts. ``scope`` names
    what is counted (at most 64 characters), ``key`` whom it is counted
    against (at most 255); longer or unstorable text is refused with
    ``UnstorableValueError`` by every store.
    """

    def record(self, scope: str, key: str, at: datetime) -> None:
        """Count one attempt against ``key`` in ``scope`` at ``at``."""
        ...

    def count(self, scope: str, key: str, *, after: datetime) -> int:
        """Return how many attempts were counted against ``key`` in ``scope`` after ``after``."""
        ...

    def prune(self, scope: str, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` attempts of ``scope`` made before ``before``; return how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction against a :class:`Store`; nothing is kept unless :meth:`commit` is called.

    Every text given to a unit of work must be valid Unicode (no lone
    surrogate), and text kept in a column of its own (numbers, statuses,
    addresses, Message-IDs, outcomes, reasons, errors) must hold no NUL; a
    required value must not be ``None``. Anything else is refused with
    ``UnstorableValueError`` before it reaches the database, by every store.
    """

    def get_issue(self, number: str, *, for_update: bool = False) -> Issue:
        """Return the stored issue ``number``; raise ``IssueNotFoundError`` if there is none.

        ``for_update`` takes a row lock where the database has them, so other
        writers of this issue wait until this unit of work ends.
        """
        ...

    def insert_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store a new issue and return it with version 1.

        Raise ``ConcurrencyConflictError`` if the number is taken. ``wake_at``
        is the earliest instant the sweep must look at the issue again;
        ``at_risk_at`` the earliest instant a running SLA target of the issue
        counts as at risk (what :class:`~issuecore.SlaFilter` ``AT_RISK``
        finds), ``None`` when none will.
        """
        ...

    def update_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store ``issue`` over the stored one and return it with the next version.

        Succeeds only if the stored version equals ``issue.version``; else raise
        ``ConcurrencyConflictError`` (``IssueNotFoundError`` if there is none).
        ``wake_at`` and ``at_risk_at`` as for :meth:`insert_issue`.
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
        (:func:`~issuecore.mail.address_key`: ASCII case and IDNA
        domain forms aside, exactly); the other filters exactly.
        """
        ...

    def find_page(self, query: IssueQuery) -> IssuePage:
        """Return the page of issues ``query`` asks for, with the cursor of the next page.

        Every store returns the same pages for the same query and data; a
        query with ``sla`` filters carries the instant to judge them at.
        Raise ``ValueError`` for a cursor that does not belong to the query.
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
        fingerprint: str | None = None,
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

    def quarantined_messages(self, *, limit: int) -> list[MessageRecord]:
        """Return up to ``limit`` records of quarantined messages, newest first."""
        ...

    def release_message(self, message_id: str) -> bool:
        """Delete the record of ``message_id`` if it was quarantined (its bytes stay kept).

        Returns whether there was such a record; the message can then be received again.
        """
        ...

    def count_auto_replies(self, address: str, since: datetime) -> int:
        """Return how many automatic replies were counted against ``address`` since ``since``."""
        ...

    def record_auto_reply(self, address: str, at: datetime) -> None:
        """Count an automatic reply against ``address`` at ``at``, keyed by its address key."""
        ...

    def replace_thread(self, number: str, entries: Sequence[ThreadEntry]) -> None:
        """Replace the whole thread of issue ``number`` with ``entries`` (for erasure)."""
        ...

    def forget_content(self, number: str) -> None:
        """Delete the raw mail kept for issue ``number``'s messages and its outbox rows."""
        ...

    def remove_issue(self, number: str) -> None:
        """Delete issue ``number`` and everything recorded under its number."""
        ...

    def forget_auto_replies(self, address: str) -> None:
        """Delete the automatic replies counted against ``address``."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Return the outbox of this unit of work: mail, events, to-dos and notices."""
        ...

    @property
    def accounts(self) -> AgentAccounts:
        """Return the agent accounts of this unit of work (the console signs agents in by them)."""
        ...

    @property
    def attempts(self) -> AttemptLog:
        """Return the attempts counted for limits shared between processes."""
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


@runtime_checkable
class DiscardingBlobStore(BlobStore, Protocol):
    """A :class:`BlobStore` that can also delete content nothing references any more.

    After a transaction that stopped referencing blobs commits (an erasure, a
    purge, a replaced thread), the stores call :meth:`discard` for each of
    them that no row references after the commit. A blob store without the
    method keeps that content until its owner removes it.
    """

    def discard(self, digest: str) -> bool:
        """Delete the content kept under ``digest``; return whether it was deleted.

        Content kept again recently (a transaction running now may be about
        to reference it) is spared, and ``False`` returned.
        """
        ...


class Mailer(Protocol):
    """Sends outbound mail."""

    def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise if it was not accepted."""
        ...


class TokenProvider(Protocol):
    """Returns an OAuth2 access token for a mailbox (XOAUTH2 with IMAP and SMTP).

    Any callable without arguments returning the token will do; it may cache
    the token until it expires. When the server refuses a token, the
    transports ask once more for a fresh one: through the provider's
    ``refresh()`` method if it has one (bypassing any cache), else by calling
    it again. A token that cannot be had raises
    :class:`~issuecore.errors.AccessTokenError`.
    """

    def __call__(self) -> str:
        """Return a valid access token."""
        ...


class PendingMessage(Protocol):
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

    def messages(self) -> Iterator[PendingMessage]:
        """Yield the messages waiting at the source."""
        ...


class Clock(Protocol):
    """Tells the time; the domain never reads the system clock itself."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...


class TaskBoard(Protocol):
    """To-dos for assignees.

    The desk delivers each call from a stored outbox row, at least once. A
    method that also takes a keyword argument ``effect_id`` (or ``**kwargs``)
    is given the row's stable id, the same on every repeat, so it can drop
    repeats; this is detected once, when the desk is built. The same holds
    for :class:`Notifier` and :class:`EventSink`. A method that raises is
    called again later (see ``DeskSettings.send_attempts``).
    """

    def open_todo(self, number: str, user: str, text: str) -> None:
        """Open a to-do for ``user`` about issue ``number``."""
        ...

    def close_todos(self, number: str, user: str | None = None) -> None:
        """Close the open to-dos of issue ``number``, only ``user``'s when given."""
        ...


class Notifier(Protocol):
    """Messages to users of the desk; ``effect_id`` as for :class:`TaskBoard`."""

    def notify(self, user: str, text: str) -> None:
        """Tell ``user`` ``text``."""
        ...


class EventSink(Protocol):
    """Receives the domain events of committed changes; ``effect_id`` as for :class:`TaskBoard`."""

    def publish(self, event: Event) -> None:
        """Handle ``event``."""
        ...
