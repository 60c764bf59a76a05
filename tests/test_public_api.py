"""The public names adopters rely on work exactly as written in the specification's api.md."""

from __future__ import annotations

import email.message
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs
import pendulum


def test_the_documented_imports_work() -> None:
    from issuecore import (  # noqa: F401 - importing is the test
        AgreementStatus,
        BusinessCalendar,
        DeskSettings,
        HelpDesk,
        InvalidTransitionError,
        Issue,
        IssueCoreError,
        ServiceLevelAgreement,
        SlaTarget,
        Status,
        Workflow,
    )
    from issuecore.adapters.memory import InMemoryStore  # noqa: F401
    from issuecore.adapters.sqlite import SQLiteStore  # noqa: F401
    from issuecore.testing import FakeClock, RecordingMailer  # noqa: F401


def test_calendar_calls_as_documented() -> None:
    from issuecore import BusinessCalendar

    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        hours={"mon": [("09:00", "17:00")]},
        holidays=[date(2026, 12, 28)],
        overrides={date(2026, 12, 29): [("09:00", "12:00")]},
    )
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    deadline = calendar.add(start, timedelta(hours=1))
    assert isinstance(deadline, pendulum.DateTime)
    assert calendar.between(start, deadline) == timedelta(hours=1)
    assert calendar.is_open(start) is True
    assert BusinessCalendar.always_open().add(start, timedelta(hours=5)) == start + timedelta(
        hours=5
    )
    assert BusinessCalendar.always_open(timezone="UTC").is_open(start)


def test_agreement_and_status_values_as_documented() -> None:
    from issuecore import AgreementStatus, ServiceLevelAgreement, SlaTarget, Status

    target = SlaTarget(timedelta(hours=1))
    assert (target.response, target.resolution) == (timedelta(hours=1), None)
    agreement = ServiceLevelAgreement(
        name="Standard",
        targets={"Medium": SlaTarget(response=timedelta(hours=8), resolution=None)},
        default_priority="Medium",
        calendar=None,
        pause_on={Status.WAITING_FOR_REPLY, Status.ON_HOLD},
        fulfilled_on={Status.RESOLVED, Status.CLOSED},
        applies_to=None,
        valid_from=None,
        valid_until=None,
        default=False,
    )
    assert agreement.name == "Standard"
    assert [s.value for s in AgreementStatus] == [
        "First Response Due",
        "Resolution Due",
        "Paused",
        "Fulfilled",
        "Failed",
    ]


def test_desk_calls_and_returns_as_documented(tmp_path: Path) -> None:
    from issuecore import (
        AgreementStatus,
        DeskSettings,
        HelpDesk,
        ServiceLevelAgreement,
        SlaTarget,
    )
    from issuecore.adapters.sqlite import SQLiteStore
    from issuecore.testing import FakeClock, RecordingMailer

    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock.advance(timedelta(minutes=1))
    mailer = RecordingMailer()
    store = SQLiteStore(tmp_path / "desk.db")
    desk = HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        agreements=(
            ServiceLevelAgreement(
                name="Standard",
                targets={"Medium": SlaTarget(timedelta(hours=8), timedelta(days=2))},
                default_priority="Medium",
                default=True,
            ),
        ),
        settings=DeskSettings(
            support_address="support@example.com", auto_close_after=timedelta(days=7)
        ),
    )
    raw = (
        b"From: ana@customer.test\r\nTo: support@example.com\r\nSubject: Help\r\n"
        b"Message-ID: <api@customer.test>\r\n\r\nPlease.\r\n"
    )
    outcome = desk.receive(raw)
    assert (outcome.kind, outcome.created, outcome.auto_reply) == ("created", True, True)
    assert isinstance(outcome.issue_number, str)
    assert all(isinstance(m, email.message.EmailMessage) for m in mailer.sent)
    number = outcome.issue_number
    desk.reply(number, body="Hi", author="agent@example.com")
    desk.assign(number, "ben@example.com", by="agent@example.com")
    desk.set_priority(number, "Medium", by="agent@example.com")
    desk.reset_sla(number, reason="scope changed", by="agent@example.com")
    desk.hold(number, by="agent@example.com")
    desk.resolve(number, by="agent@example.com")
    desk.reopen(number, by="agent@example.com")
    desk.close(number, by="agent@example.com")
    desk.tick()
    issue = desk.get(number)
    for name in ("number", "subject", "raised_by", "status", "priority", "created_at", "assignees"):
        assert hasattr(issue, name)
    assert issue.sla is not None
    assert issue.sla.agreement == "Standard"
    assert isinstance(issue.sla.status(clock.now()), AgreementStatus)
    assert (issue.sla.response_by, issue.sla.resolution_by) == (None, None)
    other = desk.open_issue(subject="Form", raised_by="x@customer.test", body="b", priority=None)
    assert other.sla is not None
    assert other.sla.response_by is not None
    entry = desk.thread(number)[0]
    for name in ("kind", "author", "text", "at", "attachments"):
        assert hasattr(entry, name)
    store.close()


def test_the_adopters_api_names_are_public() -> None:
    import issuecore
    from issuecore import (
        Condition,
        HelpDesk,
        InvalidArgumentError,
        SlaTargetName,
        SlaView,
        TargetState,
        TargetStatus,
        TargetView,
    )

    names = ("Condition", "InvalidArgumentError", "SlaView", "SlaTargetName", "TargetState")
    for name in (*names, "TargetStatus", "TargetView"):
        assert name in issuecore.__all__
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(InvalidArgumentError, TypeError)
    assert [status.value for status in TargetStatus] == ["running", "paused", "met", "breached"]
    assert [name.value for name in SlaTargetName] == ["response", "resolution"]
    assert {"due_by", "done_at", "met", "business"} <= set(attrs.fields_dict(TargetState))
    assert Condition(issue_types={"Critical"}).issue_types == frozenset({"Critical"})
    for method in ("resume", "set_details", "sla_view"):
        assert callable(getattr(HelpDesk, method))
    assert {"response", "resolution"} <= {field.name for field in SlaView.__attrs_attrs__}
    assert "remaining_business" in {field.name for field in TargetView.__attrs_attrs__}
