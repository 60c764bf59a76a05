"""Filing one inbound message in the intake transaction: thread it, open an issue or say why not.

Matching (:func:`~issuecore.mail._matching.decide`) and planning
(:func:`~issuecore.mail._intake.plan_intake`) are pure functions of the mail
domain; here the desk answers their questions from the store and executes
the plan: it numbers a new issue, applies the workflow to the issue as
stored, counts the automatic reply against the rate limit, and writes.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from datetime import datetime
from email.message import EmailMessage

import attrs

from issuecore._desk_core import (
    DeskSettings,
    _AfterCommit,
    _AutoReplyCounter,
    _DeskCore,
    _reply_threading,
)
from issuecore._evolve import evolve
from issuecore._model import Action, Event, Issue, ReplySent
from issuecore._sla.tracking import follow
from issuecore._workflow import add_participant
from issuecore.errors import IssueNotFoundError
from issuecore.mail._compose import (
    compose_agent_reply,
    compose_auto_reply_bytes,
    reserve_auto_reply,
)
from issuecore.mail._intake import (
    AgentRelay,
    IntakePlan,
    MessageRecord,
    NewIssue,
    message_instant,
    plan_intake,
    unrelayed,
)
from issuecore.mail._matching import PriorMessage, decide
from issuecore.mail._parse import InboundMessage, Quarantined
from issuecore.ports import EffectKind, OutboxItem, UnitOfWork, new_effect_id

logger = logging.getLogger("issuecore.intake")


class OutcomeKind(enum.StrEnum):
    """How one inbound message ended; each compares equal to, and prints as, its value."""

    CREATED = "created"
    """It opened a new issue."""
    APPENDED = "appended"
    """It was added to an existing issue's thread."""
    DUPLICATE = "duplicate"
    """It had been recorded before; nothing changed."""
    LOOP = "loop"
    """It was automated mail that would start a loop; recorded, not threaded."""
    IGNORED = "ignored"
    """Recorded and deliberately not threaded (for example a stranger's mail)."""
    QUARANTINED = "quarantined"
    """It could not be read or was refused; kept whole with the reason."""

    def __repr__(self) -> str:
        # Prints as the string it equals, as outcomes printed before kinds were an enum.
        return repr(self.value)


@attrs.frozen(kw_only=True)
class ReceiveOutcome:
    """What :meth:`HelpDesk.receive` did with one message.

    ``kind`` is an :class:`OutcomeKind` (a string: ``"created"``,
    ``"appended"``, ``"duplicate"``, ``"loop"``, ``"ignored"`` or
    ``"quarantined"``); ``reason`` says why and ``signal`` which evidence
    decided. ``relayed`` says an agent's mail was queued to the customer as
    a desk reply.
    """

    kind: OutcomeKind = attrs.field(converter=OutcomeKind)
    issue_number: str | None
    created: bool
    auto_reply: bool
    reason: str
    signal: str
    message_id: str
    relayed: bool = False


class _Lookup:
    """The questions mail matching asks, answered inside the intake transaction."""

    def __init__(self, work: UnitOfWork, settings: DeskSettings) -> None:
        self._work = work
        self._settings = settings

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
        return self._settings.is_agent(address)


class _Filing(_DeskCore):
    """Files one parsed message in the transaction of its caller, as its intake plan says."""

    def _receive(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        parsed: InboundMessage | Quarantined,
        raw: bytes,
        fingerprint: str,
        use_message_date: bool = False,
    ) -> ReceiveOutcome:
        # The issue, its SLA and the entry count from ``at``; records and outbound mail from now.
        at = message_instant(parsed, received=now, use_message_date=use_message_date)
        decision = decide(
            parsed,
            lookup=_Lookup(work, self.settings),
            settings=self.mail,
            now=at,
            is_closed=self.workflow.is_closed,
            fingerprint=fingerprint,
        )
        plan = plan_intake(
            parsed, decision, settings=self.mail, now=at, fingerprint=fingerprint, received=now
        )
        return self._execute(work, now, after, plan, raw)

    def _execute(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, plan: IntakePlan, raw: bytes
    ) -> ReceiveOutcome:
        """Write what ``plan`` says in the caller's transaction; return what was done."""
        number = plan.issue_number
        auto_reply = relayed = False
        if plan.new_issue is not None:
            number, auto_reply = self._open_from_mail(work, now, after, plan, plan.new_issue)
        elif plan.update is not None:
            number, plan, relayed = self._update_from_mail(work, now, after, plan)
        elif plan.record is not None:
            _record(work, now, plan.record, number=None)
        if plan.keep_raw:
            # On no issue's thread, or cut: keep the bytes so an operator can look again.
            work.keep_message(plan.message_id, raw)
        if plan.note is not None:
            assert number is not None
            work.append_entry(number, plan.note)
        logger.info(
            "message %s: %s%s (%s): %s",
            plan.message_id,
            plan.outcome,
            f" {number}" if number else "",
            plan.signal,
            plan.reason,
        )
        return ReceiveOutcome(
            kind=plan.outcome,
            issue_number=number,
            created=plan.outcome == "created",
            auto_reply=auto_reply,
            reason=plan.reason,
            signal=plan.signal,
            message_id=plan.message_id,
            relayed=relayed,
        )

    def _open_from_mail(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        plan: IntakePlan,
        new: NewIssue,
    ) -> tuple[str, bool]:
        assert plan.entry is not None
        assert plan.record is not None
        change = self._new_issue(
            work,
            plan.entry.at,
            subject=new.subject,
            raised_by=new.raised_by,
            priority=None,
            participants=new.participants,
            follows_up=new.follows_up,
        )
        issue = change.issue
        auto_reply = False
        recipient = new.auto_reply_to
        if recipient and reserve_auto_reply(
            _AutoReplyCounter(work), recipient, now=now, settings=self.mail, sender=new.raised_by
        ):
            assert isinstance(plan.message, InboundMessage)
            reply = compose_auto_reply_bytes(
                plan.message,
                number=issue.number,
                settings=self.mail,
                now=now,
                unique=_stable_unique(plan.message_id),
                automated=plan.automated,  # as decide() classified it, with these settings
            )
            if reply is not None:
                message_id, payload = reply
                item = OutboxItem(
                    id=new_effect_id(),
                    kind=EffectKind.MAIL,
                    number=issue.number,
                    message_id=message_id,
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
                self._queue_item(work, after, item, number=issue.number, now=now)
                auto_reply = True
        events = (*change.events, plan.received(issue.number))
        self._save_new(work, issue, after, events)
        work.append_entry(issue.number, plan.entry)
        _record(work, now, plan.record, number=issue.number)
        return issue.number, auto_reply

    def _update_from_mail(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, plan: IntakePlan
    ) -> tuple[str, IntakePlan, bool]:
        """Append the message to its issue; return the number, the plan as done, and if relayed."""
        assert plan.update is not None
        assert plan.record is not None
        assert plan.entry is not None
        update, at = plan.update, plan.entry.at
        issue = work.get_issue(update.number, for_update=True)
        events: list[Event] = []
        for address in update.participants:
            change = add_participant(issue, address, at=at, actor=update.actor)
            issue, events = change.issue, [*events, *change.events]
        relay = None
        if plan.relay is not None:
            relay, why = self._relay(work, now, issue, plan, plan.relay)
            if relay is None:
                plan = unrelayed(plan, why)
                update = evolve(update, action=None)
        if relay is not None:
            # Queued first: the reply counts as the response only once it is on its way.
            self._queue(work, after, relay, number=issue.number, now=now)
        if update.action is not None:
            if self.workflow.target(issue.status, update.action) is not None:
                change = self.workflow.apply(issue, update.action, at=at, actor=update.actor)
                change = follow(
                    change, self._agreement(issue), action=update.action, workflow=self.workflow
                )
                issue, events = change.issue, [*events, *change.events]
        else:
            issue = evolve(issue, updated_at=max(at, issue.updated_at))
        events.append(plan.received(issue.number))
        if relay is not None:
            events.append(
                ReplySent(
                    number=issue.number,
                    at=at,
                    actor=update.actor,
                    message_id=str(relay["Message-ID"]),
                    author=update.actor.id,
                )
            )
        self._save(work, issue, after, events)
        assert plan.entry is not None
        work.append_entry(issue.number, plan.entry)
        assert plan.record is not None
        _record(work, now, plan.record, number=issue.number)
        return issue.number, plan, relay is not None

    def _relay(
        self, work: UnitOfWork, now: datetime, issue: Issue, plan: IntakePlan, relay: AgentRelay
    ) -> tuple[EmailMessage | None, str]:
        """Return the desk reply relaying an agent's mail, or ``None`` and why it cannot go."""
        if self.workflow.target(issue.status, Action.AGENT_REPLY) is None:
            return None, f"the workflow takes no agent reply in status {issue.status}"
        in_reply_to, references = _reply_threading(work.thread(issue.number))
        message = compose_agent_reply(
            issue,
            body=relay.body,
            settings=self.mail,
            now=now,
            in_reply_to=in_reply_to,
            references=references,
            agent_name=relay.name or None,
            unique=_stable_unique(f"relay {plan.message_id}"),
            attachments=relay.attachments,
            exclude=(relay.author, *relay.received_by),
        )
        if not message["To"]:
            return None, "the issue has no address the desk can write to"
        return message, ""


def _record(work: UnitOfWork, now: datetime, record: MessageRecord, *, number: str | None) -> None:
    work.record_message(
        record.message_id,
        number=number,
        outcome=record.outcome,
        reason=record.reason,
        at=now,
        fingerprint=record.fingerprint,
    )


def _stable_unique(message_id: str) -> str:
    # The automatic reply to one message gets the same Message-ID on every attempt.
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
