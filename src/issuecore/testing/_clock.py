"""A clock for tests that moves only when told to."""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum

from issuecore._instants import require_aware

__all__ = ["FakeClock"]


class FakeClock:
    """A clock standing at ``start`` until :meth:`advance` or :meth:`set` moves it.

    Inject it wherever a clock is expected instead of patching time.
    """

    def __init__(self, start: datetime) -> None:
        self._now = pendulum.instance(require_aware("start", start))

    def now(self) -> pendulum.DateTime:
        """Return the current instant."""
        return self._now

    def advance(self, delta: timedelta) -> pendulum.DateTime:
        """Move forward by ``delta`` (never backwards) and return the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only moves forward; got advance({delta!r})")
        self._now = self._now + delta
        return self._now

    def set(self, at: datetime) -> pendulum.DateTime:
        """Move to ``at``, which must not be earlier than now, and return it."""
        target = pendulum.instance(require_aware("at", at))
        if target < self._now:
            raise ValueError(f"a clock only moves forward; {target} is before {self._now}")
        self._now = target
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
