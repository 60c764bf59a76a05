"""``issuecore ingest``: the example mailbox, other source kinds, the summary and exit codes."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from cli_support import DESIGNED, MAILBOX, ROOT, issuecore, load_generator, summary

from issuecore.cli._intake import Progress as _Progress


def test_ingesting_the_example_mailbox_counts_each_outcome_as_designed(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "ingest", str(MAILBOX))

    assert done.returncode == 0, done.stderr
    counts = summary(done.stdout)
    assert counts == {**DESIGNED, "total": 50}
    assert sum(counts[kind] for kind in DESIGNED) == counts["total"]
    assert "read 50 messages from" in done.stdout
    assert "automatic replies sent: 26" in done.stdout


def test_each_example_message_becomes_what_the_generator_declares(tmp_path: Path) -> None:
    expected = load_generator()
    expected.build()

    done = issuecore(tmp_path, "ingest", "--verbose", str(MAILBOX))

    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n\n", 1)[0].splitlines()
    seen = []
    for line in lines:
        kind, number = line.split()[:2]
        seen.append((kind, None if number == "-" else int(number.rsplit("-", 1)[1])))
    assert seen == expected.EXPECTED
    assert len(seen) == 50


def test_the_stranger_with_a_forged_reference_gets_an_issue_of_their_own(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "ingest", "--verbose", str(MAILBOX))

    hijack = next(line for line in done.stdout.splitlines() if "hijack.1@darkroast" in line)
    assert hijack.startswith("created")
    assert "ISS-2026-00009" in hijack
    assert "no reference to a known issue" in hijack


def test_ingesting_the_mailbox_again_records_every_message_as_a_duplicate(
    desk_dir: Path,
) -> None:
    done = issuecore(desk_dir, "ingest", str(MAILBOX))

    assert done.returncode == 0, done.stderr
    counts = summary(done.stdout)
    assert counts["duplicate"] == 50
    assert counts["created"] == counts["appended"] == 0


def test_automatic_replies_are_written_into_the_outbox_maildir(ingested_template: Path) -> None:
    sent = sorted((ingested_template / "outbox" / "new").iterdir())

    assert len(sent) == 26
    first = message_from_bytes(sent[0].read_bytes(), policy=default_policy)
    assert first["Auto-Submitted"] == "auto-replied"
    assert re.search(r"\[#ISS-2026-000\d\d\]", str(first["Subject"]))


def test_strict_ingest_exits_3_when_a_message_was_quarantined(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "ingest", "--strict", str(MAILBOX))

    assert done.returncode == 3
    assert "quarantined <nosender.1@unknown.example>: the message has no readable sender" in (
        done.stdout
    )


def test_strict_ingest_exits_0_when_nothing_was_quarantined(tmp_path: Path) -> None:
    message = tmp_path / "one.eml"
    message.write_bytes(
        b"From: Ana <ana@fjordline.example>\nTo: support@localhost\n"
        b"Subject: Hello\nMessage-ID: <one@fjordline.example>\n\nHi\n"
    )

    done = issuecore(tmp_path, "ingest", "--strict", "one.eml")

    assert done.returncode == 0, done.stderr
    assert summary(done.stdout)["created"] == 1


def write_eml(path: Path, number: int) -> None:
    path.write_bytes(
        f"From: Customer {number} <c{number}@example.org>\nTo: support@localhost\n"
        f"Subject: Question {number}\nMessage-ID: <q{number}@example.org>\n\n"
        f"Hello {number}\n".encode()
    )


def test_ingest_reads_a_folder_of_eml_files_and_a_maildir_in_one_run(tmp_path: Path) -> None:
    folder = tmp_path / "inbox-files"
    folder.mkdir()
    write_eml(folder / "a.eml", 1)
    write_eml(folder / "b.eml", 2)
    (folder / "notes.txt").write_text("not mail")
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    write_eml(maildir / "new" / "1700000000.M1P1.host", 3)

    done = issuecore(tmp_path, "ingest", "inbox-files", "Maildir")

    assert done.returncode == 0, done.stderr
    assert summary(done.stdout) == {
        "created": 3,
        "appended": 0,
        "duplicate": 0,
        "loop": 0,
        "ignored": 0,
        "quarantined": 0,
        "total": 3,
    }
    assert list((maildir / "new").iterdir()) == []  # acknowledged: moved to cur/ as seen
    assert [p.name.endswith(":2,S") for p in (maildir / "cur").iterdir()] == [True]


def test_ingest_of_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "ingest", "nowhere.mbox")

    assert done.returncode == 2
    assert "nowhere.mbox: no such file or folder" in done.stderr
    assert done.stdout == ""


def test_ingest_writes_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "ingest", str(MAILBOX))

    assert done.returncode == 0
    assert done.stderr == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_one_line_with_carriage_returns_on_a_terminal() -> None:
    stream = Terminal()
    progress = _Progress(stream, total_bytes=400, label="support.mbox")
    progress.started -= 10  # a long run: the bar is due
    for _ in range(4):
        progress.drawn_at = 0.0
        progress.advance(100)
    progress.finish()

    text = stream.getvalue()
    assert "\n" not in text
    assert text.count("\r") >= 5
    assert "[" + "#" * 30 + "] 100% 4 messages" in text
    assert text.endswith("\r")


def test_progress_bar_stays_silent_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = _Progress(stream, total_bytes=100, label="x")
    progress.started -= 10
    progress.advance(100)
    progress.finish()

    assert stream.getvalue() == ""


def test_the_generator_reproduces_the_committed_mailbox_byte_for_byte(tmp_path: Path) -> None:
    output = tmp_path / "support.mbox"

    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "make_mailbox.py"), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert output.read_bytes() == MAILBOX.read_bytes()


@pytest.mark.parametrize("year", [2026, 2027, 2031])
def test_the_example_mailbox_gives_the_same_outcomes_in_any_year(tmp_path: Path, year: int) -> None:
    done = issuecore(tmp_path, "ingest", "-v", str(MAILBOX), now=f"{year}-01-05T09:00:00+00:00")

    assert summary(done.stdout) == {**DESIGNED, "total": 50}
    assert f"ISS-{year}-00026" in done.stdout
    assert "#ISS-" not in MAILBOX.read_text(encoding="utf-8", errors="replace")


# The message that stopped `issuecore ingest` for good: a raw byte in its Message-ID.
POISON = b"From: a@c.example\nTo: support@localhost\nSubject: s\nMessage-ID: <\xff@c>\n\nx\n"


def test_ingest_reads_every_message_behind_a_poison_message_in_a_maildir(
    tmp_path: Path,
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1700000000.M0P1.host").write_bytes(POISON)
    (maildir / "new" / "1700000001.M1P1.host").write_bytes(b"")
    for number in (1, 2, 3):
        write_eml(maildir / "new" / f"170000001{number}.M{number}P1.host", number)

    done = issuecore(tmp_path, "ingest", "--verbose", "Maildir")

    assert done.returncode == 0, done.stderr
    counts = summary(done.stdout)
    assert (counts["created"], counts["quarantined"], counts["total"]) == (4, 1, 5)
    assert "<%FF@c>" in done.stdout
    assert list((maildir / "new").iterdir()) == []
    again = issuecore(tmp_path, "ingest", "Maildir")
    assert summary(again.stdout)["total"] == 0


def test_ingest_reads_every_message_behind_a_poison_message_in_an_mbox(tmp_path: Path) -> None:
    mbox = tmp_path / "inbox.mbox"
    others = [
        f"From: C{n} <c{n}@example.org>\nTo: support@localhost\nSubject: Q{n}\n"
        f"Message-ID: <q{n}@example.org>\n\nHello {n}\n".encode()
        for n in (1, 2)
    ]
    mbox.write_bytes(
        b"".join(
            b"From sender@example.org Mon Mar  2 09:00:00 2026\n" + m + b"\n"
            for m in [POISON, *others]
        )
    )

    done = issuecore(tmp_path, "ingest", "inbox.mbox")

    assert done.returncode == 0, done.stderr
    assert summary(done.stdout)["created"] == 3


def test_ingest_names_a_message_it_could_not_record_exits_4_and_reads_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from issuecore._desk import HelpDesk
    from issuecore.cli import EXIT_NOT_RECORDED, main
    from issuecore.errors import StoreUnavailableError

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number in (1, 2, 3):
        write_eml(maildir / "new" / f"170000000{number}.M{number}P1.host", number)
    receive = HelpDesk.receive

    def store_down_for_the_second(desk: HelpDesk, raw: bytes) -> object:
        if b"<q2@example.org>" in raw:
            raise StoreUnavailableError.could_not_record(
                "<q2@example.org>",
                cause=ConnectionError("server gone"),
                quarantine_error=ConnectionError("server gone"),
            )
        return receive(desk, raw)

    monkeypatch.setattr(HelpDesk, "receive", store_down_for_the_second)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISSUECORE_NOW", "2026-03-02T09:00:00+00:00")

    code = main(["ingest", "--batch-size", "1", "Maildir"])

    out, err = capsys.readouterr()
    assert code == EXIT_NOT_RECORDED == 4
    assert "not recorded <q2@example.org>" in err
    assert "1 message could not be recorded" in err
    assert summary(out)["created"] == 2
    left = list((maildir / "new").iterdir())
    assert [path.name for path in left] == ["1700000002.M2P1.host"]


def test_use_message_dates_counts_a_backlog_from_its_own_dates(tmp_path: Path) -> None:
    (tmp_path / "old.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Date: Fri, 27 Feb 2026 15:00:00 +0100\nMessage-ID: <old.1@example.org>\n\nIt leaks.\n"
    )
    (tmp_path / "other").mkdir()
    shutil.copy(tmp_path / "old.eml", tmp_path / "other" / "old.eml")

    dated = issuecore(tmp_path, "ingest", "--use-message-dates", "old.eml")
    received = issuecore(tmp_path / "other", "ingest", "old.eml")

    assert dated.returncode == 0, dated.stderr
    assert received.returncode == 0, received.stderr
    shown = json.loads(issuecore(tmp_path, "show", "1", "--json").stdout)
    plain = json.loads(issuecore(tmp_path / "other", "show", "1", "--json").stdout)
    assert shown["created_at"] == "2026-02-27T14:00:00+00:00"
    assert plain["created_at"] == "2026-03-02T09:00:00+00:00"


def test_ingest_counts_the_agent_replies_it_relayed(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text('agents = ["ben@example.org"]\n')
    (tmp_path / "ana.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Message-ID: <a.1@example.org>\n\nIt leaks.\n"
    )
    (tmp_path / "ben.eml").write_bytes(
        b"From: Ben <ben@example.org>\nTo: support@localhost\nSubject: Re: Leak\n"
        b"In-Reply-To: <a.1@example.org>\nReferences: <a.1@example.org>\n"
        b"Message-ID: <b.1@example.org>\n\nPlease check the seal.\n"
    )

    done = issuecore(tmp_path, "ingest", "ana.eml", "ben.eml")

    assert done.returncode == 0, done.stderr
    assert "agent replies relayed to customers: 1" in done.stdout
