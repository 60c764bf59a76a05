"""SmtpMailer against a real SMTP server (aiosmtpd on a loopback port)."""

from __future__ import annotations

import email.policy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.smtp import SmtpMailer
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import MailSettingsError, MailTransportError
from issuecore.mail._settings import MailSettings
from issuecore.ports import OutboxItem
from issuecore.testing import FakeClock
from mail_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SUPPORT,
    Certificate,
    RecordingHandler,
    customer_mail,
    free_port,
)

StartServer = Callable[..., tuple[Controller, RecordingHandler]]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# aiosmtpd warns when it takes a login without TLS, which the plain-text AUTH tests do on purpose.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
LONG_ID = "<" + "a" * 70 + ".ISS-2026-00001.0123456789abcdef0123456789@support.example.com>"


def outbound(message_id: str = LONG_ID) -> EmailMessage:
    message = EmailMessage(policy=email.policy.default)
    message["From"] = SUPPORT
    message["To"] = "ana@customer.test"
    message["Cc"] = "bob@customer.test"
    message["Bcc"] = "audit@example.com"
    message["Subject"] = "Re: Printer on fire [#ISS-2026-00001]"
    message["Message-ID"] = message_id
    message["In-Reply-To"] = LONG_ID.replace("a", "c")
    message["References"] = LONG_ID.replace("a", "c")
    message.set_content("We are on it.")
    return message


def received(handler: RecordingHandler) -> list[EmailMessage]:
    parser = BytesParser(policy=email.policy.default)
    messages = []
    for envelope in handler.envelopes:
        content = envelope.original_content
        assert isinstance(content, bytes)
        parsed = parser.parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def mailer_for(controller: Controller, **options: Any) -> SmtpMailer:
    return SmtpMailer(controller.hostname, controller.port, **options)


def test_plain_smtp_delivers_to_every_recipient_without_the_bcc_header(
    smtp_server: StartServer,
) -> None:
    controller, handler = smtp_server()
    mailer_for(controller, security="none").send(outbound())
    (envelope,) = handler.envelopes
    assert envelope.mail_from == SUPPORT
    assert sorted(envelope.rcpt_tos) == [
        "ana@customer.test",
        "audit@example.com",
        "bob@customer.test",
    ]
    (message,) = received(handler)
    assert message["Bcc"] is None
    assert str(message["Message-ID"]) == LONG_ID


def test_long_identifiers_reach_the_server_unencoded(smtp_server: StartServer) -> None:
    controller, handler = smtp_server()
    queued = OutboxItem.for_message(outbound(), number="ISS-2026-00001", created_at=START)
    mailer_for(controller, security="none").send(queued.email())
    (envelope,) = handler.envelopes
    content = envelope.original_content
    assert isinstance(content, bytes)
    assert f"In-Reply-To: {LONG_ID.replace('a', 'c')}\r\n".encode() in content
    assert f"Message-ID: {LONG_ID}\r\n".encode() in content
    assert b"=?utf-8?" not in content


def test_starttls_upgrades_the_connection_before_sending(
    smtp_server: StartServer, tls: Certificate
) -> None:
    controller, handler = smtp_server(starttls=tls)
    mailer_for(controller, security="starttls", ssl_context=tls.client_context()).send(outbound())
    (message,) = received(handler)
    assert str(message["Message-ID"]) == LONG_ID


def test_starttls_refuses_a_certificate_it_does_not_trust(
    smtp_server: StartServer, tls: Certificate
) -> None:
    controller, handler = smtp_server(starttls=tls)
    mailer = mailer_for(controller, security="starttls")  # the system's CAs only
    with pytest.raises(MailTransportError, match="STARTTLS failed: SSLCertVerificationError"):
        mailer.send(outbound())
    assert handler.envelopes == []


def test_starttls_required_but_not_offered_is_an_error(smtp_server: StartServer) -> None:
    controller, handler = smtp_server()
    with pytest.raises(
        MailTransportError, match=r"STARTTLS failed: the server does not offer STARTTLS"
    ):
        mailer_for(controller, security="starttls").send(outbound())
    assert handler.envelopes == []


def test_implicit_tls_delivers(smtp_server: StartServer, tls: Certificate) -> None:
    controller, handler = smtp_server(implicit_tls=tls)
    mailer_for(controller, security="ssl", ssl_context=tls.client_context()).send(outbound())
    assert len(handler.envelopes) == 1


def test_login_over_starttls_delivers(smtp_server: StartServer, tls: Certificate) -> None:
    controller, handler = smtp_server(starttls=tls, auth=True)
    mailer = mailer_for(
        controller,
        security="starttls",
        ssl_context=tls.client_context(),
        username=SMTP_USER,
        password=SMTP_PASSWORD,
    )
    mailer.send(outbound())
    assert len(handler.envelopes) == 1


@PLAIN_AUTH
def test_server_requiring_auth_refuses_a_mailer_without_credentials(
    smtp_server: StartServer,
) -> None:
    controller, handler = smtp_server(auth=True)
    with pytest.raises(MailTransportError, match=r"send failed: .*530"):
        mailer_for(controller, security="none").send(outbound())
    assert handler.envelopes == []


@PLAIN_AUTH
def test_wrong_password_fails_at_login_and_never_shows_the_password(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    controller, handler = smtp_server(auth=True)
    mailer = mailer_for(controller, security="none", username=SMTP_USER, password="wrong-pass-42")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailTransportError) as raised:
        mailer.send(outbound())
    error = raised.value
    assert (error.protocol, error.host, error.port, error.operation) == (
        "SMTP",
        "127.0.0.1",
        controller.port,
        "login",
    )
    assert str(error).startswith(f"SMTP server 127.0.0.1:{controller.port}: login failed:")
    assert "535" in str(error)
    for text in (str(error), repr(error), repr(mailer), caplog.text):
        assert "wrong-pass-42" not in text
    assert handler.envelopes == []


def test_connection_refused_names_host_port_and_step() -> None:
    port = free_port()
    with pytest.raises(MailTransportError) as raised:
        SmtpMailer("127.0.0.1", port, security="none", timeout=5).send(outbound())
    assert str(raised.value).startswith(f"SMTP server 127.0.0.1:{port}: connect failed:")
    assert isinstance(raised.value, OSError)
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_permanent_rejection_of_the_message_raises(smtp_server: StartServer) -> None:
    controller, handler = smtp_server()
    handler.reply = "554 5.7.1 message refused by policy"
    with pytest.raises(MailTransportError, match=r"send failed: .*554.*refused by policy"):
        mailer_for(controller, security="none").send(outbound())


def test_every_recipient_refused_raises(smtp_server: StartServer) -> None:
    controller, handler = smtp_server()
    handler.refuse_recipients = {"ana@customer.test", "bob@customer.test", "audit@example.com"}
    with pytest.raises(MailTransportError, match=r"send failed: SMTPRecipientsRefused"):
        mailer_for(controller, security="none").send(outbound())


def test_some_recipients_refused_counts_as_sent_and_logs_them(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    controller, handler = smtp_server()
    handler.refuse_recipients = {"bob@customer.test"}
    with caplog.at_level(logging.WARNING, logger="issuecore.adapters.smtp"):
        mailer_for(controller, security="none").send(outbound())
    (envelope,) = handler.envelopes
    assert sorted(envelope.rcpt_tos) == ["ana@customer.test", "audit@example.com"]
    assert "bob@customer.test (550" in caplog.text


def test_unknown_security_is_refused_with_the_choices() -> None:
    with pytest.raises(MailSettingsError, match="expected 'starttls', 'ssl' or 'none'"):
        SmtpMailer("mail.example.com", security="tls")


def test_a_user_name_without_a_password_is_refused() -> None:
    with pytest.raises(MailSettingsError, match="a user name and a password together"):
        SmtpMailer("mail.example.com", username="desk")


def make_desk(store: SQLiteStore, mailer: SmtpMailer, clock: FakeClock) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


def pending(store: SQLiteStore, clock: FakeClock) -> list[OutboxItem]:
    with store.transaction(read_only=True) as work:
        return work.outbox.pending(limit=10)


def test_desk_keeps_the_reply_while_the_server_is_down_and_sends_it_later_with_the_same_id(
    smtp_server: StartServer, tmp_path: Path
) -> None:
    port = free_port()
    clock = FakeClock(START)
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = make_desk(store, SmtpMailer("127.0.0.1", port, security="none", timeout=5), clock)
        outcome = desk.receive(customer_mail("Printer on fire", message_id="<m1@c.test>"))
        assert outcome.auto_reply
        (waiting,) = pending(store, clock)
        assert waiting.attempts == 1
        assert waiting.last_error is not None
        assert f"127.0.0.1:{port}: connect failed" in waiting.last_error

        _controller, handler = smtp_server(port=port)  # the server comes back
        clock.advance(desk.settings.retry_after)
        assert desk.tick().sent == 1
        assert pending(store, clock) == []
    (reply,) = received(handler)
    assert str(reply["Message-ID"]) == waiting.message_id
    assert str(reply["In-Reply-To"]) == "<m1@c.test>"


def test_desk_retries_a_reply_the_server_rejected_with_5xx(
    smtp_server: StartServer, tmp_path: Path
) -> None:
    controller, handler = smtp_server()
    handler.reply = "554 5.7.1 try again later"
    clock = FakeClock(START)
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = make_desk(store, mailer_for(controller, security="none"), clock)
        desk.receive(customer_mail("Printer on fire", message_id="<m1@c.test>"))
        (waiting,) = pending(store, clock)
        assert waiting.last_error is not None
        assert "send failed" in waiting.last_error
        assert "554" in waiting.last_error

        handler.reply = None
        clock.advance(desk.settings.retry_after)
        report = desk.tick()
        assert (report.sent, report.failed) == (1, 0)
    (reply,) = received(handler)
    assert str(reply["Message-ID"]) == waiting.message_id
