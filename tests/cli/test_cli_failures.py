"""Every way the command used to end in a traceback or a leak now ends in one line and a code.

Each test states one failure of the support lead's report (finding 6 of the
desk's issue) and asserts the single ``issuecore: error:`` line on standard
error and the exit code the command documents for it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_support import NOW, issuecore

from issuecore.cli import build_parser

AGENT = "ben@example.org"


def one_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    """Assert ``done`` ended with ``code`` and exactly one error line; return that line."""
    lines = done.stderr.splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("issuecore: error: "), lines[0]
    assert "Traceback" not in done.stderr
    return lines[0]


def environment(now: str = NOW) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUECORE_")}
    env["ISSUECORE_NOW"] = now
    return env


# --- the store ------------------------------------------------------------------------------


@pytest.fixture
def locked(desk_dir: Path) -> Iterator[Path]:
    """The desk folder with a one-second busy timeout and its database held by another writer."""
    (desk_dir / "issuecore.toml").write_text('busy_timeout = "1s"\n')
    holder = sqlite3.connect(desk_dir / "issuecore.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield desk_dir
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize(
    "args",
    [("list",), ("note", "ISS-2026-00001", "--body", "x", "--author", AGENT), ("tick",)],
)
def test_a_locked_database_is_one_line_naming_the_lock_and_exit_1(
    locked: Path, args: tuple[str, ...]
) -> None:
    line = one_error(issuecore(locked, *args), 1)

    assert "is locked by another process" in line
    assert "busy_timeout" in line  # the fix


def test_a_damaged_database_is_one_line_and_exit_2(desk_dir: Path) -> None:
    database = desk_dir / "issuecore.db"
    with database.open("r+b") as stream:  # wreck every page after the first few
        stream.seek(4096 * 3)
        stream.write(b"\xff" * (database.stat().st_size - 4096 * 3))

    line = one_error(issuecore(desk_dir, "show", "ISS-2026-00001"), 2)

    assert "issuecore.db" in line
    assert "malformed" in line
    assert "backup" in line


def test_a_file_that_is_no_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "issuecore.db").write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)

    line = one_error(issuecore(tmp_path, "list"), 2)

    assert "issuecore.db" in line


def _unprivileged() -> list[str]:
    """Return the prefix that runs a command without root's power to write anything."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "running the tests as root needs setpriv (util-linux)"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_a_read_only_database_is_one_line_and_exit_2(
    ingested_template: Path,
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="issuecore-readonly-"))
    try:
        folder.chmod(0o755)
        for name in ("issuecore.db", "issuecore.db.key"):
            shutil.copy(ingested_template / name, folder / name)
            (folder / name).chmod(0o444)
        command = [*_unprivileged(), sys.executable, "-m", "issuecore", "note"]
        command += ["ISS-2026-00001", "--body", "x", "--author", AGENT]
        # The other user cannot write this checkout's coverage data: leave it unmeasured.
        env = {k: v for k, v in environment().items() if not k.startswith("COVERAGE_")}
        done = subprocess.run(
            command,
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(folder)

    line = one_error(done, 2)
    assert "readonly database" in line
    assert "write access" in line


# --- the configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('auto_close_after = "99999999999999999d"\n', "auto_close_after"),
        ('auto_close_after = "36500000d"\n', "auto_close_after"),
        ('[mail]\nreopen_within = "999999999999w"\n', "mail.reopen_within"),
        (
            '[[agreements]]\nname = "A"\n[agreements.targets.High]\nresponse = "1h"\n'
            'resolution = "9999999999999h"\n',
            "agreements[0].targets.High.resolution",
        ),
    ],
)
def test_an_absurd_duration_is_one_line_and_exit_2(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "issuecore.toml").write_text(toml)

    line = one_error(issuecore(tmp_path, "list"), 2)

    assert f"issuecore.toml: {key}: " in line
    assert "longer than a hundred years" in line


def test_a_hundred_years_is_still_a_duration(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text('auto_close_after = "36525d"\n')

    assert issuecore(tmp_path, "list").returncode == 0


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 2000 + "]" * 2000 + "\n",
        "x = " + "{ a = " * 2000 + "1" + " }" * 2000 + "\n",
        "x = " + "[" * 65 + "]" * 65 + "\n",
    ],
)
def test_deeply_nested_toml_is_one_line_and_exit_2(tmp_path: Path, text: str) -> None:
    (tmp_path / "issuecore.toml").write_text(text)

    line = one_error(issuecore(tmp_path, "list"), 2)

    assert "nests arrays or tables more than 64 deep" in line


def test_brackets_inside_strings_and_comments_are_not_nesting(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text(
        'support_address = "help@example.org" # ' + "[" * 100 + "\n"
        "[outbox]\n"
        'maildir = "' + "[{" * 100 + '"\n'
    )

    assert issuecore(tmp_path, "list").returncode == 0


def test_an_explicit_config_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path) -> None:
    line = one_error(issuecore(tmp_path, "--config", "desk.toml", "list"), 2)

    assert "desk.toml: does not exist" in line
    assert not (tmp_path / "issuecore.db").exists()  # it did not run on the defaults


def test_without_config_the_defaults_still_apply(tmp_path: Path) -> None:
    assert issuecore(tmp_path, "list").returncode == 0


# --- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999999999999", "-5", "0", "1001", "many", "1e3", ""])
def test_an_impossible_limit_is_one_line_and_exit_2(desk_dir: Path, value: str) -> None:
    line = one_error(issuecore(desk_dir, "list", "--limit", value), 2)

    assert "--limit: expected a whole number from 1 to 1000" in line


def test_the_largest_limit_lists(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "list", "--all", "--limit", "1000")

    assert done.returncode == 0, done.stderr
    assert "26 issues" in done.stdout


def test_a_misspelt_command_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    line = one_error(issuecore(tmp_path, "lsit"), 2)

    assert "'lsit' is not a command" in line
    assert "did you mean 'list'?" in line


def test_a_misspelt_status_is_one_line_listing_the_statuses(desk_dir: Path) -> None:
    line = one_error(issuecore(desk_dir, "list", "--status", "Closd"), 2)

    assert "known: Open, Waiting for Reply, On Hold, Resolved, Closed" in line
    assert "did you mean 'Closed'?" in line


def test_version_prints_the_version(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "--version")

    assert done.returncode == 0
    assert done.stdout.startswith("issuecore ")
    assert done.stdout.split()[1][0].isdigit()


def test_bare_issuecore_prints_help_and_exits_0(tmp_path: Path) -> None:
    done = issuecore(tmp_path)

    assert done.returncode == 0
    assert done.stdout.startswith("usage: issuecore")
    assert "list " in done.stdout
    assert done.stderr == ""


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_argument_of_every_command_has_help() -> None:
    missing = [
        f"{path} {action.dest}"
        for path, action in _actions(build_parser(), "issuecore")
        if not action.help
    ]

    assert missing == []


# --- output ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("show", "ISS-2026-00001"), ("list", "--all")])
def test_a_reader_that_went_away_ends_quietly_with_141(
    desk_dir: Path, args: tuple[str, ...]
) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # like `| head` once it has read enough
    try:
        done = subprocess.run(
            [sys.executable, "-m", "issuecore", *args],
            cwd=desk_dir,
            env=environment(),
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)

    assert done.returncode == 141
    assert done.stderr == ""


def test_show_piped_into_head_prints_no_broken_pipe(desk_dir: Path) -> None:
    done = subprocess.run(
        f"{sys.executable} -m issuecore show ISS-2026-00001 | head -2",
        shell=True,
        cwd=desk_dir,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("where", "url"),
    [
        ("--db", "postgresql+psycopg://desk:hunter2secret@127.0.0.1:1/issues"),
        ("file", "postgresql+psycopg://desk:hunter2secret@127.0.0.1:1/issues"),
        ("file", "mysql+pymysql://desk:hunter2secret@127.0.0.1:1/issues"),
    ],
)
def test_a_password_in_a_database_url_is_never_printed(
    tmp_path: Path, where: str, url: str
) -> None:
    if where == "file":
        (tmp_path / "issuecore.toml").write_text(
            f'database = "{url}"\nsigning_key = "{"ab" * 32}"\n'
        )
        done = issuecore(tmp_path, "list")
    else:
        (tmp_path / "issuecore.toml").write_text(f'signing_key = "{"ab" * 32}"\n')
        done = issuecore(tmp_path, "--db", url, "list")

    line = one_error(done, 2)
    assert "hunter2secret" not in done.stderr + done.stdout
    assert "desk:***@127.0.0.1:1" in line


def test_an_smtp_password_is_never_printed(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text(
        '[smtp]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
        'username = "desk"\npassword = "hunter2secret"\n'
    )
    (tmp_path / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: hunter2secret\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )

    done = issuecore(tmp_path, "ingest", "one.eml")

    one_error(done, 5)
    assert "hunter2secret" not in done.stderr


ESCAPES = b"\x1b[2J\x1b]0;owned\x07\xc2\x9b31m"


def _hostile_mail(folder: Path) -> None:
    (folder / "evil.eml").write_bytes(
        b"From: Eve <eve@example.org>\nTo: support@localhost\n"
        b"Subject: =?utf-8?q?Help_=1B[2J_=1B]0;owned=07?=\n"
        b"Message-ID: <evil.1@example.org>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain; charset=utf-8\n\nHello " + ESCAPES + b" there\n--b\n"
        b"Content-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?x=1B[2Jy.bin?="\n\nAAAA\n--b--\n'
    )


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "-v", "evil.eml"),
        ("list",),
        ("list", "--json"),
        ("show", "ISS-2026-00001"),
        ("show", "ISS-2026-00001", "--json"),
        ("attachments", "ISS-2026-00001"),
        ("sla", "ISS-2026-00001"),
    ],
)
def test_control_characters_from_mail_never_reach_the_terminal(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    _hostile_mail(tmp_path)
    if args[0] != "ingest":
        assert issuecore(tmp_path, "ingest", "evil.eml").returncode == 0

    done = issuecore(tmp_path, *args)

    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert not any(0 <= ord(c) < 32 and c not in "\n" for c in shown), repr(shown)
    assert not any(0x7F <= ord(c) < 0xA0 for c in shown), repr(shown)
    if args[0] == "show" and "--json" in args:
        assert (
            "\x1b" in json.loads(done.stdout)["thread"][0]["text"]
        )  # escaped, yet the same text when read


def test_show_writes_control_characters_of_the_body_as_escapes(tmp_path: Path) -> None:
    _hostile_mail(tmp_path)
    issuecore(tmp_path, "ingest", "evil.eml")

    done = issuecore(tmp_path, "show", "ISS-2026-00001")

    assert "Hello \\x1b[2J\\x1b]0;owned\\x07\\x9b31m there" in done.stdout


def test_quarantine_show_escapes_control_characters(tmp_path: Path) -> None:
    (tmp_path / "nosender.eml").write_bytes(
        b"From: \x1b[2J\nTo: support@localhost\nSubject: \x1b]0;owned\x07\n"
        b"Message-ID: <q.1@example.org>\n\nbody \x1b[31m\n"
    )
    assert issuecore(tmp_path, "ingest", "nosender.eml").returncode == 0

    listed = issuecore(tmp_path, "quarantine", "list")
    shown = issuecore(tmp_path, "quarantine", "show", "<q.1@example.org>")

    assert shown.returncode == 0, shown.stderr
    for done in (listed, shown):
        assert "\x1b" not in done.stdout
        assert "\x07" not in done.stdout
    assert "body \\x1b[31m" in shown.stdout


def test_the_sla_svg_is_well_formed_with_a_noncharacter_in_the_subject(tmp_path: Path) -> None:
    (tmp_path / "odd.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\n"
        b"Subject: =?utf-8?b?"
        + __import__("base64").b64encode("a\ufffeb\uffff<&>".encode())
        + b"?=\n"
        b"Message-ID: <odd.1@example.org>\n\nHello\n"
    )
    assert issuecore(tmp_path, "ingest", "odd.eml").returncode == 0

    done = issuecore(tmp_path, "sla", "ISS-2026-00001", "--svg", "t.svg")

    assert done.returncode == 0, done.stderr
    root = ElementTree.parse(tmp_path / "t.svg").getroot()  # raises on invalid XML
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None
    assert title.text is not None
    assert "ab<&>" in title.text


# --- files ----------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_the_key_and_the_database_readable_by_the_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        done = issuecore(tmp_path, "init")
    finally:
        os.umask(old)

    assert done.returncode == 0, done.stderr
    assert _mode(tmp_path / "issuecore.toml") == 0o600  # holds signing_key
    assert _mode(tmp_path / "issuecore.db") == 0o600


def test_init_force_narrows_an_existing_world_readable_file(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text("")
    (tmp_path / "issuecore.toml").chmod(0o644)

    assert issuecore(tmp_path, "init", "--force").returncode == 0

    assert _mode(tmp_path / "issuecore.toml") == 0o600


def test_the_database_and_key_made_on_first_use_are_private(tmp_path: Path) -> None:
    (tmp_path / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )

    assert issuecore(tmp_path, "ingest", "one.eml").returncode == 0

    assert _mode(tmp_path / "issuecore.db") == 0o600
    assert _mode(tmp_path / "issuecore.db.key") == 0o600


# --- mail that was not sent -----------------------------------------------------------------


def _broken_outbox(folder: Path) -> None:
    (folder / "not-a-folder").write_text("a file where the Maildir should be\n")
    (folder / "issuecore.toml").write_text('[outbox]\nmaildir = "not-a-folder"\n')


def test_ingest_does_not_claim_replies_were_sent_when_the_outbox_is_unwritable(
    tmp_path: Path,
) -> None:
    _broken_outbox(tmp_path)
    (tmp_path / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: support@localhost\nSubject: Leak\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )

    done = issuecore(tmp_path, "ingest", "one.eml")

    line = one_error(done, 5)
    assert "could not be sent" in line
    assert "automatic replies sent: 0" in done.stdout
    assert "created          1" in done.stdout  # the message itself is recorded


def test_reply_does_not_claim_it_was_sent_when_the_outbox_is_unwritable(desk_dir: Path) -> None:
    _broken_outbox(desk_dir)

    done = issuecore(desk_dir, "reply", "ISS-2026-00001", "--body", "On it.", "--author", AGENT)

    line = one_error(done, 5)
    assert "the reply on ISS-2026-00001 is recorded, but 1 message could not be sent" in line
    assert "replied" not in done.stdout
    waiting = issuecore(desk_dir, "outbox", "list")
    assert "mail  ISS-2026-00001  attempts 1" in waiting.stdout


def test_a_reply_no_address_can_receive_is_refused_before_it_is_recorded(
    tmp_path: Path,
) -> None:
    (tmp_path / "u.eml").write_bytes(
        "From: Jürgen <jürgen@example.de>\nTo: support@localhost\nSubject: Hallo\n"
        "Message-ID: <u.1@example.de>\nContent-Type: text/plain; charset=utf-8\n\nHallo\n".encode()
    )
    assert issuecore(tmp_path, "ingest", "u.eml").returncode == 0

    done = issuecore(tmp_path, "reply", "ISS-2026-00001", "--body", "Hi", "--author", AGENT)

    line = one_error(done, 1)
    assert "no address of ISS-2026-00001 can receive mail (jürgen@example.de)" in line
    shown = issuecore(tmp_path, "show", "ISS-2026-00001").stdout
    assert "Thread (1 entries)" in shown  # nothing recorded
    assert not list((tmp_path / "outbox").glob("*/*"))


def test_a_reply_to_an_ascii_address_with_an_idn_domain_goes_out(tmp_path: Path) -> None:
    (tmp_path / "u.eml").write_bytes(
        "From: Jürgen <juergen@bücher.example>\nTo: support@localhost\nSubject: Hallo\n"
        "Message-ID: <u.2@example.de>\nContent-Type: text/plain; charset=utf-8\n\nHallo\n".encode()
    )
    assert issuecore(tmp_path, "ingest", "u.eml").returncode == 0

    done = issuecore(tmp_path, "reply", "ISS-2026-00001", "--body", "Hi", "--author", AGENT)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replied on ISS-2026-00001")


def test_oauth2_secrets_are_hidden_like_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from issuecore.cli._context import Run
    from issuecore.cli._errors import describe

    config = tmp_path / "desk.toml"
    config.write_text(
        '[imap]\nhost = "imap.example.org"\nusername = "desk@example.org"\n'
        '[imap.oauth2]\nprovider = "microsoft"\ntenant = "t"\nclient_id = "c"\n'
        'client_secret = "client-secret-value"\n'
        '[smtp]\nhost = "smtp.example.org"\nusername = "desk@example.org"\n'
        '[smtp.oauth2]\nprovider = "google"\nclient_id = "c"\n'
        'client_secret_env = "DESK_SECRET"\nrefresh_token_env = "DESK_REFRESH"\n'
    )
    monkeypatch.setenv("DESK_SECRET", "env-secret-value")
    monkeypatch.setenv("DESK_REFRESH", "refresh-token-value")
    run = Run(argparse.Namespace(config=str(config), db=None))
    assert run.config.imap is not None

    message, code = describe(
        OSError("login refused for client-secret-value/env-secret-value/refresh-token-value"),
        database="issuecore.db",
        secrets=run.secrets(),
    )

    assert message == "login refused for ***/***/***"
    assert code == 1


def test_a_missing_extra_is_a_usage_error_naming_what_to_install() -> None:
    from issuecore.cli._errors import describe
    from issuecore.errors import MissingExtraError

    error = MissingExtraError.for_extra("m365", "msal", "Microsoft 365 sign-in")

    message, code = describe(error, database="issuecore.db")

    assert code == 2
    assert message == (
        "Microsoft 365 sign-in needs the optional package 'msal'; "
        "install it with pip install 'issuecore[m365]'"
    )


def test_an_access_token_refused_is_one_line_naming_the_provider() -> None:
    from issuecore.cli._errors import describe
    from issuecore.errors import AccessTokenError

    error = AccessTokenError.refused("Google", "invalid_grant:\nToken has been expired")

    message, code = describe(error, database="issuecore.db")

    assert code == 1
    assert message.startswith("Google gave no access token: invalid_grant: Token has been expired")
    assert "[imap.oauth2] or [smtp.oauth2]" in message
