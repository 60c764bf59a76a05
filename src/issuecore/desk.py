"""The help desk: the application service that wires the domain to the ports.

Each call is one unit of work. It reads the clock once, loads what it needs,
applies the pure domain rules at that instant, saves the issue, thread entry,
Message-ID record and one outbox row per effect (mail, events, to-dos,
notices) together, commits, and only then delivers the effects from those
rows (see :mod:`issuecore._delivery`). A stale write (another process changed the issue
first) is refused by the store and the whole operation is retried against
fresh state, a bounded number of times.
"""

from __future__ import annotations

import email.message
import functools
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import attrs

from issuecore._delivery import Deliverer, DeliveryPolicy, effect_items
from issuecore._instants import require_aware
from issuecore._marks import at_risk_from
from issuecore._text import clean_identifier, clean_optional, clean_text
from issuecore.adapters.clock import SystemClock
from issuecore.adapters.null import NullEventSink, NullNotifier, NullTaskBoard
from issuecore.errors import (
    ConcurrencyConflictError,
    DuplicateMessageError,
    IssueNotFoundError,
    StoreUnavailableError,
)
from issuecore.mail.addresses import address_key
from issuecore.mail.compose import compose_agent_reply, compose_auto_reply, reserve_auto_reply
from issuecore.mail.matching import (
    Decision,
    DecisionKind,
    PriorMessage,
    Signal,
    decide,
    message_fingerprint,
    reused_message_id,
)
from issuecore.mail.parse import InboundMessage, Quarantined, parse_message, synthetic_message_id
from issuecore.mail.quotes import new_content
from issuecore.mail.settings import MailSettings
from issuecore.model import (
    Action,
    Actor,
    Attachment,
    EntryKind,
    Event,
    Issue,
    IssueClosed,
    MessageReceived,
    ReplySent,
    SlaAtRisk,
    SlaBreached,
    ThreadEntry,
)
from issuecore.ports import (
    Clock,
    EventSink,
    Mailer,
    MailSource,
    Notifier,
    OutboxItem,
    Store,
    TaskBoard,
    UnitOfWork,
)
from issuecore.ports import InboundMessage as SourceMessage
from issuecore.queries import IssuePage, IssueQuery
from issuecore.reports import Report, ReportPeriod, build_report
from issuecore.sla.agreement import ServiceLevelAgreement, check_agreements
from issuecore.sla.tracking import change_priority, follow, reset_sla, start_sla, sweep_sla
from issuecore.workflow import (
    DEFAULT_AUTO_CLOSE_AFTER,
    DEFAULT_WORKFLOW,
    Change,
    Workflow,
    add_note,
    add_participant,
    assign,
    auto_close_due_at,
    format_issue_number,
    open_issue,
    unassign,
)

__all__ = [
    "DeskSettings",
    "HelpDesk",
    "IntakeFailure",
    "IntakeReport",
    "ReceiveOutcome",
    "TickReport",
]

_T = TypeVar("_T")

DEFAULT_BATCH_SIZE = 200
"""How many messages :meth:`HelpDesk.ingest` records per transaction at most."""
DEFAULT_BATCH_SECONDS = 1.0
"""How long :meth:`HelpDesk.ingest` lets a batch gather messages at most."""

logger = logging.getLogger(__name__)


def _numbering(year: int, sequence: int) -> str:
    return format_issue_number(year, sequence)


def _address_keys(values: Iterable[str]) -> frozenset[str]:
    return frozenset(address_key(value) for value in values)


@attrs.frozen
class DeskSettings:
    """How a desk behaves.

    - ``support_address``: the address customers write to and replies come from.
    - ``auto_close_after``: silence after an agent reply that closes a waiting
      issue (``None`` turns auto-close off).
    - ``agents``: addresses of agents (they may write into any thread).
    - ``mail``: intake and outbound rules (:class:`~issuecore.mail.settings.MailSettings`);
      built from ``support_address`` when omitted. Give it a fixed
      ``signing_key`` in production.
    - ``workflow``: the lifecycle (the default one when omitted).
    - ``numbering``: ``(year, sequence) -> number``; ``ISS-{year}-{sequence:05d}`` by default.
    - ``max_attempts``: how often an operation is tried when another writer
      got there first.
    - ``send_attempts`` and ``retry_after``: how often a failed effect
      (outbound mail, an event, a to-do, a notice) is tried, the retries
      first after ``retry_after``, doubling each time; then it is a dead
      letter (:meth:`HelpDesk.dead_letters`).
    - ``delivery_lease``: how long a deliverer holds an outbox row it
      claimed; after that another may take it over (and deliver it again).
      Keep it well above the time one delivery can take.
    - ``keep_delivered``: how long delivered outbox rows stay before
      :meth:`HelpDesk.tick` deletes them (``None`` keeps them for ever).
    """

    support_address: str
    auto_close_after: timedelta | None = attrs.field(default=DEFAULT_AUTO_CLOSE_AFTER, kw_only=True)
    agents: frozenset[str] = attrs.field(default=frozenset(), converter=_address_keys, kw_only=True)
    mail: MailSettings | None = attrs.field(default=None, kw_only=True)
    workflow: Workflow = attrs.field(default=DEFAULT_WORKFLOW, kw_only=True)
    numbering: Callable[[int, int], str] = attrs.field(default=_numbering, kw_only=True)
    max_attempts: int = attrs.field(default=8, kw_only=True)
    send_attempts: int = attrs.field(default=10, kw_only=True)
    retry_after: timedelta = attrs.field(default=timedelta(minutes=1), kw_only=True)
    delivery_lease: timedelta = attrs.field(default=timedelta(minutes=10), kw_only=True)
    keep_delivered: timedelta | None = attrs.field(default=timedelta(days=7), kw_only=True)

    def mail_settings(self) -> MailSettings:
        """Return the mail rules, built from ``support_address`` when not given."""
        return (
            self.mail
            if self.mail is not None
            else MailSettings(support_address=self.support_address)
        )


@attrs.frozen(kw_only=True)
class ReceiveOutcome:
    """What :meth:`HelpDesk.receive` did with one message.

    ``kind`` is one of ``"created"``, ``"appended"``, ``"duplicate"``,
    ``"loop"``, ``"ignored"``, ``"quarantined"``; ``reason`` says why and
    ``signal`` which evidence decided.
    """

    kind: str
    issue_number: str | None
    created: bool
    auto_reply: bool
    reason: str
    signal: str
    message_id: str


@attrs.frozen(kw_only=True)
class TickReport:
    """What one sweep did."""

    closed: tuple[str, ...] = ()
    at_risk: int = 0
    breached: int = 0
    sent: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class IntakeFailure:
    """A message :meth:`HelpDesk.ingest` could not record at all; it was left unacknowledged."""

    message_id: str
    error: str


@attrs.frozen(kw_only=True)
class IntakeReport:
    """What :meth:`HelpDesk.ingest` did with a mail source.

    ``outcomes`` has one outcome per recorded (and acknowledged) message;
    ``failures`` lists the messages that could not be recorded at all (the
    store was unavailable); the source offers those again.
    """

    outcomes: tuple[ReceiveOutcome, ...] = ()
    failures: tuple[IntakeFailure, ...] = ()

    def counts(self) -> dict[str, int]:
        """Return how many messages ended as each kind, every kind listed."""
        kinds = ("created", "appended", "duplicate", "loop", "ignored", "quarantined")
        return {kind: sum(1 for o in self.outcomes if o.kind == kind) for kind in kinds}


@attrs.define
class _AfterCommit:
    """The effects of an operation, written as outbox rows in its transaction before commit."""

    events: list[Event] = attrs.Factory(list)
    outbox: list[OutboxItem] = attrs.Factory(list)
    todos_opened: list[tuple[str, str, str]] = attrs.Factory(list)
    todos_closed: list[tuple[str, str | None]] = attrs.Factory(list)
    notices: list[tuple[str, str]] = attrs.Factory(list)

    def items(self, now: datetime, *, owner: str, until: datetime) -> list[OutboxItem]:
        """Return one row per effect, claimed by ``owner`` until ``until``."""
        return effect_items(
            mail=self.outbox,
            todos_opened=self.todos_opened,
            todos_closed=self.todos_closed,
            notices=self.notices,
            events=self.events,
            now=now,
            owner=owner,
            until=until,
        )


class _Lookup:
    """The questions mail matching asks, answered inside the intake transaction."""

    def __init__(self, work: UnitOfWork, agents: frozenset[str]) -> None:
        self._work = work
        self._agents = agents

    def prior_message(self, message_id: str) -> PriorMessage | None:
        record = self._work.lookup_message(message_id)
        if record is None:
            return None
        return PriorMessage(
            message_id=record.message_id,
            outcome=record.outcome,
            issue_number=record.number,
            unverified=record.outcome == "unverified",
            fingerprint=record.fingerprint,
        )

    def issue(self, number: str) -> Issue | None:
        try:
            return self._work.get_issue(number)
        except IssueNotFoundError:
            return None

    def is_agent(self, address: str) -> bool:
        return address_key(address) in self._agents


class _Counter:
    """The auto-reply rate limit, counted in the intake transaction."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def count_since(self, address: str, since: datetime) -> int:
        return self._work.count_auto_replies(address, since)

    def record(self, address: str, at: datetime) -> None:
        self._work.record_auto_reply(address, at)


class HelpDesk:
    """The support desk adopters call; see ``desk.md`` for the operations."""

    def __init__(
        self,
        *,
        store: Store,
        mailer: Mailer,
        clock: Clock | None = None,
        agreements: Iterable[ServiceLevelAgreement] = (),
        settings: DeskSettings,
        tasks: TaskBoard | None = None,
        notifier: Notifier | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.agreements = check_agreements(agreements)
        self.settings = settings
        self.mail = settings.mail_settings()
        self.workflow = settings.workflow
        self.tasks: TaskBoard = tasks if tasks is not None else NullTaskBoard()
        self.notifier: Notifier = notifier if notifier is not None else NullNotifier()
        self.events: EventSink = events if events is not None else NullEventSink()
        self._delivery = Deliverer(
            store=store,
            clock=self.clock,
            policy=DeliveryPolicy(
                attempts=max(1, settings.send_attempts),
                retry_after=settings.retry_after,
                lease=settings.delivery_lease,
                keep_delivered=settings.keep_delivered,
            ),
            ports=lambda: (self.mailer, self.tasks, self.notifier, self.events),
        )
        self._by_name = {agreement.name: agreement for agreement in self.agreements}

    # --- reading ------------------------------------------------------------------

    def get(self, number: str) -> Issue:
        """Return issue ``number``; raise :class:`~issuecore.errors.IssueNotFoundError`."""
        with self.store.transaction(read_only=True) as work:
            return work.get_issue(number)

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number``, oldest entry first."""
        with self.store.transaction(read_only=True) as work:
            work.get_issue(number)
            return work.thread(number)

    def find(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        raised_by: str | None = None,
        limit: int | None = None,
    ) -> list[Issue]:
        """Return the issues matching every filter given, oldest first."""
        with self.store.transaction(read_only=True) as work:
            return work.find_issues(
                status=status, assignee=assignee, raised_by=raised_by, limit=limit
            )

    def find_page(self, query: IssueQuery | None = None, **filters: Any) -> IssuePage:
        """Return one page of the issues ``query`` (or an ``IssueQuery(**filters)``) finds.

        Agreement filters are judged at the clock's now unless the query names
        an instant; pass the page's ``next_cursor`` as ``after=`` for the next.
        """
        query = IssueQuery(**filters) if query is None else attrs.evolve(query, **filters)
        if query.at is None and query.sla:
            query = attrs.evolve(query, at=require_aware("clock.now()", self.clock.now()))
        with self.store.transaction(read_only=True) as work:
            return work.find_page(query)

    def report(
        self,
        period: ReportPeriod | str | tuple[datetime, datetime],
        *,
        by: str | Iterable[str] = (),
    ) -> Report:
        """Return the SLA figures of the issues opened in ``period``, grouped ``by`` dimensions.

        ``period`` is a :class:`~issuecore.reports.ReportPeriod`, ``"2026-03"``,
        ``"2026"`` or a ``(start, end)`` pair; see :mod:`issuecore.reports`.
        """
        return build_report(
            self.find_page, period, by=by, at=require_aware("clock.now()", self.clock.now())
        )

    # --- intake -------------------------------------------------------------------

    def receive(self, raw: bytes | email.message.Message) -> ReceiveOutcome:
        """Take one inbound message: thread it, open an issue, or record why not.

        Never raises for any input. What cannot be read is recorded as
        quarantined with the reason, and its bytes are kept; if handling the
        message fails for any other reason, a last-resort transaction records
        it as quarantined with the error. Only when even that fails (the store
        is unavailable) :class:`~issuecore.errors.StoreUnavailableError` is
        raised: nothing was recorded, so the message must not be acknowledged.
        Mail and your own task board, notifier and event sink are served from
        the outbox after the commit; their failures are retried, never raised
        here.
        """
        data = _raw_bytes(raw)
        message_id = synthetic_message_id(data)
        fingerprint = None
        try:
            fingerprint = message_fingerprint(data)
            parsed = _cleaned(parse_message(raw))
            message_id = parsed.message_id
            result, items = self._attempt(
                lambda work, now, after: self._receive(work, now, after, parsed, data, fingerprint)
            )
        except Exception as error:  # the last resort: record it rather than stop intake
            return self._quarantine_failed(data, message_id, fingerprint, error)
        self._dispatch(items)
        return result

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept of a message that went to no issue or lost parts, or ``None``.

        Bytes are kept for quarantined and ignored messages, for messages a
        limit cut (see the intake note on their thread), and for messages
        whose intake failed.
        """
        with self.store.transaction(read_only=True) as work:
            return work.kept_message(clean_identifier(message_id))

    def ingest(
        self,
        source: MailSource,
        *,
        batch_size: int | None = None,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
    ) -> IntakeReport:
        """Receive every message of ``source`` in batches, acknowledging each only after its commit.

        Messages are recorded ``batch_size`` (200 unless given) at a time in
        one transaction, a batch closing early once ``batch_seconds`` passed
        since its first message arrived; the outcomes are those of
        :meth:`receive` one by one. A message is acknowledged only after the
        batch holding it committed, possibly after later messages were read
        and after the reading ended, so batches are used only for a source
        whose ``acks_after_reading`` attribute is true (the Maildir, mbox and
        ``.eml`` sources; an :class:`~issuecore.adapters.imap.ImapSource`
        inside its ``with`` block); any other source is recorded one message
        per transaction. A message the store could not record at all is left
        unacknowledged and listed in
        :attr:`IntakeReport.failures`; the rest are still read.
        """
        # Only a source that accepts late acknowledgements is read in batches.
        late = bool(getattr(source, "acks_after_reading", False))
        size = max(1, batch_size if batch_size is not None else DEFAULT_BATCH_SIZE) if late else 1
        outcomes: list[ReceiveOutcome] = []
        failures: list[IntakeFailure] = []
        batch: list[SourceMessage] = []
        began = 0.0

        def flush() -> None:
            results = self._receive_batch([message.raw for message in batch])
            for message, result in zip(batch, results, strict=True):
                if isinstance(result, StoreUnavailableError):
                    failures.append(IntakeFailure(message_id=result.message_id, error=str(result)))
                    continue
                outcomes.append(result)
                message.ack()
            batch.clear()

        for message in source.messages():
            if not batch:
                began = time.monotonic()
            batch.append(message)
            if len(batch) >= size or time.monotonic() - began >= batch_seconds:
                flush()
        if batch:
            flush()
        return IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))

    def receive_many(
        self, raws: Iterable[bytes | email.message.Message], *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> IntakeReport:
        """Receive ``raws`` in order, ``batch_size`` per transaction, as :meth:`ingest` does.

        The outcomes equal those of :meth:`receive` called on each message in
        turn; a message that could not be recorded at all is listed in
        :attr:`IntakeReport.failures` instead of raising.
        """
        size = max(1, batch_size)
        pending = list(raws)
        outcomes: list[ReceiveOutcome] = []
        failures: list[IntakeFailure] = []
        for start in range(0, len(pending), size):
            for result in self._receive_batch(pending[start : start + size]):
                if isinstance(result, StoreUnavailableError):
                    failures.append(IntakeFailure(message_id=result.message_id, error=str(result)))
                else:
                    outcomes.append(result)
        return IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))

    def _receive_batch(
        self, raws: Sequence[bytes | email.message.Message]
    ) -> list[ReceiveOutcome | StoreUnavailableError]:
        """Record ``raws`` in as few transactions as possible, each message exactly once.

        Runs of readable messages share one transaction; later messages see
        the earlier ones. A message that fails inside a run is taken out: the
        run before it commits on its own and the message goes the way of
        :meth:`receive` (its last-resort quarantine included).
        """
        if len(raws) == 1:  # one message: exactly the single-message path
            return [
                self._receive_alone(
                    _Prepared(original=raws[0], raw=b"", fingerprint=None, parsed=None), None
                )
            ]
        prepared = [_Prepared.of(raw) for raw in raws]
        results: list[ReceiveOutcome | StoreUnavailableError] = []
        position = 0
        while position < len(prepared):
            run = list(itertools.takewhile(lambda p: p.parsed is not None, prepared[position:]))
            errors: dict[int, Exception] = {}
            committed = self._commit_run(run, errors) if run else []
            results.extend(committed)
            position += len(committed)
            if len(committed) < len(run) or not run:
                # The message at ``position`` failed in a batch (or could not be
                # read at all): alone, as :meth:`receive` would have recorded it.
                results.append(self._receive_alone(prepared[position], errors.get(len(committed))))
                position += 1
        return results

    def _receive_alone(
        self, item: _Prepared, error: Exception | None
    ) -> ReceiveOutcome | StoreUnavailableError:
        try:
            if error is not None and item.parsed is not None:
                return self._quarantine_failed(
                    item.raw, item.parsed.message_id, item.fingerprint, error
                )
            return self.receive(item.original)  # type: ignore[arg-type]
        except StoreUnavailableError as failure:
            return failure

    def _commit_run(
        self, run: list[_Prepared], errors: dict[int, Exception]
    ) -> list[ReceiveOutcome]:
        """Commit the longest prefix of ``run`` that records without error; return its outcomes.

        ``errors`` receives the error of each message that failed, by position.
        """
        size = len(run)
        conflicts = 0
        while size > 0:
            batch = _Batch(run[:size])
            try:
                outcomes, items = self._attempt_once(functools.partial(self._record_batch, batch))
            except (ConcurrencyConflictError, DuplicateMessageError):
                # Another process wrote first; the next attempt sees its work. After
                # the desk's usual number of attempts, the messages go one by one.
                conflicts += 1
                if conflicts >= max(1, self.settings.max_attempts):
                    return []
                continue
            except Exception as error:
                if batch.failed_at is None:
                    return []  # the transaction itself failed: each message alone
                errors[batch.failed_at] = error
                size = batch.failed_at  # commit what came before the failing message
                continue
            self._dispatch(items)
            return outcomes
        return []

    def _record_batch(
        self, batch: _Batch, work: UnitOfWork, now: datetime, after: _AfterCommit
    ) -> list[ReceiveOutcome]:
        done = []
        for index, item in enumerate(batch.messages):
            assert item.parsed is not None
            assert item.fingerprint is not None
            try:
                done.append(
                    self._receive(work, now, after, item.parsed, item.raw, item.fingerprint)
                )
            except (ConcurrencyConflictError, DuplicateMessageError):
                raise
            except Exception:
                batch.failed_at = index
                raise
        return done

    def _receive(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        parsed: InboundMessage | Quarantined,
        raw: bytes,
        fingerprint: str,
    ) -> ReceiveOutcome:
        decision = decide(
            parsed,
            lookup=_Lookup(work, self.settings.agents),
            settings=self.mail,
            now=now,
            is_closed=self.workflow.is_closed,
            fingerprint=fingerprint,
        )
        message_id = decision.record_as or parsed.message_id
        if decision.kind is DecisionKind.DUPLICATE:
            previous = work.lookup_message(message_id)
            number = previous.number if previous else None
            if previous is not None and previous.outcome == "sent":
                # A message we sent came back: a loop, already on record as ours.
                loop = attrs.evolve(
                    decision,
                    reason=f"Message-ID {message_id} is one we sent: our own mail came back",
                )
                return self._outcome("loop", loop, message_id, number=number)
            return self._outcome("duplicate", decision, message_id, number=number)
        parsed = attrs.evolve(parsed, message_id=message_id)
        if isinstance(parsed, Quarantined) or decision.kind in (
            DecisionKind.LOOP,
            DecisionKind.IGNORE,
            DecisionKind.QUARANTINE,
        ):
            kind = {
                DecisionKind.LOOP: "loop",
                DecisionKind.IGNORE: "ignored",
            }.get(decision.kind, "quarantined")
            work.record_message(
                message_id,
                number=None,
                outcome=kind,
                reason=decision.reason,
                at=now,
                fingerprint=fingerprint,
            )
            if kind != "loop":
                # On no issue's thread: keep the bytes so an operator can look again.
                work.keep_message(message_id, raw)
            return self._outcome(kind, decision, message_id)
        if parsed.omissions:
            decision = attrs.evolve(
                decision,
                reason=f"{decision.reason}; left out: {'; '.join(parsed.omissions)}",
            )
        if decision.kind is DecisionKind.CREATE:
            outcome = self._create_from_mail(work, now, after, parsed, decision, fingerprint)
        else:
            outcome = self._append_mail(work, now, after, parsed, decision, fingerprint)
        assert outcome.issue_number is not None
        self._note_intake(work, now, outcome.issue_number, parsed, decision, raw)
        return outcome

    def _note_intake(
        self,
        work: UnitOfWork,
        now: datetime,
        number: str,
        message: InboundMessage,
        decision: Decision,
        raw: bytes,
    ) -> None:
        # Nothing is lost silently: what intake changed or left out is said on the thread.
        lines = []
        if decision.reused_message_id is not None:
            lines.append(
                f"The Message-ID {decision.reused_message_id} of this message was already "
                f"recorded for a different message; it is kept as {message.message_id}."
            )
        if message.omissions:
            lines.append("Parts of this message were left out when it was read:")
            lines.extend(f"- {omission}" for omission in message.omissions)
            lines.append(f"Its raw bytes are kept: HelpDesk.kept_message({message.message_id!r}).")
            work.keep_message(message.message_id, raw)
        if lines:
            note = ThreadEntry(
                kind=EntryKind.SYSTEM,
                author="issuecore",
                text=clean_text("\n".join([f"Intake note on {message.message_id}:", *lines])),
                at=now,
            )
            work.append_entry(number, note)

    def _quarantine_failed(
        self, raw: bytes, message_id: str, fingerprint: str | None, error: Exception
    ) -> ReceiveOutcome:
        message_id = clean_identifier(message_id)
        reason = clean_text(f"intake failed: {type(error).__name__}: {error}")[:500]
        try:
            now: datetime | None = require_aware("clock.now()", self.clock.now())
        except Exception:  # a clock that fails must not stop the message being recorded
            now = None
        try:
            with self.store.transaction() as work:
                prior = work.lookup_message(message_id)
                if (
                    prior is not None
                    and fingerprint is not None
                    and prior.fingerprint not in (None, fingerprint)
                ):
                    message_id = reused_message_id(message_id, fingerprint)
                    prior = work.lookup_message(message_id)
                if prior is None:
                    work.record_message(
                        message_id,
                        number=None,
                        outcome="quarantined",
                        reason=reason,
                        at=now,
                        fingerprint=fingerprint,
                    )
                    work.keep_message(message_id, raw)
                    work.commit()
        except Exception as failure:
            raise StoreUnavailableError.could_not_record(
                message_id, cause=error, quarantine_error=failure
            ) from error
        if prior is not None:
            return ReceiveOutcome(
                kind="duplicate",
                issue_number=prior.number,
                created=False,
                auto_reply=False,
                reason=f"Message-ID {message_id} was already recorded as {prior.outcome}",
                signal=str(Signal.MESSAGE_ID),
                message_id=message_id,
            )
        return ReceiveOutcome(
            kind="quarantined",
            issue_number=None,
            created=False,
            auto_reply=False,
            reason=reason,
            signal="intake_error",
            message_id=message_id,
        )

    def _entry_for(self, message: InboundMessage, decision: Decision, at: datetime) -> ThreadEntry:
        kind = EntryKind.AUTOMATED_MESSAGE if decision.automated else EntryKind.CUSTOMER_MESSAGE
        if decision.from_agent and not decision.automated:
            kind = EntryKind.AGENT_REPLY
        return ThreadEntry(
            kind=kind,
            author=message.from_address or decision.sender or "unknown",
            text=message.text,
            new_text=new_content(message.text, html=message.html),
            html=message.html,
            subject=message.subject,
            message_id=message.message_id,
            attachments=message.attachments,
            at=at,
            unverified=decision.unverified,
        )

    def _create_from_mail(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        message: InboundMessage,
        decision: Decision,
        fingerprint: str,
    ) -> ReceiveOutcome:
        sender = decision.sender or message.from_address or "unknown"
        subject = decision.subject if decision.subject is not None else message.subject
        change = self._new_issue(
            work,
            now,
            subject=subject or "(no subject)",
            raised_by=sender,
            priority=None,
            participants=decision.copied_in,
            follows_up=decision.follows_up,
        )
        issue = change.issue
        entry = self._entry_for(message, decision, now)
        auto_reply = False
        recipient = decision.auto_reply_to
        if (
            decision.auto_reply
            and self.mail.auto_reply
            and recipient
            and reserve_auto_reply(
                _Counter(work), recipient, now=now, settings=self.mail, sender=sender
            )
        ):
            reply = compose_auto_reply(
                message,
                number=issue.number,
                settings=self.mail,
                now=now,
                unique=_stable_unique(message.message_id),
            )
            if reply is not None:
                self._queue(work, after, reply, number=issue.number, now=now)
                auto_reply = True
        events = (*change.events, _received(issue.number, now, message, decision))
        self._save_new(work, issue, after, events)
        work.append_entry(issue.number, entry)
        work.record_message(
            message.message_id,
            number=issue.number,
            outcome="created",
            reason=decision.reason,
            at=now,
            fingerprint=fingerprint,
        )
        return self._outcome(
            "created", decision, message.message_id, number=issue.number, auto_reply=auto_reply
        )

    def _append_mail(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        message: InboundMessage,
        decision: Decision,
        fingerprint: str,
    ) -> ReceiveOutcome:
        assert decision.issue_number is not None
        issue = work.get_issue(decision.issue_number, for_update=True)
        events: list[Event] = []
        sender = decision.sender or message.from_address or "unknown"
        actor = Actor.agent(sender) if decision.from_agent else Actor.customer(sender)
        if not decision.unverified:
            for address in decision.copied_in:
                change = add_participant(issue, address, at=now, actor=actor)
                issue, events = change.issue, [*events, *change.events]
        if decision.change_status and not decision.automated and not decision.unverified:
            action = Action.AGENT_REPLY if decision.from_agent else Action.CUSTOMER_MESSAGE
            if self.workflow.target(issue.status, action) is not None:
                change = self.workflow.apply(issue, action, at=now, actor=actor)
                change = follow(
                    change, self._agreement(issue), action=action, workflow=self.workflow
                )
                issue, events = change.issue, [*events, *change.events]
        else:
            issue = attrs.evolve(issue, updated_at=max(now, issue.updated_at))
        events.append(_received(issue.number, now, message, decision))
        self._save(work, issue, after, events)
        work.append_entry(issue.number, self._entry_for(message, decision, now))
        outcome = "unverified" if decision.unverified else "appended"
        work.record_message(
            message.message_id,
            number=issue.number,
            outcome=outcome,
            reason=decision.reason,
            at=now,
            fingerprint=fingerprint,
        )
        return self._outcome("appended", decision, message.message_id, number=issue.number)

    def _outcome(
        self,
        kind: str,
        decision: Decision,
        message_id: str,
        *,
        number: str | None = None,
        auto_reply: bool = False,
    ) -> ReceiveOutcome:
        return ReceiveOutcome(
            kind=kind,
            issue_number=number if number is not None else decision.issue_number,
            created=kind == "created",
            auto_reply=auto_reply,
            reason=decision.reason,
            signal=str(decision.signal),
            message_id=message_id,
        )

    # --- issues from other channels --------------------------------------------------

    def open_issue(
        self,
        *,
        subject: str,
        raised_by: str,
        body: str,
        priority: str | None = None,
        participants: Sequence[str] = (),
    ) -> Issue:
        """Open an issue from a web form or an API call; no automatic reply is sent."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            change = self._new_issue(
                work,
                now,
                subject=subject,
                raised_by=raised_by,
                priority=priority,
                participants=participants,
                follows_up=None,
            )
            stored = self._save_new(work, change.issue, after, change.events)
            work.append_entry(
                stored.number,
                ThreadEntry(kind=EntryKind.CUSTOMER_MESSAGE, author=raised_by, text=body, at=now),
            )
            return stored

        return self._run(operation)

    def _new_issue(
        self,
        work: UnitOfWork,
        now: datetime,
        *,
        subject: str,
        raised_by: str,
        priority: str | None,
        participants: Sequence[str],
        follows_up: str | None,
    ) -> Change:
        # Validate the priority before a number is spent on the issue.
        probe = open_issue(
            number="?",
            subject=subject,
            raised_by=raised_by,
            at=now,
            priority=priority,
            workflow=self.workflow,
        )
        start_sla(probe, self.agreements, workflow=self.workflow)
        number = self.settings.numbering(now.year, work.next_sequence(now.year))
        change = open_issue(
            number=number,
            subject=subject,
            raised_by=raised_by,
            at=now,
            priority=priority,
            participants=participants,
            follows_up=follows_up,
            workflow=self.workflow,
        )
        return start_sla(change, self.agreements, workflow=self.workflow)

    # --- agent operations -------------------------------------------------------------

    def reply(self, number: str, *, body: str, author: str) -> Issue:
        """Send an agent reply: mail to the raiser and participants, thread entry, status."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            thread = work.thread(number)
            inbound = [
                entry.message_id
                for entry in thread
                if entry.message_id
                and entry.kind in (EntryKind.CUSTOMER_MESSAGE, EntryKind.AUTOMATED_MESSAGE)
                and not entry.unverified
            ]
            earlier = [entry.message_id for entry in thread if entry.message_id]
            message = compose_agent_reply(
                issue,
                body=body,
                settings=self.mail,
                now=now,
                in_reply_to=inbound[-1] if inbound else None,
                references=[m for m in earlier if m != (inbound[-1] if inbound else None)],
            )
            change = self.workflow.apply(
                issue, Action.AGENT_REPLY, at=now, actor=Actor.agent(author)
            )
            change = follow(
                change, self._agreement(issue), action=Action.AGENT_REPLY, workflow=self.workflow
            )
            message_id = str(message["Message-ID"])
            events = (
                *change.events,
                ReplySent(
                    number=number,
                    at=now,
                    actor=Actor.agent(author),
                    message_id=message_id,
                    author=author,
                ),
            )
            stored = self._save(work, change.issue, after, events)
            work.append_entry(
                number,
                ThreadEntry(
                    kind=EntryKind.AGENT_REPLY,
                    author=author,
                    text=body,
                    subject=str(message["Subject"]),
                    message_id=message_id,
                    at=now,
                ),
            )
            self._queue(work, after, message, number=number, now=now)
            return stored

        return self._run(operation)

    def add_note(self, number: str, *, body: str, author: str) -> Issue:
        """Add an internal note; nothing is mailed and the status stays."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = add_note(issue, at=now, actor=Actor.agent(author))
            stored = self._save(work, change.issue, after, change.events)
            work.append_entry(
                number, ThreadEntry(kind=EntryKind.INTERNAL_NOTE, author=author, text=body, at=now)
            )
            return stored

        return self._run(operation)

    def hold(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Put the issue on hold (waiting on a third party); the SLA clock pauses."""
        return self._act(number, Action.HOLD, by=by, reason=reason)

    def resolve(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Mark the issue resolved; resolution is judged against its deadline."""
        return self._act(number, Action.RESOLVE, by=by, reason=reason)

    def close(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Close the issue and its open to-dos."""
        return self._act(number, Action.CLOSE, by=by, reason=reason)

    def reopen(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Reopen a resolved or closed issue; its SLA clock resumes from the time consumed."""
        return self._act(number, Action.REOPEN, by=by, reason=reason)

    def act(self, number: str, action: str, *, by: str, reason: str | None = None) -> Issue:
        """Apply any action of the workflow (for custom workflows' own actions)."""
        return self._act(number, action, by=by, reason=reason)

    def _act(self, number: str, action: str, *, by: str, reason: str | None) -> Issue:
        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            actor = Actor.agent(by)
            change = self.workflow.apply(issue, action, at=now, actor=actor, reason=reason)
            change = follow(change, self._agreement(issue), action=action, workflow=self.workflow)
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def assign(self, number: str, user: str, *, by: str) -> Issue:
        """Assign ``user``: a to-do for them and a notification; assigning twice does nothing."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = assign(issue, user, at=now, actor=Actor.agent(by))
            if not change.events:
                return issue
            after.todos_opened.append((number, user, f"{number}: {issue.subject}"))
            after.notices.append((user, f"Issue {number} was assigned to you: {issue.subject}"))
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def unassign(self, number: str, user: str, *, by: str) -> Issue:
        """Take ``user`` off the issue and close their to-do."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = unassign(issue, user, at=now, actor=Actor.agent(by))
            if not change.events:
                return issue
            after.todos_closed.append((number, user))
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def set_priority(self, number: str, priority: str, *, by: str) -> Issue:
        """Change the priority; the SLA targets and deadlines follow at once."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = change_priority(
                issue, priority, self._agreement(issue), at=now, actor=Actor.agent(by)
            )
            if not change.events:
                return issue
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def reset_sla(self, number: str, *, reason: str, by: str) -> Issue:
        """Restart the SLA clock now with nothing consumed; records who and why."""

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = reset_sla(
                issue,
                self._agreement(issue),
                at=now,
                actor=Actor.agent(by),
                reason=reason,
                workflow=self.workflow,
            )
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    # --- the sweep ----------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Run the sweep: auto-close, SLA at-risk and breach events, outbox delivery.

        Each due issue is claimed and handled in a transaction of its own; on
        servers with ``SKIP LOCKED`` several workers running ``tick`` at once
        share the due issues instead of repeating each other's work. Then it
        delivers the outbox rows that are due and free (:meth:`flush_outbox`)
        and deletes delivered rows older than ``DeskSettings.keep_delivered``.
        """
        closed: list[str] = []
        at_risk = breached = 0
        seen: set[str] = set()
        stuck: set[str] = set()
        while True:
            number, events = self._run(self._sweeper(seen, stuck))
            if number is None:
                break
            seen.add(number)
            closed.extend(e.number for e in events if isinstance(e, IssueClosed))
            at_risk += sum(isinstance(e, SlaAtRisk) for e in events)
            breached += sum(isinstance(e, SlaBreached) for e in events)
        sent, failed = self.flush_outbox()
        self._delivery.prune()
        return TickReport(
            closed=tuple(closed), at_risk=at_risk, breached=breached, sent=sent, failed=failed
        )

    def _sweeper(
        self, seen: set[str], stuck: set[str]
    ) -> Callable[[UnitOfWork, datetime, _AfterCommit], tuple[str | None, tuple[Event, ...]]]:
        def claim_and_sweep(
            work: UnitOfWork, now: datetime, after: _AfterCommit
        ) -> tuple[str | None, tuple[Event, ...]]:
            # An issue handled once in this tick is passed over if it is still due
            # (its due instant could not move), so it cannot hold the sweep up.
            while True:
                limit = len(stuck) + 1
                due = work.due_issues(now, limit=limit)
                number = next((n for n in due if n not in seen), None)
                if number is not None:
                    return number, self._sweep_one(work, now, after, number)
                if len(due) < limit:
                    return None, ()
                stuck.update(due)

        return claim_and_sweep

    def _sweep_one(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, number: str
    ) -> tuple[Event, ...]:
        issue = work.get_issue(number, for_update=True)
        agreement = self._agreement(issue)
        change = self.workflow.auto_close(issue, now=now, after=self.settings.auto_close_after)
        if change.events:
            change = follow(change, agreement, action=Action.AUTO_CLOSE, workflow=self.workflow)
        swept = sweep_sla(change.issue, agreement, now=now)
        events = (*change.events, *swept.events)
        self._save(work, swept.issue, after, events)
        return events

    def flush_outbox(self) -> tuple[int, int]:
        """Deliver every outbox row that is due and not held by another deliverer.

        Returns (delivered, failed). Rows are claimed with a lease in a
        transaction of their own, so any number of processes may call this
        at once without delivering one row twice. Never raises for a port
        that fails: the row is retried later, then dead-lettered.
        """
        return self._delivery.flush()

    def dead_letters(self, *, limit: int = 100) -> list[OutboxItem]:
        """Return the effects given up after ``send_attempts``, with their last error."""
        with self.store.transaction(read_only=True) as work:
            return work.outbox.dead_letters(limit=limit)

    def retry_dead_letter(self, effect_id: str) -> bool:
        """Make a dead letter due again at once; return ``False`` if ``effect_id`` is none."""
        now = require_aware("clock.now()", self.clock.now())
        with self.store.transaction() as work:
            revived = work.outbox.revive(effect_id, at=now)
            work.commit()
        return revived

    # --- plumbing ----------------------------------------------------------------------

    def _agreement(self, issue: Issue) -> ServiceLevelAgreement | None:
        if issue.sla is None:
            return None
        return self._by_name.get(issue.sla.agreement)

    def _wake_at(self, issue: Issue) -> datetime | None:
        instants = [
            auto_close_due_at(issue, workflow=self.workflow, after=self.settings.auto_close_after)
        ]
        agreement = self._agreement(issue)
        if issue.sla is not None and agreement is not None:
            instants.append(issue.sla.wake_at(agreement))
        present = [instant for instant in instants if instant is not None]
        return min(present) if present else None

    def _save_new(
        self, work: UnitOfWork, issue: Issue, after: _AfterCommit, events: Iterable[Event]
    ) -> Issue:
        stored = work.insert_issue(
            issue,
            wake_at=self._wake_at(issue),
            at_risk_at=at_risk_from(issue.sla, self._agreement(issue)),
        )
        after.events.extend(events)
        return stored

    def _save(
        self, work: UnitOfWork, issue: Issue, after: _AfterCommit, events: Iterable[Event]
    ) -> Issue:
        stored = work.update_issue(
            issue,
            wake_at=self._wake_at(issue),
            at_risk_at=at_risk_from(issue.sla, self._agreement(issue)),
        )
        events = tuple(events)
        after.events.extend(events)
        if any(isinstance(event, IssueClosed) for event in events):
            after.todos_closed.append((issue.number, None))
        return stored

    def _queue(
        self,
        work: UnitOfWork,
        after: _AfterCommit,
        message: EmailMessage,
        *,
        number: str,
        now: datetime,
    ) -> None:
        item = OutboxItem.for_message(message, number=number, created_at=now)
        message_id = str(message["Message-ID"])
        work.record_message(
            message_id, number=number, outcome="sent", reason="sent by the desk", at=now
        )
        # The row itself is written with the operation's other effects, just before commit.
        after.outbox.append(item)

    def _run(self, operation: Callable[[UnitOfWork, datetime, _AfterCommit], _T]) -> _T:
        result, items = self._attempt(operation)
        self._dispatch(items)
        return result

    def _attempt(
        self, operation: Callable[[UnitOfWork, datetime, _AfterCommit], _T]
    ) -> tuple[_T, list[OutboxItem]]:
        attempts = max(1, self.settings.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt_once(operation)
            except (ConcurrencyConflictError, DuplicateMessageError):
                # Another process wrote first (the same issue, or the same message);
                # the next attempt sees its work.
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt_once(
        self, operation: Callable[[UnitOfWork, datetime, _AfterCommit], _T]
    ) -> tuple[_T, list[OutboxItem]]:
        after = _AfterCommit()
        now = require_aware("clock.now()", self.clock.now())
        with self.store.transaction() as work:
            result = operation(work, now, after)
            # Every effect is a row of this same transaction, claimed by this desk.
            items = after.items(
                now, owner=self._delivery.owner, until=self._delivery.lease_until(now)
            )
            for item in items:
                work.outbox.add(item)
            work.commit()
        return result, items

    def _dispatch(self, items: Sequence[OutboxItem]) -> None:
        if not items:
            return
        try:
            self._delivery.deliver(items)
        except Exception:  # the operation has committed: its effects wait for the lease to end
            logger.exception("delivering the effects of a committed operation failed")


@attrs.define
class _Batch:
    """Messages recorded in one transaction, and which of them failed, if one did."""

    messages: list[_Prepared]
    failed_at: int | None = None


@attrs.frozen(kw_only=True)
class _Prepared:
    """A message read before any transaction: bytes, fingerprint, parse (``None``: failed)."""

    original: object
    raw: bytes
    fingerprint: str | None
    parsed: InboundMessage | Quarantined | None

    @classmethod
    def of(cls, raw: object) -> _Prepared:
        data = _raw_bytes(raw)
        try:
            fingerprint = message_fingerprint(data)
            parsed = _cleaned(parse_message(raw))  # type: ignore[arg-type]
        except Exception:  # the single-message path records why
            return cls(original=raw, raw=data, fingerprint=None, parsed=None)
        return cls(original=raw, raw=data, fingerprint=fingerprint, parsed=parsed)


def _received(
    number: str, at: datetime, message: InboundMessage, decision: Decision
) -> MessageReceived:
    sender = message.from_address or decision.sender or "unknown"
    actor = Actor.agent(sender) if decision.from_agent else Actor.customer(sender)
    return MessageReceived(
        number=number,
        at=at,
        actor=actor,
        message_id=message.message_id,
        author=sender,
        automated=decision.automated,
    )


def _stable_unique(message_id: str) -> str:
    # The automatic reply to one message gets the same Message-ID on every attempt.
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _raw_bytes(raw: object) -> bytes:
    """Return the bytes to keep of ``raw``, whatever an untyped caller passed."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, email.message.Message):
        try:
            return raw.as_bytes()
        except Exception:
            try:
                return str(raw).encode("utf-8", "surrogateescape")
            except Exception:
                return repr(raw).encode("utf-8", "backslashreplace")
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    try:
        return repr(raw).encode("utf-8", "backslashreplace")
    except Exception:  # an object whose repr fails is still recorded
        return f"<unrepresentable {type(raw).__name__}>".encode("utf-8", "backslashreplace")


def _cleaned(parsed: InboundMessage | Quarantined) -> InboundMessage | Quarantined:
    """Return ``parsed`` with every text valid Unicode without NUL, as every store needs."""
    if isinstance(parsed, Quarantined):
        return attrs.evolve(
            parsed,
            reason=clean_text(parsed.reason),
            message_id=clean_identifier(parsed.message_id),
        )
    return attrs.evolve(
        parsed,
        message_id=clean_identifier(parsed.message_id),
        in_reply_to=None if parsed.in_reply_to is None else clean_identifier(parsed.in_reply_to),
        references=tuple(clean_identifier(reference) for reference in parsed.references),
        returned_message_id=(
            None
            if parsed.returned_message_id is None
            else clean_identifier(parsed.returned_message_id)
        ),
        from_address=clean_optional(parsed.from_address),
        from_name=clean_text(parsed.from_name),
        reply_to=tuple(clean_text(address) for address in parsed.reply_to),
        to=tuple(clean_text(address) for address in parsed.to),
        cc=tuple(clean_text(address) for address in parsed.cc),
        subject=clean_text(parsed.subject),
        text=clean_text(parsed.text),
        html=clean_optional(parsed.html),
        attachments=tuple(_cleaned_attachment(attachment) for attachment in parsed.attachments),
        headers=tuple((clean_text(name), clean_text(value)) for name, value in parsed.headers),
        content_type=clean_text(parsed.content_type),
        report_type=clean_optional(parsed.report_type),
        defects=tuple(clean_text(defect) for defect in parsed.defects),
        omissions=tuple(clean_text(omission) for omission in parsed.omissions),
    )


def _cleaned_attachment(attachment: Attachment) -> Attachment:
    return attrs.evolve(
        attachment,
        filename=clean_text(attachment.filename),
        content_type=clean_text(attachment.content_type),
        content_id=(
            None if attachment.content_id is None else clean_identifier(attachment.content_id)
        ),
    )
