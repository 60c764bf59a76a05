"""A desk process that ingests a Maildir into SQLite in batches and can kill itself.

Run as ``python batch_intake_worker.py DB MAILDIR OUTBOX KILL_POINT KILL_AFTER``.
The kill points are those of ``intake_worker.py`` (``before-commit``,
``after-commit``, ``before-send``, ``after-send``, ``none``) and ``after-ack``:
right after the source acknowledged a message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from intake_worker import FolderMailer, KillingStore, KillSwitch

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore.adapters.maildir import MaildirSource
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock


class KillingSource:
    """A Maildir whose acknowledgements pass the kill switch."""

    acks_after_reading = True

    def __init__(self, source: MaildirSource, switch: KillSwitch) -> None:
        self.source = source
        self.switch = switch

    def messages(self) -> Iterator[Any]:
        for message in self.source.messages():
            yield _Acked(message, self.switch)


class _Acked:
    def __init__(self, message: Any, switch: KillSwitch) -> None:
        self.message = message
        self.raw = message.raw
        self.switch = switch

    def ack(self) -> None:
        self.message.ack()
        self.switch.passing("after-ack")


def main() -> None:
    database, maildir, outbox, point, after = sys.argv[1:6]
    switch = KillSwitch(point, int(after))
    store = SQLiteStore(database)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    if point == "none":
        start += timedelta(hours=1)  # past the dead process's delivery lease
    desk = HelpDesk(
        store=KillingStore(store, switch),  # type: ignore[arg-type]
        mailer=FolderMailer(Path(outbox), switch),
        clock=FakeClock(start),
        agreements=[
            ServiceLevelAgreement(
                name="Standard",
                targets={"Medium": SlaTarget(response=timedelta(hours=1))},
                default_priority="Medium",
                default=True,
            )
        ],
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"s" * 32),
        ),
    )
    report = desk.ingest(KillingSource(MaildirSource(maildir), switch), batch_size=5)
    print(report.counts(), flush=True)
    desk.tick()
    store.close()


if __name__ == "__main__":
    main()
