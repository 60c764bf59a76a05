"""A customer's Message-ID admits no stranger to their issue, through the desk on every store.

The customer's client chose the Message-ID and every recipient of that mail
holds it, so a reference to it gets the participant check of the subject
token; a reference to mail the desk sent (only participants received it)
still places any reply on its issue.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import AGENT, STORES, Desk, mail, make_desk, server_stores, store_for

from issuecore import StrangerPolicy
from issuecore.adapters.sql import SqlStore
from issuecore.ports import Store

CUSTOMER = "ana@customer.test"
COLLEAGUE = "ben@customer.test"  # copied in by Ana: a participant
ATTACKER = "mallory@evil.test"
FIRST = "ISS-2026-00001"
ANAS_MAIL = "<ana-1@customer.test>"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlStore | None]]:
    yield from server_stores()


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, servers: dict[str, SqlStore | None]
) -> Iterator[Store]:
    yield from store_for(request.param, tmp_path, servers)


def _desk(store: Store, policy: StrangerPolicy = StrangerPolicy.NEW_ISSUE) -> Desk:
    env = make_desk(store, stranger_policy=policy)
    opened = env.desk.receive(
        mail("Printer on fire", sender=CUSTOMER, message_id=ANAS_MAIL, cc=[COLLEAGUE])
    )
    assert (opened.kind, opened.issue_number) == ("created", FIRST)
    return env


def _quoting(sender: str, message_id: str, reference: str = ANAS_MAIL) -> bytes:
    # the attacker also copies the customer in and names her in Reply-To
    return mail(
        "Re: Printer on fire",
        sender=sender,
        message_id=message_id,
        in_reply_to=reference,
        cc=[CUSTOMER],
        reply_to=CUSTOMER,
    )


def test_stranger_quoting_the_customers_message_id_starts_an_issue_of_its_own(
    store: Store,
) -> None:
    env = _desk(store)
    outcome = env.desk.receive(_quoting(ATTACKER, "<x1@evil.test>"))
    assert outcome.kind == "created"
    assert outcome.issue_number not in (None, FIRST)
    assert "mallory@evil.test is not a participant" in outcome.reason
    assert [entry.message_id for entry in env.desk.thread(FIRST)] == [ANAS_MAIL]
    assert env.desk.get(FIRST).participants == (COLLEAGUE,)
    assert env.desk.get(outcome.issue_number or "").raised_by == ATTACKER


def test_stranger_quoting_the_customers_message_id_is_kept_unverified_by_policy(
    store: Store,
) -> None:
    env = _desk(store, StrangerPolicy.ATTACH_UNVERIFIED)
    status = env.desk.get(FIRST).status
    outcome = env.desk.receive(_quoting(ATTACKER, "<x1@evil.test>"))
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
    assert env.desk.thread(FIRST)[-1].unverified
    issue = env.desk.get(FIRST)
    assert (issue.status, issue.participants) == (status, (COLLEAGUE,))
    env.desk.reply(FIRST, body="On its way.", author=AGENT)
    reply = env.mailer.sent[-1]
    assert ATTACKER not in f"{reply['To']} {reply['Cc']}"


def test_stranger_quoting_the_customers_message_id_is_rejected_by_policy(store: Store) -> None:
    env = _desk(store, StrangerPolicy.REJECT)
    outcome = env.desk.receive(_quoting(ATTACKER, "<x1@evil.test>"))
    assert outcome.kind == "quarantined"
    assert len(env.desk.thread(FIRST)) == 1


def test_participant_quoting_the_customers_message_id_joins_the_issue(store: Store) -> None:
    env = _desk(store)
    outcome = env.desk.receive(_quoting(COLLEAGUE, "<b1@customer.test>"))
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
    assert outcome.signal == "in_reply_to"


def test_anyone_replying_to_the_desks_own_mail_joins_the_issue(store: Store) -> None:
    env = _desk(store)
    env.desk.reply(FIRST, body="We are on it.", author=AGENT)
    ours = str(env.mailer.sent[-1]["Message-ID"])
    outcome = env.desk.receive(_quoting("facilities@customer.test", "<f1@customer.test>", ours))
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
