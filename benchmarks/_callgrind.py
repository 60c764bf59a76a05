"""Instruction counts under callgrind, shared by the ``*_instructions.py`` benchmarks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

_COLLECTED = re.compile(r"Collected : (\d+)")


def count_instructions(script: str, path: str, mail: Path, amount: int, *options: str) -> int:
    """Return the instructions callgrind counted for ``script path mail amount``.

    The script runs alone under ``valgrind --tool=callgrind`` (with ``options``)
    and a fixed hash seed, so the same run gives the same count; its output
    and log files go beside ``mail``.
    """
    log = mail.parent / f"{path}-{amount}.log"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            *options,
            f"--callgrind-out-file={mail.parent / f'{path}-{amount}.out'}",
            f"--log-file={log}",
            sys.executable,
            script,
            path,
            str(mail),
            str(amount),
        ],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = _COLLECTED.search(log.read_text())
    assert found is not None, f"no instruction count in {log}"
    return int(found.group(1))
