"""Corpus faults: every file is indexed or skipped with a warning that names it; odd encodings are searchable."""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
from pathlib import Path
from typing import Any

from conftest import CORPUS, to_cp1258

from rag.documents import MAX_FILE_BYTES
from rag.index import build_index, load_index
from rag.pipeline import Pipeline, answer_json
from rag.settings import Settings

# name → (text, a question only that text answers); each is written in its own way below.
READABLE = {
    "nfd.txt": (
        "Mê Linh nạo vét kênh tưới\n\n"
        "Trong tháng 4/2021, Ban quản lý dự án huyện Mê Linh đã hoàn thành nạo vét 27 km kênh tưới tiêu nội đồng, "
        "bảo đảm đủ nước phục vụ gieo cấy vụ xuân cho hơn 3.200 héc-ta lúa của các xã ven sông Hồng.\n",
        "Huyện Mê Linh đã nạo vét bao nhiêu km kênh tưới tiêu nội đồng?",
    ),
    "cp1258.txt": (
        "Thạch Thất khai trương chợ nông sản\r\n\r\n"
        "Sáng 20/5/2021, huyện Thạch Thất đã khai trương chợ đầu mối nông sản Bình Yên với 418 gian hàng, "
        "mỗi ngày tiêu thụ khoảng 60 tấn rau quả an toàn cho người dân thủ đô và các tỉnh lân cận.\r\n",
        "Chợ đầu mối nông sản Bình Yên ở Thạch Thất có bao nhiêu gian hàng?",
    ),
    "utf16.txt": (
        "Đan Phượng xây trường\n\n"
        "Năm học 2021-2022, huyện Đan Phượng đưa vào sử dụng 9 trường học mới đạt chuẩn quốc gia, với tổng vốn "
        "đầu tư hơn 180 tỷ đồng từ ngân sách thành phố và huyện, đáp ứng nhu cầu học tập của con em nhân dân.\n",
        "Huyện Đan Phượng đưa vào sử dụng bao nhiêu trường học mới đạt chuẩn quốc gia?",
    ),
    "one-line.txt": (
        " ".join(
            f"Trong đợt kiểm tra thứ {i}, đoàn công tác của huyện Ba Vì đã làm việc với {i + 11} hợp tác xã "
            f"chè và ghi nhận sản lượng chè búp tươi đạt {i * 7 + 40} tấn, tăng so với cùng kỳ năm trước."
            for i in range(1, 31)
        ),
        "Đoàn công tác của huyện Ba Vì làm việc với bao nhiêu hợp tác xã chè trong đợt kiểm tra thứ 17?",
    ),
}


def write_faulty_corpus(folder: Path) -> dict[str, str]:
    """Add odd files to `folder`; returns {skipped file: words its warning must hold}."""
    text = {name: text for name, (text, _question) in READABLE.items()}
    (folder / "nfd.txt").write_text(unicodedata.normalize("NFD", text["nfd.txt"]), "utf-8")
    (folder / "cp1258.txt").write_bytes(to_cp1258(text["cp1258.txt"]))
    (folder / "utf16.txt").write_text(text["utf16.txt"], "utf-16")
    (folder / "one-line.txt").write_text(text["one-line.txt"], "utf-8")
    assert "\n" not in text["one-line.txt"]

    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text(" \n\t\n", "utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    (folder / "latin.txt").write_bytes(
        "Le conseil municipal a approuvé le budget prévu pour l'année, après une séance très animée.".encode("cp1252")
    )
    broken = (CORPUS / "000_cf24b04885448ff3.txt").read_bytes()
    (folder / "broken-utf8.txt").write_bytes(broken[:3000] + b"\xe1\xbb" + broken[3000:])
    # Over the size limit, made by repeating real sentences (never read: the size is checked first).
    block = (CORPUS / "001_b8d377f4127674e8.txt").read_bytes()
    with (folder / "huge.txt").open("wb") as f:
        for _ in range(50 * 2**20 // len(block) + 1):
            f.write(block)
    assert (folder / "huge.txt").stat().st_size > MAX_FILE_BYTES
    return {
        "empty.txt": "is empty",
        "blank.md": "is empty",
        "binary.txt": "binary",
        "latin.txt": "not UTF-8",
        "broken-utf8.txt": "not valid UTF-8",
        "huge.txt": f"over the {MAX_FILE_BYTES // 2**20} MB limit",
    }


def test_each_file_is_indexed_or_skipped_by_name(
    index_dir: Path, corpus_copy: Path, tmp_path: Path, check_answer: Any
) -> None:
    skipped = write_faulty_corpus(corpus_copy)
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "ix")
    shutil.copytree(index_dir, settings.index_dir)  # the real documents keep their vectors
    lines: list[str] = []
    report = build_index(settings, log=lines.append)
    warnings = [line for line in lines if line.startswith("hoidap: warning: skipped ")]

    for name, words in skipped.items():
        said = [line for line in warnings if f"skipped {name}: " in line]
        assert len(said) == 1 and words in said[0], (name, warnings)
    assert "split" in next(line for line in warnings if "huge.txt" in line)
    assert len(warnings) == len(skipped), warnings

    index = load_index(settings.index_dir)
    real = {p.name for p in CORPUS.iterdir()}
    assert set(index.documents) == real | set(READABLE)
    assert report.embedded < report.chunks  # only the new files were embedded
    for name, (text, _question) in READABLE.items():
        stored = index.documents[name]
        assert stored.text == unicodedata.normalize("NFC", text)
        assert stored.sha256 == hashlib.sha256(stored.text.encode("utf-8")).hexdigest()
    line_chunks = [c for c in index.chunks if c.doc == "one-line.txt"]
    assert len(line_chunks) > 1 and all(len(c.text) <= settings.chunk_size for c in line_chunks)

    pipeline = Pipeline.open(settings)
    for name, (_text, question) in READABLE.items():
        data = answer_json(pipeline.ask(question))
        check_answer(data, index.documents)
        assert not data["refused"] and name in {c["doc"] for c in data["citations"]}, (name, data["answer"])
        for c in data["citations"]:
            assert unicodedata.is_normalized("NFC", c["quote"])
