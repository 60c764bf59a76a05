"""Filing one inbound message in the intake transaction: thread it, open an issue or say why not."""

from __future__ import annotations

import hashlib
from datetime import datetime

import attrs

from issuecore._desk_core import _AfterCommit, _DeskCore
from issuecore._text import clean_text
from issuecore.errors import IssueNotFoundError
from issuecore.mail.addresses import address_key
from issuecore.mail.compose import compose_auto_reply, reserve_auto_reply
from issuecore.mail.matching import Decision, DecisionKind, PriorMessage, decide
from issuecore.mail.parse import InboundMessage, Quarantined
from issuecore.mail.quotes import new_content
from issuecore.model import Action, Actor, EntryKind, Event, Issue, MessageReceived, ThreadEntry
from issuecore.ports import UnitOfWork
from issuecore.sla.tracking import follow
from issuecore.workflow import add_participant


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
    """Files one parsed message in the transaction of its caller."""

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
