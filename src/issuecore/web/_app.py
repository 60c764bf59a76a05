"""The agent console: an ASGI application on a :class:`~issuecore.HelpDesk`.

Every page reads the desk through its public calls (``find_page``, ``get``,
``thread``, ``report``, ``dead_letters``); every change is a POST form with
the session's CSRF token, calling one desk operation. Pages are rendered by
Jinja2 with autoescaping on, so mail content is always shown as text. The
pages live one group to a module: ``_signin``, ``_inbox``, ``_issue``,
``_reports``, ``_quarantine`` and ``_contact_pages``, on what ``_console`` shares.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from issuecore import HelpDesk
from issuecore.web._console import LOOPBACK_HOSTS, Console
from issuecore.web._contact_pages import contact_routes
from issuecore.web._inbox import inbox_routes
from issuecore.web._issue import issue_routes
from issuecore.web._quarantine import quarantine_routes
from issuecore.web._reports import report_routes
from issuecore.web._security import (
    SecurityHeaders,
)
from issuecore.web._settings import WebSettings
from issuecore.web._signin import signin_routes

__all__ = ["create_app"]

_HERE = Path(__file__).parent


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
    routes = [
        *signin_routes(console),
        *inbox_routes(console),
        *issue_routes(console),
        *report_routes(console),
        *quarantine_routes(console),
        *contact_routes(console),
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
