"""Bounded fan-out: the desk cannot be used to mail third parties, on every store.

One message gets at most one automatic reply, counted against the sender as
well as the recipient; one message adds at most ``max_new_participants``;
a no-reply sender whose Reply-To names a person opens an issue without
being able to join someone else's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from desk_support import STORES, Desk, mail, make_desk, server_stores, store_for

from issuecore.adapters.sql import SqlStore
from issuecore.mail._settings import StrangerPolicy
from issuecore.ports import Store

LIMIT = 10  # MailSettings.auto_reply_limit by default
CAP = 20  # MailSettings.max_new_participants by default
ATTACKER = "mallory@evil.test"
FIRST = "ISS-2026-00001"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlStore | None]]:
    yield from server_stores()


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, servers: dict[str, SqlStore | None]
) -> Iterator[Store]:
    yield from store_for(request.param, tmp_path, servers)


@pytest.fixture
def env(store: Store) -> Desk:
    return make_desk(store)


def _relay(env: Desk, count: int, *, sender: str = ATTACKER, first: int = 0) -> list[bool]:
    """Send ``count`` messages from ``sender``, each naming another third party in Reply-To."""
    return [
        env.desk.receive(
            mail(
                f"Invoice {index}",
                sender=sender,
                message_id=f"<relay-{index}@evil.test>",
                reply_to=f"victim{index}@third.test",
            )
        ).auto_reply
        for index in range(first, first + count)
    ]


def _copies(count: int, domain: str = "copied.test") -> list[str]:
    return [f"person{index}@{domain}" for index in range(count)]


# --- automatic replies: counted against the sender too ------------------------------


def test_thirty_reply_to_third_parties_from_one_sender_get_at_most_the_limit(env: Desk) -> None:
    replied = _relay(env, 30)
    assert sum(replied) == LIMIT
    assert len(env.mailer.sent) == LIMIT
    assert [m["To"] for m in env.mailer.sent] == [f"victim{i}@third.test" for i in range(LIMIT)]
    # every message still opened its issue: nothing is lost, only the replies are held back
    assert len(env.desk.find(raised_by=ATTACKER)) == 30


def test_last_automatic_reply_within_the_senders_limit_is_sent(env: Desk) -> None:
    assert all(_relay(env, LIMIT - 1))
    (last,) = _relay(env, 1, first=LIMIT - 1)
    assert last
    assert env.mailer.sent[-1]["To"] == f"victim{LIMIT - 1}@third.test"


def test_first_automatic_reply_beyond_the_senders_limit_is_refused(env: Desk) -> None:
    assert all(_relay(env, LIMIT))
    outcome = env.desk.receive(
        mail("One more", sender=ATTACKER, message_id="<over@evil.test>", reply_to="new@third.test")
    )
    assert outcome.kind == "created"
    assert not outcome.auto_reply
    assert len(env.mailer.sent) == LIMIT


def test_sender_counted_in_any_ascii_case_is_one_sender(env: Desk) -> None:
    assert all(_relay(env, LIMIT, sender="Mallory@Evil.TEST"))
    assert _relay(env, 1, sender="mallory@evil.test", first=LIMIT) == [False]


def test_senders_limit_frees_up_once_the_window_has_passed(env: Desk) -> None:
    assert all(_relay(env, LIMIT))
    env.clock.advance(timedelta(hours=24) + timedelta(seconds=1))
    assert _relay(env, 1, first=LIMIT) == [True]


def test_many_senders_naming_one_third_party_get_it_at_most_the_limit(env: Desk) -> None:
    replied = [
        env.desk.receive(
            mail(
                "Hello",
                sender=f"sender{index}@evil.test",
                message_id=f"<many-{index}@evil.test>",
                reply_to="victim@third.test",
            )
        ).auto_reply
        for index in range(LIMIT + 5)
    ]
    assert replied == [True] * LIMIT + [False] * 5


def test_reply_to_listing_many_addresses_gets_one_automatic_reply_to_the_first(env: Desk) -> None:
    outcome = env.desk.receive(
        mail(
            "Hello",
            sender=ATTACKER,
            message_id="<list@evil.test>",
            reply_to=", ".join(f"victim{i}@third.test" for i in range(30)),
        )
    )
    assert outcome.auto_reply
    (reply,) = env.mailer.sent
    assert reply["To"] == "victim0@third.test"
    assert reply["Cc"] is None


# --- participants: at most max_new_participants per message -------------------------


def test_first_message_copying_in_exactly_the_cap_adds_them_all(env: Desk) -> None:
    outcome = env.desk.receive(
        mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>", cc=_copies(CAP))
    )
    assert env.desk.get(FIRST).participants == tuple(_copies(CAP))
    assert "left out" not in outcome.reason


def test_first_message_copying_in_one_more_than_the_cap_leaves_the_last_out(env: Desk) -> None:
    outcome = env.desk.receive(
        mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>", cc=_copies(CAP + 1))
    )
    assert env.desk.get(FIRST).participants == tuple(_copies(CAP))
    assert "1 more copied-in addresses left out (max_new_participants is 20)" in outcome.reason


def test_follow_up_copying_in_exactly_the_cap_adds_them_all(env: Desk) -> None:
    env.desk.receive(mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender="ana@customer.test",
            message_id="<m2@c.test>",
            cc=_copies(CAP),
        )
    )
    assert outcome.kind == "appended"
    assert env.desk.get(FIRST).participants == tuple(_copies(CAP))


def test_follow_up_copying_in_one_more_than_the_cap_leaves_the_last_out(env: Desk) -> None:
    env.desk.receive(mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender="ana@customer.test",
            message_id="<m2@c.test>",
            cc=_copies(CAP + 1),
        )
    )
    assert outcome.kind == "appended"
    assert env.desk.get(FIRST).participants == tuple(_copies(CAP))
    assert "1 more copied-in addresses left out" in outcome.reason


def test_five_thousand_copies_add_the_cap_and_the_agent_reply_reaches_cap_plus_raiser(
    env: Desk,
) -> None:
    outcome = env.desk.receive(
        mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>", cc=_copies(5000))
    )
    assert outcome.kind == "created"
    assert len(env.desk.get(FIRST).participants) == CAP
    env.desk.reply(FIRST, body="Looking into it.", author="sam@helpdesk.example")
    reply = env.mailer.sent[-1]
    recipients = [a.strip() for a in f"{reply['To']},{reply['Cc'] or ''}".split(",") if a.strip()]
    assert len(recipients) == CAP + 1
    assert recipients[0] == "ana@customer.test"


def test_message_kept_unverified_adds_no_participants(store: Store) -> None:
    env = make_desk(store, stranger_policy=StrangerPolicy.ATTACH_UNVERIFIED)
    env.desk.receive(mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender=ATTACKER,
            message_id="<x1@evil.test>",
            cc=["friend@evil.test", "ana@customer.test"],
        )
    )
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
    assert env.desk.thread(FIRST)[-1].unverified
    assert env.desk.get(FIRST).participants == ()


def test_copying_the_customer_in_does_not_let_a_stranger_into_their_issue(env: Desk) -> None:
    env.desk.receive(mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender=ATTACKER,
            message_id="<x1@evil.test>",
            cc=["ana@customer.test"],
            reply_to="ana@customer.test",
        )
    )
    assert outcome.kind == "created"
    assert outcome.issue_number != FIRST
    assert len(env.desk.thread(FIRST)) == 1
    assert env.desk.get(FIRST).participants == ()


def test_copying_the_customer_in_is_still_rejected_under_the_reject_policy(store: Store) -> None:
    env = make_desk(store, stranger_policy=StrangerPolicy.REJECT)
    env.desk.receive(mail("Hello", sender="ana@customer.test", message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender=ATTACKER,
            message_id="<x1@evil.test>",
            cc=["ana@customer.test"],
        )
    )
    assert outcome.kind == "quarantined"
    assert len(env.desk.thread(FIRST)) == 1


# --- no-reply senders that name a person ------------------------------------------------

ERP = "noreply@erp.supplier.test"
BUYER = "buyer@customer.test"


def test_noreply_sender_with_a_person_in_reply_to_opens_an_issue(env: Desk) -> None:
    outcome = env.desk.receive(
        mail("Purchase order 4711", sender=ERP, message_id="<po-4711@erp.test>", reply_to=BUYER)
    )
    assert outcome.kind == "created"
    assert outcome.auto_reply
    issue = env.desk.get(outcome.issue_number or "")
    assert issue.raised_by == ERP
    assert issue.participants == (BUYER,)
    assert env.mailer.sent[-1]["To"] == BUYER
    env.desk.reply(issue.number, body="Confirmed.", author="sam@helpdesk.example")
    reply = env.mailer.sent[-1]
    assert reply["To"] == BUYER
    assert reply["Cc"] is None


def test_noreply_sender_without_reply_to_is_still_ignored(env: Desk) -> None:
    outcome = env.desk.receive(mail("Your report", sender=ERP, message_id="<r1@erp.test>"))
    assert outcome.kind == "ignored"
    assert "robot sender" in outcome.reason


def test_noreply_sender_naming_a_participant_does_not_join_their_issue(env: Desk) -> None:
    env.desk.receive(mail("Hello", sender=BUYER, message_id="<m1@c.test>"))
    outcome = env.desk.receive(
        mail(
            f"Re: Hello [#{FIRST}]",
            sender="noreply@evil.test",
            message_id="<x1@evil.test>",
            reply_to=BUYER,
        )
    )
    assert outcome.issue_number != FIRST
    assert len(env.desk.thread(FIRST)) == 1


def test_noreply_sender_replying_to_our_signed_message_joins_its_issue(env: Desk) -> None:
    env.desk.receive(
        mail("Purchase order 4711", sender=ERP, message_id="<po-4711@erp.test>", reply_to=BUYER)
    )
    env.desk.reply(FIRST, body="Confirmed.", author="sam@helpdesk.example")
    ours = str(env.mailer.sent[-1]["Message-ID"])
    outcome = env.desk.receive(
        mail(
            "Re: Purchase order 4711",
            sender=ERP,
            message_id="<po-4711-2@erp.test>",
            reply_to=BUYER,
            in_reply_to=ours,
        )
    )
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
