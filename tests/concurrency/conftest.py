"""Fixtures of the concurrency tests: a PostgreSQL table prefix of their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def postgres_spec() -> Iterator[str]:
    """Yield ``URL#prefix`` for fresh tables on the test PostgreSQL server; drop them after."""
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; no PostgreSQL server to test against")
    from issuecore.adapters.sql import SqlStore

    prefix = f"c{uuid.uuid4().hex[:10]}_"
    store = SqlStore(url, table_prefix=prefix)
    try:
        yield f"{url}#{prefix}"
    finally:
        store.drop_tables()
        store.close()
