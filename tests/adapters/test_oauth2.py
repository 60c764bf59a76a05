"""XOAUTH2 for ImapSource and SmtpMailer against local servers, and the token providers."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from issuecore import HelpDesk
from issuecore.adapters.imap import ImapSource
from issuecore.adapters.oauth2 import (
    CommandTokens,
    GoogleTokens,
    Microsoft365Tokens,
    fresh_token,
    token_from,
    xoauth2_response,
)
from issuecore.adapters.smtp import SmtpMailer
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.config import parse_config
from issuecore.errors import (
    AccessTokenError,
    MailSettingsError,
    MailTransportError,
    MissingExtraError,
)
from issuecore.testing import FakeClock, RecordingMailer
from mail_servers import (
    OAUTH2_TOKEN,
    SUPPORT,
    Certificate,
    Dovecot,
    RecordingHandler,
    XOAuth2Handler,
    customer_mail,
)

StartServer = Callable[..., tuple[Controller, RecordingHandler]]
STALE = "ya29.stale-access-token"
# aiosmtpd warns when it takes a login without TLS, which these tests do on purpose.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class Tokens:
    """A token provider handing out ``tokens`` in turn; ``refresh()`` moves to the next one."""

    name = "test tokens"

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0
        self.refreshes = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.tokens[0]

    def refresh(self) -> str:
        self.refreshes += 1
        if len(self.tokens) > 1:
            self.tokens.pop(0)
        return self.tokens[0]


def imap_source(server: Dovecot, user: str, provider: Any) -> ImapSource:
    return ImapSource(
        server.host, server.port, username=user, token_provider=provider, security="none"
    )


def outbound() -> EmailMessage:
    message = EmailMessage()
    message["From"] = SUPPORT
    message["To"] = "ana@customer.test"
    message["Subject"] = "Re: Printer on fire"
    message["Message-ID"] = "<reply-1@example.com>"
    message.set_content("We are on it.")
    return message


# --- IMAP ---------------------------------------------------------------------------------


def test_imap_xoauth2_login_reads_the_mailbox(oauth2_dovecot: Dovecot) -> None:
    oauth2_dovecot.append("oauth-reader", customer_mail("Hello", message_id="<o1@c.test>"))
    tokens = Tokens(OAUTH2_TOKEN)
    messages = list(imap_source(oauth2_dovecot, "oauth-reader", tokens).messages())
    assert [b"<o1@c.test>" in m.raw for m in messages] == [True]
    assert (tokens.calls, tokens.refreshes) == (1, 0)


def test_imap_refused_token_is_refreshed_once_and_the_login_retried(
    oauth2_dovecot: Dovecot,
) -> None:
    oauth2_dovecot.append("oauth-stale", customer_mail("Hello", message_id="<o2@c.test>"))
    tokens = Tokens(STALE, OAUTH2_TOKEN)
    assert len(list(imap_source(oauth2_dovecot, "oauth-stale", tokens).messages())) == 1
    assert (tokens.calls, tokens.refreshes) == (1, 1)


def test_imap_token_refused_twice_fails_at_login_without_showing_it(
    oauth2_dovecot: Dovecot,
) -> None:
    tokens = Tokens(STALE, "ya29.also-wrong")
    source = imap_source(oauth2_dovecot, "oauth-refused", tokens)
    with pytest.raises(MailTransportError) as raised:
        list(source.messages())
    error = raised.value
    assert (error.protocol, error.operation) == ("IMAP", "XOAUTH2 login")
    assert "AUTHENTICATIONFAILED" in str(error)
    assert tokens.refreshes == 1
    for text in (str(error), repr(source)):
        assert STALE not in text
        assert "also-wrong" not in text


def test_imap_provider_failure_raises_access_token_error(oauth2_dovecot: Dovecot) -> None:
    def broken() -> str:
        raise ConnectionError("login.example is down")

    with pytest.raises(AccessTokenError, match="gave no access token: it failed with Connection"):
        list(imap_source(oauth2_dovecot, "oauth-broken", broken).messages())


def test_imap_server_without_xoauth2_is_named_in_the_error(dovecot: Dovecot) -> None:
    source = imap_source(dovecot, "oauth-none", Tokens(OAUTH2_TOKEN))
    with pytest.raises(MailTransportError, match="does not offer AUTH=XOAUTH2"):
        list(source.messages())


def test_imap_takes_a_password_or_a_token_provider_not_both_nor_neither() -> None:
    with pytest.raises(MailSettingsError, match="exactly one of them"):
        ImapSource("imap.example.com", username="desk", password="x", token_provider=Tokens("t"))
    with pytest.raises(MailSettingsError, match="exactly one of them"):
        ImapSource("imap.example.com", username="desk")


def test_imap_xoauth2_user_with_control_characters_is_refused() -> None:
    with pytest.raises(MailSettingsError, match="without control characters"):
        ImapSource("imap.example.com", username="desk\x01x", token_provider=Tokens("t"))


# --- SMTP ---------------------------------------------------------------------------------


@PLAIN_AUTH
def test_smtp_xoauth2_login_sends(smtp_server: StartServer) -> None:
    handler = XOAuth2Handler(SUPPORT, {OAUTH2_TOKEN})
    controller, _ = smtp_server(auth=True, handler=handler)
    tokens = Tokens(OAUTH2_TOKEN)
    mailer = SmtpMailer(
        controller.hostname,
        controller.port,
        security="none",
        username=SUPPORT,
        token_provider=tokens,
    )
    mailer.send(outbound())
    assert len(handler.envelopes) == 1
    assert handler.attempts == [(SUPPORT, OAUTH2_TOKEN)]
    assert tokens.refreshes == 0


@PLAIN_AUTH
def test_smtp_refused_token_is_refreshed_once_and_the_login_retried(
    smtp_server: StartServer,
) -> None:
    handler = XOAuth2Handler(SUPPORT, {OAUTH2_TOKEN})
    controller, _ = smtp_server(auth=True, handler=handler)
    tokens = Tokens(STALE, OAUTH2_TOKEN)
    SmtpMailer(
        controller.hostname,
        controller.port,
        security="none",
        username=SUPPORT,
        token_provider=tokens,
    ).send(outbound())
    assert handler.attempts == [(SUPPORT, STALE), (SUPPORT, OAUTH2_TOKEN)]
    assert len(handler.envelopes) == 1


@PLAIN_AUTH
def test_smtp_token_refused_twice_fails_at_login_and_never_shows_it(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = XOAuth2Handler(SUPPORT, {OAUTH2_TOKEN})
    controller, _ = smtp_server(auth=True, handler=handler)
    tokens = Tokens(STALE, "ya29.also-wrong")
    mailer = SmtpMailer(
        controller.hostname,
        controller.port,
        security="none",
        username=SUPPORT,
        token_provider=tokens,
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailTransportError) as raised:
        mailer.send(outbound())
    assert raised.value.operation == "XOAUTH2 login"
    assert "535" in str(raised.value)
    assert len(handler.attempts) == 2
    assert handler.envelopes == []
    for text in (str(raised.value), repr(mailer), caplog.text):
        assert STALE not in text
        assert "also-wrong" not in text


def test_smtp_server_without_xoauth2_is_named_in_the_error(smtp_server: StartServer) -> None:
    controller, handler = smtp_server()
    mailer = SmtpMailer(
        controller.hostname,
        controller.port,
        security="none",
        username=SUPPORT,
        token_provider=Tokens(OAUTH2_TOKEN),
    )
    with pytest.raises(MailTransportError, match="does not offer AUTH XOAUTH2"):
        mailer.send(outbound())
    assert handler.envelopes == []


@PLAIN_AUTH
def test_smtp_provider_failure_raises_access_token_error_unwrapped(
    smtp_server: StartServer,
) -> None:
    controller, handler = smtp_server(auth=True, handler=XOAuth2Handler(SUPPORT, {OAUTH2_TOKEN}))

    def broken() -> str:
        raise AccessTokenError.refused("Google", "invalid_grant: Token has been revoked")

    mailer = SmtpMailer(
        controller.hostname,
        controller.port,
        security="none",
        username=SUPPORT,
        token_provider=broken,
    )
    with pytest.raises(AccessTokenError, match="invalid_grant"):
        mailer.send(outbound())
    assert handler.envelopes == []


def test_smtp_token_provider_needs_a_user_name_and_no_password() -> None:
    with pytest.raises(MailSettingsError, match="the mailbox address XOAUTH2 logs in as"):
        SmtpMailer("smtp.example.com", token_provider=Tokens("t"))
    with pytest.raises(MailSettingsError, match="a password or a token_provider, not both"):
        SmtpMailer(
            "smtp.example.com", username="desk", password="secret-pw", token_provider=Tokens("t")
        )


# --- the SASL response and the token checks -----------------------------------------------


def test_xoauth2_response_is_the_sasl_string() -> None:
    assert xoauth2_response("me@example.com", "abc.DEF-1") == (
        "user=me@example.com\x01auth=Bearer abc.DEF-1\x01\x01"
    )


@pytest.mark.parametrize("token", ["", "has space", "line\r\nbreak", "ctl\x01x"])
def test_a_provider_returning_no_bearer_token_is_refused(token: str) -> None:
    with pytest.raises(AccessTokenError, match="not a bearer token"):
        token_from(lambda: token)


def test_a_provider_returning_no_string_is_refused() -> None:
    with pytest.raises(AccessTokenError, match="returned NoneType that is not a bearer token"):
        token_from(lambda: None)  # type: ignore[arg-type,return-value]


def test_fresh_token_uses_refresh_when_the_provider_has_it() -> None:
    tokens = Tokens("one", "two")
    assert (token_from(tokens), fresh_token(tokens)) == ("one", "two")
    assert tokens.refreshes == 1


def test_fresh_token_calls_a_plain_callable_again() -> None:
    handed = iter(["one", "two"])
    provider = lambda: next(handed)  # noqa: E731 - a plain callable is the case under test
    assert (token_from(provider), fresh_token(provider)) == ("one", "two")


# --- Microsoft 365 (msal) -----------------------------------------------------------------


class _Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {"content-type": "application/json"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


class EntraStub:
    """Answers msal's HTTP requests like Entra ID: discovery, then the token endpoint."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.token_requests: list[dict[str, Any]] = []

    def get(self, url: str, **_options: Any) -> _Response:
        if "openid-configuration" in url:
            base = "https://login.microsoftonline.com/contoso.example"
            return _Response(
                200,
                {
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "issuer": f"{base}/v2.0",
                },
            )
        return _Response(
            200,
            {
                "tenant_discovery_endpoint": (
                    "https://login.microsoftonline.com/contoso.example/v2.0/"
                    ".well-known/openid-configuration"
                ),
                "metadata": [],
            },
        )

    def post(self, url: str, data: Any = None, **_options: Any) -> _Response:
        self.token_requests.append(dict(data or {}))
        answer = self.answers.pop(0)
        return _Response(400 if "error" in answer else 200, answer)

    def close(self) -> None:
        pass


def m365(stub: EntraStub) -> Microsoft365Tokens:
    return Microsoft365Tokens(
        tenant="contoso.example",
        client_id="11111111-2222-3333-4444-555555555555",
        client_secret="entra-client-secret-value",
        http_client=stub,
    )


def test_microsoft_365_tokens_come_from_the_token_endpoint_and_are_cached() -> None:
    stub = EntraStub(
        {"access_token": "eyJ.first", "token_type": "Bearer", "expires_in": 3600},
        {"access_token": "eyJ.second", "token_type": "Bearer", "expires_in": 3600},
    )
    tokens = m365(stub)
    assert (tokens(), tokens()) == ("eyJ.first", "eyJ.first")
    assert len(stub.token_requests) == 1
    assert stub.token_requests[0]["scope"].split() == ["https://outlook.office365.com/.default"]
    assert tokens.refresh() == "eyJ.second"
    assert len(stub.token_requests) == 2


def test_microsoft_365_refusal_names_the_error_and_hides_the_secret() -> None:
    stub = EntraStub(
        {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x",
        }
    )
    tokens = m365(stub)
    with pytest.raises(AccessTokenError) as raised:
        tokens()
    message = str(raised.value)
    assert message == (
        "Microsoft 365 gave no access token: invalid_client: "
        "AADSTS7000215: Invalid client secret provided."
    )
    assert raised.value.provider == "Microsoft 365"
    for text in (message, repr(tokens)):
        assert "entra-client-secret-value" not in text


def test_microsoft_365_without_msal_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msal", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'issuecore\[m365\]'") as raised:
        m365(EntraStub())
    assert (raised.value.extra, raised.value.package) == ("m365", "msal")
    assert isinstance(raised.value, ImportError)


def test_microsoft_365_needs_exactly_one_credential() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Microsoft365Tokens(tenant="t", client_id="c")


# --- Google (google-auth, its requests transport, a local token endpoint) ------------------


class _TokenEndpoint(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.seen.append(parse_qs(self.rfile.read(length).decode()))
        status, body = self.answers.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, type[_TokenEndpoint]]]:
    handler = type("Endpoint", (_TokenEndpoint,), {"answers": [], "seen": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/token", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def google(uri: str) -> GoogleTokens:
    return GoogleTokens.authorized_user(
        client_id="desk.apps.googleusercontent.com",
        client_secret="google-client-secret",
        refresh_token="1//google-refresh-token",
        token_uri=uri,
    )


def test_google_refresh_token_gives_access_tokens_until_they_expire(
    token_endpoint: tuple[str, type[_TokenEndpoint]],
) -> None:
    uri, endpoint = token_endpoint
    endpoint.answers.extend(
        [
            (200, {"access_token": "ya29.one", "expires_in": 3600}),
            (200, {"access_token": "ya29.two", "expires_in": 3600}),
        ]
    )
    tokens = google(uri)
    assert (tokens(), tokens()) == ("ya29.one", "ya29.one")
    assert tokens.refresh() == "ya29.two"
    assert len(endpoint.seen) == 2
    assert endpoint.seen[0]["grant_type"] == ["refresh_token"]
    assert endpoint.seen[0]["refresh_token"] == ["1//google-refresh-token"]


def test_google_revoked_grant_is_an_access_token_error_without_secrets(
    token_endpoint: tuple[str, type[_TokenEndpoint]],
) -> None:
    uri, endpoint = token_endpoint
    endpoint.answers.append(
        (400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    )
    tokens = google(uri)
    with pytest.raises(
        AccessTokenError, match="Google gave no access token: RefreshError"
    ) as raised:
        tokens()
    assert "invalid_grant" in str(raised.value)
    for text in (str(raised.value), repr(tokens)):
        assert "google-client-secret" not in text
        assert "1//google-refresh-token" not in text


def test_google_without_google_auth_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.oauth2.credentials", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'issuecore\[google\]'"):
        google("http://127.0.0.1:9/token")


def test_google_service_account_with_a_broken_key_is_an_access_token_error() -> None:
    with pytest.raises(AccessTokenError, match="service account key is not usable"):
        GoogleTokens.service_account({"type": "service_account"}, subject="desk@example.com")


# --- a token command ----------------------------------------------------------------------


def test_command_tokens_are_what_the_command_prints() -> None:
    tokens = CommandTokens([sys.executable, "-c", "print('  tok.en-1  ')"])
    assert tokens() == "tok.en-1"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("import sys; sys.stderr.write('secret-in-stderr'); sys.exit(3)", "exited with 3"),
        ("pass", "printed no token"),
    ],
)
def test_a_failing_token_command_is_an_access_token_error(code: str, problem: str) -> None:
    with pytest.raises(AccessTokenError, match=problem) as raised:
        CommandTokens([sys.executable, "-c", code])()
    assert "secret-in-stderr" not in str(raised.value)


def test_a_missing_token_command_is_named() -> None:
    with pytest.raises(AccessTokenError, match="'no-such-token-command' was not found"):
        CommandTokens(["no-such-token-command"])()


# --- from the configuration to the server -------------------------------------------------


def test_configured_imap_oauth2_ingests_the_mailbox(
    oauth2_dovecot: Dovecot, tmp_path: Path
) -> None:
    oauth2_dovecot.append("oauth-config", customer_mail("Hello", message_id="<o9@c.test>"))
    config = parse_config(
        f"""
support_address = "{SUPPORT}"
[imap]
host = "{oauth2_dovecot.host}"
port = {oauth2_dovecot.port}
security = "none"
username = "oauth-config"
[imap.oauth2]
provider = "command"
command = [{json.dumps(sys.executable)}, "-c", "print('{OAUTH2_TOKEN}')"]
"""
    )
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
            settings=config.desk_settings(b"k" * 32),
        )
        report = desk.ingest(config.imap_source())
    assert report.counts()["created"] == 1
    assert oauth2_dovecot.search("oauth-config", "UNSEEN") == []


def test_smtp_xoauth2_over_starttls(smtp_server: StartServer, tls: Certificate) -> None:
    handler = XOAuth2Handler(SUPPORT, {OAUTH2_TOKEN})
    controller, _ = smtp_server(starttls=tls, auth=True, handler=handler)
    SmtpMailer(
        controller.hostname,
        controller.port,
        security="starttls",
        ssl_context=tls.client_context(),
        username=SUPPORT,
        token_provider=Tokens(OAUTH2_TOKEN),
    ).send(outbound())
    assert len(handler.envelopes) == 1
    assert handler.attempts == [(SUPPORT, OAUTH2_TOKEN)]
