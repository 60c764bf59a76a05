"""The desk logs through the standard library under ``issuecore.*``: intake, retries, sweeps."""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
import pytest

from issuecore import DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
from issuecore.adapters.memory import InMemoryStore
from issuecore.errors import ConcurrencyConflictError
from issuecore.testing import FakeClock, RecordingMailer

START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
RAW = (
    b"From: ana@customer.test\r\nTo: support@example.com\r\nSubject: Help\r\n"
    b"Message-ID: <log1@customer.test>\r\n\r\nPlease.\r\n"
)


def _desk(store: InMemoryStore | None = None) -> tuple[HelpDesk, FakeClock]:
    clock = FakeClock(START)
    desk = HelpDesk(
        store=store or InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock,
        agreements=(
            ServiceLevelAgreement(
                name="Standard",
                targets={"Medium": SlaTarget(response=timedelta(hours=1))},
                default_priority="Medium",
                default=True,
            ),
        ),
        settings=DeskSettings(support_address="support@example.com"),
    )
    return desk, clock


def test_each_intake_decision_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    desk, _ = _desk()
    with caplog.at_level(logging.INFO, logger="issuecore"):
        desk.receive(RAW)
        desk.receive(RAW)
    decisions = [r.getMessage() for r in caplog.records if r.name == "issuecore.intake"]
    assert decisions[0].startswith("message <log1@customer.test>: created ISS-2026-00001")
    assert decisions[1].startswith("message <log1@customer.test>: duplicate")


def test_a_sweep_that_did_something_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    desk, clock = _desk()
    desk.receive(RAW)
    clock.advance(timedelta(hours=2))
    with caplog.at_level(logging.DEBUG, logger="issuecore"):
        desk.tick()
        desk.tick()
    sweeps = [r for r in caplog.records if r.name == "issuecore.sweep"]
    assert sweeps[0].levelno == logging.INFO
    assert "1 breached" in sweeps[0].getMessage()
    assert sweeps[1].levelno == logging.DEBUG


class _ConflictOnce(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 1

    def transaction(self, *, read_only: bool = False):  # type: ignore[no-untyped-def]
        if not read_only and self.conflicts:
            self.conflicts -= 1
            raise ConcurrencyConflictError.stale_version("ISS-2026-00001", expected=1, stored=2)
        return super().transaction(read_only=read_only)


def test_a_retried_conflict_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    desk, _ = _desk(_ConflictOnce())
    with caplog.at_level(logging.INFO, logger="issuecore"):
        desk.open_issue(subject="s", raised_by="ana@customer.test", body="b")
    retries = [r.getMessage() for r in caplog.records if r.name == "issuecore.desk"]
    assert retries
    assert retries[0].startswith("attempt 1 of 8 met a conflict, retrying")


def test_a_failed_intake_is_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    desk, _ = _desk()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    desk._receive = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="issuecore"):
        outcome = desk.receive(RAW)
    assert outcome.kind == "quarantined"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "disk on fire" in errors[0].getMessage()


def test_the_sweep_line_states_each_count(caplog: pytest.LogCaptureFixture) -> None:
    desk, clock = _desk()
    desk.receive(RAW)
    clock.advance(timedelta(hours=2))
    with caplog.at_level(logging.DEBUG, logger="issuecore.sweep"):
        desk.tick()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "issuecore.sweep"]
    assert line == (
        "sweep: 1 issues looked at, 0 auto-closed, 0 at risk, 1 breached; "
        "outbox: 0 delivered, 0 failed"
    )


def test_a_sweep_that_only_auto_closed_is_logged_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock,
        settings=DeskSettings(
            support_address="support@example.com", auto_close_after=timedelta(days=7)
        ),
    )
    number = desk.open_issue(subject="s", raised_by="ana@customer.test", body="b").number
    desk.reply(number, body="Fixed?", author="ben@example.com")
    clock.advance(timedelta(days=7))
    with caplog.at_level(logging.DEBUG, logger="issuecore.sweep"):
        report = desk.tick()
    assert (report.closed, report.at_risk, report.breached) == ((number,), 0, 0)
    (record,) = [r for r in caplog.records if r.name == "issuecore.sweep"]
    assert record.levelno == logging.INFO
    assert "1 auto-closed" in record.getMessage()


def test_a_sweep_that_only_failed_to_deliver_is_logged_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Refusing:
        def send(self, message: object) -> None:
            raise ConnectionRefusedError("no server")

    clock = FakeClock(START)
    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=Refusing(),
        clock=clock,
        settings=DeskSettings(support_address="support@example.com"),
    )
    desk.receive(RAW)  # its automatic reply fails at once and is retried by the sweep
    clock.advance(timedelta(hours=1))
    with caplog.at_level(logging.DEBUG, logger="issuecore.sweep"):
        report = desk.tick()
    assert (report.closed, report.breached, report.sent, report.failed) == ((), 0, 0, 1)
    (record,) = [r for r in caplog.records if r.name == "issuecore.sweep"]
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith("outbox: 0 delivered, 1 failed")
