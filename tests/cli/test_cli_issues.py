"""Working issues from the command line: list, show, reply, note, the status actions, tick."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from cli_support import issuecore

AGENT = "ben@brightwater.example"


def rows(stdout: str) -> dict[str, list[str]]:
    """Return the rows of the list table by issue number, split on runs of two spaces."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("ISS-"):
            cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
            found[cells[0]] = cells
    return found


def test_list_shows_every_issue_with_status_priority_and_sla_deadlines(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "list", now="2026-03-02T11:00:00+00:00")

    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header[:4] == ["NUMBER", "STATUS", "PRIORITY", "SUBJECT"]
    assert "SLA" in header
    table = rows(done.stdout)
    assert len(table) == 26
    # The embedded agreement counts elapsed time: 8 h to respond, 3 days to resolve.
    assert table["ISS-2026-00001"] == [
        "ISS-2026-00001",
        "Open",
        "Medium",
        "Espresso machine leaks water",
        "First Response Due",
        "2026-03-02 17:00",
        "6h",
        "2026-03-05 09:00",
        "70h",
    ]
    assert done.stdout.rstrip().endswith("26 issues; times in UTC")


def test_list_filters_by_raised_by_and_status(desk_dir: Path) -> None:
    by_bruno = issuecore(desk_dir, "list", "--raised-by", "BRUNO@cafe-rossi.example")
    issuecore(desk_dir, "hold", "ISS-2026-00002", "--by", AGENT)
    on_hold = issuecore(desk_dir, "list", "--status", "On Hold")

    assert list(rows(by_bruno.stdout)) == ["ISS-2026-00002"]
    assert list(rows(on_hold.stdout)) == ["ISS-2026-00002"]
    assert rows(on_hold.stdout)["ISS-2026-00002"][4] == "Paused"


def test_list_of_an_empty_desk_says_so(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "list")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "no issues\n"


def test_show_prints_the_thread_with_attachments_history_and_sla_state(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "show", "ISS-2026-00003", now="2026-03-02T10:00:00+00:00")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("ISS-2026-00003  Grinder makes loud noise\n")
    assert "raised by    chen@bluebird.example" in out
    assert "SLA: Standard, priority Medium: First Response Due" in out
    assert "response     target 8h: due 2026-03-02 17:00, left 7h business, 7h calendar" in out
    assert "resolution   target 72h: due 2026-03-05 09:00, left 71h business, 2d 23h calendar" in (
        out
    )
    assert "Thread (2 entries)" in out
    assert "attachment: burr.png (image/png" in out
    assert "attachment: grinder-noise.ogg (audio/ogg" in out
    assert "open             customer:chen@bluebird.example  Open" in out.split("History", 1)[1]


def test_show_marks_automated_messages_in_the_thread(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "show", "ISS-2026-00005")

    assert "emil@hotel-anker.example [automated]" in done.stdout
    assert "out of the office until 16 March" in done.stdout


def test_reply_writes_the_message_into_the_outbox_and_waits_for_the_customer(
    desk_dir: Path,
) -> None:
    outbox = desk_dir / "outbox" / "new"
    before = set(outbox.iterdir())

    done = issuecore(
        desk_dir,
        "reply",
        "ISS-2026-00001",
        "--body",
        "Please check the seal of the drip tray.",
        "--author",
        AGENT,
        now="2026-03-02T10:00:00+00:00",
    )

    assert done.returncode == 0, done.stderr
    assert "status Waiting for Reply" in done.stdout
    (new_file,) = set(outbox.iterdir()) - before
    message = message_from_bytes(new_file.read_bytes(), policy=default_policy)
    assert message["To"] == "ana@fjordline.example"
    assert message["Subject"] == "Re: Espresso machine leaks water [#ISS-2026-00001]"
    assert message["In-Reply-To"] == "<20260304.leak.3@mail.fjordline.example>"
    assert "Please check the seal of the drip tray." in message.get_content()
    shown = issuecore(desk_dir, "show", "ISS-2026-00001", now="2026-03-02T10:00:00+00:00")
    assert "response     target 8h: met at 2026-03-02 10:00" in shown.stdout
    assert f"agent_reply  {AGENT}" in shown.stdout


def test_reply_reads_the_body_from_stdin_with_body_file_dash(desk_dir: Path) -> None:
    done = issuecore(
        desk_dir,
        "reply",
        "ISS-2026-00004",
        "--body-file",
        "-",
        "--author",
        AGENT,
        stdin="Use the Brightwater descaler, 100 ml per litre.\n",
    )

    assert done.returncode == 0, done.stderr
    shown = issuecore(desk_dir, "show", "ISS-2026-00004")
    assert "Use the Brightwater descaler, 100 ml per litre." in shown.stdout


def test_reply_without_a_body_is_a_usage_error(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "reply", "ISS-2026-00001", "--author", AGENT)

    assert done.returncode == 2
    assert "--body" in done.stderr


def test_reply_without_an_author_and_no_agents_configured_is_a_usage_error(
    desk_dir: Path,
) -> None:
    done = issuecore(desk_dir, "reply", "ISS-2026-00001", "--body", "Hello")

    assert done.returncode == 2
    assert "--author is required" in done.stderr


def test_note_is_kept_on_the_thread_and_mails_nobody(desk_dir: Path) -> None:
    outbox = desk_dir / "outbox" / "new"
    before = len(list(outbox.iterdir()))

    done = issuecore(
        desk_dir,
        "note",
        "ISS-2026-00002",
        "--body",
        "Refund approved by finance.",
        "--author",
        AGENT,
    )

    assert done.returncode == 0, done.stderr
    assert len(list(outbox.iterdir())) == before
    shown = issuecore(desk_dir, "show", "ISS-2026-00002").stdout
    assert "internal_note  ben@brightwater.example" in shown
    assert "Refund approved by finance." in shown
    assert "status       Open since" in shown


def test_resolve_close_and_reopen_move_the_status(desk_dir: Path) -> None:
    resolved = issuecore(desk_dir, "resolve", "ISS-2026-00006", "--by", AGENT)
    closed = issuecore(desk_dir, "close", "ISS-2026-00006", "--by", AGENT, "--reason", "done")
    reopened = issuecore(desk_dir, "reopen", "ISS-2026-00006", "--by", AGENT)

    assert [resolved.stdout, closed.stdout, reopened.stdout] == [
        "ISS-2026-00006 is Resolved\n",
        "ISS-2026-00006 is Closed\n",
        "ISS-2026-00006 is Open\n",
    ]
    history = issuecore(desk_dir, "show", "ISS-2026-00006").stdout.split("History", 1)[1]
    assert "Resolved -> Closed  (done)" in history


def test_closing_a_closed_issue_is_refused_with_exit_1(desk_dir: Path) -> None:
    issuecore(desk_dir, "close", "ISS-2026-00007", "--by", AGENT)

    done = issuecore(desk_dir, "close", "ISS-2026-00007", "--by", AGENT)

    assert done.returncode == 1
    assert "cannot close ISS-2026-00007: it is Closed" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["show", "ISS-2026-09999"],
        ["close", "ISS-2026-09999", "--by", AGENT],
        ["reply", "ISS-2026-09999", "--body", "Hi", "--author", AGENT],
        ["sla", "ISS-2026-09999"],
    ],
)
def test_an_unknown_issue_exits_1_and_names_the_number(desk_dir: Path, args: list[str]) -> None:
    done = issuecore(desk_dir, *args)

    assert done.returncode == 1
    assert "no issue numbered 'ISS-2026-09999'" in done.stderr


def test_assign_and_unassign_are_recorded_in_the_history(desk_dir: Path) -> None:
    assigned = issuecore(desk_dir, "assign", "ISS-2026-00010", "mia", "--by", AGENT)
    listed = issuecore(desk_dir, "list", "--assignee", "mia")
    unassigned = issuecore(desk_dir, "unassign", "ISS-2026-00010", "mia", "--by", AGENT)

    assert assigned.stdout == "ISS-2026-00010 assignees: mia\n"
    assert list(rows(listed.stdout)) == ["ISS-2026-00010"]
    assert unassigned.stdout == "ISS-2026-00010 assignees: -\n"
    history = issuecore(desk_dir, "show", "ISS-2026-00010").stdout.split("History", 1)[1]
    assert "assign" in history
    assert "unassign" in history


def test_priority_change_moves_the_deadlines(desk_dir: Path) -> None:
    done = issuecore(
        desk_dir, "priority", "ISS-2026-00011", "Urgent", "--by", AGENT, now="2026-03-02T09:30:00Z"
    )

    assert done.returncode == 0, done.stderr
    assert "ISS-2026-00011 priority Urgent" in done.stdout
    assert "response     target 1h: due 2026-03-02 10:00" in done.stdout


def test_a_priority_without_a_target_is_refused_with_exit_1(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "priority", "ISS-2026-00011", "P1", "--by", AGENT)

    assert done.returncode == 1
    assert "priority 'P1' has no target in agreement 'Standard'" in done.stderr


def test_reset_sla_restarts_the_clock_and_records_why(desk_dir: Path) -> None:
    done = issuecore(
        desk_dir,
        "reset-sla",
        "ISS-2026-00012",
        "--reason",
        "customer sent the serial number only now",
        "--by",
        AGENT,
        now="2026-03-02T12:00:00Z",
    )

    assert done.returncode == 0, done.stderr
    assert "response     target 8h: due 2026-03-02 20:00" in done.stdout
    shown = issuecore(desk_dir, "show", "ISS-2026-00012", now="2026-03-02T12:00:00Z").stdout
    assert f"reset        2026-03-02 12:00 by {AGENT}: customer sent the serial number" in shown


def test_tick_reports_the_response_breaches_once_the_deadlines_pass(desk_dir: Path) -> None:
    issuecore(desk_dir, "reply", "ISS-2026-00001", "--body", "On it.", "--author", AGENT)

    early = issuecore(desk_dir, "tick", now="2026-03-02T16:00:00Z")
    late = issuecore(desk_dir, "tick", now="2026-03-02T17:30:00Z")
    again = issuecore(desk_dir, "tick", now="2026-03-02T17:45:00Z")

    assert "breached     0" in early.stdout
    assert "breached     25" in late.stdout  # every issue but the one answered in time
    assert "breached     0" in again.stdout  # reported once per target


def test_tick_auto_closes_issues_waiting_for_the_customer_for_seven_days(desk_dir: Path) -> None:
    issuecore(desk_dir, "reply", "ISS-2026-00015", "--body", "Cancelled.", "--author", AGENT)

    done = issuecore(desk_dir, "tick", now="2026-03-09T09:00:01Z")

    assert done.returncode == 0, done.stderr
    assert "auto-closed  1\n  ISS-2026-00015\n" in done.stdout
    assert rows(issuecore(desk_dir, "list", "--status", "Closed").stdout).keys() == {
        "ISS-2026-00015"
    }
