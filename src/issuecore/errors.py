"""Every exception issuecore raises.

Each class subclasses :class:`IssueCoreError` and the standard-library type
whose meaning fits, so ``except ValueError`` and ``except LookupError`` keep
working for callers that do not know issuecore. Messages are built by
classmethod constructors so the same mistake always reads the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Self

__all__ = [
    "ConcurrencyConflictError",
    "DuplicateMessageError",
    "InvalidTransitionError",
    "IssueCoreError",
    "IssueNotFoundError",
    "NaiveDatetimeError",
    "SchemaVersionError",
    "WorkflowError",
]


class IssueCoreError(Exception):
    """The base of every error issuecore raises on purpose."""


class NaiveDatetimeError(IssueCoreError, ValueError):
    """A datetime without a time zone was given where an instant is needed."""

    @classmethod
    def for_argument(cls, name: str, value: datetime) -> Self:
        """Build the error for the argument ``name`` holding ``value``."""
        return cls(
            f"{name} must be timezone-aware, got naive datetime {value.isoformat()}; "
            f"attach a zone, for example {name}.replace(tzinfo=timezone.utc) "
            "or pendulum.datetime(..., tz='Europe/Berlin')"
        )


class WorkflowError(IssueCoreError, ValueError):
    """A workflow declaration is malformed; the message says what is wrong."""

    @classmethod
    def from_problems(cls, problems: Iterable[str]) -> Self:
        """Build one error listing every problem found in a declaration."""
        listed = list(problems)
        if len(listed) == 1:
            return cls(f"malformed workflow: {listed[0]}")
        lines = "\n".join(f"  - {problem}" for problem in listed)
        return cls(f"malformed workflow ({len(listed)} problems):\n{lines}")


class InvalidTransitionError(IssueCoreError, ValueError):
    """An action is not allowed from the issue's current status.

    Carries ``number``, ``status``, ``action`` and ``allowed`` (the actions
    that the workflow does allow from ``status``, sorted).
    """

    def __init__(
        self, message: str, *, number: str, status: str, action: str, allowed: tuple[str, ...]
    ) -> None:
        super().__init__(message)
        self.number = number
        self.status = status
        self.action = action
        self.allowed = allowed

    @classmethod
    def refused(cls, *, number: str, status: str, action: str, allowed: Iterable[str]) -> Self:
        """Build the error for ``action`` refused on issue ``number`` in ``status``."""
        allowed_sorted = tuple(sorted(allowed))
        listed = ", ".join(allowed_sorted) if allowed_sorted else "nothing"
        return cls(
            f"cannot {action} {number}: it is {status}; allowed from {status}: {listed}",
            number=number,
            status=status,
            action=action,
            allowed=allowed_sorted,
        )


class IssueNotFoundError(IssueCoreError, LookupError):
    """No issue has the number asked for."""

    @classmethod
    def for_number(cls, number: str) -> Self:
        """Build the error for the missing issue ``number``."""
        return cls(f"no issue numbered {number!r}")


class ConcurrencyConflictError(IssueCoreError, RuntimeError):
    """A write was refused because someone else changed the issue first; retry on fresh state.

    Carries ``number``, the issue concerned.
    """

    def __init__(self, message: str, *, number: str) -> None:
        super().__init__(message)
        self.number = number

    @classmethod
    def stale_version(cls, number: str, *, expected: int, stored: int) -> Self:
        """Build the error for a write of ``number`` based on a version no longer stored."""
        return cls(
            f"issue {number!r} changed since it was read: the write was based on version "
            f"{expected}, the store holds version {stored}; load it again and retry",
            number=number,
        )

    @classmethod
    def already_exists(cls, number: str) -> Self:
        """Build the error for inserting ``number`` when an issue with that number exists."""
        return cls(
            f"issue {number!r} already exists; allocate a new number or update the stored issue",
            number=number,
        )


class DuplicateMessageError(IssueCoreError, ValueError):
    """A Message-ID was recorded a second time; the message was already handled.

    Carries ``message_id``.
    """

    def __init__(self, message: str, *, message_id: str) -> None:
        super().__init__(message)
        self.message_id = message_id

    @classmethod
    def for_message_id(cls, message_id: str) -> Self:
        """Build the error for the already recorded ``message_id``."""
        return cls(
            f"message {message_id!r} is already recorded; look it up instead of recording it again",
            message_id=message_id,
        )


class SchemaVersionError(IssueCoreError, RuntimeError):
    """A database holds a schema newer than this version of issuecore knows."""

    @classmethod
    def too_new(cls, *, found: int, known: int) -> Self:
        """Build the error for a database at schema ``found`` when ``known`` is the newest."""
        return cls(
            f"the database has schema version {found}, but this issuecore knows versions up to "
            f"{known}; upgrade issuecore before opening it"
        )
