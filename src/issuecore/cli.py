"""The ``issuecore`` command: a small help desk on the embedded defaults.

Run ``issuecore --help`` for the commands. Exit codes: 0 when the command did
what it was asked; 1 when an operation was refused (an unknown issue, a
transition the workflow does not allow, a priority without a target); 2 for
a usage or configuration error; 3 when ``ingest --strict`` or ``fetch
--strict`` quarantined messages; 4 when ``ingest`` or ``fetch`` could not
record some messages at all (the store was unavailable): they are named,
left unacknowledged, and every other message was still read.

``ISSUECORE_NOW`` (an ISO 8601 instant with an offset, e.g.
``2026-03-02T09:00:00+01:00``) makes the command act at that instant instead
of the system clock's; it is meant for tests and demonstrations.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Final, NoReturn

from issuecore.config import (
    DEFAULT_SOURCE,
    Config,
    config_template,
    format_duration,
    load_config,
)
from issuecore.desk import HelpDesk, IntakeFailure, IntakeReport, ReceiveOutcome
from issuecore.errors import ConfigError, IssueCoreError
from issuecore.model import EntryKind, Issue
from issuecore.ports import Clock, InboundMessage, Mailer, MailSource, Store
from issuecore.sla.clock import RESOLUTION, RESPONSE, SlaClock

__all__ = [
    "EXIT_NOT_RECORDED",
    "EXIT_OK",
    "EXIT_QUARANTINED",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "main",
]

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_QUARANTINED: Final = 3
EXIT_NOT_RECORDED: Final = 4
NOW_VARIABLE: Final = "ISSUECORE_NOW"
_KINDS: Final = ("created", "appended", "duplicate", "loop", "ignored", "quarantined")
_PROGRESS_AFTER: Final = 0.5  # seconds before a progress bar appears
_PROGRESS_EVERY: Final = 0.1  # seconds between redraws


class UsageError(Exception):
    """A command line or environment that cannot work; exit code 2."""


class RefusedError(Exception):
    """An operation the desk refused for a reason the CLI found itself; exit code 1."""


# --- the parser ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``issuecore`` command line."""
    parser = _Parser(
        prog="issuecore",
        description="A support desk on a SQLite file and a Maildir outbox.",
        epilog=(
            "exit codes: 0 ok, 1 operation refused, 2 usage or configuration error, "
            "3 quarantined messages with --strict. "
            f"{NOW_VARIABLE}=<ISO instant> fixes the clock (for tests and demos)."
        ),
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help=f"configuration file (default: ./{DEFAULT_SOURCE}; defaults apply if it is missing)",
    )
    parser.add_argument(
        "--db", default=None, metavar="PATH", help="database file or URL (overrides the file)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, help_text: str, run: Callable[[_Run], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    init = command("init", "write a commented issuecore.toml and create the database", _init)
    init.add_argument("--support-address", default="support@localhost", metavar="ADDR")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    ingest = command("ingest", "read .eml files, folders of them, mbox files or Maildirs", _ingest)
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    _intake_options(ingest)

    fetch = command("fetch", "read the IMAP mailbox of the [imap] section", _fetch)
    fetch.add_argument("--mailbox", default=None, help="read this mailbox instead")
    _intake_options(fetch)

    listing = command("list", "list issues with their SLA state", _list)
    listing.add_argument("--status", default=None)
    listing.add_argument("--assignee", default=None, metavar="USER")
    listing.add_argument("--raised-by", default=None, metavar="ADDR")
    listing.add_argument("--limit", type=int, default=None)

    show = command("show", "show an issue: thread, history, SLA state and metrics", _show)
    show.add_argument("number")

    for name, help_text, run in (
        ("reply", "send a reply to the customer", _reply),
        ("note", "add an internal note", _note),
    ):
        sub = command(name, help_text, run)
        sub.add_argument("number")
        body = sub.add_mutually_exclusive_group()
        body.add_argument("--body", default=None, metavar="TEXT")
        body.add_argument(
            "--body-file", default=None, metavar="PATH", help="read the text from PATH (- is stdin)"
        )
        sub.add_argument("--author", default=None, metavar="ADDR", help="default: first agent")

    for name, help_text in (
        ("hold", "put an issue on hold (the SLA clock pauses)"),
        ("resolve", "mark an issue resolved"),
        ("close", "close an issue"),
        ("reopen", "reopen a resolved or closed issue"),
    ):
        sub = command(name, help_text, _status_action)
        sub.add_argument("number")
        sub.add_argument("--by", default=None, metavar="USER", help="default: first agent")
        sub.add_argument("--reason", default=None)

    for name, help_text, run in (
        ("assign", "assign a user to an issue", _assign),
        ("unassign", "take a user off an issue", _unassign),
    ):
        sub = command(name, help_text, run)
        sub.add_argument("number")
        sub.add_argument("user")
        sub.add_argument("--by", default=None, metavar="USER", help="default: first agent")

    priority = command("priority", "change the priority; deadlines follow", _priority)
    priority.add_argument("number")
    priority.add_argument("priority")
    priority.add_argument("--by", default=None, metavar="USER", help="default: first agent")

    reset = command("reset-sla", "restart the SLA clock with nothing consumed", _reset_sla)
    reset.add_argument("number")
    reset.add_argument("--reason", required=True)
    reset.add_argument("--by", default=None, metavar="USER", help="default: first agent")

    command("tick", "run the sweep: auto-close, SLA at-risk and breach events, outbox", _tick)

    outbox = command(
        "outbox", "list the effects waiting for delivery and the dead letters", _outbox
    )
    outbox.add_argument("--limit", type=int, default=50)

    retry = command("retry", "deliver a dead letter again (its id from `outbox`)", _retry)
    retry.add_argument("effect_id", metavar="ID")

    sla = command("sla", "draw the SLA timeline of an issue (text, or SVG with --svg)", _sla)
    sla.add_argument("number")
    sla.add_argument("--svg", default=None, metavar="FILE", help="write an SVG picture to FILE")

    serve = command("serve", "serve the agent console in the browser (the web extra)", _serve)
    serve.add_argument("--host", default=None, help="default: web.host, else 127.0.0.1")
    serve.add_argument("--port", type=_positive, default=None, help="default: web.port, else 8080")
    return parser


def _intake_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict", action="store_true", help="exit 3 when any message was quarantined"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print what became of each message"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        metavar="N",
        help="record up to N messages per transaction (default 200; 1: one by one)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


# --- running ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = _Run(args)
    try:
        code: int = args.run(run)
        return code
    except ConfigError as error:
        return _fail(str(error), EXIT_USAGE)
    except UsageError as error:
        return _fail(str(error), EXIT_USAGE)
    except (RefusedError, IssueCoreError, LookupError, ValueError) as error:
        return _fail(_message(error), EXIT_REFUSED)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}", EXIT_REFUSED)
    except KeyboardInterrupt:
        return 130
    finally:
        run.close()


def _message(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    return text


def _hours(delta: timedelta) -> str:
    return format_duration(delta, days=False)


def _fail(message: str, code: int) -> int:
    print(f"issuecore: error: {message}", file=sys.stderr)
    return code


class _Run:
    """One invocation: the arguments, the configuration, and the desk built on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._config: Config | None = None
        self._desk: HelpDesk | None = None
        self._store: Store | None = None
        self.out: IO[str] = sys.stdout

    @property
    def config_path(self) -> Path:
        return Path(self.args.config) if self.args.config is not None else Path(DEFAULT_SOURCE)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def database(self) -> str:
        if self.args.db is not None:
            return str(self.args.db)
        config = self.config
        return config.database if config.server_database else str(config.database_path())

    def clock(self) -> Clock:
        return _clock()

    def now(self) -> datetime:
        return self.clock().now()

    @property
    def desk(self) -> HelpDesk:
        if self._desk is None:
            config = self.config
            store = _open_store(self.database(), config, given=self.args.db is not None)
            self._store = store
            self._desk = HelpDesk(
                store=store,
                mailer=_mailer(config),
                clock=self.clock(),
                agreements=config.agreements,
                settings=config.desk_settings(_signing_key(config, self.database())),
            )
        return self._desk

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.config.display_timezone())

    def stamp(self, at: datetime | None) -> str:
        if at is None:
            return "-"
        return at.astimezone(self.zone()).strftime("%Y-%m-%d %H:%M")

    def actor(self, given: str | None, flag: str) -> str:
        if given:
            return given
        if self.config.agents:
            return self.config.agents[0]
        raise UsageError(f"{flag} is required (or list agents in {self.config.source})")

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def close(self) -> None:
        closer = getattr(self._store, "close", None)
        if callable(closer):
            closer()


def _clock() -> Clock:
    raw = os.environ.get(NOW_VARIABLE, "").strip()
    if not raw:
        from issuecore.adapters.clock import SystemClock

        return SystemClock()
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"{NOW_VARIABLE}={raw!r} is not an ISO 8601 instant; "
            "write e.g. 2026-03-02T09:00:00+01:00"
        ) from None
    if at.tzinfo is None:
        raise UsageError(
            f"{NOW_VARIABLE}={raw!r} has no UTC offset; write e.g. 2026-03-02T09:00:00+01:00"
        )
    from issuecore.testing.clock import FakeClock

    return FakeClock(at)


def _open_store(database: str, config: Config, *, given: bool) -> Store:
    """Open the database; ``given`` says it came from ``--db`` (errors then name the option)."""
    source, key = ("--db", "") if given else (config.source, "database")
    if "://" in database:
        try:
            from issuecore.adapters.sql import SqlStore
        except ImportError:
            raise ConfigError.for_key(
                source,
                key,
                "a server database needs the sql extra: pip install 'issuecore[sql]'",
            ) from None
        try:
            return SqlStore(database)
        except Exception as error:  # the driver's own errors: unreachable server, bad login
            raise ConfigError.for_key(source, key, f"cannot open {database}: {error}") from None
    from issuecore.adapters.sqlite import SQLiteStore

    path = Path(database)
    if not path.parent.is_dir():
        raise ConfigError.for_key(source, key, f"the folder of {database} does not exist")
    try:
        return SQLiteStore(path)
    except sqlite3.Error as error:
        raise ConfigError.for_key(
            source, key, f"cannot open {database} as SQLite: {error}"
        ) from None


def _password(config: Config, section: str, password: str | None, env: str | None) -> str | None:
    if env is None:
        return password
    value = os.environ.get(env)
    if value is None:
        raise ConfigError.for_key(
            config.source, f"{section}.password_env", f"the environment variable {env} is not set"
        )
    return value


def _mailer(config: Config) -> Mailer:
    if config.smtp is not None:
        from issuecore.adapters.smtp import SmtpMailer

        smtp = config.smtp
        return SmtpMailer(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=_password(config, "smtp", smtp.password, smtp.password_env),
        )
    from issuecore.adapters.maildir import MaildirOutbox

    return MaildirOutbox(config.outbox_path())


def _signing_key(config: Config, database: str) -> bytes:
    """Return the configured key, or the one kept in ``<database>.key`` (created if missing)."""
    if config.signing_key is not None:
        return config.signing_key
    if "://" in database:
        raise ConfigError.for_key(
            config.source,
            "signing_key",
            "is required when the database is a server URL (every machine must sign alike)",
        )
    path = Path(database + ".key")
    for _ in range(2):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another process created it first: read theirs
            with os.fdopen(descriptor, "w", encoding="ascii") as stream:
                stream.write(secrets.token_hex(32) + "\n")
            continue
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise ConfigError.for_key(
                str(path), "", "does not hold a signing key of at least 32 hexadecimal digits"
            )
        return key
    raise ConfigError.for_key(str(path), "", "could not be created or read")


# --- init -----------------------------------------------------------------------------------


def _init(run: _Run) -> int:
    path = run.config_path
    if path.exists() and not run.args.force:
        raise RefusedError(f"{path} exists already; use --force to overwrite it")
    text = config_template(
        signing_key=secrets.token_bytes(32), support_address=run.args.support_address
    )
    if run.args.db is not None:
        text = text.replace(
            '# database = "issuecore.db"', f"database = {_toml_string(run.args.db)}"
        )
    from issuecore.config import parse_config

    parse_config(text, source=str(path), base=path.parent)  # the template must read back
    path.write_text(text, encoding="utf-8")
    run._config = None
    config = run.config
    store = _open_store(run.database(), config, given=run.args.db is not None)
    close = getattr(store, "close", None)
    if callable(close):
        close()
    if config.smtp is None:
        outbox = config.outbox_path()
        for folder in ("tmp", "new", "cur"):
            (outbox / folder).mkdir(parents=True, exist_ok=True)
        run.print(f"wrote {path}; database {run.database()}; outbox {outbox}/")
    else:
        run.print(f"wrote {path}; database {run.database()}")
    return EXIT_OK


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- intake ---------------------------------------------------------------------------------


class _OneFile:
    """A single message file as a mail source; acknowledging leaves the file alone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self) -> Iterator[InboundMessage]:
        yield _FileMessage(self.path.read_bytes())


class _FileMessage:
    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    @property
    def raw(self) -> bytes:
        return self._raw

    def ack(self) -> None:
        return None


def _source_for(path: Path) -> tuple[MailSource, int]:
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


class _Progress:
    """A progress bar on stderr, drawn with plain carriage returns, only on a terminal."""

    def __init__(self, stream: IO[str], *, total_bytes: int, label: str) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.unknown_total = total_bytes <= 0  # an IMAP mailbox: count messages only
        self.total = max(1, total_bytes)
        self.label = label
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

    def __init__(self, source: MailSource, progress: _Progress) -> None:
        self.source = source
        self.progress = progress

    def messages(self) -> Iterator[InboundMessage]:
        for message in self.source.messages():
            yield message
            self.progress.advance(len(message.raw))

    @property
    def acks_after_reading(self) -> bool:
        """Whether the source accepts an acknowledgement after later messages were read."""
        return bool(getattr(self.source, "acks_after_reading", False))


def _ingest(run: _Run) -> int:
    sources = [(path, *_source_for(Path(path))) for path in run.args.paths]
    desk = run.desk
    outcomes: list[ReceiveOutcome] = []
    failures: list[IntakeFailure] = []
    for name, source, size in sources:
        progress = _Progress(sys.stderr, total_bytes=size, label=name)
        try:
            report = desk.ingest(_Watched(source, progress), batch_size=run.args.batch_size)
        finally:
            progress.finish()
        outcomes.extend(report.outcomes)
        failures.extend(report.failures)
    everything = IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))
    return _intake_summary(run, everything, ", ".join(run.args.paths))


def _fetch(run: _Run) -> int:
    config = run.config
    imap = config.imap
    if imap is None:
        raise ConfigError.for_key(
            config.source, "imap", "missing; fetch needs an [imap] section with host and username"
        )
    from issuecore.adapters.imap import ImapSource

    password = _password(config, "imap", imap.password, imap.password_env)
    source = ImapSource(
        imap.host,
        imap.port,
        username=imap.username,
        password=password or "",
        mailbox=run.args.mailbox or imap.mailbox,
        security=imap.security,
        processed_mailbox=imap.processed_mailbox,
    )
    progress = _Progress(sys.stderr, total_bytes=0, label=f"{imap.host}")
    try:
        report = run.desk.ingest(_Watched(source, progress), batch_size=run.args.batch_size)
    finally:
        progress.finish()
    return _intake_summary(run, report, f"{imap.host}/{run.args.mailbox or imap.mailbox}")


def _intake_summary(run: _Run, report: IntakeReport, name: str) -> int:
    if run.args.verbose:
        for outcome in report.outcomes:
            run.print(
                f"{outcome.kind:<11}  {outcome.issue_number or '-':<16}  "
                f"{outcome.message_id}  {outcome.reason}"
            )
        run.print()
    counts = report.counts()
    total = len(report.outcomes)
    run.print(f"read {total} message{'' if total == 1 else 's'} from {name}")
    width = max(len(str(total)), 5)
    run.print(f"{'outcome':<12} {'count':>{width}}")
    for kind in _KINDS:
        run.print(f"{kind:<12} {counts[kind]:>{width}}")
    run.print(f"{'total':<12} {total:>{width}}")
    replies = sum(1 for outcome in report.outcomes if outcome.auto_reply)
    run.print(f"automatic replies sent: {replies}")
    quarantined = [o for o in report.outcomes if o.kind == "quarantined"]
    for outcome in quarantined:
        run.print(f"quarantined {outcome.message_id}: {outcome.reason}")
    for failure in report.failures:
        print(f"issuecore: not recorded {failure.message_id}: {failure.error}", file=sys.stderr)
    if report.failures:
        count = len(report.failures)
        print(
            f"issuecore: error: {count} message{'' if count == 1 else 's'} could not be "
            "recorded and stay unacknowledged at the source; run again when the store is back",
            file=sys.stderr,
        )
        return EXIT_NOT_RECORDED
    if quarantined and run.args.strict:
        return EXIT_QUARANTINED
    return EXIT_OK


# --- reading issues -------------------------------------------------------------------------


def _remaining_text(run: _Run, issue: Issue, which: str, now: datetime) -> tuple[str, str]:
    """Return (deadline, remaining business time) cells for ``which`` target."""
    clock = issue.sla
    if clock is None:
        return "-", "-"
    target = clock.target_of(which)
    if target is None:
        return "none", "-"
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    if done_at is not None:
        return ("met" if met is not False else "missed"), "-"
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    agreement = run.config.agreement(clock.agreement)
    if agreement is None:
        return run.stamp(deadline), "?"
    remaining = clock.remaining(agreement.business_time, which, now)
    left = "-" if remaining is None else _hours(remaining.business)
    if deadline is None:
        return "paused", left
    return run.stamp(deadline), left


def _list(run: _Run) -> int:
    args = run.args
    issues = run.desk.find(
        status=args.status, assignee=args.assignee, raised_by=args.raised_by, limit=args.limit
    )
    if not issues:
        run.print("no issues")
        return EXIT_OK
    now = run.now()
    header = (
        "NUMBER",
        "STATUS",
        "PRIORITY",
        "SUBJECT",
        "SLA",
        "RESPOND BY",
        "LEFT",
        "RESOLVE BY",
        "LEFT",
    )
    rows = []
    for issue in issues:
        response, response_left = _remaining_text(run, issue, RESPONSE, now)
        resolution, resolution_left = _remaining_text(run, issue, RESOLUTION, now)
        sla = "-" if issue.sla is None else str(issue.sla.status(now))
        subject = issue.subject if len(issue.subject) <= 36 else issue.subject[:35] + "…"
        rows.append(
            (
                issue.number,
                str(issue.status),
                issue.priority or "-",
                subject,
                sla,
                response,
                response_left,
                resolution,
                resolution_left,
            )
        )
    _table(run, header, rows)
    noun = "issue" if len(issues) == 1 else "issues"
    run.print(f"{len(issues)} {noun}; times in {run.config.display_timezone()}")
    return EXIT_OK


def _table(run: _Run, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        run.print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _show(run: _Run) -> int:
    number = run.args.number
    desk = run.desk
    issue = desk.get(number)
    thread = desk.thread(number)
    now = run.now()
    zone = run.config.display_timezone()
    run.print(f"{issue.number}  {issue.subject}")
    run.print(f"  status       {issue.status} since {run.stamp(issue.status_since)}")
    run.print(f"  priority     {issue.priority or '-'}")
    run.print(f"  raised by    {issue.raised_by}")
    run.print(f"  created      {run.stamp(issue.created_at)}  (times in {zone})")
    if issue.participants:
        run.print(f"  participants {', '.join(issue.participants)}")
    run.print(f"  assignees    {', '.join(issue.assignees) or '-'}")
    if issue.follows_up:
        run.print(f"  follows up   {issue.follows_up}")
    run.print()
    _show_sla(run, issue, now)
    run.print()
    run.print(f"Thread ({len(thread)} entries)")
    for entry in thread:
        flags = []
        if entry.kind is EntryKind.AUTOMATED_MESSAGE:
            flags.append("automated")
        if entry.unverified:
            flags.append("unverified")
        flag_text = f" [{', '.join(flags)}]" if flags else ""
        run.print(f"--- {run.stamp(entry.at)}  {entry.kind}  {entry.author}{flag_text}")
        if entry.subject:
            run.print(f"    subject: {entry.subject}")
        for line in entry.display_text.strip().splitlines() or [""]:
            run.print(f"    {line}")
        for attachment in entry.attachments:
            run.print(
                f"    attachment: {attachment.filename} ({attachment.content_type}, "
                f"{attachment.size} bytes)"
            )
    run.print()
    run.print("History")
    for record in issue.history:
        change = (
            record.to_status
            if record.from_status == record.to_status
            else f"{record.from_status} -> {record.to_status}"
        )
        why = f"  ({record.reason})" if record.reason else ""
        detail = f"  {record.detail}" if record.detail else ""
        run.print(
            f"  {run.stamp(record.at)}  {record.action:<16} {record.actor}  {change}{why}{detail}"
        )
    return EXIT_OK


def _show_sla(run: _Run, issue: Issue, now: datetime) -> None:
    clock = issue.sla
    if clock is None:
        run.print("SLA: none (no agreement covers this issue)")
        return
    agreement = run.config.agreement(clock.agreement)
    run.print(f"SLA: {clock.agreement}, priority {clock.priority}: {clock.status(now)}")
    if clock.reset_at is not None:
        run.print(
            f"  reset        {run.stamp(clock.reset_at)} by {clock.reset_by}: {clock.reset_reason}"
        )
    for which in (RESPONSE, RESOLUTION):
        run.print(f"  {_target_line(run, clock, which, now)}")
    if agreement is not None:
        consumed = clock.consumed_at(agreement.business_time, now)
        run.print(f"  consumed     {_hours(consumed)} of business time")
    else:
        run.print(f"  agreement {clock.agreement!r} is no longer configured; deadlines as stored")
    metrics = clock.metrics()

    def pair(business: timedelta | None, elapsed: timedelta | None) -> str:
        if business is None or elapsed is None:
            return "-"
        return f"{_hours(business)} business, {format_duration(elapsed)} elapsed"

    run.print("Metrics")
    run.print(
        f"  first response {pair(metrics.first_response_business, metrics.first_response_elapsed)}"
    )
    run.print(f"  resolution     {pair(metrics.resolution_business, metrics.resolution_elapsed)}")
    run.print(f"  on hold        {pair(metrics.hold_business, metrics.hold_elapsed)}")


def _target_line(run: _Run, clock: SlaClock, which: str, now: datetime) -> str:
    target = clock.target_of(which)
    label = f"{which:<12}"
    if target is None:
        return f"{label} no target"
    done_at = clock.responded_at if which == RESPONSE else clock.resolved_at
    met = clock.response_met if which == RESPONSE else clock.resolution_met
    if done_at is not None:
        verdict = "met" if met is not False else "missed"
        return f"{label} target {_hours(target)}: {verdict} at {run.stamp(done_at)}"
    deadline = clock.response_by if which == RESPONSE else clock.resolution_by
    agreement = run.config.agreement(clock.agreement)
    remaining = None if agreement is None else clock.remaining(agreement.business_time, which, now)
    due = "paused (deadline unknown)" if deadline is None else f"due {run.stamp(deadline)}"
    parts = [f"{label} target {_hours(target)}: {due}"]
    if remaining is not None:
        parts.append(f"left {_hours(remaining.business)} business")
        if remaining.calendar is not None:
            parts.append(f"{format_duration(remaining.calendar)} calendar")
    return ", ".join(parts)


# --- operations -----------------------------------------------------------------------------


def _body(run: _Run) -> str:
    args = run.args
    if args.body is not None:
        text: str = args.body
    elif args.body_file == "-":
        text = sys.stdin.read()
    elif args.body_file is not None:
        try:
            text = Path(args.body_file).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{args.body_file}: {error.strerror}") from None
    else:
        raise UsageError("give the text with --body TEXT or --body-file PATH (- for stdin)")
    if not text.strip():
        raise UsageError("the text is empty")
    return text


def _reply(run: _Run) -> int:
    body = _body(run)
    author = run.actor(run.args.author, "--author")
    issue = run.desk.reply(run.args.number, body=body, author=author)
    run.print(f"replied on {issue.number} as {author}; status {issue.status}")
    return EXIT_OK


def _note(run: _Run) -> int:
    body = _body(run)
    author = run.actor(run.args.author, "--author")
    issue = run.desk.add_note(run.args.number, body=body, author=author)
    run.print(f"note added to {issue.number} by {author}")
    return EXIT_OK


def _status_action(run: _Run) -> int:
    args = run.args
    by = run.actor(args.by, "--by")
    operations: dict[str, Callable[..., Issue]] = {
        "hold": run.desk.hold,
        "resolve": run.desk.resolve,
        "close": run.desk.close,
        "reopen": run.desk.reopen,
    }
    issue = operations[args.command](args.number, by=by, reason=args.reason)
    run.print(f"{issue.number} is {issue.status}")
    return EXIT_OK


def _assign(run: _Run) -> int:
    by = run.actor(run.args.by, "--by")
    issue = run.desk.assign(run.args.number, run.args.user, by=by)
    run.print(f"{issue.number} assignees: {', '.join(issue.assignees) or '-'}")
    return EXIT_OK


def _unassign(run: _Run) -> int:
    by = run.actor(run.args.by, "--by")
    issue = run.desk.unassign(run.args.number, run.args.user, by=by)
    run.print(f"{issue.number} assignees: {', '.join(issue.assignees) or '-'}")
    return EXIT_OK


def _priority(run: _Run) -> int:
    by = run.actor(run.args.by, "--by")
    issue = run.desk.set_priority(run.args.number, run.args.priority, by=by)
    run.print(f"{issue.number} priority {issue.priority}")
    _print_deadlines(run, issue)
    return EXIT_OK


def _reset_sla(run: _Run) -> int:
    by = run.actor(run.args.by, "--by")
    issue = run.desk.reset_sla(run.args.number, reason=run.args.reason, by=by)
    run.print(f"{issue.number} SLA restarted by {by}: {run.args.reason}")
    _print_deadlines(run, issue)
    return EXIT_OK


def _print_deadlines(run: _Run, issue: Issue) -> None:
    if issue.sla is None:
        return
    now = run.now()
    for which in (RESPONSE, RESOLUTION):
        run.print(f"  {_target_line(run, issue.sla, which, now)}")


def _tick(run: _Run) -> int:
    report = run.desk.tick()
    closed = f" ({', '.join(report.closed)})" if report.closed else ""
    run.print(f"auto-closed  {len(report.closed)}{closed}")
    run.print(f"at risk      {report.at_risk}")
    run.print(f"breached     {report.breached}")
    run.print(f"delivered    {report.sent}")
    run.print(f"failed       {report.failed}")
    return EXIT_OK


def _outbox(run: _Run) -> int:
    limit = run.args.limit
    with run.desk.store.transaction(read_only=True) as work:
        waiting = work.outbox.pending(limit=limit)
    dead = run.desk.dead_letters(limit=limit)
    for title, items in (("waiting", waiting), ("dead letters", dead)):
        run.print(f"{title}: {len(items)}{'+' if len(items) == limit else ''}")
        for item in items:
            error = f"  {item.last_error}" if item.last_error else ""
            run.print(
                f"  {item.id}  {item.kind}  {item.number or '-'}  attempts {item.attempts}{error}"
            )
    return EXIT_OK


def _retry(run: _Run) -> int:
    if not run.desk.retry_dead_letter(run.args.effect_id):
        raise RefusedError(f"{run.args.effect_id} is not a dead letter (see `issuecore outbox`)")
    sent, failed = run.desk.flush_outbox()
    run.print(f"delivered    {sent}")
    run.print(f"failed       {failed}")
    return EXIT_OK


def _sla(run: _Run) -> int:
    from issuecore._timeline import build_timeline, render_svg, render_text

    issue = run.desk.get(run.args.number)
    if issue.sla is None:
        raise RefusedError(f"{issue.number} has no SLA (no agreement covers it)")
    agreement = run.config.agreement(issue.sla.agreement)
    timeline = build_timeline(issue, agreement, now=run.now(), zone=run.config.display_timezone())
    if run.args.svg is None:
        run.out.write(render_text(timeline))
        return EXIT_OK
    target = Path(run.args.svg)
    try:
        target.write_text(render_svg(timeline), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{target}: {error.strerror}") from None
    run.print(f"wrote the SLA timeline of {issue.number} to {target}")
    return EXIT_OK


def _serve(run: _Run) -> int:
    try:
        from issuecore.web import serve
    except ImportError:
        raise UsageError("the console needs the web extra: pip install 'issuecore[web]'") from None
    return serve(run.desk, run.config, host=run.args.host, port=run.args.port)
