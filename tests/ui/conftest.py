"""Fixtures for the UI tests: real servers on free loopback ports, and a headless Chromium."""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import LoopbackHTTP, QuietHandler

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_socket() -> socket.socket:
    """A listening-ready TCP socket bound to a free port on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """`create_app(pipeline, settings)` served by uvicorn in a thread; `url` is its origin."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        import uvicorn

        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


class StaticServer(LoopbackHTTP):
    """A plain static file server for a folder: a second origin, like an intranet site."""

    def __init__(self, folder: Path) -> None:
        super().__init__(functools.partial(_QuietStaticHandler, directory=str(folder)))


class _QuietStaticHandler(QuietHandler, SimpleHTTPRequestHandler):
    pass


def private_data(settings: Any, folder: Path) -> Any:
    """The settings with the SQLite store in `folder` when they name the default data folder (never the repo's)."""
    from rag.settings import Settings

    return replace(settings, data_dir=folder) if settings.data_dir == Settings().data_dir else settings


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with `live_server(pipeline, settings)`; all are stopped after the test."""
    from ui.server import create_app

    started: list[LiveServer] = []

    def start(pipeline: Any, settings: Any) -> LiveServer:
        settings = private_data(settings, tmp_path / f"data-{len(started)}")
        server = LiveServer(create_app(pipeline, settings), free_socket()).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def static_server() -> Iterator[Callable[[Path], StaticServer]]:
    """Serve folders with `static_server(folder)`; all are stopped after the test."""
    started: list[StaticServer] = []

    def start(folder: Path) -> StaticServer:
        server = StaticServer(folder)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# Questions on the bundled corpus that the documents touch on without answering: each is tried in turn, so a
# retrained decision file that answers (or refuses) one still leaves the tests a question of outcome "closest".
CLOSEST_CANDIDATES = (
    "Mục tiêu năm 2022 của Thành ủy là gì?",
    "Công tác xây dựng Đảng năm 2021 gặp khó khăn gì?",
    "Kết quả thu ngân sách quận Đống Đa năm 2019?",
    "Quận Đống Đa có bao nhiêu phường?",
    "Thành ủy Hà Nội có bao nhiêu đảng viên?",
)


# Questions the bundled corpus answers outright, tried in turn the same way, for a confident answer to compare with.
ANSWERED_CANDIDATES = (
    "Có bao nhiêu tổ chức cơ sở đảng được kiện toàn?",
    "Ước thu ngân sách trên địa bàn quận Đống Đa năm 2020 là bao nhiêu?",
    "Thành ủy Hà Nội ban hành Báo cáo số 17-BC/TU vào ngày nào?",
    "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?",
)


def first_with_outcome(pipeline: Any, candidates: tuple[str, ...], outcome: str) -> str:
    for question in candidates:
        if pipeline.ask(question).outcome == outcome:
            return question
    raise AssertionError(
        f"no question of the candidates gets outcome {outcome} with this decision file; add one that does "
        "(try `hoidap ask QUESTION --json`)"
    )


@pytest.fixture(scope="session")
def closest_question(pipeline: Any) -> str:
    """A question the bundled corpus's index answers with outcome "closest" (its closest passages, quoted)."""
    return first_with_outcome(pipeline, CLOSEST_CANDIDATES, "closest")


@pytest.fixture(scope="session")
def answered_question(pipeline: Any) -> str:
    """A question the bundled corpus's index answers with outcome "answer" (a confident answer)."""
    return first_with_outcome(pipeline, ANSWERED_CANDIDATES, "answer")


NEEDS_CHROMIUM = "the browser tests need Chromium: apt-get install -y chromium (or run bash .ci/run)"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; the test run stops (never skips quietly) when either is missing."""
    if not CHROMIUM.exists():
        pytest.exit(NEEDS_CHROMIUM, returncode=2)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.exit("the browser tests need the playwright package: make install (pip install -e '.[dev]')",
                    returncode=2)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
