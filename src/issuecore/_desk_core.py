"""The desk's core: its settings, construction, reading, and the unit of work of each operation.

Every operation of :class:`~issuecore.HelpDesk` runs through :meth:`_DeskCore._run`:
one transaction, retried on a stale write, whose effects are outbox rows of that
same transaction, delivered after commit (see :mod:`issuecore._delivery`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import attrs

from issuecore import _arguments as check
from issuecore._delivery import Deliverer, DeliveryPolicy, effect_items
from issuecore._instants import require_aware
from issuecore._marks import at_risk_from
from issuecore._model import EntryKind, Event, Issue, IssueClosed, ThreadEntry
from issuecore._sla.agreement import ServiceLevelAgreement, check_agreements
from issuecore._sla.tracking import start_sla
from issuecore._workflow import (
    DEFAULT_AUTO_CLOSE_AFTER,
    DEFAULT_WORKFLOW,
    Change,
    Workflow,
    auto_close_due_at,
    format_issue_number,
    open_issue,
)
from issuecore.adapters.clock import SystemClock
from issuecore.adapters.null import NullEventSink, NullNotifier, NullTaskBoard
from issuecore.errors import ConcurrencyConflictError, DuplicateMessageError, MailSettingsError
from issuecore.mail._addresses import address_key, ascii_domain
from issuecore.mail._settings import MailSettings
from issuecore.ports import (
    Clock,
    EventSink,
    Mailer,
    Notifier,
    OutboxItem,
    Store,
    TaskBoard,
    UnitOfWork,
)

_T = TypeVar("_T")

logger = logging.getLogger("issuecore.desk")


def _numbering(year: int, sequence: int) -> str:
    return format_issue_number(year, sequence)


def _address_keys(values: Iterable[str]) -> frozenset[str]:
    return frozenset(address_key(value) for value in values)


def _domain_keys(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):  # one domain given bare would be read letter by letter
        values = (values,)
    domains = set()
    for value in values:
        domain = ascii_domain(str(value).strip().removeprefix("@"))
        if domain is None or "." not in domain:
            raise MailSettingsError.invalid("agent_domains", value, "domains like example.com")
        domains.add(domain)
    return frozenset(domains)


def _type_priorities(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


class _AutoReplyCounter:
    """The automatic-reply rate limit, counted in the caller's transaction."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def count_since(self, address: str, since: datetime) -> int:
        return self._work.count_auto_replies(address, since)

    def record(self, address: str, at: datetime) -> None:
        self._work.record_auto_reply(address, at)


@attrs.frozen
class DeskSettings:
    """How a desk behaves.

    - ``support_address``: the address customers write to and replies come from.
    - ``auto_close_after``: silence after an agent reply that closes a waiting
      issue (``None`` turns auto-close off).
    - ``agents``: addresses of agents (they may write into any thread).
    - ``agent_domains``: domains whose every address is an agent's
      (``"example.com"``, compared after IDNA; subdomains are not included).
      Mail from an agent naming an issue is relayed to the customer or
      recorded as a note, as ``mail.agent_mail_policy`` says.
    - ``mail``: intake and outbound rules (:class:`~issuecore.MailSettings`);
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
    - ``use_message_date``: count inbound mail from its own ``Date:`` instead
      of the instant it was received, for importing a backlog: the issue's
      creation, its thread entry and its SLA clock start then (see
      ``docs/sla.md``). Off by default; :meth:`HelpDesk.receive`,
      :meth:`~HelpDesk.ingest` and :meth:`~HelpDesk.receive_many` take it
      per call too.
    - ``type_priorities``: the default priority of each issue type
      (``{"Critical": "Urgent"}``), used when an issue is opened or its type
      set without a priority given.
    """

    support_address: str
    auto_close_after: timedelta | None = attrs.field(default=DEFAULT_AUTO_CLOSE_AFTER, kw_only=True)
    agents: frozenset[str] = attrs.field(default=frozenset(), converter=_address_keys, kw_only=True)
    agent_domains: frozenset[str] = attrs.field(
        default=frozenset(), converter=_domain_keys, kw_only=True
    )
    mail: MailSettings | None = attrs.field(default=None, kw_only=True)
    workflow: Workflow = attrs.field(default=DEFAULT_WORKFLOW, kw_only=True)
    numbering: Callable[[int, int], str] = attrs.field(default=_numbering, kw_only=True)
    max_attempts: int = attrs.field(default=8, kw_only=True)
    send_attempts: int = attrs.field(default=10, kw_only=True)
    retry_after: timedelta = attrs.field(default=timedelta(minutes=1), kw_only=True)
    delivery_lease: timedelta = attrs.field(default=timedelta(minutes=10), kw_only=True)
    keep_delivered: timedelta | None = attrs.field(default=timedelta(days=7), kw_only=True)
    use_message_date: bool = attrs.field(default=False, kw_only=True)
    type_priorities: Mapping[str, str] = attrs.field(
        factory=dict, converter=_type_priorities, kw_only=True
    )

    def is_agent(self, address: str) -> bool:
        """Return whether ``address`` is an agent's: listed in ``agents`` or at an agent domain."""
        key = address_key(address)
        if key in self.agents:
            return True
        local, at, domain = key.rpartition("@")
        return bool(local and at) and domain in self.agent_domains

    def mail_settings(self) -> MailSettings:
        """Return the mail rules, built from ``support_address`` when not given."""
        return (
            self.mail
            if self.mail is not None
            else MailSettings(support_address=self.support_address)
        )


def _reply_threading(thread: Sequence[ThreadEntry]) -> tuple[str | None, list[str]]:
    """Return what a reply on ``thread`` answers (the latest inbound Message-ID) and references."""
    inbound = [
        entry.message_id
        for entry in thread
        if entry.message_id
        and entry.kind in (EntryKind.CUSTOMER_MESSAGE, EntryKind.AUTOMATED_MESSAGE)
        and not entry.unverified
    ]
    parent = inbound[-1] if inbound else None
    earlier = [entry.message_id for entry in thread if entry.message_id]
    return parent, [message_id for message_id in earlier if message_id != parent]


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


class _DeskCore:
    """What every part of the desk shares: ports, settings, reading and the unit of work."""

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
        # Each agreement takes its SLA roles from the workflow, or is checked against it.
        self.agreements = check_agreements(agreements, workflow=settings.workflow)
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
        # Every priority some agreement names, in the order they are declared.
        self.priorities: tuple[str, ...] = tuple(
            dict.fromkeys(name for agreement in self.agreements for name in agreement.targets)
        )
        for issue_type, priority in settings.type_priorities.items():
            check.name(issue_type, "type_priorities key")
            check.priority(
                priority,
                self.priorities,
                f"type_priorities[{issue_type!r}]",
                agreements=self._by_name,
            )

    # --- reading ------------------------------------------------------------------

    def get(self, number: str) -> Issue:
        """Return issue ``number``; raise :class:`~issuecore.errors.IssueNotFoundError`."""
        number = check.name(number, "number")
        with self.store.transaction(read_only=True) as work:
            return work.get_issue(number)

    def thread(self, number: str) -> list[ThreadEntry]:
        """Return the thread of issue ``number``, oldest entry first."""
        number = check.name(number, "number")
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
        status = check.optional_name(status, "status")
        assignee = check.optional_name(assignee, "assignee")
        if raised_by is not None:
            raised_by = check.address(raised_by, "raised_by")
        if limit is not None:
            limit = check.count(limit, "limit", minimum=0)
        with self.store.transaction(read_only=True) as work:
            return work.find_issues(
                status=status, assignee=assignee, raised_by=raised_by, limit=limit
            )

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
        issue_type: str | None = None,
        references: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> Change:
        if priority is None and issue_type is not None:
            priority = self.settings.type_priorities.get(issue_type)
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
            issue_type=issue_type,
            references=references,
            fields=fields,
        )
        return start_sla(change, self.agreements, workflow=self.workflow)

    # --- plumbing ----------------------------------------------------------------------

    def _agreement(self, issue: Issue) -> ServiceLevelAgreement | None:
        if issue.sla is None:
            return None
        return self._by_name.get(issue.sla.agreement)

    def _at_risk_at(self, issue: Issue) -> datetime | None:
        return at_risk_from(issue.sla, self._agreement(issue))

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
            issue, wake_at=self._wake_at(issue), at_risk_at=self._at_risk_at(issue)
        )
        after.events.extend(events)
        return stored

    def _save(
        self, work: UnitOfWork, issue: Issue, after: _AfterCommit, events: Iterable[Event]
    ) -> Issue:
        stored = work.update_issue(
            issue, wake_at=self._wake_at(issue), at_risk_at=self._at_risk_at(issue)
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
            except (ConcurrencyConflictError, DuplicateMessageError) as conflict:
                # Another process wrote first (the same issue, or the same message);
                # the next attempt sees its work.
                if attempt == attempts:
                    logger.warning("giving up after %d attempts: %s", attempts, conflict)
                    raise
                logger.info(
                    "attempt %d of %d met a conflict, retrying: %s", attempt, attempts, conflict
                )
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
