"""A :class:`~issuecore.ports.Store` in memory, for tests and prototypes.

Each unit of work runs on a copy of the tables and replaces them only on
commit, so a rollback really discards everything. Units of work run one at a
time (a lock is held from the start of a transaction to its end), which
matches the embedded database's single writer. Queries scan, so the memory
store is for thousands of issues, not millions.

Attachments and kept messages are kept as blobs, like the other stores: in
the store's own :class:`~issuecore.adapters.blobs.MemoryBlobStore` (rolled
back with everything else), or in the blob store given.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import attrs

from issuecore._accounts import account_key, check_account, check_attempt
from issuecore._codec import issue_document, refuse_unstorable_entry
from issuecore._evolve import evolve
from issuecore._instants import optional_aware, require_aware
from issuecore._marks import IssueMarks, matches, query_instant, sort_key, text_matches
from issuecore._model import Issue, ThreadEntry
from issuecore._queries import IssuePage, IssueQuery, decode_cursor, encode_cursor
from issuecore._text import refuse_unstorable, refuse_unstorable_document
from issuecore.adapters._outbox import new_outbox_items
from issuecore.adapters.blobs import MemoryBlobStore, discard_released
from issuecore.errors import ConcurrencyConflictError, DuplicateMessageError, IssueNotFoundError
from issuecore.mail._addresses import address_key
from issuecore.ports import AgentAccount, BlobStore, MessageRecord, OutboxItem

__all__ = ["InMemoryOutbox", "InMemoryStore", "InMemoryUnitOfWork"]

ERASED_REASON = "[erased]"


@attrs.define
class _Tables:
    issues: dict[str, tuple[Issue, datetime | None]] = attrs.Factory(dict)
    # Entries without their attachments' bytes, beside the digests of those bytes.
    threads: dict[str, tuple[tuple[ThreadEntry, tuple[str, ...]], ...]] = attrs.Factory(dict)
    messages: dict[str, MessageRecord] = attrs.Factory(dict)
    kept: dict[str, str] = attrs.Factory(dict)
    blobs: dict[str, bytes] = attrs.Factory(dict)
    outbox: dict[str, OutboxItem] = attrs.Factory(dict)
    sequences: dict[int, int] = attrs.Factory(dict)
    auto_replies: dict[str, tuple[datetime, ...]] = attrs.Factory(dict)
    marks: dict[str, IssueMarks] = attrs.Factory(dict)
    accounts: dict[str, AgentAccount] = attrs.Factory(dict)
    attempts: dict[tuple[str, str], tuple[datetime, ...]] = attrs.Factory(dict)

    def copy(self) -> _Tables:
        # Values are immutable, so copying the dictionaries is a full snapshot.
        return _Tables(
            issues=dict(self.issues),
            threads=dict(self.threads),
            messages=dict(self.messages),
            kept=dict(self.kept),
            blobs=dict(self.blobs),
            outbox=dict(self.outbox),
            sequences=dict(self.sequences),
            auto_replies=dict(self.auto_replies),
            marks=dict(self.marks),
            accounts=dict(self.accounts),
            attempts=dict(self.attempts),
        )


class InMemoryStore:
    """Issues, threads, the Message-ID index and the outbox, kept in this process's memory."""

    def __init__(self, *, blobs: BlobStore | None = None) -> None:
        self.blobs = blobs
        self._tables = _Tables()
        self._lock = threading.Lock()
        self._owner: int | None = None

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[InMemoryUnitOfWork]:
        """Yield a unit of work on a copy of the tables; they replace the store's on commit."""
        if self._owner == threading.get_ident():
            raise RuntimeError(
                "a transaction of this InMemoryStore is already open in this thread; "
                "finish it before starting another"
            )
        with self._lock:
            self._owner = threading.get_ident()
            try:
                # A read-only unit of work cannot write, so it needs no copy.
                tables = self._tables if read_only else self._tables.copy()
                work = InMemoryUnitOfWork(tables, read_only=read_only, blobs=self.blobs)
                try:
                    yield work
                finally:
                    work.finish()
                if work.committed and not read_only:
                    self._tables = work.tables
                    # Committed: what it released and nothing references leaves the blob store.
                    tables = self._tables
                    discard_released(self.blobs, work.released, lambda: _referenced(tables))
            finally:
                self._owner = None


class InMemoryUnitOfWork:
    """One transaction of an :class:`InMemoryStore`; see :class:`issuecore.ports.UnitOfWork`."""

    def __init__(self, tables: _Tables, *, read_only: bool, blobs: BlobStore | None = None) -> None:
        self.tables = tables
        self.committed = False
        self._read_only = read_only
        self._finished = False
        self._blobs = blobs
        self.released: set[str] = set()
        """Digests this unit of work stopped referencing, for the blob store given."""

    @property
    def blobs(self) -> BlobStore:
        """Return where this unit of work keeps content: the store's own blobs, unless told."""
        tables = self._usable()
        return self._blobs if self._blobs is not None else _ReadOnlyAware(tables, self._read_only)

    def finish(self) -> None:
        """End the unit of work; later calls raise."""
        self._finished = True

    def _usable(self, *, writes: bool = False) -> _Tables:
        if self._finished:
            raise RuntimeError("this unit of work has ended; start a new transaction")
        if writes and self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        return self.tables

    def get_issue(self, number: str, *, for_update: bool = False) -> Issue:
        """Return the stored issue ``number``."""
        refuse_unstorable("number", number)
        stored = self._usable().issues.get(number)
        if stored is None:
            raise IssueNotFoundError.for_number(number)
        return stored[0]

    def insert_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store a new issue and return it with version 1."""
        tables = self._usable(writes=True)
        optional_aware("wake_at", wake_at)
        marks = IssueMarks.of(issue, at_risk_at=at_risk_at)
        _refuse_unstorable_issue(issue)
        if issue.number in tables.issues:
            raise ConcurrencyConflictError.already_exists(issue.number)
        stored = evolve(issue, version=1)
        tables.issues[issue.number] = (stored, wake_at)
        tables.marks[issue.number] = marks
        return stored

    def update_issue(
        self, issue: Issue, *, wake_at: datetime | None, at_risk_at: datetime | None = None
    ) -> Issue:
        """Store ``issue`` if the stored version is ``issue.version``; return the next version."""
        tables = self._usable(writes=True)
        optional_aware("wake_at", wake_at)
        marks = IssueMarks.of(issue, at_risk_at=at_risk_at)
        _refuse_unstorable_issue(issue)
        current = tables.issues.get(issue.number)
        if current is None:
            raise IssueNotFoundError.for_number(issue.number)
        if current[0].version != issue.version:
            raise ConcurrencyConflictError.stale_version(
                issue.number, expected=issue.version, stored=current[0].version
            )
        stored = evolve(issue, version=issue.version + 1)
        tables.issues[issue.number] = (stored, wake_at)
        tables.marks[issue.number] = marks
        return stored

    def next_sequence(self, year: int) -> int:
        """Return the next sequence of ``year``."""
        tables = self._usable(writes=True)
        value = tables.sequences.get(year, 0) + 1
        tables.sequences[year] = value
        return value

    def due_issues(self, now: datetime, *, limit: int) -> list[str]:
        """Return up to ``limit`` numbers with ``wake_at <= now``, the earliest first."""
        require_aware("now", now)
        due = sorted(
            (wake_at, number)
            for number, (_, wake_at) in self._usable().issues.items()
            if wake_at is not None and wake_at <= now
        )
        return [number for _, number in due[:limit]]

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
        wanted_raiser = None if raised_by is None else address_key(raised_by)
        found = [
            issue
            for issue, _ in self._usable().issues.values()
            if (status is None or issue.status == status)
            and (assignee is None or assignee in issue.assignees)
            and (wanted_raiser is None or address_key(issue.raised_by) == wanted_raiser)
        ]
        found.sort(key=lambda issue: (issue.created_at, issue.number))
        return found if limit is None else found[:limit]

    def find_page(self, query: IssueQuery) -> IssuePage:
        """Return the page of issues ``query`` asks for (a scan: thousands, not millions)."""
        tables = self._usable()
        for name, value in (("assignee", query.assignee), ("raised_by", query.raised_by)):
            refuse_unstorable(name, value, required=False)
        at = query_instant(query)
        start = decode_cursor(query)
        terms = query.terms()
        found: list[tuple[tuple[int, str], Issue]] = []
        for number, (issue, _) in tables.issues.items():
            marks = tables.marks.get(number) or IssueMarks.of(issue)
            if not matches(issue, marks, query, at=at):
                continue
            key = (sort_key(issue, marks, query.sort), number)
            if start is not None and (key >= start if query.descending else key <= start):
                continue
            if terms:
                texts = [issue.subject] + [
                    entry.display_text for entry, _ in tables.threads.get(number, ())
                ]
                if not text_matches(texts, terms):
                    continue
            found.append((key, issue))
        found.sort(key=lambda row: row[0], reverse=query.descending)
        page = found[: query.limit]
        more = len(found) > query.limit
        return IssuePage(
            issues=tuple(issue for _, issue in page),
            next_cursor=encode_cursor(query, *page[-1][0]) if more else None,
        )

    def append_entry(self, number: str, entry: ThreadEntry) -> None:
        """Add ``entry`` to the end of the thread of issue ``number``."""
        tables = self._usable(writes=True)
        refuse_unstorable("number", number)
        refuse_unstorable_entry(entry)
        if number not in tables.issues:
            raise IssueNotFoundError.for_number(number)
        blobs = self.blobs
        digests = tuple(blobs.put(attachment.data) for attachment in entry.attachments)
        bare = evolve(
            entry,
            attachments=tuple(evolve(file, data=b"") for file in entry.attachments),
        )
        tables.threads[number] = (*tables.threads.get(number, ()), (bare, digests))

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number`` in order."""
        tables = self._usable()
        refuse_unstorable("number", number)
        if number not in tables.issues:
            raise IssueNotFoundError.for_number(number)
        blobs = self.blobs
        return [
            evolve(
                entry,
                attachments=tuple(
                    evolve(file, data=blobs.get(digest))
                    for file, digest in zip(entry.attachments, digests, strict=True)
                ),
            )
            for entry, digests in tables.threads.get(number, ())
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
        tables = self._usable(writes=True)
        refuse_unstorable("message_id", message_id)
        refuse_unstorable("number", number, required=False)
        refuse_unstorable("outcome", outcome)
        refuse_unstorable("reason", reason)
        refuse_unstorable("fingerprint", fingerprint, required=False)
        record = MessageRecord(
            message_id=message_id,
            number=number,
            outcome=outcome,
            reason=reason,
            at=at,
            fingerprint=fingerprint,
        )
        if message_id in tables.messages:
            raise DuplicateMessageError.for_message_id(message_id)
        tables.messages[message_id] = record

    def lookup_message(self, message_id: str) -> MessageRecord | None:
        """Return the record of ``message_id``, if any."""
        tables = self._usable()
        refuse_unstorable("message_id", message_id)
        return tables.messages.get(message_id)

    def keep_message(self, message_id: str, raw: bytes) -> None:
        """Keep the raw bytes of a message that went to no issue, as a blob."""
        tables = self._usable(writes=True)
        refuse_unstorable("message_id", message_id)
        if message_id not in tables.kept:
            tables.kept[message_id] = self.blobs.put(raw)

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept for ``message_id``, or ``None``."""
        tables = self._usable()
        refuse_unstorable("message_id", message_id)
        digest = tables.kept.get(message_id)
        return None if digest is None else self.blobs.get(digest)

    def quarantined_messages(self, *, limit: int) -> list[MessageRecord]:
        """Return up to ``limit`` records of quarantined messages, newest first."""
        tables = self._usable()
        found = [r for r in tables.messages.values() if r.outcome == "quarantined"]
        found.sort(key=lambda r: (r.at.timestamp() if r.at else 0.0, r.message_id), reverse=True)
        return found[:limit]

    def release_message(self, message_id: str) -> bool:
        """Delete the record of ``message_id`` if it was quarantined."""
        tables = self._usable(writes=True)
        refuse_unstorable("message_id", message_id)
        record = tables.messages.get(message_id)
        if record is None or record.outcome != "quarantined":
            return False
        del tables.messages[message_id]
        return True

    def referenced_blobs(self) -> set[str]:
        """Return the digest of every blob an attachment or a kept message references."""
        return _referenced(self._usable())

    def replace_thread(self, number: str, entries: Sequence[ThreadEntry]) -> None:
        """Replace the whole thread of issue ``number`` with ``entries``, in order."""
        tables = self._usable(writes=True)
        refuse_unstorable("number", number)
        if number not in tables.issues:
            raise IssueNotFoundError.for_number(number)
        for entry in entries:
            refuse_unstorable_entry(entry)
        old = _thread_digests(tables, number)
        tables.threads[number] = ()
        for entry in entries:
            self.append_entry(number, entry)
        self._drop_unreferenced(old)

    def forget_content(self, number: str) -> None:
        """Delete the kept raw mail recorded for issue ``number`` and its outbox rows."""
        tables = self._usable(writes=True)
        refuse_unstorable("number", number)
        old = set()
        for message_id, record in list(tables.messages.items()):
            if record.number != number:
                continue
            # The reason may quote a sender; the record stays so a repeat is still known.
            tables.messages[message_id] = evolve(record, reason=ERASED_REASON)
            if message_id in tables.kept:
                old.add(tables.kept.pop(message_id))
        for item_id in [i for i, item in tables.outbox.items() if item.number == number]:
            del tables.outbox[item_id]
        self._drop_unreferenced(old)

    def remove_issue(self, number: str) -> None:
        """Delete issue ``number`` and everything recorded under its number."""
        tables = self._usable(writes=True)
        refuse_unstorable("number", number)
        if number not in tables.issues:
            raise IssueNotFoundError.for_number(number)
        self.forget_content(number)
        old = _thread_digests(tables, number)
        tables.threads.pop(number, None)
        tables.issues.pop(number)
        tables.marks.pop(number, None)
        for message_id in [m for m, record in tables.messages.items() if record.number == number]:
            del tables.messages[message_id]
        self._drop_unreferenced(old)

    def _drop_unreferenced(self, digests: set[str]) -> None:
        # The store's own blobs go with the transaction; a blob store given is told after commit.
        if not digests:
            return
        tables = self._usable(writes=True)
        unreferenced = digests - self.referenced_blobs()
        for digest in unreferenced:
            tables.blobs.pop(digest, None)
        if self._blobs is not None:
            self.released |= unreferenced

    @property
    def outbox(self) -> InMemoryOutbox:
        """Return the outbox of this unit of work."""
        self._usable()
        return InMemoryOutbox(self)

    @property
    def accounts(self) -> InMemoryAccounts:
        """Return the agent accounts of this unit of work."""
        self._usable()
        return InMemoryAccounts(self)

    @property
    def attempts(self) -> InMemoryAttempts:
        """Return the attempts counted in this unit of work."""
        self._usable()
        return InMemoryAttempts(self)

    def count_auto_replies(self, address: str, since: datetime) -> int:
        """Return how many automatic replies went to ``address`` at or after ``since``."""
        require_aware("since", since)
        refuse_unstorable("address", address)
        sent = self._usable().auto_replies.get(address_key(address), ())
        return sum(1 for at in sent if at >= since)

    def record_auto_reply(self, address: str, at: datetime) -> None:
        """Count an automatic reply to ``address`` at ``at``."""
        tables = self._usable(writes=True)
        require_aware("at", at)
        refuse_unstorable("address", address)
        key = address_key(address)
        tables.auto_replies[key] = (*tables.auto_replies.get(key, ()), at)

    def forget_auto_replies(self, address: str) -> None:
        """Delete the automatic replies counted against ``address``."""
        tables = self._usable(writes=True)
        refuse_unstorable("address", address)
        tables.auto_replies.pop(address_key(address), None)

    def commit(self) -> None:
        """Keep everything this unit of work did."""
        self._usable()
        self.committed = True
        self._finished = True


def _referenced(tables: _Tables) -> set[str]:
    found = set(tables.kept.values())
    for entries in tables.threads.values():
        for _, digests in entries:
            found.update(digests)
    return found


def _thread_digests(tables: _Tables, number: str) -> set[str]:
    return {digest for _, digests in tables.threads.get(number, ()) for digest in digests}


def _refuse_unstorable_issue(issue: Issue) -> None:
    # The same checks as the database stores make on their columns and documents.
    refuse_unstorable("number", issue.number)
    refuse_unstorable("status", issue.status)
    refuse_unstorable("raised_by", issue.raised_by)
    for assignee in issue.assignees:
        refuse_unstorable("assignee", assignee)
    refuse_unstorable_document("issue", issue_document(issue))


class _ReadOnlyAware(MemoryBlobStore):
    """The store's own blobs, refusing writes in a read-only unit of work as the databases do."""

    def __init__(self, tables: _Tables, read_only: bool) -> None:
        super().__init__(tables.blobs)
        self._read_only = read_only

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` and return its digest; refused in a read-only unit of work."""
        if self._read_only:
            raise RuntimeError("this transaction was opened read_only; it cannot write")
        return super().put(content)


class InMemoryOutbox:
    """The outbox rows of an :class:`InMemoryUnitOfWork`; see :class:`issuecore.ports.Outbox`."""

    def __init__(self, work: InMemoryUnitOfWork) -> None:
        self._work = work

    def _rows(self, *, writes: bool = False) -> dict[str, OutboxItem]:
        return self._work._usable(writes=writes).outbox

    def _row(self, item_id: str) -> OutboxItem:
        try:
            return self._rows()[item_id]
        except KeyError:
            raise LookupError(f"no outbox item with id {item_id!r}") from None

    def add(self, item: OutboxItem) -> None:
        """Store ``item``; an id already stored is left as it is."""
        self.add_all((item,))

    def add_all(self, items: Sequence[OutboxItem]) -> None:
        """Store each of ``items`` as :meth:`add` would."""
        fresh = new_outbox_items(items)
        rows = self._rows(writes=True)
        for item in fresh.values():
            rows.setdefault(item.id, item)

    def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows whose lease ran out, the earliest due first."""
        require_aware("now", now)
        require_aware("until", until)
        rows = self._rows(writes=True)
        due = [
            item
            for item in rows.values()
            if item.next_attempt_at is not None
            and item.next_attempt_at <= now
            and (item.lease_until is None or item.lease_until <= now)
        ]
        # sorted() is stable, so rows due at one instant keep the order they were added in.
        due.sort(key=lambda item: item.next_attempt_at or now)
        claimed = []
        for item in due[:limit]:
            taken = evolve(item, claimed_by=owner, lease_until=until, attempts=item.attempts + 1)
            rows[item.id] = taken
            claimed.append(taken)
        return claimed

    def complete(self, item_id: str, *, at: datetime) -> bool:
        """Mark ``item_id`` delivered at ``at``; ``False`` if it was already done."""
        require_aware("at", at)
        item = self._row(item_id)
        if item.done_at is not None:
            return False
        self._rows(writes=True)[item_id] = evolve(
            item,
            done_at=at,
            dead_at=None,
            next_attempt_at=None,
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
        return True

    def fail(
        self, item_id: str, *, owner: str, error: str, retry_at: datetime | None, at: datetime
    ) -> bool:
        """Record a failed delivery by ``owner``; retry at ``retry_at`` or dead-letter it."""
        refuse_unstorable("error", error)
        require_aware("at", at)
        optional_aware("retry_at", retry_at)
        item = self._row(item_id)
        if item.done_at is not None or item.claimed_by != owner:
            return False
        self._rows(writes=True)[item_id] = evolve(
            item,
            next_attempt_at=retry_at,
            dead_at=at if retry_at is None else None,
            claimed_by=None,
            lease_until=None,
            last_error=error,
        )
        return True

    def get(self, item_id: str) -> OutboxItem | None:
        """Return the row ``item_id``, or ``None``."""
        return self._rows().get(item_id)

    def pending(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` rows not yet delivered nor given up, the earliest due first."""
        waiting = [item for item in self._rows().values() if item.next_attempt_at is not None]
        waiting.sort(key=lambda item: item.next_attempt_at or item.created_at)
        return waiting[:limit]

    def dead_letters(self, *, limit: int) -> list[OutboxItem]:
        """Return up to ``limit`` dead letters, the earliest given up first."""
        dead = [item for item in self._rows().values() if item.dead_at is not None]
        dead.sort(key=lambda item: item.dead_at or item.created_at)
        return dead[:limit]

    def revive(self, item_id: str, *, at: datetime) -> bool:
        """Make the dead letter ``item_id`` pending again at ``at``."""
        require_aware("at", at)
        item = self._rows().get(item_id)
        if item is None or item.dead_at is None:
            return False
        self._rows(writes=True)[item_id] = evolve(
            item, dead_at=None, next_attempt_at=at, attempts=0
        )
        return True

    def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` rows delivered before ``before``."""
        require_aware("before", before)
        rows = self._rows(writes=True)
        old = [
            item.id for item in rows.values() if item.done_at is not None and item.done_at < before
        ][:limit]
        for item_id in old:
            del rows[item_id]
        return len(old)


class InMemoryAccounts:
    """The agent accounts of an :class:`InMemoryUnitOfWork`; see ``ports.AgentAccounts``."""

    def __init__(self, work: InMemoryUnitOfWork) -> None:
        self._work = work

    def get(self, address: str) -> AgentAccount | None:
        """Return the account of ``address``, or ``None``."""
        key = account_key(address)
        return self._work._usable().accounts.get(key)

    def save(self, account: AgentAccount) -> bool:
        """Create the account or replace the one of the same address; return whether it is new."""
        tables = self._work._usable(writes=True)
        key = check_account(account)
        new = key not in tables.accounts
        tables.accounts[key] = evolve(account, address=key)
        return new

    def remove(self, address: str) -> bool:
        """Delete the account of ``address``; return whether there was one."""
        tables = self._work._usable(writes=True)
        return tables.accounts.pop(account_key(address), None) is not None

    def addresses(self) -> list[str]:
        """Return the address of every account, sorted."""
        return sorted(self._work._usable().accounts)


class InMemoryAttempts:
    """The attempts of an :class:`InMemoryUnitOfWork`; see :class:`issuecore.ports.AttemptLog`."""

    def __init__(self, work: InMemoryUnitOfWork) -> None:
        self._work = work

    def record(self, scope: str, key: str, at: datetime) -> None:
        """Count one attempt against ``key`` in ``scope`` at ``at``."""
        tables = self._work._usable(writes=True)
        check_attempt(scope, key, at)
        tables.attempts[scope, key] = (*tables.attempts.get((scope, key), ()), at)

    def count(self, scope: str, key: str, *, after: datetime) -> int:
        """Return how many attempts were counted against ``key`` in ``scope`` after ``after``."""
        check_attempt(scope, key, after)
        return sum(1 for at in self._work._usable().attempts.get((scope, key), ()) if at > after)

    def prune(self, scope: str, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` attempts of ``scope`` made before ``before``; return how many."""
        tables = self._work._usable(writes=True)
        check_attempt(scope, "-", before)
        deleted = 0
        for counted in [counted for counted in tables.attempts if counted[0] == scope]:
            kept: list[datetime] = []
            for at in tables.attempts[counted]:
                if at < before and deleted < limit:
                    deleted += 1
                else:
                    kept.append(at)
            if kept:
                tables.attempts[counted] = tuple(kept)
            else:
                del tables.attempts[counted]
        return deleted
