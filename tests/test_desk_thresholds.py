"""The desk's thresholds exactly on their edges, under default and non-default settings.

Auto-close after ``DeskSettings.auto_close_after``, at-risk and breach
events at the agreement's thresholds: one microsecond before an edge
nothing happens, at the edge it does. The hand cases run on every real
store; the properties draw any setting and run in memory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore import (
    DeskSettings,
    HelpDesk,
    ServiceLevelAgreement,
    SlaTarget,
    Status,
)
from issuecore._sla.agreement import AtRisk
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from strategies import AROUND, settings_spans, spans_around
from test_desk import AGENT, START, SUPPORT, mail

MICRO = timedelta(microseconds=1)
TWO_DAYS = timedelta(days=2)
H = timedelta(hours=1)
NUMBER = "ISS-2026-00001"
SERVERS = {
    "postgresql": "ISSUECORE_TEST_POSTGRES_URL",
    "mariadb": "ISSUECORE_TEST_MARIADB_URL",
}


def agreement(
    *, response: timedelta = 8 * H, at_risk: AtRisk | None = None
) -> ServiceLevelAgreement:
    return ServiceLevelAgreement(
        name="Standard",
        targets={"Medium": SlaTarget(response=response, resolution=100 * response)},
        default_priority="Medium",
        default=True,
        at_risk=at_risk,
    )


def desk_on(
    store: Store,
    *,
    auto_close_after: timedelta | None = TWO_DAYS,
    sla: ServiceLevelAgreement | None = None,
) -> tuple[HelpDesk, FakeClock]:
    clock = FakeClock(START)
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=clock,
        agreements=[sla or agreement()],
        settings=DeskSettings(
            support_address=SUPPORT,
            auto_close_after=auto_close_after,
            agents={AGENT},
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )
    return desk, clock


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "sqlite":
        with SQLiteStore(tmp_path / "desk.db") as sqlite:
            yield sqlite
        return
    url = os.environ.get(SERVERS[kind])
    if not url:
        pytest.skip(f"{SERVERS[kind]} is not set; no {kind} server")
    server = SqlStore(url, table_prefix=f"t{uuid.uuid4().hex[:10]}_")
    try:
        yield server
    finally:
        server.drop_tables()
        server.close()


def waiting_desk(store: Store, **settings: object) -> tuple[HelpDesk, FakeClock]:
    """Return a desk whose one issue got an agent reply at START and waits for the customer."""
    desk, clock = desk_on(store, **settings)  # type: ignore[arg-type]
    desk.receive(mail("Printer on fire"))
    assert desk.reply(NUMBER, body="Try again?", author=AGENT).status == Status.WAITING_FOR_REPLY
    return desk, clock


# --- auto-close after a two-day setting, on every store ----------------------------------


def test_two_day_auto_close_leaves_the_issue_open_one_microsecond_before(store: Store) -> None:
    desk, clock = waiting_desk(store)
    clock.advance(TWO_DAYS - MICRO)
    assert desk.tick().closed == ()
    assert desk.get(NUMBER).status == Status.WAITING_FOR_REPLY


def test_two_day_auto_close_closes_the_issue_after_exactly_two_days(store: Store) -> None:
    desk, clock = waiting_desk(store)
    clock.advance(TWO_DAYS)
    assert desk.tick().closed == (NUMBER,)
    assert desk.get(NUMBER).status == Status.CLOSED


def test_two_day_auto_close_closes_the_issue_after_three_days(store: Store) -> None:
    desk, clock = waiting_desk(store)
    clock.advance(timedelta(days=3))
    assert desk.tick().closed == (NUMBER,)


def test_auto_close_turned_off_never_closes(store: Store) -> None:
    desk, clock = waiting_desk(store, auto_close_after=None)
    clock.advance(timedelta(days=400))
    assert desk.tick().closed == ()
    assert desk.get(NUMBER).status == Status.WAITING_FOR_REPLY


# --- auto-close honours any setting -------------------------------------------------------


@given(settings_spans, st.sampled_from(AROUND))
def test_auto_close_honours_any_auto_close_after(after: timedelta, step: int) -> None:
    desk, clock = waiting_desk(InMemoryStore(), auto_close_after=after)
    clock.advance(after + step * MICRO)
    closed = desk.tick().closed
    assert closed == ((NUMBER,) if step >= 0 else ())


# --- at-risk and breach thresholds --------------------------------------------------------


def fresh_desk(sla: ServiceLevelAgreement) -> tuple[HelpDesk, FakeClock]:
    desk, clock = desk_on(InMemoryStore(), auto_close_after=None, sla=sla)
    desk.receive(mail("Printer on fire"))
    return desk, clock


def test_response_is_not_breached_at_exactly_the_target() -> None:
    desk, clock = fresh_desk(agreement(response=8 * H))
    clock.advance(8 * H)
    assert desk.tick().breached == 0


def test_response_breach_is_reported_one_microsecond_after_the_target() -> None:
    desk, clock = fresh_desk(agreement(response=8 * H))
    clock.advance(8 * H + MICRO)
    assert desk.tick().breached == 1


def test_at_risk_is_reported_when_the_remaining_time_reaches_the_threshold() -> None:
    desk, clock = fresh_desk(agreement(response=8 * H, at_risk=AtRisk(remaining=2 * H)))
    clock.advance(6 * H - MICRO)
    assert desk.tick().at_risk == 0
    clock.advance(MICRO)
    assert desk.tick().at_risk == 1


@given(
    st.integers(2, 10_000).map(lambda minutes: timedelta(minutes=minutes)),
    st.floats(0.01, 0.99),
    st.sampled_from(AROUND),
)
def test_at_risk_honours_any_target_and_fraction(
    response: timedelta, fraction: float, step: int
) -> None:
    at_risk = AtRisk(fraction=fraction)
    desk, clock = fresh_desk(agreement(response=response, at_risk=at_risk))
    clock.advance(response - at_risk.threshold(response) + step * MICRO)
    assert desk.tick().at_risk == (1 if step >= 0 else 0)


@given(settings_spans, st.sampled_from(AROUND))
def test_breach_honours_any_response_target(response: timedelta, step: int) -> None:
    desk, clock = fresh_desk(agreement(response=response))
    clock.advance(response + step * MICRO)
    assert desk.tick().breached == (1 if step > 0 else 0)


@given(spans_around(TWO_DAYS))
def test_spans_around_a_threshold_are_within_one_microsecond(span: timedelta) -> None:
    assert abs(span - TWO_DAYS) <= MICRO
