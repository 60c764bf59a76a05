"""A queued message read back from its stored bytes is the message the standard parser reads."""

from __future__ import annotations

import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import Attachment, Issue, Status, ports
from issuecore.mail import InboundMessage
from issuecore.mail._compose import compose_agent_reply, compose_auto_reply_bytes
from issuecore.mail._parse import parse_message
from issuecore.mail._plain import read_one_part
from issuecore.mail._settings import MailSettings
from issuecore.ports import _READ, OutboxItem
from strategies import header_fields, raw_messages

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIXTURES = sorted((Path(__file__).parent / "mail" / "fixtures").glob("*.eml"))


def _item(payload: bytes) -> OutboxItem:
    return OutboxItem(
        id="a" * 32,
        kind="mail",
        number=None,
        payload=payload,
        message_id="<m@x>",
        created_at=NOW,
        next_attempt_at=NOW,
    )


def _kind(value: object) -> list[str]:
    # The standard registry makes a new header class on every call: compare by name.
    return [cls.__qualname__ for cls in type(value).__mro__]


def _seen(look: Callable[[], object]) -> object:
    """Return what ``look`` gives, or the error it raises (the same error counts as the same)."""
    try:
        return look()
    except Exception as error:
        return ("raised", type(error), str(error))


def _state(message: Message) -> list[object]:
    """Return everything a reader of ``message`` can see, part by part."""
    seen: list[object] = [_seen(message.as_bytes), _seen(message.as_string)]
    for part in message.walk():
        seen.append(
            (
                type(part),
                part.policy is email.policy.default,
                part.get_unixfrom(),
                list(part.raw_items()),
                _seen(lambda part=part: [(n, _kind(v), str(v)) for n, v in part.items()]),
                [(type(defect), str(defect)) for defect in part.defects],
                part.preamble,
                part.epilogue,
                _seen(part.get_content_type),
                _seen(part.get_params),
                None if part.is_multipart() else part.get_payload(),
            )
        )
    return seen


def _assert_read_as_standard(payload: bytes) -> None:
    standard = BytesParser(policy=email.policy.default).parsebytes(payload)
    assert _state(_item(payload).email()) == _state(standard)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_a_stored_fixture_reads_back_as_the_standard_parser_reads_it(path: Path) -> None:
    _assert_read_as_standard(path.read_bytes())


def test_an_agent_reply_with_html_and_attachments_reads_back_as_the_standard_parser_reads_it() -> (
    None
):
    issue = Issue(
        number="ISS-2026-00042",
        subject="Printer on fire",
        raised_by="alice@example.com",
        status=Status.OPEN,
        created_at=NOW,
        updated_at=NOW,
        status_since=NOW,
    )
    reply = compose_agent_reply(
        issue,
        body="Déjà vu: see the attached log.\n",
        html="<p>Déjà vu</p>",
        attachments=(
            Attachment(filename="log.txt", content_type="text/plain", data=b"line\n"),
            Attachment(filename="ü.bin", content_type="application/x-odd", data=bytes(range(256))),
        ),
        settings=MailSettings(support_address="support@example.com", signing_key=b"k" * 32),
        now=NOW,
    )
    item = OutboxItem.for_message(reply, number=issue.number, created_at=NOW)
    read = item.email()
    assert isinstance(read, EmailMessage)
    assert read.policy is email.policy.default
    _assert_read_as_standard(item.payload)


@given(raw_messages())
def test_any_stored_bytes_read_back_as_the_standard_parser_reads_them(raw: bytes) -> None:
    _assert_read_as_standard(raw)


@given(
    headers=st.lists(header_fields),
    body=st.binary(max_size=120),
)
def test_a_plain_stored_message_reads_back_as_the_standard_parser_reads_it(
    headers: list[tuple[str, str, str]], body: bytes
) -> None:
    head = "".join(f"{name}: {value}{fold}\n" for name, value, fold in headers)
    _assert_read_as_standard(head.encode("utf-8") + b"\n" + body)


def test_an_automatic_reply_is_read_back_without_the_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = MailSettings(support_address="support@example.com", signing_key=b"k" * 32)
    inbound = parse_message(
        b"From: Ann <ann@customer.test>\nTo: support@example.com\nSubject: Broken\n"
        b"Message-ID: <m1@customer.test>\n\nIt broke.\n"
    )
    assert isinstance(inbound, InboundMessage)
    composed = compose_auto_reply_bytes(
        inbound, number="ISS-2026-00001", settings=settings, now=NOW
    )
    assert composed is not None
    payload = composed[1]
    read = read_one_part(payload, _READ)
    assert read is not None  # the plain reading, not the parser
    assert vars(read).keys() == vars(BytesParser(policy=_READ).parsebytes(payload)).keys()
    _assert_read_as_standard(payload)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the parser was asked")

    monkeypatch.setattr(ports, "BytesParser", refuse)
    assert str(_item(payload).email()["Subject"]) == "Re: Broken [#ISS-2026-00001]"


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: a\r\n\nbody\n",  # line ends mixed
        b"From someone Mon Mar  2 09:00:00 2026\nSubject: a\n\nbody\n",  # envelope line
        b" Subject: a\n\nbody\n",  # a continuation first
        b"Subject a\n\nbody\n",  # no colon
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
        b"Content-Type: message/rfc822\n\nSubject: inner\n\nx\n",
        b"Subject: no body",
    ],
)
def test_what_is_not_plain_is_left_to_the_parser(raw: bytes) -> None:
    assert read_one_part(raw, _READ) is None
    _assert_read_as_standard(raw)
