"""Sending outbound mail through an SMTP server with the standard library's :mod:`smtplib`.

:class:`SmtpMailer` opens one connection per message: connect (implicit TLS
with ``security="ssl"``), EHLO, STARTTLS with ``security="starttls"``,
login when a user name is given, send, QUIT. Any failure on the way raises
:class:`~issuecore.errors.MailTransportError` naming the server and the
step that failed; :class:`~issuecore.HelpDesk` then keeps the message in
its outbox and :meth:`~issuecore.HelpDesk.tick` retries it later with
the same Message-ID, so a receiver can de-duplicate.

SMTP delivers at least once. The server owns the message from its ``250``
reply to the data; the desk then marks the outbox row done in one short
transaction. A crash between the two (or a lost ``250`` reply: the server
kept the message but the client saw an error) sends the message again, with
the same Message-ID. To keep that window short, :meth:`SmtpMailer.send`
returns as soon as the server accepted the message: it sends ``QUIT``
without waiting for the answer.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from issuecore.adapters._wire import wire_message
from issuecore.adapters.oauth2 import token_from, xoauth2_response
from issuecore.errors import AccessTokenError, MailSettingsError, MailTransportError
from issuecore.ports import TokenProvider

__all__ = ["SmtpMailer"]


_SECURITY_CHOICES = ("starttls", "ssl", "none")

logger = logging.getLogger(__name__)


class SmtpMailer:
    """A :class:`~issuecore.ports.Mailer` that hands each message to an SMTP server.

    - ``security``: ``"starttls"`` (port 587: plain connection upgraded with
      STARTTLS, refused if the server does not offer it), ``"ssl"`` (port
      465: TLS from the first byte) or ``"none"`` (no encryption: only for a
      relay on the same host or in tests).
    - ``username`` and ``password``: log in with them (AUTH) when given.
      The password is never logged nor shown in an error or ``repr``.
    - ``username`` and ``token_provider``: log in with XOAUTH2 (Microsoft
      365, Google) with the access token it returns, instead of a password
      (see :mod:`issuecore.adapters.oauth2`). A refused token is refreshed
      once and tried again; a token that cannot be had raises
      :class:`~issuecore.errors.AccessTokenError`, which the desk's outbox
      treats like any failed send: it retries later.
    - ``ssl_context``: the TLS settings; :func:`ssl.create_default_context`
      (certificate and host name checked) when omitted.
    - ``timeout``: seconds each network operation may take.
    - ``local_hostname``: the name sent with EHLO (the machine's FQDN when omitted).

    A message refused for some recipients but accepted for others counts as
    sent (retrying would deliver it twice to the others); the refused
    recipients are logged as a warning on the ``issuecore.adapters.smtp`` logger.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        token_provider: TokenProvider | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in _SECURITY_CHOICES:
            raise MailSettingsError.invalid("security", security, "'starttls', 'ssl' or 'none'")
        if token_provider is not None:
            if password is not None:
                raise MailSettingsError.invalid(
                    "password", "<hidden>", "a password or a token_provider, not both"
                )
            if username is None:
                raise MailSettingsError.invalid(
                    "username", None, "the mailbox address XOAUTH2 logs in as"
                )
            try:
                xoauth2_response(username, "token")
            except ValueError:
                raise MailSettingsError.invalid(
                    "username", username, "a mailbox address without control characters"
                ) from None
        elif (username is None) != (password is None):
            raise MailSettingsError.invalid(
                "username" if username is None else "password",
                None,
                "a user name and a password together, or neither",
            )
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self._token_provider = token_provider
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        user = "" if self.username is None else f", username={self.username!r}"
        oauth = ", XOAUTH2" if self._token_provider is not None else ""
        return f"SmtpMailer({self.host!r}, {self.port}, security={self.security!r}{user}{oauth})"

    def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise :class:`~issuecore.errors.MailTransportError` if not accepted."""
        client: smtplib.SMTP | None = None
        step = "connect"
        try:
            client = self._connect()
            step = "EHLO"
            client.ehlo()
            if self.security == "starttls":
                step = "STARTTLS"
                if not client.has_extn("starttls"):
                    raise self._error(step, "the server does not offer STARTTLS")
                client.starttls(context=self._context())
                client.ehlo()
            if self._token_provider is not None and self.username is not None:
                step = "XOAUTH2 login"
                self._xoauth2(client, self.username, self._token_provider)
            elif self.username is not None and self._password is not None:
                step = "login"
                client.login(self.username, self._password)
            step = "send"
            refused = client.send_message(wire_message(message, linesep="\r\n"))
        except BaseException as error:
            if client is not None:
                _close(client)
            if isinstance(error, (smtplib.SMTPException, OSError)) and not isinstance(
                error, (MailTransportError, AccessTokenError)
            ):
                raise self._error(step, error) from error
            raise
        # Accepted: the caller should record that at once, not after a QUIT round trip.
        _hang_up(client)
        if refused:
            logger.warning(
                "SMTP server %s:%s accepted %s but refused %s",
                self.host,
                self.port,
                message["Message-ID"],
                ", ".join(
                    f"{address} ({code} {reply!r})" for address, (code, reply) in refused.items()
                ),
            )

    def _xoauth2(self, client: smtplib.SMTP, user: str, provider: TokenProvider) -> None:
        """Log in with XOAUTH2; a refused token is refreshed once and tried again."""
        offered = str(client.esmtp_features.get("auth", "")).upper().split()
        if "XOAUTH2" not in offered:
            raise self._error("XOAUTH2 login", "the server does not offer AUTH XOAUTH2")
        token = token_from(provider)
        try:
            client.auth("XOAUTH2", _Responder(user, token), initial_response_ok=True)
        except smtplib.SMTPAuthenticationError:
            token = token_from(provider, refresh=True)
            client.auth("XOAUTH2", _Responder(user, token), initial_response_ok=True)

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    def _error(self, step: str, cause: BaseException | str) -> MailTransportError:
        return MailTransportError.failed(
            protocol="SMTP", host=self.host, port=self.port, operation=step, cause=cause
        )


class _Responder:
    """The AUTH callback: the XOAUTH2 response, then an empty answer to an error."""

    def __init__(self, user: str, token: str) -> None:
        self.answers = [xoauth2_response(user, token)]

    def __call__(self, challenge: bytes | None = None, /) -> str:
        # After a refusal the server sends its error as a 334 challenge; an empty line ends it.
        return self.answers.pop() if self.answers else ""


def _hang_up(client: smtplib.SMTP) -> None:
    """Say QUIT without waiting for the answer, and close the socket."""
    try:
        client.putcmd("quit")
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def _close(client: smtplib.SMTP) -> None:
    """Say QUIT politely, and close the socket whatever the server answers."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
