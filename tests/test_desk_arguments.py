"""Every public call of the desk refuses unusable arguments with one typed error, on every store.

Nothing is written when a call is refused: no number is spent, no mail queued.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from issuecore import (
    DeskSettings,
    HelpDesk,
    InvalidArgumentError,
    ServiceLevelAgreement,
    SlaTarget,
    UnknownPriorityError,
)
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from stores import STORE_KINDS, fresh_store

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
AGENT = "ben@example.com"
STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={"Urgent": SlaTarget(1 * H), "Medium": SlaTarget(8 * H)},
    default_priority="Medium",
    default=True,
)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def desk(store: Store) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        agreements=(STANDARD,),
        settings=DeskSettings(support_address="support@example.com"),
    )


def opened(desk: HelpDesk) -> str:
    return desk.open_issue(subject="Printer", raised_by="ana@customer.test", body="Help").number


GOOD_OPEN: dict[str, Any] = {
    "subject": "Printer",
    "raised_by": "ana@customer.test",
    "body": "It is on fire",
}


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("subject", ""),
        ("subject", "   \t"),
        ("subject", None),
        ("subject", 42),
        ("subject", b"bytes"),
        ("subject", "two\nlines"),
        ("subject", "colour \x1b[31mred"),
        ("subject", "nul\x00"),
        ("subject", "x" * 999),
        ("raised_by", "not an address"),
        ("raised_by", ""),
        ("raised_by", None),
        ("raised_by", "Ana <ana@customer.test>, bob@customer.test"),
        ("raised_by", "ana@customer.test\r\nBcc: all@example.com"),
        ("body", ""),
        ("body", "\n\n"),
        ("body", None),
        ("body", "bell\x07"),
        ("priority", ""),
        ("priority", 1),
        ("participants", "bob@customer.test"),
        ("participants", ["not an address"]),
        ("participants", [None]),
    ],
)
def test_open_issue_refuses_an_unusable_argument_and_spends_no_number(
    desk: HelpDesk, argument: str, value: object
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        desk.open_issue(**{**GOOD_OPEN, argument: value})
    assert caught.value.argument.startswith(argument)
    assert argument in str(caught.value)
    assert desk.find() == []
    assert desk.open_issue(**GOOD_OPEN).number == "ISS-2026-00001"


def test_a_subject_of_the_longest_allowed_length_is_accepted(desk: HelpDesk) -> None:
    issue = desk.open_issue(**{**GOOD_OPEN, "subject": "x" * 998})
    assert desk.get(issue.number).subject == "x" * 998


def test_a_body_may_hold_line_breaks_and_tabs(desk: HelpDesk) -> None:
    issue = desk.open_issue(**{**GOOD_OPEN, "body": "line one\r\n\tline two\n"})
    assert desk.thread(issue.number)[0].text == "line one\r\n\tline two\n"


def test_a_priority_no_agreement_names_is_an_unknown_priority_and_an_invalid_argument(
    desk: HelpDesk,
) -> None:
    with pytest.raises(UnknownPriorityError, match="known: Urgent, Medium") as caught:
        desk.open_issue(**GOOD_OPEN, priority="P9")
    assert isinstance(caught.value, InvalidArgumentError)
    assert isinstance(caught.value, LookupError)
    assert desk.find() == []


def test_a_wrong_type_is_both_an_invalid_argument_and_a_type_error(desk: HelpDesk) -> None:
    with pytest.raises(TypeError, match="it is of type int"):
        desk.open_issue(**{**GOOD_OPEN, "subject": 42})
    with pytest.raises(ValueError, match="it is blank"):
        desk.open_issue(**{**GOOD_OPEN, "subject": ""})


COMMANDS: dict[str, Callable[[HelpDesk, str, dict[str, Any]], object]] = {
    "reply": lambda d, n, kw: d.reply(n, **{"body": "Hi", "author": AGENT, **kw}),
    "add_note": lambda d, n, kw: d.add_note(n, **{"body": "Hi", "author": AGENT, **kw}),
    "hold": lambda d, n, kw: d.hold(n, **{"by": AGENT, **kw}),
    "resolve": lambda d, n, kw: d.resolve(n, **{"by": AGENT, **kw}),
    "close": lambda d, n, kw: d.close(n, **{"by": AGENT, **kw}),
    "act": lambda d, n, kw: d.act(n, kw.pop("action", "hold"), **{"by": AGENT, **kw}),
    "assign": lambda d, n, kw: d.assign(n, kw.pop("user", "cy"), **{"by": AGENT, **kw}),
    "unassign": lambda d, n, kw: d.unassign(n, kw.pop("user", "cy"), **{"by": AGENT, **kw}),
    "set_priority": lambda d, n, kw: d.set_priority(
        n, kw.pop("priority", "Urgent"), **{"by": AGENT, **kw}
    ),
    "reset_sla": lambda d, n, kw: d.reset_sla(n, **{"reason": "scope", "by": AGENT, **kw}),
}


@pytest.mark.parametrize(
    ("command", "argument", "value"),
    [
        ("reply", "body", ""),
        ("reply", "body", None),
        ("reply", "author", ""),
        ("reply", "author", "ben\x1b"),
        ("reply", "author", None),
        ("add_note", "body", "  "),
        ("add_note", "author", 3),
        ("hold", "by", ""),
        ("hold", "reason", "  "),
        ("hold", "reason", 5),
        ("resolve", "by", None),
        ("close", "reason", "why\x1b[0m"),
        ("act", "action", ""),
        ("act", "action", None),
        ("assign", "user", ""),
        ("assign", "user", "cy\nrm -rf"),
        ("unassign", "user", None),
        ("set_priority", "priority", "P9"),
        ("set_priority", "priority", None),
        ("set_priority", "by", ""),
        ("reset_sla", "reason", ""),
        ("reset_sla", "reason", None),
    ],
)
def test_agent_commands_refuse_unusable_arguments_and_change_nothing(
    desk: HelpDesk, command: str, argument: str, value: object
) -> None:
    number = opened(desk)
    before = desk.get(number)
    with pytest.raises(InvalidArgumentError) as caught:
        COMMANDS[command](desk, number, {argument: value})
    assert caught.value.argument == argument
    assert desk.get(number) == before
    assert len(desk.thread(number)) == 1


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("number", ["", None, 7, "ISS\x1b"])
def test_every_command_refuses_an_unusable_issue_number(
    desk: HelpDesk, command: str, number: object
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        COMMANDS[command](desk, number, {})  # type: ignore[arg-type]
    assert caught.value.argument == "number"


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.get(""),
        lambda d: d.get(None),
        lambda d: d.thread(3),
        lambda d: d.find(status=""),
        lambda d: d.find(raised_by="nobody"),
        lambda d: d.find(limit=-1),
        lambda d: d.find(limit="10"),
        lambda d: d.kept_message(None),
        lambda d: d.dead_letters(limit=0),
        lambda d: d.retry_dead_letter(""),
        lambda d: d.receive_many([], batch_size=0),
    ],
    ids=[
        "get-empty",
        "get-none",
        "thread-int",
        "find-status",
        "find-raiser",
        "find-limit-negative",
        "find-limit-str",
        "kept-none",
        "dead-letters-zero",
        "retry-empty",
        "batch-zero",
    ],
)
def test_reading_calls_refuse_unusable_arguments(
    desk: HelpDesk, call: Callable[[HelpDesk], object]
) -> None:
    with pytest.raises(InvalidArgumentError):
        call(desk)


def test_the_message_names_the_argument_the_problem_and_what_would_do(desk: HelpDesk) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        desk.open_issue(**{**GOOD_OPEN, "raised_by": "not an address"})
    assert str(caught.value) == (
        "raised_by='not an address' is not usable: it is not one mail address; "
        "expected one address such as 'ana@customer.example' (no display name, no list)"
    )
