"""The SQLite store (schema versions, damage), grouping unanswered questions, and questions about the collection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_cli

from rag.database import FILE_NAME, MIGRATIONS, SCHEMA_VERSION, Database, QuestionFilter, similar_groups
from rag.errors import HoidapError
from rag.pipeline import is_collection_question


def test_a_new_file_gets_the_whole_schema(tmp_path: Path) -> None:
    db = Database.in_folder(tmp_path / "data")
    assert db.version() == SCHEMA_VERSION and db.integrity() == "ok"
    tables = {r[0] for r in sqlite3.connect(tmp_path / "data" / FILE_NAME).execute("SELECT name FROM sqlite_master")}
    assert {"jobs", "questions", "feedback"} <= tables
    Database.in_folder(tmp_path / "data")  # opening again migrates nothing and loses nothing
    assert db.version() == SCHEMA_VERSION


def test_a_file_from_a_newer_hoidap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HoidapError, match="newer hoidap"):
        Database(path)


def test_a_damaged_file_says_move_it_aside(tmp_path: Path, index_dir: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / FILE_NAME).write_bytes(b"not a database at all " * 200)
    with pytest.raises(HoidapError, match="damaged"):
        Database.in_folder(data)
    result = run_cli("serve", "--index", str(index_dir), "--port", "0", env={"HOIDAP_DATA_DIR": str(data)})
    assert_one_line_error(result, "damaged", "HOIDAP_DATA_DIR")


def test_feedback_replaces_the_earlier_rating(tmp_path: Path) -> None:
    db = Database.in_folder(tmp_path)
    answer = {"refused": False, "answer": "…", "citations": [{"doc": "a.txt"}, {"doc": "a.txt"}]}
    assert db.log_question("c1", "Câu hỏi?", None, answer, 12.0) == 1
    assert db.log_question("c1", "Câu tiếp?", "Câu tiếp đầy đủ?", answer, 8.0) == 2
    assert db.add_feedback("c1", 2, 1, None) and db.add_feedback("c1", 2, -1, "sai")
    assert not db.add_feedback("c1", 3, 1, None)
    total, rows = db.questions(QuestionFilter(rating=-1))
    assert total == 1 and rows[0]["comment"] == "sai" and rows[0]["docs"] == ["a.txt"]
    assert db.questions(QuestionFilter(text="DAY DU"))[0] == 1  # understood_as is searched too, without marks


def _reply(outcome: str) -> dict[str, object]:
    cited = [] if outcome == "none" else [{"doc": "a.txt", "n": 1}]
    return {"refused": outcome == "none", "outcome": outcome, "answer": f"Trả lời ({outcome})", "citations": cited}


def test_each_turn_keeps_its_outcome(tmp_path: Path) -> None:
    db = Database.in_folder(tmp_path)
    for turn, outcome in enumerate(("answer", "closest", "none"), start=1):
        assert db.log_question("c1", f"Câu hỏi {outcome}?", None, _reply(outcome), 5.0) == turn
    db.log_question("c2", "Câu hỏi cũ?", None, {"refused": True, "answer": "…", "citations": []}, 5.0)  # no outcome

    turns = db.conversation("c1")
    assert [(t["outcome"], t["refused"]) for t in turns] == [("answer", False), ("closest", False), ("none", True)]
    assert db.conversation("c2")[0]["outcome"] == "none"  # an answer object from before outcomes: refused is none
    for outcome, questions in (("answer", ["Câu hỏi answer?"]), ("closest", ["Câu hỏi closest?"]),
                               ("none", ["Câu hỏi cũ?", "Câu hỏi none?"])):
        total, rows = db.questions(QuestionFilter(outcome=outcome))
        assert total == len(questions) and [r["question"] for r in rows] == questions, outcome
        assert all(r["outcome"] == outcome for r in rows)
    assert db.questions(QuestionFilter(refused=False))[0] == 2  # a closest answer is not a refusal
    with pytest.raises(ValueError, match="unknown outcome"):
        db.log_question("c3", "Câu hỏi?", None, _reply("maybe"), 5.0)


def test_an_older_log_gets_the_outcome_its_turns_had(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with sqlite3.connect(path) as conn:  # a log written by the hoidap of schema 1, before outcomes
        conn.executescript(MIGRATIONS[0])
        for turn, refused in ((1, 0), (2, 1)):
            conn.execute(
                "INSERT INTO questions (at, question, refused, answer, citations, docs, latency_ms, conversation, "
                "turn) VALUES ('2026-11-21T10:00:00+0700', ?, ?, 'Trả lời', '[]', '[]', 3.0, 'c1', ?)",
                (f"Câu {turn}?", refused, turn),
            )
        conn.execute("PRAGMA user_version = 1")
    db = Database(path)
    assert db.version() == SCHEMA_VERSION and db.integrity() == "ok"
    assert [t["outcome"] for t in db.conversation("c1")] == ["answer", "none"]
    _total, rows = db.questions(QuestionFilter())
    assert [(r["question"], r["outcome"], r["refused"]) for r in rows] == [("Câu 2?", "none", True),
                                                                          ("Câu 1?", "answer", False)]
    assert db.log_question("c1", "Câu 3?", None, _reply("closest"), 4.0) == 3  # and the log goes on
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE questions SET outcome = 'maybe' WHERE turn = 3")


def _log(questions: list[str]) -> list[dict[str, str]]:
    return [{"question": q, "at": f"2026-11-21T10:{i:02d}:00+0700"} for i, q in enumerate(questions)][::-1]


def test_unanswered_questions_group_by_their_words() -> None:
    rows = _log([
        "Giá vé tàu điện Cát Linh – Hà Đông là bao nhiêu?",
        "Giá vé tàu Cát Linh Hà Đông bao nhiêu tiền?",
        "Gia ve tau dien Cat Linh Ha Dong?",  # typed without marks
        "Lịch tiêm vắc xin cho trẻ em tháng 12?",
        "Trẻ em tiêm vắc xin lịch tháng 12 thế nào?",
        "Thủ tục cấp lại căn cước công dân?",
    ])
    groups = similar_groups(rows)
    assert [g["count"] for g in groups] == [3, 2, 1]
    assert groups[0]["question"] == "Gia ve tau dien Cat Linh Ha Dong?"  # the newest wording
    assert groups[2]["questions"] == ["Thủ tục cấp lại căn cước công dân?"]


def test_questions_of_one_genre_that_ask_different_things_stay_apart() -> None:
    # Regulation questions share their scaffolding ("theo quy chế", "sinh viên"); what they ask differs.
    rows = _log([
        "Theo quy chế, sinh viên được nghỉ học tạm thời khi nào?",
        "Theo quy chế, sinh viên bị buộc thôi học khi nào?",
        "Theo quy chế, học phí mỗi tín chỉ ngành Kinh tế là bao nhiêu?",
        "Điều 5 của quy chế quy định gì?",
    ])
    assert [g["count"] for g in similar_groups(rows)] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    "question",
    ["Có những tài liệu nào?", "Hệ thống có những văn bản nào?", "Có bao nhiêu tài liệu?", "Danh sách tài liệu",
     "co nhung tai lieu nao", "Cho tôi xem danh sách văn bản", "Hiện có những tài liệu gì vậy?"],
)
def test_a_question_about_the_collection_is_recognised(question: str) -> None:
    assert is_collection_question(question)


@pytest.mark.parametrize(
    "question",
    ["Tài liệu nào quy định thời gian học tập?", "Có những tài liệu nào quy định về học phí?",
     "Liệt kê các văn bản về phòng chống dịch", "Có bao nhiêu tài liệu được ký năm 2021?",
     "Báo cáo có những mục tiêu nào?", "Hồ sơ gồm những giấy tờ nào?", "Danh sách tài liệu cần nộp khi nhập học?"],
)
def test_a_question_about_documents_contents_is_not(question: str) -> None:
    assert not is_collection_question(question)
