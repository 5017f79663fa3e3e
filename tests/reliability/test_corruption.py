"""Damaged indexes: `hoidap ask` exits 2 with one line; `hoidap serve` starts anyway and answers 503 with the reason."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_one_line_error, run_cli

from rag.index import FILES, MANIFEST
from ui.server import NO_INDEX_VI

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
VECTORS = next(name for name in FILES if name.endswith(".faiss"))
DAMAGES = [
    "truncated vectors",
    "manifest not JSON",
    "manifest with a wrong count",
    *(f"missing {name}" for name in FILES),
    "built by another model",
]


def damaged_copy(index_dir: Path, tmp_path: Path, damage: str) -> tuple[Path, dict[str, str], str]:
    """A damaged copy of the shared index: (folder, environment to run with, a word the message must hold)."""
    folder = tmp_path / "ix"
    shutil.copytree(index_dir, folder)
    manifest = folder / MANIFEST
    if damage == "truncated vectors":
        data = (folder / VECTORS).read_bytes()
        (folder / VECTORS).write_bytes(data[: len(data) // 2])
    elif damage == "manifest not JSON":
        manifest.write_text('{"format": 2, "model": ', "utf-8")
    elif damage == "manifest with a wrong count":
        fields = json.loads(manifest.read_text("utf-8"))
        fields["counts"]["chunks"] += 3
        manifest.write_text(json.dumps(fields), "utf-8")
    elif damage.startswith("missing "):
        missing = folder / damage.removeprefix("missing ")
        if missing.is_dir():
            shutil.rmtree(missing)
        else:
            missing.unlink()
    else:
        # The model folder named does not even load: the mismatch must be reported before trying.
        other = tmp_path / "other-model"
        other.mkdir()
        return folder, {"HOIDAP_EMBEDDING_MODEL": str(other)}, "re-index"
    return folder, {}, "hoidap index"


@pytest.fixture(scope="module")
def damaged(index_dir: Path, tmp_path_factory: pytest.TempPathFactory, launch_server: Any) -> Iterator[dict[str, Any]]:
    """Every damage: {damage: (folder, env, word, server)}, the servers started side by side to save time."""
    cases = {}
    for damage in DAMAGES:
        folder, env, word = damaged_copy(index_dir, tmp_path_factory.mktemp("damaged"), damage)
        cases[damage] = (folder, env, word, launch_server(folder, env))
    try:
        for *_, server in cases.values():
            server.start()
        yield cases
    finally:
        for *_, server in cases.values():
            server.stop()


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_index_is_reported_by_ask_and_serve(damaged: dict[str, Any], damage: str) -> None:
    folder, env, word, server = damaged[damage]
    result = run_cli("ask", "--index", str(folder), QUESTION, env=env)
    assert_one_line_error(result, word)
    message = result.stderr.strip().removeprefix("hoidap: error: ")

    status, data = server.ask({"question": QUESTION})
    assert (status, data) == (503, {"error": NO_INDEX_VI.format(problem=message)})  # the widget shows it
    status, data = server.health()
    assert (status, data) == (503, {"status": "error", "error": message})
    assert server.request("GET", "/widget")[0] == 200  # the rest of the server works

    server.stop()
    assert "Traceback" not in server.errors
    said = [line for line in server.errors.splitlines() if line.startswith("hoidap:")]
    assert len(said) == 1 and said[0].startswith(f"hoidap: warning: {message}; serving anyway"), said
