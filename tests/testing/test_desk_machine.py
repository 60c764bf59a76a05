"""The whole desk, driven by the stateful machine, on the in-memory and SQLite stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from issuecore.testing.stateful import desk_machine

TestDeskOnMemory = desk_machine(InMemoryStore).TestCase


def _sqlite() -> Store:
    folder = Path(tempfile.mkdtemp(prefix="issuecore-machine-"))
    return SQLiteStore(folder / "desk.db")


def _close(store: Store) -> None:
    assert isinstance(store, SQLiteStore)
    store.close()


TestDeskOnSQLite = desk_machine(_sqlite, close_store=_close).TestCase
TestDeskOnSQLite.settings = settings(
    TestDeskOnSQLite.settings, max_examples=max(10, settings().max_examples // 5)
)
