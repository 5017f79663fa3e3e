"""Model folders for offline machines: fetch a hub model into a folder, and check that a folder loads offline.

A machine with internet runs `download`; the folder is copied to the intranet server, where
`check_folder` proves it loads without the hub and `HOIDAP_EMBEDDING_MODEL=/path/to/folder` uses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from embeddings.encoder import PACKAGED_MODEL, first_line, loading_status, packaged_model_path

# What `download` records in the folder: the hub name and revision it holds (a folder's own name may be anything).
SOURCE_FILE = "hoidap-model.json"
# Formats sentence-transformers on torch never reads: ONNX, OpenVINO, TensorFlow, Flax, Rust, Core ML, GGUF.
SKIP_FOLDERS = ("onnx/", "openvino/", "coreml/", "tflite/")
SKIP_SUFFIXES = (".onnx", ".onnx_data", ".h5", ".msgpack", ".ot", ".tflite", ".mlmodel", ".gguf", ".gitattributes")
PROBE = "Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam."
# E5 models are trained with these prefixes but their hub folders do not say so; written into the copy,
# the folder encodes correctly under any name (hoidap otherwise recognizes E5 by "e5" in the name).
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
OFFLINE_VALUES = ("1", "true", "yes", "on")

Log = Callable[[str], None]


class ModelFolderError(Exception):
    """A model folder cannot be made or used; the message says why and what to do."""


@dataclass(frozen=True)
class ModelFolder:
    """A model folder that loads offline."""

    path: Path
    name: str  # the hub name it was downloaded from, else the folder's name
    revision: str | None  # the hub commit it holds, when known
    dim: int
    max_tokens: int | None
    languages: tuple[str, ...]  # from the model card; empty when it names none
    files: int
    bytes: int

    @property
    def vietnamese(self) -> bool | None:
        """True when the model card lists Vietnamese (or "multilingual"), False when it lists others, None if none."""
        if not self.languages:
            return None
        return bool({"vi", "multilingual"} & set(self.languages))


def human_size(n: int) -> str:
    """A byte count for people: 90.9 MB, 1.1 GB."""
    if n >= 1000**3:
        return f"{n / 1000**3:.1f} GB"
    return f"{n / 1000**2:.1f} MB"


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under `folder`."""
    sizes = [f.stat().st_size for f in folder.rglob("*") if f.is_file()]
    return len(sizes), sum(sizes)


def card_languages(folder: Path) -> tuple[str, ...]:
    """The `language:` of the model card's front matter (README.md), as a tuple of codes."""
    try:
        text = (folder / "README.md").read_text("utf-8", errors="replace")
    except OSError:
        return ()
    front = re.match(r"---\n(.*?)\n---", text, re.DOTALL)
    if not front:
        return ()
    lines = front.group(1).splitlines()
    for i, line in enumerate(lines):
        found = re.match(r"language:\s*(.*)$", line)
        if not found:
            continue
        value = found.group(1).strip()
        if value.startswith("["):
            return tuple(v.strip(" '\"") for v in value.strip("[]").split(",") if v.strip(" '\""))
        if value:
            return (value.strip("'\""),)
        items = []
        for item in lines[i + 1 :]:
            listed = re.match(r"\s*-\s*(.+)$", item)
            if not listed:
                break
            items.append(listed.group(1).strip(" '\""))
        return tuple(items)
    return ()


class _Unusable(Exception):
    """The folder has model files that do not load or embed; the message says how (no folder, no fix)."""


def check_folder(folder: Path) -> ModelFolder:
    """Load `folder` as sentence-transformers does, without the hub, and embed one Vietnamese sentence.

    Raises:
        ModelFolderError: the folder is missing, holds no model, or the model does not load or embed.
    """
    fix = "download one with `hoidap model download --to DIR` on a machine with internet and copy it here"
    if not folder.exists():
        raise ModelFolderError(f"there is no folder {folder}; {fix}")
    if not folder.is_dir():
        raise ModelFolderError(f"{folder} is a file, not a model folder; {fix}")
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ModelFolderError(f"{folder} holds no model (no modules.json or config.json); {fix}")
    try:
        return _probe(folder, str(folder))
    except _Unusable as exc:
        raise ModelFolderError(f"{folder} {exc}; it may be incomplete: copy it again, or {fix}") from None


def _probe(folder: Path, label: str) -> ModelFolder:
    """Load the model in `folder` (named `label` in the loading line), embed one sentence, describe it."""
    from sentence_transformers import SentenceTransformer

    try:
        with loading_status(label):
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        vector = np.asarray(model.encode([PROBE], normalize_embeddings=True), dtype=np.float32)
    except Exception as exc:
        raise _Unusable(f"does not load as a sentence-transformers model ({first_line(exc)})") from None
    dim = int(model.get_embedding_dimension() or vector.shape[-1])
    if vector.shape != (1, dim) or not np.isfinite(vector).all():
        raise _Unusable("loads but gives no usable vectors")
    source: object = {}
    with contextlib.suppress(OSError, ValueError):
        source = json.loads((folder / SOURCE_FILE).read_text("utf-8"))
    if not isinstance(source, dict):
        source = {}
    if folder.resolve() == Path(packaged_model_path()).resolve():
        source = {"name": f"{PACKAGED_MODEL} (all-MiniLM-L6-v2, packaged with hoidap)"}
    files, size = folder_size(folder)
    return ModelFolder(
        path=folder,
        name=str(source.get("name") or folder.resolve().name),
        revision=str(source["revision"]) if source.get("revision") else None,
        dim=dim,
        max_tokens=model.max_seq_length,
        languages=card_languages(folder),
        files=files,
        bytes=size,
    )


@contextlib.contextmanager
def hub_bars(show: bool) -> Iterator[None]:
    """The hub's download progress bars on (a terminal) or off (a log) for a while."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    were_on = not are_progress_bars_disabled()
    if not show and were_on:
        disable_progress_bars()
    try:
        yield
    finally:
        if not show and were_on:
            enable_progress_bars()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in OFFLINE_VALUES


def needs_internet(why: str) -> ModelFolderError:
    return ModelFolderError(
        f"{why}: downloading a model needs a machine with internet; run `hoidap model download` there, "
        "then copy the folder to this one"
    )


OFFLINE_SET = "HF_HUB_OFFLINE is set, so the model hub is not asked (unset it on a machine with internet)"


def _network_error(exc: BaseException) -> bool:
    """True for a connection that failed or timed out (the hub's HTTP client raises its own classes)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    # httpx-style (hub >= 1.0) and requests-style (hub < 1.0) class names.
    return bool(names & {"TransportError", "NetworkError", "ConnectError", "TimeoutException", "ProxyError",
                         "ConnectionError", "Timeout"})


def _hub_error(exc: Exception, name: str, revision: str | None, endpoint: str) -> ModelFolderError:
    """A hub library error as one line that says what to do."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, OfflineModeIsEnabled):
        return needs_internet(OFFLINE_SET)
    if isinstance(exc, LocalEntryNotFoundError) or _network_error(exc):
        return needs_internet(f"cannot reach the model hub at {endpoint} ({first_line(exc)})")
    if isinstance(exc, GatedRepoError):
        return ModelFolderError(
            f"{name} is gated: accept its terms on its hub page and log in with `hf auth login`, then try again"
        )
    if isinstance(exc, RevisionNotFoundError):
        return ModelFolderError(f"{name} has no revision {revision!r}; leave out --revision for the latest")
    if isinstance(exc, RepositoryNotFoundError):
        return ModelFolderError(
            f"{name} is not a model on the hub; check the name (e.g. intfloat/multilingual-e5-small)"
        )
    if isinstance(exc, HfHubHTTPError):
        return ModelFolderError(f"the model hub refused {name} ({first_line(exc)}); try again later")
    if isinstance(exc, ValueError):  # the hub library's check of a repository name
        return ModelFolderError(f"{name!r} is not a hub model name; give one like intfloat/multilingual-e5-small")
    return ModelFolderError(f"cannot download {name} ({first_line(exc)})")


def files_to_fetch(repo_files: list[str]) -> list[str]:
    """The files sentence-transformers needs: no other formats, and no .bin weights beside safetensors ones."""
    wanted = [
        f for f in repo_files if not f.startswith(SKIP_FOLDERS) and not f.lower().endswith(SKIP_SUFFIXES)
    ]
    if any(f.endswith(".safetensors") for f in wanted):
        wanted = [f for f in wanted if not f.endswith((".bin", ".pt"))]
    return sorted(wanted)


def download(
    name: str, dest: Path, revision: str | None = None, log: Log = lambda _m: None, bars: bool = False
) -> ModelFolder:
    """Download the hub model `name` into the new folder `dest`, check that it loads offline, and describe it.

    The files go to a hidden sibling folder first, renamed to `dest` only when all are there and
    the model loads: an interrupted or failed download leaves nothing behind.

    Args:
        name: a hub model name, e.g. intfloat/multilingual-e5-small.
        dest: the folder to create; it must not exist, or be empty.
        revision: a branch, tag or commit of the model; default: the latest.
        log: where progress lines go.
        bars: show the hub's download progress bars (for a terminal).

    Raises:
        ModelFolderError: no internet, no such model, `dest` in the way, or a model that does not load.
    """
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    if hub_offline():
        raise needs_internet(OFFLINE_SET)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ModelFolderError(f"{dest} already exists; name a new folder with --to, or delete it first")

    from huggingface_hub import HfApi, snapshot_download

    try:
        info = HfApi(endpoint=endpoint).model_info(name, revision=revision, files_metadata=True)
    except Exception as exc:
        raise _hub_error(exc, name, revision, endpoint) from None
    sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
    files = files_to_fetch(list(sizes))
    if not ({"modules.json", "config.json"} & set(files)):
        raise ModelFolderError(
            f"{name} is not a sentence-transformers model (no modules.json or config.json); "
            "choose one tagged sentence-transformers, e.g. intfloat/multilingual-e5-small"
        )
    commit = info.sha or revision
    log(
        f"hoidap: downloading {name}{f' (revision {commit[:12]})' if commit else ''}: "
        f"{len(files)} files, {human_size(sum(sizes[f] for f in files))}"
    )

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=f".{dest.name}.part-", dir=dest.parent))
    except OSError as exc:
        raise ModelFolderError(f"cannot write to {dest.parent} ({exc.strerror or exc}); choose another --to") from None
    try:
        try:
            with hub_bars(bars):
                snapshot_download(name, revision=commit, local_dir=part, allow_patterns=files, endpoint=endpoint)
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno is not None and not _network_error(exc):
                raise ModelFolderError(f"cannot write the model to {dest.parent} ({first_line(exc)})") from None
            raise _hub_error(exc, name, revision, endpoint) from None
        shutil.rmtree(part / ".cache", ignore_errors=True)  # the hub's download bookkeeping; not part of the model
        missing = [f for f in files if not (part / f).is_file()]
        if missing:
            listed = ", ".join(missing[:3])
            raise ModelFolderError(f"the download of {name} is incomplete ({listed} missing); try again")
        prompts = _add_e5_prompts(part, name)
        (part / SOURCE_FILE).write_text(
            json.dumps(
                {
                    "name": name,
                    "revision": commit,
                    "downloaded": datetime.now(UTC).isoformat(timespec="seconds"),
                    "prompts_added": prompts,
                },
                indent=2,
            )
            + "\n",
            "utf-8",
        )
        try:
            checked = _probe(part, name)
        except _Unusable as exc:
            raise ModelFolderError(f"the download of {name} {exc}; try again, or choose another model") from None
        part.chmod(0o755)  # mkdtemp's 0700 would travel with `scp -r` and lock out the server's service user
        try:
            if dest.exists():
                dest.rmdir()  # empty, checked above
            part.rename(dest)
        except OSError as exc:
            raise ModelFolderError(f"cannot move the model into {dest} ({exc.strerror or exc}); try again") from None
    finally:
        shutil.rmtree(part, ignore_errors=True)  # gone after the rename; a failed download's leftovers
    files_n, size = folder_size(dest)
    return ModelFolder(
        path=dest,
        name=checked.name,
        revision=checked.revision,
        dim=checked.dim,
        max_tokens=checked.max_tokens,
        languages=checked.languages,
        files=files_n,
        bytes=size,
    )


def _add_e5_prompts(folder: Path, name: str) -> bool:
    """Write E5's query/passage prefixes into the folder's sentence-transformers config when it has none."""
    if "e5" not in name.lower():
        return False
    path = folder / "config_sentence_transformers.json"
    try:
        config = json.loads(path.read_text("utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        return False
    if not isinstance(config, dict) or config.get("prompts"):
        return False
    config["prompts"] = dict(E5_PROMPTS)
    path.write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    return True
