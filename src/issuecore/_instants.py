"""Checks and conversions for instants shared by every layer."""

from __future__ import annotations

from datetime import datetime

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
