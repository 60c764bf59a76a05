"""One of several processes running the sweep on a shared database at the same instant.

Run as ``python sweep_worker.py STORE INSTANT``; prints one JSON line: the
SLA breach events this worker raised, as ``[number, target]`` pairs, and the
issues it auto-closed.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Any

from concurrency_support import open_store

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore._model import IssueClosed, SlaBreached
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingEventSink, RecordingMailer

AGREEMENT = ServiceLevelAgreement(
    name="Urgent only",
    targets={"Urgent": SlaTarget(response=timedelta(hours=1), resolution=timedelta(hours=2))},
    default_priority="Urgent",
    default=True,
)


def desk_on(store: Any, clock: FakeClock, events: RecordingEventSink | None = None) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=clock,
        agreements=[AGREEMENT],
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"w" * 32),
        ),
        events=events,
    )


def main() -> None:
    spec, instant = sys.argv[1:3]
    store = open_store(spec)
    events = RecordingEventSink()
    desk = desk_on(store, FakeClock(datetime.fromisoformat(instant)), events)
    desk.tick()
    store.close()
    breaches = [[e.number, e.target] for e in events.of_type(SlaBreached)]  # type: ignore[attr-defined]
    closed = [e.number for e in events.of_type(IssueClosed)]
    print(json.dumps({"breaches": breaches, "closed": closed}), flush=True)


if __name__ == "__main__":
    main()
