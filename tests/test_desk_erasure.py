"""Erasing a person leaves no trace of their address or text in any table; purge deletes old issues.

The same scenario runs on every store; afterwards every table (and every blob)
is read back whole and searched for the person's address, their words and the
bytes of their attachment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa

from issuecore import AgreementStatus, DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from stores import STORE_KINDS, fresh_store

H = timedelta(hours=1)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
PERSON = "ana.secret@customer.test"
WORDS = "my confidential diagnosis xylophone"
SCAN = b"SCANNED-PASSPORT-BYTES-0042"


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


def _desk(store: Store) -> tuple[HelpDesk, FakeClock]:
    clock = FakeClock(START)
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=clock,
        agreements=(
            ServiceLevelAgreement(
                name="Standard",
                targets={"Medium": SlaTarget(response=2 * H, resolution=8 * H)},
                default_priority="Medium",
                default=True,
            ),
        ),
        settings=DeskSettings(support_address="support@example.com"),
    )
    return desk, clock


def _mail(subject: str, message_id: str, *, sender: str = PERSON, cc: str | None = None) -> bytes:
    person = sender == PERSON
    message = EmailMessage()
    message["From"] = f"Ana Secret <{sender}>"
    message["To"] = "support@example.com"
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(f"Hello, {WORDS}." if person else "Hello, a question for the team.")
    if person:
        message.add_attachment(SCAN, maintype="application", subtype="pdf", filename="passport.pdf")
    return message.as_bytes()


def _everything(store: Store) -> bytes:
    """Return every value of every table (and blob) of ``store`` as bytes."""
    if isinstance(store, InMemoryStore):
        tables = store._tables
        payloads = b"".join(item.payload for item in tables.outbox.values())
        return repr(tables).encode() + b"".join(tables.blobs.values()) + payloads
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as connection:
            names = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            ]
            return b"".join(
                repr(connection.execute(f'SELECT * FROM "{name}"').fetchall()).encode()
                + b"".join(
                    value
                    for row in connection.execute(f'SELECT * FROM "{name}"')
                    for value in row
                    if isinstance(value, bytes)
                )
                for name in names
            )
    assert isinstance(store, SqlStore)
    dumped = []
    with store.engine.connect() as connection:
        for table in store._schema.data_tables():
            for row in connection.execute(sa.select(table)):
                dumped.append(repr(tuple(row)).encode())
                dumped.extend(bytes(v) for v in row if isinstance(v, bytes | memoryview))
    return b"".join(dumped)


def _traces(store: Store) -> list[bytes]:
    found = _everything(store)
    return [
        needle for needle in (PERSON.encode(), b"ana.secret", b"xylophone", SCAN) if needle in found
    ]


def test_erasing_a_person_leaves_no_trace_of_them_in_any_table(store: Store) -> None:
    desk, clock = _desk(store)
    raised = desk.receive(_mail("Passport problem", "<p1@customer.test>")).issue_number
    assert raised is not None
    desk.set_details(raised, references={"customer": "CUST-1"}, fields={"name": PERSON}, by="ben")
    clock.advance(H)
    desk.reply(raised, body="Thanks, looking.", author="ben")
    other = desk.receive(
        _mail("Team question", "<o1@other.test>", sender="bob@other.test", cc=PERSON)
    ).issue_number
    assert other is not None
    third = desk.receive(_mail("Another question", "<o2@customer.test>")).issue_number
    desk.tick()
    assert _traces(store)  # the scenario did store the person's data

    before = desk.get(raised)
    changed = desk.erase_person(PERSON, by="dpo")

    assert set(changed) == {raised, other, third}
    assert _traces(store) == []
    skeleton = desk.get(raised)
    assert skeleton.subject == "[erased]"
    assert skeleton.history[-1].action == "erase"
    assert skeleton.sla is not None
    assert skeleton.sla.metrics() == before.sla.metrics()  # type: ignore[union-attr]
    assert skeleton.sla.status(clock.now()) is not AgreementStatus.FIRST_RESPONSE_DUE
    assert [entry.text for entry in desk.thread(raised)] == ["[erased]", "[erased]"]
    # Bob's own message on the other issue stays; only the person's part is gone.
    texts = [entry.text for entry in desk.thread(other)]
    assert any("xylophone" not in text and text != "[erased]" for text in texts)
    assert desk.get(other).participants == ()


def test_erasing_one_issue_keeps_its_skeleton_and_sla_metrics(store: Store) -> None:
    desk, clock = _desk(store)
    number = desk.receive(_mail("Passport problem", "<p1@customer.test>")).issue_number
    assert number is not None
    clock.advance(H)
    desk.reply(number, body="Done.", author="ben")
    desk.resolve(number, by="ben")
    before = desk.get(number)
    erased = desk.erase(number, by="dpo")
    assert (erased.status, erased.created_at, erased.resolved_at) == (
        before.status,
        before.created_at,
        before.resolved_at,
    )
    assert erased.raised_by == "erased@erased.invalid"
    assert [entry.action for entry in erased.history[:-1]] == [e.action for e in before.history]
    assert desk.thread(number)[0].attachments == ()
    # Only the auto-reply rate limit still counts the address; erase_person forgets it too.
    assert _traces(store) == [PERSON.encode(), b"ana.secret"]
    desk.erase_person(PERSON, by="dpo")
    assert _traces(store) == []


def test_purge_deletes_issues_closed_before_an_instant_and_keeps_the_rest(store: Store) -> None:
    desk, clock = _desk(store)
    old = desk.receive(_mail("Old", "<old@customer.test>")).issue_number
    recent = desk.receive(_mail("Recent", "<new@customer.test>", sender="c@d.test")).issue_number
    still_open = desk.open_issue(subject="Open", raised_by="e@f.test", body="b").number
    assert old is not None
    assert recent is not None
    desk.close(old, by="ben")
    clock.advance(48 * H)
    desk.close(recent, by="ben")
    assert desk.purge(closed_before=START + 24 * H) == (old,)
    assert {issue.number for issue in desk.find()} == {recent, still_open}
    left = _everything(store)
    assert b"xylophone" not in left
    assert SCAN not in left


def test_erasing_someone_unknown_changes_nothing(store: Store) -> None:
    desk, _ = _desk(store)
    number = desk.open_issue(subject="s", raised_by="x@y.test", body="b").number
    before = desk.get(number)
    assert desk.erase_person("nobody@nowhere.test", by="dpo") == ()
    assert desk.get(number) == before
