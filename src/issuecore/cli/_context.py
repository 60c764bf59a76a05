"""One invocation: its arguments, configuration, clock, output, and the desk built on first use."""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any, Final

from issuecore import HelpDesk
from issuecore.adapters.clock import FixedClock, SystemClock
from issuecore.cli._errors import UsageError
from issuecore.cli._views import Stamps, json_text
from issuecore.config import (
    DEFAULT_SOURCE,
    Config,
    build_desk,
    build_mailer,
    load_config,
    open_store,
)
from issuecore.errors import IssueNotFoundError
from issuecore.ports import Clock, Mailer

NOW_VARIABLE: Final = "ISSUECORE_NOW"
_SEQUENCE: Final = re.compile(r"\d{1,9}")


class WatchedMailer:
    """The configured mailer, counting what it took and what it refused in this run.

    The desk never raises for a mailer that fails (the mail waits in the
    outbox for a retry), so the command line asks this wrapper whether what it
    is about to report as sent was sent.
    """

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.sent = 0
        self.failures: list[str] = []

    def send(self, message: EmailMessage) -> None:
        try:
            self.mailer.send(message)
        except Exception as error:
            self.failures.append(f"{type(error).__name__}: {error}")
            raise
        self.sent += 1


def fixed_clock() -> Clock:
    """Return the clock ``ISSUECORE_NOW`` fixes, or the system clock when it is unset."""
    raw = os.environ.get(NOW_VARIABLE, "").strip()
    if not raw:
        return SystemClock()
    example = "write e.g. 2027-03-01T09:00:00+01:00"
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"{NOW_VARIABLE}={raw!r} is not an ISO 8601 instant; {example}") from None
    if at.tzinfo is None:
        raise UsageError(f"{NOW_VARIABLE}={raw!r} has no UTC offset; {example}")
    return FixedClock(at)


class Run:
    """One invocation of the command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: IO[str] = sys.stdout
        self._config: Config | None = None
        self._desk: HelpDesk | None = None
        self._clock: Clock | None = None
        self._stamps: Stamps | None = None
        self.mailer: WatchedMailer | None = None

    @property
    def config_path(self) -> Path:
        given = getattr(self.args, "config", None)
        return Path(given) if given is not None else Path(DEFAULT_SOURCE)

    @property
    def config(self) -> Config:
        if self._config is None:
            given = getattr(self.args, "config", None) is not None
            self._config = load_config(self.config_path, required=given)
        return self._config

    def forget_config(self) -> None:
        self._config = None
        self._stamps = None

    def database(self) -> str:
        """Return the database this run uses (``--db``, else the file's), for messages too."""
        given = getattr(self.args, "db", None)
        if given is not None:
            return str(given)
        try:
            config = self.config
        except Exception:
            return DEFAULT_SOURCE.replace(".toml", ".db")
        return config.database if config.server_database else str(config.database_path())

    def secrets(self) -> tuple[str, ...]:
        """Return the secrets this run could know, to hide them from every message."""
        config = self._config
        if config is None:
            return ()
        return config.secrets()

    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = fixed_clock()
        return self._clock

    def now(self) -> datetime:
        return self.clock().now()

    @property
    def stamp(self) -> Stamps:
        if self._stamps is None:
            self._stamps = Stamps(self.config)
        return self._stamps

    @property
    def desk(self) -> HelpDesk:
        if self._desk is None:
            config = self.config
            given = getattr(self.args, "db", None) is not None
            database = self.database()
            clock = self.clock()
            mailer = WatchedMailer(build_mailer(config))
            store = open_store(config, database=database, origin="--db" if given else None)
            try:
                self._desk = build_desk(
                    config, clock=clock, store=store, mailer=mailer, database=database
                )
            except BaseException:
                store_close = getattr(store, "close", None)
                if callable(store_close):
                    store_close()
                raise
            self.mailer = mailer
        return self._desk

    def issue_number(self, given: str) -> str:
        """Return the issue ``given`` names: a whole number, or ``7`` for this year's 7th issue.

        A bare sequence number means the issue of that number opened in the
        clock's year, else in the year before (numbers restart each year).
        """
        text = given.strip()
        if _SEQUENCE.fullmatch(text) is None:
            return given
        sequence = int(text)
        if sequence < 1:
            raise UsageError(f"issue {given!r}: numbers start at 1")
        desk = self.desk
        year = self.now().year
        tried = []
        for candidate in (year, year - 1):
            number = desk.settings.numbering(candidate, sequence)
            tried.append(number)
            try:
                desk.get(number)
            except IssueNotFoundError:
                continue
            return number
        raise IssueNotFoundError(
            f"no issue {text} this year or last ({' or '.join(tried)}); give the number "
            "as `issuecore list` shows it"
        )

    def actor(self, given: str | None, flag: str) -> str:
        if given:
            return given
        if self.config.agents:
            return self.config.agents[0]
        raise UsageError(f"{flag} is required (or list agents in {self.config.source})")

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def print_json(self, value: Any) -> None:
        self.out.write(json_text(value) + "\n")

    def close(self) -> None:
        if self._desk is not None:
            closer = getattr(self._desk.store, "close", None)
            if callable(closer):
                closer()
