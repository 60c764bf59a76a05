"""The help desk: the application service that wires the domain to the ports.

Each call is one unit of work. It reads the clock once, loads what it needs,
applies the pure domain rules at that instant, saves the issue, thread entry,
Message-ID record and one outbox row per effect (mail, events, to-dos,
notices) together, commits, and only then delivers the effects from those
rows (see :mod:`issuecore._delivery`). A stale write (another process changed the issue
first) is refused by the store and the whole operation is retried against
fresh state, a bounded number of times.

The desk is assembled from one private module per job: ``_intake``
(receiving one message or many in batches, the last-resort quarantine),
``_filing`` (filing one message in the intake transaction), ``_commands``
(agent commands and issues from other channels) and ``_sweep`` (the sweep,
outbox delivery and dead letters), all built on ``_desk_core`` (settings,
reading and the unit of work every operation runs in).
"""

from __future__ import annotations

from issuecore._commands import _AgentCommands
from issuecore._desk_core import DeskSettings
from issuecore._filing import ReceiveOutcome
from issuecore._intake import DEFAULT_BATCH_SECONDS as DEFAULT_BATCH_SECONDS
from issuecore._intake import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from issuecore._intake import IntakeFailure, IntakeReport, _Intake
from issuecore._sweep import TickReport, _Sweep

__all__ = [
    "DeskSettings",
    "HelpDesk",
    "IntakeFailure",
    "IntakeReport",
    "ReceiveOutcome",
    "TickReport",
]


class HelpDesk(_Intake, _AgentCommands, _Sweep):
    """The support desk adopters call; see ``desk.md`` for the operations."""
