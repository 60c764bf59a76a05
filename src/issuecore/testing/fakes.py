"""Recording fakes for the outbound ports; they keep what they were given, in order."""

from __future__ import annotations

from issuecore.adapters.recording import (
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
