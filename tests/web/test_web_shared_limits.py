"""Two web workers on one database share the accounts and the limits, on every store."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from web_support import (
    AGENT,
    PASSWORD,
    START,
    Console,
    account_settings,
    build_console,
    csrf_of,
)

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing import FakeClock
from issuecore.web import WebSettings
from issuecore.web._signin import SIGN_IN_FAILURES, SIGN_IN_WINDOW

SERVERS = {
    "postgresql": "ISSUECORE_TEST_POSTGRES_URL",
    "mariadb": "ISSUECORE_TEST_MARIADB_URL",
}


def store_pair(kind: str, tmp_path: Path, stack: ExitStack) -> tuple[Store, Store]:
    """Return two stores on one database, as two worker processes would open them."""
    if kind == "memory":
        shared = InMemoryStore()
        return shared, shared
    if kind == "sqlite":
        path = tmp_path / "desk.db"
        return (
            stack.enter_context(SQLiteStore(path)),
            stack.enter_context(SQLiteStore(path)),
        )
    from issuecore.adapters.sql import SqlStore

    url = os.environ.get(SERVERS[kind])
    if not url:
        pytest.skip(f"{SERVERS[kind]} is not set; give a {kind} URL to run these tests")
    prefix = f"l{uuid.uuid4().hex[:10]}_"
    first = SqlStore(url, table_prefix=prefix)
    stack.callback(first.close)
    stack.callback(first.drop_tables)
    second = stack.enter_context(SqlStore(url, table_prefix=prefix))
    return first, second


@attrs.frozen
class Workers:
    one: Console
    two: Console

    def advance(self, by: timedelta) -> None:
        self.one.clock.advance(by)
        self.two.clock.advance(by)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mariadb"])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workers]:
    settings = attrs.evolve(account_settings(), contact_form=True, contact_limit=2)
    with ExitStack() as stack:
        first, second = store_pair(request.param, tmp_path, stack)
        one = stack.enter_context(_console(tmp_path / "one", first, settings))
        # The second worker adds no account of its own: it signs in the one the first stored.
        two = stack.enter_context(_console(tmp_path / "two", second, settings, add=False))
        yield Workers(one, two)


@contextmanager
def _console(
    folder: Path, store: Store, settings: WebSettings, *, add: bool = True
) -> Iterator[Console]:
    folder.mkdir()
    built = build_console(folder, store=store, settings=settings, add_agent_account=add)
    try:
        yield next(built)
    finally:
        built.close()


def fail_sign_in(console: Console, address: str = AGENT) -> int:
    page = console.client.get("/signin")
    return console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": address, "password": "wrong guess!"},
    ).status_code


def sign_in(console: Console) -> int:
    page = console.client.get("/signin")
    return console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": AGENT, "password": PASSWORD},
        follow_redirects=False,
    ).status_code


def contact(console: Console, address: str, subject: str) -> int:
    token = csrf_of(console.client.get("/contact").text)
    return console.client.post(
        "/contact",
        data={
            "csrf_token": token,
            "name": "Ana",
            "address": address,
            "subject": subject,
            "message": "Hello",
        },
    ).status_code


def test_an_account_stored_by_one_worker_signs_in_on_the_other(workers: Workers) -> None:
    assert sign_in(workers.two) == 303
    assert workers.two.client.get("/issues", follow_redirects=False).status_code == 200


def test_failed_sign_ins_on_two_workers_lock_the_address_on_both(workers: Workers) -> None:
    first = SIGN_IN_FAILURES // 2
    assert [fail_sign_in(workers.one) for _ in range(first)] == [401] * first
    rest = SIGN_IN_FAILURES - first
    assert [fail_sign_in(workers.two) for _ in range(rest)] == [401] * rest
    assert fail_sign_in(workers.one) == 429
    assert sign_in(workers.two) == 429
    assert sign_in(workers.one) == 429
    workers.advance(SIGN_IN_WINDOW)
    assert sign_in(workers.two) == 303


def test_contact_submissions_on_two_workers_share_the_limit(workers: Workers) -> None:
    assert contact(workers.one, "ana@customer.test", "one") == 200
    assert contact(workers.two, "ana@customer.test", "two") == 200
    assert contact(workers.one, "ana@customer.test", "three") == 429
    assert contact(workers.two, "ANA@customer.test", "four") == 429
    workers.advance(timedelta(hours=1))
    assert contact(workers.two, "ana@customer.test", "five") == 200


def test_the_attempts_table_keeps_digests_and_drops_what_left_the_window(tmp_path: Path) -> None:
    for console in build_console(tmp_path):
        for _ in range(3):
            fail_sign_in(console, "eve@example.com")
        console.clock.advance(SIGN_IN_WINDOW)
        fail_sign_in(console, "mallory@example.com")
    with closing(sqlite3.connect(tmp_path / "desk.db")) as connection:
        rows = connection.execute("SELECT scope, attempt_key FROM attempts").fetchall()
    assert len(rows) == 1
    scope, key = rows[0]
    assert scope == "web.signin"
    assert len(key) == 64
    assert "mallory" not in key


# --- hostile sign-in forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["a" * 60_000 + "@example.com", "ben\x00@example.com", "ben@example.com\x00", "\u202e@x.test"],
)
def test_a_hostile_address_is_refused_and_still_counted(workers: Workers, address: str) -> None:
    assert [fail_sign_in(workers.one, address) for _ in range(SIGN_IN_FAILURES)] == [401] * 5
    assert fail_sign_in(workers.two, address) == 429
    assert sign_in(workers.one) == 303


def test_a_sign_in_form_that_is_no_utf_8_is_answered(workers: Workers) -> None:
    page = workers.one.client.get("/signin")
    token = csrf_of(page.text)
    body = f"csrf_token={token}&address=ben%FF%FE%00@example.com&password=%C3%28%FF".encode()
    for _ in range(SIGN_IN_FAILURES):
        response = workers.one.client.post(
            "/signin",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 401
    assert sign_in(workers.one) == 303


def test_workers_racing_on_one_sqlite_file_let_exactly_the_limit_through(tmp_path: Path) -> None:
    from issuecore.web._security import StoredLimiter

    now = FakeClock(START).now
    with SQLiteStore(tmp_path / "desk.db") as one, SQLiteStore(tmp_path / "desk.db") as two:
        limiters = [
            StoredLimiter(store, "web.signin", 5, SIGN_IN_WINDOW, now) for store in (one, two)
        ]
        start = threading.Barrier(8)

        def attempt(index: int) -> bool:
            start.wait()
            return limiters[index % 2].allow("address:eve@example.com")

        with ThreadPoolExecutor(max_workers=8) as pool:
            allowed = list(pool.map(attempt, range(8)))
        assert allowed.count(True) == 5
        assert limiters[0].full("address:eve@example.com")
