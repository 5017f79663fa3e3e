from __future__ import annotations

from pathlib import Path

from rag.chunking import chunk_corpus
from rag.documents import load_corpus

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"


def test_every_chunk_is_its_document_slice_inside_content() -> None:
    docs = {d.doc: d for d in load_corpus(CORPUS, [])}
    for size, overlap in ((300, 50), (600, 120), (1000, 200)):
        chunks = chunk_corpus(docs.values(), size, overlap)
        assert chunks and [c.id for c in chunks] == list(range(len(chunks)))
        for c in chunks:
            doc = docs[c.doc]
            assert doc.text[c.start : c.end] == c.text
            assert len(c.text) <= size
            assert any(a <= c.start and c.end <= b for a, b in doc.content)
        covered = {c.doc for c in chunks}
        assert covered == set(docs)
