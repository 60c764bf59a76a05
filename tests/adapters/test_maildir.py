"""The file transports: Maildir, mbox and .eml sources, and the Maildir outbox."""

from __future__ import annotations

import email.policy
import mailbox
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.maildir import (
    EmlDirectorySource,
    MaildirOutbox,
    MaildirSource,
    MboxSource,
    SourceMessage,
)
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import MailSource, OutboxItem
from issuecore.testing import FakeClock, RecordingMailer
from mail_servers import SUPPORT, customer_mail

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LONG_ID = "<" + "a" * 60 + "." + "b" * 60 + ".ISS-2026-00001.0123456789abcdef@support.example.com>"


def deliver(root: Path, name: str, raw: bytes, *, folder: str = "new") -> Path:
    """Put ``raw`` into the Maildir at ``root`` the way a delivery agent does."""
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    path = root / folder / name
    path.write_bytes(raw)
    return path


def message_ids(messages: list[SourceMessage]) -> list[str]:
    parser = BytesParser(policy=email.policy.default)
    return [str(parser.parsebytes(m.raw)["Message-ID"]) for m in messages]


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


# --- MaildirSource -----------------------------------------------------------------------


def test_maildir_source_yields_new_then_unseen_cur_messages_in_name_order(
    maildir_root: Path,
) -> None:
    deliver(maildir_root, "2.host", customer_mail("two", message_id="<2@c.test>"))
    deliver(maildir_root, "1.host", customer_mail("one", message_id="<1@c.test>"))
    deliver(
        maildir_root, "0.host:2,F", customer_mail("flagged", message_id="<f@c.test>"), folder="cur"
    )
    deliver(
        maildir_root, "0.host:2,RS", customer_mail("seen", message_id="<s@c.test>"), folder="cur"
    )
    messages = list(MaildirSource(maildir_root).messages())
    assert message_ids(messages) == ["<1@c.test>", "<2@c.test>", "<f@c.test>"]
    assert [m.key for m in messages] == ["1.host", "2.host", "0.host"]


def test_maildir_ack_moves_message_to_cur_with_the_seen_flag_keeping_others(
    maildir_root: Path,
) -> None:
    deliver(maildir_root, "1.host", customer_mail("one", message_id="<1@c.test>"))
    deliver(maildir_root, "2.host:2,F", customer_mail("two", message_id="<2@c.test>"), folder="cur")
    for message in MaildirSource(maildir_root).messages():
        message.ack()
    assert sorted(os.listdir(maildir_root / "cur")) == ["1.host:2,S", "2.host:2,FS"]
    assert os.listdir(maildir_root / "new") == []
    assert list(MaildirSource(maildir_root).messages()) == []


def test_unacknowledged_maildir_message_is_offered_again(maildir_root: Path) -> None:
    deliver(maildir_root, "1.host", customer_mail("one", message_id="<1@c.test>"))
    deliver(maildir_root, "2.host", customer_mail("two", message_id="<2@c.test>"))
    source = MaildirSource(maildir_root)
    first, _second = source.messages()
    first.ack()  # the second one "crashed" before its commit
    again = list(source.messages())
    assert message_ids(again) == ["<2@c.test>"]


def test_maildir_message_vanishing_between_listing_and_reading_is_skipped(
    maildir_root: Path,
) -> None:
    deliver(maildir_root, "1.host", customer_mail("one", message_id="<1@c.test>"))
    taken = deliver(maildir_root, "2.host", customer_mail("two", message_id="<2@c.test>"))
    deliver(maildir_root, "3.host", customer_mail("three", message_id="<3@c.test>"))
    iterator = MaildirSource(maildir_root).messages()
    first = next(iterator)  # the folder is listed now
    taken.unlink()  # another process takes message 2
    rest = list(iterator)
    assert message_ids([first, *rest]) == ["<1@c.test>", "<3@c.test>"]


def test_maildir_ack_after_another_process_moved_the_file_does_nothing(
    maildir_root: Path,
) -> None:
    path = deliver(maildir_root, "1.host", customer_mail("one", message_id="<1@c.test>"))
    (message,) = MaildirSource(maildir_root).messages()
    path.rename(maildir_root / "cur" / "1.host:2,S")
    message.ack()
    assert os.listdir(maildir_root / "cur") == ["1.host:2,S"]


def test_maildir_source_refuses_a_folder_that_is_not_a_maildir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"lacks tmp/, new/, cur/.*create=True"):
        MaildirSource(tmp_path / "nothing")


def test_maildir_source_creates_the_folders_when_asked(maildir_root: Path) -> None:
    source = MaildirSource(maildir_root, create=True)
    assert sorted(os.listdir(maildir_root)) == ["cur", "new", "tmp"]
    assert list(source.messages()) == []


def test_maildir_source_reads_what_the_stdlib_maildir_delivers(maildir_root: Path) -> None:
    box = mailbox.Maildir(maildir_root, create=True)
    box.add(customer_mail("one", message_id="<1@c.test>"))
    messages = list(MaildirSource(maildir_root).messages())
    assert message_ids(messages) == ["<1@c.test>"]


def test_maildir_source_satisfies_the_mail_source_port(maildir_root: Path) -> None:
    source: MailSource = MaildirSource(maildir_root, create=True)
    assert list(source.messages()) == []


def test_desk_ingests_a_maildir_once_and_a_second_run_finds_nothing(
    maildir_root: Path, tmp_path: Path
) -> None:
    for n in range(3):
        deliver(maildir_root, f"{n}.host", customer_mail(f"m{n}", message_id=f"<{n}@c.test>"))
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = make_desk(store)
        first = desk.ingest(MaildirSource(maildir_root))
        second = desk.ingest(MaildirSource(maildir_root))
    assert first.counts()["created"] == 3
    assert second.outcomes == ()


# --- MboxSource ----------------------------------------------------------------------------


def write_mbox(path: Path, *raws: bytes) -> None:
    box = mailbox.mbox(path, create=True)
    try:
        for raw in raws:
            box.add(raw)
        box.flush()
    finally:
        box.close()


def test_mbox_source_yields_every_message_in_order(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(
        path,
        customer_mail("one", message_id="<1@c.test>"),
        customer_mail("From here on", message_id="<2@c.test>", body="From the start\n"),
    )
    messages = list(MboxSource(path).messages())
    assert message_ids(messages) == ["<1@c.test>", "<2@c.test>"]
    assert [m.key for m in messages] == ["0", "1"]
    assert not messages[0].raw.startswith(b"From ")


def test_mbox_source_never_changes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, customer_mail("one", message_id="<1@c.test>"))
    before = path.read_bytes()
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    for message in MboxSource(path).messages():
        message.ack()
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == 1_000_000_000


def test_reading_an_mbox_twice_records_each_message_once(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    write_mbox(path, *(customer_mail(f"m{n}", message_id=f"<{n}@c.test>") for n in range(3)))
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = make_desk(store)
        first = desk.ingest(MboxSource(path))
        second = desk.ingest(MboxSource(path))
        assert len(desk.find()) == 3
    assert first.counts()["created"] == 3
    assert second.counts()["duplicate"] == 3


def test_missing_mbox_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no mbox file at .*absent\.mbox"):
        list(MboxSource(tmp_path / "absent.mbox").messages())


# --- EmlDirectorySource --------------------------------------------------------------------


def test_eml_source_reads_eml_files_in_sorted_order_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(customer_mail("b", message_id="<b@c.test>"))
    (tmp_path / "a.EML").write_bytes(customer_mail("a", message_id="<a@c.test>"))
    (tmp_path / "notes.txt").write_text("not mail")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.eml").write_bytes(customer_mail("c", message_id="<c@c.test>"))
    messages = list(EmlDirectorySource(tmp_path).messages())
    assert [m.key for m in messages] == ["a.EML", "b.eml"]


def test_eml_source_recursive_reads_subfolders(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(customer_mail("b", message_id="<b@c.test>"))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "c.eml").write_bytes(customer_mail("c", message_id="<c@c.test>"))
    messages = list(EmlDirectorySource(tmp_path, recursive=True).messages())
    assert [m.key for m in messages] == ["a/c.eml", "b.eml"]


def test_eml_ack_leaves_files_in_place_by_default(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(customer_mail("a", message_id="<a@c.test>"))
    for message in EmlDirectorySource(tmp_path).messages():
        message.ack()
    assert [m.key for m in EmlDirectorySource(tmp_path).messages()] == ["a.eml"]


def test_eml_ack_moves_files_to_processed_keeping_relative_paths(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "a.eml").write_bytes(customer_mail("a", message_id="<a@c.test>"))
    (inbox / "sub" / "b.eml").write_bytes(customer_mail("b", message_id="<b@c.test>"))
    done = inbox / "done"
    source = EmlDirectorySource(inbox, recursive=True, processed=done)
    first, second = source.messages()
    first.ack()
    assert (done / "a.eml").read_bytes() == first.raw
    assert [m.key for m in source.messages()] == ["sub/b.eml"]  # done/ is never read
    second.ack()
    assert (done / "sub" / "b.eml").exists()
    assert list(source.messages()) == []


def test_eml_ack_never_overwrites_a_processed_file_of_the_same_name(tmp_path: Path) -> None:
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    done.mkdir()
    (done / "a.eml").write_bytes(b"earlier")
    (inbox / "a.eml").write_bytes(customer_mail("a", message_id="<a@c.test>"))
    (message,) = EmlDirectorySource(inbox, processed=done).messages()
    message.ack()
    assert (done / "a.eml").read_bytes() == b"earlier"
    assert (done / "a.1.eml").read_bytes() == message.raw


def test_eml_file_vanishing_between_listing_and_reading_is_skipped(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.eml").write_bytes(customer_mail(name, message_id=f"<{name}@c.test>"))
    iterator = EmlDirectorySource(tmp_path).messages()
    first = next(iterator)
    (tmp_path / "b.eml").unlink()
    assert [first.key, *(m.key for m in iterator)] == ["a.eml", "c.eml"]


def test_eml_source_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no folder at"):
        EmlDirectorySource(tmp_path / "absent")


# --- MaildirOutbox -------------------------------------------------------------------------


def reply_message(policy: email.policy.EmailPolicy = email.policy.default) -> EmailMessage:
    message = EmailMessage(policy=policy)
    message["From"] = SUPPORT
    message["To"] = "ana@customer.test"
    message["Subject"] = "Re: Printer on fire [#ISS-2026-00001]"
    message["Message-ID"] = LONG_ID
    message["In-Reply-To"] = LONG_ID.replace("a", "c")
    message["References"] = LONG_ID.replace("a", "d") + " " + LONG_ID.replace("a", "c")
    message.set_content("We are on it.")
    return message


def test_outbox_creates_the_maildir_and_writes_into_new(maildir_root: Path) -> None:
    MaildirOutbox(maildir_root).send(reply_message())
    assert sorted(os.listdir(maildir_root)) == ["cur", "new", "tmp"]
    assert len(os.listdir(maildir_root / "new")) == 1
    assert os.listdir(maildir_root / "tmp") == []


def test_outbox_names_are_unique_for_many_quick_sends(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    for index in range(50):
        message = reply_message()
        message.replace_header("Message-ID", f"<reply{index}@example.com>")
        outbox.send(message)
    assert len(os.listdir(maildir_root / "new")) == 50


def test_outbox_gives_messages_without_a_message_id_a_file_each(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    message = reply_message()
    del message["Message-ID"]
    for _ in range(3):
        outbox.send(message)
    assert len(os.listdir(maildir_root / "new")) == 3


def test_outbox_writes_a_message_sent_again_only_once(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    for _ in range(3):
        outbox.send(reply_message())
    assert len(os.listdir(maildir_root / "new")) == 1
    assert os.listdir(maildir_root / "tmp") == []


def test_outbox_finds_a_message_a_reader_moved_to_cur_with_flags(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    outbox.send(reply_message())
    (name,) = os.listdir(maildir_root / "new")
    os.rename(maildir_root / "new" / name, maildir_root / "cur" / f"{name}:2,S")
    outbox.send(reply_message())
    assert os.listdir(maildir_root / "new") == []
    assert len(outbox.messages()) == 1


def test_outbox_writes_again_a_message_deleted_from_the_maildir(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    outbox.send(reply_message())
    (name,) = os.listdir(maildir_root / "new")
    os.unlink(maildir_root / "new" / name)
    outbox.send(reply_message())
    assert os.listdir(maildir_root / "new") == [name]


def test_outbox_processes_sending_one_message_at_once_leave_one_file(maildir_root: Path) -> None:
    script = (
        "import sys\n"
        "from email.message import EmailMessage\n"
        "from issuecore.adapters.maildir import MaildirOutbox\n"
        "outbox = MaildirOutbox(sys.argv[1])\n"
        "for index in range(200):\n"
        "    message = EmailMessage()\n"
        "    message['Message-ID'] = f'<race{index}@example.com>'\n"
        "    message.set_content('x')\n"
        "    outbox.send(message)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(maildir_root)]) for _ in range(4)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0, 0]
    assert len(os.listdir(maildir_root / "new")) == 200
    assert os.listdir(maildir_root / "tmp") == []


def test_outbox_writes_long_identifiers_unencoded_on_one_line(maildir_root: Path) -> None:
    MaildirOutbox(maildir_root).send(reply_message())
    (raw,) = MaildirOutbox(maildir_root).messages()
    lines = raw.decode("ascii").split("\n")
    assert f"Message-ID: {LONG_ID}" in lines
    assert f"In-Reply-To: {LONG_ID.replace('a', 'c')}" in lines
    assert f"References: {LONG_ID.replace('a', 'd')} {LONG_ID.replace('a', 'c')}" in lines
    assert b"=?utf-8?" not in raw
    assert b"\r\n" not in raw


def test_outbox_repairs_identifiers_encoded_by_a_short_line_policy(maildir_root: Path) -> None:
    # The desk's outbox keeps bytes; bytes written at 78 characters carry encoded words.
    queued = OutboxItem.for_message(reply_message(), number="ISS-2026-00001", created_at=START)
    MaildirOutbox(maildir_root).send(queued.email())
    (raw,) = MaildirOutbox(maildir_root).messages()
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert b"=?utf-8?" not in raw
    assert str(parsed["In-Reply-To"]) == LONG_ID.replace("a", "c")
    assert str(parsed["Message-ID"]) == LONG_ID


def test_outbox_keeps_non_ascii_subjects_encoded(maildir_root: Path) -> None:
    message = reply_message()
    message.replace_header("Subject", "Re: Drucker überhitzt, dringend [#ISS-2026-00001]")
    MaildirOutbox(maildir_root).send(message)
    (raw,) = MaildirOutbox(maildir_root).messages()
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert raw.isascii()
    assert str(parsed["Subject"]) == "Re: Drucker überhitzt, dringend [#ISS-2026-00001]"


def test_outbox_leaves_the_message_it_was_given_unchanged(maildir_root: Path) -> None:
    queued = OutboxItem.for_message(reply_message(), number="ISS-2026-00001", created_at=START)
    message = queued.email()
    before = message.as_bytes()
    MaildirOutbox(maildir_root).send(message)
    assert message.as_bytes() == before


def test_outbox_messages_are_read_back_by_maildir_source(maildir_root: Path) -> None:
    MaildirOutbox(maildir_root).send(reply_message())
    (message,) = MaildirSource(maildir_root).messages()
    assert message_ids([message]) == [LONG_ID]


def test_desk_sends_its_auto_reply_into_the_outbox_maildir(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = HelpDesk(
            store=store,
            mailer=MaildirOutbox(outbox),
            clock=FakeClock(START),
            settings=DeskSettings(
                support_address=SUPPORT,
                mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
            ),
        )
        outcome = desk.receive(customer_mail("Printer on fire", message_id="<m1@c.test>"))
    (raw,) = MaildirOutbox(outbox).messages()
    reply = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert outcome.auto_reply
    assert str(reply["In-Reply-To"]) == "<m1@c.test>"
    assert "[#ISS-2026-00001]" in str(reply["Subject"])


def test_outbox_messages_come_back_in_the_order_they_were_sent(maildir_root: Path) -> None:
    outbox = MaildirOutbox(maildir_root)
    for number in range(40):
        message = reply_message()
        message.replace_header("Subject", f"reply {number}")
        message.replace_header("Message-ID", f"<reply{number}@example.com>")
        outbox.send(message)
    parser = BytesParser(policy=email.policy.default)
    subjects = [str(parser.parsebytes(raw)["Subject"]) for raw in outbox.messages()]
    assert subjects == [f"reply {number}" for number in range(40)]
