"""Fixtures for the reliability tests: real `hoidap serve` subprocesses on free loopback ports."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import QUIET_ENV, ROOT

START_TIMEOUT_S = 120
REQUEST_TIMEOUT_S = 60
_ADDRESS = re.compile(r"chat at (http://127\.0\.0\.1:\d+)/")
_MARKER = re.compile(r"\[(\d+)\]")

Reply = tuple[int, Any]  # status, and the JSON body (or the raw text when it is not JSON)


class Served:
    """`hoidap serve --port 0` in a subprocess on 127.0.0.1; `url` is its origin once it has started."""

    def __init__(self, index: Path, env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--index", str(index), "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # The SQLite store beside the index, never in the repo's data/ folder.
            env={**os.environ, **QUIET_ENV, "HOIDAP_DATA_DIR": str(index.parent / "data"), **(env or {})},
            cwd=ROOT,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url = ""
        self._started = threading.Event()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        # Drain both pipes, so that a chatty server never blocks on a full pipe.
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: Any, lines: list[str]) -> None:
        for line in pipe:
            lines.append(line)
            found = _ADDRESS.search(line)
            if found and not self.url:
                self.url = found.group(1)
                self._started.set()
        self._started.set()  # the process ended: stop waiting

    def start(self) -> Served:
        """Wait until the server has printed its address (it listens from then on)."""
        self._started.wait(START_TIMEOUT_S)
        if not self.url:
            self.stop()
            raise AssertionError(f"hoidap serve did not start (exit {self.proc.returncode}):\n{self.errors}")
        return self

    @property
    def errors(self) -> str:
        """Everything the server wrote to stderr so far."""
        return "".join(self.stderr)

    def request(self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                conn: http.client.HTTPConnection | None = None) -> Reply:
        """One HTTP request; pass `conn` to reuse a keep-alive connection."""
        own = conn is None
        if conn is None:
            conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            raw = response.read()
        finally:
            if own:
                conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")

    def connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_S)

    def ask(self, body: Any, conn: http.client.HTTPConnection | None = None) -> Reply:
        """POST /api/ask with `body`: bytes as they are, anything else as JSON."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        return self.request("POST", "/api/ask", raw, {"Content-Type": "application/json"}, conn)

    def health(self) -> Reply:
        return self.request("GET", "/api/health")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL if it hangs) and collect its output."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        for reader in self._readers:
            reader.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start servers with `serve(index_dir, env=None)`; all are stopped after the test."""
    started: list[Served] = []

    def start(index: Path, env: Mapping[str, str] | None = None) -> Served:
        server = Served(index, env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def launch_server() -> type[Served]:
    """`launch_server(index_dir, env=None)` starts a server without waiting for it, to start several side by side.

    The caller must `.start()` (wait) and `.stop()` each.
    """
    return Served


@pytest.fixture(scope="session")
def served(index_dir: Path) -> Iterator[Served]:
    """One `hoidap serve` on the shared index, for tests that only ask."""
    server = Served(index_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def check_answer(pipeline: Any) -> Callable[..., None]:
    """`check_answer(data, documents=None)` asserts that `data` is an answer object that keeps contracts.md.

    Offsets are checked against `documents` (a loaded index's), by default the shared index's.
    """

    def check(data: Any, documents: Mapping[str, Any] | None = None) -> None:
        documents = pipeline.index.documents if documents is None else documents
        assert isinstance(data, dict), data
        assert set(data) == {
            "question", "answer", "refused", "citations", "passages", "model", "timings_ms", "conversation",
            "understood_as", "outcome",
        }
        assert isinstance(data["answer"], str) and data["answer"].strip()
        assert isinstance(data["refused"], bool)
        assert data["outcome"] in {"answer", "closest", "none"}
        assert data["refused"] == (data["outcome"] == "none")
        numbers = {c["n"] for c in data["citations"]}
        assert {int(n) for n in _MARKER.findall(data["answer"])} <= numbers, data["answer"]
        if data["refused"]:
            assert data["citations"] == []
        for c in data["citations"]:
            assert set(c) == {"n", "doc", "title", "date", "start", "end", "quote", "page", "section"}
            assert documents[c["doc"]].text[c["start"] : c["end"]] == c["quote"]
        for p in data["passages"]:
            assert documents[p["doc"]].text[p["start"] : p["end"]] == p["text"]

    return check
