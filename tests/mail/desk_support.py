"""A desk on each real store, and mail written for it, for the intake tests that need storage."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

STORES = ("memory", "sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": ("ISSUECORE_TEST_POSTGRES_URL", "PostgreSQL"),
    "mariadb": ("ISSUECORE_TEST_MARIADB_URL", "MariaDB/MySQL"),
}
SUPPORT = "support@helpdesk.example"
AGENT = "sam@helpdesk.example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def emptied(store: SqlStore) -> SqlStore:
    """Return ``store`` with every row of every table deleted."""
    with store.engine.begin() as connection:
        for table in reversed(store._schema.data_tables()):
            connection.execute(table.delete())
    return store


def store_for(kind: str, tmp_path: Path, servers: dict[str, SqlStore | None]) -> Iterator[Store]:
    """Yield an empty store of ``kind``; server stores are shared through ``servers``."""
    if kind == "memory":
        yield InMemoryStore()
    elif kind == "sqlite":
        with SQLiteStore(tmp_path / "desk.db") as store:
            yield store
    else:
        server = servers.get(kind)
        if server is None:
            pytest.skip(f"{SERVER_URLS[kind][0]} is not set; no {SERVER_URLS[kind][1]} server")
        yield emptied(server)


@attrs.define
class Desk:
    """A help desk with a fake clock and a recording mailer."""

    desk: HelpDesk
    clock: FakeClock
    mailer: RecordingMailer


def make_desk(store: Store, **mail: object) -> Desk:
    """Return a desk over ``store`` with agent Sam and mail settings changed by ``mail``."""
    clock = FakeClock(START)
    mailer = RecordingMailer()
    settings = attrs.evolve(
        MailSettings(support_address=SUPPORT, signing_key=b"fan-out-test-key" * 2), **mail
    )
    desk = HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        settings=DeskSettings(support_address=SUPPORT, agents={AGENT}, mail=settings),
    )
    return Desk(desk=desk, clock=clock, mailer=mailer)


def mail(
    subject: str,
    *,
    sender: str,
    message_id: str,
    reply_to: str | None = None,
    cc: Sequence[str] = (),
    in_reply_to: str | None = None,
    body: str = "Hello",
) -> bytes:
    """Return the bytes of a message to the support address, UTF-8 headers as they are."""
    lines = [f"From: {sender}", f"To: {SUPPORT}"]
    if reply_to is not None:
        lines.append(f"Reply-To: {reply_to}")
    if cc:
        lines.append("Cc: " + ",\r\n ".join(cc))
    lines += [
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Mon, 02 Mar 2026 09:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to is not None:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def server_stores() -> Iterator[dict[str, SqlStore | None]]:
    """Yield a store on each server whose URL is set (``None`` for the others), then drop them."""
    opened: dict[str, SqlStore | None] = {}
    try:
        for kind, (variable, _) in SERVER_URLS.items():
            url = os.environ.get(variable)
            opened[kind] = SqlStore(url, table_prefix=f"t{uuid.uuid4().hex[:10]}_") if url else None
        yield opened
    finally:
        for store in opened.values():
            if store is not None:
                store.drop_tables()
                store.close()
