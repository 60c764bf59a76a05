"""Changing issues: init, replies and notes, status actions, assignment, priority, SLA reset."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from issuecore import Issue
from issuecore._sla.clock import RESOLUTION, RESPONSE
from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_NOT_DELIVERED, EXIT_OK, RefusedError, UsageError
from issuecore.cli._views import printable, target_line
from issuecore.config import config_template, open_store, parse_config
from issuecore.mail._compose import compose_agent_reply


def init(run: Run) -> int:
    """``issuecore init``: write a commented configuration (``0600``) and create the database."""
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
    parse_config(text, source=str(path), base=path.parent)  # the template must read back
    _write_private(path, text)
    run.forget_config()
    config = run.config
    store = open_store(
        config, database=run.database(), origin="--db" if run.args.db is not None else None
    )
    close = getattr(store, "close", None)
    if callable(close):
        close()
    if config.smtp is None:
        outbox = config.outbox_path()
        for folder in ("tmp", "new", "cur"):
            (outbox / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        run.print(f"wrote {path}; database {run.database()}; outbox {outbox}/")
    else:
        run.print(f"wrote {path}; database {run.database()}")
    return EXIT_OK


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only: it holds the signing key."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file overwritten with --force keeps no wider mode
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _body(run: Run) -> str:
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
        except UnicodeDecodeError:
            raise UsageError(f"{args.body_file}: is not UTF-8 text") from None
    else:
        raise UsageError("give the text with --body TEXT or --body-file PATH (- for stdin)")
    if not text.strip():
        raise UsageError("the text is empty")
    return text


def undelivered(run: Run, what: str) -> int | None:
    """Report mail this run could not hand over, as one error line; return the exit code."""
    mailer = run.mailer
    if mailer is None or not mailer.failures:
        return None
    count = len(mailer.failures)
    print(
        f"issuecore: error: {what}, but {count} message{'' if count == 1 else 's'} could not "
        f"be sent ({printable(mailer.failures[0])}); it waits in the outbox and "
        "`issuecore tick` retries it (see `issuecore outbox list`)",
        file=sys.stderr,
    )
    return EXIT_NOT_DELIVERED


def reply(run: Run) -> int:
    """``issuecore reply NUMBER``: answer the customer."""
    body = _body(run)
    author = run.actor(run.args.author, "--author")
    _require_recipient(run, run.args.number)
    issue = run.desk.reply(run.args.number, body=body, author=author)
    failed = undelivered(run, f"the reply on {issue.number} is recorded")
    if failed is not None:
        return failed
    run.print(f"replied on {issue.number} as {printable(author)}; status {issue.status}")
    return EXIT_OK


def _require_recipient(run: Run, number: str) -> None:
    """Refuse a reply that no address of the issue could receive, before recording it."""
    desk = run.desk
    issue = desk.get(number)
    draft = compose_agent_reply(
        issue, body="-", settings=desk.settings.mail_settings(), now=run.now()
    )
    if draft["To"] or draft["Cc"]:
        return
    addresses = ", ".join(printable(a) for a in (issue.raised_by, *issue.participants))
    raise RefusedError(
        f"no address of {issue.number} can receive mail ({addresses}): a local part outside "
        "ASCII needs SMTPUTF8, which issuecore does not send; nothing was recorded; "
        "reach the customer another way and keep a note (`issuecore note`)"
    )


def note(run: Run) -> int:
    """``issuecore note NUMBER``: add an internal note."""
    body = _body(run)
    author = run.actor(run.args.author, "--author")
    issue = run.desk.add_note(run.args.number, body=body, author=author)
    run.print(f"note added to {issue.number} by {printable(author)}")
    return EXIT_OK


def status_action(run: Run) -> int:
    """``issuecore hold|resolve|close|reopen NUMBER``."""
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


def assign(run: Run) -> int:
    """``issuecore assign NUMBER USER``."""
    by = run.actor(run.args.by, "--by")
    issue = run.desk.assign(run.args.number, run.args.user, by=by)
    run.print(f"{issue.number} assignees: {printable(', '.join(issue.assignees)) or '-'}")
    return EXIT_OK


def unassign(run: Run) -> int:
    """``issuecore unassign NUMBER USER``."""
    by = run.actor(run.args.by, "--by")
    issue = run.desk.unassign(run.args.number, run.args.user, by=by)
    run.print(f"{issue.number} assignees: {printable(', '.join(issue.assignees)) or '-'}")
    return EXIT_OK


def priority(run: Run) -> int:
    """``issuecore priority NUMBER PRIORITY``: deadlines follow."""
    by = run.actor(run.args.by, "--by")
    issue = run.desk.set_priority(run.args.number, run.args.priority, by=by)
    run.print(f"{issue.number} priority {printable(issue.priority or '-')}")
    _print_deadlines(run, issue)
    return EXIT_OK


def reset_sla(run: Run) -> int:
    """``issuecore reset-sla NUMBER --reason TEXT``."""
    by = run.actor(run.args.by, "--by")
    issue = run.desk.reset_sla(run.args.number, reason=run.args.reason, by=by)
    run.print(f"{issue.number} SLA restarted by {printable(by)}: {printable(run.args.reason)}")
    _print_deadlines(run, issue)
    return EXIT_OK


def _print_deadlines(run: Run, issue: Issue) -> None:
    if issue.sla is None:
        return
    now = run.now()
    for which in (RESPONSE, RESOLUTION):
        run.print(f"  {target_line(run.config, run.stamp, issue.sla, which, now)}")
