"""Every reply of the shared quote corpus, through ``new_content`` and through the desk.

The corpus (``shared/realmail/quotes`` next to the repository, or the folder
named by ``ISSUECORE_REALMAIL``) holds replies from five reply parsers' test
suites with the visible text each expects. The module prints, per source,
how many replies agree, keep quoted text (over-kept) and hide the customer's
words (over-stripped), comparing with whitespace normalised.
"""

from __future__ import annotations

import base64
import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from issuecore import DeskSettings, HelpDesk
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.mail import InboundMessage, html_to_text, new_content, parse_message
from issuecore.testing import FakeClock, RecordingMailer

CONTESTED: dict[str, str] = {
    # id: the rule decided the other way, in one line
    "talon-std-iphone": "a 'Sent from my iPhone' line is added by the client, so it is hidden",
    "github-email-1-8": "in an interleaved reply the quoted questions are folded away, not kept",
}
AGREEMENT_FLOOR = 0.90


def _corpus() -> Path | None:
    candidates = []
    if os.environ.get("ISSUECORE_REALMAIL"):
        candidates.append(Path(os.environ["ISSUECORE_REALMAIL"]) / "quotes")
        candidates.append(Path(os.environ["ISSUECORE_REALMAIL"]))
    root = Path(__file__).resolve().parents[2]
    candidates += [
        root.parent / "shared" / "realmail" / "quotes",
        root / ".." / "shared" / "realmail" / "quotes",
    ]
    for folder in candidates:
        if (folder / "MANIFEST.tsv").is_file():
            return folder
    return None


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="the shared quote corpus is not present")


def _rows() -> list[dict[str, str]]:
    if CORPUS is None:
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


def _squeeze(value: str) -> str:
    return "".join(value.split())


def verdict(shown: str, expected: str) -> str:
    """Return ``agree``, ``over-kept`` or ``over-stripped`` for one reply."""
    if _squeeze(shown) == _squeeze(expected):
        return "agree"
    visible = _squeeze(shown)
    lines = (_squeeze(line) for line in expected.splitlines())
    return "over-stripped" if any(line and line not in visible for line in lines) else "over-kept"


def _message(row: dict[str, str]) -> bytes:
    data = (CORPUS / row["input_file"]).read_bytes()  # type: ignore[operator]
    envelope = f"From: customer@example.com\r\nMessage-ID: <{row['id']}@corpus.example>\r\n"
    if row["kind"] == "eml":
        # every reply comes from a customer, once: its own From and Message-ID are replaced
        return envelope.encode("ascii") + _without_headers(data, (b"from", b"message-id"))
    subtype = "html" if row["kind"] == "html" else "plain"
    body = base64.encodebytes(data).decode("ascii")
    return (
        f"{envelope}To: support@example.com\r\nSubject: {row['id']}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}"
    ).encode("ascii")


def _without_headers(data: bytes, names: tuple[bytes, ...]) -> bytes:
    """Return ``data`` with the header fields ``names`` (and their folded lines) removed."""
    head, blank, body = (
        data.partition(b"\n\n") if b"\r\n\r\n" not in data else (data.partition(b"\r\n\r\n"))
    )
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        if not dropping:
            kept.append(line)
    return b"".join(kept) + blank + body


def _direct(row: dict[str, str]) -> str:
    data = (CORPUS / row["input_file"]).read_bytes()  # type: ignore[operator]
    if row["kind"] == "eml":
        message = parse_message(data)
        assert isinstance(message, InboundMessage)
        return new_content(message.text, html=message.html)
    # line endings as the parser gives them to the desk
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    if row["kind"] == "html":
        return new_content(html_to_text(text), html=text)
    return new_content(text)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str, str]]]:
    """Return, per fixture id, its source, the desk's new text and the direct result."""
    store = SQLiteStore(tmp_path_factory.mktemp("corpus") / "desk.db")
    desk = HelpDesk(
        store=store,
        mailer=RecordingMailer(),
        clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        settings=DeskSettings(support_address="support@example.com"),
    )
    found: dict[str, tuple[str, str, str]] = {}
    try:
        for row in _rows():
            outcome = desk.receive(_message(row))
            assert outcome.issue_number is not None, (row["id"], outcome)
            entry = desk.thread(outcome.issue_number)[-1]
            found[row["id"]] = (row["source"], entry.new_text, _direct(row))
        yield found
    finally:
        store.close()


def test_the_desk_shows_what_new_content_returns(results: dict[str, tuple[str, str, str]]) -> None:
    differing = [name for name, (_, shown, direct) in results.items() if shown != direct]
    assert not differing


def test_the_full_text_stays_on_the_thread_entry(tmp_path: Path) -> None:
    row = next(row for row in _rows() if row["id"] == "talon-txt-reply-after-quotations")
    with SQLiteStore(tmp_path / "desk.db") as store:
        desk = HelpDesk(
            store=store,
            mailer=RecordingMailer(),
            clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
            settings=DeskSettings(support_address="support@example.com"),
        )
        number = desk.receive(_message(row)).issue_number
        assert number is not None
        entry = desk.thread(number)[-1]
    full = (CORPUS / row["input_file"]).read_text("utf-8")  # type: ignore[operator]
    assert _squeeze(entry.text) == _squeeze(full)
    assert entry.new_text == "Test reply"


def test_corpus_figures_per_source(results: dict[str, tuple[str, str, str]]) -> None:
    expected = {row["id"]: (CORPUS / row["expected_file"]).read_text("utf-8") for row in _rows()}  # type: ignore[operator]
    counts: dict[str, dict[str, int]] = {}
    stripped: list[str] = []
    for name, (source, shown, _) in results.items():
        kind = verdict(shown, expected[name])
        per_source = counts.setdefault(source, {"agree": 0, "over-kept": 0, "over-stripped": 0})
        per_source[kind] += 1
        if kind == "over-stripped" and name not in CONTESTED:
            stripped.append(name)
    total = {
        kind: sum(c[kind] for c in counts.values())
        for kind in ("agree", "over-kept", "over-stripped")
    }
    print()
    print(f"{'source':12} {'replies':>7} {'agree':>6} {'over-kept':>10} {'over-stripped':>14}")
    for source, per_source in [*counts.items(), ("all", total)]:
        replies = sum(per_source.values())
        print(
            f"{source:12} {replies:7} {per_source['agree'] / replies:6.0%}"
            f" {per_source['over-kept']:10} {per_source['over-stripped']:14}"
        )
    print("over-stripped by a contested rule decided the other way:")
    for name, reason in CONTESTED.items():
        print(f"  {name}: {reason}")
    assert not stripped, f"customer's words hidden in {stripped}"
    assert total["agree"] / len(results) >= AGREEMENT_FLOOR


def test_a_contested_fixture_is_listed_only_while_it_is_over_stripped(
    results: dict[str, tuple[str, str, str]],
) -> None:
    expected = {row["id"]: (CORPUS / row["expected_file"]).read_text("utf-8") for row in _rows()}  # type: ignore[operator]
    for name in CONTESTED:
        assert verdict(results[name][1], expected[name]) == "over-stripped", name


@pytest.mark.parametrize(
    ("shown", "expected", "kind"),
    [
        ("Hi\n\nthere", "Hi there", "agree"),
        ("Hi\n> quoted", "Hi", "over-kept"),
        ("Hi", "Hi\nthere", "over-stripped"),
    ],
)
def test_verdict_compares_with_whitespace_normalised(shown: str, expected: str, kind: str) -> None:
    assert verdict(shown, expected) == kind
