"""The agent console: an ASGI application on a :class:`~issuecore.desk.HelpDesk`.

Every page reads the desk through its public calls (``find_page``, ``get``,
``thread``, ``report``, ``dead_letters``); every change is a POST form with
the session's CSRF token, calling one desk operation. Pages are rendered by
Jinja2 with autoescaping on, so mail content is always shown as text.
"""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from issuecore.charts import report_svg
from issuecore.config import format_duration
from issuecore.desk import HelpDesk
from issuecore.errors import IssueCoreError
from issuecore.mail.addresses import address_key
from issuecore.model import Action, EntryKind, Issue
from issuecore.ports import OutboxItem
from issuecore.queries import IssueQuery, IssueSort, SlaFilter
from issuecore.reports import DIMENSIONS, ReportPeriod
from issuecore.sla.clock import AgreementStatus, SlaRole
from issuecore.web._present import safe_filename, safe_media_type, sla_view
from issuecore.web._security import (
    CSRF_FIELD,
    SECURITY_HEADERS,
    SecurityHeaders,
    SlidingLimiter,
    client_address,
    csrf_token,
    csrf_valid,
    current_user,
    sign_in,
)
from issuecore.web.accounts import AccountFile
from issuecore.web.contact import MAX_FILES, ContactRefusedError, contact_message
from issuecore.web.settings import WebSettings

__all__ = ["create_app"]

PAGE_SIZE: Final = 25
COUNT_CAP: Final = 100
OUTBOX_ROWS: Final = 100
MAX_FORM_BYTES: Final = 64_000
SIGN_IN_FAILURES: Final = 5
SIGN_IN_WINDOW: Final = timedelta(minutes=15)
TOO_MANY_FAILURES: Final = "Too many failed sign-ins; try again in 15 minutes."
LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1", "[::1]", "::1")
_HERE = Path(__file__).parent
# Actions with a page of their own (reply) or that only the desk takes (customer mail, auto-close).
_NOT_BUTTONS: Final = frozenset({Action.AGENT_REPLY, Action.CUSTOMER_MESSAGE, Action.AUTO_CLOSE})

Handler = Callable[[Request, str], Awaitable[Response]]


class Console:
    """The console's state: the desk, its settings, the accounts and the templates."""

    def __init__(
        self,
        desk: HelpDesk,
        settings: WebSettings,
        *,
        zone: str = "UTC",
        seconds: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.seconds = seconds
        self.settings = settings
        self.zone = zoneinfo.ZoneInfo(zone)
        self.zone_name = zone
        self.accounts = AccountFile(settings.accounts) if settings.accounts is not None else None
        self.agreements = {agreement.name: agreement for agreement in desk.agreements}
        agents = sorted(desk.settings.agents)
        self.open_as = agents[0] if agents else "agent@localhost"
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        environment.filters["stamp"] = self.stamp
        environment.filters["duration"] = lambda delta: (
            "-" if delta is None else format_duration(delta, days=False)
        )
        self.templates = Jinja2Templates(env=environment)

    def stamp(self, at: datetime | None) -> str:
        """Return ``at`` in the console's zone, to the minute."""
        return "-" if at is None else at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def now(self) -> datetime:
        return self.desk.clock.now()

    def render(
        self, request: Request, name: str, context: Mapping[str, Any], *, status: int = 200
    ) -> Response:
        """Return the page ``name`` with the values every page uses added to ``context``."""
        flash = request.session.pop("flash", None)
        values = {
            "base": request.scope.get("root_path", ""),
            "csrf": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "user": context.get("user"),
            "flash": flash if isinstance(flash, str) else None,
            "zone": self.zone_name,
            "authenticated": self.settings.authenticated,
            **context,
        }
        return self.templates.TemplateResponse(request, name, values, status_code=status)

    def user(self, request: Request) -> str | None:
        return current_user(request, self.settings, self.open_as, seconds=self.seconds)


def _page(console: Console, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler``: sign-in required; a POST also needs the session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        user = console.user(request)
        if request.method == "POST":
            form = await _form(request)
            try:
                if not csrf_valid(request, form.get(CSRF_FIELD)):
                    return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
                if user is not None:
                    return await handler(request, user)
            finally:
                await form.close()
        if user is None:
            base = request.scope.get("root_path", "")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{base}/signin?{urlencode({'next': target})}", 303)
        return await handler(request, user)

    return endpoint


async def _form(request: Request) -> FormData:
    return await request.form(max_files=10, max_fields=50, max_part_size=MAX_FORM_BYTES)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _back(request: Request, number: str, message: str | None = None) -> Response:
    if message:
        request.session["flash"] = message
    base = request.scope.get("root_path", "")
    return RedirectResponse(f"{base}/issues/{quote(number, safe='')}", 303)


def _refusal(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


def create_app(
    desk: HelpDesk,
    settings: WebSettings,
    *,
    zone: str = "UTC",
    seconds: Callable[[], float] = time.time,
) -> Starlette:
    """Return the console's ASGI application serving ``desk``; times are shown in ``zone``.

    ``seconds`` is the wall clock sessions are aged by (inject one in tests).
    Without authentication configured the console acts as the desk's first
    agent and answers only requests addressed to a loopback host name.
    """
    console = Console(desk, settings, zone=zone, seconds=seconds)

    # --- signing in ------------------------------------------------------------------

    failures = SlidingLimiter(SIGN_IN_FAILURES, SIGN_IN_WINDOW, console.now)

    async def signin_form(request: Request) -> Response:
        if console.user(request) is not None:
            return RedirectResponse(f"{request.scope.get('root_path', '')}/issues", 303)
        return console.render(
            request, "signin.html", {"next": request.query_params.get("next", ""), "error": None}
        )

    async def signin(request: Request) -> Response:
        form = await _form(request)
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
        address, password = _text(form, "address"), form.get("password")
        target = _text(form, "next")
        # Counted per address only: behind a reverse proxy every client has the proxy's
        # address, and one stranger's guesses must not lock every agent out.
        keys = (f"address:{address.lower()}",)
        if failures.full(*keys):
            context = {"next": target, "error": TOO_MANY_FAILURES}
            return console.render(request, "signin.html", context, status=429)
        user = None
        if console.accounts is not None and isinstance(password, str) and address:
            user = await run_in_threadpool(console.accounts.verify, address, password)
        if user is None:
            failures.record(*keys)
            context = {"next": target, "error": "That address and password do not match."}
            return console.render(request, "signin.html", context, status=401)
        sign_in(request, user, seconds=console.seconds)
        base = request.scope.get("root_path", "")
        safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
        return RedirectResponse(target if safe else f"{base}/issues", 303)

    async def signout(request: Request) -> Response:
        form = await _form(request)
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
        request.session.clear()
        return RedirectResponse(f"{request.scope.get('root_path', '')}/signin", 303)

    # --- the inbox -------------------------------------------------------------------

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/issues", 303)

    def open_statuses() -> tuple[str, ...]:
        workflow = desk.workflow
        return tuple(
            spec.name
            for spec in workflow.statuses
            if not spec.closed and workflow.sla_role(spec.name) is not SlaRole.FULFILLED
        )

    def count(status: str) -> str:
        found = len(desk.find_page(statuses=(status,), limit=COUNT_CAP + 1))
        return f"{COUNT_CAP}+" if found > COUNT_CAP else str(found)

    async def inbox(request: Request, user: str) -> Response:
        params = request.query_params
        statuses = tuple(s for s in params.getlist("status") if s) or open_statuses()
        priorities_chosen = tuple(p for p in params.getlist("priority") if p)
        sla_chosen = tuple(s for s in params.getlist("sla") if s)
        assignee = params.get("assignee", "").strip()
        text = params.get("q", "").strip()
        chosen: dict[str, Any] = {
            "status": statuses,
            "priority": priorities_chosen,
            "sla": sla_chosen,
            "assignee": assignee,
            "q": text,
        }
        error = None
        issues: Sequence[Issue] = ()
        next_cursor = None
        try:
            query = IssueQuery(
                statuses=statuses,
                priorities=priorities_chosen,
                sla=sla_chosen,
                assignee=assignee or None,
                text=text or None,
                sort=IssueSort.DEADLINE,
                limit=PAGE_SIZE,
                after=params.get("after") or None,
            )
            page = await run_in_threadpool(desk.find_page, query)
            issues, next_cursor = page.issues, page.next_cursor
        except (ValueError, IssueCoreError) as problem:
            error = str(problem)
        counts = await run_in_threadpool(
            lambda: {spec.name: count(spec.name) for spec in desk.workflow.statuses}
        )
        now = console.now()
        rows = [(issue, sla_view(issue, console.agreements, now)) for issue in issues]
        keep = [
            *(("status", s) for s in statuses),
            *(("priority", p) for p in priorities_chosen),
            *(("sla", s) for s in sla_chosen),
        ]
        if assignee:
            keep.append(("assignee", assignee))
        if text:
            keep.append(("q", text))
        next_link = None
        if next_cursor is not None:
            next_link = "?" + urlencode([*keep, ("after", next_cursor)])
        priorities = sorted({p for a in desk.agreements for p in a.targets})
        context = {
            "user": user,
            "rows": rows,
            "error": error,
            "counts": counts,
            "chosen": chosen,
            "statuses": [spec.name for spec in desk.workflow.statuses],
            "priorities": priorities,
            "sla_filters": sorted({member.value for member in SlaFilter}),
            "next_link": next_link,
            "first_link": "?" + urlencode(keep) if params.get("after") else None,
        }
        return console.render(request, "inbox.html", context, status=400 if error else 200)

    # --- one issue -------------------------------------------------------------------

    def load(number: str) -> tuple[Issue, list[Any]]:
        return desk.get(number), desk.thread(number)

    async def issue_page(request: Request, user: str) -> Response:
        number = request.path_params["number"]
        try:
            issue, thread = await run_in_threadpool(load, number)
        except (LookupError, IssueCoreError) as error:  # unknown, or no number a store can hold
            return console.render(
                request, "error.html", {"user": user, "message": _refusal(error)}, status=404
            )
        now = console.now()
        agreement = console.agreements.get(issue.sla.agreement) if issue.sla else None
        actions = [a for a in desk.workflow.allowed(issue.status) if a not in _NOT_BUTTONS]
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
            form = await _form(request)
            try:
                await run_in_threadpool(run, number, form, user)
            except (IssueCoreError, LookupError, ValueError) as error:
                return _back(request, number, f"Refused: {_refusal(error)}")
            return _back(request, number, success)

        return handler

    def required(form: FormData, name: str, what: str) -> str:
        value = _text(form, name)
        if not value:
            raise ValueError(f"{what} is empty")
        return value

    def do_reply(number: str, form: FormData, user: str) -> Issue:
        return desk.reply(number, body=required(form, "body", "the reply"), author=user)

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
        allowed = [a for a in desk.workflow.allowed(issue.status) if a not in _NOT_BUTTONS]
        if action not in allowed:
            raise ValueError(
                f"can't {action} when in {issue.status}; allowed: {', '.join(allowed) or 'none'}"
            )
        return desk.act(number, action, by=user, reason=_text(form, "reason") or None)

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

    # --- outbox and report -----------------------------------------------------------

    async def outbox(request: Request, user: str) -> Response:
        def read() -> tuple[list[OutboxItem], list[OutboxItem]]:
            with desk.store.transaction(read_only=True) as work:
                waiting = work.outbox.pending(limit=OUTBOX_ROWS)
            return waiting, desk.dead_letters(limit=OUTBOX_ROWS)

        waiting, dead = await run_in_threadpool(read)
        context = {"user": user, "waiting": waiting, "dead": dead, "limit": OUTBOX_ROWS}
        return console.render(request, "outbox.html", context)

    async def retry(request: Request, user: str) -> Response:
        effect_id = request.path_params["effect_id"]
        revived = await run_in_threadpool(desk.retry_dead_letter, effect_id)
        if revived:
            sent, failed = await run_in_threadpool(desk.flush_outbox)
            request.session["flash"] = f"Retried {effect_id}: {sent} delivered, {failed} failed."
        else:
            request.session["flash"] = f"{effect_id} is not a dead letter."
        return RedirectResponse(f"{request.scope.get('root_path', '')}/outbox", 303)

    def report_arguments(request: Request) -> tuple[str, tuple[str, ...]]:
        now = console.now()
        period = request.query_params.get("period", "").strip() or f"{now:%Y-%m}"
        by = tuple(d for d in request.query_params.getlist("by") if d)
        return period, by

    async def report(request: Request, user: str) -> Response:
        period, by = report_arguments(request)
        try:
            figures = await run_in_threadpool(
                lambda: desk.report(ReportPeriod.parse(period), by=by)
            )
        except (ValueError, IssueCoreError) as error:
            problem = {"user": user, "message": str(error)}
            return console.render(request, "error.html", problem, status=400)
        chart_query = urlencode([("period", period), *(("by", d) for d in by)])
        context: dict[str, Any] = {
            "user": user,
            "report": figures,
            "period": period,
            "by": by,
            "dimensions": DIMENSIONS,
            "chart_query": chart_query,
        }
        return console.render(request, "report.html", context)

    async def chart(request: Request, user: str) -> Response:
        period, by = report_arguments(request)
        try:
            figures = await run_in_threadpool(
                lambda: desk.report(ReportPeriod.parse(period), by=by)
            )
        except (ValueError, IssueCoreError) as error:
            return PlainTextResponse(str(error), 400)
        return Response(report_svg(figures), media_type="image/svg+xml")

    # --- the public contact form ----------------------------------------------------

    limiter = SlidingLimiter(settings.contact_limit, settings.contact_window, console.now)

    def contact_page(embedded: bool) -> Callable[[Request], Awaitable[Response]]:
        template = "contact-embed.html" if embedded else "contact.html"

        def framed(response: Response) -> Response:
            if embedded:
                origins = " ".join(settings.contact_frame_ancestors) or "'none'"
                response.headers["Content-Security-Policy"] = SECURITY_HEADERS[
                    "Content-Security-Policy"
                ].replace("frame-ancestors 'none'", f"frame-ancestors {origins}")
            return response

        async def endpoint(request: Request) -> Response:
            if not settings.contact_form:
                return PlainTextResponse("Not Found", 404)
            context: dict[str, Any] = {"user": None, "sent": False, "error": None, "form": {}}
            if request.method == "GET":
                return framed(console.render(request, template, context))
            length = request.headers.get("content-length", "")
            if not length.isdigit() or int(length) > settings.contact_max_bytes + MAX_FORM_BYTES:
                return PlainTextResponse("the message is too large or has no length", 413)
            async with request.form(
                max_files=MAX_FILES + 1, max_fields=20, max_part_size=settings.contact_max_bytes
            ) as form:
                return await submit(request, form, context)

        async def submit(request: Request, form: FormData, context: dict[str, Any]) -> Response:
            if not csrf_valid(request, form.get(CSRF_FIELD)):
                return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
            context["form"] = {k: v for k, v in form.items() if isinstance(v, str)}
            try:
                built = await contact_message(form, desk, max_bytes=settings.contact_max_bytes)
            except ContactRefusedError as refusal:
                context["error"] = str(refusal)
                return framed(console.render(request, template, context, status=400))
            if built is not None:
                message, sender = built
                client = client_address(request)
                if not limiter.allow(f"address:{address_key(sender)}", f"client:{client}"):
                    context["error"] = "Too many messages from you just now; please try later."
                    return framed(console.render(request, template, context, status=429))
                await run_in_threadpool(desk.receive, message.as_bytes())
            context["sent"] = True
            context["form"] = {}
            return framed(console.render(request, template, context))

        return endpoint

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return _page(console, handler)

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
    routes = [
        Route("/", home),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/issues", page(inbox)),
        Route(issue_path, page(issue_page)),
        *(
            Route(f"{issue_path}/{name}", page(handler), methods=["POST"])
            for name, handler in operations.items()
        ),
        Route(
            issue_path + "/entries/{entry:int}/attachments/{index:int}",
            page(attachment),
        ),
        Route("/outbox", page(outbox)),
        Route("/outbox/{effect_id}/retry", page(retry), methods=["POST"]),
        Route("/report", page(report)),
        Route("/report/chart.svg", page(chart)),
        Route("/contact", contact_page(embedded=False), methods=["GET", "POST"]),
        Route("/contact/embed", contact_page(embedded=True), methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key.hex(),
            session_cookie="issuecore_session",
            max_age=int(settings.session_lifetime.total_seconds()),
            same_site="strict",
            https_only=settings.secure_cookies,
        ),
    ]
    if not settings.authenticated:
        # Open on loopback only: refuse other Host names, so no other site can rebind to it.
        middleware.insert(1, Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_HOSTS))
    return Starlette(routes=routes, middleware=middleware)
