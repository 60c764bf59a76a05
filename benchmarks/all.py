"""Run every benchmark in turn and print every figure the project claims.

Run: ``python benchmarks/all.py`` from a checkout with the ``dev`` extra
installed. PostgreSQL figures appear when ``ISSUECORE_TEST_POSTGRES_URL`` is
set (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each script measures its figures side by side in its own run; this one only
runs them one after another and stops with the first failure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    ("business calendars (benchmarks/sla.py)", "sla.py"),
    ("mail intake (benchmarks/mail.py)", "mail.py"),
    ("intake into storage (benchmarks/ingest.py)", "ingest.py"),
    ("the sweep (benchmarks/sweep.py)", "sweep.py"),
    ("peak memory of intake (benchmarks/memory.py)", "memory.py"),
    ("outbox delivery by worker processes (benchmarks/delivery.py)", "delivery.py"),
    ("the agent console's pages (benchmarks/console.py)", "console.py"),
]


def main() -> int:
    for title, script in SCRIPTS:
        print(f"\n=== {title} ===", flush=True)
        began = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / script)], check=False)
        print(f"--- {script} finished in {time.perf_counter() - began:.0f} s", flush=True)
        if result.returncode != 0:
            print(f"--- {script} failed with exit status {result.returncode}", flush=True)
            return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
