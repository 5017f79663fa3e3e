"""`hoidap bench`: how hoidap's costs grow with the number of chunks.

Every scale indexes a corpus of synthetic Vietnamese documents made from the
bundled corpus's own sentences (one to three sentences a paragraph), so the
text has the shape and vocabulary of the real reports. Embedding a million
chunks with the real model would take days on a 2-core machine, so chunk
vectors are synthetic too: each corpus sentence is embedded once with the real
model and a chunk's vector is the normalized sum of the vectors of the
sentences it holds. Questions are the shipped eval questions, encoded with the
real model, so every query takes the real path. The encoding overhead ratio is
measured with the real model on real chunks.

Each scale is measured in a fresh interpreter (`python -m bench.run measure`)
so its memory figure is the index's alone.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoder import Encoder
from rag.settings import Settings

SCALES = (1000, 10_000, 100_000, 1_000_000)
DOC_CHARS = 10_000  # about 27 chunks of 600/120 a document
REPEATS = 3
RATIO_CHUNKS = 240  # chunks embedded for the encoding overhead ratio (the real model is slow here)
LOG = lambda _m: None  # noqa: E731


def rss_mb() -> float:
    """Resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return round(statistics.median(ordered), 2), round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)


def corpus_sentences(corpus_dir: Path) -> list[str]:
    """Article sentences of the bundled corpus (the building blocks of synthetic documents)."""
    from rag.answer import sentences
    from rag.documents import load_corpus

    out: list[str] = []
    for document in load_corpus(corpus_dir, []):
        for span in sentences(document):
            said = document.text[span.start : span.end]
            if len(said.split()) >= 8 and "\n" not in said:
                out.append(said)
    return sorted(set(out))


def write_corpus(folder: Path, pool: Sequence[str], documents: int, seed: int) -> None:
    """`documents` synthetic documents: a title, then paragraphs of corpus sentences."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        title = " ".join(rng.choice(pool).split()[:9]).rstrip(",.;:")
        lines = [title, ""]
        size = 0
        while size < DOC_CHARS:
            paragraph = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))
            if len(paragraph.split()) < 20:  # short lines read as page furniture
                paragraph += " " + rng.choice(pool)
            lines += [paragraph, ""]
            size += len(paragraph)
        (folder / f"{n:07d}.txt").write_text("\n".join(lines), encoding="utf-8")


class SentenceSumEncoder(Encoder):
    """Synthetic passage vectors: the normalized sum of the real vectors of the sentences a text holds."""

    def __init__(self, real: Encoder, pool: Sequence[str]) -> None:
        self.model = real.model
        self.name = f"synthetic:{real.name}"
        self.fallback = real.fallback
        self.dim = real.dim
        self._e5 = False
        self.real = real
        self.vectors = real.encode_passages(list(pool), progress=False)
        self.prefix = {s[:40]: i for i, s in enumerate(pool)}
        self.suffix = {s[-40:]: i for i, s in enumerate(pool)}

    def encode_passages(self, texts: Sequence[str], progress: bool | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for piece in re.split(r"(?<=[.!?…])\s+|\n+", text):
                i = self.prefix.get(piece[:40], self.suffix.get(piece[-40:]))
                if i is not None:
                    out[row] += self.vectors[i]
            noise = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            if not out[row].any():
                out[row] = self.vectors[noise.integers(len(self.vectors))]
            # No two real chunks embed alike: a little noise keeps repeated sentences apart.
            out[row] += noise.normal(0.0, 0.01 * np.linalg.norm(out[row]), self.dim).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def questions() -> list[str]:
    from eval.qa import DEFAULT_QA

    return [json.loads(line)["question"] for line in DEFAULT_QA.read_text("utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- one scale, in its own process


def measure(index_dir: Path, baseline_dir: Path, model: str) -> dict[str, Any]:
    """Load, memory, latency and recall figures of one built index (run in a fresh interpreter)."""
    from embeddings.encoder import open_encoder
    from embeddings.vector_index import VectorIndex
    from rag.index import load_index
    from rag.pipeline import Pipeline
    from rag.retrieval import retrieve

    real = open_encoder(model, fallback=False)
    asked = questions()
    vectors = real.encode_queries(asked)
    before = rss_mb()
    loads = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        index = load_index(index_dir)
        loads.append(time.perf_counter() - started)
    pipeline = Pipeline(index, real, Settings(index_dir=index_dir))
    for q in asked[:5]:
        pipeline.ask(q)  # warm: first reads of documents and postings
    asks = [pipeline.ask(q).timings_ms["total"] for q in asked for _ in range(2)]
    rss = rss_mb() - before
    modes: dict[str, list[float]] = {"hybrid": [], "dense": [], "lexical": []}
    for mode, times in modes.items():
        for q in asked:
            started = time.perf_counter()
            vector = real.encode_queries([q])[0] if mode != "lexical" else None
            retrieve(index, q, vector, 10, mode)
            times.append((time.perf_counter() - started) * 1000)

    # recall@10 of the approximate index against exact search over the same vectors
    stored = index.vectors.vectors()
    exact = VectorIndex.build(stored, kind="flat")
    approx = index.vectors if index.vectors.kind == "ivf" else VectorIndex.build(stored, kind="ivf")
    _, truth = exact.search(vectors, 10)
    _, found = approx.search(vectors, 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)]))
    flat_ms, ivf_ms = [], []
    for v in vectors:
        started = time.perf_counter()
        exact.search(v.reshape(1, -1), 10)
        flat_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        approx.search(v.reshape(1, -1), 10)
        ivf_ms.append((time.perf_counter() - started) * 1000)
    del exact, stored

    baseline = _baseline_times(baseline_dir, real, asked)
    return {
        "load_s": round(statistics.median(loads), 3),
        "rss_mb": round(rss, 1),
        "ask_ms_p50": p50_p95(asks)[0],
        "ask_ms_p95": p50_p95(asks)[1],
        "baseline_ask_ms_p95": p50_p95(baseline)[1],
        "retrieve_ms_p95": {mode: p50_p95(times)[1] for mode, times in modes.items()},
        "recall_at_10": round(recall, 4),
        "vector_index": index.vectors.describe(),
        "flat_search_ms_p95": p50_p95(flat_ms)[1],
        "ivf_search_ms_p95": p50_p95(ivf_ms)[1],
    }


def _baseline_times(folder: Path, real: Encoder, asked: Sequence[str]) -> list[float]:
    """The tutorial's ask: encode, FAISS flat top-5, look the texts up in a Python list."""
    import faiss

    index = faiss.read_index(str(folder / "baseline.faiss"))
    texts = json.loads((folder / "baseline.json").read_text("utf-8"))
    times = []
    for q in [*asked, *asked]:
        started = time.perf_counter()
        vector = real.model.encode([q], normalize_embeddings=True)
        _, ids = index.search(np.asarray(vector, dtype=np.float32), 5)
        _ = [texts[i] for i in ids[0] if i >= 0]
        times.append((time.perf_counter() - started) * 1000)
    return times


def build_baseline(corpus: Path, folder: Path, encoder: SentenceSumEncoder) -> None:
    """The plain dense baseline over the same documents: 1000/200 chunks, FAISS flat."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts = [c for path in sorted(corpus.iterdir()) for c in splitter.split_text(path.read_text("utf-8"))]
    index = faiss.IndexFlatIP(encoder.dim)
    for a in range(0, len(texts), 50_000):
        index.add(encoder.encode_passages(texts[a : a + 50_000]))
    faiss.write_index(index, str(folder / "baseline.faiss"))
    (folder / "baseline.json").write_text(json.dumps(texts, ensure_ascii=False), "utf-8")


# ---------------------------------------------------------------- the whole run


def encode_overhead(real: Encoder, pool: Sequence[str], work: Path) -> float:
    """Whole indexing pipeline time over `SentenceTransformer.encode` alone, same chunks, same model."""
    from rag.chunking import chunk_corpus
    from rag.documents import load_corpus
    from rag.index import build_index, embedding_text

    corpus = work / "ratio-corpus"
    write_corpus(corpus, pool, documents=max(1, RATIO_CHUNKS // 27), seed=7)
    documents = load_corpus(corpus, [])
    by_doc = {d.doc: d for d in documents}
    chunks = chunk_corpus(documents, Settings().chunk_size, Settings().chunk_overlap)
    texts = [embedding_text(by_doc[c.doc], c) for c in chunks]
    pipeline_s, encode_s = [], []
    for n in range(2):
        folder = work / f"ratio-index-{n}"
        started = time.perf_counter()
        build_index(Settings(corpus_dir=corpus, index_dir=folder), log=LOG, encoder=real)
        pipeline_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        real.model.encode(texts, batch_size=32, normalize_embeddings=True)
        encode_s.append(time.perf_counter() - started)
    return round(statistics.median(pipeline_s) / statistics.median(encode_s), 3)


def reindex_one(synthetic: SentenceSumEncoder, pool: Sequence[str], work: Path) -> float:
    """Seconds to re-index after 1 document of 1,000 changed (median of REPEATS).

    The pipeline runs with the synthetic encoder; the real model's time to embed
    the changed document's chunks is measured and added.
    """
    from rag.chunking import chunk_corpus
    from rag.documents import parse, read_text
    from rag.index import build_index, embedding_text

    corpus, folder = work / "reindex-corpus", work / "reindex-index"
    write_corpus(corpus, pool, documents=1000, seed=11)
    settings = Settings(corpus_dir=corpus, index_dir=folder)
    build_index(settings, log=LOG, encoder=synthetic)
    times = []
    for n in range(REPEATS):
        changed = corpus / f"{n * 97:07d}.txt"
        changed.write_text(changed.read_text("utf-8") + f"\n\n{pool[n]} {pool[n + 1]}\n", "utf-8")
        started = time.perf_counter()
        report = build_index(settings, log=LOG, encoder=synthetic)
        pipeline = time.perf_counter() - started
        document = parse(changed.name, read_text(changed))
        chunks = chunk_corpus([document], settings.chunk_size, settings.chunk_overlap)
        started = time.perf_counter()
        synthetic.real.encode_passages([embedding_text(document, c) for c in chunks], progress=False)
        times.append(pipeline + time.perf_counter() - started)
        assert report.embedded == len(chunks), (report, len(chunks))
    return round(statistics.median(times), 2)


def run(
    scales: Sequence[int], work: Path, settings: Settings, out: Path | None, say: Any = print
) -> dict[str, Any]:
    """Run the benchmark; print a table; return (and write to `out`) the JSON object."""
    from embeddings.encoder import load_encoder
    from rag.index import build_index, load_index

    real, notice = load_encoder(settings.embedding_model)
    if notice:
        say(f"bench: {notice}")
    pool = corpus_sentences(settings.corpus_dir)
    say(f"bench: model {real.name}, {len(pool)} corpus sentences, work folder {work}")
    ratio = encode_overhead(real, pool, work)
    say(f"bench: encoding overhead ratio (pipeline / encode alone) {ratio}")
    synthetic = SentenceSumEncoder(real, pool)
    reindex = reindex_one(synthetic, pool, work)
    say(f"bench: re-index after 1 of 1,000 documents changed: {reindex} s")
    rows = []
    for scale in scales:
        corpus, index_dir, base = work / f"corpus-{scale}", work / f"index-{scale}", work / f"baseline-{scale}"
        write_corpus(corpus, pool, documents=max(1, round(scale / 27)), seed=scale)
        started = time.perf_counter()
        report = build_index(Settings(corpus_dir=corpus, index_dir=index_dir), log=LOG, encoder=synthetic)
        build_s = time.perf_counter() - started
        base.mkdir(exist_ok=True)
        build_baseline(corpus, base, synthetic)
        shutil.rmtree(corpus)  # the index holds the texts; the next scale needs the disk
        del report
        load_index(index_dir)  # fail here, not in the child, if the build is unusable
        child = subprocess.run(
            [sys.executable, "-m", "bench.run", "measure", str(index_dir), str(base), real.name],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"measuring {scale} chunks failed:\n{child.stderr[-2000:]}")
        row = json.loads(child.stdout.strip().splitlines()[-1])
        chunks = int(json.loads((index_dir / "manifest.json").read_text("utf-8"))["counts"]["chunks"])
        row = {
            "chunks": chunks,
            **row,
            "rss_mb_per_1k": round(row["rss_mb"] / (chunks / 1000), 2),
            "disk_mb": round(disk_mb(index_dir), 1),
            "disk_mb_per_1k": round(disk_mb(index_dir) / (chunks / 1000), 2),
            "build_s": round(build_s, 1),
            "baseline_ratio_p95": round(row["ask_ms_p95"] / row["baseline_ask_ms_p95"], 2),
            "synthetic": True,
        }
        rows.append(row)
        say(table_line(row))
        shutil.rmtree(index_dir)
        shutil.rmtree(base)
    result = {"encode_overhead_ratio": ratio, "scales": rows, "reindex_one_of_1000_s": reindex}
    if out is not None:
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    return result


def table_line(row: dict[str, Any]) -> str:
    r = row["retrieve_ms_p95"]
    return (
        f"{row['chunks']:>9,} chunks | ask p50 {row['ask_ms_p50']:7.1f} p95 {row['ask_ms_p95']:7.1f} ms"
        f" | baseline p95 {row['baseline_ask_ms_p95']:6.1f} ms (x{row['baseline_ratio_p95']})"
        f" | retrieve p95 hybrid {r['hybrid']:.1f} dense {r['dense']:.1f} lexical {r['lexical']:.1f} ms"
        f" | {row['vector_index']['kind']} recall@10 {row['recall_at_10']:.3f}"
        f" | rss {row['rss_mb']:.0f} MB disk {row['disk_mb']:.0f} MB"
        f" | load {row['load_s']:.2f} s build {row['build_s']:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["measure"]:
        index_dir, base, model = args[1:4]
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        print(json.dumps(measure(Path(index_dir), Path(base), model)))
        return 0
    raise SystemExit("usage: python -m bench.run measure INDEX BASELINE MODEL (use `hoidap bench` otherwise)")


def temporary_work() -> Path:
    return Path(tempfile.mkdtemp(prefix="hoidap-bench-"))


if __name__ == "__main__":
    sys.exit(main())
