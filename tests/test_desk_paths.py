"""Desk paths the story tests pass by: an agent answering by mail, reset_sla's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from issuecore import DeskSettings, HelpDesk, Status
from issuecore._model import EntryKind
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.testing import FakeClock, RecordingMailer
from test_desk import AGENT, START, SUPPORT, Desk, mail

NUMBER = "ISS-2026-00001"


@pytest.fixture(params=["memory", "sqlite"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    if request.param == "memory":
        yield Desk(InMemoryStore())
        return
    with SQLiteStore(tmp_path / "desk.db") as store:
        yield Desk(store)


def test_agent_answering_by_mail_is_an_agent_reply_that_waits_for_the_customer(
    env: Desk,
) -> None:
    env.desk.receive(mail("Printer on fire"))
    outcome = env.desk.receive(
        mail(
            f"Re: [#{NUMBER}] Printer on fire",
            "Unplug it, please.",
            sender=AGENT,
            message_id="<m2@example.com>",
        )
    )
    assert (outcome.kind, outcome.issue_number, outcome.auto_reply) == ("appended", NUMBER, False)
    issue = env.desk.get(NUMBER)
    assert issue.status == Status.WAITING_FOR_REPLY
    assert issue.last_agent_reply_at == START
    last = env.desk.thread(NUMBER)[-1]
    assert (last.kind, last.author) == (EntryKind.AGENT_REPLY, AGENT)


def test_agent_mail_adds_whom_the_agent_copies_in(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.desk.receive(
        mail(
            f"Re: [#{NUMBER}] Printer on fire",
            sender=AGENT,
            message_id="<m2@example.com>",
            cc="facilities@customer.test",
        )
    )
    assert "facilities@customer.test" in env.desk.get(NUMBER).participants


def test_reset_sla_refuses_a_blank_reason(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    with pytest.raises(ValueError, match="needs a reason"):
        env.desk.reset_sla(NUMBER, reason="  ", by=AGENT)
    assert env.desk.get(NUMBER).sla.reset_at is None  # type: ignore[union-attr]


def test_reset_sla_refuses_an_issue_without_an_agreement() -> None:
    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=FakeClock(START),
        agreements=[],
        settings=DeskSettings(
            support_address=SUPPORT,
            mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
        ),
    )
    desk.receive(mail("Printer on fire"))
    with pytest.raises(ValueError, match=f"{NUMBER} has no SLA to reset"):
        desk.reset_sla(NUMBER, reason="customer asked", by=AGENT)
