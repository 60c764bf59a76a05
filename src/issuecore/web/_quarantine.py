"""Quarantined mail: what intake kept aside and why, its bytes, and filing it again."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from issuecore.errors import IssueCoreError
from issuecore.web._console import Console, form_of, page, refusal, text_of
from issuecore.web._present import safe_filename

QUARANTINE_ROWS: Final = 100


def quarantine_routes(console: Console) -> list[Route]:
    """Return the routes of the quarantine list, a message's bytes, and re-ingesting it."""
    desk = console.desk

    async def listing(request: Request, user: str) -> Response:
        records = await run_in_threadpool(lambda: desk.quarantined(limit=QUARANTINE_ROWS))
        context = {"user": user, "records": records, "limit": QUARANTINE_ROWS}
        return console.render(request, "quarantine.html", context)

    async def raw(request: Request, user: str) -> Response:
        message_id = request.query_params.get("id", "")
        try:
            data = await run_in_threadpool(desk.quarantined_message, message_id)
        except IssueCoreError:  # an identifier no store can hold is no quarantined message
            data = None
        if data is None:
            return PlainTextResponse("no quarantined message with that Message-ID", 404)
        name = safe_filename(message_id.strip("<>")) + ".eml"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
                + quote(name),
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def reingest(request: Request, user: str) -> Response:
        message_id = text_of(await form_of(request), "message_id")
        try:
            outcome = await run_in_threadpool(desk.reingest, message_id)
        except (LookupError, IssueCoreError, ValueError) as error:
            request.session["flash"] = f"Refused: {refusal(error)}"
        else:
            where = f" as {outcome.issue_number}" if outcome.issue_number else ""
            request.session["flash"] = f"Filed again{where}: {outcome.kind}, {outcome.reason}"
        return RedirectResponse(f"{request.scope.get('root_path', '')}/quarantine", 303)

    return [
        Route("/quarantine", page(console, listing)),
        Route("/quarantine/message.eml", page(console, raw)),
        Route("/quarantine/reingest", page(console, reingest), methods=["POST"]),
    ]
