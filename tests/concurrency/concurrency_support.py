"""What the concurrency tests and their worker processes share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def open_store(spec: str) -> Any:
    """Open a SQLite path, or a SQLAlchemy URL with ``#table_prefix`` appended."""
    if "://" not in spec:
        from issuecore.adapters.sqlite import SQLiteStore

        return SQLiteStore(spec)
    from issuecore.adapters.sql import SqlStore

    url, _, prefix = spec.partition("#")
    return SqlStore(url, table_prefix=prefix)


def run_together(worker: Path, arguments: list[list[str]]) -> list[dict[str, Any]]:
    """Start one ``worker`` process per argument list at once; return each one's JSON line."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(worker), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arguments
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results
