"""Filing one inbound message in the intake transaction: thread it, open an issue or say why not.

Matching (:func:`~issuecore.mail.matching.decide`) and planning
(:func:`~issuecore.mail.intake.plan_intake`) are pure functions of the mail
domain; here the desk answers their questions from the store and executes
the plan: it numbers a new issue, applies the workflow to the issue as
stored, counts the automatic reply against the rate limit, and writes.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import attrs

from issuecore._desk_core import _AfterCommit, _DeskCore
from issuecore.errors import IssueNotFoundError
from issuecore.mail.addresses import address_key
from issuecore.mail.compose import compose_auto_reply, reserve_auto_reply
from issuecore.mail.intake import IntakePlan, IssueUpdate, MessageRecord, NewIssue, plan_intake
from issuecore.mail.matching import PriorMessage, decide
from issuecore.mail.parse import InboundMessage, Quarantined
from issuecore.model import Event, Issue
from issuecore.ports import UnitOfWork
from issuecore.sla.tracking import follow
from issuecore.workflow import add_participant

logger = logging.getLogger("issuecore.intake")


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
    ) -> ReceiveOutcome:
        decision = decide(
            parsed,
            lookup=_Lookup(work, self.settings.agents),
            settings=self.mail,
            now=now,
            is_closed=self.workflow.is_closed,
            fingerprint=fingerprint,
        )
        plan = plan_intake(parsed, decision, settings=self.mail, now=now, fingerprint=fingerprint)
        return self._execute(work, now, after, plan, raw)

    def _execute(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, plan: IntakePlan, raw: bytes
    ) -> ReceiveOutcome:
        """Write what ``plan`` says in the caller's transaction; return what was done."""
        number = plan.issue_number
        auto_reply = False
        if plan.new_issue is not None:
            number, auto_reply = self._open_from_mail(work, now, after, plan, plan.new_issue)
        elif plan.update is not None:
            number = self._update_from_mail(work, now, after, plan, plan.update)
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
            now,
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
            _Counter(work), recipient, now=now, settings=self.mail, sender=new.raised_by
        ):
            assert isinstance(plan.message, InboundMessage)
            reply = compose_auto_reply(
                plan.message,
                number=issue.number,
                settings=self.mail,
                now=now,
                unique=_stable_unique(plan.message_id),
            )
            if reply is not None:
                self._queue(work, after, reply, number=issue.number, now=now)
                auto_reply = True
        events = (*change.events, plan.received(issue.number))
        self._save_new(work, issue, after, events)
        work.append_entry(issue.number, plan.entry)
        _record(work, now, plan.record, number=issue.number)
        return issue.number, auto_reply

    def _update_from_mail(
        self,
        work: UnitOfWork,
        now: datetime,
        after: _AfterCommit,
        plan: IntakePlan,
        update: IssueUpdate,
    ) -> str:
        assert plan.entry is not None
        assert plan.record is not None
        issue = work.get_issue(update.number, for_update=True)
        events: list[Event] = []
        for address in update.participants:
            change = add_participant(issue, address, at=now, actor=update.actor)
            issue, events = change.issue, [*events, *change.events]
        if update.action is not None:
            if self.workflow.target(issue.status, update.action) is not None:
                change = self.workflow.apply(issue, update.action, at=now, actor=update.actor)
                change = follow(
                    change, self._agreement(issue), action=update.action, workflow=self.workflow
                )
                issue, events = change.issue, [*events, *change.events]
        else:
            issue = attrs.evolve(issue, updated_at=max(now, issue.updated_at))
        events.append(plan.received(issue.number))
        self._save(work, issue, after, events)
        work.append_entry(issue.number, plan.entry)
        _record(work, now, plan.record, number=issue.number)
        return issue.number


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
