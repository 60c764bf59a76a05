"""Helpers of the console tests: a console on a SQLite desk at a fixed instant, and mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import attrs
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore._sla.agreement import AtRisk
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from issuecore.web import WebSettings, create_app
from issuecore.web._accounts import AccountFile

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
SUPPORT = "support@example.com"
AGENT = "ben@example.com"
PASSWORD = "correct horse battery staple"
SECRET = b"s" * 32

STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=1 * H, resolution=4 * H),
        "Medium": SlaTarget(response=8 * H, resolution=timedelta(days=3)),
    },
    default_priority="Medium",
    default=True,
    at_risk=AtRisk(fraction=0.25),
)

# Verifying reads the cost from the stored hash: cheap hashes keep the tests quick.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def mail(
    subject: str,
    body: str = "Hello",
    *,
    sender: str = "ana@customer.test",
    message_id: str = "<m1@customer.test>",
    attachment: tuple[str, str, bytes] | None = None,
) -> bytes:
    """Return a customer's mail as bytes; ``attachment`` is (file name, type, data)."""
    message = EmailMessage(policy=default_policy)
    message["From"] = f"Ana Silva <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    message.set_content(body)
    if attachment:
        name, media_type, data = attachment
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found[1]


@attrs.define
class Wall:
    """The wall clock sessions are aged by, moved by hand."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@attrs.define
class Console:
    desk: HelpDesk
    clock: FakeClock
    mailer: Any
    client: TestClient
    wall: Wall
    settings: WebSettings

    def sign_in(self, address: str = AGENT, password: str = PASSWORD) -> None:
        page = self.client.get("/signin")
        response = self.client.post(
            "/signin",
            data={"csrf_token": csrf_of(page.text), "address": address, "password": password},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def csrf(self, path: str = "/issues") -> str:
        return csrf_of(self.client.get(path).text)

    def post(self, path: str, data: dict[str, str], *, page: str | None = None) -> str:
        """Post a form of ``page`` (default: ``path`` less its last part), return the page after."""
        token = self.csrf(page or path.rsplit("/", 1)[0])
        response = self.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 200, response.text
        return response.text


def build_desk(store: Store, clock: FakeClock, mailer: Any, *, send_attempts: int = 1) -> HelpDesk:
    """Return a desk on ``store`` with the agreement ``STANDARD`` and ``AGENT`` as its agent."""
    return HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        agreements=[STANDARD],
        settings=DeskSettings(
            support_address=SUPPORT,
            agents={AGENT},
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
            send_attempts=send_attempts,
        ),
    )


def account_settings(tmp_path: Path) -> WebSettings:
    """Return settings with an accounts file holding ``AGENT`` with ``PASSWORD``."""
    accounts = tmp_path / "agents.json"
    AccountFile(accounts, hasher=QUICK_HASHER).set_password(AGENT, PASSWORD)
    return WebSettings(secret_key=SECRET, accounts=accounts)


def build_console(
    tmp_path: Path,
    *,
    settings: WebSettings | None = None,
    mailer: Any = None,
    store: Store | None = None,
    send_attempts: int = 1,
) -> Iterator[Console]:
    """Yield a console on ``store`` (a new SQLite file by default), nobody signed in."""
    own = store is None
    store = SQLiteStore(tmp_path / "desk.db") if store is None else store
    clock = FakeClock(START)
    mailer = mailer if mailer is not None else RecordingMailer()
    desk = build_desk(store, clock, mailer, send_attempts=send_attempts)
    if settings is None:
        settings = account_settings(tmp_path)
    wall = Wall()
    app = create_app(desk, settings, zone="Europe/Berlin", seconds=wall)
    base_url = "http://testserver" if settings.authenticated else "http://localhost"
    with TestClient(app, base_url=base_url) as client:
        try:
            yield Console(desk, clock, mailer, client, wall, settings)
        finally:
            if own:
                store.close()
