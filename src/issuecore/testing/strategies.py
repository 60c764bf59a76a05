"""Hypothesis strategies for issuecore values; adopters use them in their own tests.

Every strategy that depends on a lifecycle takes the :class:`~issuecore.Workflow`
to draw from, so a custom workflow gets values that fit it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from issuecore._model import Actor, ActorKind, Issue
from issuecore._workflow import DEFAULT_WORKFLOW, Workflow, format_issue_number, open_issue

__all__ = [
    "actions",
    "actors",
    "addresses",
    "aware_datetimes",
    "issue_numbers",
    "issues",
    "statuses",
    "timezones",
]

_ZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "America/Havana",
    "Pacific/Apia",
    "Asia/Kolkata",
)


def statuses(workflow: Workflow | None = None) -> st.SearchStrategy[str]:
    """Draw a status of ``workflow`` (the default workflow when omitted)."""
    return st.sampled_from([spec.name for spec in (workflow or DEFAULT_WORKFLOW).statuses])


def actions(workflow: Workflow | None = None) -> st.SearchStrategy[str]:
    """Draw an action named anywhere in ``workflow``'s transition table."""
    return st.sampled_from((workflow or DEFAULT_WORKFLOW).actions)


def timezones() -> st.SearchStrategy[ZoneInfo]:
    """Draw a zone, favouring ones with unusual daylight-saving rules."""
    return st.sampled_from(_ZONES).map(ZoneInfo)


def aware_datetimes(
    *,
    min_value: datetime = datetime(2000, 1, 1),
    max_value: datetime = datetime(2040, 12, 31),
) -> st.SearchStrategy[datetime]:
    """Draw timezone-aware datetimes in a mix of zones (naive bounds are local wall times)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=timezones())


def addresses() -> st.SearchStrategy[str]:
    """Draw plain e-mail addresses such as ``ana.silva@example.com``."""
    local = st.from_regex(r"[a-z][a-z0-9]{0,7}(\.[a-z0-9]{1,6})?", fullmatch=True)
    domain = st.sampled_from(["example.com", "example.org", "customer.test", "bigcustomer.com"])
    return st.builds(lambda name, host: f"{name}@{host}", local, domain)


def actors(kind: ActorKind | None = None) -> st.SearchStrategy[Actor]:
    """Draw actors of ``kind``, or of any kind."""
    kinds = st.just(kind) if kind is not None else st.sampled_from(list(ActorKind))
    return st.builds(lambda k, who: Actor(kind=k, id=who), kinds, addresses())


def issue_numbers() -> st.SearchStrategy[str]:
    """Draw issue numbers in the default ``ISS-{year}-{sequence:05d}`` form."""
    return st.builds(format_issue_number, st.integers(2000, 2099), st.integers(1, 99_999))


def issues(workflow: Workflow | None = None) -> st.SearchStrategy[Issue]:
    """Draw new issues in ``workflow``'s initial status, created at a random aware instant."""
    flow = workflow or DEFAULT_WORKFLOW

    def build(number: str, subject: str, raised_by: str, at: datetime) -> Issue:
        return open_issue(
            number=number, subject=subject, raised_by=raised_by, at=at, workflow=flow
        ).issue

    return st.builds(
        build,
        issue_numbers(),
        st.text(min_size=1, max_size=80),
        addresses(),
        aware_datetimes(),
    )
