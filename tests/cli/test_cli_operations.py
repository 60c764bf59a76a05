"""Operating the desk: quarantined mail, dead letters, attachments and SLA reports."""

from __future__ import annotations

import json
import os
import stat
from email import message_from_bytes
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_support import issuecore

NOSENDER = "<nosender.1@unknown.example>"
SVG = "{http://www.w3.org/2000/svg}"


# --- quarantine -----------------------------------------------------------------------------


def test_quarantine_lists_the_quarantined_messages_with_the_reason(desk_dir: Path) -> None:
    plain = issuecore(desk_dir, "quarantine")
    listed = issuecore(desk_dir, "quarantine", "list", "--json")

    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[1].split("  ")[1:] == [
        NOSENDER,
        "the message has no readable sender",
    ]
    assert json.loads(listed.stdout) == [
        {
            "message_id": NOSENDER,
            "at": "2026-03-02T09:00:00+00:00",
            "reason": "the message has no readable sender",
        }
    ]


def test_quarantine_show_prints_the_headers_and_text(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "quarantine", "show", NOSENDER)

    assert done.returncode == 0, done.stderr
    assert "Subject:     machine for sale" in done.stdout
    assert "    Used machine for sale, write back." in done.stdout


def test_quarantine_export_writes_the_bytes_as_received(desk_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "kept.eml"

    done = issuecore(desk_dir, "quarantine", "export", NOSENDER, "--output", str(target))
    again = issuecore(desk_dir, "quarantine", "export", NOSENDER, "--output", str(target))
    piped = issuecore(desk_dir, "quarantine", "export", NOSENDER)

    assert done.returncode == 0, done.stderr
    message = message_from_bytes(target.read_bytes())
    assert message["Message-ID"] == NOSENDER
    assert message["Subject"] == "machine for sale"
    assert piped.stdout.encode() == target.read_bytes()
    assert again.returncode == 2  # never overwrites
    assert again.stderr.endswith("exists already; name another file\n")


def test_an_unknown_quarantined_message_is_one_line_and_exit_1(desk_dir: Path) -> None:
    for action in ("show", "export", "reingest"):
        done = issuecore(desk_dir, "quarantine", action, "<nothing@example.org>")
        assert done.returncode == 1
        assert done.stderr == (
            "issuecore: error: no quarantined message <nothing@example.org>; "
            "see `issuecore quarantine list`\n"
        )


def test_a_message_that_was_not_quarantined_cannot_be_exported(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "quarantine", "export", "<20260302.leak.1@mail.fjordline.example>")

    assert done.returncode == 1


STRANGER = (
    b"From: Mallory <mallory@elsewhere.example>\nTo: support@localhost\n"
    b"Subject: Re: Leak [#ISS-2026-00001]\nMessage-ID: <m.1@elsewhere.example>\n\nMe too.\n"
)


def test_reingest_files_a_message_again_once_the_cause_is_fixed(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text('[mail]\nstranger_policy = "reject"\n')
    (tmp_path / "ana.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Message-ID: <a.1@example.org>\n\nIt leaks.\n"
    )
    (tmp_path / "mallory.eml").write_bytes(STRANGER)
    issuecore(tmp_path, "ingest", "ana.eml", "mallory.eml")
    assert "rejected by policy" in issuecore(tmp_path, "quarantine", "list").stdout

    (tmp_path / "issuecore.toml").write_text('[mail]\nstranger_policy = "attach_unverified"\n')
    done = issuecore(tmp_path, "quarantine", "reingest", "<m.1@elsewhere.example>")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("appended     ISS-2026-00001  <m.1@elsewhere.example>")
    assert issuecore(tmp_path, "quarantine", "list").stdout == "no quarantined messages\n"
    shown = issuecore(tmp_path, "show", "ISS-2026-00001").stdout
    assert "mallory@elsewhere.example [unverified]" in shown


def test_reingest_of_a_message_still_unreadable_quarantines_it_again(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "quarantine", "reingest", NOSENDER)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("quarantined")
    assert NOSENDER in issuecore(desk_dir, "quarantine", "list").stdout


# --- the outbox -----------------------------------------------------------------------------


def _dead_letter(folder: Path) -> None:
    """Leave the automatic reply of one message as a dead letter (the Maildir is a file)."""
    (folder / "not-a-folder").write_text("")
    (folder / "issuecore.toml").write_text('[outbox]\nmaildir = "not-a-folder"\n')
    (folder / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )
    issuecore(folder, "ingest", "one.eml")
    for day in range(3, 12):  # the nine attempts left, a day apart
        issuecore(folder, "tick", now=f"2026-03-{day:02d}T09:00:00+00:00")


def test_outbox_list_shows_dead_letters_and_retry_all_delivers_them(tmp_path: Path) -> None:
    _dead_letter(tmp_path)
    listed = issuecore(tmp_path, "outbox", "list", "--json")
    dead = json.loads(listed.stdout)["dead_letters"]
    assert [(item["kind"], item["number"], item["attempts"]) for item in dead] == [
        ("mail", "ISS-2026-00001", 10)
    ]
    assert "NotADirectoryError" in dead[0]["last_error"]
    (tmp_path / "not-a-folder").unlink()

    done = issuecore(tmp_path, "outbox", "retry", "--all")

    assert done.stdout.splitlines() == ["delivered    1", "failed       0"]
    assert json.loads(issuecore(tmp_path, "outbox", "list", "--json").stdout) == {
        "waiting": [],
        "dead_letters": [],
    }
    assert len(list((tmp_path / "not-a-folder" / "new").iterdir())) == 1


def test_outbox_retry_of_an_id_that_is_no_dead_letter_is_one_line_and_exit_1(
    desk_dir: Path,
) -> None:
    done = issuecore(desk_dir, "outbox", "retry", "0123")

    assert done.returncode == 1
    assert done.stderr == (
        "issuecore: error: 0123 is not a dead letter; see `issuecore outbox list`\n"
    )


def test_outbox_retry_needs_ids_or_all(desk_dir: Path) -> None:
    assert issuecore(desk_dir, "outbox", "retry").returncode == 2
    assert issuecore(desk_dir, "outbox", "retry", "--all").stdout == "no dead letters\n"


# --- attachments ----------------------------------------------------------------------------


def test_attachments_lists_the_files_of_a_thread(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "attachments", "ISS-2026-00003")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "1      burr.png           image/png  69",
        "2      grinder-noise.ogg  audio/ogg  70",
    ]


def test_attachments_save_writes_each_file_once_without_replacing_any(
    desk_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "files"

    first = issuecore(desk_dir, "attachments", "ISS-2026-00003", "--save", str(target))
    second = issuecore(desk_dir, "attachments", "ISS-2026-00003", "--save", str(target))

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        "burr (2).png",
        "burr.png",
        "grinder-noise (2).ogg",
        "grinder-noise.ogg",
    ]
    assert (target / "burr.png").read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE((target / "burr.png").stat().st_mode) == 0o600


HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("/absolute/name.txt", "name.txt"),
    (".bashrc", "bashrc"),
    ("..", "attachment-1"),
    ("CON.txt", "_CON.txt"),
    ("a\x1b[2Jb.pdf", "a_[2Jb.pdf"),
    ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
]


@pytest.mark.parametrize(("given", "saved"), HOSTILE_NAMES)
def test_attachment_names_are_made_safe(given: str, saved: str) -> None:
    from issuecore.cli._operations import safe_filename

    assert safe_filename(given, "attachment-1") == saved


def test_saved_attachments_stay_inside_the_folder(tmp_path: Path) -> None:
    mail = (
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Files\n"
        b"Message-ID: <f.1@example.org>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nSee attached.\n"
        b"--b\nContent-Type: text/plain\n"
        b'Content-Disposition: attachment; filename="../../evil.txt"\n\n'
        b"evil\n--b--\n"
    )
    (tmp_path / "f.eml").write_bytes(mail)
    issuecore(tmp_path, "ingest", "f.eml")

    done = issuecore(tmp_path, "attachments", "ISS-2026-00001", "--save", "saved")

    assert done.returncode == 0, done.stderr
    written = list(tmp_path.rglob("*evil*"))
    assert [p.relative_to(tmp_path).parts[0] for p in written] == ["saved"]


# --- reports --------------------------------------------------------------------------------


def _worked(folder: Path) -> None:
    """Answer two issues in time, resolve one, and let the sweep find the rest breached."""
    for number in ("ISS-2026-00001", "ISS-2026-00002"):
        issuecore(folder, "reply", number, "--body", "On it.", now="2026-03-02T10:00:00+00:00")
    issuecore(folder, "resolve", "ISS-2026-00001", now="2026-03-02T11:00:00+00:00")
    issuecore(folder, "priority", "ISS-2026-00003", "High", now="2026-03-02T09:30:00+00:00")


def test_report_json_counts_the_month(example_desk_dir: Path) -> None:
    _worked(example_desk_dir)

    done = issuecore(
        example_desk_dir,
        "report",
        "2026-03",
        "--by",
        "priority",
        "--json",
        now="2026-03-04T12:00:00Z",
    )

    report = json.loads(done.stdout)
    total = report["total"]
    assert (total["opened"], total["resolved"]) == (26, 1)
    assert (total["response_met"], total["response_breached"]) == (2, 24)
    by_priority = {row["priority"]: row for row in report["rows"]}
    assert by_priority["High"]["opened"] == 1
    assert by_priority["Medium"]["opened"] == 25


def test_report_prints_a_table_with_percentages(example_desk_dir: Path) -> None:
    _worked(example_desk_dir)

    done = issuecore(example_desk_dir, "report", "2026-03", now="2026-03-04T12:00:00Z")

    lines = done.stdout.splitlines()
    assert lines[0].startswith("issues opened 2026-03-01 to 2026-04-01 (UTC)")
    assert lines[1].split()[:3] == ["OPENED", "RESOLVED", "RESPONSE"]
    assert lines[2].split()[:4] == ["26", "1", "2/24", "8%"]


def test_report_svg_is_a_well_formed_chart(example_desk_dir: Path, tmp_path: Path) -> None:
    _worked(example_desk_dir)
    chart = tmp_path / "march.svg"

    done = issuecore(
        example_desk_dir,
        "report",
        "2026-03",
        "--by",
        "priority",
        "--svg",
        str(chart),
        now="2026-03-04T12:00:00Z",
    )

    assert done.returncode == 0, done.stderr
    root = ElementTree.parse(chart).getroot()
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "High" in texts
    assert "total" in texts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-13",), "2026-13"),
        (("March",), "March"),
        (("2026-03", "--by", "colour"), "--by 'colour' is not a dimension; known: priority"),
    ],
)
def test_a_wrong_report_period_or_dimension_is_one_line_and_exit_2(
    desk_dir: Path, args: tuple[str, ...], message: str
) -> None:
    done = issuecore(desk_dir, "report", *args)

    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert message in done.stderr


def test_report_of_an_empty_month_has_zero_rows(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "report", "2025-01", "--json")

    assert json.loads(done.stdout)["total"]["opened"] == 0
    assert os.path.exists(desk_dir / "issuecore.db")
