"""Sphinx configuration for the issuecore documentation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

from issuecore._workflow import Workflow  # noqa: E402 - the path above makes it importable

project = "issuecore"
author = "The issuecore authors"
copyright = "2026, The issuecore authors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated/*.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "issuecore"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
suppress_warnings = ["myst.xref_missing"]


def _write_generated_diagrams() -> None:
    """Write the workflow diagrams from the transition table, so the docs never drift."""
    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    workflow = Workflow.default()
    (generated / "workflow.mmd").write_text(workflow.to_mermaid(), encoding="utf-8")
    (generated / "workflow.dot").write_text(workflow.to_dot(), encoding="utf-8")


def _write_sla_timeline() -> None:
    """Draw the SLA timeline of the story told in the SLA guide, with the command's renderer."""
    from datetime import datetime, timedelta
    from email.message import EmailMessage
    from zoneinfo import ZoneInfo

    from issuecore import BusinessCalendar, DeskSettings, HelpDesk, ServiceLevelAgreement, SlaTarget
    from issuecore._timeline import build_timeline, render_svg
    from issuecore.adapters.memory import InMemoryStore
    from issuecore.testing import FakeClock, RecordingMailer

    berlin = ZoneInfo("Europe/Berlin")
    office = BusinessCalendar(
        timezone="Europe/Berlin",
        hours={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    standard = ServiceLevelAgreement(
        name="Standard",
        calendar=office,
        targets={"Medium": SlaTarget(response=timedelta(hours=8), resolution=timedelta(hours=24))},
        default_priority="Medium",
        default=True,
    )
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=berlin))
    desk = HelpDesk(
        store=InMemoryStore(),
        mailer=RecordingMailer(),
        clock=clock,
        agreements=[standard],
        settings=DeskSettings(support_address="support@example.com"),
    )
    number = desk.open_issue(subject="VPN drops", raised_by="ana@customer.test", body="-").number
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=berlin))
    desk.reply(number, body="Which client version?", author="ben@example.com")
    clock.set(datetime(2026, 3, 4, 11, 0, tzinfo=berlin))
    answer = EmailMessage()
    answer["From"], answer["To"] = "ana@customer.test", "support@example.com"
    answer["Subject"], answer["Message-ID"] = f"Re: VPN drops [#{number}]", "<a1@customer.test>"
    answer.set_content("Version 4.2.")
    desk.receive(answer.as_bytes())
    clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=berlin))
    desk.hold(number, by="ben@example.com")
    clock.set(datetime(2026, 3, 5, 15, 0, tzinfo=berlin))
    desk.reply(number, body="The vendor has a fix; please update.", author="ben@example.com")
    clock.set(datetime(2026, 3, 6, 9, 30, tzinfo=berlin))
    desk.resolve(number, by="ben@example.com")
    timeline = build_timeline(desk.get(number), standard, now=clock.now(), zone="Europe/Berlin")
    (HERE / "_generated" / "sla-timeline.svg").write_text(render_svg(timeline), encoding="utf-8")


_write_generated_diagrams()
_write_sla_timeline()


def _public_bases(app: object, name: str, obj: object, options: object, bases: list[type]) -> None:
    """Show a class's public bases only; the desk's private parts are not part of the API."""
    public = [base for base in bases if not base.__name__.startswith("_")]
    bases[:] = public or [object]


def setup(app: Sphinx) -> None:
    """Register the documentation's own hooks."""
    app.connect("autodoc-process-bases", _public_bases)
