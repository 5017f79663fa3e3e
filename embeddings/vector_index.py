"""FAISS vector index over normalized vectors: inner product equals cosine similarity.

Small indexes are exact (flat). From `APPROXIMATE_FROM` vectors on, an
inverted-file index (IVF) searches a few clusters instead of every vector:
`hoidap bench` measures where exact search gets slow and how close the
approximate one stays to it (recall@10).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

# Chosen by `hoidap bench` on a 2-core machine (384 dimensions, p95 of one search):
# exact search takes 0.35 ms at 10k vectors, 18 ms at 100k and 137 ms at 1M, once the
# vectors outgrow the CPU cache; IVF takes 1 ms at 100k and 6 ms at 1M with recall@10
# of 0.96 and 0.99. From 20k vectors on (30 MB), IVF.
APPROXIMATE_FROM = 20_000
TRAIN_PER_LIST = 40  # training vectors per cluster (k-means on a sample, not on everything)


def ivf_shape(n: int) -> tuple[int, int]:
    """(clusters, clusters searched) for n vectors."""
    nlist = max(16, int(2 * math.sqrt(n)))
    return nlist, max(16, nlist // 10)  # bench: recall@10 about 0.96 at 100k and 0.98 at 1M


class VectorIndex:
    """Inner-product search; ids are row numbers of the added vectors."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str | None = None, seed: int = 0) -> VectorIndex:
        """An index holding `vectors` (float32, L2-normalized, shape (n, dim)).

        Args:
            vectors: the vectors, row i for id i.
            kind: "flat" or "ivf"; default: by size (see APPROXIMATE_FROM).
            seed: seed of the k-means sample, so a build is reproducible.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = int(vectors.shape[0]), int(vectors.shape[1])
        kind = kind or ("ivf" if n >= APPROXIMATE_FROM else "flat")
        if kind == "flat" or n == 0:
            index: faiss.Index = faiss.IndexFlatIP(dim)
        elif kind == "ivf":
            nlist, nprobe = ivf_shape(n)
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(seed).choice(n, size=min(n, TRAIN_PER_LIST * nlist), replace=False)
            ivf.cp.niter = 10
            ivf.cp.max_points_per_centroid = TRAIN_PER_LIST
            ivf.train(vectors[np.sort(sample)])
            ivf.nprobe = nprobe
            index = ivf
        else:
            raise ValueError(f"unknown vector index kind {kind!r}; use flat or ivf")
        if n:
            index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read a FAISS file written by `save`."""
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        """Write the FAISS file."""
        faiss.write_index(self.index, str(path))

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def describe(self) -> dict[str, Any]:
        """What the manifest records of this index."""
        if isinstance(self.index, faiss.IndexIVF):
            return {"kind": "ivf", "nlist": int(self.index.nlist), "nprobe": int(self.index.nprobe)}
        return {"kind": "flat"}

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors, row i for id i (used to reuse embeddings on re-index)."""
        if self.size == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.index, faiss.IndexIVF):
            self.index.make_direct_map()
        return np.asarray(self.index.reconstruct_n(0, self.size), dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids of -1 mark empty slots."""
        k = max(1, min(k, self.size))
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids
