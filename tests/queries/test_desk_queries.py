"""Triage pages, text search and reports through HelpDesk, on the memory and SQLite stores."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from issuecore import AtRisk, DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget, Status
from issuecore._queries import IssueQuery, IssueSort, SlaFilter
from issuecore._reports import ReportPeriod, percentile
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.charts import report_svg, xml_safe
from issuecore.testing import FakeClock, RecordingMailer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
SUPPORT = "support@example.com"
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=1 * H, resolution=4 * H),
        "Low": SlaTarget(response=8 * H, resolution=20 * H),
    },
    default_priority="Low",
    at_risk=AtRisk(fraction=0.5),
    default=True,
)


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HelpDesk]:
    store: InMemoryStore | SQLiteStore
    store = InMemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "desk.db")
    try:
        yield HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=FakeClock(START),
            agreements=[STANDARD],
            settings=DeskSettings(support_address=SUPPORT),
        )
    finally:
        if isinstance(store, SQLiteStore):
            store.close()


def advance(desk: HelpDesk, delta: timedelta) -> None:
    clock = desk.clock
    assert isinstance(clock, FakeClock)
    clock.advance(delta)


def numbers(page: object) -> list[str]:
    return [issue.number for issue in page]  # type: ignore[attr-defined]


def test_open_issues_come_by_next_deadline_and_page_by_cursor(desk: HelpDesk) -> None:
    low = desk.open_issue(subject="Slow laptop", raised_by="ana@example.com", body="slow")
    urgent = desk.open_issue(
        subject="Network down", raised_by="bob@example.com", body="down", priority="Urgent"
    )
    closed = desk.open_issue(subject="Old", raised_by="cy@example.com", body="old")
    desk.close(closed.number, by="ben")
    first = desk.find_page(statuses=[Status.OPEN], limit=1)
    assert numbers(first) == [urgent.number]
    assert first.next_cursor is not None
    second = desk.find_page(statuses=[Status.OPEN], limit=1, after=first.next_cursor)
    assert numbers(second) == [low.number]
    assert second.next_cursor is None
    newest = desk.find_page(IssueQuery(sort=IssueSort.CREATED, descending=True))
    assert numbers(newest) == [closed.number, urgent.number, low.number]


def test_the_old_find_call_still_lists_oldest_first(desk: HelpDesk) -> None:
    one = desk.open_issue(subject="One", raised_by="ana@example.com", body="x")
    two = desk.open_issue(subject="Two", raised_by="ana@example.com", body="x")
    assert [issue.number for issue in desk.find(status=Status.OPEN, limit=5)] == [
        one.number,
        two.number,
    ]


def test_at_risk_and_breached_follow_the_agreement_and_the_clock(desk: HelpDesk) -> None:
    urgent = desk.open_issue(
        subject="Network down", raised_by="bob@example.com", body="down", priority="Urgent"
    )
    desk.open_issue(subject="Slow laptop", raised_by="ana@example.com", body="slow")

    def standing(*wanted: SlaFilter) -> list[str]:
        return numbers(desk.find_page(sla=wanted))

    assert standing(SlaFilter.AT_RISK, SlaFilter.BREACHED) == []
    advance(desk, 31 * timedelta(minutes=1))  # half the urgent response target gone
    assert standing(SlaFilter.AT_RISK) == [urgent.number]
    advance(desk, 30 * timedelta(minutes=1))
    assert standing(SlaFilter.AT_RISK) == []
    assert standing(SlaFilter.BREACHED) == [urgent.number]
    # An instant named in the query wins over the clock.
    assert numbers(desk.find_page(sla=[SlaFilter.AT_RISK], at=START + 45 * timedelta(minutes=1)))
    desk.reply(urgent.number, body="Looking", author="ben")
    assert standing(SlaFilter.BREACHED) == [urgent.number]


def test_text_search_finds_the_subject_and_replies(desk: HelpDesk) -> None:
    laptop = desk.open_issue(subject="Slow laptop", raised_by="ana@example.com", body="very slow")
    desk.open_issue(subject="Invoice question", raised_by="bob@example.com", body="which month")
    desk.reply(laptop.number, body="Please restart the machine", author="ben")
    assert numbers(desk.find_page(text="laptop")) == [laptop.number]
    assert numbers(desk.find_page(text="restart machine")) == [laptop.number]
    assert numbers(desk.find_page(text="invoi*", statuses=[Status.CLOSED])) == []


def test_a_month_report_counts_and_times_each_priority(desk: HelpDesk) -> None:
    urgent = desk.open_issue(
        subject="Network down", raised_by="bob@example.com", body="down", priority="Urgent"
    )
    low = desk.open_issue(subject="Slow laptop", raised_by="ana@example.com", body="slow")
    late = desk.open_issue(
        subject="Printer", raised_by="cy@example.com", body="jam", priority="Urgent"
    )
    desk.assign(low.number, "ben", by="lead")
    advance(desk, 30 * timedelta(minutes=1))
    desk.reply(urgent.number, body="On it", author="ben")
    desk.resolve(urgent.number, by="ben")
    advance(desk, 2 * H)
    desk.reply(late.number, body="Sorry", author="ben")
    desk.reply(low.number, body="Restart", author="ben")

    report = desk.report("2026-03", by="priority")
    rows = {row.group: row for row in report.rows}
    assert set(rows) == {("Low",), ("Urgent",)}
    urgent_row = rows[("Urgent",)]
    assert (urgent_row.opened, urgent_row.resolved) == (2, 1)
    assert (urgent_row.response_met, urgent_row.response_breached) == (1, 1)
    assert urgent_row.response_met_percent == 50.0
    assert urgent_row.resolution_met == 1
    assert urgent_row.response_median == 30 * timedelta(minutes=1)
    assert urgent_row.response_p90 == 150 * timedelta(minutes=1)
    assert rows[("Low",)].response_met == 1
    assert report.total.opened == 3
    by_assignee = desk.report(ReportPeriod.month(2026, 3), by=["assignee", "month"])
    assert [row.group for row in by_assignee.rows] == [("(none)", "2026-03"), ("ben", "2026-03")]
    assert desk.report("2026-04").total.opened == 0
    assert report.as_dict()["total"]["opened"] == 3  # type: ignore[index]


def test_a_report_refuses_unknown_dimensions_and_periods(desk: HelpDesk) -> None:
    with pytest.raises(ValueError, match="known: priority, agreement, assignee, month"):
        desk.report("2026-03", by="colour")
    with pytest.raises(ValueError, match="neither a month"):
        desk.report("March")
    with pytest.raises(ValueError, match="end after it starts"):
        desk.report((START, START))


def test_percentiles_are_nearest_rank() -> None:
    values = [timedelta(minutes=minutes) for minutes in (5, 1, 4, 2, 3)]
    assert percentile(values, 0.5) == timedelta(minutes=3)
    assert percentile(values, 0.9) == timedelta(minutes=5)
    assert percentile(values[:4], 0.5) == timedelta(minutes=2)
    assert percentile([], 0.5) is None


def test_the_chart_is_well_formed_whatever_the_group_names_hold(desk: HelpDesk) -> None:
    # The desk refuses control characters in names; what it keeps must still make valid XML.
    hostile = 'x\ufffe<&>"[2J ok'
    issue = desk.open_issue(subject="s", raised_by="ana@example.com", body="b")
    desk.assign(issue.number, hostile, by="lead")
    svg = report_svg(desk.report("2026-03", by="assignee"))
    root = ElementTree.fromstring(svg.encode())
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert 'x<&>"[2J ok' in texts
    assert xml_safe("a\x00b\uffffc\ud800\U0001f600") == "abc\U0001f600"
