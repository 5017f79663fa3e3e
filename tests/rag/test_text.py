from __future__ import annotations

import unicodedata

from rag.text import canonical, content_terms, fold, has_diacritics, key, terms


def test_tone_styles_share_one_key() -> None:
    assert key("uỷ") == key("ủy") == key("Uỷ")
    assert key("hoá") == key("hóa")
    assert key("khoá") == key("khóa")
    assert canonical("Quận uỷ khoá XXVIII") == canonical("Quận ủy khóa XXVIII")


def test_decomposed_input_matches_composed() -> None:
    nfd = unicodedata.normalize("NFD", "Thành ủy Hà Nội")
    assert terms(nfd) == terms("Thành ủy Hà Nội")


def test_folding_drops_marks_and_writes_d() -> None:
    assert fold("Đảng") == "dang"
    assert fold("mục tiêu") == "muc tieu"
    assert not has_diacritics("4 muc tieu nam 2021 la gi")
    assert has_diacritics("Đa")


def test_numbers_and_codes_stay_whole_tokens() -> None:
    found = terms("đạt 11.085,046 tỷ đồng, 193/226 tổ chức, 85,39% và Báo cáo số 17-BC/TU")
    assert "11.085,046" in found
    assert "193/226" in found
    assert "85,39%" in found
    assert "17-bc/tu" in found and "bc" in found  # a code also matches its parts
    assert "193" not in found  # a number is never split


def test_question_words_are_not_content() -> None:
    found = content_terms("4 mục tiêu năm 2021 là gì?")
    assert key("gì") not in found and key("là") not in found
    assert f"{key('mục')}_{key('tiêu')}" in found
    assert not any(key("là") in t.split("_") for t in found)


def test_question_words_that_the_documents_use_as_a_phrase_are_content() -> None:
    question = "khong khi hoi nghi the nao"
    assert "khong_khi" not in content_terms(question, folded=True)
    assert "khong_khi" in content_terms(question, folded=True, phrase={"khong_khi"}.__contains__)
    assert "the_nao" not in content_terms(question, folded=True, phrase={"khong_khi"}.__contains__)


def test_a_marked_word_is_not_the_question_word_it_folds_to() -> None:
    # Unaccented, "bao" may be "bao nhiêu"; "Báo cáo" (report) is never a question word.
    folded = content_terms("bao nhiêu mục tiêu, Báo cáo 17-BC/TU", folded=True)
    assert "bao" in folded and "bao_cao" in folded
    assert "nhieu" not in folded
    assert "bao" not in content_terms("bao nhieu muc tieu", folded=True)
