"""Exit codes, the command line's own errors, and every other error turned into one line."""

from __future__ import annotations

import sqlite3
from typing import Final

from issuecore.config import redact
from issuecore.errors import (
    ConfigError,
    IssueCoreError,
    MailTransportError,
    StoreUnavailableError,
)

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_QUARANTINED: Final = 3
EXIT_NOT_RECORDED: Final = 4
EXIT_NOT_DELIVERED: Final = 5
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141  # 128 + SIGPIPE, what a shell shows for a reader gone away


class UsageError(Exception):
    """A command line or environment that cannot work; exit code 2."""


class RefusedError(Exception):
    """An operation the desk refused for a reason the CLI found itself; exit code 1."""


def describe(
    error: BaseException, *, database: str, secrets: tuple[str, ...] = ()
) -> tuple[str, int]:
    """Return the one line naming ``error``'s cause and fix, and the exit code it ends with."""
    message, code = _describe(error, database=redact(database, secrets))
    flat = " ".join(message.split()) or type(error).__name__
    return redact(flat, secrets), code


def _describe(error: BaseException, *, database: str) -> tuple[str, int]:
    if isinstance(error, ConfigError | UsageError):
        return str(error), EXIT_USAGE
    if isinstance(error, sqlite3.Error):
        return _sqlite(error, database)
    store_error = _server_error(error)
    if store_error is not None:
        return f"the database {database} failed: {store_error}", EXIT_REFUSED
    if isinstance(error, StoreUnavailableError):
        return str(error), EXIT_NOT_RECORDED
    if isinstance(error, MailTransportError):
        return f"{error}; check the [smtp]/[imap] section and the server", EXIT_REFUSED
    if isinstance(error, RefusedError | IssueCoreError | LookupError | ValueError):
        text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        return text, EXIT_REFUSED
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}", EXIT_REFUSED
    if isinstance(error, RecursionError):
        return "the input nests too deeply to be handled", EXIT_REFUSED
    if isinstance(error, MemoryError):
        return "out of memory; the input is too large for this machine", EXIT_REFUSED
    return (
        f"unexpected {type(error).__name__}: {error}; this is a bug, please report it "
        "(ISSUECORE_DEBUG=1 shows where it happened)",
        EXIT_REFUSED,
    )


def _sqlite(error: sqlite3.Error, database: str) -> tuple[str, int]:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            f"the database {database} is locked by another process for longer than the busy "
            'timeout; try again, or raise busy_timeout (e.g. busy_timeout = "60s") in '
            "issuecore.toml",
            EXIT_REFUSED,
        )
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return (
            f"the database {database} cannot be written ({text}); give the user running "
            "issuecore write access to the file and its folder",
            EXIT_USAGE,
        )
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return (
            f"the database {database} is damaged ({text}); restore it from a backup "
            "(sqlite3's .recover command can save what is left)",
            EXIT_USAGE,
        )
    if "unable to open" in lowered or "disk i/o" in lowered or "full" in lowered:
        return f"the database {database} cannot be used ({text}); check the disk and the path", (
            EXIT_USAGE
        )
    return f"the database {database} failed: {text}", EXIT_REFUSED


def _server_error(error: BaseException) -> str | None:
    """Return the first line of a SQLAlchemy or driver error, or ``None`` for any other."""
    module = type(error).__module__
    if not module.startswith(("sqlalchemy", "psycopg", "pymysql")):
        return None
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
