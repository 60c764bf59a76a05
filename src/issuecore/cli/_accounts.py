"""The console's agent accounts, kept by the desk's store: list, add, remove, import a file."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_OK, RefusedError, UsageError
from issuecore.cli._views import printable

if TYPE_CHECKING:
    from issuecore.web._accounts import AccountBook


def _book(run: Run) -> AccountBook:
    try:
        from issuecore.web._accounts import AccountBook
    except ImportError:
        raise UsageError("accounts need the web extra: pip install 'issuecore[web]'") from None
    return AccountBook(run.desk.store, run.clock())


def listing(run: Run) -> int:
    """``issuecore accounts [list]``: the addresses that may sign in to the console."""
    addresses = _book(run).addresses()
    if run.args.json:
        run.print_json(addresses)
        return EXIT_OK
    if not addresses:
        run.print("no agent accounts; add one with `issuecore accounts add ADDRESS`")
    for address in addresses:
        run.print(printable(address))
    return EXIT_OK


def add(run: Run) -> int:
    """``issuecore accounts add ADDRESS``: create an account or change its password."""
    book = _book(run)
    address = run.args.address
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {printable(address)}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    kept = book.set_password(address, password)
    run.print(f"account {printable(kept)} saved in {printable(run.database())}")
    return EXIT_OK


def remove(run: Run) -> int:
    """``issuecore accounts remove ADDRESS``: delete an account."""
    if not _book(run).remove(run.args.address):
        raise RefusedError(f"no account {printable(run.args.address)} in {run.database()}")
    run.print(f"account {printable(run.args.address)} removed")
    return EXIT_OK


def import_file(run: Run) -> int:
    """``issuecore accounts import FILE``: add the accounts of an accounts file of old."""
    report = _book(run).import_file(Path(run.args.file))
    for address in report.added:
        run.print(f"added {printable(address)}")
    for address in report.kept:
        run.print(f"kept {printable(address)} (already stored; its password is unchanged)")
    run.print(f"{len(report.added)} added, {len(report.kept)} already stored")
    return EXIT_OK
