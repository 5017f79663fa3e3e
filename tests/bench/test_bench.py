"""The benchmark's own parts (the benchmark itself runs by hand: `hoidap bench`)."""

from __future__ import annotations

from pathlib import Path

from conftest import CORPUS, run_cli

from bench.run import corpus_sentences, write_corpus
from rag.chunking import chunk_corpus
from rag.documents import load_corpus


def test_synthetic_documents_are_article_text_made_of_corpus_sentences(tmp_path: Path) -> None:
    pool = corpus_sentences(CORPUS)
    assert len(pool) > 50 and all(len(s.split()) >= 8 for s in pool)
    write_corpus(tmp_path, pool, documents=3, seed=1)
    warnings: list[str] = []
    documents = load_corpus(tmp_path, warnings)
    assert len(documents) == 3 and not warnings
    for d in documents:
        covered = sum(b - a for a, b in d.content)
        assert covered > 0.9 * len(d.text)  # cleaning keeps the paragraphs as content
    assert 60 <= len(chunk_corpus(documents, 600, 120)) <= 100


def test_bad_scales_exit_2_with_one_line() -> None:
    done = run_cli("bench", "--scales", "ten,20")
    assert done.returncode == 2
    assert "chunk counts" in done.stderr and "Traceback" not in done.stderr


def test_a_work_folder_in_use_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", "utf-8")
    done = run_cli("bench", "--scales", "1000", "--work", str(tmp_path))
    assert done.returncode == 2
    assert "not empty" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (tmp_path / "notes.txt").read_text("utf-8") == "keep me"
