"""Operating the desk: the outbox and its dead letters, attachments, reports and SLA pictures."""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import UTC
from pathlib import Path
from typing import Final

from issuecore import REPORT_DIMENSIONS, Attachment, ReportPeriod, ReportRow
from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_OK, RefusedError, UsageError
from issuecore.cli._views import hours, printable, table

_UNSAFE_NAME: Final = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
_RESERVED: Final = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{n}" for n in range(1, 10)]
    + [f"lpt{n}" for n in range(1, 10)]
)
_LONGEST_NAME: Final = 120


# --- the outbox --------------------------------------------------------------------------


def outbox_list(run: Run) -> int:
    """``issuecore outbox list``: effects waiting for delivery, and the dead letters."""
    limit = run.args.limit
    with run.desk.store.transaction(read_only=True) as work:
        waiting = work.outbox.pending(limit=limit)
    dead = run.desk.dead_letters(limit=limit)
    if run.args.json:
        run.print_json(
            {
                title: [
                    {
                        "id": item.id,
                        "kind": str(item.kind),
                        "number": item.number,
                        "attempts": item.attempts,
                        "last_error": item.last_error,
                        "created_at": item.created_at.isoformat(),
                    }
                    for item in items
                ]
                for title, items in (("waiting", waiting), ("dead_letters", dead))
            }
        )
        return EXIT_OK
    for title, items in (("waiting", waiting), ("dead letters", dead)):
        run.print(f"{title}: {len(items)}{'+' if len(items) == limit else ''}")
        for item in items:
            error = f"  {printable(item.last_error)}" if item.last_error else ""
            run.print(
                f"  {item.id}  {item.kind}  {item.number or '-'}  attempts {item.attempts}{error}"
            )
    return EXIT_OK


def outbox_retry(run: Run) -> int:
    """``issuecore outbox retry ID...`` (or ``--all``): deliver dead letters again now."""
    ids: list[str] = list(run.args.effect_ids)
    if run.args.all:
        if ids:
            raise UsageError("give dead-letter ids or --all, not both")
        ids = [item.id for item in run.desk.dead_letters(limit=10_000)]
        if not ids:
            run.print("no dead letters")
            return EXIT_OK
    elif not ids:
        raise UsageError(
            "name the dead letters to retry (ids from `issuecore outbox list`) or --all"
        )
    for effect_id in ids:
        if not run.desk.retry_dead_letter(effect_id):
            raise RefusedError(
                f"{printable(effect_id)} is not a dead letter; see `issuecore outbox list`"
            )
    sent, failed = run.desk.flush_outbox()
    run.print(f"delivered    {sent}")
    run.print(f"failed       {failed}")
    return EXIT_OK


# --- attachments -------------------------------------------------------------------------


def safe_filename(name: str, fallback: str) -> str:
    """Return ``name`` as a plain file name: no folders, no controls, no dot files, not too long."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if stem.casefold() in _RESERVED:
        stem = f"_{stem}"
    name = f"{stem}.{suffix}" if dot else stem
    if len(name) > _LONGEST_NAME:
        keep = _LONGEST_NAME - len(suffix) - 1 if dot and len(suffix) < 20 else _LONGEST_NAME
        name = name[:keep] + (f".{suffix}" if dot and len(suffix) < 20 else "")
    return name or fallback


def _save(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``name`` in ``folder`` without replacing a file: ``a (2).pdf`` then."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, dot, suffix = name, "", ""
    for number in range(1, 10_000):
        candidate = name if number == 1 else f"{stem} ({number}){dot}{suffix}"
        path = folder / candidate
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        return path
    raise RefusedError(f"{folder} holds too many files called {name}")


def attachments(run: Run) -> int:
    """``issuecore attachments NUMBER [--save DIR]``: list the files of a thread, or save them."""
    issue = run.desk.get(run.args.number)
    found: list[tuple[int, Attachment]] = [
        (position, attachment)
        for position, entry in enumerate(run.desk.thread(issue.number), start=1)
        for attachment in entry.attachments
    ]
    if not found:
        run.print(f"{issue.number} has no attachments")
        return EXIT_OK
    if run.args.save is None:
        rows = [
            (str(entry), printable(a.filename), printable(a.content_type), str(a.size))
            for entry, a in found
        ]
        for line in table(("ENTRY", "FILE", "TYPE", "BYTES"), rows):
            run.print(line)
        return EXIT_OK
    folder = Path(run.args.save)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise UsageError(f"{folder}: cannot create the folder: {error.strerror}") from None
    if not folder.is_dir():
        raise UsageError(f"{folder}: is not a folder")
    for index, (entry, attachment) in enumerate(found, start=1):
        name = safe_filename(attachment.filename, f"attachment-{index}")
        path = _save(folder, name, attachment.data)
        run.print(f"saved {printable(str(path))} ({attachment.size} bytes, entry {entry})")
    return EXIT_OK


# --- reports -----------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _duration(value: object) -> str:
    from datetime import timedelta

    return hours(value) if isinstance(value, timedelta) else "-"


def _report_cells(row: ReportRow) -> tuple[str, ...]:
    return (
        str(row.opened),
        str(row.resolved),
        f"{row.response_met}/{row.response_breached}",
        _percent(row.response_met_percent),
        f"{row.resolution_met}/{row.resolution_breached}",
        _percent(row.resolution_met_percent),
        _duration(row.response_median),
        _duration(row.response_p90),
        _duration(row.resolution_median),
        _duration(row.resolution_p90),
    )


def report(run: Run) -> int:
    """``issuecore report PERIOD``: SLA figures of the issues opened in a month or a year."""
    by = tuple(
        part.strip() for text in run.args.by or () for part in text.split(",") if part.strip()
    )
    for name in by:
        if name not in REPORT_DIMENSIONS:
            raise UsageError(
                f"--by {name!r} is not a dimension; known: {', '.join(REPORT_DIMENSIONS)}"
            )
    try:
        if run.args.period is None:
            now = run.now().astimezone(UTC)
            period = ReportPeriod.month(now.year, now.month)
        else:
            period = ReportPeriod.parse(run.args.period)
    except ValueError as error:
        raise UsageError(str(error)) from None
    result = run.desk.report(period, by=by)
    if run.args.svg is not None:
        from issuecore.charts import report_svg

        target = Path(run.args.svg)
        try:
            target.write_text(report_svg(result), encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{target}: {error.strerror}") from None
    if run.args.json:
        run.print_json(result.as_dict())
        return EXIT_OK
    header = (*(name.upper() for name in by), "OPENED", "RESOLVED", "RESPONSE MET/BREACHED")
    header += ("MET", "RESOLUTION MET/BREACHED", "MET", "RESP MEDIAN", "RESP P90")
    header += ("RESOL MEDIAN", "RESOL P90")
    rows = [
        (*(printable(value) for value in row.group), *_report_cells(row)) for row in result.rows
    ]
    if by:
        rows.append(("total", *[""] * (len(by) - 1), *_report_cells(result.total)))
    else:
        rows.append(_report_cells(result.total))
    run.print(
        f"issues opened {result.period.start:%Y-%m-%d} to {result.period.end:%Y-%m-%d} (UTC), "
        f"as of {run.stamp(result.at)}; times are business hours"
    )
    for line in table(header, rows):
        run.print(line)
    if run.args.svg is not None:
        run.print(f"wrote the chart to {printable(run.args.svg)}")
    return EXIT_OK


# --- the SLA picture ---------------------------------------------------------------------


def sla(run: Run) -> int:
    """``issuecore sla NUMBER [--svg FILE]``: the SLA timeline of an issue."""
    from issuecore._timeline import build_timeline, render_svg, render_text

    issue = run.desk.get(run.args.number)
    if issue.sla is None:
        raise RefusedError(f"{issue.number} has no SLA (no agreement covers it)")
    agreement = run.config.agreement(issue.sla.agreement)
    timeline = build_timeline(issue, agreement, now=run.now(), zone=run.config.display_timezone())
    if run.args.svg is None:
        for line in render_text(timeline).splitlines():
            run.print(printable(line))
        return EXIT_OK
    target = Path(run.args.svg)
    try:
        target.write_text(render_svg(timeline), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{target}: {error.strerror}") from None
    run.print(f"wrote the SLA timeline of {issue.number} to {printable(str(target))}")
    return EXIT_OK


def serve(run: Run) -> int:
    """``issuecore serve [--host HOST] [--port PORT]``: the agent console (the web extra)."""
    try:
        from issuecore.web import serve as serve_console
    except ImportError:
        raise UsageError("the console needs the web extra: pip install 'issuecore[web]'") from None
    return serve_console(run.desk, run.config, host=run.args.host, port=run.args.port)
