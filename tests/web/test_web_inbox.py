"""The triage inbox, the SLA report and the outbox page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from web_support import Console, build_console, mail

from issuecore import MailTransportError
from issuecore.testing import RecordingMailer
from issuecore.web._inbox import COUNT_CAP, PAGE_SIZE


def numbers_on(page: str) -> list[str]:
    return re.findall(r'class="issue-link">([^<]+)</a>', page)


def row_of(page: str, number: str) -> str:
    found = re.search(rf'<tr class="([^"]*)">\s*<td><a [^>]*>{number}</a>', page)
    assert found is not None, f"{number} is not on the page"
    return found[1]


def test_the_inbox_lists_open_issues_by_next_deadline(agent: Console) -> None:
    medium = agent.desk.open_issue(subject="Slow", raised_by="a@x.test", body="b").number
    urgent = agent.desk.open_issue(
        subject="Down", raised_by="a@x.test", body="b", priority="Urgent"
    ).number
    closed = agent.desk.open_issue(subject="Old", raised_by="a@x.test", body="b").number
    agent.desk.close(closed, by="ben@example.com")
    page = agent.client.get("/issues").text
    assert numbers_on(page) == [urgent, medium]


def test_the_inbox_marks_breached_and_at_risk_issues(agent: Console) -> None:
    urgent = agent.desk.open_issue(
        subject="Down", raised_by="a@x.test", body="b", priority="Urgent"
    ).number
    medium = agent.desk.open_issue(subject="Slow", raised_by="a@x.test", body="b").number
    fine = agent.desk.open_issue(subject="Fine", raised_by="a@x.test", body="b").number
    agent.clock.advance(timedelta(minutes=30))
    fine_later = agent.desk.open_issue(subject="Later", raised_by="a@x.test", body="b").number
    # Urgent: 1h response, breached after 1h. Medium: 8h response, at risk in its last 2h.
    agent.clock.advance(timedelta(hours=5, minutes=31))
    page = agent.client.get("/issues").text
    assert row_of(page, urgent) == "breached"
    assert row_of(page, medium) == "at-risk"
    assert row_of(page, fine) == "at-risk"
    assert row_of(page, fine_later) == ""
    assert '<span class="mark breached">breached</span>' in page


def test_at_risk_begins_exactly_at_the_threshold(agent: Console) -> None:
    number = agent.desk.open_issue(subject="Slow", raised_by="a@x.test", body="b").number
    agent.clock.advance(timedelta(hours=6) - timedelta(seconds=1))
    assert row_of(agent.client.get("/issues").text, number) == ""
    agent.clock.advance(timedelta(seconds=1))
    assert row_of(agent.client.get("/issues").text, number) == "at-risk"


def test_breached_begins_just_after_the_deadline(agent: Console) -> None:
    number = agent.desk.open_issue(
        subject="Down", raised_by="a@x.test", body="b", priority="Urgent"
    ).number
    agent.clock.advance(timedelta(hours=1))
    assert row_of(agent.client.get("/issues").text, number) == "at-risk"
    agent.clock.advance(timedelta(seconds=1))
    assert row_of(agent.client.get("/issues").text, number) == "breached"


def test_the_inbox_filters_by_status_and_priority(agent: Console) -> None:
    urgent = agent.desk.open_issue(
        subject="Down", raised_by="a@x.test", body="b", priority="Urgent"
    ).number
    medium = agent.desk.open_issue(subject="Slow", raised_by="a@x.test", body="b").number
    agent.desk.hold(medium, by="ben@example.com")
    assert numbers_on(agent.client.get("/issues?priority=Urgent").text) == [urgent]
    assert numbers_on(agent.client.get("/issues?status=On+Hold").text) == [medium]
    both = agent.client.get("/issues?status=On+Hold&status=Open").text
    assert sorted(numbers_on(both)) == sorted([urgent, medium])


def test_the_inbox_filters_by_assignee_and_agreement_status(agent: Console) -> None:
    first = agent.desk.open_issue(subject="One", raised_by="a@x.test", body="b").number
    second = agent.desk.open_issue(
        subject="Two", raised_by="a@x.test", body="b", priority="Urgent"
    ).number
    agent.desk.assign(first, "cleo@example.com", by="ben@example.com")
    assert numbers_on(agent.client.get("/issues?assignee=cleo@example.com").text) == [first]
    agent.clock.advance(timedelta(hours=2))
    assert numbers_on(agent.client.get("/issues?sla=Failed").text) == [second]


def test_the_inbox_searches_subjects_and_messages(agent: Console) -> None:
    printer = agent.desk.receive(mail("Printer jammed", "Paper everywhere")).issue_number
    agent.desk.receive(mail("Login fails", "Password reset", message_id="<m2@customer.test>"))
    assert numbers_on(agent.client.get("/issues?q=printer").text) == [printer]
    assert numbers_on(agent.client.get("/issues?q=paper").text) == [printer]
    assert numbers_on(agent.client.get("/issues?q=pap*").text) == [printer]
    assert numbers_on(agent.client.get("/issues?q=nothing").text) == []


def test_a_search_without_words_is_a_400_with_the_reason(agent: Console) -> None:
    response = agent.client.get("/issues?q=%21%21")
    assert response.status_code == 400
    assert "holds no word to search for" in response.text


def test_a_forged_cursor_is_a_400_with_the_reason(agent: Console) -> None:
    response = agent.client.get("/issues?after=garbage")
    assert response.status_code == 400
    assert "is not one this desk handed out" in response.text


def test_the_inbox_pages_with_a_cursor_and_keeps_the_filters(agent: Console) -> None:
    opened = [
        agent.desk.open_issue(subject=f"Case {n}", raised_by="a@x.test", body="b").number
        for n in range(PAGE_SIZE + 2)
    ]
    first = agent.client.get("/issues?q=case").text
    assert numbers_on(first) == opened[:PAGE_SIZE]
    link = re.search(r'href="(\?[^"]+)" id="next-page"', first)
    assert link is not None
    assert "q=case" in link[1]
    second = agent.client.get("/issues" + link[1].replace("&amp;", "&")).text
    assert numbers_on(second) == opened[PAGE_SIZE:]
    assert 'id="next-page"' not in second


def test_the_inbox_counts_issues_per_status(agent: Console) -> None:
    for _ in range(3):
        agent.desk.open_issue(subject="x", raised_by="a@x.test", body="b")
    held = agent.desk.open_issue(subject="y", raised_by="a@x.test", body="b").number
    agent.desk.hold(held, by="ben@example.com")
    page = agent.client.get("/issues").text
    counts = dict(re.findall(r'data-status="([^"]+)">([^<]+)<', page))
    assert counts == {
        "Open": "3",
        "Waiting for Reply": "0",
        "On Hold": "1",
        "Resolved": "0",
        "Closed": "0",
    }


def test_counts_above_the_cap_are_shown_as_more_than(agent: Console) -> None:
    for _ in range(COUNT_CAP + 1):
        agent.desk.open_issue(subject="x", raised_by="a@x.test", body="b")
    page = agent.client.get("/issues").text
    assert f'data-status="Open">{COUNT_CAP}+<' in page


def test_counts_at_the_cap_are_exact(agent: Console) -> None:
    for _ in range(COUNT_CAP):
        agent.desk.open_issue(subject="x", raised_by="a@x.test", body="b")
    page = agent.client.get("/issues").text
    assert f'data-status="Open">{COUNT_CAP}<' in page


# --- the report ---------------------------------------------------------------------------


def test_the_report_shows_the_months_figures_and_its_chart(agent: Console) -> None:
    number = agent.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    agent.desk.reply(number, body="On it", author="ben@example.com")
    agent.desk.open_issue(subject="y", raised_by="a@x.test", body="b")
    page = agent.client.get("/report?period=2026-03&by=priority").text
    total = re.search(r'id="report-total">(.*?)</tr>', page, re.S)
    assert total is not None
    cells = re.findall(r"<td>([^<]*)</td>", total[1])
    assert cells[:4] == ["total", "2", "0", "1"]
    assert 'src="/report/chart.svg?period=2026-03&amp;by=priority"' in page
    chart = agent.client.get("/report/chart.svg?period=2026-03&by=priority")
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.startswith("<?xml")
    assert "Medium" in chart.text


def test_the_report_defaults_to_the_current_month(agent: Console) -> None:
    agent.desk.open_issue(subject="x", raised_by="a@x.test", body="b")
    page = agent.client.get("/report").text
    assert 'value="2026-03"' in page


def test_a_report_period_that_cannot_be_read_is_a_400(agent: Console) -> None:
    response = agent.client.get("/report?period=March")
    assert response.status_code == 400
    assert agent.client.get("/report/chart.svg?period=March").status_code == 400


def test_an_unknown_report_dimension_is_a_400(agent: Console) -> None:
    assert agent.client.get("/report?by=colour").status_code == 400


# --- the outbox ---------------------------------------------------------------------------


class FlakyMailer(RecordingMailer):
    """Refuses every message while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise MailTransportError.failed(
                protocol="SMTP",
                host="mail.example.com",
                port=587,
                operation="send",
                cause="connection refused",
            )
        super().send(message)


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[Console]:
    for console in build_console(tmp_path, mailer=FlakyMailer()):
        console.sign_in()
        yield console


def test_failed_mail_is_listed_with_its_reason_and_can_be_retried(flaky: Console) -> None:
    number = flaky.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    flaky.post(f"/issues/{number}/reply", {"body": "Answer"})
    page = flaky.client.get("/outbox").text
    effect = re.search(r"<td>([^<]+)</td>\s*<td>mail</td>", page)
    assert effect is not None
    assert "connection refused" in page
    flaky.mailer.down = False
    after = flaky.post(f"/outbox/{effect[1]}/retry", {}, page="/outbox")
    assert f"Retried {effect[1]}: 1 delivered, 0 failed." in after
    assert "Nothing failed." in after
    assert "Nothing is waiting." in after
    assert len(flaky.mailer.sent) == 1


def test_mail_waiting_for_another_attempt_is_listed_with_its_error(tmp_path: Path) -> None:
    for console in build_console(tmp_path, mailer=FlakyMailer(), send_attempts=3):
        console.sign_in()
        number = console.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
        console.post(f"/issues/{number}/reply", {"body": "Answer"})
        page = console.client.get("/outbox").text
        waiting = page.split("<h2>Waiting for delivery</h2>")[1]
        assert "connection refused" in waiting
        assert number in waiting
        assert "2026-03-02 10:01" in waiting  # retried after a minute, shown in Berlin time
        assert "Nothing failed." in page


def test_retrying_what_is_no_dead_letter_says_so(agent: Console) -> None:
    page = agent.post("/outbox/nothing-here/retry", {}, page="/outbox")
    assert "nothing-here is not a dead letter." in page
