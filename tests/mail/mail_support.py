"""The world the mail tests match against: a few issues, stored messages and an agent."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from issuecore._model import Issue, Status
from issuecore._workflow import Workflow
from issuecore.mail._addresses import address_key
from issuecore.mail._matching import PriorMessage
from issuecore.mail._settings import MailSettings

FIXTURES = Path(__file__).parent / "fixtures"
SIGNING_KEY = b"issuecore-fixture-signing-key-01"
SUPPORT = "support@helpdesk.example"
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
WORKFLOW = Workflow.default()


def settings(**changes: object) -> MailSettings:
    """Return the settings the fixtures were written for, with ``changes``."""
    return attrs.evolve(MailSettings(support_address=SUPPORT, signing_key=SIGNING_KEY), **changes)


def issue(
    number: str,
    *,
    raised_by: str,
    subject: str,
    status: str = Status.OPEN,
    closed_at: datetime | None = None,
    participants: tuple[str, ...] = (),
) -> Issue:
    """Return an issue as storage would hand it back."""
    created = NOW - timedelta(days=60)
    return Issue(
        number=number,
        subject=subject,
        raised_by=raised_by,
        status=status,
        created_at=created,
        updated_at=closed_at or created,
        status_since=closed_at or created,
        participants=participants,
        closed_at=closed_at,
    )


@attrs.define
class FakeLookup:
    """A :class:`~issuecore.mail.MailLookup` over dictionaries."""

    issues: dict[str, Issue] = attrs.field(factory=dict)
    messages: dict[str, PriorMessage] = attrs.field(factory=dict)
    agents: set[str] = attrs.field(factory=set)

    def prior_message(self, message_id: str) -> PriorMessage | None:
        return self.messages.get(message_id)

    def issue(self, number: str) -> Issue | None:
        return self.issues.get(number)

    def is_agent(self, address: str) -> bool:
        return address_key(address) in self.agents

    def add_issue(self, value: Issue) -> None:
        self.issues[value.number] = value

    def add_message(
        self, message_id: str, outcome: str, number: str | None, *, unverified: bool = False
    ) -> None:
        self.messages[message_id] = PriorMessage(
            message_id=message_id, outcome=outcome, issue_number=number, unverified=unverified
        )


def world() -> FakeLookup:
    """Return the lookup the fixture corpus is written against."""
    lookup = FakeLookup(agents={"sam@helpdesk.example"})
    lookup.add_issue(
        issue(
            "ISS-2026-00042",
            raised_by="alice@example.com",
            subject="Printer on fire",
            participants=("bob@example.com",),
        )
    )
    lookup.add_issue(
        issue(
            "ISS-2026-00007",
            raised_by="carol@example.org",
            subject="VPN drops every hour",
            status=Status.CLOSED,
            closed_at=NOW - timedelta(days=3),
        )
    )
    lookup.add_issue(
        issue(
            "ISS-2026-00003",
            raised_by="dave@example.net",
            subject="Password reset link expired",
            status=Status.CLOSED,
            closed_at=NOW - timedelta(days=37),
        )
    )
    lookup.add_message("<CAF-alice-first@mail.gmail.com>", "created", "ISS-2026-00042")
    lookup.add_message("<hijack-0@evil.example>", "appended", "ISS-2026-00042", unverified=True)
    return lookup


def fixture_bytes(name: str) -> bytes:
    """Return the raw bytes of the fixture ``name`` (without ``.eml``)."""
    return (FIXTURES / f"{name}.eml").read_bytes()


def folded(header: object) -> tuple[str, str]:
    """Return a header object folded by ``policy.default``, or the error its folding raised."""
    try:
        return ("folded", header.fold(policy=email.policy.default))  # type: ignore[attr-defined]
    except Exception as error:  # folding some odd values fails in the standard library too
        return ("failed", type(error).__name__)
