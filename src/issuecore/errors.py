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
    "AccessTokenError",
    "AgreementError",
    "BlobNotFoundError",
    "CalendarNeverOpensError",
    "ConcurrencyConflictError",
    "ConfigError",
    "DuplicateMessageError",
    "EmptyIntervalError",
    "HolidaysUnavailableError",
    "InvalidArgumentError",
    "InvalidHolidayError",
    "InvalidTimeError",
    "InvalidTransitionError",
    "IssueCoreError",
    "IssueNotFoundError",
    "MailSettingsError",
    "MailTransportError",
    "MissingExtraError",
    "NaiveDatetimeError",
    "NegativeDurationError",
    "SchemaVersionError",
    "StoreUnavailableError",
    "UnknownCountryError",
    "UnknownPriorityError",
    "UnknownTimezoneError",
    "UnknownWeekdayError",
    "UnreachableDeadlineError",
    "UnstorableValueError",
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


class InvalidArgumentError(IssueCoreError, ValueError, TypeError):
    """A public call was given an argument it cannot use; the message says what would do.

    Carries ``argument`` (the parameter's name) and ``problem``. It is a
    :class:`ValueError` and, for arguments of the wrong type, a
    :class:`TypeError` too, so callers catching either keep working.
    """

    def __init__(self, message: str, *, argument: str, problem: str) -> None:
        super().__init__(message)
        self.argument = argument
        self.problem = problem

    @classmethod
    def for_argument(cls, argument: str, value: object, problem: str, expected: str) -> Self:
        """Build the error for ``argument`` holding ``value``, wrong because of ``problem``."""
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return cls(
            f"{argument}={shown} is not usable: {problem}; expected {expected}",
            argument=argument,
            problem=problem,
        )


class IssueNotFoundError(IssueCoreError, LookupError):
    """No issue has the number asked for."""

    @classmethod
    def for_number(cls, number: str) -> Self:
        """Build the error for the missing issue ``number``."""
        return cls(f"no issue numbered {number!r}")


class BlobNotFoundError(IssueCoreError, LookupError):
    """No content is kept under the digest asked for."""

    @classmethod
    def for_digest(cls, digest: str) -> Self:
        """Build the error for the missing content ``digest``."""
        return cls(f"no content is kept under the digest {digest!r}")


class ConcurrencyConflictError(IssueCoreError, RuntimeError):
    """A write was refused because someone else changed the issue first; retry on fresh state.

    Carries ``number``, the issue concerned (``None`` when the database aborted
    the transaction to resolve a deadlock and cannot say which issue).
    """

    def __init__(self, message: str, *, number: str | None) -> None:
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
    def aborted_by_database(cls, detail: str) -> Self:
        """Build the error for a transaction the database aborted (deadlock, serialization)."""
        return cls(
            f"the database aborted the transaction because of concurrent work ({detail}); "
            "run it again",
            number=None,
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


class UnstorableValueError(IssueCoreError, ValueError, TypeError):
    """A store was given a value no store can keep: text with a lone surrogate or NUL, or none.

    Carries ``field``, the name of the value refused. The desk cleans what it
    takes from mail, so this means a caller passed such a value directly.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def for_text(cls, field: str, value: str, position: int) -> Self:
        """Build the error for ``value`` of ``field`` with a bad character at ``position``."""
        bad = ascii(value[position])
        start = max(0, position - 20)
        return cls(
            f"{field} cannot be stored: character {position} is {bad} "
            f"(near {value[start : position + 20]!a}); stores keep valid Unicode without "
            "lone surrogates, and NUL only inside documents; clean the text first",
            field=field,
        )

    @classmethod
    def missing(cls, field: str) -> Self:
        """Build the error for ``field`` given as ``None`` where a value is required."""
        return cls(f"{field} cannot be stored: it is None, and a value is required", field=field)

    @classmethod
    def wrong_type(cls, field: str, detail: str) -> Self:
        """Build the error for a document ``field`` holding a value of the wrong type."""
        return cls(f"{field} cannot be stored: {detail}", field=field)

    @classmethod
    def not_text(cls, field: str, value: object) -> Self:
        """Build the error for ``field`` given as something other than text."""
        return cls(
            f"{field} cannot be stored: expected text, got {type(value).__name__}", field=field
        )


class StoreUnavailableError(IssueCoreError, OSError):
    """Intake could not record a message at all, not even as quarantined; nothing was lost.

    :meth:`~issuecore.HelpDesk.receive` raises it only when both the normal
    path and the last-resort quarantine failed (the store is down or refuses
    every write). The message was not acknowledged, so its source offers it
    again. Carries ``message_id`` and ``cause`` (the first failure).
    """

    def __init__(self, message: str, *, message_id: str, cause: BaseException) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.cause = cause

    @classmethod
    def could_not_record(
        cls, message_id: str, *, cause: BaseException, quarantine_error: BaseException
    ) -> Self:
        """Build the error for ``message_id`` that neither intake nor quarantine could record."""
        return cls(
            f"message {message_id} could not be recorded: intake failed with "
            f"{_described(cause)}, and recording it as quarantined failed with "
            f"{_described(quarantine_error)}; it was not acknowledged and will be read again",
            message_id=message_id,
            cause=cause,
        )


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


class SchemaVersionError(IssueCoreError, RuntimeError):
    """A database holds a schema newer than this version of issuecore knows."""

    @classmethod
    def too_new(cls, *, found: int, known: int) -> Self:
        """Build the error for a database at schema ``found`` when ``known`` is the newest."""
        return cls(
            f"the database has schema version {found}, but this issuecore knows versions up to "
            f"{known}; upgrade issuecore before opening it"
        )


class MailSettingsError(IssueCoreError, ValueError):
    """A mail setting has a value that cannot work; the message says what would."""

    @classmethod
    def invalid(cls, name: str, value: object, expected: str) -> Self:
        """Build the error for the setting ``name`` holding ``value`` instead of ``expected``."""
        return cls(f"mail setting {name}={value!r} is not usable: expected {expected}")


class ConfigError(IssueCoreError, ValueError):
    """A configuration file has a key whose value cannot work; the message names the key.

    Carries ``source`` (the file), ``key`` (a path like ``agreements[0].targets.High``)
    and ``problem``.
    """

    def __init__(self, message: str, *, source: str, key: str, problem: str) -> None:
        super().__init__(message)
        self.source = source
        self.key = key
        self.problem = problem

    @classmethod
    def for_key(cls, source: str, key: str, problem: str) -> Self:
        """Build the error for ``key`` of the file ``source``, wrong because of ``problem``."""
        where = f"{source}: {key}" if key else source
        return cls(f"{where}: {problem}", source=source, key=key, problem=problem)


class MailTransportError(IssueCoreError, OSError):
    """A mail server could not be reached, or refused a command or a message.

    Carries ``protocol`` (``"SMTP"`` or ``"IMAP"``), ``host``, ``port`` and
    ``operation`` (what was being done: connect, STARTTLS, login, send, ...).
    """

    def __init__(
        self, message: str, *, protocol: str, host: str, port: int, operation: str
    ) -> None:
        super().__init__(message)
        self.protocol = protocol
        self.host = host
        self.port = port
        self.operation = operation

    @classmethod
    def failed(
        cls, *, protocol: str, host: str, port: int, operation: str, cause: BaseException | str
    ) -> Self:
        """Build the error for ``operation`` on ``host``:``port`` that failed with ``cause``."""
        if isinstance(cause, BaseException):
            detail = str(cause) or type(cause).__name__
            detail = f"{type(cause).__name__}: {detail}"
        else:
            detail = cause
        return cls(
            f"{protocol} server {host}:{port}: {operation} failed: {detail}",
            protocol=protocol,
            host=host,
            port=port,
            operation=operation,
        )


class AccessTokenError(IssueCoreError, PermissionError):
    """An OAuth2 access token for a mailbox could not be had; the message says why.

    Carries ``provider`` (``"Microsoft 365"``, ``"Google"``, or what the
    adopter's token provider calls itself). No secret, token or client
    credential ever appears in the message.
    """

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message)
        self.provider = provider

    @classmethod
    def refused(cls, provider: str, detail: str) -> Self:
        """Build the error for ``provider`` refusing a token, with its ``detail`` (no secrets)."""
        return cls(f"{provider} gave no access token: {detail}", provider=provider)


class MissingExtraError(IssueCoreError, ImportError):
    """An optional dependency is needed but not installed; the message names the extra.

    Carries ``extra`` (the name to install, as in ``issuecore[m365]``) and
    ``package`` (the import that failed).
    """

    def __init__(self, message: str, *, extra: str, package: str) -> None:
        super().__init__(message, name=package)
        self.extra = extra
        self.package = package

    @classmethod
    def for_extra(cls, extra: str, package: str, purpose: str) -> Self:
        """Build the error for ``purpose`` needing ``package`` from the extra ``extra``."""
        return cls(
            f"{purpose} needs the optional package {package!r}; install it with "
            f"pip install 'issuecore[{extra}]'",
            extra=extra,
            package=package,
        )


class InvalidTimeError(IssueCoreError, ValueError):
    """A wall time in a business calendar is not ``HH:MM``, ``HH:MM:SS`` or a ``time``."""

    @classmethod
    def for_value(cls, value: object, *, reason: str) -> Self:
        """Build the error for the time ``value`` that is wrong because of ``reason``."""
        return cls(
            f"invalid time {value!r}: {reason}; write 'HH:MM' or 'HH:MM:SS' "
            "(00:00 to 23:59:59, and '24:00' only as the end of an interval) "
            "or pass a datetime.time"
        )


class EmptyIntervalError(IssueCoreError, ValueError):
    """A working interval starts and ends at the same wall time."""

    @classmethod
    def for_interval(cls, day: str, start: str, end: str) -> Self:
        """Build the error for the interval ``start``-``end`` given for ``day``."""
        return cls(
            f"interval {start}-{end} on {day} starts where it ends; give start < end "
            f"for a day shift, start > end for an overnight shift, or ('00:00', '24:00') "
            "for the whole day"
        )


class UnknownWeekdayError(IssueCoreError, LookupError):
    """A key of a calendar's weekly hours names no weekday."""

    @classmethod
    def for_key(cls, key: object) -> Self:
        """Build the error for the weekday key ``key``."""
        return cls(
            f"unknown weekday {key!r}; use 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun' "
            "(any case) or 0 to 6 with Monday 0"
        )


class UnknownTimezoneError(IssueCoreError, LookupError):
    """A time zone name is not in the IANA database available to Python."""

    @classmethod
    def for_name(cls, name: object) -> Self:
        """Build the error for the zone ``name``."""
        return cls(
            f"unknown time zone {name!r}; give an IANA name such as 'Europe/Berlin', "
            "'America/New_York' or 'UTC' (install the tzdata package if the system has none)"
        )


class CalendarNeverOpensError(IssueCoreError, ValueError):
    """A business calendar has no working time at all, so no deadline can be computed."""

    @classmethod
    def no_working_time(cls, timezone: str) -> Self:
        """Build the error for a calendar in ``timezone`` that has no interval anywhere."""
        return cls(
            f"the calendar in {timezone} never opens: no weekday has working hours and no "
            "override adds any; give hours such as {'mon': [('09:00', '17:00')]} or use "
            "BusinessCalendar.always_open()"
        )


class UnreachableDeadlineError(IssueCoreError, ValueError):
    """A business calendar's remaining open time cannot cover the duration asked for."""

    @classmethod
    def beyond_last_opening(cls, *, timezone: str, direction: str, duration: object) -> Self:
        """Build the error for ``duration`` that the calendar cannot cover ``direction``."""
        return cls(
            f"the calendar in {timezone} has too little open time {direction} to cover "
            f"{duration}: it has no weekly hours and its overrides run out; add weekly "
            "hours or more overrides"
        )

    @classmethod
    def outside_supported_years(cls, *, timezone: str, duration: object) -> Self:
        """Build the error for ``duration`` that would end outside years 1 to 9999."""
        return cls(
            f"covering {duration} in the calendar in {timezone} would end outside the "
            "years 1 to 9999 that datetime can hold; ask for a shorter duration"
        )


class InvalidHolidayError(IssueCoreError, TypeError):
    """A holiday was given as something other than a plain date."""

    @classmethod
    def for_value(cls, value: object) -> Self:
        """Build the error for the holiday ``value``."""
        return cls(
            f"holidays must be datetime.date values, got {value!r}; a datetime would be "
            "truncated to a date in its own zone, which may be the wrong day in the "
            "calendar's zone: convert with value.astimezone(zone).date() first"
        )


class NegativeDurationError(IssueCoreError, ValueError):
    """A duration that must not be negative is negative."""

    @classmethod
    def for_argument(cls, name: str, value: object, *, instead: str) -> Self:
        """Build the error for the negative ``value`` given as ``name``."""
        return cls(f"{name} must not be negative, got {value}; {instead}")


class UnknownPriorityError(InvalidArgumentError, LookupError):
    """A priority no agreement of the desk (or not the agreement asked) has a target for."""

    @classmethod
    def for_agreement(cls, priority: str, agreement: str, known: Iterable[str]) -> Self:
        """Build the error for ``priority`` missing from ``agreement``."""
        return cls(
            f"priority {priority!r} has no target in agreement {agreement!r}; "
            f"known: {', '.join(known)}",
            argument="priority",
            problem="unknown priority",
        )

    @classmethod
    def for_desk(cls, priority: str, known: Iterable[str], agreements: Iterable[str] = ()) -> Self:
        """Build the error for ``priority`` that no agreement of the desk (``agreements``) names."""
        names = list(agreements)
        if len(names) == 1:
            return cls.for_agreement(priority, names[0], known)
        listed = ", ".join(known) or "none (the desk has no agreements)"
        return cls(
            f"priority {priority!r} is named by no agreement of this desk; known: {listed}",
            argument="priority",
            problem="unknown priority",
        )


class AgreementError(IssueCoreError, ValueError):
    """A service-level agreement, or the set of agreements, is configured wrongly."""

    @classmethod
    def several_defaults(cls, names: Iterable[str]) -> Self:
        """Build the error for more than one default agreement."""
        return cls(
            f"at most one agreement may be the default; these are: {', '.join(names)}; "
            "set default=False on all but one"
        )

    @classmethod
    def unknown_statuses(
        cls,
        agreement: str,
        field: str,
        unknown: Iterable[str],
        *,
        workflow: str,
        known: Iterable[str],
    ) -> Self:
        """Build the error for ``field`` of ``agreement`` naming statuses ``workflow`` lacks."""
        return cls(
            f"agreement {agreement!r}: {field} names {', '.join(map(repr, unknown))}, which the "
            f"desk's workflow {workflow!r} does not have; its statuses are {', '.join(known)}; "
            "name those, or leave pause_on and fulfilled_on out to take the workflow's SLA roles"
        )

    @classmethod
    def bad_field(cls, agreement: str, field: str, problem: str) -> Self:
        """Build the error for a wrong value of ``field`` in ``agreement``."""
        return cls(f"agreement {agreement!r}: {field} {problem}")


class HolidaysUnavailableError(IssueCoreError, ImportError):
    """The optional ``holidays`` package is needed but not installed."""

    @classmethod
    def missing_extra(cls) -> Self:
        """Build the error for a missing ``holidays`` package."""
        return cls(
            "public holidays need the optional 'holidays' package; install it with "
            "pip install 'issuecore[holidays]', or pass holidays=[date(...), ...] yourself"
        )


class UnknownCountryError(IssueCoreError, LookupError):
    """The ``holidays`` package knows no such country or subdivision."""

    @classmethod
    def for_country(cls, country: str, subdivision: str | None, detail: str) -> Self:
        """Build the error for ``country`` (and ``subdivision``) with the package's ``detail``."""
        where = country if subdivision is None else f"{country}/{subdivision}"
        return cls(
            f"no public holidays known for {where!r} ({detail}); give an ISO 3166-1 alpha-2 "
            "country code such as 'DE' and, if needed, a subdivision code such as 'BY'"
        )
