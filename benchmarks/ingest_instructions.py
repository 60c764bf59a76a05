"""Intake cost in instructions per message, counted by callgrind: batched SQLite vs bare parsing.

Run: ``python benchmarks/ingest_instructions.py`` (needs ``valgrind``). The
timed figures of ``benchmarks/ingest.py`` move with the load of a shared
machine; instruction counts do not. Each path runs alone under
``valgrind --tool=callgrind`` on the first 100 and the first 300 messages of
one mailbox (that of ``benchmarks/ingest.py``, written once to a file); the
difference of the two counts, divided by 200, is the cost of one message,
with the interpreter's start, the imports and the setup left out. Both paths
are counted in this one run, so their ratio compares like with like.
"""

from __future__ import annotations

import email
import email.policy
import pickle
import sys
import tempfile
from pathlib import Path

from _callgrind import count_instructions  # this script's directory
from ingest import BATCH, desk_on, mailbox  # benchmarks/ingest.py: this script's directory
from issuecore.adapters.sqlite import SQLiteStore

FEW, MANY = 100, 300


def run_path(path: str, mail: Path, count: int) -> None:
    """Take the first ``count`` messages of ``mail`` the way ``path`` says (under callgrind)."""
    messages = pickle.loads(mail.read_bytes())[:count]
    if path == "bare":
        for raw in messages:
            email.message_from_bytes(raw, policy=email.policy.default)
        return
    with SQLiteStore(mail.parent / f"{path}-{count}.db") as store:
        report = desk_on(store).receive_many(messages, batch_size=BATCH)
    assert len(report.outcomes) == count, report.failures


def instructions(path: str, mail: Path, count: int) -> int:
    """Return the instructions callgrind counted for one run of ``path`` on ``count`` messages."""
    return count_instructions(__file__, path, mail, count)


def per_message(path: str, mail: Path) -> float:
    return (instructions(path, mail, MANY) - instructions(path, mail, FEW)) / (MANY - FEW)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="issuecore-instructions-"))
    mail = folder / "mailbox.pickle"
    mail.write_bytes(pickle.dumps(mailbox(MANY)))
    bare = per_message("bare", mail)
    batched = per_message("batched", mail)
    label = "bare email.message_from_bytes (policy.default):"
    print(f"{label:<50} {bare:12,.0f} instructions/message")
    print(
        f"{f'batched intake ({BATCH}/transaction) into SQLite:':<50} {batched:12,.0f} "
        f"instructions/message   ({batched / bare:4.2f}x the bare parse)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4:  # one run under callgrind: path, mailbox file, count
        run_path(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
