"""FakeClock moves only when told, and only forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from issuecore import NaiveDatetimeError
from issuecore.testing import FakeClock, RecordingMailer


def test_fake_clock_stands_still_until_advanced() -> None:
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.advance(timedelta(hours=2)) == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert clock.now() == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert isinstance(clock.now(), pendulum.DateTime)


def test_fake_clock_refuses_to_go_back_or_be_naive() -> None:
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    with pytest.raises(NaiveDatetimeError):
        FakeClock(datetime(2026, 1, 5, 9, 0))


def test_recording_mailer_keeps_messages_in_send_order() -> None:
    from email.message import EmailMessage

    mailer = RecordingMailer()
    for subject in ("first", "second"):
        message = EmailMessage()
        message["Subject"] = subject
        mailer.send(message)
    assert [m["Subject"] for m in mailer.sent] == ["first", "second"]
