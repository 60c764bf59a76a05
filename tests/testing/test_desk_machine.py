"""The whole desk, driven by the stateful machine, on the in-memory and SQLite stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing.stateful import desk_machine


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
    max_examples=min(150, _profile.max_examples),
    stateful_step_count=min(80, _profile.stateful_step_count),
)
TestDeskOnSQLite.settings = settings(
    TestDeskOnSQLite.settings,
    max_examples=max(10, min(150, _profile.max_examples) // 5),
    stateful_step_count=min(80, _profile.stateful_step_count),
)
