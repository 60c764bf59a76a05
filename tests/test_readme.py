"""The README's quick start and every next step it suggests, run as written with the clock in 2027.

``.ci/run`` runs the README's main command on the real clock; this test runs
the same commands (and the next steps the README suggests after them) with
``ISSUECORE_NOW`` in 2027, in a scratch folder holding the examples, and a
``.venv/bin/issuecore`` that runs this checkout's command.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOW_2027 = "2027-03-01T08:00:00+00:00"  # a Monday, 09:00 in Berlin


def block_after(marker: str) -> list[str]:
    """Return the lines of the fenced block that follows ``<!-- marker -->`` in the README."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```console\n(.*?)\n```\n", text, re.DOTALL)
    assert found is not None, f"README.md has no console block after <!-- {marker} -->"
    return found[1].splitlines()


def test_the_ci_blocks_are_one_line_each_where_ci_reads_them() -> None:
    main = block_after("main-command")
    tests = block_after("test-command")

    assert len(main) == 1
    assert len(tests) == 1
    assert "issuecore ingest examples/support.mbox" in main[0]
    assert tests[0].endswith("python -m pytest -n auto")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder with the examples and a .venv/bin/issuecore that runs this checkout."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    command = tmp_path / ".venv" / "bin" / "issuecore"
    command.parent.mkdir(parents=True)
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m issuecore "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def run(folder: Path, line: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ISSUECORE_")}
    environment["ISSUECORE_NOW"] = NOW_2027
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {line}"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _without_installation(line: str) -> str:
    steps = [step.strip() for step in line.split("&&")]
    kept = [s for s in steps if not s.startswith(("python3 -m venv", ".venv/bin/pip install"))]
    assert kept, line
    return " && ".join(kept)


def test_the_quick_start_works_in_2027(scratch: Path) -> None:
    (line,) = block_after("main-command")

    done = run(scratch, _without_installation(line))

    assert done.returncode == 0, done.stderr
    assert "read 50 messages from examples/support.mbox" in done.stdout
    assert "created         26" in done.stdout
    assert "ISS-2027-00001" in done.stdout
    assert done.stderr == ""


def test_every_next_step_of_the_readme_works_in_2027(scratch: Path) -> None:
    (quick_start,) = block_after("main-command")
    assert run(scratch, _without_installation(quick_start)).returncode == 0
    outputs = {}
    searched = ""

    for line in block_after("next-steps"):
        done = run(scratch, line)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        assert done.stderr == "", line
        outputs[line.removeprefix(".venv/bin/issuecore ").split()[0]] = done.stdout
        if line.endswith('--search "drip tray"'):
            searched = done.stdout

    assert "appended        18" in outputs["ingest"]
    assert searched.splitlines()[1].startswith("ISS-2027-00001")
    assert outputs["show"].startswith("ISS-2027-00001  Espresso machine leaks water")
    assert outputs["reply"].startswith("replied on ISS-2027-00001 as ben@brightwater.example")
    assert "<nosender.1@unknown.example>" in outputs["quarantine"]
    assert sorted(p.name for p in (scratch / "files").iterdir()) == [
        "burr.png",
        "grinder-noise.ogg",
    ]
    assert outputs["report"].startswith("issues opened 2027-03-01 to 2027-04-01")
    for picture in ("timeline.svg", "report.svg"):
        ElementTree.parse(scratch / picture)  # well-formed
    replies = [path.read_text() for path in (scratch / "outbox" / "new").iterdir()]
    answer = next(text for text in replies if "photo of the drip tray" in text)
    assert answer.startswith("From: support@brightwater.example\nTo: ana@fjordline.example\n")
    assert "Cc: support@brightwater.example" not in answer  # the desk does not copy itself
