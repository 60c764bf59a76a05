"""issuecore: support issues as a library.

The public names live here; everything else is reached through its module.
"""

from issuecore.errors import (
    InvalidTransitionError,
    IssueCoreError,
    IssueNotFoundError,
    NaiveDatetimeError,
    WorkflowError,
)
from issuecore.model import (
    Action,
    Actor,
    ActorKind,
    Attachment,
    EntryKind,
    HistoryEntry,
    Issue,
    Status,
    ThreadEntry,
)
from issuecore.workflow import Change, SlaRole, StatusSpec, Transition, Workflow

__all__ = [
    "Action",
    "Actor",
    "ActorKind",
    "Attachment",
    "Change",
    "EntryKind",
    "HistoryEntry",
    "InvalidTransitionError",
    "Issue",
    "IssueCoreError",
    "IssueNotFoundError",
    "NaiveDatetimeError",
    "SlaRole",
    "Status",
    "StatusSpec",
    "ThreadEntry",
    "Transition",
    "Workflow",
    "WorkflowError",
]
