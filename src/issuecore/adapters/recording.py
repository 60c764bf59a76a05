"""The recording ports under their former home; they live in :mod:`issuecore.testing`.

Kept so that existing imports work; new code imports them from
:mod:`issuecore.testing`. The desk's defaults are the null ports of
:mod:`issuecore.adapters.null`.
"""

from __future__ import annotations

from issuecore.testing.fakes import (
    RecordingEventSink,
    RecordingMailer,
    RecordingNotifier,
    RecordingTaskBoard,
    Todo,
)

__all__ = [
    "RecordingEventSink",
    "RecordingMailer",
    "RecordingNotifier",
    "RecordingTaskBoard",
    "Todo",
]
