"""Outbound mail: automatic replies, agent replies, the rate limit, and header safety."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import NOW, SIGNING_KEY, WORKFLOW, fixture_bytes, issue, settings, world

from issuecore.mail import InboundMessage, parse_message
from issuecore.mail._compose import (
    InMemoryAutoReplyCounter,
    compose_agent_reply,
    compose_auto_reply,
    reference_chain,
    reserve_auto_reply,
)
from issuecore.mail._matching import DecisionKind, decide
from issuecore.mail._signing import verify_message_id
from strategies import hostile_text, names, raw_messages, subjects

NUMBER = "ISS-2026-00099"


def _inbound(name: str) -> InboundMessage:
    message = parse_message(fixture_bytes(name))
    assert isinstance(message, InboundMessage)
    return message


def _auto_reply(message: InboundMessage, **changes: object) -> EmailMessage:
    reply = compose_auto_reply(message, number=NUMBER, settings=settings(**changes), now=NOW)
    assert reply is not None
    return reply


def _assert_header_safe(message: EmailMessage) -> None:
    for name, value in message.items():
        assert not any(char in str(value) for char in "\r\n\0"), (name, value)
    wire = message.as_bytes()
    again = email.message_from_bytes(wire, policy=email.policy.default)
    assert sorted(k.lower() for k in again) == sorted(k.lower() for k in message)


def test_auto_reply_answers_reply_to_and_threads_on_the_customer_message() -> None:
    customer = _inbound("new_customer")
    reply = _auto_reply(customer)
    assert reply["To"] == "erin.private@customer.example"
    assert reply["From"] == "support@helpdesk.example"
    assert reply["Subject"] == f"Re: Cannot log in \u2013 ürgent [#{NUMBER}]"
    assert reply["In-Reply-To"] == customer.message_id
    assert reply["References"] == customer.message_id
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["X-IssueCore-Loop"] == "support@helpdesk.example"
    assert verify_message_id(reply["Message-ID"], key=SIGNING_KEY).issue_number == NUMBER
    assert NUMBER in reply.get_content()


def test_auto_reply_goes_to_from_without_reply_to() -> None:
    assert _auto_reply(_inbound("forward"))["To"] == "alice@example.com"


def test_auto_reply_template_is_replaceable() -> None:
    reply = _auto_reply(
        _inbound("forward"), auto_reply_template="Ticket {number} ({subject}) {token}"
    )
    assert reply.get_content().strip() == f"Ticket {NUMBER} (Invoice question) [#{NUMBER}]"


@pytest.mark.parametrize("name", ["ooo_exchange", "ooo_zimbra", "mailing_list", "bounce_dsn"])
def test_automated_sender_never_gets_an_auto_reply(name: str) -> None:
    assert compose_auto_reply(_inbound(name), number=NUMBER, settings=settings(), now=NOW) is None


def test_robot_address_never_gets_an_auto_reply() -> None:
    raw = b"From: noreply@shop.example\nMessage-ID: <n@x>\nSubject: Order\n\nhi\n"
    message = parse_message(raw)
    assert isinstance(message, InboundMessage)
    assert compose_auto_reply(message, number=NUMBER, settings=settings(), now=NOW) is None


def test_message_without_message_id_is_not_threaded_on_a_made_up_id() -> None:
    reply = _auto_reply(_inbound("html_only_with_tricky_attachment"))
    assert reply["In-Reply-To"] is None
    assert reply["References"] is None


def test_rate_limit_allows_ten_auto_replies_a_day_per_sender() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings()
    allowed = [
        reserve_auto_reply(
            counter, "Bot@Example.com", now=NOW + timedelta(minutes=i), settings=config
        )
        for i in range(12)
    ]
    assert allowed == [True] * 10 + [False] * 2
    assert reserve_auto_reply(counter, "other@example.com", now=NOW, settings=config)
    assert not reserve_auto_reply(
        counter, "bot@example.com", now=NOW + timedelta(hours=23), settings=config
    )
    later = NOW + timedelta(hours=24, minutes=1)
    assert reserve_auto_reply(counter, "bot@example.com", now=later, settings=config)


def test_rate_limit_follows_the_settings() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=1, auto_reply_window=timedelta(minutes=5))
    assert reserve_auto_reply(counter, "a@example.com", now=NOW, settings=config)
    assert not reserve_auto_reply(counter, "a@example.com", now=NOW, settings=config)
    assert reserve_auto_reply(
        counter, "a@example.com", now=NOW + timedelta(minutes=6), settings=config
    )


def test_agent_reply_goes_to_the_raiser_with_participants_in_copy() -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject="Printer on fire",
        participants=("bob@example.com", "ALICE@example.com", "support@helpdesk.example",
                      "noreply@robots.example", "carl@Example.com"),
    )  # fmt: skip
    reply = compose_agent_reply(
        target,
        body="A technician comes tomorrow.",
        settings=settings(),
        now=NOW,
        in_reply_to="<latest@example.com>",
        references=("<first@example.com>", "<second@example.com>"),
        agent_name="Sam from Support",
        unique="retry1",
    )
    assert reply["To"] == "alice@example.com"
    assert reply["Cc"] == "bob@example.com, carl@example.com"
    assert reply["Subject"] == "Re: Printer on fire [#ISS-2026-00042]"
    assert reply["In-Reply-To"] == "<latest@example.com>"
    assert reply["References"] == "<first@example.com> <second@example.com> <latest@example.com>"
    assert reply["From"] == "Sam from Support <support@helpdesk.example>"
    assert reply["X-IssueCore-Loop"] == "support@helpdesk.example"
    assert verify_message_id(reply["Message-ID"], key=SIGNING_KEY).issue_number == "ISS-2026-00042"
    assert reply.get_content().strip() == "A technician comes tomorrow."


def test_retried_agent_reply_keeps_its_message_id() -> None:
    target = issue("ISS-2026-00042", raised_by="alice@example.com", subject="x")
    ids = {
        compose_agent_reply(target, body="b", settings=settings(), now=NOW, unique="same")[
            "Message-ID"
        ]
        for _ in range(2)
    }
    assert len(ids) == 1


def test_reference_chain_drops_unsafe_ids_and_keeps_first_and_newest() -> None:
    ids = ["<a@x>", "<bad id@x>", "<b@x>\r\nBcc: v@x", "<a@x>", *[f"<n{i}@x>" for i in range(30)]]
    chain = reference_chain(ids, limit=5)
    assert chain == ("<a@x>", "<n26@x>", "<n27@x>", "<n28@x>", "<n29@x>")


@given(subject=subjects, name=names, cc_name=hostile_text)
def test_hostile_inbound_values_never_put_a_line_break_into_an_auto_reply(
    subject: str, name: str, cc_name: str
) -> None:
    raw = "\n".join(
        [
            f"From: {name} <x@example.com>",
            f"Reply-To: {cc_name} <r@example.com>",
            f"Subject: {subject}",
            f"Message-ID: <{cc_name}@example.com>",
            f"References: {subject}",
            "",
            "body",
        ]
    ).encode("utf-8", "surrogateescape")
    message = parse_message(raw)
    if isinstance(message, InboundMessage):
        reply = compose_auto_reply(message, number=NUMBER, settings=settings(), now=NOW)
        if reply is not None:
            _assert_header_safe(reply)


@given(subject=subjects, name=names, participants=st.lists(hostile_text, max_size=4))
def test_hostile_issue_values_never_put_a_line_break_into_an_agent_reply(
    subject: str, name: str, participants: list[str]
) -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject=subject,
        participants=(*participants, "bob@example.com"),
    )
    reply = compose_agent_reply(
        target,
        body=subject,
        settings=settings(),
        now=NOW,
        in_reply_to=name,
        references=participants,
        agent_name=name,
    )
    _assert_header_safe(reply)


@given(raw_messages())
def test_generated_messages_go_through_intake_and_any_auto_reply_is_header_safe(
    raw: bytes,
) -> None:
    message = parse_message(raw)
    decision = decide(
        message, lookup=world(), settings=settings(), now=NOW, is_closed=WORKFLOW.is_closed
    )
    assert decision.kind in set(DecisionKind)
    if isinstance(message, InboundMessage) and decision.kind is DecisionKind.CREATE:
        reply = compose_auto_reply(message, number=NUMBER, settings=settings(), now=NOW)
        if decision.auto_reply:
            assert reply is not None
        if reply is not None:
            _assert_header_safe(reply)


def test_encoded_words_in_a_reply_to_name_cannot_break_the_recipient_header() -> None:
    hostile = "=?UTF-8?Q?=0D=0ABcc:_victim@example.com?=\u00a1\u00a1=?UTF-8?B?SGVsbG8=?="
    raw = f"From: x@example.com\nReply-To: {hostile} <r@example.com>\nMessage-ID: <m@x>\n\nhi\n"
    message = parse_message(raw.encode())
    assert isinstance(message, InboundMessage)
    reply = _auto_reply(message)
    assert reply["To"] in ("r@example.com", "x@example.com")
    _assert_header_safe(reply)


def test_auto_reply_to_an_international_domain_uses_its_ascii_form() -> None:
    message = parse_message("From: Jo <jo@exämple.de>\nMessage-ID: <m@x>\n\nhi\n".encode())
    assert isinstance(message, InboundMessage)
    assert _auto_reply(message)["To"] == "jo@xn--exmple-cua.de"


def test_address_that_needs_smtputf8_gets_no_auto_reply() -> None:
    message = parse_message("From: Jörg <jörg@example.de>\nMessage-ID: <m@x>\n\nhi\n".encode())
    assert isinstance(message, InboundMessage)
    assert compose_auto_reply(message, number=NUMBER, settings=settings(), now=NOW) is None
