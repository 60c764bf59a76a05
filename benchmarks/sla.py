"""Business-calendar cost, measured side by side in one run.

Run with ``.venv/bin/python benchmarks/sla.py``. Prints the time per ``add`` for
an 8-hour and a 2,000-hour deadline on a calendar with 2,000 holidays, the
speed-up over a day-walking baseline (the approach of ERPNext's SLA code: step
through the dates, adding each day's working hours) and over the PyPI package
``businesstimedelta``, and the cost relative to building one
``pendulum.DateTime``. Every figure is the best (and median) of several
``timeit`` repeats; all three implementations are checked to agree first.
"""

from __future__ import annotations

import random
import statistics
import timeit
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import businesstimedelta
import pendulum
import pytz

from issuecore._sla.calendar import BusinessCalendar

ZONE_NAME = "Europe/Berlin"
ZONE = ZoneInfo(ZONE_NAME)
WORKING_DAYS = (0, 1, 2, 3, 4)
OPENS, CLOSES = time(9), time(17)
START = datetime(2026, 3, 2, 10, 30, tzinfo=ZONE)
YEAR_LATER = datetime(2027, 3, 2, 10, 30, tzinfo=ZONE)
SHORT, LONG = timedelta(hours=8), timedelta(hours=2_000)
REPEATS = 7


def two_thousand_holidays() -> set[date]:
    """Return 2,000 distinct dates from 2020 to 2045, drawn with a fixed seed."""
    generator = random.Random(2_000)
    first, last = date(2020, 1, 1).toordinal(), date(2045, 12, 31).toordinal()
    return {date.fromordinal(o) for o in generator.sample(range(first, last + 1), 2_000)}


def day_walking_add(
    start: datetime,
    duration: timedelta,
    weekly: Mapping[int, Sequence[tuple[time, time]]],
    holidays: set[date],
) -> datetime:
    """Add ``duration`` of working time by walking day by day, as ERPNext does."""
    current = start.astimezone(ZONE)
    day = current.date()
    remaining = duration
    while True:
        if day not in holidays:
            for opens, closes in weekly.get(day.weekday(), ()):
                begin = max(datetime.combine(day, opens, tzinfo=ZONE), current)
                end = datetime.combine(day, closes, tzinfo=ZONE)
                if end <= begin:
                    continue
                available = end - begin
                if available >= remaining:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)


def per_call(function: Callable[[], object]) -> tuple[float, float]:
    """Return the best and the median seconds per call over several repeats."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    runs = [total / number for total in timer.repeat(repeat=REPEATS, number=number)]
    return min(runs), statistics.median(runs)


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:10.2f} µs"


def main() -> None:
    holidays = two_thousand_holidays()
    calendar = BusinessCalendar(
        timezone=ZONE_NAME,
        hours={day: [("09:00", "17:00")] for day in WORKING_DAYS},
        holidays=holidays,
    )
    weekly = {day: [(OPENS, CLOSES)] for day in WORKING_DAYS}
    berlin = pytz.timezone(ZONE_NAME)
    rules = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=OPENS, end_time=CLOSES, working_days=list(WORKING_DAYS), tz=berlin
            ),
            businesstimedelta.HolidayRule(holidays, tz=berlin),
        ]
    )
    peer_short = businesstimedelta.BusinessTimeDelta(rules, hours=8)
    peer_long = businesstimedelta.BusinessTimeDelta(rules, hours=2_000)

    cold = timeit.timeit(lambda: calendar.add(START, LONG), number=1)
    for duration, peer in ((SHORT, peer_short), (LONG, peer_long)):
        ours = calendar.add(START, duration)
        walked = day_walking_add(START, duration, weekly, holidays)
        theirs = START + peer
        assert ours == walked == theirs, (duration, ours, walked, theirs)
        print(f"deadline for {duration} from {START.isoformat()}: {ours.isoformat()} (all agree)")
    print(f"first 2,000 h add (builds and caches the years it spans): {cold * 1e3:.2f} ms")
    print()

    figures = {
        "issuecore add 8 h": per_call(lambda: calendar.add(START, SHORT)),
        "issuecore add 2,000 h": per_call(lambda: calendar.add(START, LONG)),
        "issuecore between, 1 year apart": per_call(lambda: calendar.between(START, YEAR_LATER)),
        "issuecore is_open": per_call(lambda: calendar.is_open(START)),
        "day-walking baseline 2,000 h": per_call(
            lambda: day_walking_add(START, LONG, weekly, holidays)
        ),
        "businesstimedelta 8 h": per_call(lambda: START + peer_short),
        "businesstimedelta 2,000 h": per_call(lambda: START + peer_long),
        "pendulum.datetime(..., tz=)": per_call(
            lambda: pendulum.datetime(2026, 3, 2, 10, 30, tz=ZONE_NAME)
        ),
        "pendulum.DateTime(..., tzinfo=)": per_call(
            lambda: pendulum.DateTime(2026, 3, 2, 10, 30, tzinfo=pendulum.timezone(ZONE_NAME))
        ),
    }
    print(f"{'per call':34} {'best':>13} {'median':>13}")
    for name, (best, median) in figures.items():
        print(f"{name:34} {microseconds(best)} {microseconds(median)}")
    print()

    short = figures["issuecore add 8 h"][0]
    long = figures["issuecore add 2,000 h"][0]
    ratios = [
        ("2,000 h / 8 h (issuecore)", long / short, "<= 1.5"),
        (
            "day-walking / issuecore at 2,000 h",
            figures["day-walking baseline 2,000 h"][0] / long,
            ">= 50",
        ),
        (
            "businesstimedelta / issuecore at 2,000 h",
            figures["businesstimedelta 2,000 h"][0] / long,
            "> 1",
        ),
        (
            "businesstimedelta / issuecore at 8 h",
            figures["businesstimedelta 8 h"][0] / short,
            "> 1",
        ),
        (
            "issuecore 2,000 h / pendulum.datetime",
            long / figures["pendulum.datetime(..., tz=)"][0],
            "<= 2",
        ),
        (
            "issuecore 2,000 h / pendulum.DateTime",
            long / figures["pendulum.DateTime(..., tzinfo=)"][0],
            "(for scale)",
        ),
    ]
    print(f"{'ratio (best times)':42} {'value':>9}  target")
    for name, value, target in ratios:
        print(f"{name:42} {value:9.2f}  {target}")


if __name__ == "__main__":
    main()
