"""Deciding what an inbound message is: a duplicate, a loop, part of an issue, or new.

:func:`decide` applies the rules of the mail specification in order, first
hit wins: duplicate, our own mail coming back, headers (In-Reply-To, then
References newest first), the subject token with the participant check, and
otherwise a new issue. A header naming mail the desk sent places a reply on
its issue whoever sends it; a header naming mail the desk received (a
customer's own Message-ID, which every recipient of that mail holds) needs
the same participant check as the token, and from a stranger it follows the
stranger policy. It reads what it needs through :class:`MailLookup`
and returns a :class:`Decision`; it records nothing and sends nothing.

The duplicate check comes before everything else, unreadable messages
included: a message is a duplicate when its Message-ID was recorded before
and its :func:`message_fingerprint` is the one recorded then (or either is
unknown). A different message reusing a recorded Message-ID is not dropped:
it is decided under :func:`reused_message_id` instead.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Final, Protocol

import attrs

from issuecore._evolve import evolve
from issuecore._instants import require_aware
from issuecore._model import Issue
from issuecore.mail._addresses import address_key, same_address, unique_addresses
from issuecore.mail._automated import (
    Automation,
    classify_automated,
    is_robot_address,
    reply_to_person,
)
from issuecore.mail._compose import auto_reply_recipient
from issuecore.mail._parse import InboundMessage, Quarantined
from issuecore.mail._settings import (
    AutomatedPolicy,
    FollowUpPolicy,
    MailSettings,
    StrangerPolicy,
)
from issuecore.mail._signing import SignatureStatus, verify_message_id
from issuecore.mail._tokens import clean_subject

__all__ = [
    "Decision",
    "DecisionKind",
    "MailLookup",
    "PriorMessage",
    "Signal",
    "decide",
    "message_fingerprint",
    "reused_message_id",
]

_HEADER_END: Final = re.compile(rb"\r?\n\r?\n")
_FOLDED: Final = re.compile(rb"\r?\n(?=[ \t])")
_SPACE: Final = re.compile(rb"[ \t]+")
_SENT: Final = "sent"  # the outcome the desk records for a message it sent


class DecisionKind(enum.StrEnum):
    """What the desk should do with a message."""

    CREATE = "create"
    APPEND = "append"
    DUPLICATE = "duplicate"
    LOOP = "loop"
    IGNORE = "ignore"
    QUARANTINE = "quarantine"


class Signal(enum.StrEnum):
    """Which evidence decided."""

    MESSAGE_ID = "message_id"
    OWN_MESSAGE_ID = "own_message_id"
    LOOP_HEADER = "loop_header"
    OWN_ADDRESS = "own_address"
    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    RETURNED_MESSAGE = "returned_message"
    SUBJECT_TOKEN = "subject_token"
    AUTOMATED = "automated"
    NO_SENDER = "no_sender"
    UNREADABLE = "unreadable"
    NONE = "none"


@attrs.frozen(kw_only=True)
class PriorMessage:
    """What the desk recorded for a Message-ID it has seen before.

    ``outcome`` is the kind recorded then (``"created"``, ``"appended"``,
    ``"ignored"``..., ``"sent"`` for mail the desk sent); ``issue_number``
    the issue it went to, if any; ``unverified`` whether it was kept on that
    issue from a non-participant.
    """

    message_id: str
    outcome: str
    issue_number: str | None = None
    unverified: bool = False
    fingerprint: str | None = None


class MailLookup(Protocol):
    """The read-only questions matching asks of storage."""

    def prior_message(self, message_id: str) -> PriorMessage | None:
        """Return what was recorded for ``message_id`` (inbound or sent), or ``None``."""
        ...

    def issue(self, number: str) -> Issue | None:
        """Return the issue numbered ``number``, or ``None``."""
        ...

    def is_agent(self, address: str) -> bool:
        """Return whether ``address`` belongs to an agent of the desk."""
        ...


@attrs.frozen(kw_only=True)
class Decision:
    """The outcome of matching one message, and what the desk must and must not do.

    - ``kind``/``signal``/``reason``: what it is, which evidence decided, in words.
    - ``issue_number``: the issue to append to (``APPEND``), or the earlier
      issue of a duplicate.
    - ``automated``/``automation``: whether the message is automated and the
      signals that fired. Automated mail never gets an automatic reply and
      never changes status.
    - ``change_status``: apply the customer-message action (``APPEND`` only).
    - ``reopen``: the matched issue is closed and may be reopened.
    - ``unverified``: kept on the issue from a non-participant: flag it, do
      not change status, relay it to nobody.
    - ``follows_up``: for ``CREATE``, the closed issue this message follows up.
    - ``subject``: for ``CREATE``, the subject cleaned of prefixes and tokens.
    - ``copied_in``: addresses the raiser (or an agent) copied in, to add as
      participants: at most ``max_new_participants`` of them. For ``CREATE``
      from a no-reply sender, the person its ``Reply-To`` names comes first.
    - ``left_out``: addresses copied in beyond ``max_new_participants``,
      not added (the reason says how many).
    - ``auto_reply``/``auto_reply_to``: whether an automatic reply is due and
      to whom (still subject to the rate limit, counted against both the
      recipient and the sender).
    - ``forged_references``: references that claimed to be ours but failed
      the signature check.
    - ``record_as``: the Message-ID to record the message under: its own, or
      for a reused Message-ID the one :func:`reused_message_id` derives.
    - ``reused_message_id``: the Message-ID the message reused, when an
      earlier, different message was recorded under it.
    - ``addressed_to_raiser``: for ``APPEND``, the message was sent to the
      issue's raiser too (in To or Cc), so they have it already.
    """

    kind: DecisionKind
    signal: Signal
    reason: str
    issue_number: str | None = None
    sender: str | None = None
    from_agent: bool = False
    automated: bool = False
    automation: tuple[str, ...] = ()
    change_status: bool = False
    reopen: bool = False
    unverified: bool = False
    follows_up: str | None = None
    subject: str | None = None
    copied_in: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    auto_reply: bool = False
    auto_reply_to: str | None = None
    previous_outcome: str | None = None
    forged_references: tuple[str, ...] = ()
    record_as: str | None = None
    reused_message_id: str | None = None
    addressed_to_raiser: bool = False


def message_fingerprint(raw: bytes) -> str:
    """Return what identifies a message's content: SHA-256 of its From, Date and body.

    The From and Date header fields are taken as written (unfolded, runs of
    blanks made one space, ends trimmed; the first of each); the body is every
    byte after the first empty line, with CRLF read as LF and trailing
    whitespace dropped. Headers added on the way (``Received``,
    ``Delivered-To``...) do not count, so a re-delivery has the fingerprint of
    the first delivery.
    """
    lines, body = _header_lines_and_body(bytes(raw))
    found: dict[bytes, bytes] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        if colon and key in (b"from", b"date") and key not in found:
            found[key] = _SPACE.sub(b" ", value).strip()
    digest = hashlib.sha256()
    for part in (found.get(b"from", b""), found.get(b"date", b"")):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body.replace(b"\r\n", b"\n").rstrip())
    return digest.hexdigest()


def _header_lines_and_body(data: bytes) -> tuple[list[bytes], bytes]:
    """Return the unfolded header lines of ``data`` and the bytes after the empty line."""
    if b"\r" not in data:
        # Line feeds alone (the usual case): the same, by plain finds and replaces.
        cut = data.find(b"\n\n")
        head, body = (data[:cut], data[cut + 2 :]) if cut >= 0 else (data, b"")
        unfolded = head.replace(b"\n ", b" ").replace(b"\n\t", b"\t")
        lines = unfolded.split(b"\n")
        if not lines[-1]:  # an end of line closes the last line: no line after it
            lines.pop()
        return lines, body
    return _header_lines_and_body_in_general(data)


def _header_lines_and_body_in_general(data: bytes) -> tuple[list[bytes], bytes]:
    end = _HEADER_END.search(data)
    head, body = (data[: end.start()], data[end.end() :]) if end else (data, b"")
    return _FOLDED.sub(b"", head).splitlines(), body


def reused_message_id(message_id: str, fingerprint: str) -> str:
    """Return the Message-ID a message is kept under when its own was used by another message."""
    digest = hashlib.sha256(
        message_id.encode("utf-8", "surrogatepass") + b"\0" + fingerprint.encode("ascii")
    ).hexdigest()
    return f"<{digest[:40]}@reused.issuecore.invalid>"


def decide(
    message: InboundMessage | Quarantined,
    *,
    lookup: MailLookup,
    settings: MailSettings,
    now: datetime,
    is_closed: Callable[[str], bool],
    fingerprint: str | None = None,
) -> Decision:
    """Return what ``message`` is and where it goes, by the rules of mail.md in order.

    ``fingerprint`` is :func:`message_fingerprint` of the raw bytes; without it
    any message under a recorded Message-ID is a duplicate.
    """
    require_aware("now", now)
    original = message.message_id
    prior = lookup.prior_message(original)
    reused = None
    if prior is not None:
        if fingerprint is None or prior.fingerprint in (None, fingerprint):
            return _duplicate(prior, message)
        derived = reused_message_id(original, fingerprint)
        again = lookup.prior_message(derived)
        if again is not None:
            return _duplicate(again, message)
        message = evolve(message, message_id=derived)
        reused = original
    if isinstance(message, Quarantined):
        decision = Decision(
            kind=DecisionKind.QUARANTINE,
            signal=Signal.UNREADABLE,
            reason=message.reason,
            record_as=message.message_id,
        )
    else:
        decision = _Matcher(message, lookup, settings, now, is_closed).decide()
    if reused is not None:
        note = (
            f"; its Message-ID {reused} was already recorded for a different message, "
            f"so it is kept as {message.message_id}"
        )
        decision = evolve(decision, reason=decision.reason + note, reused_message_id=reused)
    return decision


def _duplicate(prior: PriorMessage, message: InboundMessage | Quarantined) -> Decision:
    sender = None if isinstance(message, Quarantined) else message.from_address
    return Decision(
        kind=DecisionKind.DUPLICATE,
        signal=Signal.MESSAGE_ID,
        reason=f"Message-ID {prior.message_id} was already recorded as {prior.outcome}",
        issue_number=prior.issue_number,
        sender=sender,
        previous_outcome=prior.outcome,
        record_as=prior.message_id,
    )


@attrs.define
class _Matcher:
    message: InboundMessage
    lookup: MailLookup
    settings: MailSettings
    now: datetime
    is_closed: Callable[[str], bool]
    automation: Automation = attrs.field(init=False)
    forged: list[str] = attrs.field(init=False, factory=list)
    # the first issue a header named only through a message the desk received, from a stranger
    stranger_header: tuple[Issue, Signal, str] | None = attrs.field(init=False, default=None)
    # the issue numbers the subject's tokens name, found once
    token_numbers: tuple[str, ...] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.automation = classify_automated(
            self.message, own_addresses=self.settings.own_addresses
        )

    def decide(self) -> Decision:
        # The duplicate check has been made by decide() before the matcher runs.
        message = self.message
        if loop := self._loop():
            return loop
        if message.from_address is None:
            return self._decision(
                DecisionKind.QUARANTINE, Signal.NO_SENDER, "the message has no readable sender"
            )
        if by_header := self._by_headers():
            return by_header
        if by_token := self._by_token():
            return by_token
        if self.stranger_header is not None:
            issue, signal, why = self.stranger_header
            return self._stranger(issue, signal, why)
        if named := self._named_by_token():
            sender = message.from_address
            why = f"subject token names {named.number} but {sender} is not a participant"
            return self._stranger(named, Signal.SUBJECT_TOKEN, why)
        return self._new_issue(Signal.NONE, "no reference to a known issue")

    # -- rule 2 ---------------------------------------------------------------

    def _loop(self) -> Decision | None:
        message, settings = self.message, self.settings
        if verify_message_id(message.message_id, key=settings.signing_key).valid:
            return self._decision(
                DecisionKind.LOOP,
                Signal.OWN_MESSAGE_ID,
                f"Message-ID {message.message_id} is one we signed: our own mail came back",
            )
        loop_value = message.header(settings.loop_header)
        if loop_value is not None and address_key(loop_value) in settings.own_addresses:
            return self._decision(
                DecisionKind.LOOP,
                Signal.LOOP_HEADER,
                f"{settings.loop_header} names us: our own mail came back",
            )
        sender = message.from_address
        if sender is not None and address_key(sender) in settings.own_addresses:
            return self._decision(
                DecisionKind.LOOP, Signal.OWN_ADDRESS, f"sent from our own address {sender}"
            )
        return None

    # -- rule 3 ---------------------------------------------------------------

    def _by_headers(self) -> Decision | None:
        message = self.message
        sender = message.from_address
        assert sender is not None
        candidates: list[tuple[str, Signal]] = []
        if message.in_reply_to:
            candidates.append((message.in_reply_to, Signal.IN_REPLY_TO))
        candidates.extend((ref, Signal.REFERENCES) for ref in reversed(message.references))
        if message.returned_message_id and self.automation.automated:
            candidates.append((message.returned_message_id, Signal.RETURNED_MESSAGE))
        seen: set[str] = set()
        for reference, signal in candidates:
            if reference in seen:
                continue
            seen.add(reference)
            found = self._issue_for_reference(reference)
            if found is None:
                continue
            issue, how, ours = found
            why = f"{signal.value} {reference} is {how}"
            # Only mail the desk sent went to participants alone; a Message-ID the desk
            # received was chosen by the customer's client and travels with every copy of
            # that mail, so it admits no more than a subject token does.
            if ours or self._may_write_to(issue, sender):
                return self._matched(issue, signal, why)
            if self.stranger_header is None:
                self.stranger_header = (issue, signal, f"{why} but {sender} is not a participant")
        return None

    def _issue_for_reference(self, reference: str) -> tuple[Issue, str, bool] | None:
        """Return the issue ``reference`` names, how, and whether it names mail the desk sent."""
        signed = verify_message_id(reference, key=self.settings.signing_key)
        if signed.status is SignatureStatus.VALID and signed.issue_number is not None:
            issue = self.lookup.issue(signed.issue_number)
            if issue is None:
                return None
            return issue, f"our signed message on {issue.number}", True
        # What the desk recorded outranks a signature check that fails: a
        # message sent under an earlier signing key is still ours.
        prior = self.lookup.prior_message(reference)
        if prior is not None and prior.issue_number is not None and not prior.unverified:
            issue = self.lookup.issue(prior.issue_number)
            if issue is not None:
                sent = prior.outcome == _SENT
                what = "a message we sent" if sent else "a message we received"
                return issue, f"{what}, recorded on {issue.number}", sent
        if signed.status is SignatureStatus.FORGED:
            self.forged.append(reference)
        return None

    # -- rule 4 ---------------------------------------------------------------

    def _by_token(self) -> Decision | None:
        sender = self.message.from_address
        assert sender is not None
        for issue in self._issues_by_token():
            if self._may_write_to(issue, sender):
                return self._matched(
                    issue,
                    Signal.SUBJECT_TOKEN,
                    f"subject token names {issue.number} and {sender} is a participant",
                )
        return None

    def _named_by_token(self) -> Issue | None:
        return next(self._issues_by_token(), None)

    def _issues_by_token(self) -> Iterator[Issue]:
        if self.token_numbers is None:
            self.token_numbers = self.settings.tokens.numbers(self.message.subject)
        for number in self.token_numbers:
            issue = self.lookup.issue(number)
            if issue is not None:
                yield issue

    def _may_write_to(self, issue: Issue, sender: str) -> bool:
        return issue.is_participant(sender) or self.lookup.is_agent(sender)

    def _stranger(self, issue: Issue, signal: Signal, why: str) -> Decision:
        """Return what the stranger policy makes of a message naming ``issue`` from a stranger."""
        policy = self.settings.stranger_policy
        if policy is StrangerPolicy.REJECT:
            return self._decision(DecisionKind.QUARANTINE, signal, f"{why}; rejected by policy")
        if policy is StrangerPolicy.ATTACH_UNVERIFIED:
            return self._decision(
                DecisionKind.APPEND,
                signal,
                f"{why}; kept unverified by policy",
                issue_number=issue.number,
                unverified=True,
            )
        return self._new_issue(signal, f"{why}; it starts its own issue")

    # -- outcomes -------------------------------------------------------------

    def _matched(self, issue: Issue, signal: Signal, why: str) -> Decision:
        """Return what becomes of a message matched to ``issue`` (an append: has the raiser it)."""
        automated = self.automation.automated
        message = self.message
        direct = any(same_address(a, issue.raised_by) for a in (*message.to, *message.cc))
        copied, left_out = self._capped(self._copied_in(issue))
        if not self.is_closed(issue.status):
            return self._decision(
                DecisionKind.APPEND,
                signal,
                self._with_left_out(why, left_out),
                issue_number=issue.number,
                change_status=not automated,
                copied_in=copied,
                left_out=left_out,
                addressed_to_raiser=direct,
            )
        if automated:
            return self._decision(
                DecisionKind.APPEND,
                signal,
                self._with_left_out(
                    f"{why}; automated mail is added to the closed issue without reopening it",
                    left_out,
                ),
                issue_number=issue.number,
                copied_in=copied,
                left_out=left_out,
                addressed_to_raiser=direct,
            )
        policy = self.settings.follow_up_policy
        closed_at = issue.closed_at
        within = closed_at is not None and self.now - closed_at <= self.settings.reopen_within
        if policy is FollowUpPolicy.REOPEN or (policy is FollowUpPolicy.REOPEN_WITHIN and within):
            return self._decision(
                DecisionKind.APPEND,
                signal,
                self._with_left_out(
                    f"{why}; the closed issue is reopened ({policy.value})", left_out
                ),
                issue_number=issue.number,
                change_status=True,
                reopen=True,
                copied_in=copied,
                left_out=left_out,
                addressed_to_raiser=direct,
            )
        detail = (
            "follow-ups always start a new issue"
            if policy is FollowUpPolicy.NEW_ISSUE
            else f"it was closed more than {self.settings.reopen_within} ago"
        )
        return self._new_issue(
            signal, f"{why}; {detail}, so this starts a new issue", follows_up=issue.number
        )

    def _new_issue(self, signal: Signal, why: str, *, follows_up: str | None = None) -> Decision:
        message, settings = self.message, self.settings
        if self.automation.automated and settings.automated_policy is AutomatedPolicy.IGNORE:
            return self._decision(
                DecisionKind.IGNORE,
                Signal.AUTOMATED,
                "automated mail matching no issue is ignored: "
                + "; ".join(self.automation.signals),
            )
        recipient = None if self.automation.automated else auto_reply_recipient(message, settings)
        contact = reply_to_person(message, own_addresses=settings.own_addresses)
        if contact is not None:
            why = f"{why}; {message.from_address} sends on behalf of {contact} (Reply-To)"
        copied, left_out = self._capped(
            unique_addresses((*((contact,) if contact else ()), *self._recipients()))
        )
        return self._decision(
            DecisionKind.CREATE,
            signal,
            self._with_left_out(why, left_out),
            follows_up=follows_up,
            subject=clean_subject(message.subject, tokens=settings.tokens) or "(no subject)",
            copied_in=copied,
            left_out=left_out,
            auto_reply=settings.auto_reply and recipient is not None,
            auto_reply_to=recipient if settings.auto_reply else None,
        )

    def _copied_in(self, issue: Issue) -> tuple[str, ...]:
        # Only the raiser and agents widen an issue; the participant check
        # that let the message in looked at From alone, never at To or Cc.
        sender = self.message.from_address
        if sender is None:
            return ()
        if same_address(sender, issue.raised_by) or self.lookup.is_agent(sender):
            return tuple(a for a in self._recipients() if not issue.is_participant(a))
        return ()

    def _recipients(self) -> tuple[str, ...]:
        message = self.message
        exclude = (*self.settings.own_addresses, message.from_address or "")
        return tuple(
            address
            for address in unique_addresses((*message.to, *message.cc), exclude=exclude)
            if not is_robot_address(address)
        )

    def _capped(self, addresses: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        cap = self.settings.max_new_participants
        return addresses[:cap], addresses[cap:]

    def _with_left_out(self, why: str, left_out: tuple[str, ...]) -> str:
        if not left_out:
            return why
        cap = self.settings.max_new_participants
        return (
            f"{why}; {len(left_out)} more copied-in addresses left out "
            f"(max_new_participants is {cap})"
        )

    def _decision(
        self, kind: DecisionKind, signal: Signal, reason: str, **fields: object
    ) -> Decision:
        sender = self.message.from_address
        return Decision(
            kind=kind,
            signal=signal,
            reason=reason,
            sender=sender,
            from_agent=sender is not None and self.lookup.is_agent(sender),
            automated=self.automation.automated,
            automation=self.automation.signals,
            forged_references=tuple(self.forged),
            record_as=self.message.message_id,
            **fields,  # type: ignore[arg-type]
        )
