"""Lexical retrieval: BM25 (bm25s) over Vietnamese keys, marked and unaccented.

Two BM25 indexes share the chunk ids: one on canonical keys (tone placed one
way, so "Quận ủy" finds "Quận uỷ"), one on folded keys (no marks, đ→d) for
questions typed without diacritics. The marked key is the stronger one: a
question with diacritics scores mostly on it, because folding merges words
("Đảng" and "đang").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from rag.text import content_terms, has_diacritics, terms

FOLDED_WEIGHT = 0.3  # weight of the unaccented match when the question has marks


class LexicalIndex:
    """BM25 over canonical and folded terms of each chunk."""

    def __init__(self, marked: bm25s.BM25, folded: bm25s.BM25, size: int) -> None:
        self.marked = marked
        self.folded = folded
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index `texts`; row i is chunk id i."""
        marked, folded = bm25s.BM25(), bm25s.BM25()
        progress = len(texts) >= 10_000
        marked.index([terms(t) for t in texts], show_progress=progress)
        folded.index([terms(t, folded=True) for t in texts], show_progress=progress)
        return cls(marked, folded, len(texts))

    def save(self, folder: Path) -> None:
        """Write both indexes as .npy and .json files (no pickle)."""
        self.marked.save(str(folder / "marked"), show_progress=False)
        self.folded.save(str(folder / "folded"), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read the indexes written by `save`, memory-mapped."""
        marked = bm25s.BM25.load(str(folder / "marked"), mmap=True, show_progress=False)
        folded = bm25s.BM25.load(str(folder / "folded"), mmap=True, show_progress=False)
        return cls(marked, folded, size)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every chunk for `question` (zeros when nothing matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        folded_terms = [t for t in content_terms(question, folded=True) if t in self.folded.vocab_dict]
        if has_diacritics(question):
            marked_terms = [t for t in content_terms(question) if t in self.marked.vocab_dict]
            if marked_terms:
                out += self.marked.get_scores(marked_terms)
            if folded_terms:
                out += FOLDED_WEIGHT * self.folded.get_scores(folded_terms)
        elif folded_terms:
            out += self.folded.get_scores(folded_terms)
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
        return term in (self.folded if folded else self.marked).vocab_dict

    def idf(self, term: str, *, folded: bool = False) -> float:
        """Inverse document frequency of a term; a term no chunk has gets the highest."""
        bm25 = self.folded if folded else self.marked
        n = max(self.size, 1)
        token = bm25.vocab_dict.get(term)
        if token is None:
            df = 0
        else:
            indptr = bm25.scores["indptr"]
            df = int(indptr[token + 1] - indptr[token])
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
