"""Fixtures shared by the mail tests."""

from __future__ import annotations

import pytest
from mail_support import FakeLookup, world


@pytest.fixture
def lookup() -> FakeLookup:
    """Return a fresh copy of the world the fixture corpus is written against."""
    return world()
