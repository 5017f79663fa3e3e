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
