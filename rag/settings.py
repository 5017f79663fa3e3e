"""Settings: command-line flags, then HOIDAP_* environment variables, then defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.errors import HoidapError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
RETRIEVAL_MODES = ("hybrid", "dense", "lexical")
MAX_QUESTION_CHARS = 2000
MAX_TITLE_CHARS = 80
COLOR = re.compile(r"#[0-9a-f]{6}")


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
    # The server's own records (jobs, question log, feedback): an SQLite file in this folder.
    data_dir: Path = Path("data")
    # Write routes (upload, delete, re-index) and the question log need this bearer token; None: disabled.
    admin_token: str | None = None
    max_upload_mb: int = 50
    log_clients: bool = False  # store the asker's IP address and user agent with each logged question
    title: str = "Hỏi đáp tài liệu"  # the agency's name for the chat page and the widget
    brand_color: str = "#1d4ed8"  # buttons, links and accents of the chat page and the widget
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
        clients = (get("LOG_CLIENTS") or "false").lower()
        if clients not in ("true", "false", "1", "0", "yes", "no"):
            raise HoidapError(f"HOIDAP_LOG_CLIENTS={clients!r} is not true or false; set it to true or false")
        return cls(
            corpus_dir=Path(get("CORPUS_DIR") or base.corpus_dir),
            index_dir=Path(get("INDEX_DIR") or base.index_dir),
            embedding_model=get("EMBEDDING_MODEL"),
            chunk_size=get_int("CHUNK_SIZE", base.chunk_size),
            chunk_overlap=get_int("CHUNK_OVERLAP", base.chunk_overlap),
            allowed_origins=tuple(o.strip() for o in (origins or "").split(",") if o.strip()),
            data_dir=Path(get("DATA_DIR") or base.data_dir),
            admin_token=get("ADMIN_TOKEN"),
            max_upload_mb=get_int("MAX_UPLOAD_MB", base.max_upload_mb),
            log_clients=clients in ("true", "1", "yes"),
            title=get("TITLE") or base.title,
            brand_color=(get("BRAND_COLOR") or base.brand_color).lower(),
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
        if not 1 <= self.max_upload_mb <= 2048:
            raise HoidapError(f"HOIDAP_MAX_UPLOAD_MB={self.max_upload_mb} is out of range; use 1 to 2048 (MB)")
        if self.admin_token is not None and (len(self.admin_token) < 12 or not self.admin_token.isascii()):
            raise HoidapError(
                "HOIDAP_ADMIN_TOKEN is too weak or not plain ASCII; use 12 or more random characters, "
                "e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        if len(self.title) > MAX_TITLE_CHARS or any(ch in self.title for ch in "<>\n"):
            raise HoidapError(
                f"HOIDAP_TITLE must be one line of at most {MAX_TITLE_CHARS} characters without < or >, "
                'e.g. "Hỏi đáp văn bản — Sở Nội vụ"'
            )
        if not COLOR.fullmatch(self.brand_color):
            raise HoidapError(
                f"HOIDAP_BRAND_COLOR={self.brand_color!r} is not a colour like #1d4ed8; use # and 6 hex digits"
            )
        return self
