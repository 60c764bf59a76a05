"""One of several processes applying random operations through a HelpDesk to shared issues.

Run as ``python worker.py STORE SEED OPERATIONS ISSUES...`` where STORE is a
SQLite path or a SQLAlchemy URL (``postgresql+psycopg://...?prefix=...``).
Prints one JSON line: what this worker did that succeeded.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import timedelta
from typing import Any

from concurrency_support import open_store

from issuecore import (
    DeskSettings,
    HelpDesk,
    InvalidTransitionError,
    ServiceLevelAgreement,
    SlaTarget,
)
from issuecore.mail._settings import MailSettings
from issuecore.testing import RecordingMailer

USERS = ["ana@example.com", "ben@example.com", "chen@example.com"]
AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={
        "High": SlaTarget(response=timedelta(hours=2)),
        "Low": SlaTarget(response=timedelta(days=2)),
    },
    default_priority="Low",
    default=True,
)


def main() -> None:
    spec, seed, operations, *numbers = sys.argv[1:]
    store = open_store(spec)
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        agreements=[AGREEMENT],
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"c" * 32),
        ),
    )
    rng = random.Random(int(seed))
    done: dict[str, Any] = {"notes": {}, "replies": {}, "created": [], "refused": 0, "other": 0}
    for step in range(int(operations)):
        number = rng.choice(numbers)
        choice = rng.random()
        try:
            if choice < 0.3:
                desk.add_note(number, body=f"note {seed}/{step}", author=USERS[0])
                done["notes"][number] = done["notes"].get(number, 0) + 1
            elif choice < 0.45:
                desk.reply(number, body=f"reply {seed}/{step}", author=USERS[1])
                done["replies"][number] = done["replies"].get(number, 0) + 1
            elif choice < 0.55:
                issue = desk.open_issue(
                    subject=f"from worker {seed}", raised_by="x@customer.test", body="b"
                )
                done["created"].append(issue.number)
            elif choice < 0.65:
                desk.assign(number, rng.choice(USERS), by=USERS[2])
                done["other"] += 1
            elif choice < 0.75:
                desk.set_priority(number, rng.choice(["High", "Low"]), by=USERS[2])
                done["other"] += 1
            else:
                action = rng.choice([desk.hold, desk.resolve, desk.reopen, desk.close])
                action(number, by=USERS[2])
                done["other"] += 1
        except InvalidTransitionError:
            done["refused"] += 1
    store.close()
    print(json.dumps(done), flush=True)


if __name__ == "__main__":
    main()
