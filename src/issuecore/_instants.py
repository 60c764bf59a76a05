"""Checks and conversions for instants shared by every layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from issuecore.errors import NaiveDatetimeError


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` unchanged, or raise :class:`NaiveDatetimeError` if it has no zone."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError.for_argument(name, value)
    return value


def optional_aware(name: str, value: datetime | None) -> datetime | None:
    """Like :func:`require_aware` but lets ``None`` through."""
    return None if value is None else require_aware(name, value)


def aware_field(_instance: object, attribute: Any, value: datetime) -> None:
    """An attrs validator: the field holds a timezone-aware datetime."""
    require_aware(attribute.name, value)


def optional_aware_field(_instance: object, attribute: Any, value: datetime | None) -> None:
    """An attrs validator: the field holds a timezone-aware datetime or ``None``."""
    optional_aware(attribute.name, value)
