"""issuecore: support issues as a library.

The public names live here; everything else is reached through its module.
"""

from issuecore.desk import DeskSettings, HelpDesk, ReceiveOutcome, TickReport
from issuecore.errors import (
    AgreementError,
    CalendarNeverOpensError,
    EmptyIntervalError,
    HolidaysUnavailableError,
    InvalidHolidayError,
    InvalidTimeError,
    InvalidTransitionError,
    IssueCoreError,
    IssueNotFoundError,
    MailSettingsError,
    MailTransportError,
    NaiveDatetimeError,
    NegativeDurationError,
    UnknownCountryError,
    UnknownPriorityError,
    UnknownTimezoneError,
    UnknownWeekdayError,
    UnreachableDeadlineError,
    WorkflowError,
)
from issuecore.mail.settings import (
    AutomatedPolicy,
    FollowUpPolicy,
    MailSettings,
    StrangerPolicy,
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
from issuecore.sla.agreement import AtRisk, ServiceLevelAgreement, SlaTarget
from issuecore.sla.calendar import BusinessCalendar
from issuecore.sla.clock import AgreementStatus, SlaClock, SlaRole
from issuecore.workflow import Change, StatusSpec, Transition, Workflow

__all__ = [
    "Action",
    "Actor",
    "ActorKind",
    "AgreementError",
    "AgreementStatus",
    "AtRisk",
    "Attachment",
    "AutomatedPolicy",
    "BusinessCalendar",
    "CalendarNeverOpensError",
    "Change",
    "DeskSettings",
    "EmptyIntervalError",
    "EntryKind",
    "FollowUpPolicy",
    "HelpDesk",
    "HistoryEntry",
    "HolidaysUnavailableError",
    "InvalidHolidayError",
    "InvalidTimeError",
    "InvalidTransitionError",
    "Issue",
    "IssueCoreError",
    "IssueNotFoundError",
    "MailSettings",
    "MailSettingsError",
    "MailTransportError",
    "NaiveDatetimeError",
    "NegativeDurationError",
    "ReceiveOutcome",
    "ServiceLevelAgreement",
    "SlaClock",
    "SlaRole",
    "SlaTarget",
    "Status",
    "StatusSpec",
    "StrangerPolicy",
    "ThreadEntry",
    "TickReport",
    "Transition",
    "UnknownCountryError",
    "UnknownPriorityError",
    "UnknownTimezoneError",
    "UnknownWeekdayError",
    "UnreachableDeadlineError",
    "Workflow",
    "WorkflowError",
]
