"""The inbox and an action on PostgreSQL and MariaDB as on SQLite (text search differs most)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from web_support import Console, build_console, mail

from issuecore import Status
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store

SERVERS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}


def open_store(kind: str, tmp_path: Path) -> Iterator[Store]:
    if kind == "sqlite":
        with SQLiteStore(tmp_path / "desk.db") as store:
            yield store
        return
    from issuecore.adapters.sql import SqlStore

    variable, what = SERVERS[kind]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; give a {what} URL to run these tests")
    server = SqlStore(url, table_prefix=f"w{uuid.uuid4().hex[:10]}_")
    try:
        yield server
    finally:
        server.drop_tables()
        server.close()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def agent_on(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    for store in open_store(request.param, tmp_path):
        for console in build_console(tmp_path, store=store):
            console.sign_in()
            yield console


def numbers_on(page: str) -> list[str]:
    return re.findall(r'class="issue-link">([^<]+)</a>', page)


def test_the_inbox_orders_marks_searches_and_counts(agent_on: Console) -> None:
    desk = agent_on.desk
    printer = desk.receive(mail("Printer jammed", "Paper everywhere")).issue_number
    urgent = desk.open_issue(
        subject="Shop down", raised_by="b@x.test", body="500 errors", priority="Urgent"
    ).number
    agent_on.clock.advance(timedelta(hours=2))
    page = agent_on.client.get("/issues").text
    assert numbers_on(page) == [urgent, printer]
    assert re.search(rf'<tr class="breached">\s*<td><a [^>]*>{urgent}</a>', page)
    assert 'data-status="Open">2<' in page
    assert numbers_on(agent_on.client.get("/issues?q=paper").text) == [printer]
    assert numbers_on(agent_on.client.get("/issues?q=jam*").text) == [printer]
    assert numbers_on(agent_on.client.get("/issues?sla=Failed").text) == [urgent]


def test_a_reply_from_the_console_changes_the_stored_issue(agent_on: Console) -> None:
    number = agent_on.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    page = agent_on.post(f"/issues/{number}/reply", {"body": "On it"})
    assert agent_on.desk.get(number).status == Status.WAITING_FOR_REPLY
    assert '<dd id="status">Waiting for Reply</dd>' in page
