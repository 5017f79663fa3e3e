"""Answers on the bundled corpus, with the real packaged model, FAISS and BM25."""

from __future__ import annotations

import re
import unicodedata

import pytest
from conftest import confident

from rag.answer import REFUSAL, Answerer, Question, has_amount, names_person, proper_names
from rag.errors import BadQuestion
from rag.glossary import expand
from rag.pipeline import Pipeline, answer_json

GOALS_DOC = "000_cf24b04885448ff3.txt"


def check_invariants(pipeline, data: dict) -> None:  # type: ignore[no-untyped-def]
    docs = pipeline.index.documents
    for c in data["citations"]:
        assert docs[c["doc"]].text[c["start"] : c["end"]] == c["quote"]
    for p in data["passages"]:
        assert docs[p["doc"]].text[p["start"] : p["end"]] == p["text"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers == {c["n"] for c in data["citations"]}


def test_four_goals_are_all_listed_with_exact_citations(pipeline) -> None:  # type: ignore[no-untyped-def]
    data = answer_json(pipeline.ask("Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"))
    assert not data["refused"]
    check_invariants(pipeline, data)
    for ordinal in ("Thứ nhất", "Thứ hai", "Thứ ba", "Thứ tư"):
        assert ordinal in data["answer"]
        assert any(c["quote"].startswith(ordinal) and c["doc"] == GOALS_DOC for c in data["citations"])
    assert "Khẩn trương tổ chức thực hiện" in data["answer"]
    assert "bầu cử đại biểu Quốc hội" in data["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "4 muc tieu nam 2021 la gi",  # typed without diacritics
        unicodedata.normalize("NFD", "Báo cáo xác định 4 mục tiêu năm 2021 là gì?"),  # decomposed
        "Thành uỷ xác định 4 mục tiêu năm 2021 là gì?",  # the other tone-mark style
    ],
)
def test_question_forms_find_the_goals(pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    data = answer_json(pipeline.ask(question))
    assert not data["refused"]
    assert any(p["doc"] == GOALS_DOC and "4 mục tiêu" in p["text"] for p in data["passages"])
    if data["outcome"] == "answer":
        assert sum(c["quote"].startswith("Thứ") for c in data["citations"]) == 4
    else:  # not sure enough: the sentence that announces the goals is quoted
        assert "4 mục tiêu năm 2021" in data["answer"]
    # Said as an answer, the goals are the four items.
    sure = answer_json(confident(pipeline).ask(question))
    assert sum(c["quote"].startswith("Thứ") for c in sure["citations"]) == 4


def test_tone_style_finds_the_other_style(pipeline) -> None:  # type: ignore[no-untyped-def]
    # The document writes "Quận uỷ"; the question writes "Quận ủy".
    data = answer_json(pipeline.ask("Quận ủy Đống Đa tặng giấy khen bao nhiêu tổ chức cơ sở đảng?"))
    assert not data["refused"]
    check_invariants(pipeline, data)
    assert "17 tổ chức cơ sở đảng" in data["answer"]
    assert "Quận uỷ" in data["citations"][0]["quote"]


def test_number_question_prefers_the_sentence_with_the_number(pipeline) -> None:  # type: ignore[no-untyped-def]
    data = answer_json(pipeline.ask("Ước thu ngân sách của quận Đống Đa năm 2020 là bao nhiêu?"))
    check_invariants(pipeline, data)
    assert "11.085,046 tỷ đồng" in data["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "Thời tiết Hà Nội hôm nay thế nào?",
        "Tỷ giá ngoại tệ hôm nay là bao nhiêu?",
        "Dân số Hà Nội là bao nhiêu người?",
        "thoi tiet Ha Noi ngay mai co mua khong",
    ],
)
def test_no_confident_answer_for_what_the_documents_do_not_hold(pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    from rag.answer import CLOSEST

    data = answer_json(pipeline.ask(question))
    assert data["outcome"] in ("closest", "none") and data["refused"] is (data["outcome"] == "none")
    if data["outcome"] == "none":
        assert data["answer"] == REFUSAL and data["citations"] == []
    else:  # said plainly, with the closest passages quoted exactly
        assert data["answer"].startswith(CLOSEST) and data["citations"]
        check_invariants(pipeline, data)


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 2001, None, 42])
def test_bad_questions_are_rejected(pipeline, question: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadQuestion):
        pipeline.ask(question)


def test_answer_object_shape(pipeline) -> None:  # type: ignore[no-untyped-def]
    data = answer_json(pipeline.ask("Ai phát biểu khai mạc Hội nghị lần thứ mười một?"))
    assert set(data) == {
        "question", "answer", "refused", "outcome", "citations", "passages", "model", "timings_ms", "conversation",
        "understood_as",
    }
    assert data["outcome"] == "answer" and data["refused"] is False
    assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}
    assert len(data["passages"]) == 5
    assert [p["rank"] for p in data["passages"]] == [1, 2, 3, 4, 5]
    check_invariants(pipeline, data)
    assert "Đinh Tiến Dũng" in data["answer"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_every_retrieval_mode_answers(pipeline, mode: str) -> None:  # type: ignore[no-untyped-def]
    data = answer_json(pipeline.ask("Nghị quyết số 15-NQ/TU về gì?", mode=mode))
    check_invariants(pipeline, data)
    assert data["passages"]


def test_amounts_and_persons() -> None:
    assert not has_amount("Sáng nay (15/1/2021), Đảng bộ quận tổ chức Hội nghị Tổng kết năm 2020.")
    assert has_amount("đã củng cố được 193/226 tổ chức cơ sở đảng, đạt 85,39%")
    assert has_amount("tặng giấy khen 140 đảng viên") and has_amount("Xe máy: 4.000 đồng/lượt")
    assert names_person("đồng chí Nguyễn Anh Cường") and names_person("ông Cường cho biết")
    assert not names_person("Nghị quyết Đại hội Đảng bộ Thành phố Hà Nội")


def test_a_noun_made_of_question_words_is_searched_for(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "không khí" (the atmosphere) is two words that usually ask a question ("không", "khi").
    data = answer_json(pipeline.ask("khong khi hoi nghi kiem diem cua Ban Thuong vu Thanh uy nam 2022 the nao"))
    assert "cởi mở, dân chủ, trung thực" in data["answer"]
    check_invariants(pipeline, data)


def test_the_title_says_what_a_sentence_is_about(pipeline) -> None:  # type: ignore[no-untyped-def]
    # The sentence never names the district; its article's title does.
    data = answer_json(pipeline.ask("Kết quả phòng chống dịch Covid-19 của quận Đống Đa năm 2020 ra sao?"))
    assert "không để phát sinh ca bệnh mới" in data["answer"]
    check_invariants(pipeline, data)


def test_the_lead_says_what_the_article_is_about(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "4 mục tiêu năm 2021" is far from the lead that names Báo cáo 17-BC/TU; the lead is its context.
    question = "How many goals for 2021 did the Hanoi Party Committee set in its report 17-BC/TU?"
    data = answer_json(pipeline.ask(question))
    assert not data["refused"] and "4 mục tiêu năm 2021" in data["answer"]
    assert "4 mục tiêu năm 2021" in data["passages"][0]["text"]  # the passage the answer rests on comes first
    check_invariants(pipeline, data)


def test_a_list_is_said_with_its_items(pipeline) -> None:  # type: ignore[no-untyped-def]
    # An English list question, and a plain "what is" question whose best sentence announces a list.
    questions = ("What are the four goals for 2021 in report 17-BC/TU?", "Mục tiêu năm 2021 của Thành ủy Hà Nội là gì?")
    for question in questions:
        data = answer_json(confident(pipeline).ask(question))
        assert data["answer"].count("\n- ") == 4, question
        check_invariants(pipeline, data)


def test_a_word_of_a_phrase_is_not_lent_by_context_alone() -> None:
    q = Question(
        text="", kind="count", count=None, folded=False, weights={"a": 1.0, "b": 1.0, "a_b": 1.0},
        pairs={"a": frozenset({"a_b"}), "b": frozenset({"a_b"})},
    )
    assert not Answerer._in_context(q, "a", frozenset({"a"}))  # "Tổng kết" does not lend "tổng" of "tổng cộng"
    assert Answerer._in_context(q, "a", frozenset({"a", "a_b"}))
    assert Answerer._in_context(Question("", "fact", None, False, {"c": 1.0}), "c", frozenset({"c"}))


def test_a_day_question_needs_a_day(pipeline) -> None:  # type: ignore[no-untyped-def]
    # The corpus names Chương trình 01-Ctr/TU often but never the day it was issued.
    assert pipeline.ask("Chương trình số 01-Ctr/TU của Thành ủy Hà Nội được ban hành vào ngày nào?").outcome != "answer"
    assert "11/12" in pipeline.ask("Báo cáo số 17-BC/TU được ban hành ngày nào?").text


def test_a_number_that_names_something_must_match(pipeline) -> None:  # type: ignore[no-untyped-def]
    unsure = pipeline.ask("Doan kiem tra so 2 cua Ban Thuong vu Thanh uy Ha Noi do ai lam truong doan")
    assert unsure.outcome != "answer"  # no confident answer about another inspection team
    first = pipeline.ask("Đoàn kiểm tra số 1 của Ban Thường vụ Thành ủy do ai làm trưởng đoàn?")
    assert "Nguyễn Thị Tuyến" in first.text
    # "khóa XII" is one of "khóa XI, XII"; and "Trung ương 4" names a resolution, it does not ask for 4 items.
    data = pipeline.ask("Thành ủy thực hiện Nghị quyết Trung ương 4 khóa XII ra sao?")
    assert "Nghị quyết Trung ương 4 (khóa XI, XII)" in data.text and "Thứ nhất" not in data.text


@pytest.mark.xfail(
    strict=True,
    reason="an unseen name is now a weighted penalty (unseen=0.2), not a veto"
    " (known regression, issue 10 note)",
)
def test_a_name_the_documents_never_use_is_not_held(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "cầu" and "giấy" are common words; the district "Cầu Giấy" is in no document.
    assert pipeline.ask("Ước thu ngân sách năm 2020 trên địa bàn quận Cầu Giấy đạt bao nhiêu tỷ đồng?").refused
    held = pipeline.ask("Ước thu ngân sách năm 2020 trên địa bàn quận Đống Đa đạt bao nhiêu tỷ đồng?")
    assert "11.085,046" in held.text
    names = proper_names("Theo Chương trình của TP Hà Nội, ông Nguyễn Anh Cường.")
    assert names == [["Hà", "Nội"], ["Nguyễn", "Anh", "Cường"]]


@pytest.mark.xfail(
    strict=True,
    reason="'unseen' was fitted to 0.1 on four dev sets, too little to refuse an English question"
    " whose key word no document uses (known regression, issue 10 note)",
)
def test_an_english_count_of_something_unknown_is_refused(pipeline) -> None:  # type: ignore[no-untyped-def]
    assert expand("How many Covid-19 cases did Hanoi record in 2020?").startswith("bao nhiêu cases")
    assert pipeline.ask("How many Covid-19 cases did Hanoi record in 2020?").refused


@pytest.mark.xfail(
    strict=True,
    reason="'counted' is now a weighted feature (0.15), not a veto"
    " (known regression, issue 10 note)",
)
def test_a_count_is_answered_by_a_number_of_what_was_asked(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "10 ban chỉ đạo" counts committees, not members; "43/68 TCCSĐ" abbreviates what was asked.
    assert pipeline.ask("Ban Thường vụ Thành ủy Hà Nội khóa XVII có bao nhiêu ủy viên?").refused
    assert pipeline.ask("Hà Nội có bao nhiêu quận huyện?").refused
    models = pipeline.ask("Bao nhiêu tổ chức cơ sở đảng đã đăng ký xây dựng mô hình Dân vận khéo?")
    assert "43/68 TCCSĐ" in models.text
    english = "How many 'Dân vận khéo' (skilful mass mobilisation) models did the bloc's party organisations register?"
    assert expand(english).startswith("bao nhiêu mô hình")  # what is counted follows "bao nhiêu"
    assert "239 mô hình" in pipeline.ask(english).text
    # An amount is measured in units: "bao nhiêu ngân sách" is answered by "11.085,046 tỷ đồng".
    amount = Question("", "count", None, False, {}, counted="ngân", initials=frozenset({"ns"}))
    assert Answerer.counts(amount, "Ước thu ngân sách đạt 11.085,046 tỷ đồng.")
    assert not Answerer.counts(amount, "thành lập 10 ban chỉ đạo")


def test_reopening_an_index_reuses_a_loaded_model(pipeline) -> None:  # type: ignore[no-untyped-def]
    again = Pipeline.open(pipeline.settings, pipeline.encoder)
    assert again.encoder is pipeline.encoder


def test_closest_quotes_the_best_sentences_of_two_passages(pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.answer import CLOSEST

    q, retrieved = pipeline.search("Tỷ lệ hộ nghèo của quận Đống Đa năm 2020 là bao nhiêu?", 15, "hybrid")
    scored = pipeline.answerer.weigh(q, retrieved)
    quoted = pipeline.answerer.closest(scored, retrieved)
    text, citations = pipeline.answerer.render_closest(q, quoted)
    assert text.startswith(CLOSEST) and len(citations) == 2 and quoted[0] == scored[0].span
    homes = [
        next(
            p.chunk.id
            for p in retrieved.passages
            if p.chunk.doc == s.doc and p.chunk.start < s.end and s.start < p.chunk.end
        )
        for s in quoted
    ]
    assert len(set(homes)) == 2  # from two passages, not two sentences of one
    for c in citations:
        assert pipeline.index.documents[c.doc].text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in text
