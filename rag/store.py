"""Documents and chunks of a loaded index, read from disk on demand.

An archive of a million chunks should open in seconds and not hold every
text as a Python object. `documents.jsonl` keeps one JSON object a document
(text included, readable with any tool); `documents.offsets.npy` gives the
byte offset of each line, so a document is one seek and one `json.loads`.
`chunks.npy` is the chunk table (document number, start, end), memory-mapped;
a chunk's text is sliced from its document.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from rag.records import Chunk, Document

CACHED_DOCUMENTS = 512


def document_from_json(row: dict[str, Any]) -> Document:
    return Document(
        doc=row["doc"],
        text=row["text"],
        title=row["title"],
        date=row["date"],
        source=row["source"],
        content=tuple((int(a), int(b)) for a, b in row["content"]),
        sha256=row["sha256"],
        format=row.get("format", "txt"),
        pages=tuple(row.get("pages", ())),
        headings=tuple((int(a), int(b), int(c)) for a, b, c in row.get("headings", ())),
        file_sha256=row.get("file_sha256", ""),
    )


def write_documents(folder: Path, documents: Sequence[Document]) -> None:
    """Write documents.jsonl and the byte offset of each of its lines."""
    offsets = np.zeros(len(documents) + 1, dtype=np.int64)
    with (folder / "documents.jsonl").open("wb") as f:
        for i, d in enumerate(documents):
            row = {
                "doc": d.doc,
                "title": d.title,
                "date": d.date,
                "source": d.source,
                "sha256": d.sha256,
                "content": d.content,
                "format": d.format,
                "pages": d.pages,
                "headings": d.headings,
                "file_sha256": d.file_sha256,
                "text": d.text,
            }
            f.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
            offsets[i + 1] = f.tell()
    np.save(folder / "documents.offsets.npy", offsets)


def write_chunks(folder: Path, table: np.ndarray) -> None:
    """Write the chunk table: one row (document number, start, end) per chunk id."""
    np.save(folder / "chunks.npy", np.ascontiguousarray(table, dtype=np.int64).reshape(-1, 3))


class DocumentStore(Mapping[str, Document]):
    """Documents by file name, in index order; each is read when first asked for."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.names = names
        self.number = {name: i for i, name in enumerate(names)}
        # Held open: after a rebuild swaps the folder, this index still reads its own file.
        self._file = (folder / "documents.jsonl").open("rb")
        self._offsets = np.load(folder / "documents.offsets.npy", mmap_mode="r")
        if len(self._offsets) != len(names) + 1 or int(self._offsets[-1]) != os.fstat(self._file.fileno()).st_size:
            self._file.close()
            raise ValueError("documents.offsets.npy does not match documents.jsonl")
        self._cache: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, doc: str) -> Document:
        with self._lock:
            found = self._cache.get(doc)
            if found is not None:
                self._cache.move_to_end(doc)
                return found
        i = self.number[doc]  # KeyError for a name the index does not have
        a, b = int(self._offsets[i]), int(self._offsets[i + 1])
        row = json.loads(os.pread(self._file.fileno(), b - a, a))  # no shared file position
        if row.get("doc") != doc:
            raise ValueError(f"documents.jsonl line {i + 1} is {row.get('doc')!r}, expected {doc!r}")
        document = document_from_json(row)
        with self._lock:
            self._cache[doc] = document
            if len(self._cache) > CACHED_DOCUMENTS:
                self._cache.popitem(last=False)
        return document

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, doc: object) -> bool:
        return doc in self.number


class ChunkStore(Sequence[Chunk]):
    """Chunks by id, from the memory-mapped chunk table and their documents."""

    def __init__(self, table: np.ndarray, documents: DocumentStore) -> None:
        self.table = table
        self.documents = documents

    @classmethod
    def load(cls, folder: Path, documents: DocumentStore) -> ChunkStore:
        table = np.load(folder / "chunks.npy", mmap_mode="r")
        if table.ndim != 2 or table.shape[1] != 3:
            raise ValueError(f"chunks.npy has shape {table.shape}, expected (n, 3)")
        if len(table) and (
            int(table[:, 0].min()) < 0
            or int(table[:, 0].max()) >= len(documents)
            or bool((table[:, 1] >= table[:, 2]).any())
        ):
            raise ValueError("chunks.npy holds rows that name no document or an empty span")
        return cls(table, documents)

    def __len__(self) -> int:
        return len(self.table)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"chunk id {i} out of range")
        i = i % len(self)
        number, start, end = (int(v) for v in self.table[i])
        doc = self.documents.names[number]
        return Chunk(i, doc, start, end, self.documents[doc].text[start:end])


SENTENCES = "sentences.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"


def write_sentences(folder: Path, table: np.ndarray, vectors: np.ndarray) -> None:
    """Write the sentence table (document number, start, end), in document order, and each sentence's
    vector as float16: the answerer compares a question with every candidate sentence, and half
    precision keeps that beside the chunk vectors at a third of their size (cosines move < 1e-3)."""
    np.save(folder / SENTENCES, np.ascontiguousarray(table, dtype=np.int64).reshape(-1, 3))
    np.save(folder / SENTENCE_VECTORS, np.ascontiguousarray(vectors, dtype=np.float16))


class SentenceStore:
    """Each sentence's span and embedding vector, memory-mapped; looked up by (document number, start)."""

    def __init__(self, table: np.ndarray, vectors: np.ndarray) -> None:
        self.table = table
        self.vectors = vectors
        numbers = np.asarray(table[:, 0]) if len(table) else np.zeros(0, dtype=np.int64)
        self._first = np.searchsorted(numbers, np.arange(int(numbers.max()) + 2 if len(numbers) else 1))

    @classmethod
    def load(cls, folder: Path, documents: int, dim: int) -> SentenceStore:
        table = np.load(folder / SENTENCES, mmap_mode="r")
        vectors = np.load(folder / SENTENCE_VECTORS, mmap_mode="r")
        if table.ndim != 2 or table.shape[1] != 3 or vectors.shape != (len(table), dim):
            raise ValueError(f"{SENTENCES} {table.shape} and {SENTENCE_VECTORS} {vectors.shape} do not match")
        if len(table) and (
            int(table[:, 0].min()) < 0
            or int(table[:, 0].max()) >= documents
            or bool((np.diff(table[:, 0]) < 0).any())
        ):
            raise ValueError(f"{SENTENCES} holds rows that name no document or are out of order")
        return cls(table, vectors)

    def __len__(self) -> int:
        return len(self.table)

    def rows(self, number: int) -> tuple[int, int]:
        """The rows [a, b) of document `number`."""
        if number + 1 >= len(self._first):
            return 0, 0
        return int(self._first[number]), int(self._first[number + 1])

    def similarity(self, number: int, starts: Sequence[int], query: np.ndarray) -> list[float | None]:
        """Cosine of `query` with the sentences of document `number` that start at `starts` (None: not stored)."""
        a, b = self.rows(number)
        if a == b:
            return [None] * len(starts)
        found = np.searchsorted(np.asarray(self.table[a:b, 1]), np.asarray(starts, dtype=np.int64))
        n = b - a
        rows = [a + int(f) if f < n and int(self.table[a + int(f), 1]) == s else None for f, s in zip(found, starts)]
        hits = [r for r in rows if r is not None]
        sims = iter((np.asarray(self.vectors[hits], dtype=np.float32) @ query).tolist() if hits else [])
        out: list[float | None] = [None if r is None else next(sims) for r in rows]
        return out
