"""The real clocks: the system's, and one standing still at a chosen instant."""

from __future__ import annotations

from datetime import datetime

import pendulum

from issuecore._instants import require_aware

__all__ = ["FixedClock", "SystemClock"]


class SystemClock:
    """Tells the time from the operating system, in UTC."""

    def now(self) -> pendulum.DateTime:
        """Return the current instant in UTC."""
        return pendulum.now("UTC")


class FixedClock:
    """Always tells the same instant: a desk acting "as of" a moment (demos, replays, CI)."""

    def __init__(self, at: datetime) -> None:
        self.at = require_aware("at", at)

    def now(self) -> datetime:
        """Return the fixed instant."""
        return self.at
