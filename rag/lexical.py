"""Lexical retrieval: BM25 over Vietnamese keys, marked and unaccented.

Two BM25 indexes share the chunk ids: one on canonical keys (tone placed one
way, so "Quận ủy" finds "Quận uỷ"), one on folded keys (no marks, đ→d) for
questions typed without diacritics. The marked key is the stronger one: a
question with diacritics scores mostly on it, because folding merges words
("Đảng" and "đang").

Keys are syllables and pairs of neighbouring syllables, not words: pyvi's word segmentation was
measured against them (`python -m eval.segmentation_trial`, packaged model) and lost, as words
instead of pairs (legal-dev hit@1 0.593 -> 0.518, statute-dev hit@5 0.929 -> 0.915, its confident
answers 0.319 -> 0.241; its one gain uit-dev hit@1 0.792 -> 0.808), and tied as words of three
syllables added to the pairs (statute-dev hit@1 0.716 -> 0.709, the other dev sets unchanged).

Each index is a term-major sparse matrix of precomputed BM25 weights (the
Lucene variant, as bm25s computes it), stored as three .npy arrays that are
memory-mapped on load, plus the vocabulary as JSON. A query reads only the
postings of its own terms: no per-query work over all chunks besides adding
those postings up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.text import content_terms, has_diacritics, terms

FOLDED_WEIGHT = 0.3  # weight of the unaccented match when the question has marks
PHRASE_MIN_IDF = 2.0  # a pair of question words counts as a phrase only if at most about 1 chunk in 8 has it
K1 = 1.5
B = 0.75
BATCH = 4096  # chunks tokenized before their postings are packed into arrays


def bm25_idf(df: np.ndarray, n: int) -> np.ndarray:
    """Lucene's BM25 idf of terms found in `df` of `n` chunks (always positive)."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))


class BM25:
    """One BM25 index: vocabulary plus postings (chunk ids, term counts, weights) per term."""

    def __init__(
        self,
        words: list[str],
        indptr: np.ndarray,
        ids: np.ndarray,
        counts: np.ndarray,
        weights: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.words = words
        self.vocab = {w: i for i, w in enumerate(words)}
        self.indptr = indptr
        self.ids = ids
        self.counts = counts  # kept so that a re-index can reuse unchanged chunks' postings
        self.weights = weights
        self.lengths = lengths
        self.size = len(lengths)

    @classmethod
    def update(cls, old: BM25 | None, keep: np.ndarray, new_ids: np.ndarray, tokenized: Iterable[list[str]]) -> BM25:
        """A new index from the postings `old` has for kept chunks plus new token lists.

        Args:
            old: the previous index, or None.
            keep: for each old chunk id, its new id, or -1 when it is gone.
            new_ids: the ids of the new chunks, in the order of `tokenized`.
            tokenized: token lists of the new chunks.
        """
        words = list(old.words) if old is not None else []
        vocab = {w: i for i, w in enumerate(words)}
        lengths = np.zeros(int((keep >= 0).sum()) + len(new_ids), dtype=np.int32)
        term_parts: list[np.ndarray] = [np.zeros(0, np.int32)]
        doc_parts: list[np.ndarray] = [np.zeros(0, np.int32)]
        count_parts: list[np.ndarray] = [np.zeros(0, np.float32)]
        if old is not None:
            kept = np.flatnonzero(keep >= 0)
            lengths[keep[kept]] = np.asarray(old.lengths)[kept]
            moved = keep[np.asarray(old.ids)]
            alive = moved >= 0
            term_parts.append(np.repeat(np.arange(len(old.words), dtype=np.int32), np.diff(old.indptr))[alive])
            doc_parts.append(moved[alive].astype(np.int32))
            count_parts.append(np.asarray(old.counts)[alive])
        pending: list[tuple[int, np.ndarray]] = []

        def pack() -> None:
            for doc, ids in pending:
                lengths[doc] = len(ids)
                unique, counts = np.unique(ids, return_counts=True)
                term_parts.append(unique)
                doc_parts.append(np.full(len(unique), doc, dtype=np.int32))
                count_parts.append(counts.astype(np.float32))
            pending.clear()

        for doc, tokens in zip(new_ids, tokenized, strict=True):
            pending.append((int(doc), np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), np.int32)))
            if len(pending) >= BATCH:
                pack()
        pack()
        words.extend(sorted(vocab, key=vocab.__getitem__)[len(words) :])
        return cls._weighed(words, term_parts, doc_parts, count_parts, lengths)

    @classmethod
    def _weighed(
        cls,
        words: list[str],
        term_parts: list[np.ndarray],
        doc_parts: list[np.ndarray],
        count_parts: list[np.ndarray],
        lengths: np.ndarray,
    ) -> BM25:
        """Sort postings term-major and compute their BM25 weights (Lucene idf and length norm)."""
        size = len(lengths)
        term = np.concatenate(term_parts)
        doc = np.concatenate(doc_parts)
        tf = np.concatenate(count_parts).astype(np.float32)
        # Term-major; the order of chunks within a term does not matter to scoring, and a
        # stable sort on the term alone is a fast radix sort.
        order = np.argsort(term, kind="stable")
        term, doc, tf = term[order], doc[order], tf[order]
        df = np.bincount(term, minlength=len(words))
        indptr = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        norm = K1 * (1 - B + B * lengths / max(float(lengths.mean()) if size else 1.0, 1.0))
        idf = bm25_idf(df, size).astype(np.float32)
        weights = (idf[term] * tf * (K1 + 1) / (tf + norm[doc])).astype(np.float32)
        return cls(words, indptr, doc, tf, weights, lengths)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("indptr", "ids", "counts", "weights", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "vocab.json").write_text(json.dumps(self.words, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25:
        """Read what `save` wrote; the postings stay on disk, memory-mapped."""
        words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r")
            for name in ("indptr", "ids", "counts", "weights", "lengths")
        }
        indptr, ids = arrays["indptr"], arrays["ids"]
        if (
            not isinstance(words, list)
            or len(indptr) != len(words) + 1
            or int(indptr[-1]) != len(ids)
            or len(arrays["weights"]) != len(ids)
            or len(arrays["counts"]) != len(ids)
            or len(arrays["lengths"]) != size
        ):
            raise ValueError(f"the lexical index in {folder} is inconsistent")
        return cls(words, indptr, ids, arrays["counts"], arrays["weights"], arrays["lengths"])

    def add_scores(self, out: np.ndarray, query: Iterable[str], scale: float = 1.0) -> None:
        """Add the BM25 score of every chunk for the query terms into `out`."""
        for t in query:
            token = self.vocab.get(t)
            if token is None:
                continue
            a, b = int(self.indptr[token]), int(self.indptr[token + 1])
            # ufunc.at is the fastest scatter-add in current numpy (about 2 ns a posting here).
            weights = self.weights[a:b]
            np.add.at(out, self.ids[a:b], weights if scale == 1.0 else scale * weights)

    def df(self, term: str) -> int:
        token = self.vocab.get(term)
        return 0 if token is None else int(self.indptr[token + 1] - self.indptr[token])


class LexicalIndex:
    """BM25 over canonical and folded terms of each chunk."""

    def __init__(self, marked: BM25, folded: BM25) -> None:
        self.marked = marked
        self.folded = folded

    @property
    def size(self) -> int:
        return self.marked.size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index `texts`; row i is chunk id i."""
        nothing, ids = np.zeros(0, dtype=np.int64), np.arange(len(texts))
        marked = BM25.update(None, nothing, ids, (terms(t) for t in texts))
        folded = BM25.update(None, nothing, ids, (terms(t, folded=True) for t in texts))
        return cls(marked, folded)

    def update(self, keep: np.ndarray, new_ids: np.ndarray, texts: Sequence[str]) -> LexicalIndex:
        """A new index: this one's kept chunks renumbered by `keep`, plus `texts` as chunks `new_ids`.

        Only the new texts are tokenized, so re-indexing one changed document of
        thousands costs about as much as indexing that document.
        """
        marked = BM25.update(self.marked, keep, new_ids, (terms(t) for t in texts))
        folded = BM25.update(self.folded, keep, new_ids, (terms(t, folded=True) for t in texts))
        return LexicalIndex(marked, folded)

    def save(self, folder: Path) -> None:
        """Write both indexes as .npy and .json files (no pickle)."""
        self.marked.save(folder / "marked")
        self.folded.save(folder / "folded")

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read the indexes written by `save`, memory-mapped."""
        return cls(BM25.load(folder / "marked", size), BM25.load(folder / "folded", size))

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every chunk for `question` (zeros when nothing matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        folded_terms = content_terms(question, folded=True, phrase=lambda t: self.is_phrase(t, folded=True))
        if has_diacritics(question):
            self.marked.add_scores(out, content_terms(question, phrase=self.is_phrase))
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
        return (self.folded if folded else self.marked).df(term) > 0  # a removed document's words have none

    def is_phrase(self, pair: str, folded: bool = False) -> bool:
        """Whether the documents use a word pair, and not everywhere ("không khí", not "của các")."""
        return self.has(pair, folded=folded) and self.idf(pair, folded=folded) >= PHRASE_MIN_IDF

    def idf(self, term: str, *, folded: bool = False) -> float:
        """Inverse document frequency of a term; a term no chunk has gets the highest."""
        df = (self.folded if folded else self.marked).df(term)
        return float(bm25_idf(np.asarray(df), max(self.size, 1)))
