"""Jobs against real `hoidap serve` processes: a server killed with SIGKILL during an upload job, and
`hoidap index --watch` following files copied into the corpus folder by hand."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import QUIET_ENV, ROOT, long_report

from rag.database import FILE_NAME
from rag.index import load_index

TOKEN = "kill-test-token-0123456789"
WAIT_S = 300


def multipart(name: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = "hoidap-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {TOKEN}"}


def wait_for(server: Any, job: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status, state = server.request("GET", f"/api/jobs/{job}")
        assert status == 200, state
        if done(state):
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"job {job} never reached the state wanted: {state}")


def test_a_server_killed_during_an_upload_job(
    serve: Callable[..., Any], index_dir: Path, corpus_copy: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    env = {"HOIDAP_ADMIN_TOKEN": TOKEN, "HOIDAP_CORPUS_DIR": str(corpus_copy), "HOIDAP_DATA_DIR": str(tmp_path / "d")}
    server = serve(index, env)
    report = long_report(corpus_copy, 900, "Báo cáo tổng hợp năm 2026").encode()
    status, reply = server.request("POST", "/api/documents", *multipart("bao-cao-dai.txt", report))
    assert status == 202, reply
    job = reply["job"]
    wait_for(server, job, lambda s: s["state"] == "running" and "vectơ" in s["message"] and s["done"] > 0)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=30)

    # The previous index is whole; the SQLite file is consistent and remembers the job as running.
    assert set(load_index(index).documents) == {p.name for p in corpus_copy.glob("0*.txt")}
    with sqlite3.connect(tmp_path / "d" / FILE_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT state FROM jobs WHERE id = ?", (job,)).fetchone()[0] == "running"

    again = serve(index, env)  # the interrupted job runs again, then the next one runs
    assert wait_for(again, job, lambda s: s["state"] in ("done", "failed"))["state"] == "done"
    short = (corpus_copy / "000_cf24b04885448ff3.txt").read_bytes().replace(b"2021", b"2027")
    status, reply = again.request("POST", "/api/documents", *multipart("tin-ngan.txt", short))
    assert status == 202, reply
    assert wait_for(again, reply["job"], lambda s: s["state"] in ("done", "failed"))["state"] == "done"
    assert {"bao-cao-dai.txt", "tin-ngan.txt"} <= set(load_index(index).documents)
    assert not list(corpus_copy.glob(".hoidap-upload-*"))


def test_index_watch_follows_files_copied_by_hand(corpus_copy: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "index", "--watch", "--corpus", str(corpus_copy), "--index", str(index)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **QUIET_ENV}, cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while not (index / "manifest.json").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the first build did not finish"
            time.sleep(0.5)
        first = (index / "manifest.json").stat().st_mtime_ns
        time.sleep(6)  # nothing changed: no rebuild
        assert (index / "manifest.json").stat().st_mtime_ns == first
        shutil.copy(corpus_copy / "000_cf24b04885448ff3.txt", corpus_copy / "ban-sao.txt")
        while "ban-sao.txt" not in json.loads((index / "manifest.json").read_text("utf-8"))["documents"]:
            assert time.monotonic() < deadline and proc.poll() is None, "the copied file was not indexed"
            time.sleep(0.5)
        (corpus_copy / "ban-sao.txt").unlink()
        while "ban-sao.txt" in json.loads((index / "manifest.json").read_text("utf-8"))["documents"]:
            assert time.monotonic() < deadline and proc.poll() is None, "the removed file stayed in the index"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped watching" in err and "Traceback" not in err
    assert out.count("indexed 6 documents") == 1 and out.count("indexed 5 documents") == 2
