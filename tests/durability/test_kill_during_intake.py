"""Killing the intake process anywhere loses nothing and records nothing twice."""

from __future__ import annotations

import email
import email.policy
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("intake_worker.py")
CUSTOMERS = ["ana@customer.test", "ben@client.test", "chen@firm.test"]


def write_inbox(folder: Path) -> list[str]:
    """Write 24 messages: new requests, follow-ups by token, and duplicates."""
    folder.mkdir()
    ids = []
    for index in range(24):
        if index % 8 == 7:
            # The previous message delivered a second time: the same bytes.
            again = (folder / f"{index - 1:03d}.eml").read_bytes()
            (folder / f"{index:03d}.eml").write_bytes(again)
            ids.append(ids[-1])
            continue
        message = EmailMessage()
        message["To"] = "support@example.com"
        if index % 4 == 3:
            number = f"ISS-2026-{index // 4 + 1:05d}"
            message["Subject"] = f"Re: still broken [#{number}]"
            message["From"] = "ana@customer.test"
        else:
            message["Subject"] = f"Request {index}"
            message["From"] = CUSTOMERS[index % 3]
        message_id = f"<msg{index}@customer.test>"
        message["Message-ID"] = message_id
        message.set_content(f"Body of message {index}")
        (folder / f"{index:03d}.eml").write_bytes(message.as_bytes())
        ids.append(message_id)
    return ids


def run(database: Path, inbox: Path, outbox: Path, point: str, after: int) -> int:
    result = subprocess.run(
        [sys.executable, str(WORKER), str(database), str(inbox), str(outbox), point, str(after)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({result.returncode}):\n{result.stderr}")
    return result.returncode


KILL_POINTS = [
    (point, after)
    for point, afters in {
        "before-commit": (0, 3, 7, 12, 18),
        "after-commit": (0, 2, 5, 9, 14, 20),
        "before-send": (0, 1, 4, 6, 10),
        "after-send": (0, 2, 5, 8, 11),
    }.items()
    for after in afters
]


def test_there_are_at_least_twenty_kill_points() -> None:
    assert len(KILL_POINTS) >= 20


@pytest.mark.parametrize(("point", "after"), KILL_POINTS, ids=[f"{p}-{a}" for p, a in KILL_POINTS])
def test_killed_intake_restarted_records_each_message_once_and_sends_every_auto_reply(
    tmp_path: Path, point: str, after: int
) -> None:
    inbox, outbox, database = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "desk.db"
    message_ids = write_inbox(inbox)
    outbox.mkdir()
    first = run(database, inbox, outbox, point, after)
    assert first == -signal.SIGKILL, "the kill point was never reached"
    assert run(database, inbox, outbox, "none", 0) == 0

    connection = sqlite3.connect(database)
    try:
        recorded = Counter(
            row[0]
            for row in connection.execute(
                "SELECT message_id FROM message_ids WHERE outcome != 'sent'"
            )
        )
        thread_ids = Counter(
            row[0] for row in connection.execute("SELECT message_id FROM thread_entries") if row[0]
        )
        outbox_rows = connection.execute(
            "SELECT message_id, done_at FROM effects WHERE kind = 'mail'"
        ).fetchall()
        issues = connection.execute("SELECT number FROM issues ORDER BY number").fetchall()
    finally:
        connection.close()

    distinct = set(message_ids)
    assert set(recorded) == distinct
    assert all(count == 1 for count in recorded.values())
    inbound_in_threads = {m: c for m, c in thread_ids.items() if m in distinct}
    assert inbound_in_threads == dict.fromkeys(distinct, 1)
    assert len(issues) == len({n for (n,) in issues})
    assert all(sent_at is not None for _, sent_at in outbox_rows), "an outbox row was never sent"

    sent_files = sorted(outbox.glob("*.eml"))
    sent_ids = {
        str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Message-ID"])
        for p in sent_files
    }
    assert {message_id for message_id, _ in outbox_rows} == sent_ids
    assert len(outbox_rows) == len(issues)  # one automatic reply per created issue
