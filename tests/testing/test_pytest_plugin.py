"""The opt-in pytest plugin, exercised the way an adopter's suite would use it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

ADOPTER_TESTS = """
from datetime import timedelta

import pytest

from issuecore import ServiceLevelAgreement, SlaTarget

pytest_plugins = ["issuecore.testing.pytest_plugin"]


@pytest.fixture
def desk_agreements():
    return [ServiceLevelAgreement(name="Basic", default=True, default_priority="Normal",
                                  targets={"Normal": SlaTarget(response=timedelta(hours=4))})]


def test_memory_desk_uses_the_fake_clock_and_mailer(memory_desk, fake_clock, recording_mailer):
    raw = (b"From: ana@customer.test\\r\\nTo: support@example.com\\r\\n"
           b"Subject: Help\\r\\nMessage-ID: <p1@customer.test>\\r\\n\\r\\nPlease.\\r\\n")
    outcome = memory_desk.receive(raw)
    assert outcome.kind == "created"
    assert len(recording_mailer.sent) == 1
    issue = memory_desk.get(outcome.issue_number)
    assert issue.created_at == fake_clock.now()
    assert issue.sla.response_by == fake_clock.now() + timedelta(hours=4)
"""


def test_plugin_fixtures_give_a_working_desk(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adopter=ADOPTER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
