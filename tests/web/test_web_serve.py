"""`issuecore serve` for real: a uvicorn process on loopback answering the console's pages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_issuecore_serve_serves_the_console_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text(
        f'signing_key = "{"ab" * 32}"\nagents = ["ben@example.com"]\n'
    )
    port = free_port()
    command = [sys.executable, "-m", "issuecore", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    # A watchdog, not a wait: it only stops a server that never came up.
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            if "Uvicorn running on" in line:
                break
        assert any(f"http://127.0.0.1:{port}" in line for line in seen), "".join(seen)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/issues")
        with urllib.request.urlopen(request, timeout=10) as response:
            page = response.read().decode()
            headers = response.headers
        assert "ben@example.com" in page
        assert "No issues match." in page
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0
