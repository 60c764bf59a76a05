"""Erasing a person's data and purging old closed issues.

Erasing an issue keeps an anonymised skeleton: its number, status, instants,
history of actions and SLA clock stay, so SLA metrics and reports still
count it; its subject, raiser, participants, references, custom fields,
thread text, HTML, attachments, kept raw mail and outbox rows go. Purging
deletes closed issues outright.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import attrs

from issuecore import _arguments as check
from issuecore._desk_core import _AfterCommit, _DeskCore
from issuecore._instants import require_aware
from issuecore._model import (
    Actor,
    ActorKind,
    EntryKind,
    HistoryEntry,
    Issue,
    ThreadEntry,
)
from issuecore.mail._addresses import address_key
from issuecore.ports import UnitOfWork

ERASED: Final = "[erased]"
"""What erased text reads."""
ERASED_ADDRESS: Final = "erased@erased.invalid"
"""The raiser of an erased issue (``.invalid`` can never receive mail)."""

_FROM_OUTSIDE: Final = (EntryKind.CUSTOMER_MESSAGE, EntryKind.AUTOMATED_MESSAGE)


def anonymised_issue(issue: Issue, *, at: datetime, actor: Actor) -> Issue:
    """Return ``issue`` without personal data, an ``erase`` entry closing its history."""
    history = tuple(_anonymised_entry(entry) for entry in issue.history)
    erased = HistoryEntry(
        at=max(at, issue.updated_at),
        actor=actor,
        action="erase",
        from_status=issue.status,
        to_status=issue.status,
    )
    return attrs.evolve(
        issue,
        subject=ERASED,
        raised_by=ERASED_ADDRESS,
        participants=(),
        references={},
        fields={},
        updated_at=erased.at,
        history=(*history, erased),
    )


def _anonymised_entry(entry: HistoryEntry) -> HistoryEntry:
    actor = entry.actor
    if actor.kind is ActorKind.CUSTOMER:
        actor = Actor.customer(ERASED_ADDRESS)
    # Reasons and details may quote addresses or text; the action and statuses stay.
    return attrs.evolve(entry, actor=actor, reason=None, detail=None)


def anonymised_thread(thread: Sequence[ThreadEntry]) -> list[ThreadEntry]:
    """Return ``thread`` with every text, HTML, subject and attachment erased."""
    return [
        attrs.evolve(
            entry,
            author=ERASED_ADDRESS if entry.kind in _FROM_OUTSIDE else entry.author,
            text=ERASED,
            new_text=None,
            html=None,
            subject=None,
            attachments=(),
        )
        for entry in thread
    ]


class _Erasure(_DeskCore):
    """Erasure of personal data and the purge of old closed issues."""

    def erase(self, number: str, *, by: str) -> Issue:
        """Erase the personal data of issue ``number``; its skeleton keeps the SLA metrics.

        Subject, raiser, participants, references, custom fields, thread text,
        HTML and attachments, the raw mail kept for its messages and its
        outbox rows are removed; statuses, instants, the actions of its
        history and its SLA clock stay. Recorded in history as ``erase``.
        """
        number = check.name(number, "number")
        by = check.name(by, "by")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            return self._erase_in(work, now, number, by)

        return self._run(operation)

    def erase_person(self, address: str, *, by: str) -> tuple[str, ...]:
        """Erase every issue ``address`` raised, and their part of issues they took part in.

        Returns the numbers of the issues changed. On an issue they only took
        part in, they stop being a participant and their messages are erased;
        the rest of the thread stays.
        """
        address = check.address(address, "address")
        by = check.name(by, "by")
        wanted = address_key(address)

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> tuple[str, ...]:
            changed = []
            for issue in work.find_issues():
                if address_key(issue.raised_by) == wanted:
                    self._erase_in(work, now, issue.number, by)
                    changed.append(issue.number)
                elif any(address_key(known) == wanted for known in issue.participants):
                    self._erase_participant(work, now, issue, wanted, by)
                    changed.append(issue.number)
            work.forget_auto_replies(address)
            return tuple(changed)

        return self._run(operation)

    def purge(self, *, closed_before: datetime) -> tuple[str, ...]:
        """Delete every issue closed before ``closed_before`` with all it holds; return numbers."""
        require_aware("closed_before", closed_before)

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> tuple[str, ...]:
            old = [
                issue.number
                for issue in work.find_issues()
                if self.workflow.is_closed(issue.status)
                and issue.closed_at is not None
                and issue.closed_at < closed_before
            ]
            for number in old:
                work.remove_issue(number)
            return tuple(old)

        return self._run(operation)

    def _erase_in(self, work: UnitOfWork, now: datetime, number: str, by: str) -> Issue:
        issue = work.get_issue(number, for_update=True)
        erased = anonymised_issue(issue, at=now, actor=Actor.agent(by))
        stored = work.update_issue(
            erased, wake_at=self._wake_at(erased), at_risk_at=self._at_risk_at(erased)
        )
        work.replace_thread(number, anonymised_thread(work.thread(number)))
        work.forget_content(number)
        return stored

    def _erase_participant(
        self, work: UnitOfWork, now: datetime, issue: Issue, wanted: str, by: str
    ) -> None:
        participants = tuple(p for p in issue.participants if address_key(p) != wanted)
        history = tuple(
            _anonymised_entry(entry)
            if (entry.actor.kind is ActorKind.CUSTOMER and address_key(entry.actor.id) == wanted)
            or (entry.detail is not None and wanted.casefold() in entry.detail.casefold())
            else entry
            for entry in issue.history
        )
        erased = HistoryEntry(
            at=max(now, issue.updated_at),
            actor=Actor.agent(by),
            action="erase_participant",
            from_status=issue.status,
            to_status=issue.status,
        )
        changed = attrs.evolve(
            issue,
            participants=participants,
            updated_at=erased.at,
            history=(*history, erased),
        )
        work.update_issue(
            changed, wake_at=self._wake_at(changed), at_risk_at=self._at_risk_at(changed)
        )
        thread = work.thread(issue.number)
        theirs = [
            entry.kind in _FROM_OUTSIDE and address_key(entry.author) == wanted for entry in thread
        ]
        erased_entries = anonymised_thread(
            [e for e, mine in zip(thread, theirs, strict=True) if mine]
        )
        replaced = iter(erased_entries)
        work.replace_thread(
            issue.number,
            [next(replaced) if mine else entry for entry, mine in zip(thread, theirs, strict=True)],
        )
