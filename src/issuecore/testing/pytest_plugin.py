"""An opt-in pytest plugin with ready-made fixtures for testing code built on issuecore.

Enable it in your ``conftest.py``::

    pytest_plugins = ["issuecore.testing.pytest_plugin"]

Fixtures:

- ``fake_clock``: a :class:`~issuecore.testing.FakeClock` at 2026-01-05 09:00 UTC
  (a Monday).
- ``recording_mailer``: a :class:`~issuecore.testing.RecordingMailer`.
- ``memory_desk``: a :class:`~issuecore.HelpDesk` on an
  :class:`~issuecore.adapters.memory.InMemoryStore`, using the two fixtures
  above, with support address ``support@example.com`` and no agreements.
  Override the ``desk_settings`` or ``desk_agreements`` fixture to change them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from issuecore._desk import DeskSettings, HelpDesk
from issuecore._sla.agreement import ServiceLevelAgreement
from issuecore.adapters.memory import InMemoryStore
from issuecore.mail._settings import MailSettings
from issuecore.testing._clock import FakeClock
from issuecore.testing._fakes import RecordingMailer

__all__ = ["desk_agreements", "desk_settings", "fake_clock", "memory_desk", "recording_mailer"]

MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake_clock() -> FakeClock:
    """Return a clock standing at Monday 2026-01-05 09:00 UTC until advanced."""
    return FakeClock(MONDAY_MORNING)


@pytest.fixture
def recording_mailer() -> RecordingMailer:
    """Return a mailer that keeps what it sends in ``.sent``."""
    return RecordingMailer()


@pytest.fixture
def desk_settings() -> DeskSettings:
    """Return the settings ``memory_desk`` uses; override to change them."""
    return DeskSettings(
        support_address="support@example.com",
        mail=MailSettings(support_address="support@example.com", signing_key=b"t" * 32),
    )


@pytest.fixture
def desk_agreements() -> Sequence[ServiceLevelAgreement]:
    """Return the agreements ``memory_desk`` uses (none); override to add some."""
    return ()


@pytest.fixture
def memory_desk(
    fake_clock: FakeClock,
    recording_mailer: RecordingMailer,
    desk_settings: DeskSettings,
    desk_agreements: Sequence[ServiceLevelAgreement],
) -> HelpDesk:
    """Return a desk on an in-memory store, wired to ``fake_clock`` and ``recording_mailer``."""
    return HelpDesk(
        store=InMemoryStore(),
        mailer=recording_mailer,
        clock=fake_clock,
        agreements=desk_agreements,
        settings=desk_settings,
    )
