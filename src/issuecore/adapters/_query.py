"""The SQL of a page of issues, shared by the SQLite and the server stores.

One statement per query, with named parameters (``:name``), for SQLite,
PostgreSQL and MariaDB. With a status filter the statement is a ``UNION
ALL`` of one branch per status, each walking the index ``(status, sort key,
number)`` from the cursor and stopping after a page, so the first page of
open issues costs the same at a million issues as at ten thousand. A text
search starts from the matching rows of the text index instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from issuecore._codec import to_micros
from issuecore._marks import detail_key, query_details, query_instant
from issuecore._queries import IssueQuery, IssueSort, SearchTerm, SlaFilter, decode_cursor
from issuecore._sla.clock import AgreementStatus
from issuecore.mail._addresses import address_key

__all__ = ["Tables", "page_statement", "text_expression"]

_SORT_COLUMN = {
    IssueSort.DEADLINE: "deadline_key",
    IssueSort.CREATED: "created_at",
    IssueSort.UPDATED: "updated_at",
}


@attrs.frozen(kw_only=True)
class Tables:
    """The quoted names of the tables a page reads."""

    issues: str
    assignees: str
    search: str
    details: str


def text_expression(dialect: str, terms: Sequence[SearchTerm]) -> str:
    """Return the search string of ``terms`` in the text-search language of ``dialect``."""
    if dialect == "sqlite":
        return " ".join(f'"{term.word}"' + ("*" if term.prefix else "") for term in terms)
    if dialect == "postgresql":
        return " & ".join(f"'{term.word}'" + (":*" if term.prefix else "") for term in terms)
    return " ".join(f"+{term.word}" + ("*" if term.prefix else "") for term in terms)


def _matching_numbers(dialect: str, tables: Tables) -> str:
    if dialect == "sqlite":
        return f"SELECT DISTINCT number FROM {tables.search} WHERE {tables.search} MATCH :text"
    if dialect == "postgresql":
        return (
            f"SELECT DISTINCT number FROM {tables.search} "
            "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', :text)"
        )
    return (
        f"SELECT DISTINCT number FROM {tables.search} "
        "WHERE MATCH (body) AGAINST (:text IN BOOLEAN MODE)"
    )


def page_statement(
    query: IssueQuery, *, dialect: str, tables: Tables
) -> tuple[str, dict[str, Any]]:
    """Return the statement and parameters selecting ``number, document, version, sort_key``.

    The rows come in page order, one more than the page holds when another
    page follows.
    """
    column = f"i.{_SORT_COLUMN[query.sort]}"
    direction = "DESC" if query.descending else "ASC"
    parameters: dict[str, Any] = {"limit": query.limit + 1}
    conditions: list[str] = []

    def values(prefix: str, items: Sequence[str]) -> str:
        names = []
        for position, item in enumerate(items):
            parameters[f"{prefix}{position}"] = item
            names.append(f":{prefix}{position}")
        return ", ".join(names)

    if query.priorities:
        conditions.append(f"i.priority IN ({values('priority', query.priorities)})")
    if query.agreements:
        conditions.append(f"i.agreement IN ({values('agreement', query.agreements)})")
    if query.issue_types:
        keys = [detail_key("type", "", issue_type) for issue_type in query.issue_types]
        conditions.append(
            f"i.number IN (SELECT d.number FROM {tables.details} d "
            f"WHERE d.detail IN ({values('type', keys)}))"
        )
    for position, (kind, name, value) in enumerate(query_details(query)):
        parameters[f"detail{position}"] = detail_key(kind, name, value)
        conditions.append(
            f"i.number IN (SELECT d.number FROM {tables.details} d "
            f"WHERE d.detail = :detail{position})"
        )
    if query.assignee is not None:
        parameters["assignee"] = query.assignee
        conditions.append(
            f"i.number IN (SELECT a.number FROM {tables.assignees} a WHERE a.assignee = :assignee)"
        )
    if query.raised_by is not None:
        parameters["raised_by"] = address_key(query.raised_by)
        conditions.append("i.raised_by = :raised_by")
    at = query_instant(query)
    if query.sla:
        parameters["at"] = at
        parameters["failed"] = str(AgreementStatus.FAILED)
        standing = "(i.next_deadline IS NULL OR i.next_deadline >= :at)"
        either = []
        for position, condition in enumerate(query.sla):
            if condition is SlaFilter.FAILED:
                either.append("(i.sla_state = :failed OR i.next_deadline < :at)")
            elif condition is SlaFilter.AT_RISK:
                either.append(f"(i.sla_state <> :failed AND {standing} AND i.at_risk_at <= :at)")
            else:
                parameters[f"sla{position}"] = condition.value
                either.append(f"(i.sla_state = :sla{position} AND {standing})")
        conditions.append(f"({' OR '.join(either)})")
    for name, low, high in (
        ("created_at", query.created_from, query.created_before),
        ("updated_at", query.updated_from, query.updated_before),
    ):
        if low is not None:
            parameters[f"{name}_from"] = to_micros(name, low)
            conditions.append(f"i.{name} >= :{name}_from")
        if high is not None:
            parameters[f"{name}_before"] = to_micros(name, high)
            conditions.append(f"i.{name} < :{name}_before")
    start = decode_cursor(query)
    if start is not None:
        parameters["after_key"], parameters["after_number"] = start
        beyond = "<" if query.descending else ">"
        compare = "<=" if query.descending else ">="
        conditions.append(
            f"{column} {compare} :after_key AND "
            f"({column} {beyond} :after_key OR i.number {beyond} :after_number)"
        )
    source = f"{tables.issues} i"
    terms = query.terms()
    if terms:
        parameters["text"] = text_expression(dialect, terms)
        # SQLite takes CROSS JOIN as an order: the matching rows first, then each issue.
        source = f"({_matching_numbers(dialect, tables)}) m CROSS JOIN {tables.issues} i"
        conditions.append("i.number = m.number")
    order = f"ORDER BY sort_key {direction}, number {direction}"
    selected = (
        "SELECT i.number AS number, i.document AS document, i.version AS version, "
        f"{column} AS sort_key"
    )

    def branch(extra: list[str]) -> str:
        where = " AND ".join([*extra, *conditions]) or "1 = 1"
        return f"{selected} FROM {source} WHERE {where} {order} LIMIT :limit"

    if len(query.statuses) <= 1:
        extra = []
        if query.statuses:
            parameters["status0"] = query.statuses[0]
            extra.append("i.status = :status0")
        return branch(extra), parameters
    branches = []
    for position, status in enumerate(query.statuses):
        parameters[f"status{position}"] = status
        branches.append(f"SELECT * FROM ({branch([f'i.status = :status{position}'])}) b{position}")
    return (
        f"SELECT * FROM ({' UNION ALL '.join(branches)}) merged {order} LIMIT :limit",
        parameters,
    )
