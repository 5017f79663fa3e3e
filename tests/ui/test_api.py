"""The HTTP API, widget and document routes of `hoidap serve`, through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS
from fastapi.testclient import TestClient

from rag.settings import Settings
from ui.server import MAX_BODY_BYTES, create_app, frame_ancestors

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
INTRANET = "http://intranet.example:8080"


@pytest.fixture(scope="module")
def client(pipeline: Any, index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        corpus_dir=CORPUS, index_dir=index_dir, allowed_origins=(INTRANET,), data_dir=tmp_path_factory.mktemp("data")
    )
    with TestClient(create_app(pipeline, settings)) as c:
        yield c


@pytest.fixture(scope="module")
def no_index_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(create_app(None, Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


def test_health_reports_the_loaded_index(client: TestClient) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "ok"
    assert data["documents"] == 5
    assert data["chunks"] > 0
    assert isinstance(data["model"], str) and data["model"]
    assert isinstance(data["fallback_model"], bool)


def test_ask_returns_the_answer_object(client: TestClient, pipeline: Any) -> None:
    r = client.post("/api/ask", json={"question": QUESTION, "k": 3})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert set(data) == {
        "question", "answer", "refused", "outcome", "citations", "passages", "model", "timings_ms", "conversation",
        "understood_as",
    }
    assert data["question"] == QUESTION
    assert data["refused"] is False and data["outcome"] == "answer"
    assert len(data["passages"]) == 3
    for marker in ("Thứ nhất", "Thứ hai", "Thứ ba", "Thứ tư"):
        assert marker in data["answer"]
    for c in data["citations"]:
        assert set(c) == {"n", "doc", "title", "date", "start", "end", "quote", "page", "section"}
        assert pipeline.index.documents[c["doc"]].text[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}]" in data["answer"]
    for p in data["passages"]:
        assert pipeline.index.documents[p["doc"]].text[p["start"] : p["end"]] == p["text"]


def test_each_outcome_comes_back_with_its_conversation(
    client: TestClient, closest_question: str, answered_question: str
) -> None:
    from rag.answer import CLOSEST, REFUSAL

    first = client.post("/api/ask", json={"question": closest_question}).json()
    assert first["outcome"] == "closest" and first["refused"] is False
    assert first["answer"].startswith(CLOSEST + "\n\n> ") and first["citations"]
    for c in first["citations"]:
        assert f"[{c['n']}]" in first["answer"]
    asked = [("Giá vé tàu điện Cát Linh – Hà Đông năm 2030 là bao nhiêu?", "none"), (answered_question, "answer")]
    replies = [
        client.post("/api/ask", json={"question": q, "conversation": first["conversation"]}).json() for q, _ in asked
    ]
    assert [r["outcome"] for r in replies] == [o for _, o in asked]
    assert replies[0]["refused"] is True and replies[0]["answer"] == REFUSAL and replies[0]["citations"] == []
    turns = client.get(f"/api/conversations/{first['conversation']}").json()["turns"]
    assert [(t["outcome"], t["refused"]) for t in turns] == [("closest", False), ("none", True), ("answer", False)]
    assert turns[0]["answer"] == first["answer"] and turns[0]["citations"] == first["citations"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"question": ""}, "trống"),
        ({"question": "   \n\t "}, "trống"),
        ({"question": "x" * 2001}, "2001 ký tự"),
        ({"question": 42}, "văn bản"),
        ({"question": None}, "văn bản"),
        ({"question": QUESTION, "k": 0}, "k"),
        ({"question": QUESTION, "k": "5"}, "k"),
        ({"question": QUESTION, "k": True}, "k"),
        ({"k": 5}, "question"),
        (["a list", "not an object"], "đối tượng JSON"),
        ("just a string", "đối tượng JSON"),
    ],
)
def test_bad_questions_get_400_with_a_message(client: TestClient, body: Any, needle: str) -> None:
    r = client.post("/api/ask", json=body)
    assert r.status_code == 400
    assert needle in r.json()["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00garbage", b'{"question": "a"'])
def test_malformed_json_gets_400(client: TestClient, raw: bytes) -> None:
    r = client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]


def test_an_oversized_body_gets_413(client: TestClient) -> None:
    body = b'{"question": "' + b"a" * MAX_BODY_BYTES + b'"}'
    r = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "16 KB" in r.json()["error"]


def test_an_oversized_chunked_body_gets_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(20):
            yield b"a" * 1024
        yield b'"}'

    r = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413


def test_without_an_index_the_api_answers_503(no_index_client: TestClient) -> None:
    for r in (no_index_client.get("/api/health"), no_index_client.post("/api/ask", json={"question": QUESTION})):
        assert r.status_code == 503
        assert "hoidap index" in r.json()["error"]


def test_cors_allows_the_configured_origin(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": INTRANET})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == INTRANET
    assert "Origin" in r.headers["vary"]
    pre = client.options(
        "/api/ask",
        headers={
            "Origin": INTRANET,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == INTRANET
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "content-type" in pre.headers["access-control-allow-headers"].lower()


def test_cors_refuses_other_origins(client: TestClient) -> None:
    other = "http://evil.example"
    r = client.get("/api/health", headers={"Origin": other})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options("/api/ask", headers={"Origin": other, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    assert "access-control-allow-origin" not in pre.headers
    assert "HOIDAP_ALLOWED_ORIGINS" in pre.json()["error"]


def test_cors_default_is_same_origin_only(no_index_client: TestClient) -> None:
    pre = no_index_client.options("/api/ask", headers={"Origin": INTRANET, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    assert "access-control-allow-origin" not in pre.headers


def test_frame_ancestors_names_self_and_allowed_origins(client: TestClient, no_index_client: TestClient) -> None:
    for path in ("/widget", "/"):
        assert f"frame-ancestors 'self' {INTRANET}" in client.get(path).headers["content-security-policy"]
    assert no_index_client.get("/widget").headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert frame_ancestors(("*",)) == "frame-ancestors *"
    assert frame_ancestors(()) == "frame-ancestors 'self'"


def test_widget_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    r = client.get("/widget")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "Đặt câu hỏi…" in r.text and "Gửi" in r.text
    assert "http://" not in r.text and "https://" not in r.text  # relative links only: works under any host name
    for path in ("/widget/app.js", "/widget/style.css"):
        assert client.get(path).status_code == 200
    app_js = client.get("/widget/app.js").text
    assert "innerHTML" not in app_js and "textContent" in app_js


def test_widget_script_is_javascript(client: TestClient) -> None:
    r = client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    for option in ("data-position", "data-title", "data-open"):
        assert option in r.text
    assert "innerHTML" not in r.text


def test_document_page_marks_the_quote_and_escapes_text(client: TestClient, pipeline: Any) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    c = answer["citations"][1]
    r = client.get("/document", params={"doc": c["doc"], "start": c["start"], "end": c["end"]})
    assert r.status_code == 200
    assert f'<mark id="trich-dan">{c["quote"]}</mark>' in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert client.get("/document", params={"doc": "../../etc/passwd"}).status_code == 404
    assert client.get("/document", params={"doc": c["doc"], "start": -5, "end": 10**9}).status_code == 200


def test_document_page_shows_markup_as_text() -> None:
    from rag.documents import parse
    from ui.server import document_page

    text = "Trước <script>alert(1)</script> giữa <img src=x onerror=alert(1)> sau"
    page = document_page(replace(parse("a.txt", text), title="<b>Tiêu đề</b>"), 6, 31)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert '<mark id="trich-dan">&lt;script&gt;alert(1)&lt;/script&gt;</mark>' in page


def test_document_page_marks_pages_and_headings() -> None:
    from rag.documents import parse
    from rag.readers import Extracted, Heading
    from ui.server import document_page

    text = "Điều 1. Phạm vi\n\nNội dung thứ nhất.\n\nNội dung trang hai."
    found = Extracted(text=text, format="pdf", pages=(0, text.index("Nội dung trang")), headings=(Heading(0, 15, 4),))
    page = document_page(parse("a.pdf", text, found), text.index("Nội dung thứ"), text.index("nhất.") + 5)
    assert '<span class="page" id="trang-1">Trang 1</span><b>Điều 1. Phạm vi</b>' in page
    assert '<span class="page" id="trang-2">Trang 2</span>Nội dung trang hai.' in page
    assert '<mark id="trich-dan">Nội dung thứ nhất.</mark>' in page


def test_allowed_origins_match_without_a_trailing_slash(tmp_path: Path) -> None:
    with TestClient(create_app(None, Settings(allowed_origins=(INTRANET + "/",), data_dir=tmp_path))) as c:
        pre = c.options("/api/ask", headers={"Origin": INTRANET, "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == INTRANET
        assert c.get("/widget").headers["content-security-policy"].endswith(f"frame-ancestors 'self' {INTRANET}")


def test_the_chat_page_says_it_is_vietnamese(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'lang="vi"' in page.text[:200] and 'lang="en"' not in page.text[:200]
    assert int(page.headers["content-length"]) == len(page.content)


def test_widget_config_says_whether_the_asking_page_is_allowed(client: TestClient) -> None:
    own = client.get("/widget/config").json()
    assert own["allowed"] is True and own["message"] is None
    assert own["title"] == "Hỏi đáp tài liệu" and own["color"] == "#1d4ed8" and own["max_question_chars"] == 2000
    assert QUESTION in own["examples"]  # the bundled corpus's examples, as the index holds their documents
    allowed = client.get("/widget/config", headers={"Origin": INTRANET})
    assert allowed.json()["allowed"] is True
    refused = client.get("/widget/config", headers={"Origin": "http://other.example"})
    assert refused.headers["access-control-allow-origin"] == "*"  # readable by the page that is refused
    assert refused.json()["allowed"] is False
    assert "HOIDAP_ALLOWED_ORIGINS" in refused.json()["message"] and "chưa được phép" in refused.json()["message"]


def test_api_replies_keep_vietnamese_readable(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": QUESTION})
    assert "Thứ nhất" in r.text and "\\u" not in r.text  # UTF-8 JSON, not \\u-escaped
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"HOIDAP_BRAND_COLOR": "blue"}, "HOIDAP_BRAND_COLOR"),
        ({"HOIDAP_BRAND_COLOR": "#12345"}, "HOIDAP_BRAND_COLOR"),
        ({"HOIDAP_TITLE": "x" * 81}, "HOIDAP_TITLE"),
        ({"HOIDAP_TITLE": "<b>Sở</b>"}, "HOIDAP_TITLE"),
    ],
)
def test_title_and_brand_colour_are_checked(env: dict[str, str], needle: str) -> None:
    from rag.errors import HoidapError

    with pytest.raises(HoidapError, match=needle):
        Settings.from_env(env)


def test_title_and_brand_colour_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"HOIDAP_TITLE": "Hỏi đáp văn bản — Sở Nội vụ", "HOIDAP_BRAND_COLOR": "#7A1F1F"})
    assert settings.title == "Hỏi đáp văn bản — Sở Nội vụ" and settings.brand_color == "#7a1f1f"
