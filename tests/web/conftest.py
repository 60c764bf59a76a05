"""Fixtures of the console tests: a console with one agent account, and that agent signed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import Console, build_console


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """A console with one agent account, nobody signed in."""
    yield from build_console(tmp_path)


@pytest.fixture
def agent(console: Console) -> Console:
    """The console with the agent signed in."""
    console.sign_in()
    return console
