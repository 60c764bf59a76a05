"""ImapSource against a real IMAP server: a private Dovecot started by the fixtures."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.imap import ImapMessage, ImapSource
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.errors import MailSettingsError, MailTransportError
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingMailer
from mail_servers import SUPPORT, Certificate, Dovecot, customer_mail, free_port

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKER = Path(__file__).with_name("imap_ingest_worker.py")


def mails(count: int, *, prefix: str = "m") -> list[bytes]:
    return [
        customer_mail(f"Question {n}", message_id=f"<{prefix}{n}@customer.test>")
        for n in range(1, count + 1)
    ]


def source_for(dovecot: Dovecot, user: str, **options: object) -> ImapSource:
    options.setdefault("security", "none")
    return ImapSource(
        dovecot.host,
        dovecot.port,
        username=user,
        password=dovecot.password,
        **options,  # type: ignore[arg-type]
    )


def make_desk(store: SQLiteStore) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "desk.db") as opened:
        yield opened


def test_fetching_yields_messages_in_uid_order_and_never_marks_them_seen(
    dovecot: Dovecot, imap_user: str
) -> None:
    sent = mails(3)
    dovecot.append(imap_user, *sent)
    messages = list(source_for(dovecot, imap_user).messages())
    assert [m.raw.replace(b"\r\n", b"\n") for m in messages] == [
        raw.replace(b"\r\n", b"\n") for raw in sent
    ]
    assert [m.uid for m in messages] == [1, 2, 3]
    assert dovecot.search(imap_user, "UNSEEN") == [1, 2, 3]


def test_ack_marks_only_that_message_seen(dovecot: Dovecot, imap_user: str) -> None:
    dovecot.append(imap_user, *mails(3))
    for message in source_for(dovecot, imap_user).messages():
        if message.uid == 2:
            message.ack()
    assert dovecot.search(imap_user, "SEEN") == [2]
    assert [m.uid for m in source_for(dovecot, imap_user).messages()] == [1, 3]


def test_desk_ingests_the_mailbox_and_a_second_run_finds_nothing(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(3))
    desk = make_desk(store)
    first = desk.ingest(source_for(dovecot, imap_user))
    second = desk.ingest(source_for(dovecot, imap_user))
    assert first.counts()["created"] == 3
    assert second.outcomes == ()
    assert dovecot.search(imap_user, "UNSEEN") == []
    assert len(desk.find()) == 3


def test_a_message_not_acknowledged_is_fetched_again_and_recorded_as_duplicate(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(2))
    desk = make_desk(store)
    (first, _second) = source_for(dovecot, imap_user).messages()
    desk.receive(first.raw)  # committed, then the process "died" before first.ack()
    report = desk.ingest(source_for(dovecot, imap_user))
    assert [o.kind for o in report.outcomes] == ["duplicate", "created"]
    assert dovecot.search(imap_user, "UNSEEN") == []


def test_processed_mailbox_receives_acknowledged_messages(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(3))
    source = source_for(dovecot, imap_user, processed_mailbox="Processed")
    report = make_desk(store).ingest(source)
    assert report.counts()["created"] == 3
    assert dovecot.search(imap_user, "ALL") == []
    assert len(dovecot.search(imap_user, "ALL", mailbox="Processed")) == 3
    assert list(source.messages()) == []


def test_processed_mode_also_takes_messages_someone_already_read(
    dovecot: Dovecot, imap_user: str
) -> None:
    dovecot.append(imap_user, *mails(2))
    for message in source_for(dovecot, imap_user).messages():
        message.ack()  # flagged seen, as a mail client reading them would
    source = source_for(dovecot, imap_user, processed_mailbox="Done")
    assert [m.uid for m in source.messages()] == [1, 2]


def test_small_batches_fetch_every_message(dovecot: Dovecot, imap_user: str) -> None:
    dovecot.append(imap_user, *mails(5))
    messages = list(source_for(dovecot, imap_user, batch=2).messages())
    assert [m.uid for m in messages] == [1, 2, 3, 4, 5]


def test_message_expunged_by_another_client_between_search_and_fetch_is_skipped(
    dovecot: Dovecot, imap_user: str
) -> None:
    dovecot.append(imap_user, *mails(3))
    iterator = source_for(dovecot, imap_user, batch=1).messages()
    first = next(iterator)  # searched, and fetched the first batch
    other = dovecot.client(imap_user)
    try:
        other.select("INBOX")
        other.uid("STORE", "2", "+FLAGS.SILENT", r"(\Deleted)")
        other.expunge()
    finally:
        other.logout()
    assert [first.uid, *(m.uid for m in iterator)] == [1, 3]


def test_one_connection_serves_every_run_inside_the_with_block(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(2))
    desk = make_desk(store)
    with source_for(dovecot, imap_user) as source:
        first = desk.ingest(source)
        dovecot.append(imap_user, *mails(1, prefix="late"))
        second = desk.ingest(source)
    assert first.counts()["created"] == 2
    assert second.counts()["created"] == 1


def test_ack_after_the_connection_closed_raises_and_leaves_the_message_waiting(
    dovecot: Dovecot, imap_user: str
) -> None:
    dovecot.append(imap_user, *mails(2))
    iterator = source_for(dovecot, imap_user).messages()
    message = next(iterator)
    iterator.close()  # logs out
    with pytest.raises(
        MailTransportError, match=r"ack failed: this run.s connection is closed or failed"
    ):
        message.ack()
    assert dovecot.search(imap_user, "UNSEEN") == [1, 2]


def test_wrong_password_fails_at_login_and_never_shows_the_password(
    lone_dovecot: Dovecot,
) -> None:
    source = ImapSource(
        lone_dovecot.host, lone_dovecot.port, username="ana", password="wrong-42", security="none"
    )
    with pytest.raises(MailTransportError) as raised:
        list(source.messages())
    error = raised.value
    assert (error.protocol, error.operation, error.port) == ("IMAP", "login", lone_dovecot.port)
    assert "AUTHENTICATIONFAILED" in str(error)
    assert "wrong-42" not in str(error)
    assert "wrong-42" not in repr(source)


def test_connection_refused_names_host_port_and_step() -> None:
    port = free_port()
    source = ImapSource("127.0.0.1", port, username="u", password="p", security="none")
    with pytest.raises(MailTransportError) as raised:
        list(source.messages())
    assert str(raised.value).startswith(f"IMAP server 127.0.0.1:{port}: connect failed:")


def test_a_missing_mailbox_is_reported_at_select(dovecot: Dovecot, imap_user: str) -> None:
    with pytest.raises(
        MailTransportError, match=r"select 'Nowhere' failed: the server answered NO"
    ):
        list(source_for(dovecot, imap_user, mailbox="Nowhere").messages())


def test_starttls_reads_the_mailbox(dovecot: Dovecot, imap_user: str, tls: Certificate) -> None:
    dovecot.append(imap_user, *mails(1))
    source = source_for(dovecot, imap_user, security="starttls", ssl_context=tls.client_context())
    assert [m.uid for m in source.messages()] == [1]


def test_implicit_tls_reads_the_mailbox(dovecot: Dovecot, imap_user: str, tls: Certificate) -> None:
    assert dovecot.ssl_port is not None
    dovecot.append(imap_user, *mails(1))
    source = ImapSource(
        dovecot.host,
        dovecot.ssl_port,
        username=imap_user,
        password=dovecot.password,
        ssl_context=tls.client_context(),
    )
    assert [m.uid for m in source.messages()] == [1]


def test_settings_that_cannot_work_are_refused_before_connecting() -> None:
    with pytest.raises(MailSettingsError, match="expected 'ssl', 'starttls' or 'none'"):
        ImapSource("h", username="u", password="p", security="tls")
    with pytest.raises(MailSettingsError, match="a mailbox other than 'INBOX'"):
        ImapSource("h", username="u", password="p", processed_mailbox="INBOX")
    with pytest.raises(MailSettingsError, match="batch=0"):
        ImapSource("h", username="u", password="p", batch=0)


def recreate(dovecot: Dovecot, user: str, mailbox: str) -> None:
    connection = dovecot.client(user)
    try:
        assert connection.delete(mailbox)[0] == "OK"
        assert connection.create(mailbox)[0] == "OK"
    finally:
        connection.logout()


def test_uidvalidity_change_between_runs_refetches_and_the_desk_reports_duplicates(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(2), mailbox="Support")
    desk = make_desk(store)
    before: list[ImapMessage] = []
    source = source_for(dovecot, imap_user, mailbox="Support")
    for message in source.messages():
        before.append(message)
        desk.receive(message.raw)
        message.ack()
    # The mailbox is rebuilt: same messages, flags lost, a new UIDVALIDITY, plus a new one.
    recreate(dovecot, imap_user, "Support")
    dovecot.append(imap_user, *mails(2), *mails(1, prefix="new"), mailbox="Support")
    after = list(source.messages())
    report = desk.ingest(source)
    assert {m.uidvalidity for m in after}.isdisjoint({m.uidvalidity for m in before})
    assert [o.kind for o in report.outcomes] == ["duplicate", "duplicate", "created"]
    assert len(desk.find()) == 3


def test_uidvalidity_change_during_a_run_stops_it_and_acknowledges_nothing_more(
    dovecot: Dovecot, imap_user: str, store: SQLiteStore
) -> None:
    dovecot.append(imap_user, *mails(3), mailbox="Support")
    desk = make_desk(store)
    with source_for(dovecot, imap_user, mailbox="Support", batch=1) as source:
        iterator = source.messages()
        first = next(iterator)
        desk.receive(first.raw)
        first.ack()
        second = next(iterator)
        recreate(dovecot, imap_user, "Support")
        dovecot.append(imap_user, *mails(3), mailbox="Support")
        # Dovecot answers the next FETCH with an error; a server that announces the new
        # UIDVALIDITY instead gets the same treatment from the source's own check.
        with pytest.raises(MailTransportError, match="fetch failed"):
            next(iterator)
        iterator.close()
        with pytest.raises(
            MailTransportError, match=r"ack failed: this run.s connection is closed or failed"
        ):
            second.ack()
        # Nothing was lost: the next run reconnects and offers every message again.
        report = desk.ingest(source)
    assert [o.kind for o in report.outcomes] == ["duplicate", "created", "created"]


def run_worker(dovecot: Dovecot, user: str, database: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            dovecot.host,
            str(dovecot.port),
            user,
            dovecot.password,
            str(database),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_between_commit_and_ack_every_message_is_recorded_exactly_once(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    sent = mails(5)
    dovecot.append(imap_user, *sent)
    database = tmp_path / "desk.db"

    crashed = run_worker(dovecot, imap_user, database, "3")
    out, err = crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL, err
    assert out == ""
    # Messages 1 and 2 were acknowledged; 3 was committed but its ack was lost.
    assert dovecot.search(imap_user, "UNSEEN") == [3, 4, 5]

    again = run_worker(dovecot, imap_user, database)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert json.loads(out) == [
        ["duplicate", "<m3@customer.test>"],
        ["created", "<m4@customer.test>"],
        ["created", "<m5@customer.test>"],
    ]
    assert dovecot.search(imap_user, "UNSEEN") == []

    with SQLiteStore(database) as store, store.transaction(read_only=True) as work:
        issues = work.find_issues()
        threads = [work.thread(issue.number) for issue in issues]
        records = [work.lookup_message(f"<m{n}@customer.test>") for n in range(1, 6)]
    assert len(issues) == 5
    assert [len(thread) for thread in threads] == [1, 1, 1, 1, 1]
    assert sorted(entry.message_id for thread in threads for entry in thread) == [
        f"<m{n}@customer.test>" for n in range(1, 6)
    ]
    assert all(record is not None and record.outcome == "created" for record in records)
