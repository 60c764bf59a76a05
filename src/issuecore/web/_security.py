"""Who is signed in, the CSRF token of every form, and the headers every response carries."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuecore.web._settings import WebSettings

CSRF_FIELD: Final = "csrf_token"

SECURITY_HEADERS: Final[Mapping[str, str]] = {
    # No script at all, inline or not; styles and images only from the console itself.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """ASGI middleware: the strict headers on every response, and no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A page that set its own policy (the embeddable contact form) may be framed
                # by the origins it names; every other page by none.
                own_policy = "content-security-policy" in headers
                for name, value in SECURITY_HEADERS.items():
                    if name.lower() not in headers and not (
                        own_policy and name == "X-Frame-Options"
                    ):
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SlidingLimiter:
    """Counts events per key in a sliding window of ``window``; full at ``limit``."""

    def __init__(self, limit: int, window: timedelta, now: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window = window
        self.now = now
        self._seen: dict[str, deque[datetime]] = defaultdict(deque)

    def full(self, *keys: str) -> bool:
        """Return whether any of ``keys`` has had ``limit`` events in the window."""
        now = self.now()
        for key in keys:
            seen = self._seen.get(key)
            if seen is None:
                continue
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if not seen:
                del self._seen[key]
            elif len(seen) >= self.limit:
                return True
        return False

    def record(self, *keys: str) -> None:
        """Count one event for every key."""
        now = self.now()
        for key in keys:
            self._seen[key].append(now)

    def allow(self, *keys: str) -> bool:
        """Count one event for every key and return ``True``, or ``False`` if any is full."""
        if self.full(*keys):
            return False
        self.record(*keys)
        return True


def client_address(request: Request) -> str:
    """Return the address the request came from, as the connection tells it."""
    return request.client.host if request.client is not None else "-"


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: object) -> bool:
    """Return whether ``submitted`` is the session's CSRF token."""
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


def sign_in(request: Request, user: str, *, seconds: Callable[[], float] = time.time) -> None:
    """Start a fresh session for ``user`` (a new CSRF token, the sign-in instant)."""
    request.session.clear()
    request.session["user"] = user
    request.session["since"] = int(seconds())
    csrf_token(request)


def current_user(
    request: Request,
    settings: WebSettings,
    open_as: str,
    *,
    seconds: Callable[[], float] = time.time,
) -> str | None:
    """Return the signed-in agent, the proxy's authenticated user, or ``open_as`` without auth.

    A session older than ``session_lifetime`` counts as none, whatever the
    cookie says: the cookie's own age is checked by its signature too.
    """
    if settings.proxy_user_header is not None:
        client = request.client.host if request.client is not None else ""
        if client in settings.trusted_proxies:
            proxied = request.headers.get(settings.proxy_user_header, "").strip()
            if proxied:
                return proxied
        if settings.accounts is None:
            return None
    if not settings.authenticated:
        return open_as
    user = request.session.get("user")
    since = request.session.get("since")
    if not isinstance(user, str) or not isinstance(since, int):
        return None
    if seconds() - since > settings.session_lifetime.total_seconds():
        request.session.clear()
        return None
    return user
