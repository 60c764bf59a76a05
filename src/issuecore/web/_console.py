"""What every page of the console shares: the desk, settings, templates, sign-in and forms."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from issuecore import HelpDesk
from issuecore.config import format_duration
from issuecore.web._accounts import AccountFile
from issuecore.web._security import (
    CSRF_FIELD,
    csrf_token,
    csrf_valid,
    current_user,
)
from issuecore.web._settings import WebSettings

MAX_FORM_BYTES: Final = 64_000
LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1", "[::1]", "::1")
_HERE = Path(__file__).parent

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


def page(console: Console, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler``: sign-in required; a POST also needs the session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        user = console.user(request)
        if request.method == "POST":
            form = await form_of(request)
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


async def form_of(request: Request) -> FormData:
    return await request.form(max_files=10, max_fields=50, max_part_size=MAX_FORM_BYTES)


def text_of(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def back_to(request: Request, number: str, message: str | None = None) -> Response:
    if message:
        request.session["flash"] = message
    base = request.scope.get("root_path", "")
    return RedirectResponse(f"{base}/issues/{quote(number, safe='')}", 303)


def refusal(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)
