"""Any bytes at all through ``HelpDesk.receive`` on SQLite and PostgreSQL.

For arbitrary bytes, and for real messages mutated byte by byte: ``receive``
never raises, the normal path handles the message (the last resort is not
needed), the message ends in exactly one recorded outcome, a second
delivery is a duplicate, and no text read back from the store holds a lone
surrogate.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuecore._desk import HelpDesk
from issuecore.adapters.sql import SqlStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.ports import Store
from test_desk_intake import assert_storable, everything_stored, make_desk

FIXTURES = Path(__file__).resolve().parent / "mail" / "fixtures"
FIXTURE_MAIL = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]

# What each kind of outcome is recorded as in the Message-ID index.
RECORDED_AS = {
    "created": {"created"},
    "appended": {"appended", "unverified"},
    "loop": {"loop", "sent"},
    "ignored": {"ignored"},
    "quarantined": {"quarantined"},
}


def realmail_folder() -> Path | None:
    """Return the real-world mail corpus folder, or ``None`` when it is not on this machine."""
    given_path = os.environ.get("ISSUECORE_REALMAIL")
    candidates = [Path(given_path)] if given_path else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "realmail")
    for candidate in candidates:
        folder = candidate / "zammad-mail"
        if folder.is_dir():
            return folder
    return None


def realmail() -> list[bytes]:
    folder = realmail_folder()
    return [] if folder is None else [path.read_bytes() for path in sorted(folder.glob("*.box"))]


REALMAIL = realmail()


@contextmanager
def sqlite_desks() -> Iterator[Callable[[], HelpDesk]]:
    """Yield a maker of desks, each on a new, empty SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        opened: list[SQLiteStore] = []

        def fresh() -> HelpDesk:
            store = SQLiteStore(Path(folder) / f"{uuid.uuid4().hex}.db")
            opened.append(store)
            return make_desk(store)

        try:
            yield fresh
        finally:
            for store in opened:
                store.close()


@contextmanager
def postgres_desks() -> Iterator[Callable[[], HelpDesk]]:
    """Yield a maker of desks on one PostgreSQL store, emptied for each desk."""
    url = os.environ.get("ISSUECORE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ISSUECORE_TEST_POSTGRES_URL is not set; give a PostgreSQL URL to run these")
    store = SqlStore(url, table_prefix=f"h{uuid.uuid4().hex[:10]}_")

    def fresh() -> HelpDesk:
        with store.engine.begin() as connection:
            for table in reversed(store._schema.data_tables()):
                connection.execute(table.delete())
        return make_desk(store)

    try:
        yield fresh
    finally:
        store.drop_tables()
        store.close()


DESKS = {"sqlite": sqlite_desks, "postgresql": postgres_desks}


@pytest.fixture(params=sorted(DESKS), scope="module")
def desks(request: pytest.FixtureRequest) -> Iterator[Callable[[], HelpDesk]]:
    with DESKS[request.param]() as fresh:
        yield fresh


def check_intake(desk: HelpDesk, raw: bytes) -> None:
    """Assert every property of intake for ``raw`` on a desk that has seen nothing yet."""
    first = desk.receive(raw)
    assert first.kind in RECORDED_AS, first
    # The last resort is for stores that fail, never for what a message holds.
    assert first.signal != "intake_error", first.reason
    assert_storable(first)
    store: Store = desk.store
    with store.transaction(read_only=True) as work:
        record = work.lookup_message(first.message_id)
    assert record is not None, f"{first.message_id} was not recorded"
    assert record.outcome in RECORDED_AS[first.kind]
    again = desk.receive(raw)
    assert again.kind in ("duplicate", "loop")
    assert again.message_id == first.message_id
    stored = everything_stored(desk)
    assert_storable(stored)
    if first.kind in ("created", "appended"):
        assert first.issue_number is not None
        assert len(desk.thread(first.issue_number)) >= 1
    else:
        assert desk.kept_message(first.message_id) is not None or first.kind == "loop"


_SETTINGS = settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(raw=st.binary(max_size=3000))
def test_any_bytes_end_in_one_recorded_outcome(desks: Callable[[], HelpDesk], raw: bytes) -> None:
    check_intake(desks(), raw)


HEADER_NAMES = [
    b"Message-ID",
    b"In-Reply-To",
    b"References",
    b"From",
    b"Subject",
    b"Date",
    b"Content-Type",
    b"Content-ID",
    b"Content-Disposition",
    b"Content-Transfer-Encoding",
]


@st.composite
def mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    """Return a message of ``corpus`` with hostile bytes put in, overwritten or cut."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["insert", "overwrite", "header", "cut", "charset"]))
        junk = draw(st.binary(min_size=1, max_size=12))
        at = draw(st.integers(0, len(data)))
        if how == "insert":
            data[at:at] = junk
        elif how == "overwrite":
            data[at : at + len(junk)] = junk
        elif how == "header":
            name = draw(st.sampled_from(HEADER_NAMES))
            data[0:0] = name + b": <" + junk + b"@x>\r\n"
        elif how == "cut":
            del data[at:]
        else:
            charset = draw(st.sampled_from([b"utf-7", b"unicode_escape", b"x-unknown", b"\xff"]))
            data = bytearray(bytes(data).replace(b"charset=", b"charset=" + charset + b";x=", 1))
    return bytes(data)


@_SETTINGS
@given(raw=mutated(FIXTURE_MAIL))
def test_mutated_fixture_mail_ends_in_one_recorded_outcome(
    desks: Callable[[], HelpDesk], raw: bytes
) -> None:
    check_intake(desks(), raw)


def test_mutated_real_world_mail_ends_in_one_recorded_outcome(
    desks: Callable[[], HelpDesk],
) -> None:
    if not REALMAIL:
        pytest.skip("the real-world mail corpus (shared/realmail/zammad-mail) is not here")

    @_SETTINGS
    @given(raw=mutated(REALMAIL))
    def check(raw: bytes) -> None:
        check_intake(desks(), raw)

    check()


def test_every_real_world_message_ends_in_one_recorded_outcome(
    desks: Callable[[], HelpDesk],
) -> None:
    if not REALMAIL:
        pytest.skip("the real-world mail corpus (shared/realmail/zammad-mail) is not here")
    for raw in REALMAIL:
        check_intake(desks(), raw)
