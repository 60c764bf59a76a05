"""Sphinx configuration for the issuecore documentation."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

from issuecore.workflow import Workflow  # noqa: E402 - the path above makes it importable

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


_write_generated_diagrams()
