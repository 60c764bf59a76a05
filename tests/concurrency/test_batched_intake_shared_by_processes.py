"""Two processes ingesting overlapping mailboxes in batches record each message once."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from concurrency_support import open_store, run_together

WORKER = Path(__file__).with_name("batch_intake_worker.py")
MESSAGES = 120


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield a store spec for fresh tables of the kind asked for; drop them after."""
    if request.param == "sqlite":
        yield str(tmp_path / "desk.db")
        return
    variable = {
        "postgresql": "ISSUECORE_TEST_POSTGRES_URL",
        "mariadb": "ISSUECORE_TEST_MARIADB_URL",
    }[request.param]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set; no server to test against")
    spec = f"{url}#p{uuid.uuid4().hex[:10]}_"
    store = open_store(spec)
    try:
        yield spec
    finally:
        store.drop_tables()
        store.close()


def write_messages(folder: Path) -> list[Path]:
    """Write new requests and, every third, a reply by token to a request before it."""
    folder.mkdir()
    paths = []
    for index in range(MESSAGES):
        sender = f"customer{index % 5}@customer.example"
        subject = f"Request {index}"
        if index % 3 == 2:
            subject = f"Re: Request [#ISS-2026-{index // 3 + 1:05d}]"
        raw = (
            f"From: {sender}\nTo: support@example.com\nSubject: {subject}\n"
            f"Message-ID: <shared{index}@customer.example>\n\nBody {index}\n"
        ).encode()
        path = folder / f"{index:04d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def test_two_processes_ingesting_overlapping_mailboxes_record_each_message_once(
    spec: str, tmp_path: Path
) -> None:
    paths = write_messages(tmp_path / "mail")
    first = [str(p) for p in paths[: MESSAGES * 3 // 4]]
    second = [str(p) for p in paths[MESSAGES // 4 :]]

    results = run_together(WORKER, [[spec, "20", *first], [spec, "20", *second]])

    assert [r["failures"] for r in results] == [0, 0]
    recorded = Counter(
        message_id
        for result in results
        for message_id, kind in result["outcomes"]
        if kind != "duplicate"
    )
    assert set(recorded) == {f"<shared{i}@customer.example>" for i in range(MESSAGES)}
    assert all(count == 1 for count in recorded.values()), recorded.most_common(3)

    store = open_store(spec)
    try:
        with store.transaction(read_only=True) as work:
            issues = work.find_issues()
            entries = Counter(
                entry.message_id for issue in issues for entry in work.thread(issue.number)
            )
    finally:
        store.close()
    assert entries == Counter({f"<shared{i}@customer.example>": 1 for i in range(MESSAGES)})
