"""Outbound mail keeps long Message-IDs readable on the wire, so replies thread."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from issuecore._workflow import open_issue
from issuecore.mail._compose import compose_agent_reply
from issuecore.mail._settings import MailSettings
from issuecore.ports import OutboxItem

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTINGS = MailSettings(
    support_address="support@a-rather-long-subdomain.support.example.com", signing_key=b"w" * 32
)


def test_long_message_ids_survive_the_outbox_and_the_wire_unencoded() -> None:
    issue = open_issue(
        number="ISS-2026-00042", subject="Help", raised_by="ana@customer.test", at=NOW
    ).issue
    parent = "<" + "p" * 90 + "@customer.test>"
    reply = compose_agent_reply(
        issue, body="Hello", settings=SETTINGS, now=NOW, in_reply_to=parent, references=[parent]
    )
    stored = OutboxItem.for_message(reply, number=issue.number, created_at=NOW)
    wire = stored.payload
    assert b"=?utf-8?" not in wire
    again = email.message_from_bytes(wire, policy=email.policy.default)
    assert again["In-Reply-To"] == parent
    assert again["Message-ID"] == reply["Message-ID"]
    assert len(str(reply["Message-ID"])) > 78 - len("In-Reply-To: ")
