"""Quarantined mail: list it, show it, export it as ``.eml``, file it again."""

from __future__ import annotations

import email
import email.policy
import sys
from pathlib import Path

from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_OK, RefusedError, UsageError
from issuecore.cli._views import printable, printable_lines, table


def listing(run: Run) -> int:
    """``issuecore quarantine [list]``: the quarantined messages, newest first, with the reason."""
    records = run.desk.quarantined(limit=run.args.limit)
    if run.args.json:
        run.print_json(
            [
                {
                    "message_id": record.message_id,
                    "at": None if record.at is None else record.at.isoformat(),
                    "reason": record.reason,
                }
                for record in records
            ]
        )
        return EXIT_OK
    if not records:
        run.print("no quarantined messages")
        return EXIT_OK
    rows = [
        (run.stamp(record.at), printable(record.message_id), printable(record.reason))
        for record in records
    ]
    for line in table(("AT", "MESSAGE-ID", "REASON"), rows):
        run.print(line)
    return EXIT_OK


def _raw(run: Run, message_id: str) -> bytes:
    raw = run.desk.quarantined_message(message_id)
    if raw is None:
        raise RefusedError(
            f"no quarantined message {printable(message_id)}; see `issuecore quarantine list`"
        )
    return raw


def show(run: Run) -> int:
    """``issuecore quarantine show ID``: the headers and text of a quarantined message."""
    raw = _raw(run, run.args.message_id)
    record = run.desk.message_record(run.args.message_id)
    if record is not None:
        run.print(f"quarantined  {run.stamp(record.at)}: {printable(record.reason)}")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID"):
        value = message.get(name)
        if value is not None:
            run.print(f"{name + ':':<12} {printable(str(value))}")
    run.print(f"{'Size:':<12} {len(raw)} bytes")
    run.print()
    text = raw.partition(b"\n\n")[2].decode("utf-8", "replace")
    lines = printable_lines(text)
    for line in lines[:200]:
        run.print(f"    {line}")
    if len(lines) > 200:
        run.print(f"    ... {len(lines) - 200} more lines; `quarantine export` writes them all")
    return EXIT_OK


def export(run: Run) -> int:
    """``issuecore quarantine export ID [--output FILE]``: the message's bytes, as received."""
    raw = _raw(run, run.args.message_id)
    output = run.args.output
    if output is None or output == "-":
        run.out.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return EXIT_OK
    target = Path(output)
    try:
        with target.open("xb") as stream:
            stream.write(raw)
    except FileExistsError:
        raise UsageError(f"{target}: exists already; name another file") from None
    except OSError as error:
        raise UsageError(f"{target}: {error.strerror}") from None
    run.print(f"wrote {len(raw)} bytes to {printable(str(target))}")
    return EXIT_OK


def reingest(run: Run) -> int:
    """``issuecore quarantine reingest ID``: file the message again, e.g. after a fix."""
    _raw(run, run.args.message_id)
    outcome = run.desk.reingest(run.args.message_id)
    run.print(
        f"{outcome.kind:<11}  {outcome.issue_number or '-'}  "
        f"{printable(outcome.message_id)}  {printable(outcome.reason)}"
    )
    return EXIT_OK
