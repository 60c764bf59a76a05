"""Sender identity through the desk, on every store: lookalikes are other people.

The participant check, the agent check, the raiser filter and the
automatic-reply count all compare addresses by
:func:`issuecore.mail._addresses.address_key`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import AGENT, STORES, Desk, mail, make_desk, server_stores, store_for

from issuecore._model import EntryKind
from issuecore.adapters.sql import SqlStore

FIRST = "ISS-2026-00001"
LOOKALIKES = [
    pytest.param("ceo@business.example", "ceo@busineß.example", id="sharp-s-domain"),
    pytest.param("kass@example.com", "kaß@example.com", id="sharp-s-local"),
    pytest.param("sam@example.com", "\u017fam@example.com", id="long-s"),
    pytest.param("kim@example.com", "\u212aim@example.com", id="kelvin-sign"),
    pytest.param("ivan@example.com", "\u0131van@example.com", id="dotless-i"),
    pytest.param("ana@example.com", "\uff41na@example.com", id="fullwidth-a"),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SqlStore | None]]:
    yield from server_stores()


@pytest.fixture(params=STORES)
def env(
    request: pytest.FixtureRequest, tmp_path: Path, servers: dict[str, SqlStore | None]
) -> Iterator[Desk]:
    for store in store_for(request.param, tmp_path, servers):
        yield make_desk(store)


def _open(env: Desk, raiser: str) -> None:
    outcome = env.desk.receive(mail("Hello", sender=raiser, message_id="<m1@c.test>"))
    assert (outcome.kind, outcome.issue_number) == ("created", FIRST)


def _follow_up(env: Desk, sender: str, message_id: str = "<m2@c.test>") -> str | None:
    outcome = env.desk.receive(mail(f"Re: Hello [#{FIRST}]", sender=sender, message_id=message_id))
    return outcome.issue_number if outcome.kind == "appended" else None


@pytest.mark.parametrize(("raiser", "lookalike"), LOOKALIKES)
def test_lookalike_of_the_raiser_does_not_join_the_issue(
    env: Desk, raiser: str, lookalike: str
) -> None:
    _open(env, raiser)
    assert _follow_up(env, lookalike) is None
    assert len(env.desk.thread(FIRST)) == 1


@pytest.mark.parametrize(("raiser", "lookalike"), LOOKALIKES)
def test_finding_by_raiser_does_not_return_a_lookalikes_issue(
    env: Desk, raiser: str, lookalike: str
) -> None:
    _open(env, lookalike)
    assert env.desk.find(raised_by=raiser) == []
    assert [issue.number for issue in env.desk.find(raised_by=lookalike)] == [FIRST]


def test_raiser_writing_in_other_ascii_case_joins_the_issue(env: Desk) -> None:
    _open(env, "ceo@business.example")
    assert _follow_up(env, "CEO@Business.EXAMPLE") == FIRST


def test_raiser_with_a_unicode_domain_joins_from_its_ascii_form(env: Desk) -> None:
    _open(env, "ana@bücher.example")
    assert _follow_up(env, "ana@XN--BCHER-KVA.example") == FIRST
    assert [i.number for i in env.desk.find(raised_by="ana@xn--bcher-kva.example")] == [FIRST]


def test_lookalike_of_an_agent_is_not_an_agent(env: Desk) -> None:
    _open(env, "ana@customer.test")
    lookalike = AGENT.replace("s", "\u017f", 1)
    assert _follow_up(env, lookalike) is None
    assert _follow_up(env, AGENT.upper(), "<m3@c.test>") == FIRST
    assert env.desk.thread(FIRST)[-1].kind is EntryKind.AGENT_REPLY


def test_automatic_replies_to_a_lookalike_are_counted_apart(env: Desk) -> None:
    for index in range(10):
        env.desk.receive(
            mail(f"Hello {index}", sender="ceo@business.example", message_id=f"<k{index}@c.test>")
        )
    refused = env.desk.receive(
        mail("Again", sender="CEO@Business.example", message_id="<k-over@c.test>")
    )
    assert not refused.auto_reply
    lookalike = env.desk.receive(
        mail("Hello", sender="ceo@busineß.example", message_id="<sharp@c.test>")
    )
    assert lookalike.auto_reply
    assert env.mailer.sent[-1]["To"] == "ceo@xn--busine-gta.example"


def test_a_senders_limit_is_not_shared_with_a_lookalike_sender(env: Desk) -> None:
    for index in range(10):
        env.desk.receive(
            mail(
                f"Hello {index}",
                sender="kass@example.com",
                reply_to=f"office{index}@example.com",
                message_id=f"<k{index}@c.test>",
            )
        )
    refused = env.desk.receive(
        mail("Again", sender="KASS@example.com", reply_to="desk@x.test", message_id="<k@c.test>")
    )
    assert not refused.auto_reply
    lookalike = env.desk.receive(
        mail("Hello", sender="kaß@example.com", reply_to="desk@x.test", message_id="<s@c.test>")
    )
    assert lookalike.auto_reply
