"""``issuecore fetch`` against a real IMAP server (a private Dovecot, as in the adapter tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import DESIGNED, MAILBOX, issuecore, summary

from issuecore.adapters.maildir import MboxSource
from mail_servers import Dovecot, dovecot_binary


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip(
            "Dovecot is not installed (run .ci/install-dovecot, or apt-get install dovecot-imapd)"
        )
    with Dovecot(binary, None) as server:
        yield server


def write_config(folder: Path, dovecot: Dovecot, user: str) -> None:
    (folder / "issuecore.toml").write_text(
        f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "none"\n'
        f'username = "{user}"\npassword_env = "ISSUECORE_TEST_IMAP_PASSWORD"\n'
    )


def test_fetch_records_the_mailbox_and_marks_each_message_seen(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    user = "clifetch1"
    dovecot.append(user, *(message.raw for message in MboxSource(MAILBOX).messages()))
    write_config(tmp_path, dovecot, user)
    password = {"ISSUECORE_TEST_IMAP_PASSWORD": dovecot.password}

    first = issuecore(tmp_path, "fetch", env=password)
    second = issuecore(tmp_path, "fetch", env=password)

    assert first.returncode == 0, first.stderr
    assert summary(first.stdout) == {**DESIGNED, "total": 50}
    assert f"read 50 messages from {dovecot.host}/INBOX" in first.stdout
    assert summary(second.stdout)["total"] == 0
    assert len(dovecot.search(user, "UNSEEN")) == 0


def test_fetch_with_strict_exits_3_for_quarantined_mail(tmp_path: Path, dovecot: Dovecot) -> None:
    user = "clifetch2"
    dovecot.append(user, b"From: undisclosed-recipients:;\nSubject: x\nMessage-ID: <q@x>\n\nx\n")
    write_config(tmp_path, dovecot, user)

    done = issuecore(
        tmp_path, "fetch", "--strict", env={"ISSUECORE_TEST_IMAP_PASSWORD": dovecot.password}
    )

    assert done.returncode == 3
    assert "quarantined <q@x>: the message has no readable sender" in done.stdout
