"""The real clock."""

from __future__ import annotations

import pendulum

__all__ = ["SystemClock"]


class SystemClock:
    """Tells the time from the operating system, in UTC."""

    def now(self) -> pendulum.DateTime:
        """Return the current instant in UTC."""
        return pendulum.now("UTC")
