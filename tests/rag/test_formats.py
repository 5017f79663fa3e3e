"""Documents of every format indexed and answered from: page and section in every citation, no furniture
ever quoted, bad files skipped with their reason while the rest is indexed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, run_cli

from bench.documents import regulation, write_docx, write_html, write_pdf
from rag.documents import load_corpus, page_of
from rag.index import build_index, load_index
from rag.pipeline import Pipeline, answer_json
from rag.settings import Settings

QUESTION = "Thời gian tối đa để sinh viên hoàn thành khóa học là bao lâu?"
SECTION = "Chương II. Tổ chức đào tạo › Điều 6. Thời gian học tập"
FURNITURE = ("Trang ", "VĂN BẢN NỘI BỘ", "Lưu hành nội bộ", "Tin liên quan", "Bình luận", "Bản quyền")
WRITERS = {"pdf": write_pdf, "docx": write_docx, "html": write_html}


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pipeline]:
    """One index per format, each over the regulation in that format beside one news article."""
    found = {}
    for fmt, write in WRITERS.items():
        folder = tmp_path_factory.mktemp(fmt)
        corpus = folder / "corpus"
        corpus.mkdir()
        write(corpus / f"quy-che.{fmt}", regulation())
        shutil.copy(sorted(CORPUS.glob("*.txt"))[0], corpus)
        settings = Settings(corpus_dir=corpus, index_dir=folder / "index")
        build_index(settings, log=lambda _m: None)
        found[fmt] = Pipeline.open(settings)
    return found


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_an_answer_cites_the_file_its_page_and_its_section(pipelines: dict[str, Pipeline], fmt: str) -> None:
    pipeline = pipelines[fmt]
    data = answer_json(pipeline.ask(QUESTION))
    assert not data["refused"], data["answer"]
    first = data["citations"][0]
    assert first["doc"] == f"quy-che.{fmt}" and "06 học kỳ" in first["quote"]
    assert first["section"] == SECTION
    document = pipeline.index.documents[first["doc"]]
    assert document.text[first["start"] : first["end"]] == first["quote"]
    if fmt == "pdf":
        assert first["page"] == page_of(document, first["start"]) and first["page"] >= 2
    else:
        assert first["page"] is None


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_no_chunk_holds_page_furniture(pipelines: dict[str, Pipeline], fmt: str) -> None:
    index = pipelines[fmt].index
    for i in range(len(index.chunks)):
        chunk = index.chunks[i]
        if chunk.doc != f"quy-che.{fmt}":
            continue
        assert not any(word in chunk.text for word in FURNITURE), chunk.text


def test_the_manifest_and_health_count_documents_per_format(pipelines: dict[str, Pipeline]) -> None:
    assert pipelines["pdf"].index.manifest["formats"] == {"pdf": 1, "txt": 1}
    assert pipelines["docx"].health()["formats"] == {"docx": 1, "txt": 1}


def test_bad_files_are_skipped_with_their_reason_and_the_rest_is_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(sorted(CORPUS.glob("*.txt"))[0], corpus)
    write_docx(corpus / "quy-che.docx", regulation(3))
    (corpus / "hong.pdf").write_bytes(b"%PDF-1.7\n" + bytes(300))
    (corpus / "gia.docx").write_text("Không phải tệp Word.", "utf-8")
    (corpus / "bang-tinh.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / ".~lock.quy-che.docx#").write_text("lock", "utf-8")
    warnings: list[str] = []
    documents = load_corpus(corpus, warnings)
    assert sorted(d.format for d in documents) == ["docx", "txt"]
    said = "\n".join(warnings)
    assert "skipped hong.pdf: cannot be read as a PDF" in said
    assert "skipped gia.docx: is not a Word document" in said
    assert "skipped bang-tinh.xlsx: hoidap does not read .xlsx" in said
    assert "lock" not in said  # hidden and lock files are nobody's documents
    result = run_cli("index", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "hong.pdf" in result.stderr and "Traceback" not in result.stderr
    assert load_index(tmp_path / "index").manifest["formats"] == {"docx": 1, "txt": 1}


def test_an_unchanged_pdf_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "quy-che.pdf", regulation(4))
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, log=lambda _m: None)

    def never(path: Path) -> None:
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr("rag.documents.read", never)
    assert build_index(settings, log=lambda _m: None).unchanged
