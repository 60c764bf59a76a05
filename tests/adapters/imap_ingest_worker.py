"""A separate process that ingests an IMAP mailbox into a SQLite desk, for the crash test.

Run as ``python imap_ingest_worker.py HOST PORT USER PASSWORD DATABASE [KILL_AT]``.
With ``KILL_AT`` (1-based), the process kills itself with SIGKILL right
after the desk committed message number ``KILL_AT`` and before that message
is acknowledged on the server: the worst moment for at-least-once intake.
Otherwise it prints the outcome kinds and Message-IDs as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.imap import ImapMessage, ImapSource
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import PendingMessage
from issuecore.testing import FakeClock, RecordingMailer

SUPPORT = "support@example.com"


class KilledAfterCommit:
    """Wraps a message so that acknowledging it kills the process instead."""

    def __init__(self, message: ImapMessage) -> None:
        self.message = message

    @property
    def raw(self) -> bytes:
        return self.message.raw

    def ack(self) -> None:
        # HelpDesk.ingest acknowledges only after the commit: dying here loses the ack only.
        os.kill(os.getpid(), signal.SIGKILL)


class CrashingSource:
    """The IMAP source, with message number ``kill_at`` replaced by :class:`KilledAfterCommit`."""

    def __init__(self, source: ImapSource, kill_at: int | None) -> None:
        self.source = source
        self.kill_at = kill_at

    def messages(self) -> Iterator[PendingMessage]:
        for position, message in enumerate(self.source.messages(), start=1):
            yield KilledAfterCommit(message) if position == self.kill_at else message


def main(arguments: list[str]) -> None:
    host, port, user, password, database = arguments[:5]
    kill_at = int(arguments[5]) if len(arguments) > 5 else None
    source = ImapSource(host, int(port), username=user, password=password, security="none")
    with SQLiteStore(database) as store:
        desk = HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
            settings=DeskSettings(
                support_address=SUPPORT,
                mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
            ),
        )
        report = desk.ingest(CrashingSource(source, kill_at))
    print(json.dumps([[outcome.kind, outcome.message_id] for outcome in report.outcomes]))


if __name__ == "__main__":
    main(sys.argv[1:])
