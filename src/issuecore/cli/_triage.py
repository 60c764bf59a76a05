"""Reading the desk: the triage list, one issue in full, and the sweep that names what it did."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from typing import Any

from issuecore import EntryKind, Issue, IssueQuery, IssueSort, SlaAtRisk, SlaBreached, SlaFilter
from issuecore._sla.clock import RESOLUTION, RESPONSE, SlaRole
from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_OK, UsageError
from issuecore.cli._views import (
    cut,
    entry_json,
    hours,
    issue_json,
    printable,
    printable_lines,
    remaining_cells,
    table,
    target_line,
)
from issuecore.config import format_duration


def known_statuses(run: Run) -> tuple[str, ...]:
    """Return the statuses of the desk's workflow, in their declared order."""
    return tuple(spec.name for spec in run.desk.workflow.statuses)


def open_statuses(run: Run) -> tuple[str, ...]:
    """Return the statuses that still need work: neither closed nor resolved."""
    workflow = run.desk.workflow
    return tuple(
        spec.name
        for spec in workflow.statuses
        if not spec.closed and workflow.sla_role(spec.name) is not SlaRole.FULFILLED
    )


def checked_statuses(run: Run, given: list[str]) -> tuple[str, ...]:
    """Return the statuses named on the command line, matched without regard to case."""
    known = known_statuses(run)
    by_fold = {status.casefold(): status for status in known}
    chosen = []
    for name in given:
        status = by_fold.get(name.strip().casefold())
        if status is None:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--status {name!r} is not a status; known: {', '.join(known)}{hint}")
        chosen.append(status)
    return tuple(chosen)


def _query(run: Run) -> IssueQuery:
    args = run.args
    if args.status and args.all:
        raise UsageError("give --status or --all, not both")
    if args.status:
        statuses: tuple[str, ...] = checked_statuses(run, args.status)
    elif args.all:
        statuses = ()
    else:
        statuses = open_statuses(run)
    sla = []
    if args.at_risk:
        sla.append(SlaFilter.AT_RISK)
    if args.breached:
        sla.append(SlaFilter.BREACHED)
    return IssueQuery(
        statuses=statuses,
        assignee=args.assignee,
        raised_by=args.raised_by,
        priorities=tuple(args.priority or ()),
        sla=tuple(sla),
        text=args.search,
        sort=IssueSort(args.sort),
        descending=args.descending,
        limit=args.limit,
        after=args.after,
        at=run.now() if sla else None,
    )


def list_issues(run: Run) -> int:
    """``issuecore list``: one page of issues, open ones by their next deadline by default."""
    page = run.desk.find_page(_query(run))
    now = run.now()
    if run.args.json:
        run.print_json(
            {
                "issues": [issue_json(run.config, issue, now) for issue in page],
                "next_cursor": page.next_cursor,
            }
        )
        return EXIT_OK
    if not page.issues:
        run.print("no issues")
        return EXIT_OK
    header: tuple[str, ...] = ("NUMBER", "STATUS", "PRIORITY", "SUBJECT", "SLA", "RESPOND BY")
    header += ("LEFT", "RESOLVE BY", "LEFT")
    rows = []
    for issue in page:
        response, response_left = remaining_cells(run.config, run.stamp, issue, RESPONSE, now)
        resolution, resolution_left = remaining_cells(run.config, run.stamp, issue, RESOLUTION, now)
        sla = "-" if issue.sla is None else str(issue.sla.status(now))
        rows.append(
            (
                printable(issue.number),
                str(issue.status),
                printable(issue.priority or "-"),
                cut(issue.subject, 36),
                sla,
                response,
                response_left,
                resolution,
                resolution_left,
            )
        )
    for line in table(header, rows):
        run.print(line)
    noun = "issue" if len(page) == 1 else "issues"
    run.print(f"{len(page)} {noun}; times in {run.stamp.zone_name}")
    if page.next_cursor is not None:
        run.print(f"more: the same command with --after {page.next_cursor}")
    return EXIT_OK


def show_issue(run: Run) -> int:
    """``issuecore show NUMBER``: the issue, its SLA state, thread and history."""
    desk = run.desk
    issue = desk.get(run.args.number)
    thread = desk.thread(issue.number)
    now = run.now()
    if run.args.json:
        shown: dict[str, Any] = issue_json(run.config, issue, now)
        shown["thread"] = [entry_json(entry) for entry in thread]
        shown["history"] = [
            {
                "at": record.at.isoformat(),
                "action": str(record.action),
                "actor": str(record.actor),
                "from_status": str(record.from_status),
                "to_status": str(record.to_status),
                "reason": record.reason,
                "detail": record.detail,
            }
            for record in issue.history
        ]
        run.print_json(shown)
        return EXIT_OK
    stamp = run.stamp
    run.print(f"{printable(issue.number)}  {printable(issue.subject)}")
    run.print(f"  status       {issue.status} since {stamp(issue.status_since)}")
    run.print(f"  priority     {printable(issue.priority or '-')}")
    run.print(f"  raised by    {printable(issue.raised_by)}")
    run.print(f"  created      {stamp(issue.created_at)}  (times in {stamp.zone_name})")
    if issue.participants:
        run.print(f"  participants {printable(', '.join(issue.participants))}")
    run.print(f"  assignees    {printable(', '.join(issue.assignees)) or '-'}")
    if issue.follows_up:
        run.print(f"  follows up   {printable(issue.follows_up)}")
    run.print()
    _show_sla(run, issue, now)
    run.print()
    run.print(f"Thread ({len(thread)} entries)")
    for entry in thread:
        flags = []
        if entry.kind is EntryKind.AUTOMATED_MESSAGE:
            flags.append("automated")
        if entry.unverified:
            flags.append("unverified")
        flag_text = f" [{', '.join(flags)}]" if flags else ""
        written = f"  (written {stamp(entry.written_at)})" if entry.written_apart else ""
        run.print(
            f"--- {stamp(entry.at)}  {entry.kind}  {printable(entry.author)}{flag_text}{written}"
        )
        if entry.subject:
            run.print(f"    subject: {printable(entry.subject)}")
        for line in printable_lines(entry.display_text.strip()) or [""]:
            run.print(f"    {line}")
        for attachment in entry.attachments:
            run.print(
                f"    attachment: {printable(attachment.filename)} "
                f"({printable(attachment.content_type)}, {attachment.size} bytes)"
            )
    run.print()
    run.print("History")
    for record in issue.history:
        change = (
            record.to_status
            if record.from_status == record.to_status
            else f"{record.from_status} -> {record.to_status}"
        )
        why = f"  ({printable(record.reason)})" if record.reason else ""
        detail = f"  {printable(record.detail)}" if record.detail else ""
        run.print(
            f"  {stamp(record.at)}  {record.action:<16} {printable(str(record.actor))}  "
            f"{change}{why}{detail}"
        )
    return EXIT_OK


def _show_sla(run: Run, issue: Issue, now: datetime) -> None:
    clock = issue.sla
    if clock is None:
        run.print("SLA: none (no agreement covers this issue)")
        return
    agreement = run.config.agreement(clock.agreement)
    stamp = run.stamp
    run.print(
        f"SLA: {printable(clock.agreement)}, priority {printable(clock.priority)}: "
        f"{clock.status(now)}"
    )
    if clock.reset_at is not None:
        run.print(
            f"  reset        {stamp(clock.reset_at)} by {printable(str(clock.reset_by))}: "
            f"{printable(str(clock.reset_reason))}"
        )
    for which in (RESPONSE, RESOLUTION):
        run.print(f"  {target_line(run.config, stamp, clock, which, now)}")
    if agreement is not None:
        consumed = clock.consumed_at(agreement.business_time, now)
        run.print(f"  consumed     {hours(consumed)} of business time")
    else:
        run.print(
            f"  agreement {printable(clock.agreement)!r} is no longer configured; "
            "deadlines as stored"
        )
    metrics = clock.metrics()

    def pair(business: timedelta | None, elapsed: timedelta | None) -> str:
        if business is None or elapsed is None:
            return "-"
        return f"{hours(business)} business, {format_duration(elapsed)} elapsed"

    run.print("Metrics")
    run.print(
        f"  first response {pair(metrics.first_response_business, metrics.first_response_elapsed)}"
    )
    run.print(f"  resolution     {pair(metrics.resolution_business, metrics.resolution_elapsed)}")
    run.print(f"  on hold        {pair(metrics.hold_business, metrics.hold_elapsed)}")


def tick(run: Run) -> int:
    """``issuecore tick``: the sweep, naming each issue it closed, put at risk or breached."""
    report = run.desk.tick()
    at_risk = [alert for alert in report.alerts if isinstance(alert, SlaAtRisk)]
    breached = [alert for alert in report.alerts if isinstance(alert, SlaBreached)]
    if run.args.json:
        run.print_json(
            {
                "closed": list(report.closed),
                "at_risk": [_alert_json(alert) for alert in at_risk],
                "breached": [_alert_json(alert) for alert in breached],
                "delivered": report.sent,
                "failed": report.failed,
            }
        )
        return EXIT_OK
    stamp = run.stamp
    run.print(f"auto-closed  {len(report.closed)}")
    for number in report.closed:
        run.print(f"  {printable(number)}")
    run.print(f"at risk      {len(at_risk)}")
    for alert in at_risk:
        run.print(f"  {printable(alert.number)}  {alert.target} due {stamp(alert.deadline)}")
    run.print(f"breached     {len(breached)}")
    for breach in breached:
        run.print(f"  {printable(breach.number)}  {breach.target} was due {stamp(breach.deadline)}")
    run.print(f"delivered    {report.sent}")
    run.print(f"failed       {report.failed}")
    return EXIT_OK


def _alert_json(alert: SlaAtRisk | SlaBreached) -> dict[str, str]:
    return {"number": alert.number, "target": alert.target, "deadline": alert.deadline.isoformat()}
