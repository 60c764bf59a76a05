"""Reading mail in: files, folders, mbox files, Maildirs and the IMAP mailbox, with progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

from issuecore import IntakeFailure, IntakeReport, ReceiveOutcome
from issuecore.cli._commands import undelivered
from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_NOT_RECORDED, EXIT_OK, EXIT_QUARANTINED, UsageError
from issuecore.cli._views import printable
from issuecore.config import build_mail_source
from issuecore.ports import MailSource, PendingMessage

KINDS: Final = ("created", "appended", "duplicate", "loop", "ignored", "quarantined")
_PROGRESS_AFTER: Final = 0.5  # seconds before a progress bar appears
_PROGRESS_EVERY: Final = 0.1  # seconds between redraws


class _OneFile:
    """A single message file as a mail source; acknowledging leaves the file alone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self) -> Iterator[PendingMessage]:
        yield _FileMessage(self.path.read_bytes())


class _FileMessage:
    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    @property
    def raw(self) -> bytes:
        return self._raw

    def ack(self) -> None:
        return None


def source_for(path: Path) -> tuple[MailSource, int]:
    """Return the mail source that reads ``path`` and the bytes it holds (for progress)."""
    from issuecore.adapters.maildir import EmlDirectorySource, MaildirSource, MboxSource

    if path.is_dir():
        if all((path / folder).is_dir() for folder in ("cur", "new")):
            size = sum(
                f.stat().st_size for folder in ("new", "cur") for f in (path / folder).iterdir()
            )
            return MaildirSource(path), size
        size = sum(f.stat().st_size for f in path.iterdir() if f.suffix.lower() == ".eml")
        return EmlDirectorySource(path), size
    if not path.is_file():
        raise UsageError(f"{path}: no such file or folder")
    with path.open("rb") as stream:
        start = stream.read(5)
    size = path.stat().st_size
    if start == b"From ":
        return MboxSource(path), size
    return _OneFile(path), size


class Progress:
    """A progress bar on stderr, drawn with plain carriage returns, only on a terminal."""

    def __init__(self, stream: IO[str], *, total_bytes: int, label: str) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.unknown_total = total_bytes <= 0  # an IMAP mailbox: count messages only
        self.total = max(1, total_bytes)
        self.label = printable(label)
        self.done_bytes = 0
        self.count = 0
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.visible = False

    def advance(self, size: int) -> None:
        self.count += 1
        self.done_bytes += size
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < _PROGRESS_AFTER or now - self.drawn_at < _PROGRESS_EVERY:
            return
        self.drawn_at = now
        if self.unknown_total:
            self.stream.write(f"\r{self.label[-30:]} {self.count} messages")
        else:
            fraction = min(1.0, self.done_bytes / self.total)
            filled = int(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(f"\r{self.label[-30:]} [{bar}] {fraction:4.0%} {self.count} messages")
        self.stream.flush()
        self.visible = True

    def finish(self) -> None:
        if self.visible:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


class _Watched:
    """A mail source that reports each message to a progress bar."""

    def __init__(self, source: MailSource, progress: Progress) -> None:
        self.source = source
        self.progress = progress

    def messages(self) -> Iterator[PendingMessage]:
        for message in self.source.messages():
            yield message
            self.progress.advance(len(message.raw))

    @property
    def acks_after_reading(self) -> bool:
        """Whether the source accepts an acknowledgement after later messages were read."""
        return bool(getattr(self.source, "acks_after_reading", False))


def _message_dates(run: Run) -> bool | None:
    """Return ``True`` with ``--use-message-dates``, else ``None``: the configured choice."""
    return True if run.args.use_message_dates else None


def ingest(run: Run) -> int:
    """``issuecore ingest PATH...``."""
    sources = [(path, *source_for(Path(path))) for path in run.args.paths]
    desk = run.desk
    outcomes: list[ReceiveOutcome] = []
    failures: list[IntakeFailure] = []
    for name, source, size in sources:
        progress = Progress(sys.stderr, total_bytes=size, label=name)
        try:
            report = desk.ingest(
                _Watched(source, progress),
                batch_size=run.args.batch_size,
                use_message_date=_message_dates(run),
            )
        finally:
            progress.finish()
        outcomes.extend(report.outcomes)
        failures.extend(report.failures)
    everything = IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))
    return summary(run, everything, ", ".join(run.args.paths))


def fetch(run: Run) -> int:
    """``issuecore fetch``: read the ``[imap]`` mailbox."""
    config = run.config
    source = build_mail_source(config, mailbox=run.args.mailbox)
    imap = config.imap
    assert imap is not None  # build_mail_source refuses a configuration without one
    progress = Progress(sys.stderr, total_bytes=0, label=imap.host)
    try:
        report = run.desk.ingest(
            _Watched(source, progress),
            batch_size=run.args.batch_size,
            use_message_date=_message_dates(run),
        )
    finally:
        progress.finish()
    return summary(run, report, f"{imap.host}/{run.args.mailbox or imap.mailbox}")


def summary(run: Run, report: IntakeReport, name: str) -> int:
    """Print what became of the messages; return the exit code it calls for."""
    if run.args.verbose:
        for outcome in report.outcomes:
            run.print(
                f"{outcome.kind:<11}  {outcome.issue_number or '-':<16}  "
                f"{printable(outcome.message_id)}  {printable(outcome.reason)}"
            )
        run.print()
    counts = report.counts()
    total = len(report.outcomes)
    run.print(f"read {total} message{'' if total == 1 else 's'} from {printable(name)}")
    width = max(len(str(total)), 5)
    run.print(f"{'outcome':<12} {'count':>{width}}")
    for kind in KINDS:
        run.print(f"{kind:<12} {counts[kind]:>{width}}")
    run.print(f"{'total':<12} {total:>{width}}")
    replies = sum(1 for outcome in report.outcomes if outcome.auto_reply)
    mailer = run.mailer
    failed = 0 if mailer is None else len(mailer.failures)
    sent = replies if mailer is None else min(replies, mailer.sent)
    run.print(f"automatic replies sent: {sent}")
    relayed = sum(1 for outcome in report.outcomes if outcome.relayed)
    if relayed:
        run.print(f"agent replies relayed to customers: {relayed}")
    quarantined = [o for o in report.outcomes if o.kind == "quarantined"]
    for outcome in quarantined:
        run.print(f"quarantined {printable(outcome.message_id)}: {printable(outcome.reason)}")
    for failure in report.failures:
        print(
            f"issuecore: not recorded {printable(failure.message_id)}: "
            f"{printable(str(failure.error))}",
            file=sys.stderr,
        )
    if report.failures:
        count = len(report.failures)
        print(
            f"issuecore: error: {count} message{'' if count == 1 else 's'} could not be "
            "recorded and stay unacknowledged at the source; run again when the store is back",
            file=sys.stderr,
        )
        return EXIT_NOT_RECORDED
    if failed:
        code = undelivered(run, f"every message was recorded ({replies} automatic replies queued)")
        if code is not None:
            return code
    if quarantined and run.args.strict:
        return EXIT_QUARANTINED
    return EXIT_OK
