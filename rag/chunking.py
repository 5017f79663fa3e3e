"""Chunks: split each content region of a document with langchain's recursive splitter.

Separators follow Vietnamese prose: paragraphs, lines, then sentence ends
(kept with the sentence), then clauses, then words. Each chunk is located in the
stored text, so `chunk.text == document.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.records import Chunk, Document
from rag.structure import Line, lines, unwrap
from rag.text import fold

# A chunk never runs across the start of a top-level section: a heading of level 1 or 2 (Phần, Chương,
# "I.", "1.1.", Word's Heading 1 and 2) or an article ("Điều 6."), so one chunk is one article.
BREAK_LEVEL = 2
_ARTICLE = re.compile(r"dieu\s+\d")

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
    for region_start, region_end in sections(document):
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


def sections(document: Document) -> Iterator[tuple[int, int]]:
    """The content regions of a document cut at each top-level section start (see `BREAK_LEVEL`).

    A cut right after headings alone ("Chương II" then "Điều 5.") is not made: the
    headings go with the section they open.
    """
    starts = {start for start, _, _ in document.headings}
    cuts = [
        start
        for start, end, level in document.headings
        if level <= BREAK_LEVEL or _ARTICLE.match(fold(document.text[start:end]))
    ]
    for region_start, region_end in document.content:
        start = region_start
        for cut in (c for c in cuts if region_start < c < region_end):
            if all(line.start in starts for line in _lines_of(document.text, start, cut)):
                continue  # only headings so far: they open the next section
            yield start, cut
            start = cut
        yield start, region_end


def _lines_of(text: str, start: int, end: int) -> Iterator[Line]:
    for line in lines(text[start:end]):
        yield Line(start + line.start, start + line.end, line.text)


def chunk_corpus(
    documents: Iterable[Document], chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Chunks of all documents, with ids numbered across the corpus."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_document(document, splitter, first_id=len(chunks)))
    return chunks
