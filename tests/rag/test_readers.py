"""Readers per format, on real files written by real libraries (bench/documents.py)."""

from __future__ import annotations

import random
import shutil
import zipfile
from pathlib import Path

import pytest

from bench.documents import (
    TITLE,
    convert,
    image_pdf,
    regulation,
    render_page,
    write_docx,
    write_html,
    write_pdf,
)
from rag.readers import furniture, paragraphs, read, tesseract

needs_ocr = pytest.mark.skipif(tesseract() is None, reason="needs tesseract-ocr tesseract-ocr-vie (.ci/run installs)")
needs_office = pytest.mark.skipif(shutil.which("soffice") is None, reason="needs libreoffice-writer-nogui")
FURNITURE = ("Trang ", "VĂN BẢN NỘI BỘ", "Lưu hành nội bộ", "Tin liên quan", "Bình luận", "Bản quyền", "Trang chủ")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    blocks = regulation()
    return {
        "docx": write_docx(folder / "quy-che.docx", blocks),
        "pdf": write_pdf(folder / "quy-che.pdf", blocks),
        "html": write_html(folder / "quy-che.html", blocks),
    }


def paragraphs_of(text: str) -> list[str]:
    return text.split("\n\n")


def test_docx_keeps_headings_numbered_lists_and_tables_and_leaves_out_header_and_footer(files: dict[str, Path]) -> None:
    found = read(files["docx"])
    text = found.text
    assert found.format == "docx" and found.title == TITLE
    assert found.headings is not None
    heads = [(text[h.start : h.end], h.level) for h in found.headings]
    assert ("Chương II. Tổ chức đào tạo", 1) in heads and ("Điều 6. Thời gian học tập", 2) in heads
    article = text[text.index("Điều 6.") : text.index("Điều 7.")]
    # Word's automatic numbers, restarted in each article, points nested under their clause.
    assert [p.split()[0] for p in paragraphs_of(article.strip())[1:]] == ["1.", "2.", "a)", "b)", "3."]
    assert "Công nghệ thông tin | 450.000 đồng" in paragraphs_of(text)
    assert not any(word in text for word in FURNITURE)


def test_pdf_pages_are_kept_and_running_headers_footers_and_page_numbers_removed(files: dict[str, Path]) -> None:
    found = read(files["pdf"])
    text = found.text
    assert found.format == "pdf" and len(found.pages) >= 3 and found.pages[0] == 0
    assert list(found.pages) == sorted(found.pages)
    assert not any(word in text for word in FURNITURE)
    assert text.count(TITLE) == 1  # the title under the running header of the same words stays, once
    # A clause wrapped over two lines (or two pages) reads as one paragraph.
    for paragraph in paragraphs_of(text):
        assert paragraph[0].isupper() or paragraph[0].isdigit() or paragraph[:2] in ("a)", "b)"), paragraph


def test_html_keeps_the_article_and_its_metadata_not_the_site(files: dict[str, Path]) -> None:
    found = read(files["html"])
    assert found.format == "html" and found.title == TITLE and found.date == "2021-08-15"
    assert "Điều 6. Thời gian học tập" in paragraphs_of(found.text)
    assert not any(word in found.text for word in FURNITURE)
    assert found.headings is not None
    assert any(found.text[h.start : h.end] == "Điều 6. Thời gian học tập" for h in found.headings)


def test_paragraphs_join_wrapped_and_hyphenated_lines_not_rows_or_headings() -> None:
    page_1 = ["Điều 1. Phạm vi", "Quy chế này quy định về tổ chức đào tạo trình độ đại học theo hệ thống", "tín"]
    page_2 = ["chỉ và áp dụng cho mọi khóa học của trường từ năm 2021 trở đi, trừ các khóa đã tuyển sinh hoặc inter-",
              "national programs.", "Ngành học Học phí", "Kinh tế 380.000 đồng", "a) điểm một."]  # fmt: skip
    text, starts = paragraphs([page_1, page_2])
    assert paragraphs_of(text) == [
        "Điều 1. Phạm vi",
        "Quy chế này quy định về tổ chức đào tạo trình độ đại học theo hệ thống tín chỉ và áp dụng cho mọi "
        "khóa học của trường từ năm 2021 trở đi, trừ các khóa đã tuyển sinh hoặc international programs.",
        "Ngành học Học phí",
        "Kinh tế 380.000 đồng",
        "a) điểm một.",
    ]
    assert text[starts[1] :].startswith("chỉ và áp dụng")  # page 2 starts inside the joined paragraph


def test_furniture_fires_on_repeated_margins_and_page_numbers_and_stays_silent_on_body_lines() -> None:
    words = ["kinh tế", "văn hóa", "xã hội", "giáo dục", "y tế", "quốc phòng", "môi trường", "giao thông"]
    body = [f"Kết quả về {w} trong năm, một câu văn bình thường." for w in words]
    pages = [["BÁO CÁO TỔNG KẾT NĂM 2021", *body[i:], *body[:i], f"Trang {i + 1}"] for i in range(3)]
    found = furniture(pages)
    assert found == {(i, 0) for i in range(3)} | {(i, 9) for i in range(3)}
    # A report whose pages share no margin line, and a one-page notice: nothing is furniture.
    report = [["Phần mở đầu của báo cáo.", *body[:3]], ["Kết quả đạt được trong năm.", *body[3:6]]]
    assert furniture(report) == set()
    notice = [["THÔNG BÁO", "Về việc nghỉ lễ Quốc khánh 2/9.", "Điều 3"]]
    assert furniture(notice) == set()


def test_a_file_is_read_by_its_content_when_its_extension_lies(files: dict[str, Path], tmp_path: Path) -> None:
    lying = tmp_path / "bao-cao.pdf"
    shutil.copyfile(files["docx"], lying)
    found = read(lying)
    assert found.format == "docx" and "Điều 6. Thời gian học tập" in found.text
    assert found.notes and "is a Word document, not a PDF" in found.notes[0]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("empty.pdf", b"", "is not a PDF"),
        ("text.pdf", "Chỉ là văn bản thường.".encode(), "is not a PDF"),
        ("truncated.pdf", None, "cannot be read as a PDF"),
        ("text.docx", "Không phải tệp Word.".encode(), "is not a Word document"),
        ("other.docx", "zip", "not a Word or OpenDocument file"),
        ("bomb.docx", "bomb", "would unpack to"),
        ("notes.xlsx", b"PK\x03\x04", "extension hoidap does not read"),
    ],
)
def test_a_bad_file_gets_a_one_line_reason(
    files: dict[str, Path], tmp_path: Path, name: str, content: bytes | str | None, why: str
) -> None:
    path = tmp_path / name
    if content is None:
        path.write_bytes(files["pdf"].read_bytes()[:2000])
    elif content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("photos/a.txt", "ảnh")
    elif content == "bomb":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("word/document.xml", "")
            with archive.open("word/media/zeros.bin", "w") as member:
                block = bytes(1 << 24)
                for _ in range(13):  # 208 MB of zeros, a few hundred kB packed
                    member.write(block)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        read(path)
    message = str(caught.value)
    assert why in message and "\n" not in message and "Traceback" not in message


def test_a_password_protected_or_pageless_pdf_is_refused_with_its_reason(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    locked = PdfWriter()
    locked.add_blank_page(width=595, height=842)
    locked.encrypt(user_password="mat-khau", owner_password="chu")
    locked.write(tmp_path / "locked.pdf")
    with pytest.raises(ValueError, match="password-protected"):
        read(tmp_path / "locked.pdf")
    PdfWriter().write(tmp_path / "empty.pdf")
    with pytest.raises(ValueError, match="has no pages"):
        read(tmp_path / "empty.pdf")


def test_fuzz_truncated_and_random_files_of_every_format_fail_only_with_a_reason(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """Every format, cut short at random places or filled with random bytes after its magic: read() either
    returns text or raises ValueError with one line; nothing else escapes."""
    rng = random.Random(20261121)
    samples = {suffix: path.read_bytes() for suffix, path in files.items()}
    samples["png"] = b"\x89PNG\r\n\x1a\n" + bytes(64)
    cases = []
    for suffix, data in samples.items():
        for cut in sorted(rng.sample(range(1, len(data)), 12)):
            cases.append((suffix, data[:cut]))
        for _ in range(4):
            cases.append((suffix, data[:8] + rng.randbytes(rng.randint(0, 4000))))
    for n, (suffix, data) in enumerate(cases):
        path = tmp_path / f"fuzz-{n}.{suffix}"
        path.write_bytes(data)
        try:
            found = read(path)
        except ValueError as exc:
            assert "\n" not in str(exc), (path.name, str(exc))
        else:
            assert isinstance(found.text, str)


@needs_ocr
def test_a_scanned_page_is_read_by_ocr_page_by_page(files: dict[str, Path], tmp_path: Path) -> None:
    images = [render_page(files["pdf"], page, 300, tmp_path / f"page-{page}.png") for page in (1, 2)]
    scan = image_pdf(images, tmp_path / "scan.pdf")
    found = read(scan)
    assert found.format == "pdf" and len(found.pages) == 2
    assert "Điều 1. Phạm vi điều chỉnh" in found.text and "Trang 1" not in found.text
    image = read(images[0])
    assert image.format == "image" and "Quy chế này quy định về tổ chức đào tạo" in image.text


def test_without_tesseract_a_scan_is_skipped_with_the_packages_to_install(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    Image.new("RGB", (200, 100), "white").save(tmp_path / "blank.png")
    image_pdf([tmp_path / "blank.png"], tmp_path / "scan.pdf")
    monkeypatch.setattr("rag.readers.tesseract", lambda: None)
    with pytest.raises(ValueError, match="tesseract-ocr tesseract-ocr-vie"):
        read(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="holds no text"):
        read(tmp_path / "scan.pdf")


@needs_office
def test_an_old_word_file_is_converted_by_libreoffice(files: dict[str, Path], tmp_path: Path) -> None:
    doc = convert(files["docx"], "doc", tmp_path)
    found = read(doc)
    assert found.format == "doc" and "Điều 6. Thời gian học tập" in found.text
    assert "Công nghệ thông tin | 450.000 đồng" in found.text
    assert not any(word in found.text for word in FURNITURE)


def test_without_libreoffice_an_old_word_file_says_which_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cu.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    monkeypatch.setattr("rag.readers.soffice", lambda: None)
    with pytest.raises(ValueError, match="libreoffice-writer-nogui"):
        read(tmp_path / "cu.doc")


def test_numbered_and_markdown_headings_are_found_only_where_they_are_headings() -> None:
    from rag.readers import text_headings

    law = "Chương II\nĐiều 6. Thời gian học tập\n1. Sinh viên học tối đa 06 học kỳ.\nI. MỤC TIÊU\n1.1. Mục tiêu chung"
    assert [(law[h.start : h.end], h.level) for h in text_headings(law)] == [
        ("Chương II", 2), ("Điều 6. Thời gian học tập", 4), ("I. MỤC TIÊU", 1), ("1.1. Mục tiêu chung", 2)
    ]  # fmt: skip
    notes = "# Kế hoạch tháng 3\nNội dung.\n## Việc cần làm\n- Họp giao ban."
    assert [h.level for h in text_headings(notes, markdown=True)] == [1, 2]
    assert text_headings(notes) == ()  # in a plain text "#" is only a character


def test_an_outline_level_makes_a_heading_and_level_9_is_body_text(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    for name, level in (("Đề mục", 1), ("Thân bài", 9)):
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.element.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {nsdecls("w")} w:val="{level}"/>'))
    document.add_paragraph("Điều 1. Phạm vi điều chỉnh", style="Đề mục")
    document.add_paragraph("Quy chế này quy định về đào tạo.", style="Thân bài")
    document.save(str(tmp_path / "muc.docx"))
    found = read(tmp_path / "muc.docx")
    assert found.headings is not None
    assert [(found.text[h.start : h.end], h.level) for h in found.headings] == [("Điều 1. Phạm vi điều chỉnh", 2)]
