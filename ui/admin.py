"""The administrator's routes: documents (list, upload, delete, re-index), jobs, the question log and feedback.

Write routes and the log need `Authorization: Bearer <HOIDAP_ADMIN_TOKEN>`, compared in constant
time. The token travels in that header only, never in a cookie: a page of another site cannot
make the browser send it, and the CORS preflight does not allow the header from other origins.
With no token set, those routes answer 403 and say how to enable them.
"""

from __future__ import annotations

import contextlib
import csv
import hmac
import io
import json
import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.types import Message

from rag.database import OUTCOMES, Database, QuestionFilter, similar_groups
from rag.jobs import Jobs, Received, Refused, check_format, safe_name
from rag.readers import SUFFIXES
from rag.settings import Settings
from ui.server import MAX_BODY_BYTES, PAGE_CSP, STATIC, error, read_body

if TYPE_CHECKING:
    from rag.pipeline import LivePipeline

DISABLED = "document changes are disabled; set HOIDAP_ADMIN_TOKEN"
MAX_FILES = 20  # files in one upload request
MAX_COMMENT_CHARS = 2000
MAX_LOG_ROWS = 10_000
COPY_BLOCK = 1 << 20
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CSV_FIELDS = ("id", "at", "question", "understood_as", "refused", "outcome", "docs", "latency_ms", "conversation",
              "turn", "rating", "comment")
UNANSWERED = ("closest", "none")  # the outcomes of the "Chưa trả lời được" tab: only related passages, or nothing


def refused_by_token(request: Request, settings: Settings) -> JSONResponse | None:
    """None when the request carries the admin token; else the 401 or 403 reply."""
    if not settings.admin_token:
        return error(403, DISABLED)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), settings.admin_token.encode()
    ):
        return error(
            401,
            "missing or wrong admin token; send the header Authorization: Bearer <HOIDAP_ADMIN_TOKEN>",
            {"WWW-Authenticate": "Bearer"},
        )
    return None


class TooLarge(Exception):
    pass


def csv_cell(value: Any) -> str:
    """A log value as a CSV cell; text a spreadsheet would run as a formula is prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def question_filter(request: Request) -> QuestionFilter | JSONResponse:
    """The filters of GET /api/questions, or the 400 reply naming the bad one."""
    q = request.query_params
    refused = q.get("refused")
    if refused not in (None, "", "true", "false"):
        return error(400, "refused must be true or false")
    outcome = q.get("outcome")
    if outcome not in (None, "", *OUTCOMES):
        return error(400, f"outcome must be one of {', '.join(OUTCOMES)}")
    rating = q.get("rating")
    if rating not in (None, "", "1", "-1"):
        return error(400, "rating must be 1 or -1")
    for name in ("since", "until"):
        value = q.get(name)
        if value and not _DAY.fullmatch(value):
            return error(400, f"{name} must be a date like 2026-11-21")
    limit = q.get("limit", "200")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LOG_ROWS:
        return error(400, f"limit must be a whole number from 1 to {MAX_LOG_ROWS}")
    return QuestionFilter(
        refused=None if not refused else refused == "true",
        outcome=outcome or None,
        rating=int(rating) if rating else None,
        since=q.get("since") or None,
        until=q.get("until") or None,
        text=(q.get("q") or "").strip() or None,
        limit=int(limit),
    )


def add_admin_routes(app: FastAPI, live: LivePipeline, settings: Settings, db: Database, jobs: Jobs) -> None:
    """The document, job, log and feedback routes, and the admin page at /quan-tri."""

    @app.get("/quan-tri")
    def admin_page() -> FileResponse:
        return FileResponse(
            STATIC / "admin.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/quan-tri/app.js")
    def admin_script() -> FileResponse:
        return FileResponse(STATIC / "admin.js", media_type="text/javascript; charset=utf-8")

    @app.get("/quan-tri/style.css")
    def admin_style() -> FileResponse:
        return FileResponse(STATIC / "admin.css", media_type="text/css; charset=utf-8")

    @app.get("/api/admin")
    def admin_status(request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        current = live.get()
        return JSONResponse(
            {
                "ok": True,
                "documents": len(current.index.documents) if current else 0,
                "chunks": len(current.index.chunks) if current else 0,
                "model": current.index.model if current else None,
                "fallback_model": current.index.fallback_model if current else False,
                "max_upload_mb": settings.max_upload_mb,
                "suffixes": sorted(SUFFIXES),
                "problem": None if current else live.problem,
            }
        )

    @app.get("/api/documents")
    def documents() -> JSONResponse:
        current = live.get()
        catalog = current.index.catalog if current else {}
        return JSONResponse({"documents": [{"doc": name, **entry} for name, entry in sorted(catalog.items())]})

    @app.post("/api/documents")
    async def upload(request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        limit = settings.max_upload_mb * 2**20  # for each file
        whole = MAX_FILES * limit + 64 * 1024  # for the request: every file at the limit, and the multipart framing
        too_large = error(
            413, f"the upload is over {MAX_FILES} × {settings.max_upload_mb} MB (HOIDAP_MAX_UPLOAD_MB for each "
            "file); send fewer or smaller files"
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > whole:
            return too_large
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error(400, "send the files as multipart/form-data, one or more 'file' fields")
        received = 0

        async def receive() -> Message:  # counts the body as it arrives: a chunked upload cannot pass the limit
            nonlocal received
            message = await request.receive()
            received += len(message.get("body", b""))
            if received > whole:
                raise TooLarge
            return message

        try:
            form = await Request(request.scope, receive).form(max_files=MAX_FILES, max_fields=10)
        except TooLarge:
            return too_large
        except (MultiPartException, ValueError) as exc:
            return error(400, f"the upload is not valid multipart/form-data ({exc}); at most {MAX_FILES} files")
        try:
            files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            if not files:
                return error(400, "no file in the upload; send one or more 'file' fields")
            replace = str(form.get("replace", "false")).lower() in ("true", "1", "yes", "on")
            try:
                names = [safe_name(f.filename) for f in files]
            except Refused as exc:
                return error(exc.status, str(exc))
            try:
                with jobs.receiving(names):
                    items = await run_in_threadpool(_receive_all, jobs, files, names, limit)
                    job = await run_in_threadpool(jobs.add, items, replace)
            except Refused as exc:
                return error(exc.status, str(exc))
        finally:
            await form.close()
        return JSONResponse({"job": job.job, "files": list(job.files)}, status_code=202)

    @app.delete("/api/documents/{doc:path}")
    def delete(doc: str, request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        try:
            job = jobs.delete(doc)
        except Refused as exc:
            return error(exc.status, str(exc))
        return JSONResponse({"job": job.job}, status_code=202)

    @app.post("/api/reindex")
    def reindex(request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        return JSONResponse({"job": jobs.reindex().job}, status_code=202)

    @app.get("/api/jobs")
    def job_list(request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        return JSONResponse({"jobs": [j.as_json() for j in db.jobs()]})

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> JSONResponse:
        found = db.job(job_id)
        if found is None:
            return error(404, f"no job {job_id!r}; a job id comes from an upload, delete or re-index reply")
        return JSONResponse(found.as_json())

    @app.get("/api/questions")
    def questions(request: Request) -> Response:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        where = question_filter(request)
        if isinstance(where, JSONResponse):
            return where
        total, rows = db.questions(where)
        if request.query_params.get("format") == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(CSV_FIELDS)
            for row in rows:
                writer.writerow([csv_cell(row.get(f)) for f in CSV_FIELDS])
            return Response(
                "\ufeff" + out.getvalue(),  # the BOM makes spreadsheet programs read the file as UTF-8
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="cau-hoi.csv"'},
            )
        return JSONResponse({"total": total, "questions": rows})

    @app.get("/api/questions/unanswered")
    def unanswered(request: Request) -> JSONResponse:
        if (denied := refused_by_token(request, settings)) is not None:
            return denied
        where = question_filter(request)
        if isinstance(where, JSONResponse):
            return where
        # Each outcome grouped on its own, so every group says which it is: documents that only touch on the
        # question (closest) want a passage that answers it; the others (none) want a document of their own.
        if where.outcome is not None and where.outcome not in UNANSWERED:
            return error(400, f"outcome must be {' or '.join(UNANSWERED)}: this list holds the questions not answered")
        asked = (where.outcome,) if where.outcome else UNANSWERED
        counts = dict.fromkeys(UNANSWERED, 0)
        groups = []
        for outcome in asked:
            counts[outcome], rows = db.questions(
                QuestionFilter(outcome=outcome, since=where.since, until=where.until, text=where.text,
                               limit=MAX_LOG_ROWS)
            )
            groups += [{**group, "outcome": outcome} for group in similar_groups(rows)]
        groups.sort(key=lambda g: (g["count"], g["last"]), reverse=True)
        return JSONResponse({"groups": groups, "counts": counts})

    @app.post("/api/feedback")
    async def feedback(request: Request) -> JSONResponse:
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return error(413, f"Góp ý dài quá {MAX_BODY_BYTES // 1024} KB; hãy rút gọn nhận xét.")
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        shape = 'gửi JSON dạng {"conversation": "…", "turn": 1, "rating": 1, "comment": "…"}'
        if not isinstance(data, dict):
            return error(400, f"Góp ý không hợp lệ; {shape}.")
        conversation, turn, rating = data.get("conversation"), data.get("turn"), data.get("rating")
        comment = data.get("comment")
        if not isinstance(conversation, str) or not conversation or len(conversation) > 100:
            return error(400, f'"conversation" phải là mã mà câu trả lời đã trả về; {shape}.')
        if not isinstance(turn, int) or isinstance(turn, bool) or turn < 1:
            return error(400, f'"turn" phải là số nguyên từ 1; {shape}.')
        if rating not in (1, -1) or isinstance(rating, bool):
            return error(400, '"rating" phải là 1 (hữu ích) hoặc -1 (không hữu ích).')
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
            return error(400, f"Nhận xét dài tối đa {MAX_COMMENT_CHARS} ký tự.")
        stored = await run_in_threadpool(db.add_feedback, conversation, turn, rating, (comment or "").strip() or None)
        if not stored:
            return error(400, f"Không có lượt hỏi {turn} trong cuộc trò chuyện này; chỉ đánh giá câu trả lời đã nhận.")
        return JSONResponse({"ok": True})


def _receive_all(jobs: Jobs, files: list[UploadFile], names: list[str], limit: int) -> list[Received]:
    """Copy every uploaded file into a hidden temporary file of the corpus folder and check it; all or none."""
    items: list[Received] = []
    try:
        for upload, name in zip(files, names):
            temp = jobs.temp_file(name)
            items.append(Received(name, temp, 0))
            size = 0
            with temp.open("wb") as out:
                upload.file.seek(0)
                while block := upload.file.read(COPY_BLOCK):
                    size += len(block)
                    if size > limit:
                        raise Refused(413, f"{name} is over {limit // 2**20} MB (HOIDAP_MAX_UPLOAD_MB)")
                    out.write(block)
            items[-1].size = size
            check_format(items[-1])
    except BaseException:
        for item in items:
            with contextlib.suppress(FileNotFoundError):
                item.temp.unlink()
        raise
    return items
