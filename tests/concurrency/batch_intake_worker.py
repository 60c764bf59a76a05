"""A process that records a list of message files in batches into a shared store.

Run as ``python batch_intake_worker.py STORE_SPEC BATCH FILE...``; prints a
JSON line with the outcome kind of each message, by Message-ID.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from concurrency_support import open_store

from issuecore import DeskSettings, HelpDesk
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingMailer


def main() -> None:
    spec, batch, *files = sys.argv[1:]
    store = open_store(spec)
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        settings=DeskSettings(
            support_address="support@example.com",
            max_attempts=50,
            mail=MailSettings(support_address="support@example.com", signing_key=b"s" * 32),
        ),
    )
    report = desk.receive_many([Path(f).read_bytes() for f in files], batch_size=int(batch))
    store.close()
    print(
        json.dumps(
            {
                "outcomes": [[o.message_id, o.kind] for o in report.outcomes],
                "failures": len(report.failures),
            }
        )
    )


if __name__ == "__main__":
    main()
