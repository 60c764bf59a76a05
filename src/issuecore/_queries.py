"""Finding issues: what to match, in which order, one page at a time.

An :class:`IssueQuery` names filters (every one given must match), a sort
order and a page size; :meth:`HelpDesk.find_page
<issuecore._desk.HelpDesk.find_page>` returns an :class:`IssuePage` whose
``next_cursor`` continues the same query where the page ended (keyset
paging: a page costs the same however deep it is, and issues changing
between pages never make one appear twice in a sort by creation).

Every store answers a query with the same pages; see ``storage.md`` for the
indexes each one uses and where text search differs between databases.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from issuecore._instants import optional_aware_field
from issuecore._model import Issue

__all__ = ["MAX_PAGE", "IssuePage", "IssueQuery", "IssueSort", "SearchTerm", "SlaFilter"]

MAX_PAGE = 1000
"""The largest page :class:`IssueQuery` accepts."""

_WORD = re.compile(r"\w+", re.UNICODE)


class IssueSort(enum.StrEnum):
    """The orders a page can be sorted in; ties are broken by the issue number."""

    DEADLINE = "deadline"
    """The next running SLA deadline, earliest first; issues without one come last."""
    CREATED = "created"
    """When the issue was opened."""
    UPDATED = "updated"
    """When the issue last changed."""


class SlaFilter(enum.StrEnum):
    """Where an issue stands against its agreement at the query's instant.

    The first five are the :class:`~issuecore.AgreementStatus`
    values (``FAILED`` is also called ``BREACHED``); ``AT_RISK`` holds a
    running target whose remaining time is within its agreement's
    :class:`~issuecore.AtRisk` threshold and not yet breached.
    """

    FIRST_RESPONSE_DUE = "First Response Due"
    RESOLUTION_DUE = "Resolution Due"
    PAUSED = "Paused"
    FULFILLED = "Fulfilled"
    FAILED = "Failed"
    BREACHED = "Failed"
    AT_RISK = "At Risk"


@attrs.frozen
class SearchTerm:
    """One word of a text search, lower-cased; ``prefix`` when it was written ``word*``."""

    word: str
    prefix: bool = False


def _strings(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    return tuple(sorted({str(value) for value in values}))


def _sla_filters(values: Iterable[str] | str | None) -> tuple[SlaFilter, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    known = {member.value.casefold(): member for member in SlaFilter}
    known |= {
        name.casefold().replace("_", " "): member for name, member in SlaFilter.__members__.items()
    }
    chosen = set()
    for value in values:
        member = known.get(str(value).casefold().replace("_", " "))
        if member is None:
            names = ", ".join(sorted({member.value for member in SlaFilter}))
            raise ValueError(f"unknown agreement filter {value!r}; known: {names}")
        chosen.add(member)
    return tuple(sorted(chosen, key=lambda member: member.value))


def _pairs(
    values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> tuple[tuple[str, Any], ...]:
    if values is None:
        return ()
    items = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted(((str(name), value) for name, value in items), key=lambda pair: pair[0]))


def _limit(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_PAGE}, got {value!r}")


@attrs.frozen(kw_only=True)
class IssueQuery:
    """Which issues to find, in which order, how many per page, and from which cursor.

    Filters given together must all match; a tuple filter matches any of its
    values. ``statuses``, ``priorities``, ``agreements`` and ``assignee``
    match exactly; ``raised_by`` by address identity. ``sla`` filters
    (:class:`SlaFilter`) are judged at ``at`` (the desk fills in its clock's
    now). ``created_from``/``created_before`` and ``updated_from``/
    ``updated_before`` are half-open ranges: from included, before excluded.
    ``text`` holds words every one of which the subject or one message of
    the thread must contain (``word*`` matches words starting so); see
    ``storage.md`` for what each database counts as a word.
    """

    statuses: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    priorities: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    agreements: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    issue_types: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    references: tuple[tuple[str, Any], ...] = attrs.field(default=(), converter=_pairs)
    fields: tuple[tuple[str, Any], ...] = attrs.field(default=(), converter=_pairs)
    assignee: str | None = None
    raised_by: str | None = None
    sla: tuple[SlaFilter, ...] = attrs.field(default=(), converter=_sla_filters)
    at: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    created_from: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    created_before: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    updated_from: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    updated_before: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    text: str | None = None
    sort: IssueSort = attrs.field(default=IssueSort.DEADLINE, converter=IssueSort)
    descending: bool = False
    limit: int = attrs.field(default=50, validator=_limit)
    after: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.text is not None and not self.terms():
            raise ValueError(f"text {self.text!r} holds no word to search for")

    def terms(self) -> tuple[SearchTerm, ...]:
        """Return the words of ``text`` to search for, in order, without repeats."""
        if self.text is None:
            return ()
        found: dict[SearchTerm, None] = {}
        for piece in self.text.split():
            words = _WORD.findall(piece.lower())
            for position, word in enumerate(words):
                last = position == len(words) - 1
                found[SearchTerm(word, prefix=last and piece.endswith("*"))] = None
        return tuple(found)

    def key(self) -> str:
        """Return what a cursor of this query is bound to: the sort and its direction."""
        return f"{self.sort}:{'desc' if self.descending else 'asc'}"


@attrs.frozen(kw_only=True)
class IssuePage:
    """One page of a query's issues; ``next_cursor`` is ``None`` on the last page."""

    issues: tuple[Issue, ...]
    next_cursor: str | None

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues)

    def __len__(self) -> int:
        return len(self.issues)


def encode_cursor(query: IssueQuery, sort_key: int, number: str) -> str:
    """Return the opaque cursor continuing ``query`` after the row (``sort_key``, ``number``)."""
    payload = json.dumps([query.key(), sort_key, number], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(query: IssueQuery) -> tuple[int, str] | None:
    """Return the (sort key, number) ``query.after`` continues from, or ``None`` without one."""
    if query.after is None:
        return None
    try:
        padded = query.after + "=" * (-len(query.after) % 4)
        key, sort_key, number = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise ValueError(
            f"cursor {query.after!r} is not one this desk handed out; "
            "pass the next_cursor of a page, or no cursor for the first page"
        ) from None
    if key != query.key() or not isinstance(sort_key, int) or not isinstance(number, str):
        raise ValueError(
            f"cursor {query.after!r} belongs to a query sorted by {key}, "
            f"not {query.key()}; start again without a cursor"
        )
    return sort_key, number
