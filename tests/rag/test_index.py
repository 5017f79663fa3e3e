"""Index folders: incremental builds, crash safety, damaged folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import PACKAGED, ROOT, long_report

from rag.errors import IndexMissing
from rag.index import build_index, load_index
from rag.lexical import LexicalIndex
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.text import key

QUIET = lambda _m: None  # noqa: E731


def settings_for(corpus: Path, index: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=index, embedding_model=PACKAGED)


def test_default_model_falls_back_offline_and_says_so(index_dir: Path) -> None:
    manifest = json.loads((index_dir / "manifest.json").read_text("utf-8"))
    assert manifest["fallback_model"] is True
    assert manifest["model"] == PACKAGED
    assert manifest["counts"]["documents"] == 5
    assert set(manifest["documents"]) == {p.name for p in (ROOT / "data/corpus").glob("*.txt")}


def test_fallback_warning_names_the_fix(corpus_copy: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    build_index(Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "ix"), log=lines.append)
    warning = next(line for line in lines if "WARNING" in line)
    assert "all-MiniLM-L6-v2" in warning and "HOIDAP_EMBEDDING_MODEL" in warning


def test_unchanged_corpus_reembeds_nothing(corpus_copy: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus_copy, tmp_path / "ix")
    first = build_index(settings, log=QUIET)
    assert first.embedded == first.chunks > 0
    again = build_index(settings, log=QUIET)
    assert again.unchanged and again.embedded == 0 and again.chunks == first.chunks


def test_changed_added_and_removed_documents(corpus_copy: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus_copy, tmp_path / "ix")
    first = build_index(settings, log=QUIET)
    changed = corpus_copy / "004_0b6753d6958e9fca.txt"
    changed.write_text(
        changed.read_text("utf-8")
        + "\n\nQuận uỷ Đống Đa cũng biểu dương nhiều tập thể và cá nhân tiêu biểu trong phong trào thi đua, "
        "góp phần hoàn thành thắng lợi các chỉ tiêu kinh tế - xã hội năm 2020 của quận.\n",
        "utf-8",
    )
    (corpus_copy / "002_7235feebbfc5181b.txt").unlink()
    (corpus_copy / "new.md").write_text(
        "Tin mới\n\nHội nghị đã thống nhất cao các giải pháp nâng cao chất lượng sinh hoạt chi bộ, "
        "bảo đảm thực chất, hiệu quả và đúng quy định của Điều lệ Đảng trong toàn Đảng bộ quận.\n",
        "utf-8",
    )
    second = build_index(settings, log=QUIET)
    index = load_index(settings.index_dir)
    assert set(index.documents) == {
        "000_cf24b04885448ff3.txt", "001_b8d377f4127674e8.txt", "003_e976d13c0d4f5caf.txt",
        "004_0b6753d6958e9fca.txt", "new.md",
    }
    n_changed = sum(c.doc in ("004_0b6753d6958e9fca.txt", "new.md") for c in index.chunks)
    assert second.embedded == n_changed
    assert second.reused == second.chunks - n_changed > 0
    assert second.chunks < first.chunks + n_changed
    # The lexical index, updated in place of the kept chunks, scores as a fresh build would.
    fresh = LexicalIndex.build([c.text for c in index.chunks])
    for question in ("4 mục tiêu năm 2021 là gì?", "sinh hoat chi bo", "Đảng bộ quận Đống Đa"):
        assert np.allclose(index.lexical.scores(question), fresh.scores(question), atol=1e-5)
    assert not index.lexical.has(key("Dũng"))  # only the removed document named him


def test_a_second_copy_of_a_document_is_indexed_beside_the_first(corpus_copy: Path, tmp_path: Path) -> None:
    # Both copies' chunks have the same content key; each old chunk is reused once, the copy is embedded.
    settings = settings_for(corpus_copy, tmp_path / "ix")
    build_index(settings, log=QUIET)
    original = corpus_copy / "000_cf24b04885448ff3.txt"
    shutil.copy(original, corpus_copy / "zz-copy.txt")
    again = build_index(settings, log=QUIET)
    index = load_index(settings.index_dir)
    copies = [c for c in index.chunks if c.doc == "zz-copy.txt"]
    assert again.embedded == len(copies) > 0
    vectors = index.vectors.vectors()
    firsts = [c.id for c in index.chunks if c.doc == original.name]
    assert np.allclose(vectors[[c.id for c in copies]], vectors[firsts], atol=1e-5)
    fresh = LexicalIndex.build([c.text for c in index.chunks])
    assert np.allclose(index.lexical.scores("4 mục tiêu năm 2021"), fresh.scores("4 mục tiêu năm 2021"), atol=1e-5)


def _big_corpus(folder: Path) -> None:
    """Add a long document so that embedding takes several seconds."""
    (folder / "big.txt").write_text(long_report(folder, 1500), "utf-8")


@pytest.mark.parametrize("kill_after", ["start", "embedding"])
def test_killed_build_keeps_the_previous_index(corpus_copy: Path, tmp_path: Path, kill_after: str) -> None:
    settings = settings_for(corpus_copy, tmp_path / "ix")
    first = build_index(settings, log=QUIET)
    _big_corpus(corpus_copy)
    env = {
        **os.environ,
        "HOIDAP_CORPUS_DIR": str(corpus_copy),
        "HOIDAP_INDEX_DIR": str(settings.index_dir),
        "HOIDAP_EMBEDDING_MODEL": PACKAGED,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "index"], env=env, cwd=ROOT,
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert proc.stderr is not None
    if kill_after == "start":
        time.sleep(1.0)
    else:
        for line in proc.stderr:
            if "embedding" in line:
                time.sleep(2.0)
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed mid-build, not finished

    old = Pipeline.open(settings)
    assert len(old.index.chunks) == first.chunks
    assert "big.txt" not in old.index.documents
    assert not old.ask("4 mục tiêu năm 2021 là gì?").refused

    second = build_index(settings, log=QUIET)
    assert "big.txt" in load_index(settings.index_dir).documents
    assert second.chunks > first.chunks
    # Nothing of the killed build is left (the lock file stays: it is free once its holder is gone).
    assert [p.name for p in settings.index_dir.parent.glob(".ix.*")] == [".ix.lock"]


def _copy_index(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_missing_index_says_run_hoidap_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="run `hoidap index`"):
        load_index(tmp_path / "nothing-here")


@pytest.mark.parametrize(
    "damage",
    [
        "truncate-faiss",
        "garbage-manifest",
        "missing-chunks",
        "foreign-folder",
        "wrong-counts",
        "bad-chunk-row",
        "edited-documents",
    ],
)
def test_damaged_index_says_rebuild(index_dir: Path, tmp_path: Path, damage: str) -> None:
    folder = _copy_index(index_dir, tmp_path / "ix")
    if damage == "truncate-faiss":
        data = (folder / "vectors.faiss").read_bytes()
        (folder / "vectors.faiss").write_bytes(data[: len(data) // 3])
    elif damage == "garbage-manifest":
        (folder / "manifest.json").write_text("{not json", "utf-8")
    elif damage == "missing-chunks":
        (folder / "chunks.npy").unlink()
    elif damage == "foreign-folder":
        folder = tmp_path / "foreign"
        folder.mkdir()
        (folder / "notes.txt").write_text("hello", "utf-8")
    elif damage == "wrong-counts":
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        manifest["counts"]["chunks"] += 3
        (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    elif damage == "bad-chunk-row":
        table = np.load(folder / "chunks.npy")
        table[3] = (99, 10, 5)  # no document 99, and an empty span
        np.save(folder / "chunks.npy", table)
    else:
        with (folder / "documents.jsonl").open("a", encoding="utf-8") as f:
            f.write('{"doc": "x"}\n')
    with pytest.raises(IndexMissing, match="rebuild"):
        load_index(folder)


def test_reuse_is_keyed_by_content_not_position(corpus_copy: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A change to cleaning shifts every chunk of a document: no chunk may keep another chunk's vector."""
    from dataclasses import replace

    import rag.index
    from embeddings.encoder import open_encoder
    from rag.documents import load_corpus
    from rag.index import embedding_text

    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    build_index(settings, log=lambda _m: None)

    def cleaned_differently(corpus_dir: Path, warn: list[str], known=None, progress=None):  # type: ignore[no-untyped-def]
        # The first document loses its first content line (the text, and so its hash, is unchanged).
        documents = load_corpus(corpus_dir, warn, known, progress)
        first = documents[0]
        start = first.text.index("\n", first.content[0][0]) + 1
        documents[0] = replace(first, content=((start, first.content[0][1]), *first.content[1:]))
        return documents

    monkeypatch.setattr(rag.index, "load_corpus", cleaned_differently)
    last = sorted(corpus_copy.glob("*.txt"))[-1]  # another document changes, so the build is not a no-op
    added = "\nMột đoạn mới được thêm vào cuối bài để kiểm tra việc lập chỉ mục lại.\n"
    last.write_text(last.read_text("utf-8") + added, "utf-8")
    report = build_index(settings, log=lambda _m: None)
    assert 0 < report.embedded < report.chunks  # the shifted document is re-embedded, the others reused
    index = load_index(settings.index_dir)
    encoder = open_encoder(index.model, index.fallback_model)
    chunks = [index.chunks[i] for i in range(len(index.chunks))]
    fresh = encoder.encode_passages([embedding_text(index.documents[c.doc], c) for c in chunks])
    assert np.allclose(index.vectors.vectors(), fresh, atol=1e-4)


def test_an_index_built_before_the_catalog_derives_it(index_dir: Path) -> None:
    from dataclasses import replace

    index = load_index(index_dir)
    written = index.catalog
    older = replace(index, manifest={k: v for k, v in index.manifest.items() if k != "catalog"})
    derived = older.catalog
    assert list(derived) == list(written)
    for name, entry in written.items():
        assert {**derived[name], "bytes": entry["bytes"], "indexed": entry["indexed"]} == entry
        assert derived[name]["indexed"] is None
    assert sum(e["chunks"] for e in derived.values()) == len(index.chunks)


def test_every_sentence_the_answerer_weighs_has_its_vector(index_dir: Path) -> None:
    from embeddings.encoder import open_encoder
    from rag.answer import sentences

    index = load_index(index_dir)
    doc = "000_cf24b04885448ff3.txt"
    spans = sentences(index.documents[doc])
    number = index.documents.number[doc]
    a, b = index.sentences.rows(number)
    assert [(int(s), int(e)) for _, s, e in index.sentences.table[a:b]] == [(s.start, s.end) for s in spans]
    assert index.sentences.vectors.dtype == np.float16 and index.manifest["counts"]["sentences"] == len(index.sentences)
    encoder = open_encoder(index.model, index.fallback_model)
    query = encoder.encode_queries(["4 mục tiêu năm 2021 là gì?"])[0]
    exact = encoder.encode_passages([" ".join(index.documents[doc].text[s.start : s.end].split()) for s in spans[:5]])
    stored = index.sentences.similarity(number, [s.start for s in spans[:5]], query)
    assert np.allclose(stored, exact @ query, atol=2e-3)  # half precision moves a cosine by less than this
    assert index.sentences.similarity(number, [spans[0].start + 1], query) == [None]  # not a sentence start


def test_sentence_vectors_of_unchanged_documents_are_kept(corpus_copy: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus_copy, tmp_path / "ix")
    build_index(settings, log=QUIET)
    before = load_index(settings.index_dir)
    kept = "000_cf24b04885448ff3.txt"
    old = np.array(before.sentences.vectors[slice(*before.sentences.rows(before.documents.number[kept]))])
    (corpus_copy / "002_7235feebbfc5181b.txt").unlink()
    said: list[str] = []
    build_index(settings, log=said.append)
    after = load_index(settings.index_dir)
    assert np.array_equal(old, after.sentences.vectors[slice(*after.sentences.rows(after.documents.number[kept]))])
    assert not any("sentences" in line for line in said)  # nothing was embedded again
