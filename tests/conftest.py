"""Shared test configuration: Hypothesis profiles, and one database per test worker.

``default`` is quick enough for every run on a laptop; ``ci`` runs as many
examples and steps, without failing a test whose data is slow to draw on a
busy machine (CI shares its cores with the database servers and the
subprocesses the tests start); ``mutation`` runs few, for each mutant
of a mutation run. Choose with the environment variable
``ISSUECORE_HYPOTHESIS_PROFILE`` (``.ci/run`` sets ``ci``, ``tools/mutation.py``
sets ``mutation``).

When the tests run in parallel worker processes (``pytest -n``), each worker
uses a database of its own on each server, named after the configured one
and the worker (``test_gw0``, ``test_gw1``, ...) and created when missing,
so that no two workers ever share a table.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, stateful_step_count=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Mutation runs (tools/mutation.py) test each mutant with the tests that reach it;
# boundaries are stated by explicit examples, so few random ones are needed there.
settings.register_profile("mutation", max_examples=20, stateful_step_count=20, deadline=None)
settings.load_profile(os.environ.get("ISSUECORE_HYPOTHESIS_PROFILE", "default"))


SERVER_VARIABLES = ("ISSUECORE_TEST_POSTGRES_URL", "ISSUECORE_TEST_MARIADB_URL")


def pytest_sessionstart() -> None:
    # A mutation run tests each mutant in a process forked from one that ran the tests:
    # the library's functools caches start empty, or a cached function (address_key,
    # is_robot_address) would answer with what the original code computed.
    for name, module in list(sys.modules.items()):
        if name == "issuecore" or name.startswith("issuecore."):
            for value in list(vars(module).values()):
                if not isinstance(value, type) and hasattr(value, "cache_info"):
                    value.cache_clear()


def pytest_configure() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        for variable in SERVER_VARIABLES:
            url = os.environ.get(variable)
            if url:
                os.environ[variable] = _worker_database(url, worker)


def _worker_database(url: str, worker: str) -> str:
    """Return ``url`` naming a database of the worker's own, created when missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if base.get_backend_name() == "postgresql":
                # PostgreSQL copies template1 for a new database and refuses two copies at
                # once: the workers take turns under a session lock.
                connection.execute(text("select pg_advisory_lock(7212)"))
                try:
                    found = connection.execute(
                        text("select 1 from pg_database where datname = :name"), {"name": name}
                    ).scalar()
                    if found is None:
                        connection.execute(text(f'create database "{name}"'))
                finally:
                    connection.execute(text("select pg_advisory_unlock(7212)"))
            else:
                connection.execute(text(f"create database if not exists `{name}`"))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Escape lone surrogates in captured output, which a worker cannot send to the main process.

    Tests feed the desk hostile text on purpose, and its log records quote it.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    report.sections = [
        (title, content.encode("utf-8", "backslashreplace").decode("utf-8"))
        for title, content in report.sections
    ]
