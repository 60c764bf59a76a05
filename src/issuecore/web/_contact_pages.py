"""The public contact form's pages: the full page and the embeddable one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from issuecore.mail import address_key
from issuecore.web._console import (
    MAX_FORM_BYTES,
    Console,
)
from issuecore.web._contact import MAX_FILES, ContactRefusedError, contact_message
from issuecore.web._security import (
    CSRF_FIELD,
    SECURITY_HEADERS,
    SlidingLimiter,
    client_address,
    csrf_valid,
)


def contact_routes(console: Console) -> list[Route]:
    """Return the routes of the contact form (answering 404 while it is off)."""
    desk, settings = console.desk, console.settings
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

    return [
        Route("/contact", contact_page(embedded=False), methods=["GET", "POST"]),
        Route("/contact/embed", contact_page(embedded=True), methods=["GET", "POST"]),
    ]
