"""Ctrl-C on `hoidap serve`: one line that says the server stopped, exit 0, no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import QUIET_ENV, ROOT

START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, proc: subprocess.Popen[str]) -> None:
    """Until GET /api/health answers (any status: the server is up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hoidap serve ended early (exit {proc.returncode}): {proc.communicate()[1]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:
                assert response.status == 200
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("hoidap serve did not answer /api/health")


def test_ctrl_c_stops_the_server_with_one_line(index_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--index", str(index_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **QUIET_ENV, "HOIDAP_DATA_DIR": str(tmp_path / "data")},
        cwd=ROOT,
        # As in a terminal: SIGINT raises KeyboardInterrupt (a test runner may have it ignored, and that is inherited).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "interrupted" not in err
    assert err.rstrip().splitlines()[-1] == "hoidap: Đã dừng máy chủ (server stopped)."
    assert "Loading weights" not in err  # no library progress bars in a log
    assert f"chat at http://127.0.0.1:{port}/" in out
