"""Follow-ups read in the context of their conversation; questions that stand on their own left alone."""

from __future__ import annotations

import pytest

from rag.conversation import is_follow_up, read_question

GOALS = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
BUDGET = "Ước thu ngân sách trên địa bàn quận Đống Đa năm 2020 là bao nhiêu?"
ARTICLE = "Điều 6 của quy chế quy định thời gian học tập thế nào?"


@pytest.mark.parametrize(
    ("question", "previous", "understood"),
    [
        ("Thế còn năm 2022?", GOALS, "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2022 là gì?"),
        ("Năm 2019 thì sao?", BUDGET, "Ước thu ngân sách trên địa bàn quận Đống Đa năm 2019 là bao nhiêu?"),
        ("Còn quận Ba Đình thì sao?", BUDGET, "Ước thu ngân sách trên địa bàn quận Ba Đình năm 2020 là bao nhiêu?"),
        ("Còn huyện Mê Linh?", BUDGET, "Ước thu ngân sách trên địa bàn huyện Mê Linh năm 2020 là bao nhiêu?"),
        ("Thế còn Điều 7?", ARTICLE, "Điều 7 của quy chế quy định thời gian học tập thế nào?"),
        ("Còn mục tiêu thứ ba là gì?", GOALS,
         "Mục tiêu thứ ba là gì (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"),
        ("Nghị quyết đó ban hành ngày nào?", "Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?",
         "Nghị quyết đó ban hành ngày nào (Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về)?"),
        ("Ai chủ trì?", GOALS, "Ai chủ trì (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"),
        ("Vậy ai ký báo cáo?", GOALS, "Ai ký báo cáo (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"),
    ],
)
def test_a_follow_up_becomes_a_standalone_question(question: str, previous: str, understood: str) -> None:
    assert is_follow_up(question)
    reading = read_question(question, previous)
    assert reading.follow_up and reading.searched == understood


@pytest.mark.parametrize(
    "question",
    [
        GOALS,
        "Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?",
        "Hà Nội có bao nhiêu quận?",  # short, but names what it asks about
        "Ai chủ trì hội nghị tổng kết năm 2020?",
        BUDGET,  # "trên địa bàn" is not a pointer back
        "Sinh viên được nghỉ học tạm thời khi nào?",  # a regulation question: complete
        "Quyết định thành lập hội đồng thi do ai ký?",  # "do" (by) is not "đó"
        "Hien nay truong co bao nhieu sinh vien dai hoc?",  # typed without marks: "nay" is not "này"
        "Học phí được tính theo số tín chỉ như thế nào?",
    ],
)
def test_a_question_that_stands_on_its_own_is_left_alone(question: str) -> None:
    assert not is_follow_up(question)
    assert read_question(question, GOALS).searched == question
    assert not read_question(question, GOALS).follow_up


def test_nothing_before_means_no_follow_up() -> None:
    assert read_question("Còn mục tiêu thứ ba là gì?", None).searched == "Còn mục tiêu thứ ba là gì?"
