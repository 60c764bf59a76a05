"""The command sends through SMTP when the configuration has an [smtp] section."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cli_support import issuecore


class Recorder:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


def test_automatic_replies_and_agent_replies_go_to_the_smtp_server(
    tmp_path: Path, smtp_server: tuple[int, Recorder]
) -> None:
    port, recorder = smtp_server
    (tmp_path / "issuecore.toml").write_text(
        'support_address = "help@brightwater.example"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    )
    (tmp_path / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: help@brightwater.example\nSubject: Leak\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )

    ingested = issuecore(tmp_path, "ingest", "one.eml")
    replied = issuecore(
        tmp_path, "reply", "ISS-2026-00001", "--body", "On our way.", "--author", "ben@x.example"
    )

    assert ingested.returncode == 0, ingested.stderr
    assert replied.returncode == 0, replied.stderr
    messages = [message_from_bytes(raw, policy=default_policy) for raw in recorder.messages]
    assert [m["To"] for m in messages] == ["ana@example.org", "ana@example.org"]
    assert messages[0]["Auto-Submitted"] == "auto-replied"
    assert messages[1]["Subject"] == "Re: Leak [#ISS-2026-00001]"
    assert not (tmp_path / "outbox").exists()


def test_outbox_lists_mail_the_server_never_took_and_retry_delivers_a_dead_letter(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens here yet
    (tmp_path / "issuecore.toml").write_text(
        'support_address = "help@brightwater.example"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    )
    (tmp_path / "one.eml").write_bytes(
        b"From: Ana <ana@example.org>\nTo: help@brightwater.example\nSubject: Leak\n"
        b"Message-ID: <1@example.org>\n\nIt leaks.\n"
    )
    ingested = issuecore(tmp_path, "ingest", "one.eml")
    assert ingested.returncode == 5  # recorded, but the automatic reply is not sent yet
    assert "automatic replies sent: 0" in ingested.stdout
    waiting = issuecore(tmp_path, "outbox")
    assert waiting.returncode == 0, waiting.stderr
    lines = waiting.stdout.splitlines()
    assert lines[0] == "waiting: 1"
    assert "mail  ISS-2026-00001  attempts 1  MailTransportError" in lines[1]
    assert lines[2] == "dead letters: 0"
    for day in range(3, 12):  # the nine attempts left, a day apart
        ticked = issuecore(tmp_path, "tick", now=f"2026-03-{day:02d}T09:00:00+00:00")
        assert "failed       1" in ticked.stdout
    dead = issuecore(tmp_path, "outbox").stdout.splitlines()
    assert dead[:2] == ["waiting: 0", "dead letters: 1"]
    effect_id = dead[2].split()[0]
    assert "attempts 10" in dead[2]

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        retried = issuecore(tmp_path, "retry", effect_id)
        again = issuecore(tmp_path, "retry", effect_id)
    finally:
        controller.stop()
    assert retried.stdout.splitlines() == ["delivered    1", "failed       0"]
    assert again.returncode == 1
    assert "is not a dead letter" in again.stderr
    (sent,) = recorder.messages
    assert b"Subject: Re: Leak [#ISS-2026-00001]" in sent
