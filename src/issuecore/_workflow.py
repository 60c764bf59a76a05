"""The issue lifecycle as data: a transition table, its validation, and pure operations.

A :class:`Workflow` is one table ``{(status, action): new_status}``; anything
absent from it is refused with :class:`~issuecore.errors.InvalidTransitionError`.
The operations here are pure: an issue and an instant go in, a
:class:`Change` (the new issue and the events it raised) comes out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from issuecore._evolve import evolve
from issuecore._instants import require_aware
from issuecore._model import (
    Action,
    Actor,
    Assigned,
    DetailsChanged,
    Event,
    HistoryEntry,
    Issue,
    IssueClosed,
    IssueOpened,
    NoteAdded,
    ParticipantAdded,
    PriorityChanged,
    Status,
    StatusChanged,
    Unassigned,
)
from issuecore._sla.clock import SlaRole
from issuecore.errors import InvalidTransitionError, WorkflowError
from issuecore.mail._addresses import unique_addresses

__all__ = [
    "DEFAULT_AUTO_CLOSE_AFTER",
    "Change",
    "SlaRole",
    "StatusSpec",
    "Transition",
    "Workflow",
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

DEFAULT_AUTO_CLOSE_AFTER: Final = timedelta(days=7)


@attrs.frozen(kw_only=True)
class StatusSpec:
    """One status of a workflow: its name, its SLA role, and whether it starts or ends issues."""

    name: str = attrs.field(converter=str)
    sla: SlaRole | None
    initial: bool = False
    closed: bool = False


@attrs.frozen(kw_only=True)
class Transition:
    """One row of a transition table: ``action`` moves ``source`` to ``target``."""

    source: str = attrs.field(converter=str)
    action: str = attrs.field(converter=str)
    target: str = attrs.field(converter=str)


@attrs.frozen(kw_only=True)
class Change:
    """The result of a domain operation: the new issue and the events it raised."""

    issue: Issue
    events: tuple[Event, ...] = ()


def _statuses(value: Iterable[StatusSpec]) -> tuple[StatusSpec, ...]:
    return tuple(value)


def _transitions(
    value: Iterable[Transition] | Mapping[tuple[str, str], str],
) -> tuple[Transition, ...]:
    if isinstance(value, Mapping):
        return tuple(
            Transition(source=source, action=action, target=target)
            for (source, action), target in value.items()
        )
    return tuple(value)


@attrs.frozen(kw_only=True)
class Workflow:
    """A lifecycle declared as data, validated when declared.

    ``transitions`` is a mapping ``{(status, action): new_status}`` or an
    iterable of :class:`Transition`. A malformed declaration raises
    :class:`~issuecore.errors.WorkflowError` listing every problem.
    """

    statuses: tuple[StatusSpec, ...] = attrs.field(converter=_statuses)
    transitions: tuple[Transition, ...] = attrs.field(converter=_transitions)
    name: str = "custom"
    _table: dict[tuple[str, str], str] = attrs.field(init=False, eq=False, repr=False)
    _by_name: dict[str, StatusSpec] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_name, table = _validate(self.statuses, self.transitions)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_table", table)

    @classmethod
    def default(cls, *, auto_close_resolved: bool = False) -> Workflow:
        """Return the default workflow; ``auto_close_resolved`` lets auto-close take Resolved."""
        table = dict(DEFAULT_TABLE)
        if auto_close_resolved:
            table[(Status.RESOLVED, Action.AUTO_CLOSE)] = Status.CLOSED
        return cls(statuses=DEFAULT_STATUSES, transitions=table, name="default")

    @property
    def table(self) -> Mapping[tuple[str, str], str]:
        """Return the transition table ``{(status, action): new_status}``."""
        return dict(self._table)

    @property
    def initial(self) -> str:
        """Return the status a new issue starts in."""
        return next(spec.name for spec in self.statuses if spec.initial)

    @property
    def closed(self) -> frozenset[str]:
        """Return the statuses that end an issue."""
        return frozenset(spec.name for spec in self.statuses if spec.closed)

    @property
    def actions(self) -> tuple[str, ...]:
        """Return every action the table names, sorted."""
        return tuple(sorted({action for _, action in self._table}))

    def spec(self, status: str) -> StatusSpec:
        """Return the declaration of ``status``; raise ``KeyError`` naming the known ones."""
        try:
            return self._by_name[status]
        except KeyError:
            known = ", ".join(spec.name for spec in self.statuses)
            raise KeyError(f"unknown status {status!r}; known: {known}") from None

    def sla_role(self, status: str) -> SlaRole:
        """Return what ``status`` means to the SLA clock."""
        role = self.spec(status).sla
        assert role is not None  # validation guarantees every status states its role
        return role

    def is_closed(self, status: str) -> bool:
        """Return whether ``status`` ends an issue."""
        return self.spec(status).closed

    def target(self, status: str, action: str) -> str | None:
        """Return the status ``action`` leads to from ``status``, or ``None`` if refused."""
        return self._table.get((status, action))

    def allowed(self, status: str) -> tuple[str, ...]:
        """Return the actions allowed from ``status``, sorted."""
        return tuple(sorted(action for source, action in self._table if source == status))

    def apply(
        self, issue: Issue, action: str, *, at: datetime, actor: Actor, reason: str | None = None
    ) -> Change:
        """Apply ``action`` to ``issue`` at ``at``; raise if the table does not allow it."""
        require_aware("at", at)
        target = self.target(issue.status, action)
        if target is None:
            raise InvalidTransitionError.refused(
                number=issue.number,
                status=issue.status,
                action=action,
                allowed=self.allowed(issue.status),
            )
        at = _not_before(issue, at)
        source = issue.status
        entry = HistoryEntry(
            at=at, actor=actor, action=action, from_status=source, to_status=target, reason=reason
        )
        changes: dict[str, Any] = {
            "status": target,
            "updated_at": at,
            "history": (*issue.history, entry),
        }
        if target != source:
            changes["status_since"] = at
        if action == Action.AGENT_REPLY:
            changes["last_agent_reply_at"] = at
            if issue.first_responded_at is None:
                changes["first_responded_at"] = at
        elif action == Action.CUSTOMER_MESSAGE:
            changes["last_customer_message_at"] = at
        entering_closed = self.is_closed(target) and not self.is_closed(source)
        if entering_closed:
            changes["closed_at"] = at
        elif not self.is_closed(target):
            changes["closed_at"] = None
        fulfilled = self.sla_role(target) is SlaRole.FULFILLED
        if fulfilled and issue.resolved_at is None:
            changes["resolved_at"] = at
        elif not fulfilled:
            changes["resolved_at"] = None
        new_issue = evolve(issue, **changes)
        events: list[Event] = []
        if target != source:
            events.append(
                StatusChanged(
                    number=issue.number,
                    at=at,
                    actor=actor,
                    action=action,
                    from_status=source,
                    to_status=target,
                    reason=reason,
                )
            )
        if entering_closed:
            events.append(
                IssueClosed(number=issue.number, at=at, actor=actor, status=target, reason=reason)
            )
        return Change(issue=new_issue, events=tuple(events))

    def auto_close(
        self,
        issue: Issue,
        *,
        now: datetime,
        after: timedelta | None = DEFAULT_AUTO_CLOSE_AFTER,
        actor: Actor | None = None,
    ) -> Change:
        """Close ``issue`` for silence if it is due at ``now``; otherwise return it unchanged."""
        require_aware("now", now)
        due = auto_close_due_at(issue, workflow=self, after=after)
        if due is None or now < due:
            return Change(issue=issue)
        assert after is not None  # a due instant exists only when auto-close is on
        reason = (
            f"no reply from the customer for {_describe(after)} "
            f"since the last agent reply at {due - after:%Y-%m-%d %H:%M:%S %Z}"
        )
        return self.apply(
            issue,
            Action.AUTO_CLOSE,
            at=now,
            actor=actor or Actor.system("auto-close"),
            reason=reason,
        )

    def to_mermaid(self) -> str:
        """Return the workflow as a Mermaid state diagram."""
        ids = {spec.name: _node_id(spec.name) for spec in self.statuses}
        lines = ["stateDiagram-v2"]
        for spec in self.statuses:
            if ids[spec.name] != spec.name:
                lines.append(f'    state "{spec.name}" as {ids[spec.name]}')
        lines.append(f"    [*] --> {ids[self.initial]}")
        for (source, target), actions in _edges(self._table).items():
            lines.append(f"    {ids[source]} --> {ids[target]}: {', '.join(actions)}")
        for spec in self.statuses:
            if spec.closed:
                lines.append(f"    {ids[spec.name]} --> [*]")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """Return the workflow as a Graphviz DOT digraph."""
        lines = [
            f'digraph "{self.name}" {{',
            "    rankdir=LR;",
            "    node [shape=box, style=rounded];",
        ]
        for spec in self.statuses:
            shape = ", peripheries=2" if spec.closed else ""
            lines.append(f'    "{spec.name}" [label="{spec.name}\\n({spec.sla})"{shape}];')
        lines.append("    start [shape=point];")
        lines.append(f'    start -> "{self.initial}";')
        for (source, target), actions in _edges(self._table).items():
            lines.append(f'    "{source}" -> "{target}" [label="{", ".join(actions)}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _node_id(name: str) -> str:
    return "".join(char for char in name.title() if char.isalnum() or char == "_")


def _edges(table: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for (source, action), target in table.items():
        edges.setdefault((source, target), []).append(action)
    return edges


def _validate(
    statuses: tuple[StatusSpec, ...], transitions: tuple[Transition, ...]
) -> tuple[dict[str, StatusSpec], dict[tuple[str, str], str]]:
    problems: list[str] = []
    by_name: dict[str, StatusSpec] = {}
    for spec in statuses:
        if spec.name in by_name:
            problems.append(f"status {spec.name!r} is declared twice")
        by_name[spec.name] = spec
    if not by_name:
        raise WorkflowError.from_problems(["it declares no statuses"])
    known = ", ".join(by_name)
    initial = [spec.name for spec in statuses if spec.initial]
    if not initial:
        problems.append("no status is initial; mark exactly one with initial=True")
    elif len(initial) > 1:
        problems.append(
            f"{len(initial)} statuses are initial ({', '.join(initial)}); mark exactly one"
        )
    closed = {spec.name for spec in statuses if spec.closed}
    if not closed:
        problems.append("no status is closed; mark at least one with closed=True")
    for spec in statuses:
        if spec.sla is None:
            problems.append(
                f"status {spec.name!r} does not state its SLA role; "
                "give sla=SlaRole.RUNNING, SlaRole.PAUSED or SlaRole.FULFILLED"
            )
    table: dict[tuple[str, str], str] = {}
    for row in transitions:
        for end in (row.source, row.target):
            if end not in by_name:
                problems.append(
                    f"transition {row.source!r} --{row.action}--> {row.target!r} names "
                    f"unknown status {end!r}; known: {known}"
                )
        if not row.action:
            problems.append(f"a transition from {row.source!r} has an empty action name")
        key = (row.source, row.action)
        if key in table and table[key] != row.target:
            problems.append(
                f"action {row.action!r} from {row.source!r} is declared twice, "
                f"to {table[key]!r} and to {row.target!r}"
            )
        table.setdefault(key, row.target)
    if len(initial) == 1:
        successors: dict[str, set[str]] = {name: set() for name in by_name}
        for (source, _), target in table.items():
            if source in by_name and target in by_name:
                successors[source].add(target)
        reachable = _closure([initial[0]], successors)
        for name in by_name:
            if name not in reachable:
                problems.append(
                    f"status {name!r} cannot be reached from the initial status {initial[0]!r}"
                )
        predecessors: dict[str, set[str]] = {name: set() for name in by_name}
        for source, targets in successors.items():
            for target in targets:
                predecessors[target].add(source)
        can_finish = _closure(sorted(closed), predecessors)
        for name in by_name:
            if name not in can_finish:
                problems.append(
                    f"status {name!r} has no path to a closed status "
                    f"({', '.join(sorted(closed)) or 'none declared'})"
                )
    if problems:
        raise WorkflowError.from_problems(problems)
    return by_name, table


def _closure(start: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    queue = deque(seen)
    while queue:
        for following in graph[queue.popleft()]:
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


def _not_before(issue: Issue, at: datetime) -> datetime:
    # Two machines' clocks can disagree by a little; history must stay ordered.
    return at if at >= issue.updated_at else issue.updated_at


def _describe(span: timedelta) -> str:
    if span % timedelta(days=1) == timedelta(0):
        days = span // timedelta(days=1)
        return f"{days} day" if days == 1 else f"{days} days"
    if span % timedelta(hours=1) == timedelta(0):
        hours = span // timedelta(hours=1)
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return str(span)


DEFAULT_STATUSES: Final = (
    StatusSpec(name=Status.OPEN, sla=SlaRole.RUNNING, initial=True),
    StatusSpec(name=Status.WAITING_FOR_REPLY, sla=SlaRole.PAUSED),
    StatusSpec(name=Status.ON_HOLD, sla=SlaRole.PAUSED),
    StatusSpec(name=Status.RESOLVED, sla=SlaRole.FULFILLED),
    StatusSpec(name=Status.CLOSED, sla=SlaRole.FULFILLED, closed=True),
)

_OPEN, _WAITING, _HOLD, _RESOLVED, _CLOSED = (
    Status.OPEN,
    Status.WAITING_FOR_REPLY,
    Status.ON_HOLD,
    Status.RESOLVED,
    Status.CLOSED,
)

# The default table of lifecycle.md, declared once.
DEFAULT_TABLE: Final[Mapping[tuple[str, str], str]] = {
    (_OPEN, Action.CUSTOMER_MESSAGE): _OPEN,
    (_WAITING, Action.CUSTOMER_MESSAGE): _OPEN,
    (_HOLD, Action.CUSTOMER_MESSAGE): _OPEN,
    (_RESOLVED, Action.CUSTOMER_MESSAGE): _OPEN,
    (_CLOSED, Action.CUSTOMER_MESSAGE): _OPEN,
    (_OPEN, Action.AGENT_REPLY): _WAITING,
    (_WAITING, Action.AGENT_REPLY): _WAITING,
    (_HOLD, Action.AGENT_REPLY): _WAITING,
    (_RESOLVED, Action.AGENT_REPLY): _RESOLVED,
    (_CLOSED, Action.AGENT_REPLY): _CLOSED,
    (_OPEN, Action.HOLD): _HOLD,
    (_WAITING, Action.HOLD): _HOLD,
    (_OPEN, Action.RESOLVE): _RESOLVED,
    (_WAITING, Action.RESOLVE): _RESOLVED,
    (_HOLD, Action.RESOLVE): _RESOLVED,
    (_OPEN, Action.CLOSE): _CLOSED,
    (_WAITING, Action.CLOSE): _CLOSED,
    (_HOLD, Action.CLOSE): _CLOSED,
    (_RESOLVED, Action.CLOSE): _CLOSED,
    (_WAITING, Action.AUTO_CLOSE): _CLOSED,
    (_RESOLVED, Action.REOPEN): _OPEN,
    (_CLOSED, Action.REOPEN): _OPEN,
    (_WAITING, Action.RESUME): _OPEN,
    (_HOLD, Action.RESUME): _OPEN,
}


def format_issue_number(year: int, sequence: int, *, prefix: str = "ISS") -> str:
    """Return the number ``ISS-{year}-{sequence:05d}`` (ERPNext's naming series)."""
    if sequence < 1:
        raise ValueError(f"an issue sequence starts at 1, got {sequence}")
    return f"{prefix}-{year}-{sequence:05d}"


def open_issue(
    *,
    number: str,
    subject: str,
    raised_by: str,
    at: datetime,
    actor: Actor | None = None,
    priority: str | None = None,
    participants: Iterable[str] = (),
    follows_up: str | None = None,
    workflow: Workflow | None = None,
    issue_type: str | None = None,
    references: Mapping[str, str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Change:
    """Return a new issue in the workflow's initial status and its :class:`IssueOpened` event."""
    require_aware("at", at)
    flow = workflow or DEFAULT_WORKFLOW
    actor = actor or Actor.customer(raised_by)
    initial = flow.initial
    entry = HistoryEntry(
        at=at,
        actor=actor,
        action="open",
        from_status=initial,
        to_status=initial,
        reason=follows_up and f"follows up {follows_up}",
    )
    others = unique_addresses(participants, exclude=(raised_by,))
    issue = Issue(
        number=number,
        subject=subject,
        raised_by=raised_by,
        status=initial,
        created_at=at,
        updated_at=at,
        status_since=at,
        priority=priority,
        participants=others,
        follows_up=follows_up,
        issue_type=issue_type,
        references=references,
        fields=fields,
        history=(entry,),
    )
    event = IssueOpened(number=number, at=at, actor=actor, subject=subject, raised_by=raised_by)
    return Change(issue=issue, events=(event,))


def _record(
    issue: Issue, *, at: datetime, actor: Actor, action: str, detail: str | None, **changes: Any
) -> tuple[Issue, datetime]:
    require_aware("at", at)
    at = _not_before(issue, at)
    entry = HistoryEntry(
        at=at,
        actor=actor,
        action=action,
        from_status=issue.status,
        to_status=issue.status,
        detail=detail,
    )
    new_issue = evolve(issue, updated_at=at, history=(*issue.history, entry), **changes)
    return new_issue, at


def add_note(issue: Issue, *, at: datetime, actor: Actor) -> Change:
    """Record that an internal note was added; the status and auto-close clock stay."""
    new_issue, at = _record(issue, at=at, actor=actor, action="note", detail=None)
    return Change(issue=new_issue, events=(NoteAdded(number=issue.number, at=at, actor=actor),))


def assign(issue: Issue, user: str, *, at: datetime, actor: Actor) -> Change:
    """Add ``user`` to the assignees; assigning someone already assigned changes nothing."""
    require_aware("at", at)
    if user in issue.assignees:
        return Change(issue=issue)
    new_issue, at = _record(
        issue, at=at, actor=actor, action="assign", detail=user, assignees=(*issue.assignees, user)
    )
    return Change(
        issue=new_issue, events=(Assigned(number=issue.number, at=at, actor=actor, user=user),)
    )


def unassign(issue: Issue, user: str, *, at: datetime, actor: Actor) -> Change:
    """Take ``user`` off the issue; unassigning someone not assigned changes nothing."""
    require_aware("at", at)
    if user not in issue.assignees:
        return Change(issue=issue)
    remaining = tuple(name for name in issue.assignees if name != user)
    new_issue, at = _record(
        issue, at=at, actor=actor, action="unassign", detail=user, assignees=remaining
    )
    return Change(
        issue=new_issue, events=(Unassigned(number=issue.number, at=at, actor=actor, user=user),)
    )


def add_participant(issue: Issue, address: str, *, at: datetime, actor: Actor) -> Change:
    """Add ``address`` to the participants; adding a known participant changes nothing."""
    require_aware("at", at)
    if issue.is_participant(address):
        return Change(issue=issue)
    new_issue, at = _record(
        issue,
        at=at,
        actor=actor,
        action="add_participant",
        detail=address,
        participants=(*issue.participants, address),
    )
    return Change(
        issue=new_issue,
        events=(ParticipantAdded(number=issue.number, at=at, actor=actor, address=address),),
    )


def set_priority(issue: Issue, priority: str, *, at: datetime, actor: Actor) -> Change:
    """Change the priority; setting the same priority again changes nothing."""
    require_aware("at", at)
    if priority == issue.priority:
        return Change(issue=issue)
    new_issue, at = _record(
        issue,
        at=at,
        actor=actor,
        action="set_priority",
        detail=f"{issue.priority} -> {priority}",
        priority=priority,
    )
    event = PriorityChanged(
        number=issue.number, at=at, actor=actor, old=issue.priority, new=priority
    )
    return Change(issue=new_issue, events=(event,))


def set_details(
    issue: Issue,
    *,
    at: datetime,
    actor: Actor,
    issue_type: str | None,
    references: Mapping[str, str],
    fields: Mapping[str, Any],
) -> Change:
    """Set the issue's type, references and custom fields; the same values change nothing.

    The history entry's ``detail`` names what changed (the values stay on the issue).
    """
    require_aware("at", at)
    changed = [
        name
        for name, old, new in (
            ("issue_type", issue.issue_type, issue_type),
            ("references", issue.references, references),
            ("fields", issue.fields, fields),
        )
        if not _same_details(old, new)
    ]
    if not changed:
        return Change(issue=issue)
    new_issue, at = _record(
        issue,
        at=at,
        actor=actor,
        action="set_details",
        detail=", ".join(changed),
        issue_type=issue_type,
        references=references,
        fields=fields,
    )
    event = DetailsChanged(
        number=issue.number,
        at=at,
        actor=actor,
        issue_type=issue_type,
        references=references,
        fields=fields,
    )
    return Change(issue=new_issue, events=(event,))


def _same_details(old: Any, new: Any) -> bool:
    # True == 1 in Python: a field changed from True to 1 is still a change.
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_same_details(old[k], new[k]) for k in old)
    return bool(old == new) and type(old) is type(new)


def auto_close_due_at(
    issue: Issue,
    *,
    workflow: Workflow | None = None,
    after: timedelta | None = DEFAULT_AUTO_CLOSE_AFTER,
) -> datetime | None:
    """Return the instant ``issue`` becomes due for auto-close, or ``None`` if it never will.

    The silence is counted from the last agent reply, or from when the issue
    entered its current status if that is later (so a resolved issue gets the
    full grace period). Notes, assignments and other changes do not restart it.
    """
    flow = workflow or DEFAULT_WORKFLOW
    if after is None or flow.target(issue.status, Action.AUTO_CLOSE) is None:
        return None
    since = issue.status_since
    if issue.last_agent_reply_at is not None and issue.last_agent_reply_at > since:
        since = issue.last_agent_reply_at
    return since + after


DEFAULT_WORKFLOW: Final = Workflow.default()
