"""The triage inbox: open issues by next deadline, filters, search, keyset pages, counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from issuecore import Issue, IssueQuery, IssueSort, SlaFilter, SlaRole
from issuecore.errors import IssueCoreError
from issuecore.web._console import (
    Console,
    page,
)
from issuecore.web._present import sla_view

PAGE_SIZE: Final = 25
COUNT_CAP: Final = 100
"""Counts per status are exact up to here, and shown as ``100+`` beyond."""


def inbox_routes(console: Console) -> list[Route]:
    """Return the route of the inbox."""
    desk = console.desk

    def open_statuses() -> tuple[str, ...]:
        workflow = desk.workflow
        return tuple(
            spec.name
            for spec in workflow.statuses
            if not spec.closed and workflow.sla_role(spec.name) is not SlaRole.FULFILLED
        )

    def count(status: str) -> str:
        found = len(desk.find_page(statuses=(status,), limit=COUNT_CAP + 1))
        return f"{COUNT_CAP}+" if found > COUNT_CAP else str(found)

    async def inbox(request: Request, user: str) -> Response:
        params = request.query_params
        statuses = tuple(s for s in params.getlist("status") if s) or open_statuses()
        priorities_chosen = tuple(p for p in params.getlist("priority") if p)
        sla_chosen = tuple(s for s in params.getlist("sla") if s)
        assignee = params.get("assignee", "").strip()
        text = params.get("q", "").strip()
        chosen: dict[str, Any] = {
            "status": statuses,
            "priority": priorities_chosen,
            "sla": sla_chosen,
            "assignee": assignee,
            "q": text,
        }
        error = None
        issues: Sequence[Issue] = ()
        next_cursor = None
        try:
            query = IssueQuery(
                statuses=statuses,
                priorities=priorities_chosen,
                sla=sla_chosen,
                assignee=assignee or None,
                text=text or None,
                sort=IssueSort.DEADLINE,
                limit=PAGE_SIZE,
                after=params.get("after") or None,
            )
            page = await run_in_threadpool(desk.find_page, query)
            issues, next_cursor = page.issues, page.next_cursor
        except (ValueError, IssueCoreError) as problem:
            error = str(problem)
        counts = await run_in_threadpool(
            lambda: {spec.name: count(spec.name) for spec in desk.workflow.statuses}
        )
        now = console.now()
        rows = [(issue, sla_view(issue, console.agreements, now)) for issue in issues]
        keep = [
            *(("status", s) for s in statuses),
            *(("priority", p) for p in priorities_chosen),
            *(("sla", s) for s in sla_chosen),
        ]
        if assignee:
            keep.append(("assignee", assignee))
        if text:
            keep.append(("q", text))
        next_link = None
        if next_cursor is not None:
            next_link = "?" + urlencode([*keep, ("after", next_cursor)])
        priorities = sorted({p for a in desk.agreements for p in a.targets})
        context = {
            "user": user,
            "rows": rows,
            "error": error,
            "counts": counts,
            "chosen": chosen,
            "statuses": [spec.name for spec in desk.workflow.statuses],
            "priorities": priorities,
            "sla_filters": sorted({member.value for member in SlaFilter}),
            "next_link": next_link,
            "first_link": "?" + urlencode(keep) if params.get("after") else None,
        }
        return console.render(request, "inbox.html", context, status=400 if error else 200)

    return [
        Route("/issues", page(console, inbox)),
    ]
