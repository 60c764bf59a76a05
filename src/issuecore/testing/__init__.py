"""The testing kit for adopters: fakes, Hypothesis strategies, contracts, stateful machines.

Strategies live in :mod:`issuecore.testing.strategies`, the workflow machine in
:mod:`issuecore.testing.stateful`; importing those needs the ``test`` extra
(Hypothesis). This module itself needs nothing beyond issuecore.
"""

from issuecore.testing._clock import FakeClock
from issuecore.testing._fakes import (
    RecordingEventSink,
    RecordingMailer,
    RecordingNotifier,
    RecordingTaskBoard,
    Todo,
)

__all__ = [
    "FakeClock",
    "RecordingEventSink",
    "RecordingMailer",
    "RecordingNotifier",
    "RecordingTaskBoard",
    "Todo",
]
