"""Chunking by article, measured: each variant's index is built afresh for each set and scored.

    HF_HUB_OFFLINE=1 python -m eval.chunking_trial                      # packaged model, the dev sets
    HF_HUB_OFFLINE=1 python -m eval.chunking_trial --model DIR --sets statute-dev legal-dev

Variants (the index's chunking and the text the encoder reads; BM25 reads the heading path in all):
- `today`: chunks run across article starts; the encoder reads the document title and the chunk;
- `heading`: as today, and the encoder also reads the chunk's heading path ("Chương II › Điều 6. …");
- `article`: a chunk never runs across an article start ("Điều 6."), so a khoản stays with its article;
  the encoder reads the title and the chunk;
- `article+heading`: both.
The sets of other genres (uit-dev, notice-dev) are in the default list so that a change that helps
laws and harms them shows. Prints one line a variant and set: hit@1, hit@5, key facts shown, answer rate.

`--seed ROOT` starts each variant from the set's index under ROOT (`ROOT/index-<set>`, as
`python -m eval.train_decision --model DIR` leaves it) with its smallest document marked changed, so
that the build re-chunks every document but embeds only the chunks whose text changed and that one
document's sentences: with a slow multilingual model on CPU, a variant then costs minutes, not an hour.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import rag.chunking
import rag.index
from eval import trials
from rag.documents import section_path
from rag.records import Chunk, Document
from rag.structure import one_line
from rag.text import fold

VARIANTS = ("today", "heading", "article", "article+heading")
DEV_SETS = ("statute-dev", "legal-dev", "notice-dev", "uit-dev")
_ARTICLE = re.compile(r"dieu\s+\d")
_TODAY_EMBEDDING = rag.index.embedding_text
_TODAY_REGIONS = rag.chunking.chunk_regions
_TODAY_REUSABLE = rag.index._reusable_chunks


def _with_heading(document: Document, chunk: Chunk) -> str:
    path = section_path(document, chunk.start)
    head = f"{document.title}\n{path}" if path else document.title
    return f"{head}\n{one_line(chunk.text)}"


def _article_regions(document: Document) -> tuple[tuple[int, int], ...]:
    """The content regions cut before each article heading, and before the headings that open it
    ("Chương II", "Mục 1" right above "Điều 5." go with Điều 5)."""
    return tuple(_article_cuts(document))


def _article_cuts(document: Document) -> Iterator[tuple[int, int]]:
    headings = document.headings
    cuts = []
    for i, (start, end, _) in enumerate(headings):
        if not _ARTICLE.match(fold(document.text[start:end])):
            continue
        while i > 0 and not document.text[headings[i - 1][1] : start].strip():
            i -= 1
            start = headings[i][0]
        cuts.append(start)
    for region_start, region_end in _TODAY_REGIONS(document):
        start = region_start
        for cut in (c for c in cuts if region_start < c < region_end):
            if document.text[start:cut].strip():
                yield start, cut
                start = cut
        yield start, region_end


def _seed_reusable(old: rag.index.Index, hashes: dict[str, str]) -> dict[rag.index.ChunkKey, int]:
    """The seed's chunks keyed by the text today's build gave the encoder (a seed is built today's way)."""
    wanted = rag.index.embedding_text
    rag.index.embedding_text = _TODAY_EMBEDDING
    try:
        return _TODAY_REUSABLE(old, hashes)
    finally:
        rag.index.embedding_text = wanted


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """The index built inside this block chunks and embeds as the variant says."""
    rag.index.embedding_text = _with_heading if "heading" in name else _TODAY_EMBEDDING
    rag.chunking.chunk_regions = _article_regions if "article" in name else _TODAY_REGIONS
    rag.index._reusable_chunks = _seed_reusable
    try:
        yield
    finally:
        rag.index.embedding_text = _TODAY_EMBEDDING
        rag.chunking.chunk_regions = _TODAY_REGIONS
        rag.index._reusable_chunks = _TODAY_REUSABLE


def _seed(root: Path, name: str, folder: Path) -> None:
    """A copy of set `name`'s index under `root` whose smallest document reads as changed, so a build
    redoes chunking."""
    shutil.copytree(root / f"index-{name}", folder)
    manifest = json.loads((folder / rag.index.MANIFEST).read_text("utf-8"))
    sizes = manifest.get("catalog", {})
    smallest = min(manifest["documents"], key=lambda d: (sizes.get(d, {}).get("bytes", 0), d))
    manifest["documents"][smallest] = "0" * 64
    (folder / rag.index.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


def main(argv: list[str] | None = None) -> int:
    return trials.main(argv, __doc__ or "", VARIANTS, DEV_SETS, variant, seed=_seed)


if __name__ == "__main__":
    raise SystemExit(main())
