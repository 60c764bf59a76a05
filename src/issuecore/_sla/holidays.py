"""Public holidays from the optional ``holidays`` package, as plain local dates.

Install with ``pip install 'issuecore[holidays]'``. The package keys holidays
by :class:`~datetime.date`. Asking it about a *datetime* truncates that
datetime to a date in whatever zone the datetime happens to carry: 23:30 UTC
on 24 December is already Christmas Day in Berlin, yet
``datetime(2026, 12, 24, 23, 30, tzinfo=UTC) in holidays.DE()`` is ``False``.
So this module hands out dates only, and :class:`~issuecore.BusinessCalendar`
reads every holiday as a local date in its own zone and refuses datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from issuecore.errors import HolidaysUnavailableError, UnknownCountryError

__all__ = ["public_holidays"]


def public_holidays(
    country: str, *, years: Iterable[int], subdivision: str | None = None
) -> list[date]:
    """Return the sorted public holidays of ``country`` (and ``subdivision``) in ``years``."""
    package = _holidays_package()
    wanted = sorted(set(years))
    try:
        table = package.country_holidays(country, subdiv=subdivision, years=wanted)
    except NotImplementedError as error:
        raise UnknownCountryError.for_country(country, subdivision, str(error)) from None
    return sorted(day for day in table if day.year in wanted)


def _holidays_package() -> Any:
    """Import ``holidays`` on first use, so the extra stays optional."""
    try:
        import holidays
    except ImportError:
        raise HolidaysUnavailableError.missing_extra() from None
    return holidays
