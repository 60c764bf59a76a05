"""Killing batched intake anywhere loses nothing and records nothing twice.

The worker ingests a Maildir five messages per transaction; it dies before
or after a batch's commit, after an acknowledgement, or while sending the
automatic replies. A second run finishes: every message is on record once,
in one thread once, every message is acknowledged, every reply sent.
"""

from __future__ import annotations

import email
import email.policy
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_kill_during_intake import write_inbox

WORKER = Path(__file__).with_name("batch_intake_worker.py")


def make_maildir(tmp_path: Path) -> tuple[Path, list[str]]:
    inbox = tmp_path / "inbox"
    ids = write_inbox(inbox)
    maildir = tmp_path / "Maildir"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    for index, path in enumerate(sorted(inbox.glob("*.eml"))):
        (maildir / "new" / f"17000{index:05d}.M{index}P1.host").write_bytes(path.read_bytes())
    return maildir, ids


def run(database: Path, maildir: Path, outbox: Path, point: str, after: int) -> int:
    result = subprocess.run(
        [sys.executable, str(WORKER), str(database), str(maildir), str(outbox), point, str(after)],
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
        "before-commit": (0, 1, 3, 4),
        "after-commit": (0, 2, 4, 6),
        "after-ack": (0, 3, 5, 11, 19),
        "before-send": (0, 4),
        "after-send": (1, 6),
    }.items()
    for after in afters
]


@pytest.mark.parametrize(("point", "after"), KILL_POINTS, ids=[f"{p}-{a}" for p, a in KILL_POINTS])
def test_killed_batched_intake_restarted_records_each_message_once(
    tmp_path: Path, point: str, after: int
) -> None:
    maildir, message_ids = make_maildir(tmp_path)
    outbox, database = tmp_path / "outbox", tmp_path / "desk.db"
    outbox.mkdir()
    assert run(database, maildir, outbox, point, after) == -signal.SIGKILL, "never reached"
    assert run(database, maildir, outbox, "none", 0) == 0

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
        mail_rows = connection.execute(
            "SELECT message_id, done_at FROM effects WHERE kind = 'mail'"
        ).fetchall()
        issues = [row[0] for row in connection.execute("SELECT number FROM issues")]
    finally:
        connection.close()

    distinct = set(message_ids)
    assert set(recorded) == distinct
    assert all(count == 1 for count in recorded.values())
    assert {m: c for m, c in thread_ids.items() if m in distinct} == dict.fromkeys(distinct, 1)
    assert len(issues) == len(set(issues))
    assert list((maildir / "new").iterdir()) == [], "a message was never acknowledged"
    assert all(name.name.endswith(":2,S") for name in (maildir / "cur").iterdir())
    assert all(done_at is not None for _, done_at in mail_rows), "an automatic reply was not sent"
    sent = {
        str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Message-ID"])
        for p in outbox.glob("*.eml")
    }
    assert {message_id for message_id, _ in mail_rows} == sent
    assert len(mail_rows) == len(issues)
