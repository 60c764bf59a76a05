"""What stores keep beside an issue so queries need not read its document.

Pure functions of the issue (and, for the at-risk instant, its agreement):
every store derives the same values, so every store answers a query the
same way. Instants are integer microseconds since 1970-01-01 UTC, as the
stores keep them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from issuecore._codec import to_micros
from issuecore._model import Issue
from issuecore._queries import _WORD, IssueQuery, IssueSort, SearchTerm, SlaFilter
from issuecore._sla.clock import (
    AgreementStatus,
    ClockTerms,
    SlaClock,
    SlaRole,
)
from issuecore.mail._addresses import address_key

__all__ = [
    "NO_DEADLINE",
    "SEARCHED_CHARACTERS",
    "IssueMarks",
    "at_risk_from",
    "detail_key",
    "detail_keys",
    "matches",
    "query_details",
    "query_instant",
    "searchable",
    "sort_key",
    "text_matches",
]

NO_DEADLINE = 2**63 - 1
"""The deadline sort key of an issue without a running deadline: after every real one."""

SEARCHED_CHARACTERS = 100_000
"""How much of each subject and message text search looks at."""


def _sla_state(clock: SlaClock) -> str:
    # SlaClock.status without the overdue check, which depends on the instant asked.
    return clock._recorded_status()


def at_risk_from(clock: SlaClock | None, terms: ClockTerms | None) -> datetime | None:
    """Return the earliest instant a running target of ``clock`` counts as at risk, if any."""
    if clock is None or terms is None or terms.at_risk is None:
        return None
    if clock.role is not SlaRole.RUNNING:
        return None
    found = [clock.at_risk_from(terms, state) for state in clock.targets]
    return min((at for at in found if at is not None), default=None)


@attrs.frozen(kw_only=True)
class IssueMarks:
    """The query columns of one issue."""

    priority: str | None
    agreement: str | None
    sla_state: str | None
    next_deadline: int | None
    at_risk_at: int | None

    @classmethod
    def of(cls, issue: Issue, *, at_risk_at: datetime | None = None) -> IssueMarks:
        """Return the marks of ``issue``; ``at_risk_at`` comes from its agreement."""
        clock = issue.sla
        if clock is None:
            return cls(
                priority=issue.priority,
                agreement=None,
                sla_state=None,
                next_deadline=None,
                at_risk_at=None,
            )
        deadlines = [to_micros("deadline", state.due_by) for state in clock.targets if state.due_by]
        return cls(
            priority=issue.priority,
            agreement=clock.agreement,
            sla_state=_sla_state(clock),
            next_deadline=min(deadlines) if deadlines else None,
            at_risk_at=None if at_risk_at is None else to_micros("at_risk_at", at_risk_at),
        )

    @property
    def deadline_key(self) -> int:
        """Return the deadline sort key: the next deadline, or :data:`NO_DEADLINE`."""
        return NO_DEADLINE if self.next_deadline is None else self.next_deadline

    def failed(self, at: int) -> bool:
        """Return whether the agreement counts as failed at ``at``."""
        if self.sla_state is None:
            return False
        overdue = self.next_deadline is not None and self.next_deadline < at
        return self.sla_state == AgreementStatus.FAILED or overdue

    def meets(self, wanted: Iterable[SlaFilter], at: int) -> bool:
        """Return whether the agreement stands at ``at`` as any of ``wanted``."""
        if self.sla_state is None:
            return False
        failed = self.failed(at)
        for condition in wanted:
            if condition is SlaFilter.FAILED and failed:
                return True
            if condition is SlaFilter.AT_RISK:
                if not failed and self.at_risk_at is not None and self.at_risk_at <= at:
                    return True
            elif not failed and self.sla_state == condition.value:
                return True
        return False


def sort_key(issue: Issue, marks: IssueMarks, sort: IssueSort) -> int:
    """Return the value ``issue`` sorts by in ``sort``."""
    if sort is IssueSort.DEADLINE:
        return marks.deadline_key
    if sort is IssueSort.CREATED:
        return to_micros("created_at", issue.created_at)
    return to_micros("updated_at", issue.updated_at)


def matches(issue: Issue, marks: IssueMarks, query: IssueQuery, *, at: int | None) -> bool:
    """Return whether ``issue`` passes every filter of ``query`` but the text."""
    if query.statuses and str(issue.status) not in query.statuses:
        return False
    if query.priorities and issue.priority not in query.priorities:
        return False
    if query.agreements and marks.agreement not in query.agreements:
        return False
    if query.issue_types and issue.issue_type not in query.issue_types:
        return False
    wanted = {detail_key(kind, name, value) for kind, name, value in query_details(query)}
    if wanted and not wanted <= set(detail_keys(issue)):
        return False
    if query.assignee is not None and query.assignee not in issue.assignees:
        return False
    if query.raised_by is not None and address_key(issue.raised_by) != address_key(query.raised_by):
        return False
    if query.sla:
        assert at is not None
        if not marks.meets(query.sla, at):
            return False
    created = to_micros("created_at", issue.created_at)
    updated = to_micros("updated_at", issue.updated_at)
    for value, low, high in (
        (created, query.created_from, query.created_before),
        (updated, query.updated_from, query.updated_before),
    ):
        if low is not None and value < to_micros("from", low):
            return False
        if high is not None and value >= to_micros("before", high):
            return False
    return True


def detail_key(kind: str, name: str, value: object) -> str:
    """Return the key stores index a reference or custom field of an issue by.

    A digest of the kind, the name and the value as JSON with its type, so
    ``True`` and ``1`` differ and any length of text makes a key of one size.
    """
    typed = [kind, name, type(value).__name__ if isinstance(value, bool) else "", value]
    text = json.dumps(typed, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def detail_keys(issue: Issue) -> list[str]:
    """Return the keys of the type, every reference and every custom field of ``issue``."""
    return details_of(issue.issue_type, issue.references, issue.fields)


def details_of(
    issue_type: str | None, references: Mapping[str, str], fields: Mapping[str, Any]
) -> list[str]:
    """Return the keys :func:`detail_keys` gives for an issue with these values."""
    keys = [] if issue_type is None else [detail_key("type", "", issue_type)]
    keys += [detail_key("reference", name, value) for name, value in references.items()]
    keys += [detail_key("field", name, value) for name, value in fields.items()]
    return keys


def query_details(query: IssueQuery) -> list[tuple[str, str, object]]:
    """Return ``(kind, name, value)`` of every reference and field ``query`` asks for."""
    return [("reference", name, value) for name, value in query.references] + [
        ("field", name, value) for name, value in query.fields
    ]


def query_instant(query: IssueQuery) -> int | None:
    """Return the instant ``query`` judges agreements at; refuse sla filters without one."""
    if query.sla and query.at is None:
        raise ValueError("a query with sla filters needs the instant to judge them at (at=...)")
    return None if query.at is None else to_micros("at", query.at)


def searchable(text: str | None) -> str:
    """Return the part of ``text`` that search indexes look at, with NUL made a space."""
    return (text or "")[:SEARCHED_CHARACTERS].replace("\x00", " ")


def text_matches(texts: Sequence[str], terms: Sequence[SearchTerm]) -> bool:
    """Return whether one of ``texts`` holds every term (the scan the memory store does)."""
    for text in texts:
        words = set(_WORD.findall(searchable(text).lower()))
        if all(
            any(word.startswith(term.word) for word in words) if term.prefix else term.word in words
            for term in terms
        ):
            return True
    return False
