"""Agents answering by mail: their mail naming an issue reaches the customer, on every store.

An agent who answers from a mail client writes to the support address with
the issue's token. Under the default policy the desk relays the new text
(quoted conversation left out, attachments kept) to the customer as a desk
reply through the outbox, and only then counts the first response; under
``record_only`` the mail is kept as an internal note and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import attrs
import pytest
from desk_support import (
    AGENT,
    START,
    STORES,
    SUPPORT,
    Desk,
    mail,
    make_desk,
    server_stores,
    store_for,
)

from issuecore import DeskSettings, EntryKind, HelpDesk, Status
from issuecore.adapters.sql import SqlStore
from issuecore.errors import MailSettingsError
from issuecore.mail._intake import dmarc_passed
from issuecore.mail._parse import InboundMessage, parse_message
from issuecore.mail._settings import AgentMailPolicy, MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer

CUSTOMER = "ana@customer.test"
FIRST = "ISS-2026-00001"
TOKEN = f"[#{FIRST}]"
QUOTED = "On Mon, 2 Mar 2026 at 09:00, Ana <ana@customer.test> wrote:\n> The printer smokes.\n"


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


def agent_mail(
    *,
    sender: str = f"Sam Agent <{AGENT}>",
    message_id: str = "<a1@helpdesk.example>",
    body: str = "Please restart it.\n\n" + QUOTED,
    to: str = SUPPORT,
    cc: str | None = None,
    attachment: bytes | None = None,
    auto_submitted: bool = False,
    authentication: tuple[str, ...] = (),
) -> bytes:
    message = EmailMessage(policy=default_policy)
    for result in authentication:
        message["Authentication-Results"] = result
    message["From"] = sender
    message["To"] = to
    if cc is not None:
        message["Cc"] = cc
    message["Subject"] = f"Re: Printer on fire {TOKEN}"
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    if auto_submitted:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="manual.pdf"
        )
    return message.as_bytes()


def open_issue(env: Desk) -> str:
    outcome = env.desk.receive(
        mail("Printer on fire", sender=CUSTOMER, message_id="<c1@customer.test>")
    )
    assert outcome.created
    env.mailer.sent.clear()  # the automatic reply
    return FIRST


def test_agent_mail_is_relayed_to_the_customer_without_the_quote_and_with_attachments(
    env: Desk,
) -> None:
    open_issue(env)
    env.clock.set(START.replace(hour=10))
    outcome = env.desk.receive(agent_mail(attachment=b"%PDF-1.7 manual"))
    assert (outcome.kind, outcome.issue_number, outcome.relayed) == ("appended", FIRST, True)
    assert "relayed to the customer as a desk reply" in outcome.reason

    (relay,) = env.mailer.sent
    assert relay["To"] == CUSTOMER
    assert relay["Cc"] is None
    assert str(relay["From"]) == f"Sam Agent <{SUPPORT}>"
    assert TOKEN in str(relay["Subject"])
    assert str(relay["In-Reply-To"]) == "<c1@customer.test>"
    text = relay.get_body(("plain",))
    assert text is not None
    assert text.get_content().strip() == "Please restart it."
    (file,) = relay.iter_attachments()
    assert (file.get_filename(), file.get_content()) == ("manual.pdf", b"%PDF-1.7 manual")

    issue = env.desk.get(FIRST)
    assert issue.status == Status.WAITING_FOR_REPLY
    assert issue.first_responded_at == START.replace(hour=10)
    entry = env.desk.thread(FIRST)[-1]
    assert entry.kind is EntryKind.AGENT_REPLY
    assert "wrote:" in entry.text  # the full text stays on the thread
    assert [a.filename for a in entry.attachments] == ["manual.pdf"]


def test_the_customers_answer_to_the_relay_finds_the_issue(env: Desk) -> None:
    open_issue(env)
    env.desk.receive(agent_mail())
    (relay,) = env.mailer.sent
    answer = mail(
        "Re: Printer on fire",
        sender=CUSTOMER,
        message_id="<c2@customer.test>",
        in_reply_to=str(relay["Message-ID"]),
    )
    outcome = env.desk.receive(answer)
    assert (outcome.kind, outcome.issue_number) == ("appended", FIRST)
    assert env.desk.get(FIRST).status == Status.OPEN


def test_the_relay_is_queued_and_counted_even_when_sending_fails_at_first(
    store: Store,
) -> None:
    class DownMailer:
        def send(self, message: EmailMessage) -> None:
            raise ConnectionError("smtp is down")

    env = make_desk(store)
    desk = HelpDesk(store=store, mailer=DownMailer(), clock=env.clock, settings=env.desk.settings)
    desk.receive(mail("Printer on fire", sender=CUSTOMER, message_id="<c1@customer.test>"))
    assert desk.receive(agent_mail()).relayed
    assert desk.get(FIRST).first_responded_at is not None
    with store.transaction(read_only=True) as work:
        waiting = work.outbox.pending(limit=10)
    relays = [row for row in waiting if b"Please restart it." in row.payload]
    assert [(row.number, row.attempts) for row in relays] == [(FIRST, 1)]


def test_a_relay_with_nobody_to_write_to_is_kept_as_a_note_and_not_counted(env: Desk) -> None:
    env.desk.open_issue(subject="Order 42", raised_by="noreply@shop.test", body="Paid")
    outcome = env.desk.receive(agent_mail())
    assert (outcome.kind, outcome.relayed) == ("appended", False)
    assert "not sent to the customer: the issue has no address" in outcome.reason
    assert env.mailer.sent == []
    issue = env.desk.get(FIRST)
    assert (issue.status, issue.first_responded_at) == (Status.OPEN, None)
    entry, note = env.desk.thread(FIRST)[-2:]
    assert entry.kind is EntryKind.INTERNAL_NOTE
    assert note.kind is EntryKind.SYSTEM
    assert "was not sent to the customer" in note.text


def test_record_only_keeps_agent_mail_as_an_internal_note(store: Store) -> None:
    env = make_desk(store, agent_mail_policy="record_only")
    open_issue(env)
    outcome = env.desk.receive(agent_mail())
    assert (outcome.kind, outcome.relayed) == ("appended", False)
    assert "agent_mail_policy is record_only" in outcome.reason
    assert env.mailer.sent == []
    issue = env.desk.get(FIRST)
    assert (issue.status, issue.first_responded_at) == (Status.OPEN, None)
    assert env.desk.thread(FIRST)[-2].kind is EntryKind.INTERNAL_NOTE


def test_agent_mail_sent_to_the_customer_directly_counts_and_is_not_sent_again(
    env: Desk,
) -> None:
    open_issue(env)
    outcome = env.desk.receive(agent_mail(to=CUSTOMER, cc=SUPPORT))
    assert (outcome.kind, outcome.relayed) == ("appended", False)
    assert "wrote to the raiser directly" in outcome.reason
    assert env.mailer.sent == []
    issue = env.desk.get(FIRST)
    assert issue.status == Status.WAITING_FOR_REPLY
    assert issue.first_responded_at is not None
    assert env.desk.thread(FIRST)[-1].kind is EntryKind.AGENT_REPLY


def test_an_agents_automatic_reply_is_never_relayed(env: Desk) -> None:
    open_issue(env)
    outcome = env.desk.receive(agent_mail(body="I am out of office.", auto_submitted=True))
    assert (outcome.kind, outcome.relayed) == ("appended", False)
    assert env.mailer.sent == []
    assert env.desk.get(FIRST).first_responded_at is None


def test_agent_mail_delivered_twice_is_relayed_once(env: Desk) -> None:
    open_issue(env)
    assert env.desk.receive(agent_mail()).relayed
    again = env.desk.receive(agent_mail())
    assert (again.kind, again.relayed) == ("duplicate", False)
    assert len(env.mailer.sent) == 1


def test_agent_mail_with_no_new_text_and_no_attachment_is_kept_as_a_note(env: Desk) -> None:
    open_issue(env)
    outcome = env.desk.receive(agent_mail(body=" \n\n"))
    assert not outcome.relayed
    assert "no new text and no attachment" in outcome.reason
    assert env.mailer.sent == []


def test_every_address_at_an_agent_domain_is_an_agent(store: Store) -> None:
    clock = FakeClock(START)
    mailer = RecordingMailer()
    desk = HelpDesk(
        store=store,
        mailer=mailer,
        clock=clock,
        settings=DeskSettings(
            support_address=SUPPORT,
            agent_domains={"HelpDesk.Example"},
            mail=MailSettings(support_address=SUPPORT, signing_key=b"agent-domain-key" * 2),
        ),
    )
    desk.receive(mail("Printer on fire", sender=CUSTOMER, message_id="<c1@customer.test>"))
    mailer.sent.clear()
    assert desk.receive(agent_mail(sender="kim@helpdesk.example")).relayed
    # A subdomain is another domain: its mail is a stranger's and starts its own issue.
    outcome = desk.receive(
        agent_mail(sender="eve@mail.helpdesk.example", message_id="<e1@mail.helpdesk.example>")
    )
    assert outcome.created


def test_agent_domains_are_checked() -> None:
    assert DeskSettings(support_address=SUPPORT, agent_domains="Bücher.example").agent_domains == {
        "xn--bcher-kva.example"
    }
    assert DeskSettings(support_address=SUPPORT, agent_domains=["@example.com"]).is_agent(
        "Sam@EXAMPLE.com"
    )
    with pytest.raises(MailSettingsError, match=r"domains like example\.com"):
        DeskSettings(support_address=SUPPORT, agent_domains=["not a domain"])


def test_agent_mail_policy_is_checked() -> None:
    assert (
        MailSettings(support_address=SUPPORT, agent_mail_policy="record_only").agent_mail_policy
        is AgentMailPolicy.RECORD_ONLY
    )
    with pytest.raises(MailSettingsError, match="'relay', 'record_only'"):
        MailSettings(support_address=SUPPORT, agent_mail_policy="forward")


def test_relay_is_the_default_policy() -> None:
    settings = MailSettings(support_address=SUPPORT)
    assert settings.agent_mail_policy is AgentMailPolicy.RELAY
    assert attrs.evolve(settings, agent_mail_policy="relay") == settings


SERVER = "mx.helpdesk.example"
PASSED = (
    f"{SERVER}; spf=pass smtp.mailfrom=helpdesk.example;"
    " dmarc=pass (p=reject) header.from=helpdesk.example"
)


@pytest.mark.parametrize(
    ("results", "passed"),
    [
        ((PASSED,), True),
        ((f"{SERVER.upper()};dmarc=pass",), True),
        ((f"{SERVER} 1; dkim=pass; dmarc=pass header.from=helpdesk.example",), True),
        ((), False),
        ((f"{SERVER}; dmarc=fail (p=reject) header.from=helpdesk.example",), False),
        ((f"{SERVER}; dmarc=fail (dmarc=pass) header.from=helpdesk.example",), False),
        ((f"{SERVER}; dmarc=passed",), False),
        (("evil.example; dmarc=pass header.from=helpdesk.example",), False),
        ((f"relay.{SERVER}; dmarc=pass",), False),
        ((f"evil.example; dmarc=pass; {SERVER}",), False),
    ],
)
def test_dmarc_counts_only_as_the_named_server_recorded_it(
    results: tuple[str, ...], passed: bool
) -> None:
    parsed = parse_message(agent_mail(authentication=results))
    assert isinstance(parsed, InboundMessage)
    assert dmarc_passed(parsed, authserv_id=SERVER) is passed


def test_with_an_authserv_id_only_authenticated_agent_mail_is_relayed(store: Store) -> None:
    env = make_desk(store, agent_mail_authserv_id=SERVER)
    open_issue(env)
    forged = env.desk.receive(agent_mail(authentication=(f"{SERVER}; dmarc=fail",)))
    assert not forged.relayed
    assert f"no Authentication-Results of {SERVER} says dmarc=pass" in forged.reason
    assert env.mailer.sent == []
    assert env.desk.get(FIRST).first_responded_at is None
    genuine = env.desk.receive(
        agent_mail(message_id="<a2@helpdesk.example>", authentication=(PASSED,))
    )
    assert genuine.relayed
    assert len(env.mailer.sent) == 1


def test_an_unusable_authserv_id_is_refused() -> None:
    with pytest.raises(MailSettingsError, match="the receiving server's name"):
        MailSettings(support_address=SUPPORT, agent_mail_authserv_id="mx google; com")


def test_whoever_the_agent_wrote_to_gets_no_second_copy(env: Desk) -> None:
    env.desk.receive(
        mail(
            "Printer on fire",
            sender=CUSTOMER,
            message_id="<c1@customer.test>",
            cc=["bob@customer.test", "cid@customer.test"],
        )
    )
    env.mailer.sent.clear()
    assert env.desk.receive(agent_mail(cc="bob@customer.test")).relayed
    (relay,) = env.mailer.sent
    assert (relay["To"], relay["Cc"]) == (CUSTOMER, "cid@customer.test")
