"""Messages keep their own Date: beside the time they were received, on every store.

The thread entry's ``at`` is when the desk received the message, and SLA
clocks count from it; ``written_at`` is the message's ``Date:``. The import
option ``use_message_date`` counts from the message's date instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from attrs import evolve as attrs_evolve
from desk_support import SERVER_URLS, STORES, SUPPORT, server_stores, store_for
from hypothesis import example, given
from hypothesis import strategies as st

from issuecore import (
    DeskSettings,
    HelpDesk,
    MailSettings,
    ServiceLevelAgreement,
    SlaTarget,
)
from issuecore._instants import in_utc
from issuecore.adapters.sql import SqlStore
from issuecore.config import parse_config
from issuecore.errors import ConfigError
from issuecore.mail._intake import (
    WRITTEN_AT_EARLIEST,
    WRITTEN_AT_SKEW,
    message_instant,
    written_at,
)
from issuecore.mail._parse import Quarantined, parse_message
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRITTEN = datetime(2026, 2, 27, 7, 15, tzinfo=UTC)  # "Fri, 27 Feb 2026 08:15:00 +0100"
AGREEMENT = ServiceLevelAgreement(
    name="Standard",
    targets={"Medium": SlaTarget(response=timedelta(hours=1), resolution=timedelta(days=1))},
    default_priority="Medium",
    default=True,
)
assert SERVER_URLS  # the server stores are set up by desk_support


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlStore | None]]:
    yield from server_stores()


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, servers: dict[str, SqlStore | None]
) -> Iterator[Store]:
    yield from store_for(request.param, tmp_path, servers)


def make_desk(store: Store, **settings: object) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(RECEIVED),
        agreements=[AGREEMENT],
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"message-dates-key" * 2),
            **settings,  # type: ignore[arg-type]
        ),
    )


def message(
    date: str | None = "Fri, 27 Feb 2026 08:15:00 +0100",
    *,
    message_id: str = "<d1@customer.test>",
    subject: str = "Printer on fire",
) -> bytes:
    lines = [
        "From: Ana <ana@customer.test>",
        f"To: {SUPPORT}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
    ]
    if date is not None:
        lines.append(f"Date: {date}")
    return ("\r\n".join(lines) + "\r\n\r\nIt smokes.\r\n").encode()


# --- the rule ---------------------------------------------------------------------------


def test_written_at_is_the_date_in_utc() -> None:
    date = datetime(2026, 2, 27, 8, 15, tzinfo=timezone(timedelta(hours=1)))
    result = written_at(date, received=RECEIVED)
    assert result == WRITTEN
    assert result is not None
    assert result.utcoffset() == timedelta(0)


def _written_at_as_defined(date: datetime, received: datetime) -> datetime | None:
    instant = date.astimezone(UTC)
    if instant < WRITTEN_AT_EARLIEST or instant > received + WRITTEN_AT_SKEW:
        return None
    return instant


@given(
    date=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    received=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    offset=st.integers(-23 * 60, 23 * 60),
    pendulum_clock=st.booleans(),
    near=st.integers(-3, 3),
)
@example(date=RECEIVED + WRITTEN_AT_SKEW, received=RECEIVED, offset=0, pendulum_clock=True, near=0)
def test_written_at_keeps_exactly_the_dates_the_rule_keeps(
    date: datetime, received: datetime, offset: int, pendulum_clock: bool, near: int
) -> None:
    if near:  # about a day after receipt, to the microsecond
        date = received + WRITTEN_AT_SKEW + timedelta(microseconds=near)
    date = date.astimezone(timezone(timedelta(minutes=offset)))
    clock = in_utc(received) if pendulum_clock else received
    assert written_at(date, received=clock) == _written_at_as_defined(date, clock)


def test_no_date_gives_no_written_at() -> None:
    assert written_at(None, received=RECEIVED) is None


def test_the_earliest_date_is_kept() -> None:
    assert written_at(WRITTEN_AT_EARLIEST, received=RECEIVED) == WRITTEN_AT_EARLIEST


def test_a_date_before_1970_is_absurd() -> None:
    assert written_at(WRITTEN_AT_EARLIEST - timedelta(microseconds=1), received=RECEIVED) is None


def test_a_date_a_day_after_receipt_is_kept() -> None:
    assert written_at(RECEIVED + WRITTEN_AT_SKEW, received=RECEIVED) == RECEIVED + WRITTEN_AT_SKEW


def test_a_date_more_than_a_day_after_receipt_is_absurd() -> None:
    later = RECEIVED + WRITTEN_AT_SKEW + timedelta(microseconds=1)
    assert written_at(later, received=RECEIVED) is None


def test_the_instant_is_the_receipt_unless_the_message_date_is_asked_for() -> None:
    parsed = parse_message(message())
    assert message_instant(parsed, received=RECEIVED, use_message_date=False) == RECEIVED
    assert message_instant(parsed, received=RECEIVED, use_message_date=True) == WRITTEN


def test_a_message_date_after_receipt_counts_from_the_receipt() -> None:
    parsed = parse_message(message("Mon, 02 Mar 2026 12:00:00 +0000"))
    assert message_instant(parsed, received=RECEIVED, use_message_date=True) == RECEIVED


@pytest.mark.parametrize("date", [None, "yesterday at noon", "Sat, 01 Jan 1900 00:00:00 +0000"])
def test_without_a_usable_date_the_message_counts_from_its_receipt(date: str | None) -> None:
    parsed = parse_message(message(date))
    assert message_instant(parsed, received=RECEIVED, use_message_date=True) == RECEIVED


def test_an_unreadable_message_counts_from_its_receipt() -> None:
    unreadable = Quarantined(reason="broken", message_id="<q@x>")
    assert message_instant(unreadable, received=RECEIVED, use_message_date=True) == RECEIVED


# --- on every store ---------------------------------------------------------------------


def test_the_thread_keeps_the_message_date_beside_the_received_time(store: Store) -> None:
    desk = make_desk(store)
    number = desk.receive(message()).issue_number
    assert number is not None
    (entry,) = desk.thread(number)
    assert (entry.at, entry.written_at) == (RECEIVED, WRITTEN)
    issue = desk.get(number)
    assert issue.created_at == RECEIVED
    assert issue.sla is not None
    assert issue.sla.response_by == RECEIVED + timedelta(hours=1)


@pytest.mark.parametrize(
    "date", [None, "the day after tomorrow", "Thu, 01 Jan 2099 00:00:00 +0000"]
)
def test_a_missing_unreadable_or_absurd_date_is_stored_as_none(
    store: Store, date: str | None
) -> None:
    desk = make_desk(store)
    number = desk.receive(message(date)).issue_number
    assert number is not None
    (entry,) = desk.thread(number)
    assert (entry.at, entry.written_at) == (RECEIVED, None)


def test_use_message_date_starts_the_issue_and_its_sla_at_the_message_date(store: Store) -> None:
    desk = make_desk(store)
    number = desk.receive(message(), use_message_date=True).issue_number
    assert number is not None
    issue = desk.get(number)
    assert issue.created_at == WRITTEN
    assert issue.sla is not None
    assert issue.sla.response_by == WRITTEN + timedelta(hours=1)
    (entry,) = desk.thread(number)
    assert (entry.at, entry.written_at) == (WRITTEN, WRITTEN)
    # Imported three days late: the response (1h) and resolution (1d) targets are breached.
    assert desk.tick().breached == 2


def test_the_desk_setting_applies_to_batches(store: Store) -> None:
    desk = make_desk(store, use_message_date=True)
    report = desk.receive_many(
        [
            message("Fri, 27 Feb 2026 08:15:00 +0100"),
            message("Sat, 28 Feb 2026 10:00:00 +0000", message_id="<d2@c.test>", subject="Other"),
        ]
    )
    numbers = [outcome.issue_number for outcome in report.outcomes]
    assert [desk.get(n).created_at for n in numbers if n] == [
        WRITTEN,
        datetime(2026, 2, 28, 10, 0, tzinfo=UTC),
    ]
    assert desk.receive(
        message(message_id="<d3@c.test>", subject="Third"), use_message_date=False
    ).issue_number
    assert desk.get("ISS-2026-00003").created_at == RECEIVED


def test_an_older_follow_up_never_moves_the_issue_back_in_time(store: Store) -> None:
    desk = make_desk(store, use_message_date=True)
    number = desk.receive(message("Sat, 28 Feb 2026 10:00:00 +0000")).issue_number
    assert number is not None
    follow_up = message(
        "Fri, 27 Feb 2026 08:15:00 +0100",
        message_id="<d0@customer.test>",
        subject=f"Re: Printer on fire [#{number}]",
    )
    assert desk.receive(follow_up).kind == "appended"
    issue = desk.get(number)
    assert issue.updated_at >= issue.created_at
    assert [entry.written_at for entry in desk.thread(number)] == [
        datetime(2026, 2, 28, 10, 0, tzinfo=UTC),
        WRITTEN,
    ]


# --- configuration ----------------------------------------------------------------------


def test_use_message_date_in_the_configuration_reaches_the_desk_settings() -> None:
    config = parse_config("use_message_date = true")
    assert config.desk_settings(b"k" * 32).use_message_date is True
    assert parse_config("").desk_settings(b"k" * 32).use_message_date is False


def test_use_message_date_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match="use_message_date: must be true or false"):
        parse_config('use_message_date = "yes"')


def test_the_call_option_applies_to_a_single_message_batch_and_to_ingest(
    store: Store, tmp_path: Path
) -> None:
    from issuecore.adapters.maildir import MaildirSource

    desk = make_desk(store)
    (outcome,) = desk.receive_many([message()], use_message_date=True).outcomes
    assert outcome.issue_number is not None
    assert desk.get(outcome.issue_number).created_at == WRITTEN
    inbox = MaildirSource(tmp_path / "inbox", create=True)
    (tmp_path / "inbox" / "new" / "1.M1P1.host").write_bytes(
        message("Sat, 28 Feb 2026 10:00:00 +0000", message_id="<d9@c.test>", subject="Other")
    )
    (ingested,) = desk.ingest(inbox, use_message_date=True).outcomes
    assert ingested.issue_number is not None
    assert desk.get(ingested.issue_number).created_at == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)


def test_the_two_instants_are_apart_from_a_minute_on() -> None:
    from issuecore import EntryKind, ThreadEntry

    entry = ThreadEntry(kind=EntryKind.CUSTOMER_MESSAGE, author="a", text="t", at=RECEIVED)
    assert not entry.written_apart
    just = timedelta(minutes=1)
    assert attrs_evolve(entry, written_at=RECEIVED - just).written_apart
    assert not attrs_evolve(
        entry, written_at=RECEIVED - just + timedelta(microseconds=1)
    ).written_apart
    assert attrs_evolve(entry, written_at=RECEIVED + just).written_apart
