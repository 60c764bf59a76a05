"""Agent commands and issues from other channels: reply, note, act, assign, prioritise."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from issuecore import _arguments as check
from issuecore._desk_core import _AfterCommit, _AutoReplyCounter, _DeskCore, _reply_threading
from issuecore._model import Action, Actor, Attachment, EntryKind, Issue, ReplySent, ThreadEntry
from issuecore._sla.tracking import change_priority, follow, reselect, reset_sla
from issuecore._workflow import Change, add_note, assign, set_details, unassign
from issuecore.errors import InvalidArgumentError
from issuecore.mail._compose import (
    compose_acknowledgement,
    compose_agent_reply,
    reserve_auto_reply,
)
from issuecore.ports import UnitOfWork


class Keep(enum.Enum):
    """The default of :meth:`HelpDesk.set_details` arguments: leave the value as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class _AgentCommands(_DeskCore):
    """The operations agents and other channels call on an issue."""

    # --- issues from other channels --------------------------------------------------

    def open_issue(
        self,
        *,
        subject: str,
        raised_by: str,
        body: str,
        priority: str | None = None,
        participants: Sequence[str] = (),
        issue_type: str | None = None,
        references: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
        acknowledge: bool = False,
    ) -> Issue:
        """Open an issue from a web form or an API call.

        Raises :class:`~issuecore.errors.InvalidArgumentError` for a blank or
        multi-line subject, a ``raised_by`` that is not one address, a blank
        body, or a priority no agreement names, before a number is spent.
        ``issue_type``, ``references`` and ``fields`` are kept on the issue
        and may choose its agreement and, through
        ``DeskSettings.type_priorities``, its default priority. With
        ``acknowledge=True`` the raiser gets the acknowledgement mail intake
        sends (the issue number, ``auto_reply_template``), within the same
        rate limit; by default nothing is mailed.
        """
        subject = check.subject(subject)
        raised_by = check.address(raised_by, "raised_by")
        body = check.body(body)
        if priority is not None:
            priority = check.priority(priority, self.priorities, agreements=self._by_name)
        participants = check.addresses(participants, "participants")
        issue_type = check.optional_name(issue_type, "issue_type")
        references = check.references(references)
        fields = check.fields(fields)
        if not isinstance(acknowledge, bool):
            raise InvalidArgumentError.for_argument(
                "acknowledge", acknowledge, f"it is of type {type(acknowledge).__name__}", "a bool"
            )

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            change = self._new_issue(
                work,
                now,
                subject=subject,
                raised_by=raised_by,
                priority=priority,
                participants=participants,
                follows_up=None,
                issue_type=issue_type,
                references=references,
                fields=fields,
            )
            stored = self._save_new(work, change.issue, after, change.events)
            work.append_entry(
                stored.number,
                ThreadEntry(kind=EntryKind.CUSTOMER_MESSAGE, author=raised_by, text=body, at=now),
            )
            if acknowledge:
                self._acknowledge(work, now, after, stored)
            return stored

        return self._run(operation)

    def _acknowledge(
        self, work: UnitOfWork, now: datetime, after: _AfterCommit, issue: Issue
    ) -> None:
        message = compose_acknowledgement(issue, settings=self.mail, now=now)
        if message is None:
            return
        counter = _AutoReplyCounter(work)
        if reserve_auto_reply(counter, issue.raised_by, now=now, settings=self.mail):
            self._queue(work, after, message, number=issue.number, now=now)

    # --- agent operations -------------------------------------------------------------

    def reply(
        self,
        number: str,
        *,
        body: str,
        author: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Issue:
        """Send an agent reply: mail to the raiser and participants, thread entry, status.

        ``html`` adds an HTML alternative to the text ``body``; ``attachments``
        (:class:`~issuecore.Attachment` values) go with the mail and
        stay on the thread entry.
        """
        number = check.name(number, "number")
        body = check.body(body)
        author = check.name(author, "author")
        if html is not None:
            html = check.body(html, "html", what="an HTML document")
        attachments = check.attachments(attachments)

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            in_reply_to, references = _reply_threading(work.thread(number))
            message = compose_agent_reply(
                issue,
                body=body,
                settings=self.mail,
                now=now,
                in_reply_to=in_reply_to,
                references=references,
                html=html,
                attachments=attachments,
            )
            change = self.workflow.apply(
                issue, Action.AGENT_REPLY, at=now, actor=Actor.agent(author)
            )
            change = follow(
                change, self._agreement(issue), action=Action.AGENT_REPLY, workflow=self.workflow
            )
            message_id = str(message["Message-ID"])
            events = (
                *change.events,
                ReplySent(
                    number=number,
                    at=now,
                    actor=Actor.agent(author),
                    message_id=message_id,
                    author=author,
                ),
            )
            stored = self._save(work, change.issue, after, events)
            work.append_entry(
                number,
                ThreadEntry(
                    kind=EntryKind.AGENT_REPLY,
                    author=author,
                    text=body,
                    html=html,
                    attachments=attachments,
                    subject=str(message["Subject"]),
                    message_id=message_id,
                    at=now,
                ),
            )
            self._queue(work, after, message, number=number, now=now)
            return stored

        return self._run(operation)

    def add_note(self, number: str, *, body: str, author: str) -> Issue:
        """Add an internal note; nothing is mailed and the status stays."""
        number = check.name(number, "number")
        body = check.body(body)
        author = check.name(author, "author")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = add_note(issue, at=now, actor=Actor.agent(author))
            stored = self._save(work, change.issue, after, change.events)
            work.append_entry(
                number, ThreadEntry(kind=EntryKind.INTERNAL_NOTE, author=author, text=body, at=now)
            )
            return stored

        return self._run(operation)

    def hold(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Put the issue on hold (waiting on a third party); the SLA clock pauses."""
        return self._act(number, Action.HOLD, by=by, reason=reason)

    def resume(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Take the issue off hold or out of Waiting for Reply; the SLA clock runs again now."""
        return self._act(number, Action.RESUME, by=by, reason=reason)

    def resolve(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Mark the issue resolved; resolution is judged against its deadline."""
        return self._act(number, Action.RESOLVE, by=by, reason=reason)

    def close(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Close the issue and its open to-dos."""
        return self._act(number, Action.CLOSE, by=by, reason=reason)

    def reopen(self, number: str, *, by: str, reason: str | None = None) -> Issue:
        """Reopen a resolved or closed issue; its SLA clock resumes from the time consumed."""
        return self._act(number, Action.REOPEN, by=by, reason=reason)

    def act(self, number: str, action: str, *, by: str, reason: str | None = None) -> Issue:
        """Apply any action of the workflow (for custom workflows' own actions)."""
        return self._act(number, action, by=by, reason=reason)

    def _act(self, number: str, action: str, *, by: str, reason: str | None) -> Issue:
        number = check.name(number, "number")
        action = check.name(action, "action")
        by = check.name(by, "by")
        reason = check.optional_text(reason, "reason")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            actor = Actor.agent(by)
            change = self.workflow.apply(issue, action, at=now, actor=actor, reason=reason)
            change = follow(change, self._agreement(issue), action=action, workflow=self.workflow)
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def assign(self, number: str, user: str, *, by: str) -> Issue:
        """Assign ``user``: a to-do for them and a notification; assigning twice does nothing."""
        number = check.name(number, "number")
        user = check.name(user, "user")
        by = check.name(by, "by")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = assign(issue, user, at=now, actor=Actor.agent(by))
            if not change.events:
                return issue
            after.todos_opened.append((number, user, f"{number}: {issue.subject}"))
            after.notices.append((user, f"Issue {number} was assigned to you: {issue.subject}"))
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def unassign(self, number: str, user: str, *, by: str) -> Issue:
        """Take ``user`` off the issue and close their to-do."""
        number = check.name(number, "number")
        user = check.name(user, "user")
        by = check.name(by, "by")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = unassign(issue, user, at=now, actor=Actor.agent(by))
            if not change.events:
                return issue
            after.todos_closed.append((number, user))
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def set_priority(self, number: str, priority: str, *, by: str) -> Issue:
        """Change the priority; the SLA targets and deadlines follow at once."""
        number = check.name(number, "number")
        priority = check.priority(priority, self.priorities, agreements=self._by_name)
        by = check.name(by, "by")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = change_priority(
                issue, priority, self._agreement(issue), at=now, actor=Actor.agent(by)
            )
            if not change.events:
                return issue
            change = reselect(change, self.agreements, workflow=self.workflow)
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def set_details(
        self,
        number: str,
        *,
        by: str,
        issue_type: str | Keep | None = KEEP,
        references: Mapping[str, str] | Keep = KEEP,
        fields: Mapping[str, Any] | Keep = KEEP,
    ) -> Issue:
        """Set the issue's type, references to other records and custom fields.

        What is not given stays; ``issue_type=None`` clears the type, and
        ``references``/``fields`` replace the whole mapping. The change is
        kept in history with a :class:`~issuecore.DetailsChanged`
        event. A new type with a priority in ``DeskSettings.type_priorities``
        sets that priority; then the agreement is chosen again and, if
        another one now covers the issue, the issue switches to it
        (:class:`~issuecore.AgreementChanged`), keeping the business
        time consumed.
        """
        number = check.name(number, "number")
        by = check.name(by, "by")
        new_type = None if issue_type is KEEP else check.optional_name(issue_type, "issue_type")
        new_references = None if references is KEEP else check.references(references)
        new_fields = None if fields is KEEP else check.fields(fields)

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            actor = Actor.agent(by)
            change = set_details(
                issue,
                at=now,
                actor=actor,
                issue_type=issue.issue_type if issue_type is KEEP else new_type,
                references=issue.references if new_references is None else new_references,
                fields=issue.fields if new_fields is None else new_fields,
            )
            if not change.events:
                return issue
            events = change.events
            typed = self.settings.type_priorities.get(change.issue.issue_type or "")
            if issue_type is not KEEP and typed is not None and typed != issue.priority:
                moved = change_priority(
                    change.issue, typed, self._agreement(issue), at=now, actor=actor
                )
                change, events = moved, (*events, *moved.events)
            change = reselect(
                Change(issue=change.issue, events=events), self.agreements, workflow=self.workflow
            )
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)

    def reset_sla(self, number: str, *, reason: str, by: str) -> Issue:
        """Restart the SLA clock now with nothing consumed; records who and why."""
        number = check.name(number, "number")
        reason = check.body(reason, "reason", what="a reason (resetting an SLA needs a reason)")
        by = check.name(by, "by")

        def operation(work: UnitOfWork, now: datetime, after: _AfterCommit) -> Issue:
            issue = work.get_issue(number, for_update=True)
            change = reset_sla(
                issue,
                self._agreement(issue),
                at=now,
                actor=Actor.agent(by),
                reason=reason,
                workflow=self.workflow,
            )
            return self._save(work, change.issue, after, change.events)

        return self._run(operation)
