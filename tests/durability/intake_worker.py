"""A desk process that ingests a folder of messages into SQLite and can kill itself.

Run as ``python worker.py DB INBOX OUTBOX KILL_POINT KILL_AFTER`` where the
kill point names the place to die at (``before-commit``, ``after-commit``,
``before-send``, ``after-send``, ``none``) and ``KILL_AFTER`` how many times
that place is passed first. The process dies by SIGKILL: nothing is flushed,
no handler runs, exactly as when the machine loses power to the process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock


class KillSwitch:
    def __init__(self, point: str, after: int) -> None:
        self.point = point
        self.remaining = after

    def passing(self, point: str) -> None:
        if point != self.point:
            return
        if self.remaining == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        self.remaining -= 1


class KillingStore:
    """Wraps a store so the process can die right before or right after a commit."""

    def __init__(self, store: SQLiteStore, switch: KillSwitch) -> None:
        self.store = store
        self.switch = switch

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Any]:
        with self.store.transaction(read_only=read_only) as work:
            yield _KillingWork(work, self.switch)


class _KillingWork:
    def __init__(self, work: Any, switch: KillSwitch) -> None:
        self._work = work
        self._switch = switch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._work, name)

    def commit(self) -> None:
        self._switch.passing("before-commit")
        self._work.commit()
        self._switch.passing("after-commit")


class FolderMailer:
    """Writes every message it sends into a folder, one durable file per attempt."""

    def __init__(self, folder: Path, switch: KillSwitch) -> None:
        self.folder = folder
        self.switch = switch

    def send(self, message: EmailMessage) -> None:
        self.switch.passing("before-send")
        data = message.as_bytes()
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:16]
        attempt = len(list(self.folder.glob(f"{name}.*.eml")))
        path = self.folder / f"{name}.{attempt}.eml"
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.switch.passing("after-send")


def main() -> None:
    database, inbox, outbox, point, after = sys.argv[1:6]
    switch = KillSwitch(point, int(after))
    store = SQLiteStore(database)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    if point == "none":
        # The run after a kill comes later than the dead process's delivery lease,
        # so the effects it held are free for this one to deliver.
        start += timedelta(hours=1)
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
    for path in sorted(Path(inbox).glob("*.eml")):
        outcome = desk.receive(path.read_bytes())
        print(path.name, outcome.kind, outcome.issue_number, flush=True)
    desk.tick()
    store.close()


if __name__ == "__main__":
    main()
