from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from conftest import to_cp1258

from rag.documents import decode, is_article_line, load_corpus, parse
from rag.errors import CorpusError

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"


def content_text(doc) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(doc.text[a:b] for a, b in doc.content)


@pytest.fixture(scope="module")
def docs():  # type: ignore[no-untyped-def]
    return {d.doc: d for d in load_corpus(CORPUS, [])}


def test_cleaning_keeps_article_sentences(docs) -> None:  # type: ignore[no-untyped-def]
    kept = content_text(docs["000_cf24b04885448ff3.txt"])
    assert "Thứ nhất là: Khẩn trương tổ chức thực hiện" in kept
    assert "Thứ tư là: Chỉ đạo tổ chức thành công cuộc bầu cử" in kept
    assert "HNP -\u00a0Ngày 11/12, Thành ủy Hà Nội ban hành Báo cáo số 17-BC/TU" in kept
    kept4 = content_text(docs["004_0b6753d6958e9fca.txt"])
    assert "đạt 11.085,046 tỷ đồng, đạt 100,52% dự toán giao" in kept4
    assert "tặng giấy khen 17 tổ chức cơ sở đảng" in kept4


@pytest.mark.parametrize(
    "doc, furniture",
    [
        ("000_cf24b04885448ff3.txt", "Viết bình luận"),
        ("000_cf24b04885448ff3.txt", "Mã xác nhận"),
        ("000_cf24b04885448ff3.txt", "H. Hạnh"),
        ("001_b8d377f4127674e8.txt", "Quang cảnh buổi làm việc"),
        ("001_b8d377f4127674e8.txt", "Nguyễn Thị Tuyến phát biểu tại cuộc làm việc"),
        ("001_b8d377f4127674e8.txt", "Tin liên quan"),
        ("002_7235feebbfc5181b.txt", "Theo bạn Hà Nội có nên xây dựng thành phố thông minh"),
        ("002_7235feebbfc5181b.txt", "Lượt xem"),
        ("002_7235feebbfc5181b.txt", "Nguồn: HNMO"),
        ("003_e976d13c0d4f5caf.txt", "Thời tiết Hà Nội"),
        ("003_e976d13c0d4f5caf.txt", "Tỷ giá ngoại tệ"),
        ("003_e976d13c0d4f5caf.txt", "Tổng số điểm của bài viết"),
        ("004_0b6753d6958e9fca.txt", "Tập huấn Nghị quyết Đại hội Đảng bộ quận Đống Đa"),
        ("004_0b6753d6958e9fca.txt", "đạt Trong sạch vững mạnh tiêu biểu 5 năm liền được khen thưởng"),
    ],
)
def test_cleaning_drops_furniture(docs, doc: str, furniture: str) -> None:  # type: ignore[no-untyped-def]
    assert furniture in docs[doc].text
    assert furniture not in content_text(docs[doc]) + "\n"


def test_general_rules_on_unseen_shapes() -> None:
    sentence = (
        "Hội nghị đã thống nhất các giải pháp trọng tâm để nâng cao chất lượng sinh hoạt chi bộ "
        "trong toàn Đảng bộ, bảo đảm thực chất và hiệu quả."
    )
    assert is_article_line(sentence)
    assert is_article_line("- Một là: tăng cường kiểm tra, giám sát;")
    assert not is_article_line("Ảnh: Nguyễn Văn A")
    assert not is_article_line("L?y l?i m\ufffd b?o m?t " + sentence)
    assert not is_article_line(sentence.rstrip(".") + " Xem thêm Đọc nhiều Chia sẻ Facebook")


def test_metadata(docs) -> None:  # type: ignore[no-untyped-def]
    d0 = docs["000_cf24b04885448ff3.txt"]
    assert d0.title.startswith("Xác định rõ 4 mục tiêu") and "12:19" not in d0.title
    assert d0.date == "2020-12-13" and d0.source == "HNP"
    assert docs["001_b8d377f4127674e8.txt"].date is None
    assert docs["002_7235feebbfc5181b.txt"].date == "2023-01-12"
    assert docs["003_e976d13c0d4f5caf.txt"].source == "QPTĐ"
    d4 = docs["004_0b6753d6958e9fca.txt"]
    assert d4.date == "2021-01-15" and d4.source == "LĐTĐ"
    assert d4.title == "Đảng bộ quận Đống Đa lãnh đạo hiệu quả toàn diện các mặt công tác"


def test_text_is_kept_as_stored_nfc() -> None:
    body = "Quận uy\u0309 đã họp và thống nhất nhiều nội dung quan trọng về công tác xây dựng Đảng trong năm tới."
    doc = parse("x.txt", "Tiêu đề bài\n\n" + body + "\n")
    assert "Quận uỷ" in doc.text  # decomposed input stored composed
    for a, b in doc.content:
        assert doc.text[a:b].strip() == doc.text[a:b]


def test_unreadable_files_are_skipped_with_named_warning(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text((CORPUS / "000_cf24b04885448ff3.txt").read_text("utf-8"), "utf-8")
    (tmp_path / "latin.txt").write_bytes("Le conseil a approuvé le budget de l'année.".encode("cp1252"))
    (tmp_path / "empty.md").write_text("", "utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    warnings: list[str] = []
    docs = load_corpus(tmp_path, warnings)
    assert [d.doc for d in docs] == ["good.txt"]
    joined = "\n".join(warnings)
    assert "latin.txt" in joined and "not UTF-8" in joined
    assert "empty.md" in joined and "binary.txt" in joined


VIETNAMESE = "Thành ủy Hà Nội đã ban hành nghị quyết về phát triển kinh tế - xã hội năm 2021.\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (VIETNAMESE.encode("utf-8"), VIETNAMESE),
        (VIETNAMESE.encode("utf-8-sig"), VIETNAMESE),
        (VIETNAMESE.encode("utf-16"), VIETNAMESE),
        # Windows-1258 writes most tones as combining marks: "ủ" is "u" + U+0309.
        (to_cp1258(VIETNAMESE), VIETNAMESE),
        ("Le conseil a approuvé le budget de l'année.".encode("cp1252"), "not UTF-8"),
        (VIETNAMESE.encode("utf-8")[:20] + b"\xe1" + VIETNAMESE.encode("utf-8")[20:], "not valid UTF-8"),
        (b"\x00\x01" * 10, "binary"),
        (b" \r\n\t", "empty"),
    ],
)
def test_decode_reads_vietnamese_encodings_and_names_the_rest(data: bytes, expected: str) -> None:
    if expected == VIETNAMESE:
        assert unicodedata.normalize("NFC", decode(data)) == VIETNAMESE
    else:
        with pytest.raises(ValueError, match=expected):
            decode(data)


def test_missing_or_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope", [])
    with pytest.raises(CorpusError, match="no readable"):
        load_corpus(tmp_path, [])
