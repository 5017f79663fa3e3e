"""Text structure: each rule fires on the shape it is for and stays silent on another genre."""

from __future__ import annotations

import textwrap
from pathlib import Path

from rag.documents import parse
from rag.structure import (
    DURATION,
    HEADING,
    ITEM,
    is_structured,
    is_timestamp,
    item_names,
    numbered,
    one_line,
    sentence_bounds,
    unwrap,
    wrap_width,
)

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"
LAW = """CHƯƠNG I
QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Quy chế này quy định về đào tạo trình độ đại học.
Điều 6. Thời gian học tập
1. Thời gian học tập tối đa là 02 học kỳ.
a) Sinh viên được đăng ký học lại;
b) Sinh viên bị buộc thôi học khi vi phạm quy chế.
Điều 60. Hiệu lực thi hành
Quyết định này có hiệu lực kể từ ngày 01/7/2025.
"""
NOTICE = """THÔNG BÁO
Về việc thu phí trông giữ xe
Xe đạp: 2.000 đồng/lượt
Xe máy: 4.000 đồng/lượt
Ô tô dưới 9 chỗ: 25.000 đồng/lượt
Bước 1: Nộp hồ sơ tại bộ phận một cửa.
Điện thoại: 024.3851.2746
"""


def test_sentences_end_at_full_stops_but_not_after_titles_or_initials() -> None:
    text = "PGS.TS. Nguyễn Văn A phát biểu tại TP. Hồ Chí Minh. Ông H. Hạnh cho biết. Hết."
    said = [text[a:b] for a, b in sentence_bounds(text, 0, len(text))]
    assert said == ["PGS.TS. Nguyễn Văn A phát biểu tại TP. Hồ Chí Minh.", "Ông H. Hạnh cho biết.", "Hết."]
    plain = "Năm 2020 thu ngân sách đạt 11.085,046 tỷ đồng. Chi đạt 85,39% dự toán."
    assert len(list(sentence_bounds(plain, 0, len(plain)))) == 2


def test_list_markers_and_headings() -> None:
    for line in ("Thứ nhất là: Khẩn trương", "Một là tăng cường", "1. Thời gian", "a) Sinh viên", "- Như Điều 3;",
                 "Bước 2: Nộp lệ phí"):
        assert ITEM.match(line), line
    for line in ("Điều 6. Thời gian học tập", "CHƯƠNG II", "Chương I", "I. KẾT QUẢ ĐẠT ĐƯỢC", "1.2. Mục tiêu"):
        assert HEADING.match(line), line
    # Prose that starts with a number or a word like "điều" is neither.
    assert ITEM.match("c) Bị kỷ luật lần thứ hai;") and not HEADING.match("c) Bị kỷ luật lần thứ hai;")
    for line in ("2020 là năm nhiều khó khăn.", "Điều đáng chú ý là tỷ lệ tăng.", "Thứ trưởng Bộ Nội vụ phát biểu"):
        assert not HEADING.match(line) and not ITEM.match(line), line


def test_structured_lines_are_headings_items_and_labelled_rows() -> None:
    assert all(is_structured(line) for line in NOTICE.splitlines()[2:])
    assert is_structured("Điều 6. Thời gian học tập")
    # A caption, a menu or a byline carries no structure.
    for line in ("Quang cảnh buổi làm việc", "Tin liên quan", "H. Hạnh", "Phóng sự ảnh"):
        assert not is_structured(line), line
    # A title with a colon far in is not a label.
    assert not is_structured("Phó Bí thư Thường trực Thành ủy Nguyễn Thị Tuyến: Cần triển khai quyết liệt")


def test_timestamps_are_only_date_and_time_lines() -> None:
    assert is_timestamp("15/01/2021 11:53") and is_timestamp("(12:19 13/12/2020)")
    assert not is_timestamp("Quyết định này có hiệu lực kể từ ngày 01/7/2025.")
    assert not is_timestamp("13/12/2020")


def test_numbered_names_of_every_genre() -> None:
    assert numbered("theo quy định tại khoản 2 Điều 5") == {("khoan", "2"), ("dieu", "5")}
    assert numbered("Điều 6 và 7") == {("dieu", "6"), ("dieu", "7")}
    assert numbered("Đại hội lần thứ XVII, khóa XV; Nghị quyết số 15-NQ/TU; số 1.000 người; số 1.") == {
        ("thu", "xvii"), ("khoa", "xv"), ("so", "1")
    }
    assert numbered("Nghị quyết Trung ương 4 (khóa XI, XII)") == {("khoa", "xi"), ("khoa", "xii")}
    assert numbered("Thu ngân sách đạt 11.085,046 tỷ đồng") == set()


def test_items_of_an_article_are_its_clauses_and_points() -> None:
    assert item_names("3. Sinh viên muốn trở lại học phải gửi đơn.", "Điều 5. Nghỉ học tạm thời") == {("khoan", "3")}
    assert item_names("b) Vượt quá thời gian học tập tối đa;", "ĐIỀU 12. BUỘC THÔI HỌC") == {("diem", "b")}
    # A numbered list in a report or a notice is not a statute's clause.
    assert item_names("3. Tập trung phát triển kinh tế.", "II. NHIỆM VỤ NĂM 2021") == set()
    assert item_names("3. Nộp lệ phí tại quầy số 2.", None) == set()
    assert item_names("Sinh viên được nghỉ học tạm thời.", "Điều 5. Nghỉ học tạm thời") == set()


def test_durations() -> None:
    for said in ("tối đa 02 học kỳ", "trong thời hạn 15 ngày", "hai năm liên tiếp"):
        assert DURATION.search(said), said
    assert not DURATION.search("Ngày 11/12, Thành ủy ban hành Báo cáo số 17-BC/TU")


def test_hard_wraps_are_joined_with_the_same_offsets() -> None:
    prose = max((CORPUS / "000_cf24b04885448ff3.txt").read_text("utf-8").split("\n"), key=len)
    lines = textwrap.wrap(prose, 72)
    wrapped = "\n".join(lines) + "\n\nĐiều 2. Hiệu lực\n1. Quyết định có hiệu lực.\n"
    assert wrap_width(wrapped) == max(map(len, lines))
    flow = unwrap(wrapped)
    assert len(flow) == len(wrapped)
    assert prose in flow  # the paragraph reads as one line
    assert "\n\nĐiều 2. Hiệu lực\n1. Quyết định" in flow  # blank lines, headings and items start anew
    assert one_line("Thứ nhất\nlà:  Khẩn trương") == "Thứ nhất là: Khẩn trương"


def test_unwrapped_text_is_left_alone() -> None:
    for text in (LAW, NOTICE, *(p.read_text("utf-8") for p in sorted(CORPUS.glob("*.txt")))):
        assert wrap_width(text) is None
        assert unwrap(text) == text


def test_regulations_and_notices_are_indexed_whole() -> None:
    for name, text in (("law.txt", LAW), ("notice.txt", NOTICE)):
        document = parse(name, text)
        assert document.furniture == 0
        assert document.content == ((0, len(text.rstrip())),), name
    assert parse("law.txt", LAW).title == "QUY ĐỊNH CHUNG"


def test_saved_web_pages_are_cleaned_and_say_how_much() -> None:
    for path in sorted(CORPUS.glob("*.txt")):
        document = parse(path.name, path.read_text("utf-8"))
        assert document.furniture > 0, path.name


def test_a_short_plain_article_is_kept_whole() -> None:
    # A title and one paragraph (an encyclopedia entry): too little to be a web page.
    text = "Sao Mộc\n\nSao Mộc là hành tinh lớn nhất trong Hệ Mặt Trời, hành tinh thứ năm tính từ Mặt Trời."
    document = parse("sao-moc.txt", text)
    assert document.furniture == 0 and document.title == "Sao Mộc"
    assert document.text[document.content[0][0] :].startswith("Sao Mộc\n")


def test_asked_item_reads_the_place_of_one_item() -> None:
    from rag.structure import asked_item

    assert asked_item("Còn mục tiêu thứ ba là gì?") == 3
    assert asked_item("Nhiệm vụ thứ 2 của Thành ủy là gì?") == 2
    assert asked_item("Điều kiện thứ nhất là gì?") == 1


def test_asked_item_stays_silent_on_names_days_and_occasions() -> None:
    from rag.structure import asked_item

    assert asked_item("Đại hội Đảng bộ thành phố lần thứ XVII diễn ra khi nào?") is None
    assert asked_item("Kỳ họp thứ 5 của Quốc hội thông qua luật gì?") is None
    assert asked_item("Hội nghị lần thứ hai họp ngày thứ hai phải không?") is None
    assert asked_item("Điều 3 quy định gì?") is None
