"""Outbound mail: automatic replies, agent replies, the rate limit, and header safety."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import NOW, SIGNING_KEY, WORKFLOW, fixture_bytes, issue, settings, world

from issuecore._instants import in_utc
from issuecore._model import Attachment
from issuecore.errors import NaiveDatetimeError
from issuecore.mail import InboundMessage, parse_message
from issuecore.mail._automated import classify_automated
from issuecore.mail._compose import (
    InMemoryAutoReplyCounter,
    _date_text,
    auto_reply_recipient,
    compose_acknowledgement,
    compose_agent_reply,
    compose_auto_reply,
    compose_auto_reply_bytes,
    reference_chain,
    reserve_auto_reply,
)
from issuecore.mail._matching import DecisionKind, decide
from issuecore.mail._signing import verify_message_id
from issuecore.ports import OutboxItem
from issuecore.testing.strategies import aware_datetimes, timezones
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


_PLAIN_WORDS = st.from_regex(r"[!-~]{1,12}( [!-~]{1,12}){0,6}", fullmatch=True)
_PLAIN_IDS = st.from_regex(r"<[A-Za-z0-9_.+-]{1,20}@[a-z0-9.-]{1,20}>", fullmatch=True)
_PLAIN_ADDRESSES = st.from_regex(
    r"[A-Za-z0-9_+-]{1,10}(\.[a-z0-9]{1,5})?@[a-z0-9-]{1,10}\.test", fullmatch=True
)


def _queued(message: InboundMessage, **keywords: object) -> tuple[str, bytes] | None:
    """Return what queueing compose_auto_reply's message stores: its Message-ID and bytes."""
    reply = compose_auto_reply(message, **keywords)  # type: ignore[arg-type]
    if reply is None:
        return None
    item = OutboxItem.for_message(reply, number=NUMBER, created_at=NOW)
    assert item.message_id is not None
    return item.message_id, item.payload


@given(
    subject=st.one_of(_PLAIN_WORDS, subjects),
    sender=st.one_of(_PLAIN_ADDRESSES, hostile_text),
    reply_to=st.lists(st.one_of(_PLAIN_ADDRESSES, hostile_text), max_size=2),
    message_id=st.one_of(_PLAIN_IDS, hostile_text, st.just(""), st.just(" ")),
    references=st.lists(st.one_of(_PLAIN_IDS, hostile_text), max_size=25),
    synthetic=st.booleans(),
    template=st.one_of(st.none(), _PLAIN_WORDS, hostile_text),
    loop_header=st.sampled_from(["X-IssueCore-Loop", "X-Loop", "Subject-Loop"]),
    offset=st.integers(-14 * 60, 14 * 60),
    pendulum_now=st.booleans(),
    unique=st.from_regex(r"[a-z0-9]{1,64}", fullmatch=True),
)
def test_auto_reply_bytes_equal_the_queued_composed_reply(
    subject: str,
    sender: str,
    reply_to: list[str],
    message_id: str,
    references: list[str],
    synthetic: bool,
    template: str | None,
    loop_header: str,
    offset: int,
    pendulum_now: bool,
    unique: str,
) -> None:
    message = InboundMessage(
        message_id=message_id,
        synthetic_message_id=synthetic,
        references=tuple(references),
        from_address=sender,
        reply_to=tuple(reply_to),
        subject=subject,
    )
    changes: dict[str, object] = {"loop_header": loop_header}
    if template is not None:
        changes["auto_reply_template"] = template.replace("{", "(").replace("}", ")") + (
            "\nIssue {number}, {token}: {subject}\n"
        )
    keywords = {
        "number": NUMBER,
        "settings": settings(**changes),
        "now": in_utc(NOW) if pendulum_now else NOW.astimezone(timezone(timedelta(minutes=offset))),
        "unique": unique,
    }
    assert compose_auto_reply_bytes(message, **keywords) == _queued(message, **keywords)  # type: ignore[arg-type]


def test_a_plain_auto_reply_is_written_without_building_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = attrs.evolve(_inbound("new_customer"), subject="Cannot log in")
    expected = _queued(message, number=NUMBER, settings=settings(), now=NOW, unique="abc")

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the plain reply was composed as a message")

    monkeypatch.setattr("issuecore.mail._compose.compose_auto_reply", refuse)
    found = compose_auto_reply_bytes(
        message, number=NUMBER, settings=settings(), now=NOW, unique="abc"
    )
    assert found == expected


def test_an_auto_reply_with_a_non_ascii_subject_is_composed_as_a_message() -> None:
    message = attrs.evolve(_inbound("new_customer"), subject="Drucker brennt \u2013 schnell")
    found = compose_auto_reply_bytes(
        message, number=NUMBER, settings=settings(), now=NOW, unique="abc"
    )
    assert found == _queued(message, number=NUMBER, settings=settings(), now=NOW, unique="abc")
    assert found is not None
    assert b"=?utf-8?" in found[1]


@pytest.mark.parametrize("message_id", ["", " ", "<not safe@x>"])
def test_auto_reply_bytes_keep_references_when_the_own_message_id_is_unusable(
    message_id: str,
) -> None:
    message = InboundMessage(
        message_id=message_id,
        references=("<first@customer.example>", "<second@customer.example>"),
        from_address="ana@customer.example",
        subject="Cannot log in",
    )
    keywords: dict[str, object] = {"number": NUMBER, "settings": settings(), "now": NOW}
    keywords["unique"] = "abc"
    found = compose_auto_reply_bytes(message, **keywords)  # type: ignore[arg-type]
    assert found == _queued(message, **keywords)
    assert found is not None
    assert b"References: <first@customer.example> <second@customer.example>" in found[1]


# --- agent replies with extras, acknowledgements, and the rate limit's edges ------------


def _with_extras(*attachments: Attachment, html: str | None = None) -> EmailMessage:
    target = issue("ISS-2026-00042", raised_by="alice@example.com", subject="Invoice")
    return compose_agent_reply(
        target, body="See attached.", settings=settings(), now=NOW, html=html,
        attachments=attachments,
    )  # fmt: skip


def test_an_agent_reply_carries_an_html_alternative_and_its_attachments_in_order() -> None:
    reply = _with_extras(
        Attachment(filename="invoice.pdf", content_type="Application/PDF ", data=b"%PDF"),
        Attachment(filename="notes.txt", content_type="text/plain", data=b"notes"),
        html="<p>See <b>attached</b>.</p>",
    )
    assert reply.get_body(("plain",)).get_content().strip() == "See attached."  # type: ignore[union-attr]
    assert "<b>attached</b>" in reply.get_body(("html",)).get_content()  # type: ignore[union-attr]
    found = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in reply.iter_attachments()
    ]
    assert found == [
        ("invoice.pdf", "application/pdf", b"%PDF"),
        ("notes.txt", "text/plain", b"notes"),
    ]


@pytest.mark.parametrize(
    "content_type",
    ["multipart/mixed", "message/rfc822", "pdf", "application/", "/pdf", "a b/c", ""],
)
def test_an_attachment_of_a_container_or_unreadable_type_is_sent_as_octet_stream(
    content_type: str,
) -> None:
    reply = _with_extras(Attachment(filename="a.bin", content_type=content_type, data=b"x"))
    (part,) = reply.iter_attachments()
    assert part.get_content_type() == "application/octet-stream"


@pytest.mark.parametrize(
    ("filename", "sent_as"),
    [("", "attachment"), ("\r\n", "attachment"), ("report\r\nBcc: x@y.example.pdf", None)],
)
def test_an_attachment_name_is_made_header_safe_or_replaced(
    filename: str, sent_as: str | None
) -> None:
    reply = _with_extras(Attachment(filename=filename, content_type="text/plain", data=b"x"))
    (part,) = reply.iter_attachments()
    assert part.get_filename() == (sent_as or "report Bcc: x@y.example.pdf")
    _assert_header_safe(reply)


def test_an_agent_reply_without_html_is_plain_text() -> None:
    assert _with_extras().get_content_type() == "text/plain"


def test_an_agent_name_that_is_blank_after_cleaning_leaves_from_as_the_address() -> None:
    target = issue("ISS-2026-00042", raised_by="alice@example.com", subject="x")
    reply = compose_agent_reply(target, body="b", settings=settings(), now=NOW, agent_name=" \r\n ")
    assert reply["From"] == "support@helpdesk.example"


def test_excluded_addresses_get_no_copy_of_an_agent_reply() -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject="x",
        participants=("bob@example.com", "sam@helpdesk.example"),
    )
    reply = compose_agent_reply(
        target, body="b", settings=settings(), now=NOW, exclude=("SAM@helpdesk.example",)
    )
    assert (reply["To"], reply["Cc"]) == ("alice@example.com", "bob@example.com")


def test_a_robot_raiser_is_not_addressed_and_the_first_participant_is() -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="noreply@erp.example",
        subject="Order",
        participants=("buyer@customer.example", "boss@customer.example"),
    )
    reply = compose_agent_reply(target, body="b", settings=settings(), now=NOW)
    assert (reply["To"], reply["Cc"]) == ("buyer@customer.example", "boss@customer.example")


def test_an_acknowledgement_tells_the_raiser_the_number_like_an_automatic_reply() -> None:
    target = issue("ISS-2026-00042", raised_by="Alice@Bücher.example", subject="Re: Invoice")
    template = "{number} | {subject} | {token} | {support_address}"
    ack = compose_acknowledgement(
        target, settings=settings(auto_reply_template=template), now=NOW, unique="u1"
    )
    assert ack is not None
    assert ack["To"] == "Alice@xn--bcher-kva.example"
    assert ack["From"] == "support@helpdesk.example"
    assert ack["Subject"] == "Re: Invoice [#ISS-2026-00042]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["In-Reply-To"] is None
    assert ack["References"] is None
    assert verify_message_id(ack["Message-ID"], key=SIGNING_KEY).issue_number == "ISS-2026-00042"
    assert ack.get_content().strip() == (
        "ISS-2026-00042 | Invoice | [#ISS-2026-00042] | support@helpdesk.example"
    )


@pytest.mark.parametrize(
    "raiser",
    ["noreply@shop.example", "Support@HELPDESK.example", "not an address", "ünïcode@example.com"],
)
def test_no_acknowledgement_goes_to_a_robot_our_own_address_or_no_address(raiser: str) -> None:
    target = issue("ISS-2026-00042", raised_by=raiser, subject="x")
    assert compose_acknowledgement(target, settings=settings(), now=NOW) is None


def test_an_automatic_reply_counts_against_the_sender_as_well_as_the_recipient() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=2)
    sender = "noreply@erp.example"
    allowed = [
        reserve_auto_reply(counter, f"person{i}@x.example", now=NOW, settings=config, sender=sender)
        for i in range(3)
    ]
    assert allowed == [True, True, False]
    assert counter.count_since("PERSON0@x.example", NOW) == 1
    assert counter.count_since(sender, NOW) == 2


def test_a_recipient_at_its_limit_is_refused_whoever_the_sender_is() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=1)
    assert reserve_auto_reply(
        counter, "ana@x.example", now=NOW, settings=config, sender="a@y.example"
    )
    assert not reserve_auto_reply(
        counter, "ana@x.example", now=NOW, settings=config, sender="b@y.example"
    )
    assert counter.count_since("b@y.example", NOW) == 0


def test_a_reply_exactly_one_window_ago_still_counts() -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=1, auto_reply_window=timedelta(hours=1))
    assert reserve_auto_reply(counter, "ana@x.example", now=NOW, settings=config)
    at_edge = NOW + timedelta(hours=1)
    assert not reserve_auto_reply(counter, "ana@x.example", now=at_edge, settings=config)
    assert counter.count_since("ana@x.example", NOW) == 1
    assert counter.count_since("ana@x.example", NOW + timedelta(microseconds=1)) == 0


def _plain_message(**changes: object) -> InboundMessage:
    fields: dict[str, object] = {
        "message_id": "<first@customer.example>",
        "references": (),
        "from_address": "ana@customer.example",
        "subject": "Cannot log in",
    }
    fields.update(changes)
    return InboundMessage(**fields)  # type: ignore[arg-type]


# Values at the edge of what the shortcut writes itself: the bytes are those of the
# composed message on either side of each edge.
EDGE_MESSAGES = {
    "subject-fits-one-line": _plain_message(subject="x" * 870),
    "subject-over-one-line": _plain_message(subject="x " * 460),
    "subject-over-a-line": _plain_message(subject=" ".join(["w" * 199] * 6)),
    "subject-word-of-200": _plain_message(subject="y" * 200),
    "subject-word-of-201": _plain_message(subject="y" * 201),
    "subject-encoded-word": _plain_message(subject="=?utf-8?q?hi?= there"),
    "subject-control": _plain_message(subject="line\x7fbreak"),
    "references-fit": _plain_message(references=tuple(f"<r{i:03d}@c.example>" for i in range(19))),
    "references-long": _plain_message(
        references=tuple(f"<{'r' * 60}{i:03d}@customer.example>" for i in range(19))
    ),
    "reference-unusual": _plain_message(references=("<a b@c.example>", "<ok@c.example>")),
    "own-id-unusual": _plain_message(message_id="<first!@customer.example>"),
    "own-id-encoded": _plain_message(message_id="<=?x?=@customer.example>"),
    "recipient-unusual": _plain_message(from_address="Ana.O'Neil@customer.example"),
    "recipient-upper-domain": _plain_message(from_address="ana@Customer.example"),
}


@pytest.mark.parametrize("message", EDGE_MESSAGES.values(), ids=EDGE_MESSAGES.keys())
@pytest.mark.parametrize(
    ("loop_header", "template"),
    [
        ("X-IssueCore-Loop", None),
        ("Subject-Loop", None),
        ("X-Loop", "Issue {number}\n" + "z" * 998 + "\n"),
        ("X-Loop", "Issue {number}\n" + "z" * 999 + "\n"),
        ("X-Loop", "Issue {number} \u2013 {subject}\n"),
        ("X-Loop", "Issue {number}\0{subject}\n"),
    ],
    ids=["default", "non-x-loop", "line-998", "line-999", "non-ascii", "nul"],
)
def test_auto_reply_bytes_at_the_edges_of_the_shortcut_equal_the_composed_reply(
    message: InboundMessage, loop_header: str, template: str | None
) -> None:
    changes: dict[str, object] = {"loop_header": loop_header}
    if template is not None:
        changes["auto_reply_template"] = template
    keywords = {"number": NUMBER, "settings": settings(**changes), "now": NOW, "unique": "abc"}
    found = compose_auto_reply_bytes(message, **keywords)  # type: ignore[arg-type]
    assert found is not None
    assert found == _queued(message, **keywords)


# --- what each header of an outbound message holds, stated one by one ----------------------


def _agent_reply(**keywords: object) -> EmailMessage:
    target = keywords.pop("target", None) or issue(
        "ISS-2026-00042", raised_by="alice@example.com", subject="Invoice"
    )
    keywords.setdefault("now", NOW)
    return compose_agent_reply(target, settings=settings(), **keywords)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda at: reserve_auto_reply(
            InMemoryAutoReplyCounter(), "a@x.example", now=at, settings=settings()
        ), "now"),
        (lambda at: InMemoryAutoReplyCounter().record("a@x.example", at), "at"),
        (lambda at: compose_auto_reply(
            _inbound("forward"), number=NUMBER, settings=settings(), now=at
        ), "now"),
        (lambda at: compose_auto_reply_bytes(
            _inbound("forward"), number=NUMBER, settings=settings(), now=at
        ), "now"),
        (lambda at: _agent_reply(body="b", now=at), "now"),
        (lambda at: compose_acknowledgement(
            issue(NUMBER, raised_by="a@x.example", subject="x"), settings=settings(), now=at
        ), "now"),
    ],
    ids=["reserve", "record", "auto-reply", "auto-reply-bytes", "agent-reply", "acknowledgement"],
)  # fmt: skip
def test_a_naive_instant_is_refused_by_name(call: object, name: str) -> None:
    with pytest.raises(NaiveDatetimeError, match=rf"\b{name}\b"):
        call(datetime(2026, 1, 1))  # type: ignore[operator]


def test_an_encoded_word_in_a_subject_is_broken_rather_than_decoded_into_a_line_break() -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject="=?UTF-8?Q?=0D=0ABcc:_v@x.example?= Xmas",
    )
    reply = _agent_reply(body="b", target=target)
    assert reply["Subject"] == "Re: = ?UTF-8?Q?=0D=0ABcc:_v@x.example?= Xmas [#ISS-2026-00042]"
    _assert_header_safe(reply)


def test_an_agent_reply_without_copies_or_thread_has_no_cc_in_reply_to_or_references() -> None:
    reply = _agent_reply(body="b")
    assert reply["To"] == "alice@example.com"
    assert (reply["Cc"], reply["In-Reply-To"], reply["References"]) == (None, None, None)
    assert reply["Message-ID"].endswith("@helpdesk.example>")


def test_an_agent_reply_to_nobody_it_may_send_to_has_no_to() -> None:
    target = issue("ISS-2026-00042", raised_by="noreply@erp.example", subject="Order")
    reply = _agent_reply(body="b", target=target)
    assert (reply["To"], reply["Cc"]) == (None, None)
    assert reply["Subject"] == "Re: Order [#ISS-2026-00042]"


def test_an_agent_reply_threads_on_a_trimmed_parent_and_drops_an_unsafe_one() -> None:
    trimmed = _agent_reply(body="b", in_reply_to=" <p@x.example> ")
    assert (trimmed["In-Reply-To"], trimmed["References"]) == ("<p@x.example>", "<p@x.example>")
    unsafe = _agent_reply(body="b", in_reply_to="<p q@x.example>", references=("<r@x.example>",))
    assert (unsafe["In-Reply-To"], unsafe["References"]) == (None, "<r@x.example>")
    encoded = _agent_reply(body="b", in_reply_to="<=?utf-8?q?p?=@x.example>")
    assert (encoded["In-Reply-To"], encoded["References"]) == (None, None)


def test_a_long_agent_name_is_cut_to_120_characters() -> None:
    reply = _agent_reply(body="b", agent_name="A" * 130)
    assert reply["From"] == "A" * 119 + "\u2026 <support@helpdesk.example>"
    assert _agent_reply(body="b", agent_name="B" * 120)["From"] == (
        "B" * 120 + " <support@helpdesk.example>"
    )


def test_nul_and_lone_surrogates_in_a_body_are_dropped_and_replaced() -> None:
    reply = _agent_reply(body="a\0b\ud800c", html="<p>x\0y\udfffz</p>")
    assert reply.get_body(("plain",)).get_content() == "ab\ufffdc\n"  # type: ignore[union-attr]
    assert reply.get_body(("html",)).get_content() == "<p>xy\ufffdz</p>\n"  # type: ignore[union-attr]


def test_a_long_attachment_name_is_cut_to_200_characters() -> None:
    long_name = "n" * 195 + ".pdf.txt"
    reply = _with_extras(Attachment(filename=long_name, content_type="text/plain", data=b"x"))
    (part,) = reply.iter_attachments()
    assert part.get_filename() == "n" * 195 + ".pdf\u2026"
    fitting = "m" * 196 + ".txt"
    reply = _with_extras(Attachment(filename=fitting, content_type="text/plain", data=b"x"))
    (part,) = reply.iter_attachments()
    assert part.get_filename() == fitting


def test_reference_chain_keeps_twenty_by_default_and_drops_encoded_words() -> None:
    ids = [f"<n{i}@x>" for i in range(25)]
    assert reference_chain(ids) == ("<n0@x>", *ids[6:])
    assert reference_chain(ids[:20]) == tuple(ids[:20])
    assert reference_chain([" <a@x> ", "<=?utf-8?q?b?=@x>", "<c@x>"]) == ("<a@x>", "<c@x>")


@pytest.mark.parametrize(
    ("reply_to", "answered"),
    [
        ("noreply@third.example, y@third.example", "ana@customer.example"),
        ("Support@Helpdesk.example, y@third.example", "ana@customer.example"),
        ("Y@Third.example", "Y@third.example"),
    ],
    ids=["robot-first", "own-first", "usable-first"],
)
def test_an_unusable_first_reply_to_falls_back_to_from_never_to_the_second(
    reply_to: str, answered: str
) -> None:
    raw = f"From: ana@customer.example\nReply-To: {reply_to}\nMessage-ID: <m@x>\n\nhi\n"
    message = parse_message(raw.encode())
    assert isinstance(message, InboundMessage)
    assert auto_reply_recipient(message, settings()) == answered
    assert _auto_reply(message)["To"] == answered


@pytest.mark.parametrize(
    "sender",
    ["noreply@shop.example", "SUPPORT@helpdesk.example", "mailer-daemon@mx.example"],
    ids=["no-reply", "own", "mailer-daemon"],
)
def test_nobody_is_answered_when_from_is_a_robot_or_our_own_address(sender: str) -> None:
    message = InboundMessage(message_id="<m@x>", from_address=sender, subject="x")
    assert auto_reply_recipient(message, settings()) is None
    assert compose_auto_reply(message, number=NUMBER, settings=settings(), now=NOW) is None
    assert compose_auto_reply_bytes(message, number=NUMBER, settings=settings(), now=NOW) is None


def test_an_auto_reply_fills_every_field_of_the_template() -> None:
    template = "{number} | {subject} | {token} | {support_address}"
    message = _plain_message(subject="Re: Cannot log in [#ISS-2026-00001]")
    reply = _auto_reply(message, auto_reply_template=template)
    expected = f"{NUMBER} | Cannot log in | [#{NUMBER}] | support@helpdesk.example"
    assert reply.get_content().strip() == expected
    found = compose_auto_reply_bytes(
        message, number=NUMBER, settings=settings(auto_reply_template=template), now=NOW
    )
    assert found is not None
    assert found[1].endswith(f"\n\n{expected}\n".encode())


def test_a_plain_auto_reply_is_written_header_by_header() -> None:
    message = _plain_message(references=("<r1@customer.example>",))
    found = compose_auto_reply_bytes(
        message, number=NUMBER, settings=settings(auto_reply_template="Hi {number}"), now=NOW,
        unique="abc",
    )  # fmt: skip
    assert found is not None
    message_id, wire = found
    assert verify_message_id(message_id, key=SIGNING_KEY).issue_number == NUMBER
    assert wire.decode("ascii") == (
        "From: support@helpdesk.example\n"
        "To: ana@customer.example\n"
        f"Subject: Re: Cannot log in [#{NUMBER}]\n"
        "Date: Thu, 26 Nov 2026 17:00:00 +0000\n"
        f"Message-ID: {message_id}\n"
        "In-Reply-To: <first@customer.example>\n"
        "References: <r1@customer.example> <first@customer.example>\n"
        "X-IssueCore-Loop: support@helpdesk.example\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 7bit\n"
        "MIME-Version: 1.0\n"
        "Auto-Submitted: auto-replied\n"
        "X-Auto-Response-Suppress: All\n"
        "\n"
        f"Hi {NUMBER}\n"
    )


def test_a_plain_auto_reply_to_a_message_without_its_own_id_is_not_threaded() -> None:
    message = _plain_message(synthetic_message_id=True, references=("<r1@customer.example>",))
    found = compose_auto_reply_bytes(message, number=NUMBER, settings=settings(), now=NOW)
    assert found is not None
    assert b"In-Reply-To" not in found[1]
    assert b"References" not in found[1]


def test_outbound_mail_writes_and_cleans_tokens_in_the_desks_own_format() -> None:
    config = settings(token_format="(Ticket {number})", auto_reply_template="{subject}|{token}")
    message = _plain_message(subject="Re: Printer (Ticket ISS-2099-00001)")
    reply = compose_auto_reply(message, number=NUMBER, settings=config, now=NOW)
    assert reply is not None
    assert reply["Subject"] == f"Re: Printer (Ticket {NUMBER})"
    assert reply.get_content().strip() == f"Printer|(Ticket {NUMBER})"
    found = compose_auto_reply_bytes(message, number=NUMBER, settings=config, now=NOW)
    assert found is not None
    assert f"\nSubject: Re: Printer (Ticket {NUMBER})\n".encode() in found[1]
    assert found[1].endswith(f"\n\nPrinter|(Ticket {NUMBER})\n".encode())
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject="Re: Printer (Ticket ISS-2026-00042)",
    )
    agent = compose_agent_reply(target, body="b", settings=config, now=NOW)
    assert agent["Subject"] == "Re: Printer (Ticket ISS-2026-00042)"
    ack = compose_acknowledgement(target, settings=config, now=NOW)
    assert ack is not None
    assert ack["Subject"] == "Re: Printer (Ticket ISS-2026-00042)"
    assert ack.get_content().strip() == "Printer|(Ticket ISS-2026-00042)"


def test_an_acknowledgement_is_written_with_the_header_lines_of_an_automatic_reply() -> None:
    target = issue("ISS-2026-00042", raised_by="alice@example.com", subject="Invoice")
    ack = compose_acknowledgement(target, settings=settings(), now=NOW, unique="u1")
    assert ack is not None
    assert list(ack.keys()) == [
        "From", "To", "Subject", "Date", "Message-ID", "X-IssueCore-Loop", "Content-Type",
        "Content-Transfer-Encoding", "MIME-Version", "Auto-Submitted", "X-Auto-Response-Suppress",
    ]  # fmt: skip
    wire = ack.as_bytes()
    assert b"\nAuto-Submitted: auto-replied\n" in wire
    assert b"\nX-Auto-Response-Suppress: All\n" in wire


def test_a_retried_acknowledgement_keeps_its_message_id() -> None:
    target = issue("ISS-2026-00042", raised_by="alice@example.com", subject="Invoice")
    ids = set()
    for _ in range(2):
        ack = compose_acknowledgement(target, settings=settings(), now=NOW, unique="same")
        assert ack is not None
        ids.add(ack["Message-ID"])
    assert len(ids) == 1


def test_an_attachment_of_an_unreadable_type_is_written_as_octet_stream_in_lower_case() -> None:
    reply = _with_extras(Attachment(filename="a.bin", content_type="pdf", data=b"x"))
    assert b"\nContent-Type: application/octet-stream\n" in reply.as_bytes()


@pytest.mark.parametrize(
    ("agent_name", "sent_as"),
    [
        # the email package refuses the name as written (a CR LF inside an encoded word)
        ("=?utf-8?b?DQo=?=", "= ?utf-8?b?DQo= ?= <support@helpdesk.example>"),
        # and fails on this one with IndexError
        (
            "=?utf-8?q?=3C?= =?utf-8?q?=0D",
            "= ?utf-8?q?=3C?= = ?utf-8?q?=0D <support@helpdesk.example>",
        ),
    ],
    ids=["refused", "index-error"],
)
def test_an_agent_name_the_email_package_cannot_take_is_sent_with_its_encoded_words_broken(
    agent_name: str, sent_as: str
) -> None:
    reply = _agent_reply(body="b", agent_name=agent_name)
    assert reply["From"] == sent_as
    _assert_header_safe(reply)


def test_an_agent_reply_is_written_with_the_usual_spelling_of_cc_and_html() -> None:
    target = issue(
        "ISS-2026-00042",
        raised_by="alice@example.com",
        subject="x",
        participants=("bob@b.example",),
    )
    wire = _agent_reply(body="b", target=target, html="<p>b</p>").as_bytes()
    assert b"\nCc: bob@b.example\n" in wire
    assert b'\nContent-Type: text/html; charset="utf-8"\n' in wire


def _written_plainly(
    message: InboundMessage, monkeypatch: pytest.MonkeyPatch, **changes: object
) -> bytes:
    """Return the automatic reply's bytes, failing if they were not written by the shortcut."""
    config = settings(**changes)
    expected = _queued(message, number=NUMBER, settings=config, now=NOW, unique="abc")
    assert expected is not None
    with monkeypatch.context() as patch:

        def refuse(*_: object, **__: object) -> None:
            raise AssertionError("the plain reply was composed as a message")

        patch.setattr("issuecore.mail._compose.compose_auto_reply", refuse)
        found = compose_auto_reply_bytes(
            message, number=NUMBER, settings=config, now=NOW, unique="abc"
        )
    assert found == expected
    return found[1]


def test_a_subject_of_exactly_900_characters_is_still_written_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The subject is cut to 250 characters before the token, so only a long token reaches 900.
    token = "[" + " ".join(["t" * 150] * 5) + " " + "u" * 109 + " #{number}]"
    wire = _written_plainly(_plain_message(), monkeypatch, token_format=token)
    (subject,) = [line for line in wire.split(b"\n") if line.startswith(b"Subject: ")]
    assert len(subject) == len("Subject: ") + 900


def test_references_of_exactly_900_characters_are_still_written_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 19 ids of 44 characters and a 45-character one, with 19 spaces between: 900
    references = tuple(f"<r{i:03d}{'x' * 28}@c.example>" for i in range(19))
    message = _plain_message(references=references, message_id=f"<{'f' * 33}@c.example>")
    chain = reference_chain((*references, message.message_id))
    assert len(" ".join(chain)) == 900
    wire = _written_plainly(message, monkeypatch)
    assert f"\nReferences: {' '.join(chain)}\n".encode() in wire


def test_a_body_line_of_exactly_998_characters_is_still_written_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = "Issue {number}\n" + "z" * 998 + "\n"
    wire = _written_plainly(_plain_message(), monkeypatch, auto_reply_template=template)
    assert b"\n" + b"z" * 998 + b"\n" in wire


def test_a_message_without_its_own_id_is_still_answered_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire = _written_plainly(_plain_message(synthetic_message_id=True), monkeypatch)
    assert b"In-Reply-To" not in wire


def test_an_own_message_id_too_long_to_thread_on_is_left_out_of_a_plain_reply() -> None:
    long_id = f"<{'a' * 200}@{'b' * 50}.example>"  # plain, but over 250 characters
    message = _plain_message(message_id=long_id, references=("<r1@c.example>",))
    keywords: dict[str, object] = {"number": NUMBER, "settings": settings(), "now": NOW}
    keywords["unique"] = "abc"
    found = compose_auto_reply_bytes(message, **keywords)  # type: ignore[arg-type]
    assert found is not None
    assert found == _queued(message, **keywords)
    assert long_id.encode() not in found[1]
    assert b"\nReferences: <r1@c.example>\n" in found[1]


@pytest.mark.parametrize("limit", [0, 1, 20])
def test_reference_chain_of_nothing_is_empty_whatever_the_limit(limit: int) -> None:
    assert reference_chain([], limit=limit) == ()
    assert reference_chain(["<bad id@x>"], limit=limit) == ()


@pytest.mark.parametrize(
    "name",
    ["new_customer", "gmail_reply", "ooo_exchange", "ooo_zimbra", "mailing_list", "bounce_dsn"],
)
def test_auto_reply_bytes_told_the_classification_equal_those_classifying_again(name: str) -> None:
    message = _inbound(name)
    automated = classify_automated(message, own_addresses=settings().own_addresses).automated
    keywords = {"number": NUMBER, "settings": settings(), "now": NOW, "unique": "abc"}
    told = compose_auto_reply_bytes(message, automated=automated, **keywords)  # type: ignore[arg-type]
    assert told == compose_auto_reply_bytes(message, **keywords)  # type: ignore[arg-type]
    assert (told is None) == automated


def test_auto_reply_bytes_follow_the_classification_they_are_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = attrs.evolve(_inbound("new_customer"), subject="Cannot log in")  # a plain reply
    keywords = {"number": NUMBER, "settings": settings(), "now": NOW, "unique": "abc"}
    assert compose_auto_reply_bytes(message, automated=True, **keywords) is None  # type: ignore[arg-type]

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("classified again")

    monkeypatch.setattr("issuecore.mail._compose.classify_automated", refuse)
    assert compose_auto_reply_bytes(message, automated=False, **keywords) is not None  # type: ignore[arg-type]


def test_a_message_with_no_sender_and_no_reply_to_is_answered_by_nobody() -> None:
    message = InboundMessage(message_id="<m@x>", from_address=None, subject="x")
    assert auto_reply_recipient(message, settings()) is None


def test_an_undecodable_encoded_word_in_the_subject_is_answered_with_its_syntax_broken() -> None:
    """The email package takes this subject, decodes it to escaped bytes, then cannot write it.

    A subject intake kept as text because its encoded word does not decode
    (ISO-2022-JP with a space inside): the reply's subject holds it with its
    encoded-word syntax broken, and the reply is written.
    """
    subject = "=?ISO-2022-JP?B?GyRCMGxNdyFXJHIlIiVDJVckNyReJ kbKEI=?="
    message = attrs.evolve(_inbound("new_customer"), subject=subject)
    found = compose_auto_reply_bytes(
        message, number=NUMBER, settings=settings(), now=NOW, unique="abc"
    )
    assert found is not None
    reply = email.message_from_bytes(found[1], policy=email.policy.default)
    assert str(reply["Subject"]).startswith("Re: = ?ISO-2022-JP?B?GyRCMGxNdyFXJHIlIiVDJVckNyReJ ")


@given(
    first=aware_datetimes(),
    second=aware_datetimes(),
    zone=timezones(),
)
def test_the_date_of_an_automatic_reply_is_that_instants_own_text(
    first: datetime, second: datetime, zone: ZoneInfo
) -> None:
    # The same instant in another zone right after: its own offset, not the remembered one.
    for at in (first, first, first.astimezone(zone), second, first):
        assert _date_text(at) == format_datetime(at)


def test_the_date_of_a_repeated_wall_time_is_read_with_its_own_offset() -> None:
    # 01:30 on the night clocks go back happens twice; the two compare equal in their zone.
    zone = ZoneInfo("Europe/Berlin")
    earlier = datetime(2026, 10, 25, 2, 30, tzinfo=zone)
    later = earlier.replace(fold=1)
    assert earlier == later
    assert earlier.utcoffset() != later.utcoffset()
    assert _date_text(earlier) == format_datetime(earlier)
    assert _date_text(later) == format_datetime(later)
    assert _date_text(later).endswith("+0100")
