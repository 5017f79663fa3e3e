"""The index folder: build (incremental, crash-safe) and load.

Layout: manifest.json (read first), vectors.faiss, documents.jsonl with the
byte offset of each line (documents.offsets.npy), chunks.npy (document number,
start, end; text is sliced from the document), lexical/. See rag/store.py for
why documents and chunks are read on demand.
A build writes a sibling temporary folder and swaps it into place, so a crash
or Ctrl-C leaves the previous index whole.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.chunking import chunk_corpus
from rag.documents import load_corpus, section_path
from rag.errors import IndexMissing, ModelError
from rag.records import Chunk, Document
from rag.settings import Settings
from rag.store import (
    SENTENCE_VECTORS,
    SENTENCES,
    ChunkStore,
    DocumentStore,
    SentenceStore,
    write_chunks,
    write_documents,
    write_sentences,
)
from rag.structure import one_line, sentence_spans, unwrap

if TYPE_CHECKING:
    from embeddings.encoder import Encoder
    from embeddings.vector_index import VectorIndex
    from rag.lexical import LexicalIndex

FORMAT_VERSION = 3  # 2: chunk table as .npy, documents read on demand, own BM25 arrays; 3: sentence vectors
# Bump when cleaning, chunking or embedding input changes: old vectors are then not reused.
PIPELINE_VERSION = 4  # 3: readers per format, chunks cut at articles; 4: not cut, heading path read by BM25
MANIFEST = "manifest.json"
SWAP_WAIT_S = 2.0  # how long a reader waits for a build's swap before taking it for a crash
FILES = (
    "vectors.faiss", "documents.jsonl", "documents.offsets.npy", "chunks.npy", "lexical", SENTENCES, SENTENCE_VECTORS,
)

Log = Callable[[str], None]
Progress = Callable[[int, int, str], None]
PROGRESS_BATCH = 64  # chunks embedded between two progress reports of a build


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hoidap")
    except PackageNotFoundError:
        return "0+unknown"


def embedding_text(document: Document, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the chunk text on one line, headed by its document title.

    The heading path is left out here (BM25 reads it, see `lexical_text`), and chunks are not cut at
    articles; `python -m eval.chunking_trial` measures both. Packaged model: the heading path cost
    statute-dev hit@1 0.716 -> 0.688 and notice-dev 0.815 -> 0.741; cutting at articles moved
    legal-dev 0.593 -> 0.630 and statute-dev 0.716 -> 0.709, hit@5 unchanged. embeddinggemma-300m on
    statute-dev: the heading path 0.773 -> 0.794 (hit@5 0.957 both), cutting 0.773 -> 0.773 (hit@5
    0.957 -> 0.950); not measured with it on the other genres.
    """
    return f"{document.title}\n{one_line(chunk.text)}"


def lexical_text(document: Document, chunk: Chunk, flow: str) -> str:
    """What BM25 reads for a chunk: its heading path, then its text with hard wraps as spaces."""
    path = section_path(document, chunk.start)
    return f"{path}\n{flow[chunk.start : chunk.end]}" if path else flow[chunk.start : chunk.end]


ChunkKey = tuple[str, int, int, str]  # document hash, start, end, embedding text


def _reusable_chunks(old: Index, hashes: dict[str, str]) -> dict[ChunkKey, int]:
    """Old chunk ids of the documents whose text is unchanged, by content key; one pass over the chunk table."""
    unchanged = {old.documents.number[doc] for doc, sha in old.manifest["documents"].items() if hashes.get(doc) == sha}
    found: dict[ChunkKey, int] = {}
    for chunk_id, (number, start, end) in enumerate(np.asarray(old.chunks.table).tolist()):
        if number in unchanged:
            document = old.documents[old.documents.names[number]]
            chunk = Chunk(chunk_id, document.doc, start, end, document.text[start:end])
            found[document.sha256, start, end, embedding_text(document, chunk)] = chunk_id
    return found


@dataclass
class Index:
    """A loaded index: everything retrieval and answering read."""

    folder: Path
    manifest: dict[str, Any]
    documents: DocumentStore
    chunks: ChunkStore
    vectors: VectorIndex
    lexical: LexicalIndex
    sentences: SentenceStore

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def fallback_model(self) -> bool:
        return bool(self.manifest.get("fallback_model", False))

    @functools.cached_property
    def catalog(self) -> dict[str, dict[str, Any]]:
        """Each document's title, date, format, pages, chunks, bytes and when it was indexed, by name.

        Written by the build; an index built before it had one gets it derived (bytes 0, indexed None).
        """
        written = self.manifest.get("catalog")
        if written is not None:
            return dict(written)
        counts = np.bincount(np.asarray(self.chunks.table)[:, 0], minlength=len(self.documents.names))
        derived = {}
        for number, name in enumerate(self.documents.names):
            d = self.documents[name]
            derived[name] = {
                "title": d.title, "date": d.date, "format": d.format, "pages": len(d.pages) or None,
                "chunks": int(counts[number]), "bytes": 0, "indexed": None,
            }
        return derived


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` did."""

    documents: int
    chunks: int
    embedded: int
    reused: int
    unchanged: bool
    seconds: float
    model: str
    fallback_model: bool


# ---------------------------------------------------------------- reading


def _damaged(folder: Path, why: str) -> IndexMissing:
    return IndexMissing(
        f"the index at {folder} is damaged or not a hoidap index ({why}); "
        "run `hoidap index` to rebuild it"
    )


def _previous(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.previous"


def _recover(folder: Path) -> None:
    """Finish a swap that a crash interrupted between its two renames.

    A build running now is between those renames for a moment only: wait that
    moment out rather than undo its swap.
    """
    previous = _previous(folder)
    deadline = time.monotonic() + SWAP_WAIT_S
    while not folder.exists() and previous.is_dir():
        if time.monotonic() >= deadline:
            with contextlib.suppress(OSError):  # another process recovered it, or the build finished
                previous.rename(folder)
            return
        time.sleep(0.05)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the index at `folder`, checked; raises IndexMissing with the fix."""
    _recover(folder)
    path = folder / MANIFEST
    if not path.is_file():
        if folder.is_dir() and any(folder.iterdir()):
            raise _damaged(folder, "no manifest.json")
        raise IndexMissing(
            f"no index at {folder}; run `hoidap index` first (or pass --index DIR)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(folder, f"manifest.json unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise _damaged(folder, f"format is not {FORMAT_VERSION}")
    for field in ("model", "dimension", "counts", "documents", "chunk_size", "chunk_overlap"):
        if field not in manifest:
            raise _damaged(folder, f"manifest has no {field!r}")
    for name in FILES:
        if not (folder / name).exists():
            raise _damaged(folder, f"{name} is missing")
    return manifest


def load_index(folder: Path) -> Index:
    """Load the index at `folder`; a missing or damaged one raises IndexMissing."""
    from embeddings.vector_index import VectorIndex
    from rag.lexical import LexicalIndex

    manifest = read_manifest(folder)
    try:
        documents = DocumentStore(folder, list(manifest["documents"]))
        chunks = ChunkStore.load(folder, documents)
        vectors = VectorIndex.load(folder / "vectors.faiss")
        lexical = LexicalIndex.load(folder / "lexical", size=len(chunks))
        sentences = SentenceStore.load(folder, len(documents), int(manifest["dimension"]))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _damaged(folder, f"{type(exc).__name__}: {exc}") from None
    counts = manifest["counts"]
    if (
        vectors.size != len(chunks)
        or counts.get("chunks") != len(chunks)
        or counts.get("documents") != len(documents)
        or vectors.dim != manifest["dimension"]
    ):
        raise _damaged(folder, "counts in manifest, chunks and vectors disagree")
    return Index(folder, manifest, documents, chunks, vectors, lexical, sentences)


# ---------------------------------------------------------------- building


def _same_settings(manifest: dict[str, Any], settings: Settings) -> bool:
    return (
        manifest.get("format") == FORMAT_VERSION
        and manifest.get("pipeline") == PIPELINE_VERSION
        and manifest.get("chunk_size") == settings.chunk_size
        and manifest.get("chunk_overlap") == settings.chunk_overlap
    )


def _wanted_model(manifest: dict[str, Any] | None, settings: Settings) -> str | None:
    """The model a build should use: the named one, else keep the old index's one."""
    if settings.embedding_model is not None:
        return settings.embedding_model
    if manifest and not manifest.get("fallback_model"):
        return str(manifest["model"])
    return None  # default, with fallback


def _default_model_available() -> bool:
    """Cheap check (no torch) that the default model could now be loaded."""
    from embeddings.encoder import DEFAULT_MODEL, hub_reachable

    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(DEFAULT_MODEL, "modules.json")
    except Exception:
        cached = None
    return isinstance(cached, str) or hub_reachable(timeout=1.0)


def build_index(
    settings: Settings, log: Log = _stderr, encoder: Encoder | None = None, progress: Progress | None = None
) -> BuildReport:
    """Build or update the index of `settings.corpus_dir` at `settings.index_dir`.

    Unchanged documents keep their vectors; an unchanged corpus re-embeds nothing
    and does not even load the model. One build at a time per index folder, across
    processes (`hoidap index`, `--watch` and a server's jobs): a second one waits.

    Args:
        settings: corpus, index folder, model and chunking.
        log: where warnings and progress lines go.
        encoder: an encoder already loaded (a server, benchmarks); default: the model of the
            settings, or of the existing index.
        progress: called as progress(done, total, stage) while documents are read and chunks embedded.
    """
    with build_lock(settings.index_dir, log):
        return _build(settings, log, encoder, progress)


@contextlib.contextmanager
def build_lock(folder: Path, log: Log) -> Iterator[None]:
    """Hold the lock file next to the index folder (released by the OS if the process dies)."""
    import fcntl

    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"hoidap: another build of {folder} is running; waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build(settings: Settings, log: Log, encoder: Encoder | None, progress: Progress | None) -> BuildReport:
    started = time.perf_counter()
    folder = settings.index_dir
    old: Index | None = None
    try:
        old = load_index(folder)
    except IndexMissing:
        old = None
    if old is not None and not _same_settings(old.manifest, settings):
        old = None
    warnings: list[str] = []
    documents = load_corpus(
        settings.corpus_dir,
        warnings,
        known=old.documents if old is not None else None,
        progress=(lambda done, total: progress(done, total, "read")) if progress else None,
    )
    for line in warnings:
        log(f"hoidap: warning: {line}")
    wanted = encoder.name if encoder else _wanted_model(old.manifest if old else None, settings)
    if old is not None and old.fallback_model and wanted is None and _default_model_available():
        old = None  # the default model can now be had: rebuild with it
    if old is not None and wanted is not None and wanted != old.model:
        old = None

    hashes = {d.doc: d.sha256 for d in documents}
    if old is not None and old.manifest["documents"] == hashes:
        _say_furniture(documents, log)
        return BuildReport(
            documents=len(documents),
            chunks=len(old.chunks),
            embedded=0,
            reused=len(old.chunks),
            unchanged=True,
            seconds=time.perf_counter() - started,
            model=old.model,
            fallback_model=old.fallback_model,
        )

    encoder = encoder or _encoder_for(old, wanted, log)
    chunks = chunk_corpus(documents, settings.chunk_size, settings.chunk_overlap)
    by_doc = {d.doc: d for d in documents}

    # Reuse the vector and postings of every chunk whose content is unchanged: the key is the
    # document's hash, the span and what the encoder reads, never the chunk's position.
    flows = {d.doc: unwrap(d.text) for d in documents}
    keep = np.full(len(old.chunks) if old is not None else 0, -1, dtype=np.int64)
    old_ids = _reusable_chunks(old, hashes) if old is not None else {}
    vectors = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    todo: list[int] = []
    for chunk in chunks:
        document = by_doc[chunk.doc]
        # pop: an old chunk is reused once; a second document with the same text is embedded itself
        found = old_ids.pop((document.sha256, chunk.start, chunk.end, embedding_text(document, chunk)), None)
        if found is None:
            todo.append(chunk.id)
        else:
            keep[found] = chunk.id
    moved = np.flatnonzero(keep >= 0)
    if old is not None and len(moved):
        vectors[keep[moved]] = old.vectors.vectors()[moved]
    if todo:
        log(f"hoidap: embedding {len(todo)} chunks with {encoder.name}")
        texts = [embedding_text(by_doc[chunks[i].doc], chunks[i]) for i in todo]
        if progress is None:
            vectors[todo] = encoder.encode_passages(texts)
        else:
            for lo in range(0, len(todo), PROGRESS_BATCH):
                progress(lo, len(todo), "embed")
                part = todo[lo : lo + PROGRESS_BATCH]
                vectors[part] = encoder.encode_passages(texts[lo : lo + PROGRESS_BATCH], progress=False)
            progress(len(todo), len(todo), "embed")

    sentence_table, sentence_vectors = _sentences(documents, flows, old, hashes, encoder, log, progress)

    manifest = {
        "format": FORMAT_VERSION,
        "pipeline": PIPELINE_VERSION,
        "hoidap_version": package_version(),
        "model": encoder.name,
        "fallback_model": encoder.fallback,
        "dimension": encoder.dim,
        "vector_index": {},  # filled in by _write
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "documents": hashes,
        "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(sentence_table)},
        "formats": dict(sorted(Counter(d.format for d in documents).items())),
        "catalog": _catalog(documents, chunks, settings.corpus_dir, old),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    lexical_texts = [lexical_text(by_doc[c.doc], c, flows[c.doc]) for c in chunks]
    lexical = None
    if old is not None and len(moved):
        lexical = old.lexical.update(keep, np.asarray(todo, dtype=np.int64), [lexical_texts[i] for i in todo])
    _write(folder, manifest, documents, chunks, vectors, lexical, lexical_texts, sentence_table, sentence_vectors)
    _say_furniture(documents, log)
    return BuildReport(
        documents=len(documents),
        chunks=len(chunks),
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        unchanged=False,
        seconds=time.perf_counter() - started,
        model=encoder.name,
        fallback_model=encoder.fallback,
    )


def _sentences(
    documents: list[Document],
    flows: dict[str, str],
    old: Index | None,
    hashes: dict[str, str],
    encoder: Encoder,
    log: Log,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The sentence table (document number, start, end) and each sentence's vector; the sentences of
    unchanged documents keep their old vectors (the key is the document's hash and the span)."""
    rows: list[tuple[int, int, int]] = []
    for number, d in enumerate(documents):
        rows.extend((number, s, e) for s, e in sentence_spans(flows[d.doc], d.content))
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    vectors = np.zeros((len(rows), encoder.dim), dtype=np.float16)
    reusable: dict[tuple[str, int, int], int] = {}
    if old is not None:
        old_hashes = old.manifest["documents"]
        unchanged = {old.documents.number[doc] for doc, sha in old_hashes.items() if hashes.get(doc) == sha}
        old_table = np.asarray(old.sentences.table)
        for row, (number, start, end) in enumerate(old_table.tolist()):
            if number in unchanged:
                reusable[old.manifest["documents"][old.documents.names[number]], start, end] = row
    todo: list[int] = []
    kept_new: list[int] = []
    kept_old: list[int] = []
    for i, (number, start, end) in enumerate(rows):
        found = reusable.pop((documents[number].sha256, start, end), None)
        if found is None:
            todo.append(i)
        else:
            kept_new.append(i)
            kept_old.append(found)
    if kept_new and old is not None:
        vectors[kept_new] = np.asarray(old.sentences.vectors)[kept_old]
    if todo:
        log(f"hoidap: embedding {len(todo)} sentences with {encoder.name}")
        texts = [one_line(flows[documents[rows[i][0]].doc][rows[i][1] : rows[i][2]]) for i in todo]
        for lo in range(0, len(todo), PROGRESS_BATCH * 4):
            if progress is not None:
                progress(lo, len(todo), "embed sentences")
            part = todo[lo : lo + PROGRESS_BATCH * 4]
            vectors[part] = encoder.encode_passages(texts[lo : lo + PROGRESS_BATCH * 4], progress=False)
        if progress is not None:
            progress(len(todo), len(todo), "embed sentences")
    return table, vectors


def _catalog(documents: list[Document], chunks: list[Chunk], corpus_dir: Path, old: Index | None) -> dict[str, Any]:
    """What the document list shows of each document, with when it was indexed (kept while it is unchanged)."""
    before = old.manifest.get("catalog", {}) if old is not None else {}
    old_hashes = old.manifest["documents"] if old is not None else {}
    counts = Counter(c.doc for c in chunks)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    catalog = {}
    for d in documents:
        try:
            size = (corpus_dir / d.doc).stat().st_size
        except OSError:
            size = 0
        unchanged = old_hashes.get(d.doc) == d.sha256 and d.doc in before
        catalog[d.doc] = {
            "title": d.title,
            "date": d.date,
            "format": d.format,
            "pages": len(d.pages) or None,
            "chunks": counts[d.doc],
            "bytes": size,
            "indexed": before[d.doc]["indexed"] if unchanged else stamp,
        }
    return catalog


def _say_furniture(documents: list[Document], log: Log) -> None:
    """One line per saved web page: how many lines were left out as page furniture (after a build succeeds)."""
    for document in documents:
        if document.furniture:
            log(f"hoidap: {document.doc}: a saved web page; {document.furniture} lines of page furniture left out")


def _encoder_for(old: Index | None, wanted: str | None, log: Log) -> Encoder:
    from embeddings.encoder import ModelLoadError, load_encoder, open_encoder

    try:
        if old is not None:
            return open_encoder(old.model, old.fallback_model)
        encoder, notice = load_encoder(wanted)
    except ModelLoadError as exc:
        raise ModelError(
            f"{exc}; check HOIDAP_EMBEDDING_MODEL / --model (a hub name or a local model folder)"
        ) from None
    if notice:
        log(f"hoidap: WARNING: {notice}")
    return encoder


def _write(
    folder: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    lexical: LexicalIndex | None,
    lexical_texts: list[str],
    sentence_table: np.ndarray,
    sentence_vectors: np.ndarray,
) -> None:
    """Write a complete index next to `folder`, then swap it into place.

    `lexical` is the lexical index when it was updated from the old one; else it is built.
    """
    from embeddings.vector_index import VectorIndex
    from rag.lexical import LexicalIndex

    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f".{folder.name}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder.parent / f".{folder.name}.building-{os.getpid()}"
    tmp.mkdir()
    write_documents(tmp, documents)
    number = {d.doc: i for i, d in enumerate(documents)}
    write_chunks(tmp, np.array([(number[c.doc], c.start, c.end) for c in chunks], dtype=np.int64))
    index = VectorIndex.build(vectors)
    index.save(tmp / "vectors.faiss")
    manifest["vector_index"] = index.describe()
    (lexical or LexicalIndex.build(lexical_texts)).save(tmp / "lexical")
    write_sentences(tmp, sentence_table, sentence_vectors)
    # The manifest goes last: a folder without one is never taken for an index.
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    _fsync_tree(tmp)

    previous = _previous(folder)
    if previous.exists():
        shutil.rmtree(previous)
    if folder.exists():
        folder.rename(previous)
    tmp.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
