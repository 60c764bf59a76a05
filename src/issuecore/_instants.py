"""Checks and conversions for instants shared by every layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum

from issuecore.errors import NaiveDatetimeError


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` unchanged, or raise :class:`NaiveDatetimeError` if it has no zone."""
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        return value  # the form of every instant the domain keeps: aware, no need to ask
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError.for_argument(name, value)
    return value


def before(value: datetime, span: timedelta) -> datetime:
    """Return the instant ``span`` before ``value``, of the same type.

    A UTC :class:`pendulum.DateTime` is moved by the standard library's
    arithmetic, which gives the same instant and type several times faster than
    pendulum's own (in UTC there is no wall time to keep).
    """
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        moved: datetime = datetime.__sub__(value, span)
        return moved
    return value - span


def optional_aware(name: str, value: datetime | None) -> datetime | None:
    """Like :func:`require_aware` but lets ``None`` through."""
    return None if value is None else require_aware(name, value)


def aware_field(_instance: object, attribute: Any, value: datetime) -> None:
    """An attrs validator: the field holds a timezone-aware datetime."""
    require_aware(attribute.name, value)


def optional_aware_field(_instance: object, attribute: Any, value: datetime | None) -> None:
    """An attrs validator: the field holds a timezone-aware datetime or ``None``."""
    optional_aware(attribute.name, value)


def in_utc(value: datetime) -> pendulum.DateTime:
    """Return the aware ``value`` as a :class:`pendulum.DateTime` in UTC, the same instant."""
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        return value
    utc = require_aware("value", value).astimezone(UTC)
    return pendulum.DateTime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=pendulum.UTC,
    )


def utc_converter(value: datetime) -> datetime:
    """An attrs converter: an aware datetime becomes :func:`in_utc` of it; anything else stays.

    What stays is left to the field's validator, which names the field when it refuses.
    """
    if type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC:
        return value  # in UTC already, as in_utc would return it
    if (
        isinstance(value, datetime)
        and value.tzinfo is not None
        and value.tzinfo.utcoffset(value) is not None
    ):
        return in_utc(value)
    return value


def optional_utc_converter(value: datetime | None) -> datetime | None:
    """Like :func:`utc_converter`, letting ``None`` through."""
    return None if value is None else utc_converter(value)
