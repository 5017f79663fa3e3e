"""Retrieval: dense (FAISS), lexical (BM25) or both fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.index import Index
from rag.records import Passage

RRF_K = 60  # the usual reciprocal-rank-fusion constant: flattens the head of each list
# An English-only model ranks Vietnamese text poorly: its vote counts for less.
DENSE_WEIGHT = 1.0
DENSE_WEIGHT_FALLBACK = 0.25
CANDIDATES = 50  # how deep each list is read before fusing


@dataclass(frozen=True)
class Retrieved:
    """Ranked passages plus the raw signals the answerer weighs."""

    passages: tuple[Passage, ...]
    dense: dict[int, float]  # chunk id -> cosine similarity, for the candidates
    lexical: dict[int, float]  # chunk id -> BM25 score, for the candidates
    query: np.ndarray | None = None  # the encoded question: the answerer compares it with each sentence


def retrieve(
    index: Index, question: str, query_vector: np.ndarray | None, k: int, mode: str
) -> Retrieved:
    """Top-k passages for `question`.

    Args:
        index: the loaded index.
        question: NFC question text (used by the lexical side).
        query_vector: the encoded question, shape (dim,).
        k: how many passages to return.
        mode: "hybrid", "dense" or "lexical".
    """
    depth = max(k, CANDIDATES)
    dense: dict[int, float] = {}
    lexical: dict[int, float] = {}
    if query_vector is not None and index.vectors.size:
        # Searched in every mode: lexical retrieval ranks by BM25 alone, but the answerer still
        # weighs each passage's cosine.
        scores, ids = index.vectors.search(query_vector.reshape(1, -1), depth)
        dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
    if mode in ("hybrid", "lexical"):
        ids_l, scores_l = index.lexical.search(question, depth)
        lexical = {int(i): float(s) for i, s in zip(ids_l, scores_l)}

    if mode == "dense":
        fused = dense
    elif mode == "lexical":
        fused = lexical
    else:
        # Both lists vote by rank; 1.0 means first in both.
        dense_weight = DENSE_WEIGHT_FALLBACK if index.fallback_model else DENSE_WEIGHT
        fused = {}
        for weight, ranking in ((dense_weight, dense), (1.0, lexical)):
            for rank, chunk_id in enumerate(ranking):
                vote = weight * (RRF_K + 1) / (RRF_K + 1 + rank)
                fused[chunk_id] = fused.get(chunk_id, 0.0) + vote / (1.0 + dense_weight)
    order = sorted(fused, key=lambda i: -fused[i])[:k]
    passages = tuple(
        Passage(chunk=index.chunks[i], score=round(fused[i], 6), rank=r + 1)
        for r, i in enumerate(order)
    )
    return Retrieved(passages=passages, dense=dense, lexical=lexical, query=query_vector)
