"""The scored answerer on genres other than news: a regulation and a notice, indexed with the real
packaged model. Each feature fires where it should and stays silent on another genre."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import confident

from rag.answer import FEATURES, QUESTION_FEATURES, Question, analyze, fits
from rag.decision import DECISIONS, DEFAULT_FILE, decision_path, load_decision, model_key
from rag.pipeline import Pipeline, answer_json

REGULATION = """QUY CHẾ ĐÀO TẠO

Chương I
QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Quy chế này quy định về đào tạo trình độ cao đẳng theo tín chỉ.
Điều 6. Thời gian học tập
1. Thời gian học tập tối đa của khóa học là 06 học kỳ.
2. Sinh viên được tạm dừng học tối đa 02 học kỳ.
Điều 12. Buộc thôi học
1. Sinh viên bị buộc thôi học khi rơi vào một trong các trường hợp sau:
a) Bị cảnh báo kết quả học tập 02 lần liên tiếp;
b) Vượt quá thời gian học tập tối đa;
c) Bị kỷ luật lần thứ hai vì thi hộ.
2. Hiệu trưởng ký quyết định buộc thôi học.
Điều 16. Học phí
Học phí được thu theo số tín chỉ đăng ký mỗi học kỳ.
Điều 60. Hiệu lực thi hành
Quy chế này có hiệu lực kể từ ngày 01/7/2025.
"""
NOTICE = """BẢNG GIÁ GỬI XE TẠI BỆNH VIỆN
Xe đạp: 2.000 đồng/lượt
Xe máy: 5.000 đồng/lượt
Ô tô dưới 9 chỗ: 40.000 đồng/lượt
Địa điểm: Bộ phận trông giữ xe, cổng số 2 đường Lê Lợi.
Điện thoại: 024.3851.2746
"""


@pytest.fixture(scope="module")
def genres(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from rag.index import build_index
    from rag.settings import Settings

    root = tmp_path_factory.mktemp("genres")
    (root / "corpus").mkdir()
    (root / "corpus" / "quy-che.txt").write_text(REGULATION, "utf-8")
    (root / "corpus" / "gui-xe.txt").write_text(NOTICE, "utf-8")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings, log=lambda _m: None)
    return Pipeline.open(settings)


def ask(pipeline: Pipeline, question: str, explain: bool = False) -> dict:  # type: ignore[type-arg]
    data = answer_json(pipeline.ask(question, explain=explain))
    docs = pipeline.index.documents
    for c in data["citations"]:
        assert docs[c["doc"]].text[c["start"] : c["end"]] == c["quote"]
    return data


def test_an_article_number_must_match(genres: Pipeline) -> None:
    data = ask(genres, "Điều 6 quy định gì?")
    assert "06 học kỳ" in data["answer"] and "Hiệu lực" not in data["answer"]
    assert data["citations"][0]["section"] == "Chương I › Điều 6. Thời gian học tập"
    later = ask(genres, "Điều 60 quy định gì?")
    assert "06 học kỳ" not in later["answer"]  # article 6 never answers for article 60


def test_a_clause_is_found_by_its_number_under_its_article(genres: Pipeline) -> None:
    data = ask(genres, "Khoản 2 Điều 6 quy định gì?", explain=True)
    why = data["explain"]
    assert "tạm dừng học tối đa 02 học kỳ" in why["chosen"]["sentence"]
    assert why["chosen"]["features"]["unnamed"] == 0.0
    assert "06 học kỳ" not in data["answer"]  # khoản 1 of the same article


def test_unnamed_fires_only_for_a_name_the_question_asks_for(genres: Pipeline) -> None:
    why = ask(genres, "Điều 16 quy định gì?", explain=True)["explain"]
    assert "Học phí" in why["chosen"]["sentence"] and why["chosen"]["features"]["unnamed"] == 0.0
    assert any(r["features"]["unnamed"] == 1.0 for r in why["runners_up"])  # sentences of other articles
    plain = ask(genres, "Giá gửi xe máy là bao nhiêu?", explain=True)["explain"]
    assert all(r["features"]["unnamed"] == 0.0 for r in [plain["chosen"], *plain["runners_up"]])


def test_a_clause_that_announces_points_is_said_with_them(genres: Pipeline) -> None:
    data = ask(genres, "Khi nào sinh viên bị buộc thôi học?")
    assert "cảnh báo kết quả học tập 02 lần liên tiếp" in data["answer"]
    assert "thi hộ" in data["answer"] and "Hiệu trưởng" not in data["answer"].split("\n")[0]


def test_who_is_answered_by_an_office(genres: Pipeline) -> None:
    assert "Hiệu trưởng" in ask(genres, "Ai ký quyết định buộc thôi học?")["answer"]


def test_a_fee_row_answers_a_fee_question_and_a_label_its_context(genres: Pipeline) -> None:
    assert "5.000 đồng/lượt" in ask(genres, "Giá gửi xe máy là bao nhiêu?")["answer"]
    assert "024.3851.2746" in ask(genres, "Số điện thoại của bộ phận trông giữ xe là gì?")["answer"]
    assert ask(genres, "Phí gửi xe tải là bao nhiêu?")["outcome"] != "answer"


def test_explain_shows_the_chosen_sentence_and_runners_up(genres: Pipeline) -> None:
    data = ask(genres, "Sinh viên được tạm dừng học tối đa bao lâu?", explain=True)
    why = data["explain"]
    assert why["outcome"] == "answer" and why["question"]["kind"] == "duration"
    probabilities = why["probabilities"]
    assert probabilities["answer"] >= probabilities["thresholds"]["answer"] and why["decision_file"] == DEFAULT_FILE
    assert {r["feature"] for r in why["moved_most"]["answer"]} <= set(QUESTION_FEATURES)
    assert "02 học kỳ" in why["chosen"]["sentence"] and set(why["chosen"]["features"]) == set(FEATURES)
    assert why["chosen"]["features"]["fits"] == 1.0 and why["runners_up"]
    unsure = ask(genres, "Lệ phí cấp bằng tốt nghiệp là bao nhiêu?", explain=True)
    assert unsure["outcome"] in ("closest", "none") and unsure["explain"]["outcome"] == unsure["outcome"]
    assert unsure["explain"]["probabilities"]["answer"] < unsure["explain"]["probabilities"]["thresholds"]["answer"]
    assert "explain" not in ask(genres, "Điều 6 quy định gì?")


def test_answer_types_fire_by_kind_and_stay_silent_otherwise() -> None:
    def q(kind: str, **more: object) -> Question:
        return Question(text="", kind=kind, count=None, folded=False, weights={}, **more)  # type: ignore[arg-type]

    assert fits(q("count"), "Xe máy: 5.000 đồng/lượt") and fits(q("count"), "đạt 11.085,046 tỷ đồng")
    assert fits(q("count"), "Sáng 15/1/2021, Đảng bộ quận tổ chức Hội nghị.") is False
    assert fits(q("duration"), "tạm dừng học tối đa 02 học kỳ")
    assert fits(q("duration"), "Ngày 11/12, Thành ủy ban hành Báo cáo số 17-BC/TU") is False
    assert fits(q("who"), "Hiệu trưởng ký quyết định") and fits(q("who"), "đồng chí Nguyễn Anh Cường phát biểu")
    assert fits(q("who"), "Học phí được thu theo số tín chỉ.") is False
    assert fits(q("when", wants_time=True), "có hiệu lực kể từ ngày 01/7/2025")
    # "Khi nào … bị buộc thôi học?" asks for a condition: no time is required of the answer.
    assert fits(q("when", wants_time=False), "Sinh viên bị buộc thôi học khi bị kỷ luật") is None
    assert fits(q("fact"), "Quy chế này quy định về đào tạo") is None


def test_every_decision_file_is_trained_and_says_its_scores() -> None:
    files = sorted(DECISIONS.glob("*.json"))
    assert DECISIONS / DEFAULT_FILE in files
    for path in files:
        report = json.loads(Path(path).read_text("utf-8"))
        assert report["features"] == list(FEATURES) and report["question_features"] == list(QUESTION_FEATURES)
        assert set(report["dev_scores"]) == {*report["trained_on"], "macro"}
        assert report["made_by"].startswith("python -m eval.train_decision")
        decision = load_decision(path)
        assert set(decision.ranker.coef) == set(FEATURES) and decision.answer.platt and decision.about.platt
        assert 0 < decision.about_threshold < 1 and 0 < decision.answer_threshold < 1


def test_a_model_gets_its_own_decision_file_or_the_default(tmp_path: Path) -> None:
    assert model_key("google/embeddinggemma-300m") == model_key("/srv/models/embeddinggemma-300m/")
    (tmp_path / "embeddinggemma-300m.json").write_text("{}", "utf-8")
    (tmp_path / DEFAULT_FILE).write_text("{}", "utf-8")
    assert decision_path("/srv/models/embeddinggemma-300m", tmp_path).name == "embeddinggemma-300m.json"
    assert decision_path("intfloat/multilingual-e5-small", tmp_path).name == DEFAULT_FILE


def test_a_damaged_decision_file_says_how_to_fix_it(tmp_path: Path) -> None:
    from rag.errors import HoidapError

    path = tmp_path / "broken.json"
    path.write_text('{"format": 1, "ranker": ', "utf-8")
    with pytest.raises(HoidapError, match=r"rerun eval/train_decision\.py"):
        load_decision(path)
    with pytest.raises(HoidapError, match="no decision file"):
        load_decision(tmp_path / "missing.json")


def test_the_year_is_not_the_number_five(genres: Pipeline) -> None:
    # "năm nào" asks which year; "năm nhiệm vụ" counts five tasks.
    assert analyze("Quy chế có hiệu lực từ năm nào?", genres.index).count is None
    assert analyze("Năm học nào áp dụng quy chế?", genres.index).count is None
    assert analyze("Năm nhiệm vụ chính là gì?", genres.index).count == 5


def test_one_item_of_a_list_is_answered_by_its_place(genres: Pipeline) -> None:
    data = ask(confident(genres), "Trường hợp thứ hai bị buộc thôi học là gì?")
    assert data["answer"].startswith("b) Vượt quá thời gian học tập tối đa")
    assert len(data["citations"]) == 1


def test_an_ordinal_that_names_an_occasion_picks_no_item(genres: Pipeline) -> None:
    data = ask(confident(genres), "Sinh viên bị kỷ luật lần thứ hai vì gì?")
    assert "thi hộ" in data["answer"]
    assert not data["answer"].startswith("b)")  # "lần thứ hai" is not the second point of a list

