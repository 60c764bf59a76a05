"""The outbox's waiting and failed effects, and the SLA report with its chart."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from issuecore import REPORT_DIMENSIONS, ReportPeriod
from issuecore.charts import report_svg
from issuecore.errors import IssueCoreError
from issuecore.ports import OutboxItem
from issuecore.web._console import (
    Console,
    page,
)

OUTBOX_ROWS: Final = 100


def report_routes(console: Console) -> list[Route]:
    """Return the routes of the outbox, its retry action, the report and its chart."""
    desk = console.desk

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
            "dimensions": REPORT_DIMENSIONS,
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

    return [
        Route("/outbox", page(console, outbox)),
        Route("/outbox/{effect_id}/retry", page(console, retry), methods=["POST"]),
        Route("/report", page(console, report)),
        Route("/report/chart.svg", page(console, chart)),
    ]
