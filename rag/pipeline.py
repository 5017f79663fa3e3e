"""The ask pipeline: question → retrieval → extractive answer, and its JSON form; LivePipeline keeps a
server's pipeline in step with its index folder."""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer import Answerer, Question, analyze
from rag.documents import display_date
from rag.errors import BadQuestion, HoidapError, ModelError
from rag.glossary import expand
from rag.index import FILES, MANIFEST, Index, Log, load_index
from rag.records import Answer
from rag.retrieval import Retrieved, retrieve
from rag.settings import MAX_QUESTION_CHARS, RETRIEVAL_MODES, Settings
from rag.text import fold, nfc

if TYPE_CHECKING:
    from embeddings.encoder import Encoder

ANSWER_DEPTH = 15  # the answerer reads this many passages, even when fewer are shown
RELOAD_CHECK_S = 1.0  # a server looks at its index folder at most this often
# Control and invisible direction characters, and lone surrogates (JSON may carry "\ud800"; the tokenizer rejects it).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_question(question: object) -> str:
    """The question as NFC text without control characters; raises BadQuestion."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text", "Câu hỏi phải là văn bản.")
    text = _CONTROL.sub(" ", nfc(question)).strip()
    if not text:
        raise BadQuestion(
            'the question is empty; type a question, e.g. "4 mục tiêu năm 2021 là gì?"',
            "Câu hỏi đang trống; hãy nhập một câu hỏi.",
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"the question is {len(text)} characters long; keep it under {MAX_QUESTION_CHARS}",
            f"Câu hỏi dài {len(text)} ký tự; hãy rút gọn dưới {MAX_QUESTION_CHARS} ký tự.",
        )
    return text


# A question about the collection itself, as a whole question: "Có những tài liệu nào?", "Danh sách văn bản".
# Matched on the unaccented text; a question that goes on ("… tài liệu nào quy định học phí?") is not one.
_COLLECTION = re.compile(
    r"(?:(?:hien nay|hien tai|hien)\s+)?(?:(?:he thong|ban|kho|chi muc)\s+)?(?:(?:co|gom)\s+)?"
    r"(?:(?:nhung|cac|bao nhieu)\s+)(?:tai lieu|van ban)(?:\s+(?:nao|gi))?"
    r"(?:\s+(?:trong|o)\s+(?:he thong|kho|chi muc|bo tai lieu|day))?(?:\s+(?:vay|the|a|nhi))?"
    r"|(?:cho (?:toi|em|minh) )?(?:xem |biet )?(?:danh sach|liet ke)(?:\s+(?:cac|nhung|tat ca))?"
    r"\s+(?:tai lieu|van ban)(?:\s+(?:hien co|da co|trong he thong))?"
)
COLLECTION_SHOWN = 20  # documents named in the answer to a question about the collection


def is_collection_question(question: str) -> bool:
    """True when the question asks what documents there are, and nothing else."""
    folded = " ".join(fold(w) for w in re.findall(r"\w+", question))
    return _COLLECTION.fullmatch(folded) is not None


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
    def open(cls, settings: Settings, loaded: Encoder | None = None) -> Pipeline:
        """Load the index at `settings.index_dir` and the model that built it.

        `loaded` is an encoder already in memory (a server reloading its index): it is
        used when it is the index's model, instead of loading that model again.

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
            if loaded is not None and (loaded.name, loaded.fallback) == (index.model, index.fallback_model):
                encoder = loaded
            else:
                encoder = open_encoder(index.model, index.fallback_model)
        except ModelLoadError as exc:
            raise ModelError(f"{exc}; the index needs this model, or re-index with another") from None
        if encoder.dim != index.vectors.dim:
            raise ModelError(
                f"{index.model} gives {encoder.dim}-dimensional vectors but the index holds "
                f"{index.vectors.dim}; run `hoidap index` to rebuild it"
            )
        return cls(index, encoder, settings)

    def ask(self, question: object, k: int | None = None, mode: str | None = None, explain: bool = False) -> Answer:
        """Answer one question.

        Args:
            question: the user's question (any text; it is checked and normalized).
            k: passages to retrieve (default: settings.k).
            mode: "hybrid", "dense" or "lexical" (default: settings.retrieval).
            explain: keep the answerer's explanation (chosen sentence, runners-up, features).

        Raises:
            BadQuestion: empty, too long or not text.
        """
        text = clean_question(question)
        k = self.settings.k if k is None else k
        mode = self.settings.retrieval if mode is None else mode
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
            raise BadQuestion("k must be a whole number from 1 to 50", '"k" phải là số nguyên từ 1 đến 50.')
        if mode not in RETRIEVAL_MODES:
            raise BadQuestion(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        t0 = time.perf_counter()
        if is_collection_question(text):
            return self.collection_answer(text, t0, explain)
        parsed, retrieved = self.search(text, max(k, ANSWER_DEPTH), mode)
        t1 = time.perf_counter()
        said, outcome, citations, passages, why = self.answerer.answer(parsed, retrieved)
        t2 = time.perf_counter()
        return Answer(
            question=text,
            text=said,
            refused=outcome == "none",
            outcome=outcome,
            citations=citations,
            passages=passages[:k],
            model=self.index.model,
            timings_ms={
                "retrieve": round((t1 - t0) * 1000, 2),
                "answer": round((t2 - t1) * 1000, 2),
                "total": round((t2 - t0) * 1000, 2),
            },
            explain=why if explain else None,
        )

    def collection_answer(self, question: str, t0: float, explain: bool) -> Answer:
        """What documents there are: the count and the first titles, pointing to the full list."""
        catalog = self.index.catalog
        names = list(catalog)
        lines = [
            f"Bộ tài liệu có {len(names)} tài liệu. Danh sách đầy đủ ở mục «Tài liệu» của trang hỏi đáp "
            "(hoặc GET /api/documents):"
        ]
        for name in names[:COLLECTION_SHOWN]:
            entry = catalog[name]
            lines.append(f"- {entry['title']}" + (f" ({display_date(entry['date'])})" if entry["date"] else ""))
        if len(names) > COLLECTION_SHOWN:
            lines.append(f"- … và {len(names) - COLLECTION_SHOWN} tài liệu khác")
        total = round((time.perf_counter() - t0) * 1000, 2)
        return Answer(
            question=question,
            text="\n".join(lines),
            refused=False,
            citations=(),
            passages=(),
            model=self.index.model,
            timings_ms={"retrieve": 0.0, "answer": total, "total": total},
            explain={
                "verdict": "a question about the collection itself: the list of documents",
                "question": {"text": question},
                "chosen": None,
                "runners_up": [],
            }
            if explain
            else None,
        )

    def search(self, text: str, depth: int, mode: str) -> tuple[Question, Retrieved]:
        """The question parsed once, and the passages retrieved for it; the answerer reads both.

        An English question is searched and judged by the Vietnamese terms it names (a fallback
        for a model that does not read both languages).
        """
        vector = self.encoder.encode_queries([text])[0]  # the answerer weighs it in every mode
        search = expand(text) if self.index.fallback_model else text
        parsed = analyze(search, self.index, folded=True if search != text else None)
        return parsed, retrieve(self.index, parsed.text, vector, depth, mode)

    def health(self) -> dict[str, Any]:
        """The /api/health object."""
        return {
            "status": "ok",
            "model": self.index.model,
            "fallback_model": self.index.fallback_model,
            "documents": len(self.index.documents),
            "chunks": len(self.index.chunks),
            "formats": self.index.manifest.get("formats", {}),
        }


Stamp = tuple[tuple[int, int, int] | None, ...]


def index_stamp(folder: Path) -> Stamp:
    """What changes when an index is built, rebuilt or damaged: (mtime, size, inode) of each of its files."""
    stamp: list[tuple[int, int, int] | None] = []
    for name in (MANIFEST, *FILES):
        try:
            st = os.stat(folder / name)
        except OSError:
            stamp.append(None)
        else:
            stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamp)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LivePipeline:
    """The pipeline a long-running server answers with, reopened when its index folder changes.

    `get()` looks at the index files at most once per `interval_s` (math.inf: never), under a
    lock. A changed index is reopened; one that fails to open leaves the previous pipeline
    answering, with the reason in `problem`. Requests that come during a reload get the
    previous pipeline instead of waiting.
    """

    def __init__(self, settings: Settings, interval_s: float = RELOAD_CHECK_S, log: Log = _stderr) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.log = log
        self.pipeline: Pipeline | None = None
        self.problem = f"no index loaded from {settings.index_dir}; run `hoidap index`"
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._checked = -math.inf

    @classmethod
    def fixed(cls, pipeline: Pipeline | None, problem: str) -> LivePipeline:
        """A pipeline (or None, with `problem` saying why) that is never reloaded."""
        live = cls(pipeline.settings if pipeline else Settings(), interval_s=math.inf)
        live.pipeline, live.problem = pipeline, problem
        live._checked = math.inf  # never due for a check
        return live

    def get(self) -> Pipeline | None:
        """The current pipeline, or None when no index is usable (`problem` says why and what to do)."""
        if time.monotonic() - self._checked >= self.interval_s and self._lock.acquire(blocking=False):
            try:
                if time.monotonic() - self._checked >= self.interval_s:
                    self._refresh()
                    self._checked = time.monotonic()
            finally:
                self._lock.release()
        return self.pipeline

    def reload(self) -> Pipeline | None:
        """Look at the index folder now (after a build this process made), waiting for a reload in progress."""
        if self.interval_s == math.inf:
            return self.pipeline
        with self._lock:
            self._refresh()
            self._checked = time.monotonic()
        return self.pipeline

    def _refresh(self) -> None:
        folder = self.settings.index_dir
        stamp = index_stamp(folder)
        if stamp == self._stamp:
            return
        first = self._stamp is None
        self._stamp = stamp
        if self.pipeline is not None and stamp[0] is None:
            return  # no manifest: a build is swapping folders, or the index was removed; keep answering
        try:
            pipeline = Pipeline.open(self.settings, self.pipeline.encoder if self.pipeline else None)
        except HoidapError as exc:
            failure = str(exc)
        except Exception as exc:
            if self.pipeline is None:
                raise
            failure = f"{type(exc).__name__}: {exc}"  # a bug, but the loaded index still answers well
        else:
            if not first:
                self.log(f"hoidap: loaded the new index at {folder}: {len(pipeline.index.documents)} documents")
            self.pipeline = pipeline
            return
        self.problem = failure
        if self.pipeline is not None:
            self.log(f"hoidap: warning: {failure}; still answering with the index loaded before")
        elif not first:
            self.log(f"hoidap: warning: {failure}")


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer object of contracts.md."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "outcome": answer.outcome,
        "citations": [
            {
                "n": c.n,
                "doc": c.doc,
                "title": c.title,
                "date": c.date,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "page": c.page,
                "section": c.section,
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
        "conversation": None,  # the server fills in the conversation this turn was logged in
        "understood_as": None,
        **({"explain": answer.explain} if answer.explain is not None else {}),
    }
