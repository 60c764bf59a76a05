"""Planning the intake of one message: what to write, decided before anything is written.

:func:`plan_intake` turns a parsed message and the :class:`~issuecore.mail._matching.Decision`
:func:`~issuecore.mail._matching.decide` made about it into an :class:`IntakePlan`:
the outcome the desk reports, the thread entry and its kind, the issue to
open or the change to an existing one, the Message-ID record and whether the
raw bytes are kept. It is a pure function: it reads nothing and writes
nothing. The desk executes the plan in its intake transaction; the only
things it adds are those that need storage: the new issue's number, the
workflow's answer for the issue as stored, and the automatic-reply rate
limit.

Each outcome has exactly one shape:

========================  ======  ==========  ==========  ================  ========
``outcome``               record  new issue   update      thread entry      raw kept
========================  ======  ==========  ==========  ================  ========
``"created"``             yes     yes         no          yes               if cut
``"appended"``            yes     no          yes         yes               if cut
``"duplicate"``           no      no          no          no                no
``"loop"`` (sent by us)   no      no          no          no                no
``"loop"``                yes     no          no          no                no
``"ignored"``             yes     no          no          no                yes
``"quarantined"``         yes     no          no          no                yes
========================  ======  ==========  ==========  ================  ========

A message whose parts were left out when it was read ("cut") keeps its raw
bytes and gets an intake note on its thread; so does a message kept under a
derived Message-ID because its own was reused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

from issuecore._evolve import evolve
from issuecore._instants import require_aware
from issuecore._model import Action, Actor, Attachment, EntryKind, MessageReceived, ThreadEntry
from issuecore._text import clean_text
from issuecore.mail._matching import Decision, DecisionKind
from issuecore.mail._parse import InboundMessage, Quarantined
from issuecore.mail._quotes import new_content
from issuecore.mail._settings import AgentMailPolicy, MailSettings

__all__ = [
    "INTAKE_OUTCOMES",
    "WRITTEN_AT_EARLIEST",
    "WRITTEN_AT_SKEW",
    "AgentRelay",
    "IntakePlan",
    "IssueUpdate",
    "MessageRecord",
    "NewIssue",
    "dmarc_passed",
    "message_instant",
    "plan_intake",
    "unrelayed",
    "written_at",
]

WRITTEN_AT_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""A ``Date:`` before this instant is absurd for mail: :func:`written_at` ignores it."""
WRITTEN_AT_SKEW: Final = timedelta(days=1)
"""How far after its receipt a message's ``Date:`` may lie (a sender's clock running fast)."""

INTAKE_OUTCOMES: Final = ("created", "appended", "duplicate", "loop", "ignored", "quarantined")
"""Every outcome an :class:`IntakePlan` (and so ``HelpDesk.receive``) can report."""


@attrs.frozen(kw_only=True)
class MessageRecord:
    """The Message-ID record to write: under which ID, as what, why, with which fingerprint.

    ``outcome`` is ``"created"``, ``"appended"``, ``"unverified"`` (appended
    from a non-participant), ``"loop"``, ``"ignored"`` or ``"quarantined"``.
    """

    message_id: str
    outcome: str
    reason: str
    fingerprint: str | None


@attrs.frozen(kw_only=True)
class NewIssue:
    """The issue a message opens.

    ``auto_reply_to`` is who gets the automatic reply, if one is due; the
    desk still counts it against the rate limit before sending.
    """

    subject: str
    raised_by: str
    participants: tuple[str, ...]
    follows_up: str | None
    auto_reply_to: str | None


@attrs.frozen(kw_only=True)
class IssueUpdate:
    """The change a message makes to the issue it is appended to.

    ``participants`` are added first, by ``actor``. ``action`` is the
    workflow action to apply if the workflow allows it from the issue's
    status; without one the issue is only marked as updated.
    """

    number: str
    actor: Actor
    participants: tuple[str, ...]
    action: str | None


@attrs.frozen(kw_only=True)
class AgentRelay:
    """An agent's mail to send on to the customer as a desk reply, through the outbox.

    ``body`` is the agent's new text (the quoted conversation left out),
    ``attachments`` the files that came with it, ``author`` the agent's
    address and ``name`` their display name (shown before the support
    address in ``From``); ``received_by`` are the addresses the agent's
    own mail went to, which get no second copy. The desk counts the reply as the response only
    once it queued it; if it cannot (see :func:`unrelayed`), the message is
    kept as an internal note instead.
    """

    author: str
    name: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    received_by: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class IntakePlan:
    """What to do with one inbound message; executing it is the desk's only part.

    - ``outcome``/``reason``/``signal``/``message_id``/``issue_number``: what
      the desk reports (the issue is the one appended to, or the earlier
      issue of a duplicate; a new issue's number is known only once opened).
    - ``record``: the Message-ID record to write, if any.
    - ``keep_raw``: whether the raw bytes are kept.
    - ``new_issue``/``update``: the issue to open, or the change to the issue
      appended to (at most one of them).
    - ``entry``: the thread entry for the message, its ``kind`` saying who
      wrote it; ``note``: the intake note to add after it, if any.
    - ``message``: the message under the Message-ID it is recorded as (what
      an automatic reply answers); ``from_agent``/``automated``: who sent it.
    - ``relay``: an agent's mail to send on to the customer (only with an
      ``update`` whose action is the agent reply).
    """

    outcome: str = attrs.field(validator=attrs.validators.in_(INTAKE_OUTCOMES))
    message_id: str
    reason: str
    signal: str
    message: InboundMessage | Quarantined
    issue_number: str | None = None
    record: MessageRecord | None = None
    keep_raw: bool = False
    new_issue: NewIssue | None = None
    update: IssueUpdate | None = None
    entry: ThreadEntry | None = None
    note: ThreadEntry | None = None
    from_agent: bool = False
    automated: bool = False
    relay: AgentRelay | None = None

    @property
    def writes_anything(self) -> bool:
        """Return whether executing the plan writes anything at all."""
        return self.record is not None or self.keep_raw or self.entry is not None

    def received(self, number: str) -> MessageReceived:
        """Return the event saying the message was added to issue ``number``."""
        if self.entry is None:
            raise ValueError(f"a plan with outcome {self.outcome!r} adds no message to an issue")
        author = self.entry.author
        return MessageReceived(
            number=number,
            at=self.entry.at,
            actor=Actor.agent(author) if self.from_agent else Actor.customer(author),
            message_id=self.message_id,
            author=author,
            automated=self.automated,
        )


def written_at(date: datetime | None, *, received: datetime) -> datetime | None:
    """Return the message date ``date`` in UTC, or ``None`` when missing or absurd.

    Absurd is before :data:`WRITTEN_AT_EARLIEST` or later than ``received``
    plus :data:`WRITTEN_AT_SKEW`.
    """
    require_aware("received", received)
    if date is None or date.tzinfo is None or date.utcoffset() is None:
        return None
    try:
        instant = date.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    # The skew is taken from the date, not added to ``received``: the same comparison, made
    # in the standard library's arithmetic whatever datetime class the clock returns.
    if instant < WRITTEN_AT_EARLIEST or instant - WRITTEN_AT_SKEW > received:
        return None
    return instant


def message_instant(
    message: InboundMessage | Quarantined, *, received: datetime, use_message_date: bool
) -> datetime:
    """Return the instant a message counts from: ``received``, or its own date when asked to.

    With ``use_message_date`` the message's :func:`written_at` is used when it
    has one, never later than ``received``; otherwise, and for a message that
    could not be read, the instant it was received.
    """
    require_aware("received", received)
    if not use_message_date or isinstance(message, Quarantined):
        return received
    written = written_at(message.date, received=received)
    return received if written is None else min(written, received)


def plan_intake(
    message: InboundMessage | Quarantined,
    decision: Decision,
    *,
    settings: MailSettings,
    now: datetime,
    fingerprint: str | None,
    received: datetime | None = None,
) -> IntakePlan:
    """Return the plan for ``message`` as ``decision`` classified it, at ``now``.

    ``decision`` is what :func:`~issuecore.mail._matching.decide` returned for
    ``message`` (its ``record_as`` and, for a duplicate, ``previous_outcome``
    are the facts looked up); ``fingerprint`` is stored with the record.
    ``now`` is the instant the message counts from (its entry's ``at``);
    ``received``, when the desk counts from the message's own date (see
    :func:`message_instant`), is when it was received (``now`` when omitted),
    against which :func:`written_at` judges the date.
    """
    require_aware("now", now)
    message_id = decision.record_as or message.message_id
    if decision.kind is DecisionKind.DUPLICATE:
        if decision.previous_outcome == "sent":
            # A message we sent came back: a loop, already on record as ours.
            return _plan(
                "loop",
                decision,
                message,
                message_id,
                reason=f"Message-ID {message_id} is one we sent: our own mail came back",
            )
        return _plan("duplicate", decision, message, message_id)
    if message.message_id != message_id:
        message = evolve(message, message_id=message_id)
    if isinstance(message, Quarantined) or decision.kind in (
        DecisionKind.LOOP,
        DecisionKind.IGNORE,
        DecisionKind.QUARANTINE,
    ):
        kind = {
            DecisionKind.LOOP: "loop",
            DecisionKind.IGNORE: "ignored",
        }.get(decision.kind, "quarantined")
        return evolve(
            _plan(kind, decision, message, message_id),
            record=MessageRecord(
                message_id=message_id,
                outcome=kind,
                reason=decision.reason,
                fingerprint=fingerprint,
            ),
            # On no issue's thread: keep the bytes so an operator can look again.
            keep_raw=kind != "loop",
        )
    reason = decision.reason
    if message.omissions:
        reason = f"{reason}; left out: {'; '.join(message.omissions)}"
    sender = decision.sender or message.from_address or "unknown"
    actor = Actor.agent(sender) if decision.from_agent else Actor.customer(sender)
    entry = _entry_for(message, decision, now, now if received is None else received)
    note = _intake_note(message, decision, now)
    if decision.kind is DecisionKind.CREATE:
        subject = decision.subject if decision.subject is not None else message.subject
        recipient = decision.auto_reply_to
        new_issue = NewIssue(
            subject=subject or "(no subject)",
            raised_by=sender,
            participants=decision.copied_in,
            follows_up=decision.follows_up,
            auto_reply_to=(
                recipient if decision.auto_reply and settings.auto_reply and recipient else None
            ),
        )
        outcome, recorded, update = "created", "created", None
    else:
        if decision.issue_number is None:
            raise ValueError(f"a {decision.kind} decision names no issue to append to")
        action = None
        if decision.change_status and not decision.automated and not decision.unverified:
            action = Action.AGENT_REPLY if decision.from_agent else Action.CUSTOMER_MESSAGE
        update = IssueUpdate(
            number=decision.issue_number,
            actor=actor,
            participants=() if decision.unverified else decision.copied_in,
            action=action,
        )
        outcome, new_issue = "appended", None
        recorded = "unverified" if decision.unverified else "appended"
    plan = IntakePlan(
        outcome=outcome,
        message_id=message_id,
        reason=reason,
        signal=str(decision.signal),
        message=message,
        issue_number=decision.issue_number,
        record=MessageRecord(
            message_id=message_id, outcome=recorded, reason=reason, fingerprint=fingerprint
        ),
        keep_raw=bool(message.omissions),
        new_issue=new_issue,
        update=update,
        entry=entry,
        note=note,
        from_agent=decision.from_agent,
        automated=decision.automated,
    )
    return _agent_mail(plan, decision, message, settings)


def _agent_mail(
    plan: IntakePlan, decision: Decision, message: InboundMessage, settings: MailSettings
) -> IntakePlan:
    """Return ``plan`` with an agent's mail relayed, or kept as a note, as the policy says."""
    update, entry = plan.update, plan.entry
    if (
        update is None
        or entry is None
        or update.action != Action.AGENT_REPLY
        or not decision.from_agent
        or decision.automated
        or decision.unverified
    ):
        return plan
    if decision.addressed_to_raiser:
        return _with_reason(
            plan, f"{plan.reason}; the agent wrote to the raiser directly: nothing is relayed"
        )
    if settings.agent_mail_policy is AgentMailPolicy.RECORD_ONLY:
        return unrelayed(plan, "agent_mail_policy is record_only")
    authserv_id = settings.agent_mail_authserv_id
    if authserv_id is not None and not dmarc_passed(message, authserv_id=authserv_id):
        return unrelayed(
            plan, f"no Authentication-Results of {authserv_id} says dmarc=pass for its sender"
        )
    body = entry.display_text
    if not body.strip() and not entry.attachments:
        return unrelayed(plan, "it holds no new text and no attachment")
    relay = AgentRelay(
        author=entry.author,
        name=message.from_name,
        body=body,
        attachments=entry.attachments,
        received_by=(*message.to, *message.cc),
    )
    return evolve(
        _with_reason(plan, f"{plan.reason}; relayed to the customer as a desk reply"), relay=relay
    )


def _with_reason(plan: IntakePlan, reason: str) -> IntakePlan:
    """Return ``plan`` with ``reason``, its Message-ID record saying the same."""
    record = None if plan.record is None else evolve(plan.record, reason=reason)
    return evolve(plan, reason=reason, record=record)


_RESULT: Final = re.compile(r"(?:^|;)\s*dmarc\s*=\s*pass\b", re.IGNORECASE)


def dmarc_passed(message: InboundMessage, *, authserv_id: str) -> bool:
    """Return whether the server ``authserv_id`` recorded ``dmarc=pass`` for ``message``.

    Only ``Authentication-Results`` headers that server wrote count (RFC 8601:
    a receiving server removes headers claiming its name from incoming mail,
    so a sender cannot forge one). Comments in parentheses are ignored.
    """
    wanted = authserv_id.lower()
    for name, value in message.headers:
        if name != "authentication-results":
            continue
        text = _COMMENT.sub(" ", value)
        server, _, results = text.partition(";")
        words = server.split()
        if words and words[0].lower() == wanted and _RESULT.search(";" + results):
            return True
    return False


_COMMENT: Final = re.compile(r"\([^()]*\)")


def unrelayed(plan: IntakePlan, why: str) -> IntakePlan:
    """Return ``plan`` with the agent's mail kept as an internal note: no status change, no reply.

    The note on the thread says it did not reach the customer, and ``why``.
    """
    if plan.entry is None or plan.update is None:
        raise ValueError(f"a plan with outcome {plan.outcome!r} adds no agent mail to an issue")
    line = (
        f"The agent's mail {plan.message_id} was not sent to the customer ({why}); "
        "it is kept as an internal note. Answer the customer with a reply from the desk."
    )
    note = plan.note
    if note is None:
        note = ThreadEntry(
            kind=EntryKind.SYSTEM,
            author="issuecore",
            text=f"Intake note on {plan.message_id}:\n{line}",
            at=plan.entry.at,
        )
    else:
        note = evolve(note, text=f"{note.text}\n{line}")
    reason = (
        f"{plan.reason.removesuffix('; relayed to the customer as a desk reply')}; "
        f"kept as an internal note, not sent to the customer: {why}"
    )
    return evolve(
        _with_reason(plan, reason),
        entry=evolve(plan.entry, kind=EntryKind.INTERNAL_NOTE),
        update=evolve(plan.update, action=None),
        note=note,
        relay=None,
    )


def _plan(
    outcome: str,
    decision: Decision,
    message: InboundMessage | Quarantined,
    message_id: str,
    *,
    reason: str | None = None,
) -> IntakePlan:
    return IntakePlan(
        outcome=outcome,
        message_id=message_id,
        reason=decision.reason if reason is None else reason,
        signal=str(decision.signal),
        message=message,
        issue_number=decision.issue_number,
    )


def _entry_for(
    message: InboundMessage, decision: Decision, at: datetime, received: datetime
) -> ThreadEntry:
    kind = EntryKind.AUTOMATED_MESSAGE if decision.automated else EntryKind.CUSTOMER_MESSAGE
    if decision.from_agent and not decision.automated:
        kind = EntryKind.AGENT_REPLY
    return ThreadEntry(
        kind=kind,
        written_at=written_at(message.date, received=received),
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


def _intake_note(message: InboundMessage, decision: Decision, at: datetime) -> ThreadEntry | None:
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
    if not lines:
        return None
    return ThreadEntry(
        kind=EntryKind.SYSTEM,
        author="issuecore",
        text=clean_text("\n".join([f"Intake note on {message.message_id}:", *lines])),
        at=at,
    )
