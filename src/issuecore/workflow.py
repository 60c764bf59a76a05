"""The pure domain: functions from an issue and an instant to a :class:`~issuecore.Change`.

Each function checks the step against the workflow's rules and returns the
new issue with the events it raised; nothing is stored, sent or read from a
clock. The :class:`~issuecore.Workflow` itself and its parts are in
:mod:`issuecore`; :class:`~issuecore.HelpDesk` runs these functions inside
its transactions.
"""

from issuecore._workflow import (
    DEFAULT_AUTO_CLOSE_AFTER,
    DEFAULT_WORKFLOW,
    add_note,
    add_participant,
    assign,
    auto_close_due_at,
    format_issue_number,
    open_issue,
    set_details,
    set_priority,
    unassign,
)

__all__ = [
    "DEFAULT_AUTO_CLOSE_AFTER",
    "DEFAULT_WORKFLOW",
    "add_note",
    "add_participant",
    "assign",
    "auto_close_due_at",
    "format_issue_number",
    "open_issue",
    "set_details",
    "set_priority",
    "unassign",
]
