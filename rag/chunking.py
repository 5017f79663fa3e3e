"""Chunks: split each content region of a document with langchain's recursive splitter.

Separators follow Vietnamese prose: paragraphs, lines, then sentence ends
(kept with the sentence), then clauses, then words. Each chunk is located in the
stored text, so `chunk.text == document.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

from collections.abc import Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.records import Chunk, Document
from rag.structure import unwrap

SEPARATORS = ["\n\n", "\n", ". ", ".\u00a0", "… ", "? ", "! ", "; ", ": ", ", ", " ", ""]


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """The splitter used for every document, from the chunk settings."""
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        strip_whitespace=True,
    )


def chunk_document(
    document: Document, splitter: RecursiveCharacterTextSplitter, first_id: int = 0
) -> list[Chunk]:
    """Chunks of one document's content regions, numbered from `first_id`."""
    chunks: list[Chunk] = []
    flow = unwrap(document.text)  # hard wraps read as spaces; same offsets as the stored text
    for region_start, region_end in chunk_regions(document):
        region = flow[region_start:region_end]
        cursor = 0
        for piece in splitter.split_text(region):
            at = region.find(piece, cursor)
            if at < 0:  # cannot happen with strip_whitespace; never emit a wrong offset
                at = region.find(piece)
            if at < 0:
                continue
            start = region_start + at
            chunks.append(
                Chunk(
                    id=first_id + len(chunks),
                    doc=document.doc,
                    start=start,
                    end=start + len(piece),
                    text=document.text[start : start + len(piece)],
                )
            )
            cursor = at + 1
    return chunks


def chunk_regions(document: Document) -> tuple[tuple[int, int], ...]:
    """The spans a chunk never runs across: the document's content regions (eval/chunking_trial.py
    measures cutting them at each article too)."""
    return document.content


def chunk_corpus(
    documents: Iterable[Document], chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Chunks of all documents, with ids numbered across the corpus."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_document(document, splitter, first_id=len(chunks)))
    return chunks
