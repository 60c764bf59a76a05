"""The whole desk, driven by the stateful machine, on the in-memory and SQLite stores.

Besides the default workflow the machine runs a custom one whose paused and
fulfilled statuses have names of their own (and whose agent actions too): the
agreement takes its SLA roles from it, and no SLA event is raised for an issue
that is finished.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings

from issuecore import SlaRole, StatusSpec, Workflow
from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing.stateful import desk_machine
from issuecore.workflow import DEFAULT_WORKFLOW


def _sqlite() -> Store:
    folder = Path(tempfile.mkdtemp(prefix="issuecore-machine-"))
    return SQLiteStore(folder / "desk.db")


def _close(store: Store) -> None:
    assert isinstance(store, SQLiteStore)
    store.close()


TestDeskOnMemory = desk_machine(InMemoryStore).TestCase
TestDeskOnSQLite = desk_machine(_sqlite, close_store=_close).TestCase

# Each step of the desk machine runs a whole desk call and reads every issue
# back; a share of the profile's runs keeps the suite quick while the "ci"
# profile still runs several thousand steps.
_profile = settings()
TestDeskOnMemory.settings = settings(
    TestDeskOnMemory.settings,
    max_examples=min(100, _profile.max_examples),
    stateful_step_count=min(60, _profile.stateful_step_count),
)
TestDeskOnSQLite.settings = settings(
    TestDeskOnSQLite.settings,
    max_examples=max(10, min(100, _profile.max_examples) // 5),
    stateful_step_count=min(60, _profile.stateful_step_count),
)


# The default workflow's table with every status and agent action renamed.
_STATUSES = {
    "Open": "In Progress",
    "Waiting for Reply": "Awaiting Customer",
    "On Hold": "Parked",
    "Resolved": "Done",
    "Closed": "Archived",
}
_ACTIONS = {"hold": "park", "resume": "unpark", "resolve": "finish", "close": "archive"}
_ACTIONS |= {"reopen": "revive"}
FIELD_SERVICE = Workflow(
    name="field service",
    statuses=[
        StatusSpec(
            name=_STATUSES[spec.name], sla=spec.sla, initial=spec.initial, closed=spec.closed
        )
        for spec in DEFAULT_WORKFLOW.statuses
    ],
    transitions={
        (_STATUSES[status], _ACTIONS.get(action, action)): _STATUSES[target]
        for (status, action), target in DEFAULT_WORKFLOW.table.items()
    },
)
assert {spec.name for spec in FIELD_SERVICE.statuses if spec.sla is SlaRole.PAUSED} == {
    "Awaiting Customer",
    "Parked",
}
assert {spec.name for spec in FIELD_SERVICE.statuses if spec.sla is SlaRole.FULFILLED} == {
    "Done",
    "Archived",
}

TestCustomWorkflowDeskOnMemory = desk_machine(InMemoryStore, workflow=FIELD_SERVICE).TestCase
TestCustomWorkflowDeskOnSQLite = desk_machine(
    _sqlite, close_store=_close, workflow=FIELD_SERVICE
).TestCase
# Kept small: 75 runs in all under any profile.
TestCustomWorkflowDeskOnMemory.settings = settings(
    TestCustomWorkflowDeskOnMemory.settings,
    max_examples=min(60, _profile.max_examples),
    stateful_step_count=min(50, _profile.stateful_step_count),
)
TestCustomWorkflowDeskOnSQLite.settings = settings(
    TestCustomWorkflowDeskOnSQLite.settings,
    max_examples=min(15, _profile.max_examples),
    stateful_step_count=min(50, _profile.stateful_step_count),
)
