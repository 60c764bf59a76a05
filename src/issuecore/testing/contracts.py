"""The contract every :class:`~issuecore.ports.Store` adapter must meet, as pytest tests.

Subclass :class:`StoreContract` in a test module and give it a ``store``
fixture that yields a fresh, empty store; pytest then runs every test of the
contract against your adapter::

    import pytest
    from issuecore.testing.contracts import StoreContract

    class TestErpStore(StoreContract):
        @pytest.fixture
        def store(self):
            store = ErpStore(connection_for_tests())
            yield store
            store.drop_everything()

issuecore runs the same class over its own adapters. :class:`StoreStateMachine`
does the same with random sequences of units of work. Needs the ``test``
extra (pytest and Hypothesis).
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from issuecore._model import (
    Actor,
    Attachment,
    EntryKind,
    HistoryEntry,
    Issue,
    Status,
    ThreadEntry,
)
from issuecore._queries import IssueQuery, IssueSort, SlaFilter
from issuecore._sla.clock import AgreementStatus, Period, SlaClock, SlaRole
from issuecore.errors import (
    ConcurrencyConflictError,
    DuplicateMessageError,
    IssueNotFoundError,
    NaiveDatetimeError,
    UnstorableValueError,
)
from issuecore.mail._parse import DEFAULT_MAX_BYTES
from issuecore.ports import EffectKind, OutboxItem, Store, UnitOfWork, new_effect_id

__all__ = [
    "QueryCase",
    "QueryContract",
    "StoreContract",
    "StoreStateMachine",
    "escaped_content",
    "expected_issues",
    "instants_in",
    "is_pendulum_utc",
    "issue_queries",
    "large_content",
    "populated_entry",
    "populated_issue",
    "query_cases",
    "simple_issue",
]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_BERLIN = ZoneInfo("Europe/Berlin")


def simple_issue(
    number: str,
    *,
    created_at: datetime = T0,
    status: str = Status.OPEN,
    raised_by: str = "ana@example.com",
    assignees: tuple[str, ...] = (),
) -> Issue:
    """Return a small issue with the given number, as a unit of work would insert it."""
    return Issue(
        number=number,
        subject=f"Subject of {number}",
        raised_by=raised_by,
        status=status,
        created_at=created_at,
        updated_at=created_at,
        status_since=created_at,
        assignees=assignees,
    )


def populated_issue(number: str) -> Issue:
    """Return an issue with every field set to a value other than its default."""
    at = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=_BERLIN)
    return Issue(
        number=number,
        subject="Drucker brennt \u2013 \u201cquoted\u201d, emoji \u2713, <tags> & 'apostrophes'",
        raised_by="Ana.Silva@Example.com",
        status=Status.WAITING_FOR_REPLY,
        created_at=at,
        updated_at=at + timedelta(hours=5, microseconds=1),
        status_since=at + timedelta(hours=4),
        priority="High",
        assignees=("bob", "carol"),
        participants=("dan@example.com", "erin@example.org"),
        last_agent_reply_at=at + timedelta(hours=4),
        last_customer_message_at=at + timedelta(minutes=10),
        first_responded_at=at + timedelta(hours=1),
        resolved_at=at + timedelta(hours=2),
        closed_at=at + timedelta(hours=3),
        follows_up="ISS-2025-00999",
        issue_type="Störung \u2013 Hardware",
        references={"customer": "CUST-0001", "sales order": "SO-2026-\u00e9-17"},
        fields={"serial": "SN 42", "units": 3, "ratio": 0.25, "under warranty": True, "site": None},
        sla=SlaClock(
            agreement="Standard",
            priority="High",
            response_target=timedelta(hours=4),
            resolution_target=timedelta(days=2, microseconds=1),
            started_at=at,
            role=SlaRole.PAUSED,
            periods=(
                Period(start=at, end=at + timedelta(hours=1), business=timedelta(minutes=30)),
            ),
            consumed=timedelta(minutes=30),
            running_since=at + timedelta(hours=2),
            paused_since=at + timedelta(hours=4),
            responded_at=at + timedelta(hours=1),
            response_met=True,
            response_business=timedelta(minutes=30),
            resolved_at=at + timedelta(hours=2),
            resolution_met=False,
            resolution_business=timedelta(hours=3),
            response_by=at + timedelta(hours=3),
            resolution_by=at + timedelta(days=3),
            breached=("resolution",),
            notified=("response:at_risk", "resolution:breached"),
            hold_business=timedelta(minutes=45),
            hold_elapsed=timedelta(hours=1, minutes=15),
            reset_at=at + timedelta(minutes=5),
            reset_by="bob",
            reset_reason="wrong priority",
        ),
        history=(
            HistoryEntry(
                at=at,
                actor=Actor.customer("Ana.Silva@Example.com"),
                action="open",
                from_status=Status.OPEN,
                to_status=Status.OPEN,
                reason="follows up ISS-2025-00999",
            ),
            HistoryEntry(
                at=at + timedelta(hours=4),
                actor=Actor.agent("bob"),
                action="agent_reply",
                from_status=Status.OPEN,
                to_status=Status.WAITING_FOR_REPLY,
                reason="replied",
                detail="first answer",
            ),
        ),
        version=7,
    )


def populated_entry(at: datetime = T0, *, text: str = "Hello\n> quoted") -> ThreadEntry:
    """Return a thread entry with every field set, carrying two attachments."""
    return ThreadEntry(
        kind=EntryKind.CUSTOMER_MESSAGE,
        author="ana@example.com",
        text=text,
        at=at,
        written_at=at - timedelta(hours=3, microseconds=1),
        new_text="Hello",
        html="<p>Hello</p>",
        subject="Re: printer",
        message_id=f"<{uuid.uuid4().hex}@example.com>",
        attachments=(
            Attachment(
                filename="scan.pdf",
                content_type="application/pdf",
                data=bytes(range(256)) * 40,
                content_id="<scan@example.com>",
            ),
            Attachment(filename="empty.txt", content_type="text/plain", data=b""),
        ),
        unverified=True,
    )


def large_content(size: int, *, seed: int = 0) -> bytes:
    """Return ``size`` pseudo-random bytes (every byte value, quotes and NULs included)."""
    return random.Random(seed).randbytes(size)


def escaped_content(size: int) -> bytes:
    """Return ``size`` bytes a database's text protocol doubles when escaping them.

    NULs, quotes, backslashes and line ends: 8 MiB of them make a statement
    over 16 MiB, MariaDB's default ``max_allowed_packet``.
    """
    pattern = b"\x00'\"\\\n\r\x1a"
    return (pattern * (size // len(pattern) + 1))[:size]


def _with_file(entry: ThreadEntry, data: bytes) -> ThreadEntry:
    return attrs.evolve(
        entry,
        attachments=(
            Attachment(filename="large.bin", content_type="application/octet-stream", data=data),
        ),
    )


def _outbox_item(number: str | None, at: datetime, subject: str = "Hello") -> OutboxItem:
    message = EmailMessage()
    message["From"] = "support@example.com"
    message["To"] = "ana@example.com"
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    message.set_content("Thank you for your message.\n")
    return OutboxItem.for_message(message, number=number, created_at=at)


def instants_in(value: object) -> list[datetime]:
    """Return every datetime held anywhere in ``value`` (attrs values, tuples, lists, dicts)."""
    if isinstance(value, datetime):
        return [value]
    kind: Any = type(value)
    if attrs.has(kind):
        return [
            found
            for field in attrs.fields(kind)
            for found in instants_in(getattr(value, field.name))
        ]
    if isinstance(value, tuple | list | frozenset | set):
        return [found for item in value for found in instants_in(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in instants_in(item)]
    return []


def is_pendulum_utc(value: datetime) -> bool:
    """Return whether ``value`` is a :class:`pendulum.DateTime` in UTC, as every store returns."""
    return type(value) is pendulum.DateTime and value.tzinfo is pendulum.UTC


def _effect(kind: EffectKind, at: datetime, *, text: str = "hello") -> OutboxItem:
    return OutboxItem(
        id=new_effect_id(),
        kind=kind,
        number="ISS-2026-00001",
        payload=f'{{"user":"ana@example.com","text":"{text}"}}'.encode(),
        created_at=at,
        next_attempt_at=at,
    )


def _unambiguous(value: datetime) -> bool:
    # Python never finds a wall time repeated by a clock change equal to the
    # same instant in another zone, so such times cannot be compared after a
    # round trip through UTC.
    return value.replace(fold=1 - value.fold).utcoffset() == value.utcoffset()


_wakes = st.none() | st.integers(-5, 5).map(lambda minutes: T0 + timedelta(minutes=minutes))


def _number() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


# --- queries --------------------------------------------------------------------------

_WORDS = ("printer", "invoice", "refund", "laptop", "network", "password", "monitor", "keyboard")
_QUERY_AT = T0 + timedelta(days=10)


@attrs.frozen(kw_only=True)
class QueryCase:
    """One issue of the query fixture: the issue, its at-risk instant and its thread texts."""

    issue: Issue
    at_risk_at: datetime | None
    texts: tuple[str, ...]


def query_cases(count: int = 36, *, seed: int = 12) -> list[QueryCase]:
    """Return varied issues for query tests: statuses, priorities, agreements, deadlines, text."""
    rng = random.Random(seed)
    cases = []
    for position in range(count):
        # Pairs of issues share their creation instant, so ties are broken by number.
        created = T0 + timedelta(hours=7 * (position // 2))
        updated = created + timedelta(minutes=rng.randrange(0, 60 * 24 * 12))
        status = rng.choice(list(Status))
        role = rng.choice(list(SlaRole))
        clock: SlaClock | None = None
        at_risk_at: datetime | None = None
        shape = rng.randrange(6)
        if shape > 0:
            responded = created + timedelta(hours=1) if shape in (3, 4) else None
            breached = ("response",) if shape == 5 else ()
            running = role is SlaRole.RUNNING
            deadline = _QUERY_AT + timedelta(hours=rng.randrange(-40, 40))
            response_by = deadline if running and responded is None else None
            resolution_by = deadline + timedelta(hours=4) if running and shape != 2 else None
            clock = SlaClock(
                agreement=rng.choice(["Standard", "Premium"]),
                priority="High",
                response_target=timedelta(hours=4),
                resolution_target=None if shape == 2 else timedelta(days=2),
                started_at=created,
                role=role,
                responded_at=responded,
                response_met=None if responded is None else shape == 3,
                response_business=None if responded is None else timedelta(hours=1),
                response_by=response_by,
                resolution_by=resolution_by,
                breached=breached,
            )
            if running and (response_by or resolution_by):
                first = min(when for when in (response_by, resolution_by) if when)
                at_risk_at = first - timedelta(hours=rng.randrange(1, 30))
        issue = attrs.evolve(
            simple_issue(
                f"Q-{position:03d}",
                created_at=created,
                status=status,
                raised_by=rng.choice(["ana@example.com", "Bob@Example.org"]),
                assignees=tuple(rng.sample(["ana", "bob", "cy"], rng.randrange(3))),
            ),
            subject=f"{rng.choice(_WORDS)} trouble number {position}",
            updated_at=updated,
            priority=rng.choice([None, "Low", "High", "Urgent"]),
            sla=clock,
        )
        texts = tuple(
            " ".join(rng.sample(_WORDS, 2)) + f" message {position}"
            for _ in range(rng.randrange(3))
        )
        cases.append(QueryCase(issue=issue, at_risk_at=at_risk_at, texts=texts))
    return cases


def _micros(value: datetime) -> int:
    return round(
        datetime.__sub__(value, datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)
    )


def _standing(case: QueryCase, at: datetime) -> set[str]:
    # The agreement filters an issue meets at ``at``, written from the documented rules.
    clock = case.issue.sla
    if clock is None:
        return set()
    deadlines = [when for when in (clock.response_by, clock.resolution_by) if when]
    status = clock.status(at)
    found = {str(status)}
    risky = case.at_risk_at
    if status is not AgreementStatus.FAILED and risky is not None and risky <= at and deadlines:
        found.add(str(SlaFilter.AT_RISK))
    return found


def _tokens(text: str) -> set[str]:
    return {word for word in re.split(r"\W+", text.lower()) if word}


def _found_by_text(case: QueryCase, query: IssueQuery) -> bool:
    for text in (case.issue.subject, *case.texts):
        words = _tokens(text)
        if all(
            any(word.startswith(term.word) for word in words) if term.prefix else term.word in words
            for term in query.terms()
        ):
            return True
    return False


def expected_issues(cases: list[QueryCase], query: IssueQuery) -> list[str]:
    """Return the numbers ``query`` finds among ``cases`` in page order, every page together."""
    chosen = []
    for case in cases:
        issue = case.issue
        at = query.at or _QUERY_AT
        if query.statuses and issue.status not in query.statuses:
            continue
        if query.priorities and issue.priority not in query.priorities:
            continue
        if query.agreements and (issue.sla is None or issue.sla.agreement not in query.agreements):
            continue
        if query.assignee is not None and query.assignee not in issue.assignees:
            continue
        if query.raised_by is not None and issue.raised_by.lower() != query.raised_by.lower():
            continue
        if query.sla and not _standing(case, at) & {str(value) for value in query.sla}:
            continue
        if query.created_from is not None and issue.created_at < query.created_from:
            continue
        if query.created_before is not None and issue.created_at >= query.created_before:
            continue
        if query.updated_from is not None and issue.updated_at < query.updated_from:
            continue
        if query.updated_before is not None and issue.updated_at >= query.updated_before:
            continue
        if query.text is not None and not _found_by_text(case, query):
            continue
        if query.sort is IssueSort.CREATED:
            key = _micros(issue.created_at)
        elif query.sort is IssueSort.UPDATED:
            key = _micros(issue.updated_at)
        else:
            sla = issue.sla
            deadlines = (
                [when for when in (sla.response_by, sla.resolution_by) if when] if sla else []
            )
            key = _micros(min(deadlines)) if deadlines else 2**63 - 1
        chosen.append((key, issue.number))
    chosen.sort(reverse=query.descending)
    return [number for _, number in chosen]


@st.composite
def issue_queries(draw: st.DrawFn) -> IssueQuery:
    """Return a random query over the issues of :func:`query_cases`."""
    start = T0 + timedelta(hours=draw(st.integers(0, 130)))
    return IssueQuery(
        statuses=draw(st.sets(st.sampled_from(list(Status)), max_size=3)),
        priorities=draw(st.sets(st.sampled_from(["Low", "High", "Urgent"]), max_size=2)),
        agreements=draw(st.sets(st.sampled_from(["Standard", "Premium"]), max_size=1)),
        assignee=draw(st.none() | st.sampled_from(["ana", "bob", "cy"])),
        raised_by=draw(st.none() | st.sampled_from(["ANA@example.com", "bob@example.org"])),
        sla=draw(st.sets(st.sampled_from(list(SlaFilter)), max_size=2)),
        at=_QUERY_AT + timedelta(hours=draw(st.integers(-30, 30))),
        created_from=draw(st.none() | st.just(start)),
        created_before=draw(st.none() | st.just(start + timedelta(days=3))),
        updated_from=draw(st.none() | st.just(start + timedelta(days=1))),
        text=draw(
            st.none()
            | st.sampled_from(_WORDS)
            | st.builds(lambda word: word[:4] + "*", st.sampled_from(_WORDS))
            | st.builds(lambda a, b: f"{a} {b}", st.sampled_from(_WORDS), st.sampled_from(_WORDS))
        ),
        sort=draw(st.sampled_from(list(IssueSort))),
        descending=draw(st.booleans()),
        limit=draw(st.integers(1, 8)),
    )


class QueryContract:
    """What every store's ``find_page`` answers: the same pages for the same query and data."""

    def insert_plain(self, store: Store, *issues: Issue) -> None:
        """Insert ``issues`` without wake or at-risk instants in one committed unit of work."""
        with store.transaction() as work:
            for issue in issues:
                work.insert_issue(issue, wake_at=None)
            work.commit()

    def store_cases(self, store: Store, cases: list[QueryCase]) -> None:
        """Insert the issues and threads of ``cases`` in one committed unit of work."""
        with store.transaction() as work:
            for case in cases:
                work.insert_issue(case.issue, wake_at=None, at_risk_at=case.at_risk_at)
                for offset, text in enumerate(case.texts):
                    entry = ThreadEntry(
                        kind=EntryKind.CUSTOMER_MESSAGE,
                        author=case.issue.raised_by,
                        text=text,
                        at=case.issue.created_at + timedelta(minutes=offset),
                    )
                    work.append_entry(case.issue.number, entry)
            work.commit()

    def all_pages(self, store: Store, query: IssueQuery) -> list[list[str]]:
        """Return the numbers of every page of ``query``, following the cursors."""
        pages = []
        while True:
            with store.transaction(read_only=True) as work:
                page = work.find_page(query)
            pages.append([issue.number for issue in page.issues])
            if page.next_cursor is None:
                return pages
            assert len(page.issues) == query.limit
            assert len(pages) <= 1000, "the cursors never reach a last page"
            query = attrs.evolve(query, after=page.next_cursor)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(data=st.data())
    def test_every_query_pages_through_what_the_filters_and_sort_name(
        self, store: Store, data: st.DataObject
    ) -> None:
        cases = query_cases()
        with store.transaction(read_only=True) as work:
            stored = work.find_page(IssueQuery(limit=1))
        if not stored.issues:
            self.store_cases(store, cases)
        query = data.draw(issue_queries())
        expected = expected_issues(cases, query)
        pages = self.all_pages(store, query)
        assert [number for page in pages for number in page] == expected
        assert all(len(page) == query.limit for page in pages[:-1])
        assert len(pages[-1]) <= query.limit
        assert len(pages) == 1 or pages[-1]

    def test_the_first_page_of_open_issues_by_deadline_puts_the_earliest_first(
        self, store: Store
    ) -> None:
        cases = query_cases()
        self.store_cases(store, cases)
        query = IssueQuery(statuses=[Status.OPEN, Status.WAITING_FOR_REPLY], limit=5)
        with store.transaction(read_only=True) as work:
            page = work.find_page(query)
        assert [issue.number for issue in page.issues] == expected_issues(cases, query)[:5]
        deadlines = [
            min(when for when in (issue.sla.response_by, issue.sla.resolution_by) if when)
            for issue in page.issues
            if issue.sla is not None and (issue.sla.response_by or issue.sla.resolution_by)
        ]
        assert deadlines == sorted(deadlines)
        assert len(deadlines) == 5
        assert page.next_cursor is not None

    def test_agreement_filters_are_judged_at_the_instant_asked(self, store: Store) -> None:
        deadline = T0 + timedelta(hours=8)
        clock = SlaClock(
            agreement="Standard",
            priority="High",
            response_target=timedelta(hours=8),
            resolution_target=None,
            started_at=T0,
            role=SlaRole.RUNNING,
            running_since=T0,
            response_by=deadline,
        )
        issue = attrs.evolve(simple_issue("SLA-1"), sla=clock)
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=None, at_risk_at=deadline - timedelta(hours=2))
            work.commit()

        def found(at: datetime, *wanted: SlaFilter) -> bool:
            with store.transaction(read_only=True) as work:
                return bool(work.find_page(IssueQuery(sla=wanted, at=at)).issues)

        early, risky, late = T0 + timedelta(hours=1), deadline - timedelta(hours=1), deadline
        assert [found(at, SlaFilter.AT_RISK) for at in (early, risky, late)] == [False, True, True]
        after = deadline + timedelta(microseconds=1)
        assert found(after, SlaFilter.BREACHED)
        assert not found(after, SlaFilter.AT_RISK)
        assert not found(late, SlaFilter.BREACHED)
        assert found(early, SlaFilter.FIRST_RESPONSE_DUE)
        assert not found(after, SlaFilter.FIRST_RESPONSE_DUE, SlaFilter.PAUSED)

    def test_text_search_finds_words_of_the_subject_and_of_one_message(self, store: Store) -> None:
        issue = attrs.evolve(simple_issue("TXT-1"), subject="Printer jammed again")
        other = attrs.evolve(simple_issue("TXT-2"), subject="Question about invoices")
        self.insert_plain(store, issue, other)
        with store.transaction() as work:
            for text in ("The toner cartridge leaks", "Replaced the drum unit"):
                work.append_entry(
                    "TXT-1",
                    ThreadEntry(kind=EntryKind.AGENT_REPLY, author="bob", text=text, at=T0),
                )
            work.commit()

        def found(text: str) -> list[str]:
            with store.transaction(read_only=True) as work:
                page = work.find_page(IssueQuery(text=text, sort=IssueSort.CREATED))
            return sorted(found.number for found in page.issues)

        assert found("printer") == ["TXT-1"]
        assert found("TONER cartridge") == ["TXT-1"]
        assert found("invoice*") == ["TXT-2"]
        assert found("invoice") == []
        assert found("cartridge drum") == []  # the words are in two different messages
        assert found("jammed printer") == ["TXT-1"]

    def test_a_cursor_of_another_sort_is_refused(self, store: Store) -> None:
        self.insert_plain(store, simple_issue("C-1"), simple_issue("C-2"))
        with store.transaction(read_only=True) as work:
            page = work.find_page(IssueQuery(sort=IssueSort.CREATED, limit=1))
            assert page.next_cursor is not None
            with pytest.raises(ValueError, match="cursor"):
                work.find_page(IssueQuery(sort=IssueSort.UPDATED, after=page.next_cursor))
            with pytest.raises(ValueError, match="cursor"):
                work.find_page(IssueQuery(after="not a cursor"))


class StoreContract(QueryContract):
    """The behaviour every Store adapter must have; subclass and provide a ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Store:
        """Return a fresh, empty store; a subclass must override this fixture."""
        raise NotImplementedError("subclasses of StoreContract provide a `store` fixture")

    # helpers

    def insert(self, store: Store, *issues: Issue, wake_at: datetime | None = None) -> None:
        """Insert ``issues`` in one committed unit of work."""
        with store.transaction() as work:
            for issue in issues:
                work.insert_issue(issue, wake_at=wake_at)
            work.commit()

    def get(self, store: Store, number: str) -> Issue:
        """Return issue ``number`` read in a transaction of its own."""
        with store.transaction(read_only=True) as work:
            return work.get_issue(number)

    # issues

    def test_inserted_issue_reads_back_equal_with_version_1(self, store: Store) -> None:
        issue = simple_issue(_number())
        with store.transaction() as work:
            returned = work.insert_issue(issue, wake_at=None)
            work.commit()
        assert returned == attrs.evolve(issue, version=1)
        assert self.get(store, issue.number) == returned

    def test_every_field_of_an_issue_round_trips(self, store: Store) -> None:
        issue = populated_issue(_number())
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=None)
            work.commit()
        loaded = self.get(store, issue.number)
        assert attrs.asdict(loaded) == attrs.asdict(attrs.evolve(issue, version=1))
        assert loaded.created_at.utcoffset() is not None

    # The same test runs under every subclass, each with a store of its own.
    @settings(
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]
    )
    @given(
        subject=st.text(max_size=200),
        raised_by=st.emails(),
        assignees=st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True), max_size=4),
        participants=st.lists(st.emails(), max_size=3),
        created_at=st.datetimes(
            min_value=datetime(1980, 1, 1),
            max_value=datetime(2200, 1, 1),
            timezones=st.sampled_from([UTC, _BERLIN, ZoneInfo("Asia/Kolkata")]),
            allow_imaginary=False,
        ).filter(_unambiguous),
        priority=st.none() | st.sampled_from(["Urgent", "High", "Medium", "Low"]),
        reason=st.none() | st.text(max_size=50),
    )
    def test_any_issue_round_trips(
        self,
        store: Store,
        subject: str,
        raised_by: str,
        assignees: list[str],
        participants: list[str],
        created_at: datetime,
        priority: str | None,
        reason: str | None,
    ) -> None:
        later = (created_at.astimezone(UTC) + timedelta(days=1, microseconds=3)).astimezone(
            created_at.tzinfo
        )
        issue = attrs.evolve(
            simple_issue(_number(), created_at=created_at, raised_by=raised_by),
            subject=subject,
            assignees=tuple(dict.fromkeys(assignees)),
            participants=tuple(participants),
            priority=priority,
            updated_at=later,
            last_agent_reply_at=later,
            history=(
                HistoryEntry(
                    at=created_at,
                    actor=Actor.system(),
                    action="open",
                    from_status=Status.OPEN,
                    to_status=Status.OPEN,
                    reason=reason,
                ),
            ),
        )
        self.insert(store, issue)
        assert self.get(store, issue.number) == attrs.evolve(issue, version=1)

    def test_missing_issue_raises_not_found(self, store: Store) -> None:
        with store.transaction() as work, pytest.raises(IssueNotFoundError):
            work.get_issue("ISS-1999-00001")

    def test_inserting_a_taken_number_raises_conflict(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work, pytest.raises(ConcurrencyConflictError):
            work.insert_issue(attrs.evolve(issue, subject="other"), wake_at=None)
        assert self.get(store, issue.number).subject == issue.subject

    def test_update_stores_changes_and_increments_version(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            loaded = work.get_issue(issue.number, for_update=True)
            changed = attrs.evolve(loaded, subject="Changed", status=Status.ON_HOLD)
            returned = work.update_issue(changed, wake_at=None)
            work.commit()
        assert returned == attrs.evolve(changed, version=2)
        assert self.get(store, issue.number) == returned

    def test_update_from_a_stale_version_raises_conflict_and_keeps_the_stored_issue(
        self, store: Store
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        first = self.get(store, issue.number)
        with store.transaction() as work:
            work.update_issue(attrs.evolve(first, subject="first writer"), wake_at=None)
            work.commit()
        with store.transaction() as work, pytest.raises(ConcurrencyConflictError) as raised:
            work.update_issue(attrs.evolve(first, subject="second writer"), wake_at=None)
        assert raised.value.number == issue.number
        stored = self.get(store, issue.number)
        assert (stored.subject, stored.version) == ("first writer", 2)

    def test_update_of_a_missing_issue_raises_not_found(self, store: Store) -> None:
        with store.transaction() as work, pytest.raises(IssueNotFoundError):
            work.update_issue(attrs.evolve(simple_issue(_number()), version=1), wake_at=None)

    def test_naive_wake_at_is_refused(self, store: Store) -> None:
        with store.transaction() as work, pytest.raises(NaiveDatetimeError):
            work.insert_issue(simple_issue(_number()), wake_at=datetime(2026, 1, 1))

    # units of work

    def test_nothing_is_kept_without_commit(self, store: Store) -> None:
        issue = simple_issue(_number())
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=T0)
            work.append_entry(issue.number, populated_entry())
            work.record_message("<kept-not@example.com>", number=None, outcome="x", reason="y")
            work.outbox.add(_outbox_item(issue.number, T0))
            work.record_auto_reply("ana@example.com", T0)
        with store.transaction() as work:
            with pytest.raises(IssueNotFoundError):
                work.get_issue(issue.number)
            assert work.lookup_message("<kept-not@example.com>") is None
            assert work.outbox.claim(T0, owner="a", until=T0, limit=10) == []
            assert work.due_issues(T0, limit=10) == []
            assert work.count_auto_replies("ana@example.com", T0) == 0

    def test_an_exception_rolls_back_the_unit_of_work(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)

        def fail_midway() -> None:
            with store.transaction() as work:
                work.update_issue(attrs.evolve(issue, version=1, subject="lost"), wake_at=None)
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            fail_midway()
        assert self.get(store, issue.number).subject == issue.subject

    def test_a_rolled_back_sequence_does_not_disturb_later_ones(self, store: Store) -> None:
        with store.transaction() as work:
            first = work.next_sequence(2030)
            work.commit()
        with store.transaction() as work:
            work.next_sequence(2030)
        with store.transaction() as work:
            following = work.next_sequence(2030)
            work.commit()
        assert following > first

    def test_a_unit_of_work_cannot_be_used_after_it_ends(self, store: Store) -> None:
        with store.transaction() as work:
            work.commit()
        ended: UnitOfWork = work
        with pytest.raises(RuntimeError):
            ended.get_issue("ISS-2026-00001")

    def test_a_read_only_transaction_refuses_writes(self, store: Store) -> None:
        with store.transaction(read_only=True) as work, pytest.raises(RuntimeError):
            work.insert_issue(simple_issue(_number()), wake_at=None)

    # numbers

    def test_sequences_count_up_from_1_per_year_and_never_repeat(self, store: Store) -> None:
        drawn: dict[int, list[int]] = {2026: [], 2027: []}
        for _ in range(5):
            with store.transaction() as work:
                for year in drawn:
                    drawn[year].append(work.next_sequence(year))
                work.commit()
        assert drawn == {2026: [1, 2, 3, 4, 5], 2027: [1, 2, 3, 4, 5]}

    # the sweep

    def test_due_issues_are_those_waking_by_now_earliest_first(self, store: Store) -> None:
        numbers = [_number() for _ in range(5)]
        wakes: list[datetime | None] = [
            T0 + timedelta(hours=2),
            T0 - timedelta(days=3),
            None,
            T0,
            T0 + timedelta(microseconds=1),
        ]
        with store.transaction() as work:
            for number, wake_at in zip(numbers, wakes, strict=True):
                work.insert_issue(simple_issue(number), wake_at=wake_at)
            work.commit()
        with store.transaction() as work:
            assert work.due_issues(T0, limit=10) == [numbers[1], numbers[3]]
            assert work.due_issues(T0.astimezone(_BERLIN), limit=1) == [numbers[1]]
            assert work.due_issues(T0 + timedelta(days=1), limit=10) == [
                numbers[1],
                numbers[3],
                numbers[4],
                numbers[0],
            ]

    def test_an_update_moves_or_clears_the_wake_instant(self, store: Store) -> None:
        early, late = simple_issue(_number()), simple_issue(_number())
        with store.transaction() as work:
            work.insert_issue(early, wake_at=T0 - timedelta(hours=1))
            work.insert_issue(late, wake_at=T0 - timedelta(minutes=1))
            work.commit()
        with store.transaction() as work:
            work.update_issue(attrs.evolve(early, version=1), wake_at=None)
            work.update_issue(attrs.evolve(late, version=1), wake_at=T0 + timedelta(days=1))
            work.commit()
        with store.transaction() as work:
            assert work.due_issues(T0, limit=10) == []
            assert work.due_issues(T0 + timedelta(days=1), limit=10) == [late.number]

    # finding

    def _find_fixture(self, store: Store) -> list[Issue]:
        issues = [
            simple_issue("F-1", status=Status.OPEN, raised_by="ana@example.com"),
            simple_issue(
                "F-2",
                created_at=T0 + timedelta(hours=1),
                status=Status.ON_HOLD,
                raised_by="Ana@Example.COM",
                assignees=("bob",),
            ),
            simple_issue(
                "F-3",
                created_at=T0 - timedelta(hours=1),
                status=Status.OPEN,
                raised_by="carl@example.com",
                assignees=("bob", "dora"),
            ),
        ]
        self.insert(store, *issues)
        return [attrs.evolve(issue, version=1) for issue in issues]

    def test_find_without_filters_returns_every_issue_oldest_first(self, store: Store) -> None:
        one, two, three = self._find_fixture(store)
        with store.transaction(read_only=True) as work:
            assert work.find_issues() == [three, one, two]
            assert work.find_issues(limit=2) == [three, one]

    def test_find_filters_by_status_assignee_and_raiser(self, store: Store) -> None:
        one, two, three = self._find_fixture(store)
        with store.transaction(read_only=True) as work:
            assert work.find_issues(status=Status.OPEN) == [three, one]
            assert work.find_issues(assignee="bob") == [three, two]
            assert work.find_issues(assignee="dora") == [three]
            assert work.find_issues(assignee="Bob") == []
            assert work.find_issues(raised_by="ANA@example.com") == [one, two]
            assert work.find_issues(status=Status.OPEN, assignee="bob") == [three]
            assert work.find_issues(status=Status.CLOSED) == []

    def test_find_follows_changes_of_assignees(self, store: Store) -> None:
        _, two, three = self._find_fixture(store)
        with store.transaction() as work:
            work.update_issue(attrs.evolve(three, assignees=("erin",)), wake_at=None)
            work.commit()
        with store.transaction(read_only=True) as work:
            assert [issue.number for issue in work.find_issues(assignee="bob")] == [two.number]
            assert [issue.number for issue in work.find_issues(assignee="erin")] == [three.number]

    # threads

    def test_thread_keeps_order_and_attachments_with_their_bytes(self, store: Store) -> None:
        issue = simple_issue(_number())
        entries = [
            populated_entry(T0 + timedelta(minutes=5), text="first"),
            attrs.evolve(
                populated_entry(T0, text="second, earlier instant"),
                kind=EntryKind.AGENT_REPLY,
                attachments=(),
                new_text=None,
                html=None,
                message_id=None,
                unverified=False,
                written_at=None,
            ),
            populated_entry(T0 + timedelta(minutes=1), text="third"),
        ]
        self.insert(store, issue)
        for entry in entries:
            with store.transaction() as work:
                work.append_entry(issue.number, entry)
                work.commit()
        with store.transaction(read_only=True) as work:
            thread = work.thread(issue.number)
        assert thread == entries
        assert thread[0].attachments[0].data == bytes(range(256)) * 40

    def test_threads_of_different_issues_stay_apart(self, store: Store) -> None:
        first, second = simple_issue(_number()), simple_issue(_number())
        self.insert(store, first, second)
        with store.transaction() as work:
            work.append_entry(first.number, populated_entry(text="to first"))
            work.append_entry(second.number, populated_entry(text="to second"))
            work.append_entry(first.number, populated_entry(text="to first again"))
            work.commit()
        with store.transaction(read_only=True) as work:
            assert [entry.text for entry in work.thread(first.number)] == [
                "to first",
                "to first again",
            ]
            assert [entry.text for entry in work.thread(second.number)] == ["to second"]

    def test_thread_of_a_missing_issue_raises_not_found(self, store: Store) -> None:
        with store.transaction() as work:
            with pytest.raises(IssueNotFoundError):
                work.append_entry("ISS-1999-00001", populated_entry())
            with pytest.raises(IssueNotFoundError):
                work.thread("ISS-1999-00001")

    # the Message-ID index

    def test_a_recorded_message_is_found_with_its_outcome(self, store: Store) -> None:
        at = datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=_BERLIN)
        with store.transaction() as work:
            work.record_message(
                "<a1@example.com>", number="ISS-2026-00001", outcome="created", reason="new", at=at
            )
            work.record_message("<q@example.com>", number=None, outcome="quarantined", reason="?")
            work.commit()
        with store.transaction(read_only=True) as work:
            found = work.lookup_message("<a1@example.com>")
            quarantined = work.lookup_message("<q@example.com>")
            assert work.lookup_message("<unknown@example.com>") is None
        assert found is not None
        assert quarantined is not None
        assert (found.message_id, found.number, found.outcome, found.reason, found.at) == (
            "<a1@example.com>",
            "ISS-2026-00001",
            "created",
            "new",
            at,
        )
        assert (quarantined.number, quarantined.outcome, quarantined.at) == (
            None,
            "quarantined",
            None,
        )

    def test_kept_raw_bytes_come_back_exactly_and_only_after_commit(self, store: Store) -> None:
        raw = b"From: robot@example.com\r\nSubject: \xff\xfe broken\r\n\r\n\x00body"
        with store.transaction() as work:
            work.keep_message("<kept-1@example.com>", raw)
        with store.transaction(read_only=True) as work:
            assert work.kept_message("<kept-1@example.com>") is None
        with store.transaction() as work:
            work.keep_message("<kept-1@example.com>", raw)
            work.keep_message("<kept-1@example.com>", b"a second copy changes nothing")
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.kept_message("<kept-1@example.com>") == raw
            assert work.kept_message("<never-kept@example.com>") is None

    def test_quarantined_messages_are_listed_newest_first_and_can_be_released(
        self, store: Store
    ) -> None:
        tag = _number()
        first = datetime(2026, 3, 2, 10, tzinfo=_BERLIN)
        with store.transaction() as work:
            for minutes, name, outcome in ((0, "old", "quarantined"), (5, "new", "quarantined")):
                work.record_message(
                    f"<{name}.{tag}@example.com>",
                    number=None,
                    outcome=outcome,
                    reason=f"unreadable {name}",
                    at=first + timedelta(minutes=minutes),
                )
            work.record_message(
                f"<fine.{tag}@example.com>", number=None, outcome="ignored", reason="robot"
            )
            work.keep_message(f"<old.{tag}@example.com>", b"From: ?\r\n\r\nold")
            work.commit()
        with store.transaction(read_only=True) as work:
            listed = [r.message_id for r in work.quarantined_messages(limit=1000)]
        ours = [message_id for message_id in listed if tag in message_id]
        assert ours == [f"<new.{tag}@example.com>", f"<old.{tag}@example.com>"]
        with store.transaction() as work:
            assert work.release_message(f"<old.{tag}@example.com>") is True
            assert work.release_message(f"<fine.{tag}@example.com>") is False  # not quarantined
            assert work.release_message(f"<never.{tag}@example.com>") is False
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.lookup_message(f"<old.{tag}@example.com>") is None
            assert work.lookup_message(f"<fine.{tag}@example.com>") is not None
            assert work.kept_message(f"<old.{tag}@example.com>") == b"From: ?\r\n\r\nold"
            assert len(work.quarantined_messages(limit=1)) == 1

    def test_releasing_a_message_is_undone_without_commit(self, store: Store) -> None:
        tag = _number()
        with store.transaction() as work:
            work.record_message(
                f"<q.{tag}@example.com>", number=None, outcome="quarantined", reason="?"
            )
            work.commit()
        with store.transaction() as work:
            assert work.release_message(f"<q.{tag}@example.com>") is True
        with store.transaction(read_only=True) as work:
            assert work.lookup_message(f"<q.{tag}@example.com>") is not None

    # large content: MariaDB refuses statements over 16 MiB at its default settings

    def _round_trip_attachment(self, store: Store, data: bytes) -> bytes:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, _with_file(populated_entry(), data))
            work.commit()
        with store.transaction(read_only=True) as work:
            (entry,) = work.thread(issue.number)
        return entry.attachments[0].data

    def test_an_8_mb_attachment_reads_back_byte_identical(self, store: Store) -> None:
        data = escaped_content(8 * 1024 * 1024)
        assert self._round_trip_attachment(store, data) == data

    def test_an_attachment_of_the_desks_size_limit_reads_back_byte_identical(
        self, store: Store
    ) -> None:
        data = large_content(DEFAULT_MAX_BYTES, seed=50)
        assert self._round_trip_attachment(store, data) == data

    def test_a_70_mb_kept_message_reads_back_byte_identical(self, store: Store) -> None:
        raw = b"From: big@example.com\r\n\r\n" + large_content(70_000_000, seed=70)
        with store.transaction() as work:
            work.keep_message("<big@example.com>", raw)
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.kept_message("<big@example.com>") == raw

    def test_an_entry_with_a_long_text_reads_back_equal(self, store: Store) -> None:
        # A pasted log: quotes, backslashes and line ends, escaped again in JSON.
        text = 'C:\\logs\\app.log: "connection reset"\n' * 250_000
        entry = attrs.evolve(populated_entry(), text=text, new_text=text[:-1], html=None)
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, entry)
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == [entry]

    def test_identical_attachments_of_several_entries_each_read_back(self, store: Store) -> None:
        data = large_content(3 * 1024 * 1024 + 5, seed=3)
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, _with_file(populated_entry(text="one"), data))
            work.append_entry(issue.number, _with_file(populated_entry(text="two"), data))
            work.keep_message("<same-bytes@example.com>", data)
            work.commit()
        with store.transaction(read_only=True) as work:
            thread = work.thread(issue.number)
            assert work.kept_message("<same-bytes@example.com>") == data
        assert [entry.attachments[0].data for entry in thread] == [data, data]

    def test_a_rolled_back_attachment_leaves_nothing_to_read(self, store: Store) -> None:
        data = large_content(2 * 1024 * 1024, seed=2)
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, _with_file(populated_entry(), data))
            work.keep_message("<rolled-back@example.com>", data)
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == []
            assert work.kept_message("<rolled-back@example.com>") is None

    def test_content_that_is_not_bytes_is_refused(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        text_file = Attachment(filename="a.txt", content_type="text/plain", data="text")  # type: ignore[arg-type]
        with store.transaction() as work:
            with pytest.raises(TypeError):
                work.keep_message("<text@example.com>", "not bytes")  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                work.append_entry(
                    issue.number, attrs.evolve(populated_entry(), attachments=(text_file,))
                )

    def test_recording_a_message_twice_raises_duplicate(self, store: Store) -> None:
        with store.transaction() as work:
            work.record_message("<twice@example.com>", number=None, outcome="x", reason="first")
            work.commit()
        with store.transaction() as work, pytest.raises(DuplicateMessageError) as raised:
            work.record_message("<twice@example.com>", number=None, outcome="x", reason="again")
        assert raised.value.message_id == "<twice@example.com>"
        with store.transaction(read_only=True) as work:
            record = work.lookup_message("<twice@example.com>")
        assert record is not None
        assert record.reason == "first"

    def test_message_ids_differing_in_case_are_different_messages(self, store: Store) -> None:
        with store.transaction() as work:
            work.record_message("<Abc@example.com>", number="A", outcome="x", reason="y")
            work.record_message("<abc@example.com>", number="B", outcome="x", reason="y")
            work.commit()
        with store.transaction(read_only=True) as work:
            upper = work.lookup_message("<Abc@example.com>")
            lower = work.lookup_message("<abc@example.com>")
        assert upper is not None
        assert lower is not None
        assert (upper.number, lower.number) == ("A", "B")

    def test_a_long_message_id_is_recorded_and_found(self, store: Store) -> None:
        long_id = f"<{'x' * 900}.{uuid.uuid4().hex}@example.com>"
        with store.transaction() as work:
            work.record_message(long_id, number=None, outcome="ignored", reason="long")
            work.commit()
        with store.transaction(read_only=True) as work:
            record = work.lookup_message(long_id)
        assert record is not None
        assert record.message_id == long_id

    def test_a_fingerprint_is_recorded_and_found(self, store: Store) -> None:
        with store.transaction() as work:
            work.record_message(
                "<fp@example.com>", number=None, outcome="x", reason="y", fingerprint="f" * 64
            )
            work.record_message("<no-fp@example.com>", number=None, outcome="x", reason="y")
            work.commit()
        with store.transaction(read_only=True) as work:
            with_fingerprint = work.lookup_message("<fp@example.com>")
            without = work.lookup_message("<no-fp@example.com>")
        assert with_fingerprint is not None
        assert without is not None
        assert (with_fingerprint.fingerprint, without.fingerprint) == ("f" * 64, None)

    # text no store can keep: every store refuses the same, with one error

    @pytest.mark.parametrize(
        "message_id",
        [f"<{chr(0xDCFF)}@example.com>", f"<{chr(0xD800)}@example.com>", "<a\x00b@x>", None],
        ids=["escaped-byte", "lone-high-surrogate", "nul", "none"],
    )
    def test_an_unstorable_message_id_is_refused_everywhere_it_is_given(
        self, store: Store, message_id: Any
    ) -> None:
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError) as raised:
                work.record_message(message_id, number=None, outcome="x", reason="y")
            assert raised.value.field == "message_id"
            with pytest.raises(UnstorableValueError):
                work.lookup_message(message_id)
            with pytest.raises(UnstorableValueError):
                work.keep_message(message_id, b"raw")
            with pytest.raises(UnstorableValueError):
                work.kept_message(message_id)
            # The refusal leaves the unit of work usable.
            work.record_message("<fine@example.com>", number=None, outcome="x", reason="y")
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.lookup_message("<fine@example.com>") is not None

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("number", "ISS-\x00"),
            ("outcome", "created\udcff"),
            ("reason", "because \x00"),
            ("reason", "because \udcff"),
            ("outcome", None),
            ("fingerprint", "\x00" * 64),
        ],
    )
    def test_an_unstorable_value_of_a_message_record_is_refused(
        self, store: Store, field: str, value: Any
    ) -> None:
        values: dict[str, Any] = {"number": None, "outcome": "x", "reason": "y"}
        values[field] = value
        with store.transaction() as work, pytest.raises(UnstorableValueError) as raised:
            work.record_message("<r@example.com>", **values)
        assert raised.value.field == field

    @pytest.mark.parametrize(
        "change",
        [
            {"subject": "broken \udcff subject"},
            {"raised_by": "ana\udcff@example.com"},
            {"raised_by": "ana\x00@example.com"},
            {"assignees": ("bob\x00",)},
            {"participants": ("dan\ud800@example.com",)},
            {"priority": "High\udcff"},
        ],
        ids=["subject", "raiser-surrogate", "raiser-nul", "assignee-nul", "participant", "prio"],
    )
    def test_an_issue_with_unstorable_text_is_refused_on_insert_and_update(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        broken = attrs.evolve(issue, **change)
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.insert_issue(attrs.evolve(broken, number=_number()), wake_at=None)
            with pytest.raises(UnstorableValueError):
                work.update_issue(attrs.evolve(broken, version=1), wake_at=None)
        assert self.get(store, issue.number) == attrs.evolve(issue, version=1)

    @pytest.mark.parametrize(
        "change",
        [
            {"text": "a \udcff b"},
            {"author": "\udcff"},
            {"subject": "\ud83d"},
            {"html": "<p>\udcff</p>"},
            {"new_text": "\udfff"},
            {"message_id": "<\udcff@example.com>"},
            {"message_id": "<a\x00@example.com>"},
        ],
        ids=["text", "author", "subject", "html", "new-text", "message-id", "message-id-nul"],
    )
    def test_an_entry_with_unstorable_text_is_refused(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.append_entry(issue.number, attrs.evolve(populated_entry(), **change))
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == []

    @pytest.mark.parametrize(
        "change",
        [{"filename": "scan\udcff.pdf"}, {"content_type": "\udcffx/y"}, {"content_id": "<\ud800>"}],
        ids=["filename", "content-type", "content-id"],
    )
    def test_an_attachment_with_unstorable_text_is_refused(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        entry = populated_entry()
        broken = attrs.evolve(entry.attachments[0], **change)
        with store.transaction() as work, pytest.raises(UnstorableValueError):
            work.append_entry(issue.number, attrs.evolve(entry, attachments=(broken,)))

    @pytest.mark.parametrize(
        "change",
        [
            {"subject": None},
            {"subject": 42},
            {"raised_by": None},
            {"history": (None,)},
            {"priority": 3},
            {"assignees": (None,)},
            {"participants": ("a@example.com", b"b@example.com")},
            {"follows_up": 7},
        ],
        ids=[
            "subject-none",
            "subject-int",
            "raiser-none",
            "history-none",
            "priority-int",
            "assignee-none",
            "participant-bytes",
            "follows-up-int",
        ],
    )
    def test_an_issue_with_a_value_of_the_wrong_type_is_refused(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        # attrs does not check types at runtime, so such an issue can be built.
        broken = attrs.evolve(issue, **change)
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.insert_issue(attrs.evolve(broken, number=_number()), wake_at=None)
            with pytest.raises(UnstorableValueError):
                work.update_issue(attrs.evolve(broken, version=1), wake_at=None)
        assert self.get(store, issue.number) == attrs.evolve(issue, version=1)

    @pytest.mark.parametrize(
        "change",
        [
            {"text": None},
            {"author": None},
            {"text": b"bytes"},
            {"subject": 1},
            {"unverified": "no"},
        ],
        ids=["text-none", "author-none", "text-bytes", "subject-int", "unverified-str"],
    )
    def test_an_entry_with_a_value_of_the_wrong_type_is_refused(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.append_entry(issue.number, attrs.evolve(populated_entry(), **change))
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == []

    @pytest.mark.parametrize(
        "change",
        [{"data": "text, not bytes"}, {"filename": None}, {"content_type": 5}],
        ids=["data-str", "filename-none", "content-type-int"],
    )
    def test_an_attachment_with_a_value_of_the_wrong_type_is_refused(
        self, store: Store, change: dict[str, Any]
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        entry = populated_entry()
        broken = attrs.evolve(entry.attachments[0], **change)
        with store.transaction() as work, pytest.raises(UnstorableValueError):
            work.append_entry(issue.number, attrs.evolve(entry, attachments=(broken,)))

    def test_nul_inside_issue_and_entry_text_is_kept_exactly(self, store: Store) -> None:
        issue = attrs.evolve(simple_issue(_number()), subject="before\x00after")
        entry = attrs.evolve(populated_entry(), text="a\x00b", html="<p>\x00</p>")
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, entry)
            work.commit()
        assert self.get(store, issue.number).subject == "before\x00after"
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == [entry]

    def test_every_instant_reads_back_as_a_pendulum_datetime_in_utc(self, store: Store) -> None:
        berlin = datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=_BERLIN)
        issue = populated_issue(_number())
        entry = attrs.evolve(populated_entry(), at=berlin)
        item = _outbox_item(issue.number, berlin)
        message_id = f"<{uuid.uuid4().hex}@example.com>"
        with store.transaction() as work:
            work.insert_issue(issue, wake_at=berlin)
            work.append_entry(issue.number, entry)
            work.record_message(message_id, number=issue.number, outcome="x", reason="y", at=berlin)
            work.outbox.add(item)
            work.commit()
        with store.transaction() as work:
            (claimed,) = work.outbox.claim(berlin, owner="o", until=berlin, limit=1)
            work.outbox.fail(claimed.id, owner="o", error="e", retry_at=None, at=berlin)
            work.commit()
        with store.transaction(read_only=True) as work:
            loaded = work.get_issue(issue.number)
            thread = work.thread(issue.number)
            record = work.lookup_message(message_id)
            dead = work.outbox.dead_letters(limit=10)
        found = instants_in((loaded, thread, record, dead))
        # history, SLA clock, thread, the Message-ID record, outbox creation and death
        assert len(found) >= 12
        assert [value for value in found if not is_pendulum_utc(value)] == []
        assert loaded.created_at == issue.created_at
        assert thread[0].at == berlin
        assert record is not None
        assert record.at == berlin

    def test_a_replaced_thread_reads_back_and_is_searched_instead(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        with store.transaction() as work:
            work.append_entry(issue.number, attrs.evolve(populated_entry(), text="zebra words"))
            work.commit()
        replacement = attrs.evolve(populated_entry(), text="erased", new_text=None, attachments=())
        with store.transaction() as work:
            work.replace_thread(issue.number, [replacement, replacement])
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == [replacement, replacement]
            assert list(work.find_page(IssueQuery(text="zebra"))) == []
            assert [i.number for i in work.find_page(IssueQuery(text="erased"))] == [issue.number]

    def test_a_replacement_thread_no_store_can_keep_leaves_the_old_thread(
        self, store: Store
    ) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        kept = attrs.evolve(populated_entry(), text="kept words")
        with store.transaction() as work:
            work.append_entry(issue.number, kept)
            work.commit()
        fine = attrs.evolve(kept, text="fine")
        broken = attrs.evolve(kept, text="lone \udcff surrogate")
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.replace_thread(issue.number, [fine, broken])
            work.commit()  # what was refused wrote nothing, even when the caller commits
        with store.transaction(read_only=True) as work:
            assert work.thread(issue.number) == [kept]

    def test_a_removed_issue_leaves_nothing_under_its_number(self, store: Store) -> None:
        issue, other = simple_issue(_number()), simple_issue(_number())
        self.insert(store, issue, other)
        message_id = f"<{uuid.uuid4().hex}@example.com>"
        with store.transaction() as work:
            work.append_entry(issue.number, populated_entry())
            work.record_message(message_id, number=issue.number, outcome="created", reason="r")
            work.keep_message(message_id, b"raw bytes")
            work.outbox.add(_outbox_item(issue.number, T0))
            work.commit()
        with store.transaction() as work:
            work.remove_issue(issue.number)
            work.commit()
        with store.transaction(read_only=True) as work:
            with pytest.raises(IssueNotFoundError):
                work.get_issue(issue.number)
            assert work.lookup_message(message_id) is None
            assert work.kept_message(message_id) is None
            assert work.outbox.pending(limit=10) == []
            assert work.get_issue(other.number) == attrs.evolve(other, version=1)

    def test_forgetting_content_keeps_the_record_without_its_reason(self, store: Store) -> None:
        issue = simple_issue(_number())
        self.insert(store, issue)
        message_id = f"<{uuid.uuid4().hex}@example.com>"
        with store.transaction() as work:
            work.record_message(
                message_id, number=issue.number, outcome="appended", reason="from ana@x.test"
            )
            work.keep_message(message_id, b"raw bytes")
            work.outbox.add(_outbox_item(issue.number, T0))
            work.commit()
        with store.transaction() as work:
            work.forget_content(issue.number)
            work.commit()
        with store.transaction(read_only=True) as work:
            record = work.lookup_message(message_id)
            assert record is not None
            assert (record.outcome, record.reason) == ("appended", "[erased]")
            assert work.kept_message(message_id) is None
            assert work.outbox.pending(limit=10) == []

    def test_forgotten_auto_replies_no_longer_count(self, store: Store) -> None:
        with store.transaction() as work:
            work.record_auto_reply("Ana@Example.com", T0)
            work.record_auto_reply("bob@example.com", T0)
            work.commit()
        with store.transaction() as work:
            work.forget_auto_replies("ana@example.com")
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.count_auto_replies("ana@example.com", T0) == 0
            assert work.count_auto_replies("bob@example.com", T0) == 1

    def test_unstorable_lookups_are_refused(self, store: Store) -> None:
        with store.transaction(read_only=True) as work:
            with pytest.raises(UnstorableValueError):
                work.get_issue("ISS-\udcff")
            with pytest.raises(UnstorableValueError):
                work.thread("ISS-\x00")
            with pytest.raises(UnstorableValueError):
                work.find_issues(raised_by="ana\udcff@example.com")
            with pytest.raises(UnstorableValueError):
                work.count_auto_replies("ana\x00@example.com", T0)

    def test_unstorable_outbox_and_auto_reply_text_is_refused(self, store: Store) -> None:
        item = _outbox_item(None, T0)
        with store.transaction() as work:
            with pytest.raises(UnstorableValueError):
                work.outbox.add(attrs.evolve(item, message_id="<\udcff@example.com>"))
            with pytest.raises(UnstorableValueError):
                work.outbox.add(attrs.evolve(item, last_error="refused \x00"))
            work.outbox.add(item)
            (claimed,) = work.outbox.claim(T0, owner="w", until=T0 + timedelta(minutes=5), limit=1)
            with pytest.raises(UnstorableValueError):
                work.outbox.fail(claimed.id, owner="w", error="error \udcff", retry_at=None, at=T0)
            with pytest.raises(UnstorableValueError):
                work.record_auto_reply("ana\udcff@example.com", T0)

    # the outbox

    def add(self, store: Store, *items: OutboxItem) -> None:
        with store.transaction() as work:
            for item in items:
                work.outbox.add(item)
            work.commit()

    def claim(
        self, store: Store, now: datetime, *, owner: str = "one", limit: int = 10
    ) -> list[OutboxItem]:
        with store.transaction() as work:
            claimed = work.outbox.claim(
                now, owner=owner, until=now + timedelta(minutes=5), limit=limit
            )
            work.commit()
        return claimed

    def test_added_items_are_claimed_when_due_in_order(self, store: Store) -> None:
        late = _outbox_item("ISS-2026-00001", T0 + timedelta(minutes=1), subject="late")
        early = _outbox_item(None, T0, subject="early")
        self.add(store, late, early)
        assert self.claim(store, T0 - timedelta(seconds=1)) == []
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == [early, late]
            assert work.outbox.pending(limit=1) == [early]
        (first,) = self.claim(store, T0)
        assert first == attrs.evolve(
            early, claimed_by="one", lease_until=T0 + timedelta(minutes=5), attempts=1
        )
        (second,) = self.claim(store, T0 + timedelta(minutes=1), owner="two")
        assert second.id == late.id
        assert second.email()["Subject"] == "late"
        assert second.email().get_content() == "Thank you for your message.\n"

    def test_items_due_at_one_instant_are_claimed_in_the_order_they_were_added(
        self, store: Store
    ) -> None:
        items = [_effect(EffectKind.EVENT, T0, text=str(i)) for i in range(6)]
        self.add(store, *items)
        assert [item.id for item in self.claim(store, T0)] == [item.id for item in items]

    def test_every_kind_of_effect_is_kept_as_given(self, store: Store) -> None:
        items = [_effect(kind, T0, text=str(kind)) for kind in EffectKind]
        self.add(store, *items)
        with store.transaction(read_only=True) as work:
            assert [work.outbox.get(item.id) for item in items] == items
            assert work.outbox.get("no-such-effect") is None

    def test_a_claimed_item_is_not_claimed_again_until_its_lease_ends(self, store: Store) -> None:
        item = _effect(EffectKind.NOTICE, T0)
        self.add(store, item)
        assert len(self.claim(store, T0)) == 1
        lease_end = T0 + timedelta(minutes=5)
        assert self.claim(store, lease_end - timedelta(microseconds=1), owner="two") == []
        (again,) = self.claim(store, lease_end, owner="two")
        assert again.claimed_by == "two"
        assert again.attempts == 2

    def test_an_item_added_already_claimed_waits_for_its_lease(self, store: Store) -> None:
        held = attrs.evolve(
            _effect(EffectKind.EVENT, T0),
            claimed_by="writer",
            lease_until=T0 + timedelta(minutes=1),
            attempts=1,
        )
        self.add(store, held)
        assert self.claim(store, T0 + timedelta(seconds=59)) == []
        (taken,) = self.claim(store, T0 + timedelta(minutes=1))
        assert taken.attempts == 2

    def test_adding_an_id_twice_keeps_the_first(self, store: Store) -> None:
        item = _effect(EffectKind.NOTICE, T0, text="first")
        self.add(store, item)
        self.add(store, attrs.evolve(item, payload=b'{"user":"x","text":"second"}'))
        with store.transaction(read_only=True) as work:
            assert work.outbox.get(item.id) == item

    def test_a_completed_item_is_never_claimed_again(self, store: Store) -> None:
        item = _outbox_item("ISS-2026-00001", T0)
        self.add(store, item)
        self.claim(store, T0)
        done_at = T0 + timedelta(seconds=2)
        with store.transaction() as work:
            assert work.outbox.complete(item.id, at=done_at) is True
            work.commit()
        with store.transaction() as work:
            assert work.outbox.complete(item.id, at=done_at) is False
            stored = work.outbox.get(item.id)
        assert stored is not None
        assert (stored.state, stored.done_at, stored.claimed_by) == ("done", done_at, None)
        with store.transaction(read_only=True) as work:
            assert work.outbox.pending(limit=10) == []
        assert self.claim(store, T0 + timedelta(days=365)) == []

    def test_a_failed_item_is_retried_later_with_the_error_kept(self, store: Store) -> None:
        item = _outbox_item("ISS-2026-00001", T0)
        self.add(store, item)
        self.claim(store, T0)
        retry_at = T0 + timedelta(minutes=10)
        with store.transaction() as work:
            assert work.outbox.fail(
                item.id, owner="one", error="421 try again later", retry_at=retry_at, at=T0
            )
            work.commit()
        assert self.claim(store, retry_at - timedelta(microseconds=1)) == []
        (retried,) = self.claim(store, retry_at, owner="two")
        assert retried == attrs.evolve(
            item,
            attempts=2,
            next_attempt_at=retry_at,
            last_error="421 try again later",
            claimed_by="two",
            lease_until=retry_at + timedelta(minutes=5),
        )

    def test_a_failure_reported_by_a_deliverer_that_lost_the_row_changes_nothing(
        self, store: Store
    ) -> None:
        item = _effect(EffectKind.TODO_OPENED, T0)
        self.add(store, item)
        self.claim(store, T0, owner="one")
        (taken,) = self.claim(store, T0 + timedelta(hours=1), owner="two")
        with store.transaction() as work:
            assert not work.outbox.fail(item.id, owner="one", error="late", retry_at=None, at=T0)
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.outbox.get(item.id) == taken

    def test_an_item_given_up_is_a_dead_letter_until_revived(self, store: Store) -> None:
        item = _effect(EffectKind.EVENT, T0)
        other = _effect(EffectKind.EVENT, T0)
        self.add(store, item, other)
        self.claim(store, T0)
        given_up = T0 + timedelta(seconds=3)
        with store.transaction() as work:
            work.outbox.fail(
                item.id, owner="one", error="ValueError: no", retry_at=None, at=given_up
            )
            work.commit()
        with store.transaction() as work:
            (dead,) = work.outbox.dead_letters(limit=10)
            assert (dead.id, dead.state, dead.dead_at) == (item.id, "dead", given_up)
            assert dead.last_error == "ValueError: no"
            later = T0 + timedelta(days=365)
            claimed = work.outbox.claim(later, owner="x", until=later, limit=10)
            assert [found.id for found in claimed] == [other.id]
            assert work.outbox.revive(other.id, at=T0) is False
            assert work.outbox.revive("no-such-effect", at=T0) is False
            assert work.outbox.revive(item.id, at=given_up) is True
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.outbox.dead_letters(limit=10) == []
        (revived,) = self.claim(store, given_up, owner="two")
        assert (revived.id, revived.attempts, revived.last_error) == (item.id, 1, "ValueError: no")

    def test_marking_an_unknown_outbox_item_raises_lookup_error(self, store: Store) -> None:
        with store.transaction() as work:
            with pytest.raises(LookupError):
                work.outbox.complete("no-such-effect", at=T0)
            with pytest.raises(LookupError):
                work.outbox.fail("no-such-effect", owner="a", error="e", retry_at=None, at=T0)

    def test_claim_honours_the_limit(self, store: Store) -> None:
        items = [_outbox_item(None, T0 + timedelta(seconds=i)) for i in range(5)]
        self.add(store, *items)
        claimed = self.claim(store, T0 + timedelta(hours=1), limit=3)
        assert [item.id for item in claimed] == [item.id for item in items[:3]]

    def test_prune_deletes_only_items_delivered_before_an_instant(self, store: Store) -> None:
        old, recent, pending = (_effect(EffectKind.NOTICE, T0) for _ in range(3))
        self.add(store, old, recent, pending)
        with store.transaction() as work:
            work.outbox.complete(old.id, at=T0)
            work.outbox.complete(recent.id, at=T0 + timedelta(hours=1))
            work.commit()
        with store.transaction() as work:
            assert work.outbox.prune(T0 + timedelta(hours=1), limit=10) == 1
            work.commit()
        with store.transaction(read_only=True) as work:
            assert work.outbox.get(old.id) is None
            assert work.outbox.get(recent.id) is not None
            assert work.outbox.get(pending.id) is not None

    # automatic reply rate limit

    def test_auto_replies_are_counted_per_address_since_an_instant(self, store: Store) -> None:
        with store.transaction() as work:
            for minutes in (0, 10, 20):
                work.record_auto_reply("Ana@Example.com", T0 + timedelta(minutes=minutes))
            work.record_auto_reply("bob@example.com", T0 + timedelta(minutes=30))
            work.commit()
        with store.transaction(read_only=True) as work:
            counts: dict[str, Any] = {
                "all": work.count_auto_replies("ana@example.com", T0),
                "since 10": work.count_auto_replies(
                    "ANA@example.com", (T0 + timedelta(minutes=10)).astimezone(_BERLIN)
                ),
                "after last": work.count_auto_replies(
                    "ana@example.com", T0 + timedelta(minutes=20, microseconds=1)
                ),
                "bob": work.count_auto_replies("bob@example.com", T0),
                "nobody": work.count_auto_replies("nobody@example.com", T0),
            }
        assert counts == {"all": 3, "since 10": 2, "after last": 0, "bob": 1, "nobody": 0}


class StoreStateMachine(RuleBasedStateMachine):
    """Random sequences of units of work, checked against a plain model after every step.

    Subclass it, override :meth:`make_store` (a fresh, empty store) and, if
    the store needs it, :meth:`close_store`; then collect its ``TestCase``::

        class ErpStoreMachine(StoreStateMachine):
            def make_store(self):
                return ErpStore(connect_to_test_database())

        TestErpStoreMachine = ErpStoreMachine.TestCase

    Units of work commit or roll back at random; a rolled-back one must
    leave no trace, a stale write must raise a conflict, and a Message-ID
    recorded twice must raise a duplicate.
    """

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.issues: dict[str, Issue] = {}
        self.wakes: dict[str, datetime | None] = {}
        self.threads: dict[str, list[str]] = {}
        self.messages: dict[str, str | None] = {}
        self.sequences: dict[int, int] = {}
        self.created = 0

    def make_store(self) -> Store:
        """Return a fresh, empty store; subclasses override this."""
        raise NotImplementedError("subclasses of StoreStateMachine provide make_store()")

    def close_store(self, store: Store) -> None:
        """Release ``store`` at the end of a run; by default nothing is done."""

    def teardown(self) -> None:
        self.close_store(self.store)

    numbers = Bundle("numbers")

    @rule(
        target=numbers,
        status=st.sampled_from(list(Status)),
        wake=_wakes,
        commit=st.booleans(),
    )
    def insert(self, status: Status, wake: datetime | None, commit: bool) -> Any:
        self.created += 1
        number = f"M-{self.created:05d}"
        issue = simple_issue(number, status=status, created_at=T0 + timedelta(seconds=self.created))
        with self.store.transaction() as work:
            stored = work.insert_issue(issue, wake_at=wake)
            if commit:
                work.commit()
        if not commit:
            return multiple()
        self.issues[number] = stored
        self.wakes[number] = wake
        self.threads[number] = []
        return number

    @rule(
        number=numbers,
        status=st.sampled_from(list(Status)),
        wake=_wakes,
        commit=st.booleans(),
        stale=st.booleans(),
    )
    def update(
        self, number: str, status: Status, wake: datetime | None, commit: bool, stale: bool
    ) -> None:
        current = self.issues[number]
        stale = stale and current.version > 1
        based_on = attrs.evolve(
            current,
            status=status,
            subject=f"{current.subject}+",
            version=current.version - 1 if stale else current.version,
        )
        with self.store.transaction() as work:
            if stale:
                with pytest.raises(ConcurrencyConflictError):
                    work.update_issue(based_on, wake_at=wake)
                return
            stored = work.update_issue(based_on, wake_at=wake)
            assert stored.version == current.version + 1
            if commit:
                work.commit()
        if commit:
            self.issues[number] = stored
            self.wakes[number] = wake

    @rule(number=numbers, text=st.text(max_size=30), commit=st.booleans())
    def append(self, number: str, text: str, commit: bool) -> None:
        entry = attrs.evolve(populated_entry(text=text), attachments=())
        with self.store.transaction() as work:
            work.append_entry(number, entry)
            if commit:
                work.commit()
        if commit:
            self.threads[number].append(text)

    @rule(
        message_id=st.sampled_from([f"<m{index}@example.com>" for index in range(6)]),
        number=st.none() | numbers,
        commit=st.booleans(),
    )
    def record(self, message_id: str, number: str | None, commit: bool) -> None:
        with self.store.transaction() as work:
            if message_id in self.messages:
                with pytest.raises(DuplicateMessageError):
                    work.record_message(message_id, number=number, outcome="x", reason="y")
                return
            work.record_message(message_id, number=number, outcome="x", reason="y")
            if commit:
                work.commit()
        if commit:
            self.messages[message_id] = number

    @rule(year=st.sampled_from([2026, 2027]), commit=st.booleans())
    def next_sequence(self, year: int, commit: bool) -> None:
        with self.store.transaction() as work:
            drawn = work.next_sequence(year)
            if commit:
                work.commit()
        assert drawn > self.sequences.get(year, 0)
        if commit:
            self.sequences[year] = drawn

    @invariant()
    def store_matches_model(self) -> None:
        with self.store.transaction(read_only=True) as work:
            for number, issue in self.issues.items():
                assert work.get_issue(number) == issue
                assert [entry.text for entry in work.thread(number)] == self.threads[number]
            for message_id, recorded_for in self.messages.items():
                record = work.lookup_message(message_id)
                assert record is not None
                assert record.number == recorded_for
            due = sorted(
                (wake, number)
                for number, wake in self.wakes.items()
                if wake is not None and wake <= T0
            )
            assert work.due_issues(T0, limit=1_000) == [number for _, number in due]
            for status in (Status.OPEN, Status.CLOSED):
                expected = [n for n, issue in self.issues.items() if issue.status == status]
                assert [issue.number for issue in work.find_issues(status=status)] == expected
