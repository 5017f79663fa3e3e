"""The ask pipeline: question → retrieval → extractive answer, and its JSON form."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer import Answerer
from rag.errors import BadQuestion, ModelError
from rag.glossary import expand
from rag.index import Index, load_index
from rag.records import Answer
from rag.retrieval import retrieve
from rag.settings import MAX_QUESTION_CHARS, RETRIEVAL_MODES, Settings
from rag.text import nfc

if TYPE_CHECKING:
    from embeddings.encoder import Encoder

ANSWER_DEPTH = 10  # the answerer reads this many passages, even when fewer are shown
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_question(question: object) -> str:
    """The question as NFC text without control characters; raises BadQuestion."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text")
    text = _CONTROL.sub(" ", nfc(question)).strip()
    if not text:
        raise BadQuestion('the question is empty; type a question, e.g. "4 mục tiêu năm 2021 là gì?"')
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"the question is {len(text)} characters long; keep it under {MAX_QUESTION_CHARS}"
        )
    return text


def same_model(a: str, b: str) -> bool:
    """True when two model settings name the same model (paths compared resolved)."""
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


class Pipeline:
    """A loaded index, its embedding model and the answerer, ready to answer questions."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings
        self.answerer = Answerer(index)

    @classmethod
    def open(cls, settings: Settings) -> Pipeline:
        """Load the index at `settings.index_dir` and the model that built it.

        Raises:
            IndexMissing: no index, or a damaged one.
            ModelError: the settings name another model than the index's, or it cannot load.
        """
        from embeddings.encoder import ModelLoadError, open_encoder

        index = load_index(settings.index_dir)
        named = settings.embedding_model
        if named is not None and not same_model(named, index.model):
            raise ModelError(
                f"the index was built with {index.model} but HOIDAP_EMBEDDING_MODEL names {named}; "
                "run `hoidap index` to re-index with it, or unset HOIDAP_EMBEDDING_MODEL"
            )
        try:
            encoder = open_encoder(index.model, index.fallback_model)
        except ModelLoadError as exc:
            raise ModelError(f"{exc}; the index needs this model, or re-index with another") from None
        if encoder.dim != index.vectors.dim:
            raise ModelError(
                f"{index.model} gives {encoder.dim}-dimensional vectors but the index holds "
                f"{index.vectors.dim}; run `hoidap index` to rebuild it"
            )
        return cls(index, encoder, settings)

    def ask(self, question: object, k: int | None = None, mode: str | None = None) -> Answer:
        """Answer one question.

        Args:
            question: the user's question (any text; it is checked and normalized).
            k: passages to retrieve (default: settings.k).
            mode: "hybrid", "dense" or "lexical" (default: settings.retrieval).

        Raises:
            BadQuestion: empty, too long or not text.
        """
        text = clean_question(question)
        k = self.settings.k if k is None else k
        mode = self.settings.retrieval if mode is None else mode
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
            raise BadQuestion("k must be a whole number from 1 to 50")
        if mode not in RETRIEVAL_MODES:
            raise BadQuestion(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        t0 = time.perf_counter()
        vector = self.encoder.encode_queries([text])[0] if mode != "lexical" else None
        # An English question is searched and judged by the Vietnamese terms it names.
        search = expand(text)
        retrieved = retrieve(self.index, search, vector, max(k, ANSWER_DEPTH), mode)
        t1 = time.perf_counter()
        folded = True if search != text else None
        said, refused, citations, passages = self.answerer.answer(search, retrieved, folded)
        t2 = time.perf_counter()
        return Answer(
            question=text,
            text=said,
            refused=refused,
            citations=citations,
            passages=passages[:k],
            model=self.index.model,
            timings_ms={
                "retrieve": round((t1 - t0) * 1000, 2),
                "answer": round((t2 - t1) * 1000, 2),
                "total": round((t2 - t0) * 1000, 2),
            },
        )

    def health(self) -> dict[str, Any]:
        """The /api/health object."""
        return {
            "status": "ok",
            "model": self.index.model,
            "fallback_model": self.index.fallback_model,
            "documents": len(self.index.documents),
            "chunks": len(self.index.chunks),
        }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer object of contracts.md."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [
            {
                "n": c.n,
                "doc": c.doc,
                "title": c.title,
                "date": c.date,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
            }
            for c in answer.citations
        ],
        "passages": [
            {
                "rank": p.rank,
                "doc": p.chunk.doc,
                "start": p.chunk.start,
                "end": p.chunk.end,
                "score": p.score,
                "text": p.chunk.text,
            }
            for p in answer.passages
        ],
        "model": answer.model,
        "timings_ms": answer.timings_ms,
    }
