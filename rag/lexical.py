"""Lexical retrieval: BM25 over Vietnamese keys, marked and unaccented.

Two BM25 indexes share the chunk ids: one on canonical keys (tone placed one
way, so "Quận ủy" finds "Quận uỷ"), one on folded keys (no marks, đ→d) for
questions typed without diacritics. The marked key is the stronger one: a
question with diacritics scores mostly on it, because folding merges words
("Đảng" and "đang").

Each index is a term-major sparse matrix of precomputed BM25 weights (the
Lucene variant, as bm25s computes it), stored as three .npy arrays that are
memory-mapped on load, plus the vocabulary as JSON. A query reads only the
postings of its own terms: no per-query work over all chunks besides adding
those postings up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.text import content_terms, has_diacritics, terms

FOLDED_WEIGHT = 0.3  # weight of the unaccented match when the question has marks
K1 = 1.5
B = 0.75
BATCH = 4096  # chunks tokenized before their postings are packed into arrays


class BM25:
    """One BM25 index: vocabulary plus postings (chunk ids and weights) per term."""

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, ids: np.ndarray, weights: np.ndarray, size: int):
        self.vocab = vocab
        self.indptr = indptr
        self.ids = ids
        self.weights = weights
        self.size = size

    @classmethod
    def build(cls, tokenized: Iterable[list[str]]) -> BM25:
        """Index token lists; the i-th list is chunk id i."""
        vocab: dict[str, int] = {}
        term_parts: list[np.ndarray] = []
        doc_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        lengths: list[int] = []
        pending: list[np.ndarray] = []

        def pack() -> None:
            for ids in pending:
                doc = len(lengths)
                lengths.append(len(ids))
                unique, counts = np.unique(ids, return_counts=True)
                term_parts.append(unique)
                doc_parts.append(np.full(len(unique), doc, dtype=np.int32))
                tf_parts.append(counts.astype(np.float32))
            pending.clear()

        for tokens in tokenized:
            pending.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), np.int32, len(tokens)))
            if len(pending) >= BATCH:
                pack()
        pack()
        size = len(lengths)
        if not term_parts:
            empty = np.zeros(0, dtype=np.int32)
            return cls(vocab, np.zeros(len(vocab) + 1, dtype=np.int64), empty, empty.astype(np.float32), size)
        term = np.concatenate(term_parts)
        doc = np.concatenate(doc_parts)
        tf = np.concatenate(tf_parts)
        for parts in (term_parts, doc_parts, tf_parts):
            parts.clear()  # the concatenated copies are all that is needed now
        order = np.argsort(term, kind="stable")  # term-major; chunk ids stay ascending within a term
        term, doc, tf = term[order], doc[order], tf[order]
        df = np.bincount(term, minlength=len(vocab))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        length = np.asarray(lengths, dtype=np.float32)
        norm = K1 * (1 - B + B * length / max(float(length.mean()), 1.0))
        idf = np.log(1.0 + (size - df + 0.5) / (df + 0.5)).astype(np.float32)
        weights = (idf[term] * tf * (K1 + 1) / (tf + norm[doc])).astype(np.float32)
        return cls(vocab, indptr, doc, weights, size)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "indptr.npy", self.indptr)
        np.save(folder / "ids.npy", self.ids)
        np.save(folder / "weights.npy", self.weights)
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "vocab.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25:
        """Read what `save` wrote; the postings stay on disk, memory-mapped."""
        words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        indptr = np.load(folder / "indptr.npy", mmap_mode="r")
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        weights = np.load(folder / "weights.npy", mmap_mode="r")
        if len(indptr) != len(words) + 1 or len(ids) != len(weights) or int(indptr[-1]) != len(ids):
            raise ValueError(f"the lexical index in {folder} is inconsistent")
        if len(ids) and int(ids.max(initial=0)) >= size:
            raise ValueError(f"the lexical index in {folder} names chunks the index does not have")
        return cls({w: i for i, w in enumerate(words)}, indptr, ids, weights, size)

    def add_scores(self, out: np.ndarray, query: Iterable[str], scale: float = 1.0) -> None:
        """Add the BM25 score of every chunk for the query terms into `out`."""
        for t in query:
            token = self.vocab.get(t)
            if token is None:
                continue
            a, b = int(self.indptr[token]), int(self.indptr[token + 1])
            # Within one term each chunk appears once, so plain fancy-index addition is exact.
            if scale == 1.0:
                out[self.ids[a:b]] += self.weights[a:b]
            else:
                out[self.ids[a:b]] += scale * self.weights[a:b]

    def df(self, term: str) -> int:
        token = self.vocab.get(term)
        return 0 if token is None else int(self.indptr[token + 1] - self.indptr[token])


class LexicalIndex:
    """BM25 over canonical and folded terms of each chunk."""

    def __init__(self, marked: BM25, folded: BM25, size: int) -> None:
        self.marked = marked
        self.folded = folded
        self.size = size

    @classmethod
    def build(cls, texts: Iterable[str] | list[str]) -> LexicalIndex:
        """Index `texts`; row i is chunk id i."""
        texts = list(texts)
        marked = BM25.build(terms(t) for t in texts)
        folded = BM25.build(terms(t, folded=True) for t in texts)
        return cls(marked, folded, len(texts))

    def save(self, folder: Path) -> None:
        """Write both indexes as .npy and .json files (no pickle)."""
        self.marked.save(folder / "marked")
        self.folded.save(folder / "folded")

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read the indexes written by `save`, memory-mapped."""
        return cls(BM25.load(folder / "marked", size), BM25.load(folder / "folded", size), size)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every chunk for `question` (zeros when nothing matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        folded_terms = content_terms(question, folded=True)
        if has_diacritics(question):
            self.marked.add_scores(out, content_terms(question))
            self.folded.add_scores(out, folded_terms, FOLDED_WEIGHT)
        else:
            self.folded.add_scores(out, folded_terms)
        return out

    def search(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score, best first."""
        scores = self.scores(question)
        k = min(k, len(scores))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top]

    def has(self, term: str, *, folded: bool = False) -> bool:
        """True when some chunk contains `term`."""
        return term in (self.folded if folded else self.marked).vocab

    def idf(self, term: str, *, folded: bool = False) -> float:
        """Inverse document frequency of a term; a term no chunk has gets the highest."""
        df = (self.folded if folded else self.marked).df(term)
        n = max(self.size, 1)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
