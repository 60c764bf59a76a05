"""A Hypothesis state machine that checks a workflow against a reference model.

``IssueLifecycleMachine`` runs the default workflow; :func:`lifecycle_machine`
builds the same machine for any valid :class:`~issuecore.Workflow`, so an
adopter can check their own::

    TestMyLifecycle = lifecycle_machine(my_workflow).TestCase
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from issuecore.errors import InvalidTransitionError
from issuecore.model import Action, Actor, HistoryEntry, Issue
from issuecore.workflow import (
    DEFAULT_AUTO_CLOSE_AFTER,
    DEFAULT_WORKFLOW,
    Workflow,
    add_note,
    assign,
    auto_close_due_at,
    open_issue,
    unassign,
)

__all__ = ["IssueLifecycleMachine", "lifecycle_machine"]

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
