"""Settings: command-line flags, then HOIDAP_* environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.errors import HoidapError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
RETRIEVAL_MODES = ("hybrid", "dense", "lexical")
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Settings:
    """Every setting of hoidap, built once and passed explicitly."""

    corpus_dir: Path = Path("data/corpus")
    index_dir: Path = Path("data/index")
    # None means the default model, with the offline fallback allowed.
    embedding_model: str | None = None
    chunk_size: int = 600
    chunk_overlap: int = 120
    k: int = 5
    retrieval: str = "hybrid"
    allowed_origins: tuple[str, ...] = ()
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by the HOIDAP_* variables of `env` (default: os.environ)."""
        env = os.environ if env is None else env
        base = cls()

        def get(name: str) -> str | None:
            value = env.get(f"HOIDAP_{name}", "").strip()
            return value or None

        def get_int(name: str, default: int) -> int:
            value = get(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError:
                raise HoidapError(
                    f"HOIDAP_{name}={value!r} is not a whole number; set it to e.g. {default}"
                ) from None

        origins = get("ALLOWED_ORIGINS")
        return cls(
            corpus_dir=Path(get("CORPUS_DIR") or base.corpus_dir),
            index_dir=Path(get("INDEX_DIR") or base.index_dir),
            embedding_model=get("EMBEDDING_MODEL"),
            chunk_size=get_int("CHUNK_SIZE", base.chunk_size),
            chunk_overlap=get_int("CHUNK_OVERLAP", base.chunk_overlap),
            allowed_origins=tuple(o.strip() for o in (origins or "").split(",") if o.strip()),
            llm_base_url=get("LLM_BASE_URL"),
            llm_model=get("LLM_MODEL"),
            llm_api_key=get("LLM_API_KEY"),
        ).checked()

    def checked(self) -> Settings:
        """Return self, or raise a HoidapError naming the bad setting and the fix."""
        if self.chunk_size < 100:
            raise HoidapError(f"chunk size {self.chunk_size} is too small; use at least 100")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise HoidapError(
                f"chunk overlap {self.chunk_overlap} must be between 0 and the chunk size "
                f"({self.chunk_size}); use e.g. {self.chunk_size // 5}"
            )
        if self.k < 1 or self.k > 50:
            raise HoidapError(f"k of {self.k} is out of range; use a value from 1 to 50")
        if self.retrieval not in RETRIEVAL_MODES:
            raise HoidapError(
                f"unknown retrieval mode {self.retrieval!r}; use one of {', '.join(RETRIEVAL_MODES)}"
            )
        return self
