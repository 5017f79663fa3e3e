"""Bad input on the answer path and the HTTP API: a clear 4xx or a valid answer, never a 5xx or a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import BadQuestion
from rag.pipeline import answer_json

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
FUZZ = settings(max_examples=60, deadline=None)

# (label, question, what Pipeline.ask does: "answer", or the words of the BadQuestion message)
QUESTIONS = [
    ("empty", "", "empty"),
    ("whitespace", " \t\n\u00a0\u3000 ", "empty"),
    ("only control characters", "\x00\x01\x1b\x7f\u200b\u202e", "empty"),
    ("100k characters", "Hà Nội " * 15_000, "characters long"),
    ("not text", 42, "text"),
    ("control characters inside", "4 mục tiêu\x00 năm\x1b[31m 2021\x7f là gì?\u202e", "answer"),
    ("decomposed (NFD)", "4 mu\u0323c tie\u0302u na\u0306m 2021 la\u0300 gi\u0300?", "answer"),
    ("emoji", "🇻🇳 4 mục tiêu 🎯 năm 2021 là gì? 😀👍🏽", "answer"),
    ("only emoji", "😀😀😀", "answer"),
    ("Arabic (RTL)", "ما هي أهداف هانوي الأربعة لعام 2021؟", "answer"),
    ("Hebrew (RTL)", "מה היעדים של האנוי לשנת 2021?", "answer"),
    ("lone surrogate", "Hà Nội \ud800 năm 2021?", "answer"),
    ("combining marks only", "\u0301\u0300\u0309\u0303\u0323", "answer"),
    ("SQL injection", "'; DROP TABLE documents; -- 4 mục tiêu năm 2021", "answer"),
    ("SQL tautology", "1' OR '1'='1' UNION SELECT * FROM chunks --", "answer"),
    ("script tag", "<script>alert('xss')</script> mục tiêu năm 2021?", "answer"),
    ("HTML attribute", '"><img src=x onerror=alert(1)> Quận Đống Đa', "answer"),
    ("template and format strings", "{{7*7}} ${7*7} %s%s%n {0} mục tiêu", "answer"),
    ("one 1999-character word", "a" * 1999, "answer"),
]


def outcome(pipeline: Any, question: Any, k: Any = None) -> dict[str, Any] | BadQuestion:
    """The answer object, or the BadQuestion raised; anything else is raised (a bug)."""
    try:
        return answer_json(pipeline.ask(question, k))
    except BadQuestion as exc:
        return exc


@pytest.mark.parametrize(("question", "expected"), [q[1:] for q in QUESTIONS], ids=[q[0] for q in QUESTIONS])
def test_pipeline_answers_or_says_what_is_wrong(pipeline: Any, check_answer: Any, question: Any, expected: str) -> None:
    result = outcome(pipeline, question)
    if expected == "answer":
        assert not isinstance(result, BadQuestion), result
        check_answer(result)
    else:
        assert isinstance(result, BadQuestion) and expected in str(result)


KS = st.one_of(
    st.none(), st.integers(-10, 100), st.booleans(), st.floats(), st.text(max_size=3), st.just(10**30)
)
VIETNAMESE = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạếệồờựĐHN \u0301\u0300\u0323?.,0123", max_size=200)
ANY_QUESTION = st.one_of(
    st.text(max_size=300),
    VIETNAMESE,
    st.builds(lambda q, junk: q + junk, st.sampled_from([q[1] for q in QUESTIONS if q[2] == "answer"]), st.text()),
)


@FUZZ
@given(question=ANY_QUESTION, k=KS)
def test_pipeline_fuzz(pipeline: Any, check_answer: Any, question: str, k: Any) -> None:
    result = outcome(pipeline, question, k)
    if not isinstance(result, BadQuestion):
        check_answer(result)
        assert len(result["passages"]) <= (pipeline.settings.k if k is None else k)


def assert_clear_reply(status: int, data: Any, check_answer: Any) -> None:
    """A valid answer, or a 4xx with a JSON error message; never a 5xx."""
    if status == 200:
        check_answer(data)
    else:
        assert status in (400, 413), (status, data)
        assert isinstance(data, dict) and set(data) == {"error"} and data["error"].strip(), data


def assert_still_answers(served: Any, check_answer: Any) -> None:
    status, data = served.ask({"question": QUESTION})
    assert status == 200, data
    check_answer(data)
    assert not data["refused"]


@pytest.mark.parametrize(("question", "expected"), [q[1:] for q in QUESTIONS], ids=[q[0] for q in QUESTIONS])
def test_api_answers_or_says_what_is_wrong(served: Any, check_answer: Any, question: Any, expected: str) -> None:
    status, data = served.ask({"question": question})
    assert_clear_reply(status, data, check_answer)
    assert (status == 200) == (expected == "answer"), (status, data)


# (label, raw body, status)
BODIES = [
    ("empty body", b"", 400),
    ("not JSON", b"question=4 m\xe1\xbb\xa5c ti\xc3\xaau", 400),
    ("truncated JSON", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i', 400),
    ("invalid UTF-8", b'{"question": "\xff\xfe H\xe0 N\xe1\xbb i"}', 400),
    ("UTF-8 with a BOM", b'\xef\xbb\xbf{"question": "H\xc3\xa0 N\xe1\xbb\x99i"}', 200),
    ("UTF-16", json.dumps({"question": QUESTION}).encode("utf-16"), 200),
    ("JSON null", b"null", 400),
    ("JSON list", b'["4 m\xe1\xbb\xa5c ti\xc3\xaau"]', 400),
    ("JSON number", b"42", 400),
    ("JSON string", b'"4 m\xe1\xbb\xa5c ti\xc3\xaau"', 400),
    ("empty object", b"{}", 400),
    ("question null", b'{"question": null}', 400),
    ("question number", b'{"question": 2021}', 400),
    ("question list", b'{"question": ["H\xc3\xa0 N\xe1\xbb\x99i"]}', 400),
    ("question object", b'{"question": {"text": "H\xc3\xa0 N\xe1\xbb\x99i"}}', 400),
    ("NUL escape", b'{"question": "\\u0000\\u0000"}', 400),
    ("lone surrogate escape", b'{"question": "\\ud800\\udfff\\ud800 2021"}', 200),
    ("k as string", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": "5"}', 400),
    ("k as bool", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": true}', 400),
    ("k as float", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": 2.5}', 400),
    ("k huge", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": 1000000000000000000000000000000}', 400),
    ("k negative", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": -1}', 400),
    ("k NaN", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": NaN}', 400),
    ("k Infinity", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": 1e999}', 400),
    ("k null", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": null}', 200),
    ("duplicate keys", b'{"question": 1, "question": "H\xc3\xa0 N\xe1\xbb\x99i"}', 200),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, 400),
    ("deeply nested object", b'{"question": ' + b'{"a": ' * 1500 + b"1" + b"}" * 1501, 400),
    ("huge number", b'{"question": "H\xc3\xa0 N\xe1\xbb\x99i", "k": ' + b"9" * 5000 + b"}", 400),
    ("over 16 KB", b'{"question": "' + b"a" * 20_000 + b'"}', 413),
]


@pytest.mark.parametrize(("body", "status"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
def test_api_bodies(served: Any, check_answer: Any, body: bytes, status: int) -> None:
    got, data = served.ask(body)
    assert_clear_reply(got, data, check_answer)
    assert got == status, (got, data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(body=st.binary(max_size=1000))
def test_api_fuzz_bytes(served: Any, check_answer: Any, body: bytes) -> None:
    assert_clear_reply(*served.ask(body), check_answer)


@FUZZ
@given(value=JSON_VALUES)
def test_api_fuzz_json(served: Any, check_answer: Any, value: Any) -> None:
    assert_clear_reply(*served.ask(value), check_answer)


@FUZZ
@given(question=ANY_QUESTION | JSON_VALUES, k=KS | JSON_VALUES)
def test_api_fuzz_questions(served: Any, check_answer: Any, question: Any, k: Any) -> None:
    assert_clear_reply(*served.ask({"question": question, "k": k}), check_answer)


def test_the_server_answers_normally_after_bad_input(served: Any, check_answer: Any) -> None:
    for _label, body, _status in BODIES:
        served.ask(body)
    assert_still_answers(served, check_answer)
    status, data = served.health()
    assert status == 200 and data["status"] == "ok"
