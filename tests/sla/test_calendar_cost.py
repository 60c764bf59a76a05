"""Memory and work bounds of BusinessCalendar: lazy per-year tables, no per-day walks."""

from __future__ import annotations

import random
import tracemalloc
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from issuecore._sla.calendar import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = {
    "mon": [("09:00", "12:30"), ("13:30", "17:00")],
    "tue": [("09:00", "17:00")],
    "wed": [("09:00", "17:00")],
    "thu": [("09:00", "17:00")],
    "fri": [("09:00", "17:00"), ("22:00", "06:00")],
}


def ten_thousand_holidays_over_fifty_years() -> list[date]:
    generator = random.Random(20260101)
    first, last = date(2000, 1, 1).toordinal(), date(2049, 12, 31).toordinal()
    return [date.fromordinal(o) for o in generator.sample(range(first, last + 1), 10_000)]


def test_fifty_years_with_ten_thousand_holidays_stay_under_ten_megabytes() -> None:
    holidays = ten_thousand_holidays_over_fifty_years()
    tracemalloc.start()
    try:
        calendar = BusinessCalendar(timezone="Europe/Berlin", hours=OFFICE_HOURS, holidays=holidays)
        start = datetime(2000, 1, 1, tzinfo=BERLIN)
        end = datetime(2050, 1, 1, tzinfo=BERLIN)
        total = calendar.between(start, end)
        deadline = calendar.add(start, total)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert calendar.between(start, deadline) == total
    assert deadline <= end
    assert total > timedelta(days=365)  # every one of the fifty years was counted
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


class CountingCalendar(BusinessCalendar):
    """Counts the calls to the steps whose number could grow with a span."""

    calls: dict[str, int]

    def _pattern_open_before(self, wall: int) -> int:
        self.calls["pattern"] = self.calls.get("pattern", 0) + 1
        return super()._pattern_open_before(wall)

    def _wall_open(self, first_day: int, last_day: int) -> list[tuple[int, int]]:
        self.calls["dates"] = self.calls.get("dates", 0) + last_day - first_day + 1
        return super()._wall_open(first_day, last_day)

    def _offset(self, instant: int) -> int:
        self.calls["offsets"] = self.calls.get("offsets", 0) + 1
        return super()._offset(instant)


def test_work_per_add_does_not_grow_with_the_duration() -> None:
    calendar = CountingCalendar(
        timezone="Europe/Berlin",
        hours=OFFICE_HOURS,
        holidays=ten_thousand_holidays_over_fifty_years()[:2000],
    )
    calendar.calls = {}
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    calendar.add(start, timedelta(hours=20_000))  # builds and caches the years involved
    assert calendar.calls["dates"] > 0
    work = {}
    for hours in (8, 2_000, 20_000):
        calendar.calls = {}
        calendar.add(start, timedelta(hours=hours))
        work[hours] = calendar.calls
    assert work[8] == work[2_000] == work[20_000]
    assert work[8].get("pattern", 0) <= 2
    assert "dates" not in work[8]
    assert "offsets" not in work[8]
