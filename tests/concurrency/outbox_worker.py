"""One of four processes sharing one desk: ingest, reply, note or tick, each also delivering.

Run as ``python outbox_worker.py ROLE STORE LEDGER COUNT NUMBERS...``. Every
message the mailer accepts is written as a file of its own into the folder
LEDGER, so the test counts deliveries, repeats included. The mailer refuses
one message in four at random (a transport with hiccups) and the desk
retries at once, so refused rows go back to the shared outbox where every
process's ``flush_outbox`` competes for them. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import sys
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from concurrency_support import open_store

from issuecore import DeskSettings, HelpDesk
from issuecore.mail._settings import MailSettings


class LedgerMailer:
    """Writes one file per accepted message; refuses some at random."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng

    def send(self, message: EmailMessage) -> None:
        if self.rng.random() < 0.25:
            raise ConnectionError("the server hung up")
        path = self.folder / f"{uuid.uuid4().hex}.txt"
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(str(message["Message-ID"]))


def desk_for(store: object, ledger: Path, seed: int) -> HelpDesk:
    return HelpDesk(
        store=store,  # type: ignore[arg-type]
        mailer=LedgerMailer(ledger, random.Random(seed)),
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"o" * 32),
            retry_after=timedelta(0),
            send_attempts=1000,
        ),
    )


def request(index: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"customer{index}@customer.test"
    message["To"] = "support@example.com"
    message["Subject"] = f"Request {index}"
    message["Message-ID"] = f"<request{index}.{os.getpid()}@customer.test>"
    message.set_content(f"Body of request {index}")
    return message.as_bytes()


def main() -> None:
    role, spec, ledger, count, *numbers = sys.argv[1:]
    store = open_store(spec)
    desk = desk_for(store, Path(ledger), seed=hash(role) & 0xFFFF)
    done = {"role": role, "operations": 0, "delivered": 0}
    for step in range(int(count)):
        if role == "ingest":
            desk.receive(request(step))
        elif role == "reply":
            desk.reply(numbers[step % len(numbers)], body=f"reply {step}", author="ben@example.com")
        elif role == "note":
            desk.add_note(numbers[step % len(numbers)], body=f"note {step}", author="ben@x.test")
        else:
            done["delivered"] += desk.tick().sent
        if role != "tick":
            done["delivered"] += desk.flush_outbox()[0]
        done["operations"] += 1
    store.close()
    print(json.dumps(done), flush=True)


if __name__ == "__main__":
    main()
