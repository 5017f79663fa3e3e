"""Items joined into groups by pairs, directly or through others (union-find)."""

from __future__ import annotations

from collections.abc import Iterable


def connected(n: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    """For each of `n` items, the lowest index of the group that `pairs` joins it into."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(n)]
