"""Without Chromium the browser tests stop the run with one clear message; they are never skipped quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import QUIET_ENV, ROOT

# A pytest plugin that points the `browser` fixture at a Chromium that is not there.
NO_CHROMIUM_PLUGIN = '''
import sys
from pathlib import Path


def pytest_collection_finish(session):
    for module in list(sys.modules.values()):
        if hasattr(module, "NEEDS_CHROMIUM") and hasattr(module, "CHROMIUM"):
            module.CHROMIUM = Path("/nonexistent/chromium")
'''


def test_browser_tests_stop_the_run_without_chromium(tmp_path: Path) -> None:
    (tmp_path / "no_chromium.py").write_text(NO_CHROMIUM_PLUGIN, "utf-8")
    env = {**os.environ, **QUIET_ENV, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no_chromium", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "tests/ui/test_browser.py"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the browser tests need Chromium: apt-get install -y chromium (or run bash .ci/run)" in result.stdout
    assert " passed" not in result.stdout and "skipped" not in result.stdout


def test_make_test_stops_without_chromium() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "chromium", "CHROMIUM=/nonexistent/chromium"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "the browser tests need Chromium: apt-get install -y chromium (or run bash .ci/run)"
    )
