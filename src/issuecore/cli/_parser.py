"""The parser of the ``issuecore`` command line: every command, every argument with its help."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable
from importlib import metadata
from typing import NoReturn

from issuecore import REPORT_DIMENSIONS
from issuecore._queries import MAX_PAGE, IssueSort
from issuecore.cli import _commands, _intake, _operations, _triage
from issuecore.cli._context import NOW_VARIABLE, Run
from issuecore.cli._errors import EXIT_USAGE
from issuecore.config import DEFAULT_SOURCE

_CHOICE = re.compile(
    r"argument (?P<name>[^:]+): invalid choice: '(?P<given>[^']*)' \(choose from (?P<known>.*)\)"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        found = _CHOICE.match(message)
        if found is not None:
            known = [name.strip().strip("'") for name in found["known"].split(",")]
            close = difflib.get_close_matches(found["given"], known, n=1, cutoff=0.5)
            listed = ", ".join(known)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"{found['given']!r} is not a command; known: {listed}{hint}"
        command = self.prog.removeprefix("issuecore").strip()
        where = f"{command}: " if command and found is None else ""
        self.exit(EXIT_USAGE, f"issuecore: error: {where}{' '.join(message.split())}\n")


def _version() -> str:
    try:
        return metadata.version("issuecore")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type accepting whole numbers from ``low`` to ``high`` only."""

    def parse(text: str) -> int:
        cleaned = text.strip()
        if re.fullmatch(r"[+-]?\d{1,12}", cleaned) is None or not low <= int(cleaned) <= high:
            shown = text if len(text) <= 30 else text[:29] + "…"
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {shown!r}"
            )
        return int(cleaned)

    parse.__name__ = "whole number"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``issuecore`` command line."""
    parser = _Parser(
        prog="issuecore",
        description="A support desk on a SQLite file (or a database server) and a Maildir outbox.",
        epilog=(
            "exit codes: 0 ok, 1 operation refused, 2 usage or configuration error, "
            "3 quarantined messages with --strict, 4 messages not recorded, "
            "5 recorded but mail not sent yet. "
            f"{NOW_VARIABLE}=<ISO instant> fixes the clock (for tests and demos)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"issuecore {_version()}")
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help=f"configuration file (default: ./{DEFAULT_SOURCE}, defaults apply if it is "
        "missing; a file named here must exist)",
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="database: a SQLite file or a server URL (overrides the file's database)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(
        name: str, help_text: str, run: Callable[[Run], int], within: object = commands
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = within.add_parser(  # type: ignore[attr-defined]
            name, help=help_text, description=help_text
        )
        sub.set_defaults(run=run)
        return sub

    def number(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "number",
            metavar="NUMBER",
            help="the issue number, e.g. ISS-2027-00001, or 1 for this year's first issue",
        )

    def by(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--by", default=None, metavar="USER", help="who does it (default: the first agent)"
        )

    def json_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")

    init = command(
        "init", "write a commented issuecore.toml and create the database", _commands.init
    )
    init.add_argument(
        "--support-address",
        default="support@localhost",
        metavar="ADDR",
        help="the address customers write to (default: support@localhost)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    ingest = command(
        "ingest", "read .eml files, folders of them, mbox files or Maildirs", _intake.ingest
    )
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help="a message file, a folder, an mbox or a Maildir"
    )
    _intake_options(ingest)

    fetch = command("fetch", "read the IMAP mailbox of the [imap] section", _intake.fetch)
    fetch.add_argument("--mailbox", default=None, help="read this IMAP folder instead")
    _intake_options(fetch)

    listing = command(
        "list",
        "triage: open issues by their next deadline (filters narrow, --all widens)",
        _triage.list_issues,
    )
    listing.add_argument(
        "--status",
        action="append",
        default=None,
        metavar="STATUS",
        help="only this status (repeat for several); default: every open status",
    )
    listing.add_argument("--all", action="store_true", help="every status, closed ones too")
    listing.add_argument("--at-risk", action="store_true", help="only issues with a target at risk")
    listing.add_argument(
        "--breached", action="store_true", help="only issues with a breached target"
    )
    listing.add_argument(
        "--search", default=None, metavar="TEXT", help="words the subject or thread contains"
    )
    listing.add_argument("--assignee", default=None, metavar="USER", help="only issues of USER")
    listing.add_argument(
        "--raised-by", default=None, metavar="ADDR", help="only issues raised by ADDR"
    )
    listing.add_argument(
        "--priority", action="append", default=None, metavar="NAME", help="only this priority"
    )
    listing.add_argument(
        "--sort",
        default=IssueSort.DEADLINE.value,
        choices=[sort.value for sort in IssueSort],
        help="order: next deadline (default), created or updated",
    )
    listing.add_argument("--descending", action="store_true", help="latest first")
    listing.add_argument(
        "--limit",
        type=whole_number(1, MAX_PAGE),
        default=50,
        metavar="N",
        help=f"issues per page, 1 to {MAX_PAGE} (default 50)",
    )
    listing.add_argument(
        "--after",
        default=None,
        metavar="CURSOR",
        help="the next page: the cursor a page ended with",
    )
    json_flag(listing)

    show = command(
        "show", "show an issue: thread, history, SLA state and metrics", _triage.show_issue
    )
    number(show)
    json_flag(show)

    for name, help_text, run in (
        ("reply", "send a reply to the customer", _commands.reply),
        ("note", "add an internal note", _commands.note),
    ):
        sub = command(name, help_text, run)
        number(sub)
        body = sub.add_mutually_exclusive_group()
        body.add_argument("--body", default=None, metavar="TEXT", help="the text")
        body.add_argument(
            "--body-file", default=None, metavar="PATH", help="read the text from PATH (- is stdin)"
        )
        sub.add_argument(
            "--author", default=None, metavar="ADDR", help="who writes (default: the first agent)"
        )

    for name, help_text in (
        ("hold", "put an issue on hold (the SLA clock pauses)"),
        ("resolve", "mark an issue resolved"),
        ("close", "close an issue"),
        ("reopen", "reopen a resolved or closed issue"),
    ):
        sub = command(name, help_text, _commands.status_action)
        number(sub)
        by(sub)
        sub.add_argument("--reason", default=None, help="why, kept in the history")

    for name, help_text, run in (
        ("assign", "assign a user to an issue", _commands.assign),
        ("unassign", "take a user off an issue", _commands.unassign),
    ):
        sub = command(name, help_text, run)
        number(sub)
        sub.add_argument("user", metavar="USER", help="the user to assign or take off")
        by(sub)

    priority = command("priority", "change the priority; deadlines follow", _commands.priority)
    number(priority)
    priority.add_argument("priority", metavar="PRIORITY", help="a priority of the agreement")
    by(priority)

    reset = command("reset-sla", "restart the SLA clock with nothing consumed", _commands.reset_sla)
    number(reset)
    reset.add_argument("--reason", required=True, help="why, kept in the history")
    by(reset)

    tick = command(
        "tick", "run the sweep: auto-close, SLA at-risk and breach events, outbox", _triage.tick
    )
    json_flag(tick)

    outbox = command(
        "outbox", "the effects waiting for delivery and the dead letters", _operations.outbox_list
    )
    _outbox_options(outbox)
    outbox_commands = outbox.add_subparsers(
        dest="outbox_command", metavar="ACTION", parser_class=_Parser
    )
    outbox_list = command(
        "list", "list waiting effects and dead letters", _operations.outbox_list, outbox_commands
    )
    _outbox_options(outbox_list)
    outbox_retry = command(
        "retry", "deliver dead letters again now", _operations.outbox_retry, outbox_commands
    )
    outbox_retry.add_argument(
        "effect_ids", nargs="*", metavar="ID", help="dead-letter ids from `outbox list`"
    )
    outbox_retry.add_argument("--all", action="store_true", help="retry every dead letter")

    retry = command("retry", "the same as `outbox retry ID`", _operations.outbox_retry)
    retry.add_argument(
        "effect_ids", nargs=1, metavar="ID", help="a dead-letter id from `outbox list`"
    )
    retry.set_defaults(all=False)

    files = command(
        "attachments", "list the attachments of an issue, or save them", _operations.attachments
    )
    number(files)
    files.add_argument(
        "--save", default=None, metavar="DIR", help="save every attachment into DIR (safe names)"
    )

    report = command(
        "report", "SLA figures of the issues opened in a month or a year", _operations.report
    )
    report.add_argument(
        "period",
        nargs="?",
        default=None,
        metavar="PERIOD",
        help="a month (2027-03) or a year (2027); default: the current month",
    )
    report.add_argument(
        "--by",
        action="append",
        default=None,
        metavar="DIMENSION",
        help=f"group by {', '.join(REPORT_DIMENSIONS)} (repeat or separate with commas)",
    )
    json_flag(report)
    report.add_argument(
        "--svg", default=None, metavar="FILE", help="also write a bar chart to FILE"
    )

    sla = command(
        "sla", "draw the SLA timeline of an issue (text, or SVG with --svg)", _operations.sla
    )
    number(sla)
    sla.add_argument("--svg", default=None, metavar="FILE", help="write an SVG picture to FILE")

    serve = command(
        "serve", "serve the agent console in the browser (the web extra)", _operations.serve
    )
    serve.add_argument(
        "--host",
        default=None,
        metavar="HOST",
        help="address to listen on (default: web.host, else 127.0.0.1)",
    )
    serve.add_argument(
        "--port",
        type=whole_number(1, 65_535),
        default=None,
        metavar="PORT",
        help="port to listen on (default: web.port, else 8080)",
    )
    _add_quarantine(command, commands)
    return parser


def _add_quarantine(command: Callable[..., argparse.ArgumentParser], commands: object) -> None:
    from issuecore.cli import _quarantine

    quarantine = command(
        "quarantine",
        "messages intake could not file: list, show, export, reingest",
        _quarantine.listing,
    )
    _limit(quarantine)
    actions = quarantine.add_subparsers(
        dest="quarantine_command", metavar="ACTION", parser_class=_Parser
    )
    listing = command(
        "list", "list quarantined messages with the reason", _quarantine.listing, actions
    )
    _limit(listing)
    show = command("show", "show a quarantined message", _quarantine.show, actions)
    show.add_argument(
        "message_id", metavar="MESSAGE_ID", help="its Message-ID, from `quarantine list`"
    )
    export = command(
        "export", "write a quarantined message to an .eml file", _quarantine.export, actions
    )
    export.add_argument(
        "message_id", metavar="MESSAGE_ID", help="its Message-ID, from `quarantine list`"
    )
    export.add_argument(
        "--output", default=None, metavar="FILE", help="the file (default: - is stdout)"
    )
    again = command(
        "reingest",
        "file a quarantined message again (after fixing the cause)",
        _quarantine.reingest,
        actions,
    )
    again.add_argument(
        "message_id", metavar="MESSAGE_ID", help="its Message-ID, from `quarantine list`"
    )


def _limit(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--limit",
        type=whole_number(1, MAX_PAGE),
        default=50,
        metavar="N",
        help="at most N (default 50)",
    )
    sub.add_argument("--json", action="store_true", help="print JSON instead of text")


def _outbox_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--limit",
        type=whole_number(1, MAX_PAGE),
        default=50,
        metavar="N",
        help="at most N of each (default 50)",
    )
    sub.add_argument("--json", action="store_true", help="print JSON instead of text")


def _intake_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict", action="store_true", help="exit 3 when any message was quarantined"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print what became of each message"
    )
    parser.add_argument(
        "--use-message-dates",
        action="store_true",
        help="count each message from its own Date: header instead of its receipt "
        "(importing a backlog; SLA clocks start then)",
    )
    parser.add_argument(
        "--batch-size",
        type=whole_number(1, 100_000),
        default=None,
        metavar="N",
        help="record up to N messages per transaction (default 200; 1: one by one)",
    )


def print_help() -> None:
    """Print the help of the whole command (what a bare ``issuecore`` shows)."""
    build_parser().print_help(sys.stdout)
