"""One issue's page, its actions as POST forms, and its attachments as downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from issuecore import Action, AgreementStatus, Attachment, EntryKind, Issue
from issuecore.charts import timeline_svg
from issuecore.errors import IssueCoreError
from issuecore.web._console import (
    Console,
    Handler,
    back_to,
    form_of,
    page,
    refusal,
    text_of,
)
from issuecore.web._present import safe_filename, safe_media_type, sla_view

# Actions with a form of their own (reply) or that only the desk takes (customer mail, auto-close).
NOT_BUTTONS: Final = frozenset({Action.AGENT_REPLY, Action.CUSTOMER_MESSAGE, Action.AUTO_CLOSE})


REPLY_FILES_BYTES: Final = 10_000_000
"""The most a reply's attachments may hold together."""


def uploaded(form: FormData) -> list[Attachment]:
    """Return the files of ``form`` as attachments; refuse more than ``REPLY_FILES_BYTES``."""
    files = []
    total = 0
    for _, value in form.multi_items():
        if not isinstance(value, UploadFile) or not value.filename:
            continue
        data = value.file.read(REPLY_FILES_BYTES + 1)
        total += len(data)
        if total > REPLY_FILES_BYTES:
            raise ValueError(f"the attachments exceed {REPLY_FILES_BYTES:,} bytes")
        files.append(
            Attachment(
                filename=value.filename,
                content_type=safe_media_type(value.content_type or ""),
                data=data,
            )
        )
    return files


def issue_routes(console: Console) -> list[Route]:
    """Return the routes of the issue page, its actions and its attachments."""
    desk = console.desk

    def load(number: str) -> tuple[Issue, list[Any]]:
        return desk.get(number), desk.thread(number)

    async def issue_page(request: Request, user: str) -> Response:
        number = request.path_params["number"]
        try:
            issue, thread = await run_in_threadpool(load, number)
        except (LookupError, IssueCoreError) as error:  # unknown, or no number a store can hold
            return console.render(
                request, "error.html", {"user": user, "message": refusal(error)}, status=404
            )
        now = console.now()
        agreement = console.agreements.get(issue.sla.agreement) if issue.sla else None
        actions = [a for a in desk.workflow.allowed(issue.status) if a not in NOT_BUTTONS]
        context = {
            "user": user,
            "issue": issue,
            "thread": list(enumerate(thread)),
            "sla": sla_view(issue, console.agreements, now),
            "actions": actions,
            "can_reply": desk.workflow.target(issue.status, Action.AGENT_REPLY) is not None,
            "priorities": list(agreement.targets) if agreement is not None else [],
            "kinds": EntryKind,
            "now": now,
            "failed": AgreementStatus.FAILED,
        }
        return console.render(request, "issue.html", context)

    def operation(run: Callable[[str, FormData, str], Issue | None], *, success: str) -> Handler:
        async def handler(request: Request, user: str) -> Response:
            number = request.path_params["number"]
            form = await form_of(request)
            try:
                await run_in_threadpool(run, number, form, user)
            except (IssueCoreError, LookupError, ValueError) as error:
                return back_to(request, number, f"Refused: {refusal(error)}")
            return back_to(request, number, success)

        return handler

    def required(form: FormData, name: str, what: str) -> str:
        value = text_of(form, name)
        if not value:
            raise ValueError(f"{what} is empty")
        return value

    def do_reply(number: str, form: FormData, user: str) -> Issue:
        body = required(form, "body", "the reply")
        return desk.reply(number, body=body, author=user, attachments=uploaded(form))

    def do_note(number: str, form: FormData, user: str) -> Issue:
        return desk.add_note(number, body=required(form, "body", "the note"), author=user)

    def do_assign(number: str, form: FormData, user: str) -> Issue:
        return desk.assign(number, required(form, "assignee", "the assignee"), by=user)

    def do_unassign(number: str, form: FormData, user: str) -> Issue:
        return desk.unassign(number, required(form, "assignee", "the assignee"), by=user)

    def do_priority(number: str, form: FormData, user: str) -> Issue:
        return desk.set_priority(number, required(form, "priority", "the priority"), by=user)

    def do_reset(number: str, form: FormData, user: str) -> Issue:
        return desk.reset_sla(number, reason=required(form, "reason", "the reason"), by=user)

    def do_act(number: str, form: FormData, user: str) -> Issue:
        action = required(form, "action", "the action")
        issue = desk.get(number)
        allowed = [a for a in desk.workflow.allowed(issue.status) if a not in NOT_BUTTONS]
        if action not in allowed:
            raise ValueError(
                f"can't {action} when in {issue.status}; allowed: {', '.join(allowed) or 'none'}"
            )
        return desk.act(number, action, by=user, reason=text_of(form, "reason") or None)

    async def attachment(request: Request, user: str) -> Response:
        number = request.path_params["number"]
        entry_index, index = request.path_params["entry"], request.path_params["index"]
        try:
            thread = await run_in_threadpool(desk.thread, number)
            file = thread[entry_index].attachments[index]
        except (LookupError, IssueCoreError):
            return PlainTextResponse("no such attachment", 404)
        name = safe_filename(file.filename)
        return Response(
            file.data,
            media_type=safe_media_type(file.content_type),
            headers={
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
                + quote(name),
                "X-Content-Type-Options": "nosniff",
            },
        )

    issue_path = "/issues/{number}"
    operations = {
        "reply": operation(do_reply, success="Reply sent."),
        "note": operation(do_note, success="Note added."),
        "assign": operation(do_assign, success="Assigned."),
        "unassign": operation(do_unassign, success="Unassigned."),
        "priority": operation(do_priority, success="Priority changed."),
        "reset-sla": operation(do_reset, success="SLA clock restarted."),
        "act": operation(do_act, success="Done."),
    }

    async def timeline(request: Request, user: str) -> Response:
        number = request.path_params["number"]
        try:
            issue = await run_in_threadpool(desk.get, number)
        except (LookupError, IssueCoreError):
            return PlainTextResponse("no such issue", 404)
        if issue.sla is None:
            return PlainTextResponse(f"{number} has no SLA", 404)
        agreement = console.agreements.get(issue.sla.agreement)
        picture = timeline_svg(issue, agreement, now=console.now(), zone=console.zone_name)
        return Response(picture, media_type="image/svg+xml")

    return [
        Route(issue_path, page(console, issue_page)),
        Route(issue_path + "/timeline.svg", page(console, timeline)),
        *(
            Route(f"{issue_path}/{name}", page(console, handler), methods=["POST"])
            for name, handler in operations.items()
        ),
        Route(
            issue_path + "/entries/{entry:int}/attachments/{index:int}",
            page(console, attachment),
        ),
    ]
