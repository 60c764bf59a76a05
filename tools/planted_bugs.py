"""Plant the bugs of issue 13, one at a time, and check that the tests catch each.

    python tools/planted_bugs.py            # every bug; exit 1 if any survives
    python tools/planted_bugs.py calendar-week-end

Each bug is one plausible edit of the source. The package is copied into a
temporary folder, the edit made there, and the tests that guard the code run
against the copy (it comes first on ``PYTHONPATH``), so the working tree is
never changed. A bug is *caught* when those tests fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent


class Bug(NamedTuple):
    name: str
    path: str
    original: str
    planted: str
    tests: tuple[str, ...]


BUGS = (
    Bug(
        "calendar-week-end",
        "src/issuecore/_sla/calendar.py",
        "weeks = (amount - 1) // self._weekly_open",
        "weeks = amount // self._weekly_open",
        ("tests/sla",),
    ),
    Bug(
        "calendar-closing-instant",
        "src/issuecore/_sla/calendar.py",
        "return index >= 0 and position < self._pattern_ends[index]",
        "return index >= 0 and position <= self._pattern_ends[index]",
        ("tests/sla",),
    ),
    Bug(
        "copied-in-participant",
        "src/issuecore/mail/_matching.py",
        "return issue.is_participant(sender) or self.lookup.is_agent(sender)",
        "return (issue.is_participant(sender) or self.lookup.is_agent(sender)"
        " or any(issue.is_participant(a) for a in self.message.cc))",
        (
            "tests/mail/test_mail_matching.py",
            "tests/mail/test_mail_participants.py",
            "tests/mail/test_mail_strangers.py",
        ),
    ),
    Bug(
        "default-auto-close",
        "src/issuecore/_sweep.py",
        "after=self.settings.auto_close_after)",
        "after=__import__('datetime').timedelta(days=7))",
        ("tests/test_desk_thresholds.py",),
    ),
)


def caught(bug: Bug) -> bool:
    """Return whether the tests of ``bug`` fail with it planted in a copy of the package."""
    with tempfile.TemporaryDirectory(prefix="planted-") as folder:
        copy = Path(folder) / "src"
        shutil.copytree(ROOT / "src", copy)
        target = Path(folder) / bug.path
        text = target.read_text("utf-8")
        if text.count(bug.original) != 1:
            raise SystemExit(f"{bug.name}: {bug.original!r} is not in {bug.path} exactly once")
        target.write_text(text.replace(bug.original, bug.planted), "utf-8")
        environment = {**os.environ, "PYTHONPATH": str(copy)}
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        result = subprocess.run(
            [*command, *bug.tests], cwd=ROOT, env=environment, capture_output=True, text=True
        )
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        print(f"{bug.name:26} {'caught' if result.returncode == 1 else 'SURVIVED'}")
        for line in failed:
            print(f"    {line}")
        return result.returncode == 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bugs", nargs="*", help="names of bugs (default: all)")
    args = parser.parse_args(argv)
    chosen = [bug for bug in BUGS if not args.bugs or bug.name in args.bugs]
    results = [caught(bug) for bug in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
