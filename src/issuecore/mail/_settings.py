"""The settings of email intake and outbound mail, as one frozen value."""

from __future__ import annotations

import enum
import functools
import re
import secrets
from datetime import timedelta
from typing import Any, Final

import attrs

from issuecore.errors import MailSettingsError
from issuecore.mail._addresses import address_key, ascii_domain, normalize_address
from issuecore.mail._tokens import TokenFormat, token_format

__all__ = [
    "DEFAULT_AUTO_REPLY_TEMPLATE",
    "AgentMailPolicy",
    "AutomatedPolicy",
    "FollowUpPolicy",
    "MailSettings",
    "StrangerPolicy",
]

DEFAULT_AUTO_REPLY_TEMPLATE: Final = (
    "Thank you for your message. We have opened issue {number} for it.\n"
    "\n"
    "Please keep {token} in the subject when you write about it again, "
    "so your message reaches the same issue.\n"
)

_TEMPLATE_FIELDS: Final = {"number": "", "subject": "", "token": "", "support_address": ""}


class StrangerPolicy(enum.StrEnum):
    """What a message naming an issue from someone who is not a participant does.

    It names the issue by a valid token, or by a reference to a message the
    desk received on it (a reference to mail the desk sent admits anyone).
    """

    NEW_ISSUE = "new_issue"
    ATTACH_UNVERIFIED = "attach_unverified"
    REJECT = "reject"


class FollowUpPolicy(enum.StrEnum):
    """What a message matching a closed issue does."""

    REOPEN_WITHIN = "reopen_within"
    NEW_ISSUE = "new_issue"
    REOPEN = "reopen"


class AutomatedPolicy(enum.StrEnum):
    """What automated mail that matches no issue does."""

    IGNORE = "ignore"
    CREATE = "create"


class AgentMailPolicy(enum.StrEnum):
    """What a message from an agent's address that names an issue does.

    ``relay``: it is sent on to the customer as a desk reply (quoted text
    left out, attachments kept) through the outbox, and counts as the
    response once queued. ``record_only``: it is kept on the thread as an
    internal note; nothing is sent and the status stays. Either way, mail
    the agent addressed to the customer directly (the raiser in To or Cc)
    is recorded as the agent reply it is and not sent again.
    """

    RELAY = "relay"
    RECORD_ONLY = "record_only"


def _member(kind: type[enum.StrEnum], name: str, value: object) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise MailSettingsError.invalid(name, value, f"one of {allowed}") from None


def _stranger_policy(value: object) -> StrangerPolicy:
    policy: StrangerPolicy = _member(StrangerPolicy, "stranger_policy", value)
    return policy


def _follow_up_policy(value: object) -> FollowUpPolicy:
    policy: FollowUpPolicy = _member(FollowUpPolicy, "follow_up_policy", value)
    return policy


def _agent_mail_policy(value: object) -> AgentMailPolicy:
    policy: AgentMailPolicy = _member(AgentMailPolicy, "agent_mail_policy", value)
    return policy


def _automated_policy(value: object) -> AutomatedPolicy:
    policy: AutomatedPolicy = _member(AutomatedPolicy, "automated_policy", value)
    return policy


def _normalized(value: str) -> str:
    return normalize_address(str(value)) or str(value)


def _normalized_all(values: Any) -> tuple[str, ...]:
    return tuple(_normalized(value) for value in values)


def _address(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if normalize_address(value) is None:
        raise MailSettingsError.invalid(attribute.name, value, "an address like help@example.com")


def _aliases(_instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for alias in value:
        if normalize_address(alias) is None:
            raise MailSettingsError.invalid(
                attribute.name, alias, "addresses like sales@example.com"
            )


def _key(_instance: object, attribute: attrs.Attribute[Any], value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) < 16:
        raise MailSettingsError.invalid(
            attribute.name, "<hidden>", "at least 16 random bytes, e.g. secrets.token_bytes(32)"
        )


def _token_format(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    opener, marker, closer = value.partition("{number}")
    if (
        not marker
        or "{number}" in closer
        or not opener.strip()
        or not closer.strip()
        or any(char in value for char in "\r\n\0")
    ):
        raise MailSettingsError.invalid(
            attribute.name,
            value,
            "one '{number}' between a non-blank opener and closer, e.g. '[#{number}]'",
        )


def _pattern(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        re.compile(value)
    except re.error as error:
        raise MailSettingsError.invalid(
            attribute.name, value, f"a regular expression ({error})"
        ) from None


def _positive_span(_instance: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise MailSettingsError.invalid(attribute.name, value, "a positive timedelta")


def _limit(_instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or value < 0:
        raise MailSettingsError.invalid(attribute.name, value, "a whole number, 0 or more")


def _template(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        value.format(**_TEMPLATE_FIELDS)
    except (KeyError, IndexError, ValueError) as error:
        raise MailSettingsError.invalid(
            attribute.name,
            value,
            "a str.format template using only {number}, {subject}, {token}, "
            f"{{support_address}} ({error!r})",
        ) from None


def _header_name(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9-]{1,76}", value):
        raise MailSettingsError.invalid(attribute.name, value, "a header name like X-Issue-Loop")


def _authserv_id(_instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", value):
        raise MailSettingsError.invalid(
            attribute.name, value, "the receiving server's name, like mx.google.com"
        )


def _domain(_instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", value):
        raise MailSettingsError.invalid(attribute.name, value, "a domain like example.com")


@attrs.frozen(kw_only=True)
class MailSettings:
    """How intake matches mail and how outbound mail is written.

    ``signing_key`` signs the Message-IDs we send. Set it for production: the
    default is a fresh random key, so IDs signed before a restart are no
    longer recognised (replies to them still find their issue by token).

    ``agent_mail_policy`` says what an agent's mail naming an issue does
    (:class:`AgentMailPolicy`). ``agent_mail_authserv_id``, when set, is the
    name the mailbox's receiving server writes into ``Authentication-Results``
    (``mx.google.com``, ``mx.microsoft.com``...): agent mail is then relayed
    only when that server's header says ``dmarc=pass``, so a forged agent
    address cannot make the desk write to a customer.
    """

    support_address: str = attrs.field(validator=_address, converter=_normalized)
    aliases: tuple[str, ...] = attrs.field(
        default=(), converter=_normalized_all, validator=_aliases
    )
    signing_key: bytes = attrs.field(
        factory=lambda: secrets.token_bytes(32), validator=_key, repr=False
    )
    token_format: str = attrs.field(default="[#{number}]", validator=_token_format)
    number_pattern: str = attrs.field(default=r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+", validator=_pattern)
    stranger_policy: StrangerPolicy = attrs.field(
        default=StrangerPolicy.NEW_ISSUE, converter=_stranger_policy
    )
    follow_up_policy: FollowUpPolicy = attrs.field(
        default=FollowUpPolicy.REOPEN_WITHIN, converter=_follow_up_policy
    )
    reopen_within: timedelta = attrs.field(default=timedelta(days=14), validator=_positive_span)
    automated_policy: AutomatedPolicy = attrs.field(
        default=AutomatedPolicy.IGNORE, converter=_automated_policy
    )
    agent_mail_policy: AgentMailPolicy = attrs.field(
        default=AgentMailPolicy.RELAY, converter=_agent_mail_policy
    )
    agent_mail_authserv_id: str | None = attrs.field(default=None, validator=_authserv_id)
    auto_reply: bool = True
    auto_reply_limit: int = attrs.field(default=10, validator=_limit)
    auto_reply_window: timedelta = attrs.field(
        default=timedelta(hours=24), validator=_positive_span
    )
    auto_reply_template: str = attrs.field(default=DEFAULT_AUTO_REPLY_TEMPLATE, validator=_template)
    max_new_participants: int = attrs.field(default=20, validator=_limit)
    loop_header: str = attrs.field(default="X-IssueCore-Loop", validator=_header_name)
    message_id_domain: str | None = attrs.field(default=None, validator=_domain)

    @property
    def tokens(self) -> TokenFormat:
        """Return the token format that renders and finds ``[#ISS-2026-00042]``."""
        return token_format(self.token_format, self.number_pattern)

    @functools.cached_property
    def own_addresses(self) -> frozenset[str]:
        """Return the support address and its aliases, as :func:`address_key` compares them."""
        return frozenset(
            address_key(address)
            for address in (self.support_address, *self.aliases)
            if normalize_address(address) is not None
        )

    @property
    def id_domain(self) -> str:
        """Return the domain our Message-IDs end in."""
        if self.message_id_domain is not None:
            return self.message_id_domain.lower()
        converted = ascii_domain(self.support_address.rpartition("@")[2])
        return (
            converted
            if converted is not None and re.fullmatch(r"[a-z0-9.-]{1,253}", converted)
            else "issuecore.invalid"
        )
