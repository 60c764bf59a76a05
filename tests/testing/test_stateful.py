"""The lifecycle state machine, run on the default workflow and on a custom one."""

from __future__ import annotations

from datetime import timedelta

from issuecore import SlaRole, StatusSpec, Workflow
from issuecore.testing.stateful import IssueLifecycleMachine, lifecycle_machine

TestDefaultLifecycle = IssueLifecycleMachine.TestCase

TestDefaultLifecycleAutoCloseResolved = lifecycle_machine(
    Workflow.default(auto_close_resolved=True), auto_close_after=timedelta(days=2)
).TestCase

TestLifecycleWithoutAutoClose = lifecycle_machine(auto_close_after=None).TestCase

ESCALATION = Workflow(
    name="escalation",
    statuses=[
        StatusSpec(name="New", sla=SlaRole.RUNNING, initial=True),
        StatusSpec(name="Escalated", sla=SlaRole.RUNNING),
        StatusSpec(name="Waiting", sla=SlaRole.PAUSED),
        StatusSpec(name="Done", sla=SlaRole.FULFILLED, closed=True),
    ],
    transitions={
        ("New", "escalate"): "Escalated",
        ("New", "agent_reply"): "Waiting",
        ("Escalated", "agent_reply"): "Waiting",
        ("Waiting", "customer_message"): "New",
        ("Waiting", "auto_close"): "Done",
        ("Escalated", "close"): "Done",
        ("New", "close"): "Done",
        ("Done", "reopen"): "New",
    },
)

TestCustomLifecycle = lifecycle_machine(ESCALATION).TestCase
