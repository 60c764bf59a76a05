"""The instants' shared helpers give what the plain arithmetic gives."""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum
from hypothesis import given
from hypothesis import strategies as st

from issuecore._instants import before, in_utc
from issuecore.testing import strategies

spans = st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400))


@given(at=strategies.aware_datetimes(), span=spans)
def test_before_a_utc_instant_is_the_instant_pendulum_gives(at: datetime, span: timedelta) -> None:
    utc = in_utc(at)
    moved = before(utc, span)
    expected = utc - span
    assert moved == expected
    assert type(moved) is pendulum.DateTime
    assert moved.tzinfo is pendulum.UTC
    assert moved.isoformat() == expected.isoformat()


@given(at=strategies.aware_datetimes(), span=spans)
def test_before_an_instant_in_another_zone_is_its_own_subtraction(
    at: datetime, span: timedelta
) -> None:
    moved = before(at, span)
    assert moved == at - span
    assert type(moved) is type(at - span)
    assert moved.utcoffset() == (at - span).utcoffset()
