"""Fixtures for the mail transport tests: a certificate, a Dovecot server, SMTP servers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mail_servers import (
    OAUTH2_TOKEN,
    Certificate,
    Dovecot,
    RecordingHandler,
    authenticate,
    dovecot_binary,
    free_port,
    make_certificate,
)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate | str:
    """A self-signed certificate for 127.0.0.1, or the reason none could be made."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls(certificate: Certificate | str) -> Certificate:
    """The certificate; skips the test, saying why, when none could be made."""
    if isinstance(certificate, str):
        pytest.skip(f"no TLS certificate for the test server: {certificate}")
    return certificate


@pytest.fixture(scope="session")
def dovecot(certificate: Certificate | str) -> Iterator[Dovecot]:
    """A private Dovecot IMAP server for the whole run; skips when Dovecot is not installed."""
    binary = dovecot_binary()
    if binary is None:
        pytest.skip(
            "Dovecot is not installed (run .ci/install-dovecot, or apt-get install dovecot-imapd)"
        )
    with Dovecot(binary, certificate if not isinstance(certificate, str) else None) as server:
        yield server


@pytest.fixture
def lone_dovecot(dovecot: Dovecot) -> Iterator[Dovecot]:
    """A Dovecot of the test's own, for tests whose failed logins would slow the shared one.

    Dovecot delays logins from an address that recently failed to log in.
    """
    with Dovecot(dovecot.binary, None) as server:
        yield server


_users = itertools.count(1)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A user name not used by any other test, so its mailbox starts empty."""
    return f"user{next(_users)}"


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Controller, RecordingHandler]]]:
    """Start aiosmtpd servers on free loopback ports; each is stopped after the test.

    Call with ``port=`` to choose the port, ``starttls=`` a certificate to
    offer STARTTLS with, ``implicit_tls=`` a certificate for TLS from the
    first byte, ``auth=True`` to require a login, and ``handler=`` a handler
    of its own (an :class:`~mail_servers.XOAuth2Handler` offers XOAUTH2).
    """
    started: list[Controller] = []

    def start(
        *,
        port: int | None = None,
        starttls: Certificate | None = None,
        implicit_tls: Certificate | None = None,
        auth: bool = False,
        handler: RecordingHandler | None = None,
    ) -> tuple[Controller, RecordingHandler]:
        handler = handler if handler is not None else RecordingHandler()
        options: dict[str, Any] = {}
        if starttls is not None:
            options.update(tls_context=starttls.server_context(), require_starttls=True)
        if auth:
            options.update(
                authenticator=authenticate,
                auth_required=True,
                auth_require_tls=starttls is not None,
            )
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port if port is not None else free_port(),
            ssl_context=implicit_tls.server_context() if implicit_tls is not None else None,
            server_hostname="localhost",
            **options,
        )
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def maildir_root(tmp_path: Path) -> Path:
    """A folder path for a Maildir that does not exist yet."""
    return tmp_path / "Maildir"


@pytest.fixture(scope="session")
def oauth2_dovecot(dovecot: Dovecot) -> Iterator[Dovecot]:
    """A private Dovecot that also takes XOAUTH2 with the bearer token ``OAUTH2_TOKEN``."""
    with Dovecot(dovecot.binary, None, oauth2_token=OAUTH2_TOKEN) as server:
        yield server
