"""issuecore.charts.timeline_svg: the public picture of one issue's SLA timeline."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta

import pytest

from issuecore._sla.tracking import start_sla
from issuecore._workflow import open_issue
from issuecore.charts import timeline_svg
from issuecore.config import DEFAULT_AGREEMENT

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_timeline_of_an_issue_is_a_well_formed_svg_with_its_deadlines() -> None:
    change = open_issue(
        number="ISS-2026-00001", subject="Printer", raised_by="ana@x.test", at=START
    )
    issue = start_sla(change, [DEFAULT_AGREEMENT]).issue
    picture = timeline_svg(issue, DEFAULT_AGREEMENT, now=START + timedelta(hours=9))
    root = ElementTree.fromstring(
        picture.split("\n", 1)[1] if picture.startswith("<?xml") else picture
    )
    assert root.tag.endswith("svg")
    assert 'id="deadline-response"' in picture
    assert 'id="deadline-resolution"' in picture


def test_an_issue_without_an_sla_has_no_timeline() -> None:
    issue = open_issue(
        number="ISS-2026-00002", subject="Printer", raised_by="ana@x.test", at=START
    ).issue
    with pytest.raises(ValueError, match="ISS-2026-00002 has no SLA"):
        timeline_svg(issue, None, now=START)
