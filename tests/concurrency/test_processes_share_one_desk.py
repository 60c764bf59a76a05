"""Several processes on one database: no lost update, no duplicate number, invariants hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from concurrency_support import run_together

from issuecore import DeskSettings, HelpDesk, Issue
from issuecore._model import EntryKind
from issuecore.mail._settings import MailSettings
from issuecore.testing import RecordingMailer

WORKER = Path(__file__).with_name("desk_worker.py")
OPERATIONS = 40


def desk_on(store: Any) -> HelpDesk:
    from desk_worker import AGREEMENT  # type: ignore[import-not-found]

    return HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        agreements=[AGREEMENT],
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", signing_key=b"c" * 32),
        ),
    )


def run_workers(spec: str, numbers: list[str], count: int) -> list[dict[str, Any]]:
    arguments = [[spec, str(seed), str(OPERATIONS), *numbers] for seed in range(count)]
    return run_together(WORKER, arguments)


def check(desk: HelpDesk, numbers: list[str], results: list[dict[str, Any]]) -> None:
    notes = Counter[str]()
    replies = Counter[str]()
    created: list[str] = []
    for result in results:
        notes.update(result["notes"])
        replies.update(result["replies"])
        created.extend(result["created"])
    assert sum(notes.values()) + sum(replies.values()) > 0
    for number in numbers:
        issue: Issue = desk.get(number)
        thread = desk.thread(number)
        note_entries = sum(e.kind == EntryKind.INTERNAL_NOTE for e in thread)
        reply_entries = sum(e.kind == EntryKind.AGENT_REPLY for e in thread)
        assert note_entries == notes[number], f"lost a note on {number}"
        assert reply_entries == replies[number], f"lost a reply on {number}"
        assert sum(h.action == "note" for h in issue.history) == notes[number]
        assert sum(h.action == "agent_reply" for h in issue.history) == replies[number]
        instants = [h.at for h in issue.history]
        assert instants == sorted(instants), f"history of {number} out of order"
        assert issue.version == len(issue.history), f"a write of {number} was lost or doubled"
    all_numbers = numbers + created
    assert len(all_numbers) == len(set(all_numbers)), "an issue number was handed out twice"
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in all_numbers)
    assert sequences == list(range(1, len(all_numbers) + 1)), "the sequence has a gap or repeat"


def seed_issues(desk: HelpDesk) -> list[str]:
    return [
        desk.open_issue(subject=f"shared {i}", raised_by="c@customer.test", body="b").number
        for i in range(3)
    ]


def test_two_processes_on_one_sqlite_file_lose_no_update(tmp_path: Path) -> None:
    from issuecore.adapters.sqlite import SQLiteStore

    path = tmp_path / "desk.db"
    with SQLiteStore(path) as store:
        numbers = seed_issues(desk_on(store))
    results = run_workers(str(path), numbers, 2)
    with SQLiteStore(path) as store:
        check(desk_on(store), numbers, results)


def test_four_processes_on_postgresql_lose_no_update(postgres_spec: str) -> None:
    from issuecore.adapters.sql import SqlStore

    url, _, prefix = postgres_spec.partition("#")
    with SqlStore(url, table_prefix=prefix) as store:
        numbers = seed_issues(desk_on(store))
    results = run_workers(postgres_spec, numbers, 4)
    with SqlStore(url, table_prefix=prefix) as store:
        check(desk_on(store), numbers, results)
