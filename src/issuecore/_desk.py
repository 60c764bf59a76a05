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

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from issuecore import _arguments as check
from issuecore._commands import KEEP, Keep, _AgentCommands
from issuecore._desk_core import DeskSettings
from issuecore._erasure import _Erasure
from issuecore._filing import OutcomeKind, ReceiveOutcome
from issuecore._instants import require_aware
from issuecore._intake import DEFAULT_BATCH_SECONDS as DEFAULT_BATCH_SECONDS
from issuecore._intake import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from issuecore._intake import IntakeFailure, IntakeReport, _Intake
from issuecore._quarantine import _Quarantine
from issuecore._queries import IssuePage, IssueQuery
from issuecore._reports import Report, ReportPeriod, build_report
from issuecore._sla.view import SlaView, sla_view
from issuecore._sweep import TickReport, _Sweep

__all__ = [
    "KEEP",
    "DeskSettings",
    "HelpDesk",
    "IntakeFailure",
    "IntakeReport",
    "Keep",
    "OutcomeKind",
    "ReceiveOutcome",
    "TickReport",
]


class HelpDesk(_Intake, _AgentCommands, _Sweep, _Quarantine, _Erasure):
    """The support desk adopters call; see ``desk.md`` for the operations."""

    def find_page(self, query: IssueQuery | None = None, **filters: Any) -> IssuePage:
        """Return one page of the issues ``query`` (or an ``IssueQuery(**filters)``) finds.

        Agreement filters are judged at the clock's now unless the query names
        an instant; pass the page's ``next_cursor`` as ``after=`` for the next.
        """
        query = IssueQuery(**filters) if query is None else attrs.evolve(query, **filters)
        if query.at is None and query.sla:
            query = attrs.evolve(query, at=require_aware("clock.now()", self.clock.now()))
        with self.store.transaction(read_only=True) as work:
            return work.find_page(query)

    def sla_view(self, number: str, *, at: datetime | None = None) -> SlaView | None:
        """Return issue ``number``'s SLA at ``at`` (now by default), per target; ``None`` without.

        See :class:`~issuecore.SlaView`: the agreement status and,
        for response and resolution, the deadline, when it was done, whether
        it was met, the business time consumed and what is left.
        """
        number = check.name(number, "number")
        when = require_aware("clock.now()", self.clock.now()) if at is None else at
        require_aware("at", when)
        issue = self.get(number)
        agreement = self._agreement(issue)
        if issue.sla is None or agreement is None:
            return None
        return sla_view(issue.sla, agreement, at=when)

    def reingest(self, message_id: str) -> ReceiveOutcome:
        """Receive the quarantined message ``message_id`` again, e.g. after fixing the cause.

        Its quarantine record is released and its kept bytes received as if
        they had just arrived; a message that fails again is quarantined
        again. Raises ``LookupError`` when no such message is quarantined.
        """
        return self.receive(self._release_quarantined(message_id))

    def report(
        self,
        period: ReportPeriod | str | tuple[datetime, datetime],
        *,
        by: str | Iterable[str] = (),
    ) -> Report:
        """Return the SLA figures of the issues opened in ``period``, grouped ``by`` dimensions.

        ``period`` is a :class:`~issuecore.ReportPeriod`, ``"2026-03"``,
        ``"2026"`` or a ``(start, end)`` pair; see :mod:`issuecore._reports`.
        """
        now = require_aware("clock.now()", self.clock.now())
        return build_report(self.find_page, period, by=by, at=now)
