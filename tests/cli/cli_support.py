"""Running the ``issuecore`` command in a subprocess, in a folder of its own, at a fixed instant."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MAILBOX = EXAMPLES / "support.mbox"
EXAMPLE_CONFIG = EXAMPLES / "issuecore.toml"
# A Monday, 09:00 UTC: issue numbers are ISS-2026-... (the mailbox itself works in any year).
NOW = "2026-03-02T09:00:00+00:00"


def issuecore(
    cwd: Path,
    *args: str,
    now: str | None = NOW,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m issuecore ARGS`` in ``cwd`` and return the finished process."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ISSUECORE_")}
    if now is not None:
        environment["ISSUECORE_NOW"] = now
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "issuecore", *args],
        cwd=cwd,
        env=environment,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_generator() -> ModuleType:
    """Import examples/make_mailbox.py, which says what each message must become."""
    spec = importlib.util.spec_from_file_location("make_mailbox", EXAMPLES / "make_mailbox.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What the example mailbox is designed to give when ingested into an empty desk, in any year.
DESIGNED = {
    "created": 26,
    "appended": 18,
    "duplicate": 1,
    "loop": 0,
    "ignored": 4,
    "quarantined": 1,
}


def summary(stdout: str) -> dict[str, int]:
    """Return the counts of the summary table printed by ingest."""
    counts = {}
    for line in stdout.splitlines():
        match = re.fullmatch(
            r"(created|appended|duplicate|loop|ignored|quarantined|total)\s+(\d+)", line
        )
        if match:
            counts[match[1]] = int(match[2])
    return counts
