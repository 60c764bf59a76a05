"""The sweep: auto-close, SLA at-risk and breach events, outbox delivery and its dead letters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import attrs

from issuecore import _arguments as check
from issuecore._desk_core import _AfterCommit, _DeskCore
from issuecore._instants import require_aware
from issuecore._model import Action, Event, IssueClosed, SlaAtRisk, SlaBreached
from issuecore._sla.tracking import follow, sweep_sla
from issuecore.ports import OutboxItem, UnitOfWork

logger = logging.getLogger("issuecore.sweep")


@attrs.frozen(kw_only=True)
class TickReport:
    """What one sweep did.

    ``closed`` names the issues it auto-closed; ``alerts`` holds the
    :class:`~issuecore.SlaAtRisk` and :class:`~issuecore.SlaBreached`
    events it raised, in order (each names its issue, target and deadline);
    ``at_risk`` and ``breached`` count them.
    """

    closed: tuple[str, ...] = ()
    at_risk: int = 0
    breached: int = 0
    sent: int = 0
    failed: int = 0
    alerts: tuple[SlaAtRisk | SlaBreached, ...] = ()


class _Sweep(_DeskCore):
    """The periodic work: :meth:`tick` and delivering the outbox."""

    # --- the sweep ----------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Run the sweep: auto-close, SLA at-risk and breach events, outbox delivery.

        Each due issue is claimed and handled in a transaction of its own; on
        servers with ``SKIP LOCKED`` several workers running ``tick`` at once
        share the due issues instead of repeating each other's work. Then it
        delivers the outbox rows that are due and free (:meth:`flush_outbox`)
        and deletes delivered rows older than ``DeskSettings.keep_delivered``.
        """
        closed: list[str] = []
        alerts: list[SlaAtRisk | SlaBreached] = []
        seen: set[str] = set()
        stuck: set[str] = set()
        while True:
            number, events = self._run(self._sweeper(seen, stuck))
            if number is None:
                break
            seen.add(number)
            closed.extend(e.number for e in events if isinstance(e, IssueClosed))
            alerts.extend(e for e in events if isinstance(e, SlaAtRisk | SlaBreached))
        sent, failed = self.flush_outbox()
        self._delivery.prune()
        at_risk = sum(isinstance(alert, SlaAtRisk) for alert in alerts)
        breached = sum(isinstance(alert, SlaBreached) for alert in alerts)
        report = TickReport(
            closed=tuple(closed),
            at_risk=at_risk,
            breached=breached,
            sent=sent,
            failed=failed,
            alerts=tuple(alerts),
        )
        logger.log(
            logging.INFO if (closed or at_risk or breached or sent or failed) else logging.DEBUG,
            "sweep: %d issues looked at, %d auto-closed, %d at risk, %d breached; "
            "outbox: %d delivered, %d failed",
            len(seen),
            len(closed),
            at_risk,
            breached,
            sent,
            failed,
        )
        return report

    def _sweeper(
        self, seen: set[str], stuck: set[str]
    ) -> Callable[[UnitOfWork, datetime, _AfterCommit], tuple[str | None, tuple[Event, ...]]]:
        def claim_and_sweep(
            work: UnitOfWork, now: datetime, after: _AfterCommit
        ) -> tuple[str | None, tuple[Event, ...]]:
            # An issue handled once in this tick is passed over if it is still due
            # (its due instant could not move), so it cannot hold the sweep up.
            while True:
                limit = len(stuck) + 1
                due = work.due_issues(now, limit=limit)
                number = next((n for n in due if n not in seen), None)
                if number is not None:
                    return number, self._sweep_one(work, now, after, number)
                if len(due) < limit:
                    return None, ()
                stuck.update(due)

        return claim_and_sweep

    def _sweep_one(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, number: str
    ) -> tuple[Event, ...]:
        issue = work.get_issue(number, for_update=True)
        agreement = self._agreement(issue)
        change = self.workflow.auto_close(issue, now=now, after=self.settings.auto_close_after)
        if change.events:
            change = follow(change, agreement, action=Action.AUTO_CLOSE, workflow=self.workflow)
        swept = sweep_sla(change.issue, agreement, now=now)
        events = (*change.events, *swept.events)
        self._save(work, swept.issue, after, events)
        return events

    def flush_outbox(self) -> tuple[int, int]:
        """Deliver every outbox row that is due and not held by another deliverer.

        Returns (delivered, failed). Rows are claimed with a lease in a
        transaction of their own, so any number of processes may call this
        at once without delivering one row twice. Never raises for a port
        that fails: the row is retried later, then dead-lettered.
        """
        return self._delivery.flush()

    def dead_letters(self, *, limit: int = 100) -> list[OutboxItem]:
        """Return the effects given up after ``send_attempts``, with their last error."""
        limit = check.count(limit, "limit")
        with self.store.transaction(read_only=True) as work:
            return work.outbox.dead_letters(limit=limit)

    def retry_dead_letter(self, effect_id: str) -> bool:
        """Make a dead letter due again at once; return ``False`` if ``effect_id`` is none."""
        effect_id = check.name(effect_id, "effect_id")
        now = require_aware("clock.now()", self.clock.now())
        with self.store.transaction() as work:
            revived = work.outbox.revive(effect_id, at=now)
            work.commit()
        return revived
