"""A Hypothesis state machine that checks a workflow against a reference model.

``IssueLifecycleMachine`` runs the default workflow; :func:`lifecycle_machine`
builds the same machine for any valid :class:`~issuecore.Workflow`, so an
adopter can check their own::

    TestMyLifecycle = lifecycle_machine(my_workflow).TestCase
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from issuecore._model import Action, Actor, HistoryEntry, Issue
from issuecore._workflow import (
    DEFAULT_AUTO_CLOSE_AFTER,
    DEFAULT_WORKFLOW,
    Workflow,
    add_note,
    assign,
    auto_close_due_at,
    open_issue,
    unassign,
)
from issuecore.errors import InvalidTransitionError
from issuecore.ports import Store

__all__ = ["IssueLifecycleMachine", "desk_machine", "lifecycle_machine"]

_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_USERS = ("ana@example.com", "ben@example.com", "chen@example.com")


def lifecycle_machine(
    workflow: Workflow | None = None,
    *,
    auto_close_after: timedelta | None = DEFAULT_AUTO_CLOSE_AFTER,
) -> type[RuleBasedStateMachine]:
    """Return a state machine class that drives ``workflow`` and checks it against a model.

    The model is the transition table read as a plain dict, and the
    auto-close rule restated from its definition. Invariants: the status is
    always one of the workflow's; history is append-only; timestamps never
    decrease; refused actions raise and change nothing; auto-close happens
    exactly when due.
    """
    flow = workflow or DEFAULT_WORKFLOW
    table = dict(flow.table)
    statuses = frozenset(spec.name for spec in flow.statuses)
    action_names = flow.actions

    class _LifecycleMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.now = _START
            self.issue: Issue = open_issue(
                number="ISS-2026-00001",
                subject="Printer on fire",
                raised_by="customer@example.com",
                at=self.now,
                workflow=flow,
            ).issue
            self.model_status = flow.initial
            self.model_entered = self.now
            self.model_last_reply: datetime | None = None
            self.seen_history: tuple[HistoryEntry, ...] = self.issue.history
            self.model_assignees: list[str] = []

        @rule(minutes=st.integers(min_value=0, max_value=60 * 24 * 10))
        def time_passes(self, minutes: int) -> None:
            self.now = self.now + timedelta(minutes=minutes)

        @rule(action=st.sampled_from(action_names), actor_is_agent=st.booleans())
        def act(self, action: str, actor_is_agent: bool) -> None:
            actor = Actor.agent(_USERS[0]) if actor_is_agent else Actor.customer("c@example.com")
            before = self.issue
            expected = table.get((self.model_status, action))
            if expected is None:
                try:
                    flow.apply(before, action, at=self.now, actor=actor)
                except InvalidTransitionError as error:
                    refused = error
                else:
                    raise AssertionError(f"{action} from {self.model_status} was not refused")
                assert refused.status == self.model_status
                assert refused.action == action
                assert action not in refused.allowed
                assert self.issue == before
                return
            change = flow.apply(before, action, at=self.now, actor=actor)
            self.issue = change.issue
            assert self.issue.status == expected
            if expected != self.model_status:
                self.model_entered = self.now
            self.model_status = expected
            if action == Action.AGENT_REPLY:
                self.model_last_reply = self.now

        @rule(user=st.sampled_from(_USERS), take_off=st.booleans())
        def assignment(self, user: str, take_off: bool) -> None:
            operation = unassign if take_off else assign
            self.issue = operation(
                self.issue, user, at=self.now, actor=Actor.agent(_USERS[0])
            ).issue
            if take_off and user in self.model_assignees:
                self.model_assignees.remove(user)
            elif not take_off and user not in self.model_assignees:
                self.model_assignees.append(user)
            assert list(self.issue.assignees) == self.model_assignees

        @rule()
        def note(self) -> None:
            self.issue = add_note(self.issue, at=self.now, actor=Actor.agent(_USERS[1])).issue

        @precondition(lambda self: auto_close_after is not None)
        @rule()
        def sweep(self) -> None:
            assert auto_close_after is not None
            can_auto_close = (self.model_status, Action.AUTO_CLOSE) in table
            since = self.model_entered
            if self.model_last_reply is not None and self.model_last_reply > since:
                since = self.model_last_reply
            due = can_auto_close and self.now >= since + auto_close_after
            change = flow.auto_close(self.issue, now=self.now, after=auto_close_after)
            if due:
                target = table[(self.model_status, Action.AUTO_CLOSE)]
                assert change.issue.status == target
                assert change.issue.history[-1].action == Action.AUTO_CLOSE
                assert change.issue.history[-1].reason
                if target != self.model_status:
                    self.model_entered = self.now
                self.model_status = target
            else:
                assert change.issue == self.issue
                assert change.events == ()
            self.issue = change.issue

        @invariant()
        def status_is_declared_and_matches_model(self) -> None:
            assert self.issue.status in statuses
            assert self.issue.status == self.model_status

        @invariant()
        def history_is_append_only(self) -> None:
            history = self.issue.history
            assert history[: len(self.seen_history)] == self.seen_history
            self.seen_history = history

        @invariant()
        def timestamps_never_decrease(self) -> None:
            instants = [entry.at for entry in self.issue.history]
            assert instants == sorted(instants)
            assert self.issue.updated_at == instants[-1]

        @invariant()
        def auto_close_due_matches_model(self) -> None:
            due = auto_close_due_at(self.issue, workflow=flow, after=auto_close_after)
            if auto_close_after is None or (self.model_status, Action.AUTO_CLOSE) not in table:
                assert due is None

    _LifecycleMachine.__name__ = f"LifecycleMachine_{flow.name}"
    _LifecycleMachine.__qualname__ = _LifecycleMachine.__name__
    return _LifecycleMachine


IssueLifecycleMachine = lifecycle_machine()
"""The lifecycle machine for the default workflow."""


def desk_machine(
    make_store: Callable[[], Store],
    *,
    close_store: Callable[[Store], None] | None = None,
) -> type[RuleBasedStateMachine]:
    """Return a state machine class that drives a whole :class:`~issuecore.HelpDesk`.

    ``make_store`` builds a fresh store for each run (and ``close_store``
    releases it). The machine receives mail (new requests, follow-ups by
    token, duplicates, out-of-office answers), replies, holds, resolves,
    closes, reopens, assigns, changes priority, resets the SLA, sweeps and
    moves the clock, and compares the desk with a small reference model.
    Invariants: statuses match the model; threads are append-only; each
    received Message-ID is recorded once; the SLA status agrees with the
    clock; auto-close happens exactly when due; no outbound message is lost.
    """
    from issuecore._desk import DeskSettings, HelpDesk
    from issuecore._sla.agreement import ServiceLevelAgreement, SlaTarget
    from issuecore.mail._settings import MailSettings
    from issuecore.testing._clock import FakeClock
    from issuecore.testing._fakes import RecordingMailer

    flow = DEFAULT_WORKFLOW
    table = dict(flow.table)
    agreement = ServiceLevelAgreement(
        name="Standard",
        targets={
            "High": SlaTarget(response=timedelta(hours=2), resolution=timedelta(hours=8)),
            "Low": SlaTarget(response=timedelta(days=1), resolution=timedelta(days=5)),
        },
        default_priority="Low",
        default=True,
    )
    support = "support@example.com"

    class _DeskMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = make_store()
            self.clock = FakeClock(_START)
            self.mailer = RecordingMailer()
            self.desk = HelpDesk(
                store=self.store,
                mailer=self.mailer,
                clock=self.clock,
                agreements=[agreement],
                settings=DeskSettings(
                    support_address=support,
                    agents=set(_USERS),
                    mail=MailSettings(support_address=support, signing_key=b"m" * 32),
                ),
            )
            self.sequence: dict[int, int] = {}
            self.status: dict[str, str] = {}
            self.raiser: dict[str, str] = {}
            self.closed_at: dict[str, datetime] = {}
            self.replied_at: dict[str, datetime] = {}
            self.entered: dict[str, datetime] = {}
            self.threads: dict[str, list[str]] = {}
            self.raw_sent: list[bytes] = []
            self.expected_mail = 0
            self.counter = 0

        def teardown(self) -> None:
            if close_store is not None:
                close_store(self.store)

        # -- helpers ------------------------------------------------------------

        def _message(self, sender: str, subject: str, **headers: str) -> tuple[bytes, str]:
            from email.message import EmailMessage

            self.counter += 1
            message_id = f"<m{self.counter}@customer.test>"
            message = EmailMessage()
            message["From"] = sender
            message["To"] = support
            message["Subject"] = subject
            message["Message-ID"] = message_id
            for name, value in headers.items():
                message[name.replace("_", "-")] = value
            message.set_content(f"message {self.counter}")
            return message.as_bytes(), message_id

        def _new_number(self) -> str:
            year = self.clock.now().year
            self.sequence[year] = self.sequence.get(year, 0) + 1
            return f"ISS-{year}-{self.sequence[year]:05d}"

        def _created(self, number: str, raiser: str, message_id: str | None) -> None:
            self.status[number] = flow.initial
            self.raiser[number] = raiser
            self.entered[number] = self.clock.now()
            self.threads[number] = [message_id or "form"]

        def _move(self, number: str, action: str) -> None:
            target = table[(self.status[number], action)]
            if target != self.status[number]:
                self.entered[number] = self.clock.now()
            if flow.is_closed(target) and not flow.is_closed(self.status[number]):
                self.closed_at[number] = self.clock.now()
            self.status[number] = target
            if action == Action.AGENT_REPLY:
                self.replied_at[number] = self.clock.now()

        def _numbers(self) -> list[str]:
            return sorted(self.status)

        # -- rules --------------------------------------------------------------

        @rule()
        def new_request(self) -> None:
            sender = f"customer{self.counter}@customer.test"
            raw, message_id = self._message(sender, f"Request {self.counter}")
            outcome = self.desk.receive(raw)
            self.raw_sent.append(raw)
            expected = self._new_number()
            assert (outcome.kind, outcome.issue_number) == ("created", expected)
            assert outcome.auto_reply
            self.expected_mail += 1
            self._created(expected, sender, message_id)

        @precondition(lambda self: bool(self.status))
        @rule(data=st.data())
        def customer_follow_up(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            raw, message_id = self._message(self.raiser[number], f"Re: more [#{number}]")
            outcome = self.desk.receive(raw)
            self.raw_sent.append(raw)
            closed = flow.is_closed(self.status[number])
            if closed and self.clock.now() > self.closed_at[number] + timedelta(days=14):
                expected = self._new_number()
                assert (outcome.kind, outcome.issue_number) == ("created", expected)
                self.expected_mail += 1
                self._created(expected, self.raiser[number], message_id)
                return
            assert (outcome.kind, outcome.issue_number) == ("appended", number)
            self._move(number, Action.CUSTOMER_MESSAGE)
            self.threads[number].append(message_id)

        @precondition(lambda self: bool(self.raw_sent))
        @rule(data=st.data())
        def duplicate_delivery(self, data: st.DataObject) -> None:
            raw = data.draw(st.sampled_from(self.raw_sent))
            assert self.desk.receive(raw).kind == "duplicate"

        @precondition(lambda self: bool(self.status))
        @rule(data=st.data())
        def out_of_office(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            raw, message_id = self._message(
                self.raiser[number], f"Out of office [#{number}]", Auto_Submitted="auto-replied"
            )
            outcome = self.desk.receive(raw)
            self.raw_sent.append(raw)
            # Automated mail joins the issue it names, closed or not, and changes nothing.
            assert (outcome.kind, outcome.issue_number) == ("appended", number)
            assert not outcome.auto_reply
            self.threads[number].append(message_id)

        @precondition(lambda self: bool(self.status))
        @rule(data=st.data())
        def agent_reply(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            issue = self.desk.reply(number, body="Have you tried turning it off?", author=_USERS[0])
            self._move(number, Action.AGENT_REPLY)
            self.expected_mail += 1
            self.threads[number].append(str(self.mailer.sent[-1]["Message-ID"]))
            assert issue.status == self.status[number]

        def _answerable_by_mail(self) -> list[str]:
            return [
                number
                for number in self._numbers()
                if not flow.is_closed(self.status[number])
                and (self.status[number], Action.AGENT_REPLY) in table
            ]

        @precondition(lambda self: bool(self._answerable_by_mail()))
        @rule(data=st.data())
        def agent_mail(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(self._answerable_by_mail()))
            raw, message_id = self._message(_USERS[1], f"Re: an answer [#{number}]")
            outcome = self.desk.receive(raw)
            self.raw_sent.append(raw)
            # An agent's mail reaches the customer as a desk reply and counts as one.
            assert (outcome.kind, outcome.issue_number, outcome.relayed) == (
                "appended",
                number,
                True,
            )
            relay = self.mailer.sent[-1]
            assert str(relay["To"]) == self.raiser[number]
            self._move(number, Action.AGENT_REPLY)
            self.expected_mail += 1
            self.threads[number].append(message_id)

        @precondition(lambda self: bool(self.status))
        @rule(data=st.data(), action=st.sampled_from(["hold", "resolve", "close", "reopen"]))
        def agent_action(self, data: st.DataObject, action: str) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            operation = getattr(self.desk, action)
            if (self.status[number], action) not in table:
                try:
                    operation(number, by=_USERS[1])
                except InvalidTransitionError:
                    return
                raise AssertionError(f"{action} on {self.status[number]} was not refused")
            operation(number, by=_USERS[1])
            self._move(number, action)

        @precondition(lambda self: bool(self.status))
        @rule(
            data=st.data(), user=st.sampled_from(_USERS), priority=st.sampled_from(["High", "Low"])
        )
        def assign_and_prioritise(self, data: st.DataObject, user: str, priority: str) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            assert user in self.desk.assign(number, user, by=_USERS[2]).assignees
            assert self.desk.set_priority(number, priority, by=_USERS[2]).priority == priority

        @precondition(lambda self: bool(self.status))
        @rule(data=st.data())
        def reset(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(self._numbers()))
            issue = self.desk.reset_sla(number, reason="customer changed scope", by=_USERS[2])
            assert issue.sla is not None
            assert issue.sla.breached == ()
            assert issue.sla.started_at == self.clock.now()

        @rule(minutes=st.integers(min_value=1, max_value=60 * 24 * 4))
        def time_passes(self, minutes: int) -> None:
            self.clock.advance(timedelta(minutes=minutes))

        @rule()
        def sweep(self) -> None:
            now = self.clock.now()
            due = {
                number
                for number, status in self.status.items()
                if (status, Action.AUTO_CLOSE) in table
                and now
                >= max(self.replied_at.get(number, _START), self.entered[number])
                + DEFAULT_AUTO_CLOSE_AFTER
            }
            report = self.desk.tick()
            assert set(report.closed) == due
            for number in due:
                self._move(number, Action.AUTO_CLOSE)

        # -- invariants ---------------------------------------------------------

        @invariant()
        def statuses_and_threads_match_the_model(self) -> None:
            for number, status in self.status.items():
                issue = self.desk.get(number)
                assert issue.status == status
                ids = [entry.message_id or "form" for entry in self.desk.thread(number)]
                assert ids == self.threads[number]
                assert len(ids) == len(set(ids)), "a message was recorded twice"

        @invariant()
        def sla_status_agrees_with_the_clock(self) -> None:
            from issuecore._sla.clock import AgreementStatus, SlaRole

            now = self.clock.now()
            for number in self.status:
                clock = self.desk.get(number).sla
                assert clock is not None
                overdue = any(
                    d is not None and d < now for d in (clock.response_by, clock.resolution_by)
                )
                failed = clock.status(now) is AgreementStatus.FAILED
                assert failed == (bool(clock.breached) or overdue)
                if clock.role is not SlaRole.RUNNING:
                    assert clock.response_by is None
                    assert clock.resolution_by is None

        @invariant()
        def no_outbound_message_is_lost(self) -> None:
            assert len(self.mailer.sent) == self.expected_mail

    return _DeskMachine
