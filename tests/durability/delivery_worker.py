"""A desk process that receives six requests and delivers their automatic replies.

Run as ``python delivery_worker.py DB MAILER RUN`` where MAILER is
``maildir:PATH`` or ``smtp:PORT`` and RUN is ``first`` or ``again``. The
first run's transport refuses its first three messages, so the sweep at the
end has rows to claim; ``again`` comes an hour later (past every lease and
back-off), receives the same six messages (duplicates by then) and sweeps.
The environment variable ``ISSUECORE_CRASH_AT`` chooses where the process
kills itself (see :mod:`issuecore._delivery`).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.maildir import MaildirOutbox
from issuecore.adapters.smtp import SmtpMailer
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Mailer
from issuecore.testing import FakeClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REQUESTS = 6
REFUSED = 3


def request(index: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"customer{index}@customer.test"
    message["To"] = "support@example.com"
    message["Subject"] = f"Request {index}"
    message["Message-ID"] = f"<request{index}@customer.test>"
    message.set_content(f"Body of request {index}")
    return message.as_bytes()


class Outage:
    """Refuses the first ``count`` messages, as a transport that is down for a while."""

    def __init__(self, mailer: Mailer, count: int) -> None:
        self.mailer = mailer
        self.remaining = count

    def send(self, message: EmailMessage) -> None:
        if self.remaining > 0:
            self.remaining -= 1
            raise ConnectionError("the transport is down")
        self.mailer.send(message)


def main() -> None:
    database, spec, run = sys.argv[1:4]
    kind, _, where = spec.partition(":")
    mailer: Mailer = (
        MaildirOutbox(Path(where))
        if kind == "maildir"
        else SmtpMailer("127.0.0.1", int(where), security="none", timeout=10)
    )
    clock = FakeClock(START if run == "first" else START + timedelta(hours=1))
    store = SQLiteStore(database)
    desk = HelpDesk(
        store=store,
        mailer=Outage(mailer, REFUSED if run == "first" else 0),
        clock=clock,
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"d" * 32),
        ),
    )
    for index in range(REQUESTS):
        desk.receive(request(index))
    clock.advance(timedelta(minutes=1))
    desk.tick()
    store.close()


if __name__ == "__main__":
    main()
