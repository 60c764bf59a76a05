"""The seed's story end to end through HelpDesk, on the in-memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from issuecore import (
    AgreementStatus,
    DeskSettings,
    HelpDesk,
    InvalidTransitionError,
    IssueNotFoundError,
    ServiceLevelAgreement,
    SlaTarget,
    Status,
    UnknownPriorityError,
)
from issuecore._model import Assigned, EntryKind, SlaBreached, SlaReset
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import (
    FakeClock,
    RecordingEventSink,
    RecordingMailer,
    RecordingNotifier,
    RecordingTaskBoard,
)

# Mail clients write long Message-IDs as they are (lines may reach 998 characters).
CLIENT_POLICY = default_policy.clone(max_line_length=998)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
SUPPORT = "support@example.com"
AGENT = "ben@example.com"

STANDARD = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=1 * H, resolution=4 * H),
        "Medium": SlaTarget(response=8 * H, resolution=timedelta(days=3)),
    },
    default_priority="Medium",
    default=True,
)


def mail(
    subject: str,
    body: str = "Hello",
    *,
    sender: str = "ana@customer.test",
    message_id: str = "<m1@customer.test>",
    in_reply_to: str | None = None,
    cc: str | None = None,
    attachment: tuple[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage(policy=CLIENT_POLICY)
    message["From"] = f"Ana Silva <{sender}>"
    message["To"] = SUPPORT
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


class Desk:
    def __init__(
        self, store: Store | None = None, *, auto_close_after: timedelta | None = timedelta(days=7)
    ) -> None:
        self.clock = FakeClock(START)
        self.mailer = RecordingMailer()
        self.tasks = RecordingTaskBoard()
        self.notifier = RecordingNotifier()
        self.events = RecordingEventSink()
        self.desk = HelpDesk(
            store=store if store is not None else InMemoryStore(),
            mailer=self.mailer,
            clock=self.clock,
            agreements=[STANDARD],
            settings=DeskSettings(
                support_address=SUPPORT,
                auto_close_after=auto_close_after,
                agents={AGENT},
                mail=MailSettings(support_address=SUPPORT, signing_key=b"k" * 32),
            ),
            tasks=self.tasks,
            notifier=self.notifier,
            events=self.events,
        )


@pytest.fixture(params=["memory", "sqlite"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    if request.param == "memory":
        yield Desk(InMemoryStore())
        return
    store = SQLiteStore(tmp_path / "desk.db")
    try:
        yield Desk(store)
    finally:
        store.close()


def test_email_creates_open_issue_and_auto_reply_names_the_number(env: Desk) -> None:
    outcome = env.desk.receive(mail("Printer on fire"))
    assert outcome.kind == "created"
    assert outcome.created
    assert outcome.auto_reply
    assert outcome.issue_number == "ISS-2026-00001"
    issue = env.desk.get("ISS-2026-00001")
    assert issue.status == Status.OPEN
    assert issue.subject == "Printer on fire"
    assert issue.raised_by == "ana@customer.test"
    assert issue.priority == "Medium"
    (reply,) = env.mailer.sent
    assert reply["To"] == "ana@customer.test"
    assert "[#ISS-2026-00001]" in reply["Subject"]
    assert "ISS-2026-00001" in reply.get_content()
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<m1@customer.test>"


def test_follow_ups_by_subject_token_and_by_headers_with_attachments(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.clock.advance(H)
    by_token = env.desk.receive(
        mail(
            "Re: Printer on fire [#ISS-2026-00001]",
            "More smoke now",
            message_id="<m2@customer.test>",
            attachment=("photo.pdf", b"%PDF-1.4 smoke"),
        )
    )
    assert (by_token.kind, by_token.issue_number) == ("appended", "ISS-2026-00001")
    auto_reply_id = env.mailer.sent[0]["Message-ID"]
    by_header = env.desk.receive(
        mail(
            "Re: anything",
            "Still burning",
            message_id="<m3@customer.test>",
            in_reply_to=auto_reply_id,
        )
    )
    assert (by_header.kind, by_header.issue_number) == ("appended", "ISS-2026-00001")
    thread = env.desk.thread("ISS-2026-00001")
    assert [entry.kind for entry in thread] == [EntryKind.CUSTOMER_MESSAGE] * 3
    assert thread[1].attachments[0].filename == "photo.pdf"
    assert thread[1].attachments[0].data == b"%PDF-1.4 smoke"
    assert len(env.mailer.sent) == 1  # no auto-reply for follow-ups


def test_agent_reply_waits_then_customer_reply_reopens(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    issue = env.desk.reply("ISS-2026-00001", body="Unplug it, please.", author=AGENT)
    assert issue.status == Status.WAITING_FOR_REPLY
    reply = env.mailer.sent[-1]
    assert reply["To"] == "ana@customer.test"
    assert reply["In-Reply-To"] == "<m1@customer.test>"
    env.clock.advance(H)
    env.desk.receive(
        mail(
            "Re: Printer on fire",
            "Done, thanks",
            message_id="<m2@customer.test>",
            in_reply_to=reply["Message-ID"],
        )
    )
    assert env.desk.get("ISS-2026-00001").status == Status.OPEN
    kinds = [entry.kind for entry in env.desk.thread("ISS-2026-00001")]
    assert kinds == [EntryKind.CUSTOMER_MESSAGE, EntryKind.AGENT_REPLY, EntryKind.CUSTOMER_MESSAGE]


def test_seven_days_of_silence_closes_by_tick(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.desk.reply("ISS-2026-00001", body="Try again?", author=AGENT)
    env.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert env.desk.tick().closed == ()
    env.clock.advance(timedelta(seconds=1))
    report = env.desk.tick()
    assert report.closed == ("ISS-2026-00001",)
    issue = env.desk.get("ISS-2026-00001")
    assert issue.status == Status.CLOSED
    assert issue.history[-1].actor.id == "auto-close"
    assert env.desk.tick().closed == ()


def test_auto_close_fulfils_the_resolution_target_at_the_closing_instant(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.desk.reply("ISS-2026-00001", body="Try again?", author=AGENT)
    env.clock.advance(timedelta(days=7))
    assert env.desk.tick().closed == ("ISS-2026-00001",)
    sla = env.desk.get("ISS-2026-00001").sla
    assert sla is not None
    assert (sla.resolution.done_at, sla.resolution.met) == (env.clock.now(), True)
    env.clock.advance(timedelta(days=30))
    assert env.desk.tick().breached == 0
    assert env.events.of_type(SlaBreached) == []


def test_the_tick_report_holds_each_alert_it_counts(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.clock.advance(timedelta(days=4))
    report = env.desk.tick()
    assert report.breached == 2
    assert [(type(alert), alert.number, alert.target) for alert in report.alerts] == [
        (SlaBreached, "ISS-2026-00001", "response"),
        (SlaBreached, "ISS-2026-00001", "resolution"),
    ]
    assert report.alerts == tuple(env.events.of_type(SlaBreached))


def test_manual_close_and_illegal_action_refused(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    assert env.desk.close("ISS-2026-00001", by=AGENT).status == Status.CLOSED
    with pytest.raises(InvalidTransitionError, match="cannot hold ISS-2026-00001: it is Closed"):
        env.desk.hold("ISS-2026-00001", by=AGENT)


def test_assignment_creates_todo_and_notification_and_close_closes_it(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    issue = env.desk.assign("ISS-2026-00001", "cleo@example.com", by=AGENT)
    env.desk.assign("ISS-2026-00001", "cleo@example.com", by=AGENT)
    assert issue.assignees == ("cleo@example.com",)
    assert [t.user for t in env.tasks.open_todos()] == ["cleo@example.com"]
    assert env.notifier.messages == [
        ("cleo@example.com", "Issue ISS-2026-00001 was assigned to you: Printer on fire")
    ]
    assert len(env.events.of_type(Assigned)) == 1
    env.desk.close("ISS-2026-00001", by=AGENT)
    assert env.tasks.open_todos() == []


def test_unassign_closes_that_users_todo_only(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.desk.assign("ISS-2026-00001", "cleo@example.com", by=AGENT)
    env.desk.assign("ISS-2026-00001", "dan@example.com", by=AGENT)
    issue = env.desk.unassign("ISS-2026-00001", "cleo@example.com", by=AGENT)
    assert issue.assignees == ("dan@example.com",)
    assert [t.user for t in env.tasks.open_todos()] == ["dan@example.com"]


def test_priority_escalation_moves_deadlines_and_can_breach_at_once(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    before = env.desk.get("ISS-2026-00001")
    assert before.sla is not None
    assert before.sla.response_by == START + 8 * H
    env.clock.advance(2 * H)
    after = env.desk.set_priority("ISS-2026-00001", "Urgent", by=AGENT)
    assert after.sla is not None
    assert after.sla.response_by == START + 1 * H
    assert after.sla.status(env.clock.now()) is AgreementStatus.FAILED
    report = env.desk.tick()
    assert report.breached == 1
    assert len(env.events.of_type(SlaBreached)) == 1
    with pytest.raises(UnknownPriorityError, match="known: Urgent, Medium"):
        env.desk.set_priority("ISS-2026-00001", "P1", by=AGENT)


def test_sla_reset_restarts_the_clock(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    env.clock.advance(10 * H)
    assert env.desk.get("ISS-2026-00001").sla.status(env.clock.now()) is AgreementStatus.FAILED  # type: ignore[union-attr]
    issue = env.desk.reset_sla("ISS-2026-00001", reason="new information", by=AGENT)
    assert issue.sla is not None
    assert issue.sla.status(env.clock.now()) is AgreementStatus.FIRST_RESPONSE_DUE
    assert issue.sla.response_by == env.clock.now() + 8 * H
    assert len(env.events.of_type(SlaReset)) == 1


def test_duplicate_message_changes_nothing(env: Desk) -> None:
    first = env.desk.receive(mail("Printer on fire"))
    again = env.desk.receive(mail("Printer on fire"))
    assert again.kind == "duplicate"
    assert again.issue_number == first.issue_number
    assert len(env.desk.thread("ISS-2026-00001")) == 1
    assert len(env.mailer.sent) == 1


def test_our_own_mail_coming_back_is_a_loop(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    bounced_back = env.mailer.sent[0].as_bytes()
    outcome = env.desk.receive(bounced_back)
    assert outcome.kind == "loop"
    assert len(env.desk.thread("ISS-2026-00001")) == 1


def test_stranger_with_a_valid_token_gets_own_issue(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    outcome = env.desk.receive(
        mail(
            "Re: [#ISS-2026-00001]",
            "let me in",
            sender="mallory@evil.test",
            message_id="<x@evil.test>",
        )
    )
    assert outcome.kind == "created"
    assert outcome.issue_number == "ISS-2026-00002"
    assert len(env.desk.thread("ISS-2026-00001")) == 1


def test_out_of_office_does_not_reopen_or_get_auto_reply(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    reply = env.desk.reply("ISS-2026-00001", body="Try again?", author=AGENT)
    sent = len(env.mailer.sent)
    outcome = env.desk.receive(
        mail(
            "Automatic reply: Printer on fire",
            "I am out of office",
            message_id="<ooo@customer.test>",
            in_reply_to=env.mailer.sent[-1]["Message-ID"],
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert outcome.kind == "appended"
    assert env.desk.get("ISS-2026-00001").status == reply.status == Status.WAITING_FOR_REPLY
    assert len(env.mailer.sent) == sent
    assert env.desk.thread("ISS-2026-00001")[-1].kind == EntryKind.AUTOMATED_MESSAGE


def test_open_issue_from_a_form_validates_priority_before_spending_a_number(env: Desk) -> None:
    with pytest.raises(UnknownPriorityError):
        env.desk.open_issue(subject="s", raised_by="a@b.test", body="b", priority="P9")
    issue = env.desk.open_issue(
        subject="Form", raised_by="a@b.test", body="Body", priority="Urgent"
    )
    assert issue.number == "ISS-2026-00001"
    assert issue.sla is not None
    assert issue.sla.response_by == START + H
    assert env.desk.thread(issue.number)[0].text == "Body"
    assert env.mailer.sent == []


def test_unknown_issue_raises_lookup_error(env: Desk) -> None:
    with pytest.raises(IssueNotFoundError, match="ISS-2026-09999"):
        env.desk.get("ISS-2026-09999")


def test_notes_do_not_change_status_or_mail_anyone(env: Desk) -> None:
    env.desk.receive(mail("Printer on fire"))
    issue = env.desk.add_note(
        "ISS-2026-00001", body="Customer is on the old firmware", author=AGENT
    )
    assert issue.status == Status.OPEN
    assert env.desk.thread("ISS-2026-00001")[-1].kind == EntryKind.INTERNAL_NOTE
    assert len(env.mailer.sent) == 1


def test_failed_send_stays_in_outbox_and_is_retried_by_tick(env: Desk) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = True
            self.sent: list[EmailMessage] = []

        def send(self, message: EmailMessage) -> None:
            if self.fail:
                raise ConnectionError("SMTP server unreachable")
            self.sent.append(message)

    flaky = Flaky()
    env.desk.mailer = flaky
    outcome = env.desk.receive(mail("Printer on fire"))
    assert outcome.auto_reply
    assert flaky.sent == []
    flaky.fail = False
    assert env.desk.tick().sent == 0  # not due before the retry delay
    env.clock.advance(timedelta(minutes=1))
    assert env.desk.tick().sent == 1
    assert "[#ISS-2026-00001]" in flaky.sent[0]["Subject"]


def test_reply_to_mail_sent_under_an_earlier_signing_key_still_threads() -> None:
    store = InMemoryStore()
    before = Desk(store)
    before.desk.receive(mail("Printer on fire"))
    old_id = before.mailer.sent[0]["Message-ID"]
    after = Desk(store)
    after.desk.mail = MailSettings(support_address=SUPPORT, signing_key=b"another key" * 3)
    outcome = after.desk.receive(
        mail("Re: anything", "still", message_id="<m9@customer.test>", in_reply_to=old_id)
    )
    assert (outcome.kind, outcome.issue_number) == ("appended", "ISS-2026-00001")
    assert after.desk.receive(before.mailer.sent[0].as_bytes()).kind == "loop"


def test_quarantined_and_ignored_mail_is_kept_byte_for_byte(env: Desk) -> None:
    unreadable = b"\r\n\r\n"
    outcome = env.desk.receive(b"Subject: no sender at all\r\nMessage-ID: <q1@x.test>\r\n\r\nhi")
    assert outcome.kind == "quarantined"
    assert env.desk.kept_message("<q1@x.test>") == (
        b"Subject: no sender at all\r\nMessage-ID: <q1@x.test>\r\n\r\nhi"
    )
    newsletter = mail(
        "Our news", message_id="<n1@list.test>", headers={"List-Id": "<news.list.test>"}
    )
    ignored = env.desk.receive(newsletter)
    assert ignored.kind == "ignored"
    assert env.desk.kept_message("<n1@list.test>") == newsletter
    assert env.desk.receive(unreadable).kind == "quarantined"
    assert env.desk.find() == []


def test_a_message_recorded_by_another_process_first_is_retried_not_lost() -> None:
    from issuecore.errors import DuplicateMessageError

    class RacingWork:
        def __init__(self, work: object, state: dict[str, int]) -> None:
            self._work = work
            self._state = state

        def __getattr__(self, name: str) -> object:
            return getattr(self._work, name)

        def record_message(self, message_id: str, **kwargs: object) -> None:
            self._state["calls"] += 1
            if self._state["calls"] == 1:
                raise DuplicateMessageError.for_message_id(message_id)
            self._work.record_message(message_id, **kwargs)  # type: ignore[attr-defined]

    class RacingStore:
        def __init__(self) -> None:
            self.inner = InMemoryStore()
            self.state = {"calls": 0}

        def transaction(self, *, read_only: bool = False):  # type: ignore[no-untyped-def]
            from contextlib import contextmanager

            @contextmanager
            def wrapped():  # type: ignore[no-untyped-def]
                with self.inner.transaction(read_only=read_only) as work:
                    yield RacingWork(work, self.state)

            return wrapped()

    store = RacingStore()
    env = Desk(store)  # type: ignore[arg-type]
    outcome = env.desk.receive(mail("Printer on fire"))
    assert outcome.kind == "created"
    assert outcome.issue_number == "ISS-2026-00001"
    assert len(env.desk.thread("ISS-2026-00001")) == 1
    assert store.state["calls"] >= 2
