"""Value objects of the issue domain: statuses, actors, issues, entries and events.

Everything here is immutable (``attrs.frozen``); a change makes a new value
with :func:`attrs.evolve`. Instants are timezone-aware datetimes; a naive one
is refused with :class:`~issuecore.errors.NaiveDatetimeError`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from issuecore._instants import (
    aware_field,
    optional_aware_field,
    optional_utc_converter,
    utc_converter,
)
from issuecore._sla.clock import SlaClock

__all__ = [
    "Action",
    "Actor",
    "ActorKind",
    "AgreementChanged",
    "Assigned",
    "Attachment",
    "DetailsChanged",
    "EntryKind",
    "Event",
    "HistoryEntry",
    "Issue",
    "IssueClosed",
    "IssueOpened",
    "MessageReceived",
    "NoteAdded",
    "ParticipantAdded",
    "PriorityChanged",
    "ReplySent",
    "SlaAtRisk",
    "SlaBreached",
    "SlaReset",
    "Status",
    "StatusChanged",
    "ThreadEntry",
    "Unassigned",
]


_APART = timedelta(minutes=1)


class Status(enum.StrEnum):
    """The statuses of the default workflow; each compares equal to its value."""

    OPEN = "Open"
    WAITING_FOR_REPLY = "Waiting for Reply"
    ON_HOLD = "On Hold"
    RESOLVED = "Resolved"
    CLOSED = "Closed"


class Action(enum.StrEnum):
    """The actions of the default workflow; each compares equal to its value."""

    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"
    HOLD = "hold"
    RESOLVE = "resolve"
    CLOSE = "close"
    AUTO_CLOSE = "auto_close"
    REOPEN = "reopen"
    RESUME = "resume"


class ActorKind(enum.StrEnum):
    """Who acted: the customer, an agent, or the system itself."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


@attrs.frozen(kw_only=True)
class Actor:
    """Someone or something acting on an issue: ``kind`` and an ``id`` (an address, a user)."""

    kind: ActorKind
    id: str

    @classmethod
    def customer(cls, address: str) -> Actor:
        """Return the actor for a customer writing from ``address``."""
        return cls(kind=ActorKind.CUSTOMER, id=address)

    @classmethod
    def agent(cls, user: str) -> Actor:
        """Return the actor for the agent ``user``."""
        return cls(kind=ActorKind.AGENT, id=user)

    @classmethod
    def system(cls, component: str = "issuecore") -> Actor:
        """Return the actor for the system (sweeps, intake rules)."""
        return cls(kind=ActorKind.SYSTEM, id=component)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@attrs.frozen(kw_only=True)
class HistoryEntry:
    """One recorded action: what, who, when, the status before and after, and why."""

    at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    actor: Actor
    action: str = attrs.field(converter=str)
    from_status: str = attrs.field(converter=str)
    to_status: str = attrs.field(converter=str)
    reason: str | None = None
    detail: str | None = None


@attrs.frozen(kw_only=True)
class Attachment:
    """A file that came with a message: safe name, type, size, content id and the bytes."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    content_id: str | None = None

    @property
    def size(self) -> int:
        """Return the size of the file in bytes."""
        return len(self.data)


class EntryKind(enum.StrEnum):
    """What a thread entry is."""

    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"
    INTERNAL_NOTE = "internal_note"
    AUTOMATED_MESSAGE = "automated_message"
    SYSTEM = "system"


@attrs.frozen(kw_only=True)
class ThreadEntry:
    """One entry of an issue's discussion thread, in either direction.

    ``text`` is the full text, never shortened; ``new_text`` is the same
    without quoted earlier conversation (equal to ``text`` when nothing was
    quoted). ``unverified`` marks a message kept on the issue although its
    sender is not a participant. ``at`` is when the desk recorded the entry
    (for mail, when it was received); ``written_at`` is the instant the
    message's own ``Date:`` header gives, in UTC, ``None`` when it has none,
    it cannot be read, or it is absurd (before 1970, or later than a day
    after it was received).
    """

    kind: EntryKind
    author: str
    text: str
    at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    written_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    new_text: str | None = None
    html: str | None = None
    subject: str | None = None
    message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    unverified: bool = False

    @property
    def display_text(self) -> str:
        """Return the text without quoted history when known, else the full text."""
        return self.text if self.new_text is None else self.new_text

    @property
    def written_apart(self) -> bool:
        """Return whether ``written_at`` is known and a minute or more away from ``at``.

        Mail is dated a few seconds before it arrives; a view shows both
        instants only when they tell different stories.
        """
        return self.written_at is not None and abs(self.at - self.written_at) >= _APART


def _references(value: Mapping[str, str] | None) -> dict[str, str]:
    return {} if value is None else dict(value)


def _fields(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


@attrs.frozen(kw_only=True)
class Issue:
    """A support issue as the domain sees it; change it through :mod:`issuecore._workflow`.

    ``status`` is kept as a plain string (``Status`` members compare equal to
    it). ``history`` is append-only. ``last_agent_reply_at`` is the instant
    auto-close counts from. ``version`` belongs to storage: it counts the
    committed changes and guards against lost updates. ``sla`` is the
    issue's SLA clock, ``None`` when no agreement covers it.
    ``issue_type`` is the adopter's kind of issue (``"Critical"``,
    ``"Billing"``), ``references`` names records of other systems
    (``{"customer": "CUST-0001", "sales_order": "SO-42"}``) and ``fields``
    holds custom fields, each a JSON scalar (text, number, boolean or null).
    """

    number: str
    subject: str
    raised_by: str
    status: str = attrs.field(converter=str)
    created_at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    updated_at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    status_since: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    priority: str | None = None
    assignees: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    last_agent_reply_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    last_customer_message_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    first_responded_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    resolved_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    closed_at: datetime | None = attrs.field(
        default=None, converter=optional_utc_converter, validator=optional_aware_field
    )
    follows_up: str | None = None
    issue_type: str | None = None
    references: Mapping[str, str] = attrs.field(factory=dict, converter=_references, hash=False)
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_fields, hash=False)
    sla: SlaClock | None = None
    history: tuple[HistoryEntry, ...] = ()
    version: int = 0

    def is_participant(self, address: str) -> bool:
        """Return whether ``address`` raised the issue or was added as a participant."""
        # Imported here: issuecore.mail imports this module, so a module-level
        # import would be circular. Address identity has one home.
        from issuecore.mail._addresses import address_key

        wanted = address_key(address)
        return wanted == address_key(self.raised_by) or any(
            wanted == address_key(known) for known in self.participants
        )


@attrs.frozen(kw_only=True)
class Event:
    """Base of the domain events a committed change raises."""

    number: str
    at: datetime = attrs.field(converter=utc_converter, validator=aware_field)
    actor: Actor


@attrs.frozen(kw_only=True)
class IssueOpened(Event):
    """A new issue exists."""

    subject: str
    raised_by: str


@attrs.frozen(kw_only=True)
class StatusChanged(Event):
    """The issue moved from one status to another."""

    action: str = attrs.field(converter=str)
    from_status: str = attrs.field(converter=str)
    to_status: str = attrs.field(converter=str)
    reason: str | None = None


@attrs.frozen(kw_only=True)
class IssueClosed(Event):
    """The issue entered a closed status (raised besides :class:`StatusChanged`)."""

    status: str = attrs.field(converter=str)
    reason: str | None = None


@attrs.frozen(kw_only=True)
class NoteAdded(Event):
    """An internal note was recorded."""


@attrs.frozen(kw_only=True)
class Assigned(Event):
    """``user`` was assigned to the issue."""

    user: str


@attrs.frozen(kw_only=True)
class Unassigned(Event):
    """``user`` was taken off the issue."""

    user: str


@attrs.frozen(kw_only=True)
class ParticipantAdded(Event):
    """``address`` became a participant of the issue."""

    address: str


@attrs.frozen(kw_only=True)
class PriorityChanged(Event):
    """The priority changed from ``old`` to ``new``."""

    old: str | None
    new: str


@attrs.frozen(kw_only=True)
class DetailsChanged(Event):
    """The issue's type, references or custom fields changed; each holds the new values."""

    issue_type: str | None
    references: Mapping[str, str] = attrs.field(factory=dict, converter=_references, hash=False)
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_fields, hash=False)


@attrs.frozen(kw_only=True)
class AgreementChanged(Event):
    """What the issue now is chose another agreement (``None``: no agreement covers it)."""

    old: str | None
    new: str | None


@attrs.frozen(kw_only=True)
class MessageReceived(Event):
    """A message from outside was added to the thread (``automated`` for robots)."""

    message_id: str | None
    author: str
    automated: bool = False


@attrs.frozen(kw_only=True)
class ReplySent(Event):
    """An agent reply was added to the thread and queued for sending."""

    message_id: str
    author: str


@attrs.frozen(kw_only=True)
class SlaReset(Event):
    """The SLA clock was restarted; ``reason`` says why."""

    reason: str


@attrs.frozen(kw_only=True)
class SlaAtRisk(Event):
    """A running SLA ``target`` (``"response"`` or ``"resolution"``) is close to its deadline."""

    target: str
    deadline: datetime = attrs.field(converter=utc_converter, validator=aware_field)


@attrs.frozen(kw_only=True)
class SlaBreached(Event):
    """An SLA ``target`` (``"response"`` or ``"resolution"``) passed its deadline unmet."""

    target: str
    deadline: datetime = attrs.field(converter=utc_converter, validator=aware_field)
