"""``issuecore sla``: the SLA timeline as SVG (checked as XML) and as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from cli_support import issuecore

SVG = "{http://www.w3.org/2000/svg}"
AGENT = "ben@brightwater.example"


def svg_of(folder: Path, number: str, now: str) -> ET.Element:
    done = issuecore(folder, "sla", number, "--svg", "timeline.svg", now=now)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote the SLA timeline of {number} to timeline.svg\n"
    return ET.parse(folder / "timeline.svg").getroot()


def by_id(root: ET.Element, element_id: str) -> ET.Element:
    found = root.find(f".//*[@id='{element_id}']")
    assert found is not None, f"no element with id {element_id}"
    return found


def test_sla_svg_is_valid_xml_with_both_deadline_lines_and_business_windows(
    example_desk_dir: Path,
) -> None:
    # Ingested Monday 09:00 UTC (10:00 Berlin); Medium: 8 h to respond, 40 h to resolve.
    root = svg_of(example_desk_dir, "ISS-2026-00001", now="2026-03-03T08:00:00Z")

    assert root.tag == f"{SVG}svg"
    response = by_id(root, "deadline-response")
    resolution = by_id(root, "deadline-resolution")
    assert response.tag == resolution.tag == f"{SVG}line"
    assert float(response.get("x1", "0")) < float(resolution.get("x1", "0"))
    texts = [element.text or "" for element in root.iter(f"{SVG}text")]
    # Monday 10:00-17:00 is 7 h, so the eighth hour ends Tuesday 10:00 Berlin.
    assert "response due 2026-03-03 10:00 CET" in texts
    windows = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "business-window"]
    assert len(windows) >= 2  # Monday's and Tuesday's hours at least
    assert [r.get("class") for r in root.iter(f"{SVG}rect") if "stretch" in r.get("class", "")] == [
        "stretch running"
    ]
    assert root.find(".//*[@class='breach response']") is None


def test_sla_svg_draws_a_missed_deadline_and_its_breach_in_red(example_desk_dir: Path) -> None:
    issuecore(
        example_desk_dir,
        "reply",
        "ISS-2026-00002",
        "--body",
        "Refund is on its way.",
        "--author",
        AGENT,
        now="2026-03-04T09:00:00Z",
    )

    root = svg_of(example_desk_dir, "ISS-2026-00002", now="2026-03-04T12:00:00Z")

    assert by_id(root, "deadline-response").get("stroke") == "#dc2626"
    breach = root.find(".//*[@class='breach response']")
    assert breach is not None
    assert breach.get("fill") == "#dc2626"
    assert by_id(root, "marker-response").get("fill") == "#dc2626"
    kinds = [r.get("class") for r in root.iter(f"{SVG}rect") if "stretch" in r.get("class", "")]
    assert kinds == ["stretch running", "stretch paused"]


def test_sla_svg_marks_a_resolution_in_time_in_green(example_desk_dir: Path) -> None:
    issuecore(
        example_desk_dir, "resolve", "ISS-2026-00003", "--by", AGENT, now="2026-03-02T11:00:00Z"
    )

    root = svg_of(example_desk_dir, "ISS-2026-00003", now="2026-03-02T12:00:00Z")

    assert by_id(root, "marker-resolution").get("fill") == "#16a34a"
    kinds = [r.get("class") for r in root.iter(f"{SVG}rect") if "stretch" in r.get("class", "")]
    assert kinds == ["stretch running", "stretch resolved"]


def test_sla_without_svg_prints_the_timeline_as_text(example_desk_dir: Path) -> None:
    done = issuecore(example_desk_dir, "sla", "ISS-2026-00001", now="2026-03-03T08:00:00Z")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ISS-2026-00001  Espresso machine leaks water"
    assert lines[1] == (
        "agreement Business hours, priority Medium: First Response Due at 2026-03-03 09:00 CET"
    )
    assert "  response due 2026-03-03 10:00 CET (target 8h): open" in lines
    assert "  resolution due 2026-03-09 11:00 CET (target 40h): open" in lines
    assert any(
        line.startswith("  business hours in view: Mon 02 Mar 09:00-17:00") for line in lines
    )


def test_sla_of_an_issue_without_an_agreement_is_refused(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text("agreements = []\n")
    (tmp_path / "one.eml").write_bytes(
        b"From: a@example.org\nSubject: Hi\nMessage-ID: <1@example.org>\n\nHello\n"
    )
    issuecore(tmp_path, "ingest", "one.eml")

    done = issuecore(tmp_path, "sla", "ISS-2026-00001")

    assert done.returncode == 1
    assert "ISS-2026-00001 has no SLA" in done.stderr
