"""SVG charts: a report's service levels, and one issue's SLA timeline.

:func:`report_svg` draws, for each group of a :class:`~issuecore.Report`
and for the total, two stacked bars: the responses and the resolutions met
(green) and breached (red), as shares of those judged, with the counts
beside them. The document is built with :mod:`xml.etree.ElementTree`, which
escapes every text and attribute; characters XML 1.0 cannot hold (controls,
lone surrogates, U+FFFE, U+FFFF) are removed from every text first, so a
group named after any subject or address still gives well-formed XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import datetime

from issuecore._model import Issue
from issuecore._reports import Report, ReportRow
from issuecore._sla.agreement import ServiceLevelAgreement

__all__ = ["report_svg", "timeline_svg", "xml_safe"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SVG = "http://www.w3.org/2000/svg"
_MET = "#2e7d32"
_BREACHED = "#c62828"
_NONE = "#bdbdbd"
_WIDTH = 760
_LABEL = 220
_BAR = 360
_ROW = 46
_TOP = 56


def xml_safe(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", text)


def _text(parent: ElementTree.Element, x: float, y: float, text: str, **style: str) -> None:
    element = ElementTree.SubElement(
        parent, "text", {"x": f"{x:g}", "y": f"{y:g}", "font-size": "12", **style}
    )
    element.text = xml_safe(text)


def _bar(parent: ElementTree.Element, y: float, caption: str, met: int, breached: int) -> None:
    judged = met + breached
    _text(parent, _LABEL, y + 11, caption, fill="#424242")
    x = _LABEL + 80
    if judged == 0:
        ElementTree.SubElement(
            parent,
            "rect",
            {"x": f"{x}", "y": f"{y}", "width": f"{_BAR}", "height": "14", "fill": _NONE},
        )
        _text(parent, x + _BAR + 8, y + 11, "nothing judged yet")
        return
    met_width = _BAR * met / judged
    for offset, width, colour in ((0.0, met_width, _MET), (met_width, _BAR - met_width, _BREACHED)):
        if width > 0:
            ElementTree.SubElement(
                parent,
                "rect",
                {
                    "x": f"{x + offset:.1f}",
                    "y": f"{y}",
                    "width": f"{width:.1f}",
                    "height": "14",
                    "fill": colour,
                },
            )
    percent = 100 * met / judged
    _text(parent, x + _BAR + 8, y + 11, f"{percent:.1f} % met ({met} met, {breached} breached)")


def _row(parent: ElementTree.Element, y: float, name: str, row: ReportRow) -> None:
    _text(parent, 8, y + 18, name, **{"font-weight": "bold"})
    _text(parent, 8, y + 34, f"{row.opened} opened, {row.resolved} resolved", fill="#616161")
    _bar(parent, y + 6, "response", row.response_met, row.response_breached)
    _bar(parent, y + 24, "resolution", row.resolution_met, row.resolution_breached)


def report_svg(report: Report, *, title: str | None = None) -> str:
    """Return the SVG document (a string) charting ``report``'s groups and total."""
    rows = [(" · ".join(row.group) or "all", row) for row in report.rows if report.by]
    rows.append(("total", report.total))
    height = _TOP + _ROW * len(rows) + 16
    root = ElementTree.Element(
        "svg",
        {
            "xmlns": _SVG,
            "width": str(_WIDTH + _LABEL),
            "height": str(height),
            "viewBox": f"0 0 {_WIDTH + _LABEL} {height}",
            "font-family": "sans-serif",
        },
    )
    heading = title or (
        f"Service levels of issues opened {report.period.start:%Y-%m-%d} "
        f"to {report.period.end:%Y-%m-%d}" + (f", by {', '.join(report.by)}" if report.by else "")
    )
    _text(root, 8, 22, heading, **{"font-size": "16", "font-weight": "bold"})
    legend = ElementTree.SubElement(root, "g")
    for offset, colour, caption in ((0, _MET, "met"), (90, _BREACHED, "breached")):
        ElementTree.SubElement(
            legend,
            "rect",
            {"x": str(8 + offset), "y": "32", "width": "12", "height": "12", "fill": colour},
        )
        _text(legend, 24 + offset, 43, caption)
    for position, (name, row) in enumerate(rows):
        group = ElementTree.SubElement(root, "g")
        _row(group, _TOP + position * _ROW, name, row)
    body = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def timeline_svg(
    issue: Issue,
    agreement: ServiceLevelAgreement | None,
    *,
    now: datetime,
    zone: str = "UTC",
) -> str:
    """Return the SVG picture of ``issue``'s SLA timeline as it stands at ``now``.

    The same picture as ``issuecore sla NUMBER --svg``: the business windows
    of ``agreement``'s calendar, the stretches the clock ran and paused, the
    deadlines, the first response, the resolution and any breach, with times
    in ``zone``. Raises ``ValueError`` for an issue without an SLA.
    """
    # The renderer imports this module for xml_safe, so it is imported when drawing.
    from issuecore._timeline import build_timeline, render_svg

    return render_svg(build_timeline(issue, agreement, now=now, zone=zone))
