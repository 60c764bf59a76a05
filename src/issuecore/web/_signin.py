"""Signing in and out: the stored accounts' check, failures counted per address in the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from issuecore.web._console import (
    Console,
    form_of,
    text_of,
)
from issuecore.web._security import (
    CSRF_FIELD,
    StoredLimiter,
    csrf_valid,
    sign_in,
)

SIGN_IN_SCOPE: Final = "web.signin"
SIGN_IN_FAILURES: Final = 5
SIGN_IN_WINDOW: Final = timedelta(minutes=15)
TOO_MANY_FAILURES: Final = "Too many failed sign-ins; try again in 15 minutes."


def signin_routes(console: Console) -> list[Route]:
    """Return the routes of the sign-in page, signing in and signing out."""
    failures = StoredLimiter(
        console.desk.store, SIGN_IN_SCOPE, SIGN_IN_FAILURES, SIGN_IN_WINDOW, console.now
    )

    async def signin_form(request: Request) -> Response:
        if console.user(request) is not None:
            return RedirectResponse(f"{request.scope.get('root_path', '')}/issues", 303)
        return console.render(
            request, "signin.html", {"next": request.query_params.get("next", ""), "error": None}
        )

    async def signin(request: Request) -> Response:
        form = await form_of(request)
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
        address, password = text_of(form, "address"), form.get("password")
        target = text_of(form, "next")
        # Counted per address only: behind a reverse proxy every client has the proxy's
        # address, and one stranger's guesses must not lock every agent out.
        keys = (f"address:{address.lower()}",)
        if await run_in_threadpool(failures.full, *keys):
            context = {"next": target, "error": TOO_MANY_FAILURES}
            return console.render(request, "signin.html", context, status=429)
        user = None
        if console.accounts is not None and isinstance(password, str) and address:
            user = await run_in_threadpool(console.accounts.verify, address, password)
        if user is None:
            await run_in_threadpool(failures.record, *keys)
            context = {"next": target, "error": "That address and password do not match."}
            return console.render(request, "signin.html", context, status=401)
        sign_in(request, user, seconds=console.seconds)
        base = request.scope.get("root_path", "")
        safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
        return RedirectResponse(target if safe else f"{base}/issues", 303)

    async def signout(request: Request) -> Response:
        form = await form_of(request)
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            return PlainTextResponse("the form's CSRF token is missing or wrong", 403)
        request.session.clear()
        return RedirectResponse(f"{request.scope.get('root_path', '')}/signin", 303)

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/issues", 303)

    return [
        Route("/", home),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
