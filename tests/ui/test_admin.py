"""The administrator's routes on a real server app (FastAPI's TestClient), a real corpus folder, a real index
rebuilt by real background jobs, and the real SQLite file."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS
from fastapi.testclient import TestClient

from bench.documents import regulation, write_docx
from rag.database import FILE_NAME
from rag.pipeline import LivePipeline
from rag.settings import Settings
from ui.server import create_app

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JOB_TIMEOUT_S = 180
DOCX_QUESTION = "Sinh viên đăng ký tối thiểu bao nhiêu tín chỉ trong mỗi học kỳ chính?"
NEW_TEXT = (
    "Quyết định tổ chức Hội thi tin học trẻ huyện Mê Linh năm 2026\n\n"
    "Ngày 05/03/2026, Ủy ban nhân dân huyện Mê Linh ban hành quyết định tổ chức Hội thi tin học trẻ cấp huyện "
    "năm 2026 dành cho học sinh tiểu học và trung học cơ sở trên địa bàn huyện.\n\n"
    "Hội thi tin học trẻ huyện Mê Linh năm 2026 có 120 thí sinh dự thi, đến từ 35 trường học của huyện.\n"
)


@pytest.fixture(scope="module")
def setup(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    """A server on a private copy of the corpus and its index, with an admin token and a 1 MB upload limit."""
    root = tmp_path_factory.mktemp("admin")
    shutil.copytree(CORPUS, root / "corpus")
    shutil.copytree(index_dir, root / "index")
    settings = Settings(
        corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data", admin_token=TOKEN,
        max_upload_mb=1,
    )
    with TestClient(create_app(LivePipeline(settings), settings)) as client:
        yield client, settings


@pytest.fixture(scope="module")
def client(setup: tuple[TestClient, Settings]) -> TestClient:
    return setup[0]


@pytest.fixture(scope="module")
def settings(setup: tuple[TestClient, Settings]) -> Settings:
    return setup[1]


def wait_job(client: TestClient, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").json()
        if state["state"] in ("done", "failed"):
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish in {JOB_TIMEOUT_S} s")


def upload(client: TestClient, *files: tuple[str, bytes], replace: bool = False, headers: Any = None) -> Any:
    return client.post(
        "/api/documents",
        files=[("file", (name, data, "application/octet-stream")) for name, data in files],
        data={"replace": "true"} if replace else {},
        headers=AUTH if headers is None else headers,
    )


def ask(client: TestClient, question: str) -> dict[str, Any]:
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 200, r.text
    return dict(r.json())


def everything_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


# ---------------------------------------------------------------- the token


def test_write_routes_are_disabled_without_a_configured_token(pipeline: Any, index_dir: Path, tmp_path: Path) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=index_dir, data_dir=tmp_path)
    with TestClient(create_app(pipeline, settings)) as c:
        for method, path in (("POST", "/api/documents"), ("DELETE", "/api/documents/a.txt"),
                             ("POST", "/api/reindex"), ("GET", "/api/questions"), ("GET", "/api/jobs"),
                             ("GET", "/api/admin")):
            r = c.request(method, path, headers=AUTH)
            assert r.status_code == 403, (method, path)
            assert r.json()["error"] == "document changes are disabled; set HOIDAP_ADMIN_TOKEN"
        assert c.get("/api/documents").status_code == 200  # reading the list needs no token


def test_a_missing_or_wrong_token_is_401(client: TestClient, settings: Settings) -> None:
    before = everything_under(settings.corpus_dir)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Cookie": f"token={TOKEN}"}):
        r = upload(client, ("x.txt", NEW_TEXT.encode()), headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["error"]
    assert client.get(f"/api/questions?token={TOKEN}").status_code == 401  # never in a URL either
    assert client.delete("/api/documents/000_cf24b04885448ff3.txt").status_code == 401
    assert everything_under(settings.corpus_dir) == before


def test_the_token_is_compared_in_constant_time(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("ui.admin.hmac.compare_digest", spy)
    assert client.get("/api/admin", headers=AUTH).status_code == 200
    assert calls == [(TOKEN.encode(), TOKEN.encode())]


def test_the_admin_status_and_page(client: TestClient) -> None:
    data = client.get("/api/admin", headers=AUTH).json()
    assert data["ok"] is True and data["documents"] >= 5 and data["max_upload_mb"] == 1
    assert ".docx" in data["suffixes"] and ".pdf" in data["suffixes"]
    page = client.get("/quan-tri")
    assert page.status_code == 200 and '<html lang="vi"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/quan-tri/app.js").status_code == 200
    assert client.get("/quan-tri/style.css").status_code == 200


# ---------------------------------------------------------------- documents


def test_upload_index_answer_list_delete(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    docx = write_docx(tmp_path / "quy-che-dao-tao.docx", regulation(8))
    r = upload(client, ("quy-che-dao-tao.docx", docx.read_bytes()))
    assert r.status_code == 202, r.text
    assert r.json()["files"] == ["quy-che-dao-tao.docx"]
    done = wait_job(client, r.json()["job"])
    assert done["state"] == "done", done
    assert done["kind"] == "upload" and "quy-che-dao-tao.docx" in done["message"]

    listed = {d["doc"]: d for d in client.get("/api/documents").json()["documents"]}
    entry = listed["quy-che-dao-tao.docx"]
    assert entry["format"] == "docx" and entry["chunks"] > 0 and entry["bytes"] == docx.stat().st_size
    assert entry["title"].startswith("Quy chế đào tạo") and entry["indexed"]
    assert listed["000_cf24b04885448ff3.txt"]["format"] == "txt"

    answer = ask(client, DOCX_QUESTION)  # the job is done only once the server answers from the new index
    assert not answer["refused"] and answer["citations"][0]["doc"] == "quy-che-dao-tao.docx"
    assert "14 tín chỉ" in answer["answer"]

    r = client.delete("/api/documents/quy-che-dao-tao.docx", headers=AUTH)
    assert r.status_code == 202
    assert wait_job(client, r.json()["job"])["state"] == "done"
    assert not (settings.corpus_dir / "quy-che-dao-tao.docx").exists()
    assert "quy-che-dao-tao.docx" not in {d["doc"] for d in client.get("/api/documents").json()["documents"]}
    after = ask(client, DOCX_QUESTION)
    assert "quy-che-dao-tao.docx" not in {c["doc"] for c in after["citations"]}
    assert not any(p.name.endswith("quy-che-dao-tao.docx") for p in settings.corpus_dir.rglob("*"))  # trash emptied


@pytest.mark.parametrize(
    ("name", "status", "said"),
    [
        ("../../x.txt", 400, "holds a folder"),
        ("a/b.txt", 400, "holds a folder"),
        ("a\\b.txt", 400, "holds a folder"),
        (".bashrc", 400, "hidden"),
        ("..", 400, "hidden"),
        ("~$bao-cao.docx", 400, "hidden"),
        ("con", 400, "device name"),
        ("CON.txt", 400, "device name"),
        ("lpt1.pdf", 400, "device name"),
        ("bao<cao>.txt", 400, "reserved"),
        ("ten-rat-dai-" + "a" * 200 + ".txt", 400, "over 200 bytes"),
        ("setup.exe", 415, "does not read"),
        ("no-extension", 415, "does not read"),
    ],
)
def test_hostile_names_are_refused_and_nothing_leaves_the_corpus(
    client: TestClient, settings: Settings, name: str, status: int, said: str
) -> None:
    outside = settings.corpus_dir.parent
    before = everything_under(outside)
    r = upload(client, (name, NEW_TEXT.encode()))
    assert r.status_code == status, r.text
    assert said in r.json()["error"]
    assert everything_under(outside) == before


def test_a_name_with_nul_is_refused(client: TestClient, settings: Settings) -> None:
    # An HTTP client library would escape the NUL; a hostile one sends it raw.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + NEW_TEXT.encode() + b"\r\n--b--\r\n"
    )
    before = everything_under(settings.corpus_dir.parent)
    r = client.post("/api/documents", content=body, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and "control" in r.json()["error"]
    assert everything_under(settings.corpus_dir.parent) == before


def test_content_decides_the_format(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    docx = write_docx(tmp_path / "a.docx", regulation(2)).read_bytes()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"\0" * (210 * 2**20))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "not a document")
    before = everything_under(settings.corpus_dir)
    for name, data, said in (
        ("bao-cao.pdf", docx, "is a Word document, not a PDF"),
        ("bao-cao.docx", b"%PDF-1.7\n" + bytes(100), "is a PDF, not a Word document"),
        ("bom.docx", bomb.getvalue(), "zip bomb"),
        ("luu-tru.docx", archive.getvalue(), "not a Word or OpenDocument file"),
        ("anh.png", b"GIF89a" + bytes(50), "is not"),
    ):
        r = upload(client, (name, data))
        assert r.status_code == 415, (name, r.text)
        assert said in r.json()["error"], r.json()
    r = upload(client, ("rong.txt", b""))
    assert r.status_code == 400 and "empty" in r.json()["error"]
    assert everything_under(settings.corpus_dir) == before


def test_an_upload_over_the_limit_is_413(client: TestClient, settings: Settings) -> None:
    before = everything_under(settings.corpus_dir)
    r = upload(client, ("lon.txt", ("Văn bản dài. " * 100_000).encode()))
    assert r.status_code == 413 and "HOIDAP_MAX_UPLOAD_MB" in r.json()["error"]
    assert everything_under(settings.corpus_dir) == before


def test_an_existing_name_is_kept_unless_replace(client: TestClient, settings: Settings) -> None:
    name = "000_cf24b04885448ff3.txt"
    original = (settings.corpus_dir / name).read_bytes()
    r = upload(client, (name, NEW_TEXT.encode()))
    assert r.status_code == 409 and "replace=true" in r.json()["error"]
    assert (settings.corpus_dir / name).read_bytes() == original

    r = upload(client, ("hoi-thi.txt", NEW_TEXT.encode()))
    assert wait_job(client, r.json()["job"])["state"] == "done", wait_job(client, r.json()["job"])
    changed = NEW_TEXT.replace("120 thí sinh", "150 thí sinh")
    r = upload(client, ("hoi-thi.txt", changed.encode()), replace=True)
    assert r.status_code == 202
    assert wait_job(client, r.json()["job"])["state"] == "done", wait_job(client, r.json()["job"])
    assert "150 thí sinh" in ask(client, "Hội thi tin học trẻ huyện Mê Linh năm 2026 có bao nhiêu thí sinh?")["answer"]
    assert wait_job(client, client.delete("/api/documents/hoi-thi.txt", headers=AUTH).json()["job"])["state"] == "done"


def test_two_uploads_of_one_name_at_once(client: TestClient) -> None:
    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    with jobs.receiving(["dong-thoi.txt"]):  # another upload of this name is being received
        r = upload(client, ("dong-thoi.txt", NEW_TEXT.encode()))
    assert r.status_code == 409 and "twice at once" in r.json()["error"]
    r = upload(client, ("hai-lan.txt", NEW_TEXT.encode()), ("hai-lan.txt", NEW_TEXT.encode()))
    assert r.status_code == 409


def test_a_file_that_cannot_be_read_fails_its_job_and_leaves_the_index(client: TestClient, settings: Settings) -> None:
    documents = {d["doc"] for d in client.get("/api/documents").json()["documents"]}
    r = upload(client, ("hong.pdf", b"%PDF-1.7\n" + bytes(300)))  # starts as a PDF, is not one
    assert r.status_code == 202
    failed = wait_job(client, r.json()["job"])
    assert failed["state"] == "failed"
    assert "Không đọc được: hong.pdf: cannot be read as a PDF" in failed["message"]
    assert not (settings.corpus_dir / "hong.pdf").exists()
    assert {d["doc"] for d in client.get("/api/documents").json()["documents"]} == documents


def test_deleting_a_document_that_does_not_exist_is_404(client: TestClient, settings: Settings) -> None:
    for doc in ("khong-co.txt", "..%2Fcorpus%2F000_cf24b04885448ff3.txt", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                ".hoidap-trash", "000_cf24b04885448ff3.txt%2F..%2F001_b8d377f4127674e8.txt", "a%00b.txt"):
        r = client.delete(f"/api/documents/{doc}", headers=AUTH)
        assert r.status_code == 404, doc
        assert "GET /api/documents" in r.json()["error"], (doc, r.json())
    assert client.get("/api/jobs/khong-co").status_code == 404
    assert (settings.corpus_dir / "000_cf24b04885448ff3.txt").exists()


def test_jobs_run_one_at_a_time_in_order(client: TestClient) -> None:
    first = client.post("/api/reindex", headers=AUTH).json()["job"]
    second = client.post("/api/reindex", headers=AUTH).json()["job"]
    states = client.get("/api/jobs", headers=AUTH).json()["jobs"]
    assert [j["job"] for j in states[:2]] == [second, first]  # newest first
    assert client.get(f"/api/jobs/{second}").json()["state"] in ("queued", "running", "done")
    a, b = wait_job(client, first), wait_job(client, second)
    assert a["state"] == b["state"] == "done"
    assert a["finished"] <= b["finished"]


# ---------------------------------------------------------------- the question log and feedback


def test_the_question_log_filters_exports_and_groups(
    client: TestClient, settings: Settings, closest_question: str
) -> None:
    asked = [
        ask(client, "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"),
        ask(client, "Giá vé tàu điện Cát Linh – Hà Đông năm 2030 là bao nhiêu?"),
        ask(client, "Giá vé tàu điện Cát Linh - Hà Đông năm 2030 bao nhiêu tiền?"),
        ask(client, "=HYPERLINK(\"http://x\") lịch thi đấu bóng đá World Cup?"),
    ]
    assert not asked[0]["refused"] and asked[1]["refused"] and asked[2]["refused"]
    closest = ask(client, closest_question)
    assert closest["outcome"] == "closest"
    log = client.get("/api/questions?limit=50", headers=AUTH).json()
    rows = {r["question"]: r for r in log["questions"]}
    first = rows[asked[0]["question"]]
    assert first["docs"] == ["000_cf24b04885448ff3.txt"] and first["refused"] is False
    assert rows[closest_question]["outcome"] == "closest" and rows[closest_question]["refused"] is False
    assert rows[closest_question]["docs"] == list(dict.fromkeys(c["doc"] for c in closest["citations"]))
    assert [rows[a["question"]]["outcome"] for a in asked] == [a["outcome"] for a in asked]
    assert first["latency_ms"] > 0 and first["turn"] == 1 and first["conversation"] == asked[0]["conversation"]
    assert "client" not in first  # no IP address or user agent unless HOIDAP_LOG_CLIENTS=true

    refused = client.get("/api/questions?refused=true&q=cat linh", headers=AUTH).json()  # no marks, any case
    assert refused["total"] == 2 and all(r["refused"] for r in refused["questions"])
    today = first["at"][:10]
    assert client.get(f"/api/questions?since={today}&until={today}", headers=AUTH).json()["total"] >= 4
    assert client.get("/api/questions?until=2000-01-01", headers=AUTH).json()["total"] == 0
    for bad in ("refused=maybe", "rating=5", "since=21/11/2026", "limit=0", "outcome=maybe", "outcome=refused"):
        assert client.get(f"/api/questions?{bad}", headers=AUTH).status_code == 400, bad
    said = client.get("/api/questions?outcome=maybe", headers=AUTH).json()["error"]
    assert said == "outcome must be one of answer, closest, none"
    by_outcome = {
        o: client.get(f"/api/questions?outcome={o}", headers=AUTH).json() for o in ("answer", "closest", "none")
    }
    for outcome, found in by_outcome.items():
        assert found["total"] >= 1 and {r["outcome"] for r in found["questions"]} == {outcome}, outcome
    assert closest_question in {r["question"] for r in by_outcome["closest"]["questions"]}
    assert client.get("/api/questions?outcome=none&q=cat linh", headers=AUTH).json()["total"] == 2

    exported = client.get("/api/questions?format=csv&refused=true", headers=AUTH)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {r["question"] for r in table} >= {asked[1]["question"], asked[2]["question"]}
    assert {r["outcome"] for r in table} == {"none"}
    everything = client.get("/api/questions?format=csv", headers=AUTH).text.lstrip("\ufeff")
    assert everything.splitlines()[0].startswith("id,at,question,understood_as,refused,outcome,docs,")
    outcomes = {r["question"]: r["outcome"] for r in csv.DictReader(io.StringIO(everything))}
    assert outcomes[closest_question] == "closest" and outcomes[asked[0]["question"]] == asked[0]["outcome"]
    assert "'=HYPERLINK(\"http://x\") lịch thi đấu bóng đá World Cup?" in outcomes  # not run as a formula

    # "Chưa trả lời được": closest and none, grouped and counted apart, each group saying which it is.
    unanswered = client.get("/api/questions/unanswered", headers=AUTH).json()
    groups = unanswered["groups"]
    assert unanswered["counts"] == {"closest": by_outcome["closest"]["total"], "none": by_outcome["none"]["total"]}
    assert sum(g["count"] for g in groups) == sum(unanswered["counts"].values())
    assert groups[0]["count"] == 2 and set(groups[0]["questions"]) == {asked[1]["question"], asked[2]["question"]}
    assert groups[0]["question"] == asked[2]["question"]  # the newest wording names the group
    assert groups[0]["outcome"] == "none"
    assert next(g for g in groups if closest_question in g["questions"])["outcome"] == "closest"
    only = client.get("/api/questions/unanswered?outcome=closest", headers=AUTH).json()
    assert {g["outcome"] for g in only["groups"]} == {"closest"} and only["counts"]["none"] == 0
    wrong = client.get("/api/questions/unanswered?outcome=answer", headers=AUTH)
    assert wrong.status_code == 400 and "closest or none" in wrong.json()["error"]


def test_feedback_is_stored_against_a_logged_answer(client: TestClient) -> None:
    answer = ask(client, "Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?")
    body = {"conversation": answer["conversation"], "turn": 1, "rating": -1, "comment": "Thiếu ngày ban hành"}
    assert client.post("/api/feedback", json=body).json() == {"ok": True}
    rated = client.get("/api/questions?rating=-1", headers=AUTH).json()["questions"]
    assert [(r["question"], r["comment"]) for r in rated] == [(answer["question"], "Thiếu ngày ban hành")]
    for bad in ({**body, "rating": 0}, {**body, "rating": True}, {**body, "turn": 2}, {**body, "turn": "1"},
                {**body, "conversation": "khong-co"}, {**body, "comment": "x" * 3000}, [1, 2]):
        r = client.post("/api/feedback", json=bad)
        assert r.status_code == 400 and r.json()["error"], bad
    assert client.post("/api/feedback", content=b"{not json").status_code == 400


def test_a_conversation_id_carries_turns_and_an_unknown_one_starts_anew(client: TestClient) -> None:
    first = ask(client, "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?")
    assert first["understood_as"] is None
    r = client.post("/api/ask", json={"question": "Còn mục tiêu thứ ba là gì?", "conversation": first["conversation"]})
    follow = r.json()
    assert follow["conversation"] == first["conversation"] and follow["question"] == "Còn mục tiêu thứ ba là gì?"
    assert follow["understood_as"] == "Mục tiêu thứ ba là gì (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"
    alone = "Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?"
    third = client.post("/api/ask", json={"question": alone, "conversation": first["conversation"]}).json()
    assert third["understood_as"] is None
    assert third["answer"] == ask(client, alone)["answer"]  # as without a conversation
    log = client.get("/api/questions?q=muc tieu thu ba", headers=AUTH).json()["questions"]
    assert log[0]["turn"] == 2 and log[0]["understood_as"] == follow["understood_as"]
    turns = client.get(f"/api/conversations/{first['conversation']}").json()
    assert [t["question"] for t in turns["turns"]] == [first["question"], follow["question"], alone]
    assert turns["turns"][1]["understood_as"] == follow["understood_as"]
    assert turns["turns"][0]["citations"] == first["citations"] and turns["turns"][0]["answer"] == first["answer"]
    assert client.get("/api/conversations/khong-co").status_code == 404
    fresh = client.post("/api/ask", json={"question": "Ai chủ trì hội nghị?", "conversation": "do-client-tu-dat"})
    assert fresh.json()["conversation"] not in ("do-client-tu-dat", first["conversation"])
    assert client.post("/api/ask", json={"question": "x", "conversation": 5}).status_code == 400


def test_clients_are_logged_only_when_asked(pipeline: Any, index_dir: Path, tmp_path: Path) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=index_dir, data_dir=tmp_path, admin_token=TOKEN, log_clients=True)
    with TestClient(create_app(pipeline, settings)) as c:
        c.post("/api/ask", json={"question": "Nghị quyết số 15-NQ/TU về gì?"}, headers={"User-Agent": "kiem-thu"})
        row = c.get("/api/questions", headers=AUTH).json()["questions"][0]
    assert row["client"].startswith("testclient") and row["client"].endswith("kiem-thu")


def test_the_log_is_committed_to_the_sqlite_file(client: TestClient, settings: Settings) -> None:
    answer = ask(client, "Ước thu ngân sách trên địa bàn quận Đống Đa năm 2020 là bao nhiêu?")
    with sqlite3.connect(settings.data_dir / FILE_NAME) as other:  # another connection sees it at once
        row = other.execute("SELECT question FROM questions WHERE conversation = ?", (answer["conversation"],))
        assert row.fetchone()[0] == answer["question"]
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_question_about_the_collection_lists_it(client: TestClient) -> None:
    answer = ask(client, "Có những tài liệu nào?")
    assert not answer["refused"] and answer["citations"] == []
    assert "mục «Tài liệu»" in answer["answer"]
    assert "Xác định rõ 4 mục tiêu trong công tác xây dựng Đảng" in answer["answer"]
