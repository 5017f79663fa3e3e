"""The `hoidap serve` server: HTTP API, widget and whole-document pages, with the Gradio chat page at "/".

Routes of contracts.md: `POST /api/ask`, `GET /api/health`, `/` (chat), `/widget`
(compact chat for iframes), `/widget.js` (the bubble an intranet page includes).
`/document?doc=…&start=…&end=…` shows a whole document with a quote marked.

`Settings.allowed_origins` (HOIDAP_ALLOWED_ORIGINS) names the other sites that
may call the API from a browser (CORS) and frame the pages (CSP
frame-ancestors); by default only this server's own origin may.
"""

from __future__ import annotations

import bisect
import html
import itertools
import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import BadQuestion, HoidapError
from rag.settings import MAX_QUESTION_CHARS, Settings

if TYPE_CHECKING:
    from embeddings.encoder import Encoder
    from rag.database import Database
    from rag.pipeline import LivePipeline, Pipeline
    from rag.records import Document

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 16 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
NO_INDEX = "no index is loaded; run `hoidap index`, then restart `hoidap serve`"
# What the API tells the chat page and the widget, in Vietnamese (they show it as it is).
NO_INDEX_VI = "Máy chủ chưa có chỉ mục tài liệu; quản trị viên cần chạy `hoidap index` ({problem})."
TOO_BIG_VI = "Yêu cầu dài quá {kb} KB; hãy gửi câu hỏi ngắn hơn."
NOT_JSON_VI = 'Nội dung gửi phải là JSON dạng {"question": "4 mục tiêu năm 2021 là gì?"}.'
NOT_OBJECT_VI = 'Nội dung gửi phải là một đối tượng JSON có trường "question" (và tuỳ chọn "k", "conversation").'
NOT_ALLOWED_VI = (
    "Trang {origin} chưa được phép dùng trợ lý hỏi đáp này. Quản trị viên thêm địa chỉ đó vào "
    "HOIDAP_ALLOWED_ORIGINS (cách nhau bởi dấu phẩy) rồi khởi động lại hoidap serve."
)
# The widget and admin pages load only their own script, style and API: nothing inline, nothing from elsewhere.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def frame_ancestors(allowed_origins: tuple[str, ...]) -> str:
    """The CSP directive naming who may frame our pages: this origin plus the allowed ones ("*": anyone)."""
    if "*" in allowed_origins:
        return "frame-ancestors *"
    return " ".join(["frame-ancestors 'self'", *allowed_origins])


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Whether a browser's origin ("http://host:8000", never with a trailing slash) is one of the allowed
    ones ("*": any); the setting may be written with a trailing slash."""
    return any(a == "*" or a.rstrip("/") == origin for a in allowed)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class OriginPolicy:
    """ASGI middleware: CORS for /api/*, and frame-ancestors on every HTML page.

    A preflight from an origin that is not allowed gets 403; other cross-origin
    requests from it get no CORS headers, so the browser keeps the reply from the page.
    """

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...]) -> None:
        self.app = app
        # Browsers send "http://host:8000", never with a trailing slash; accept the setting either way.
        self.allowed = tuple(o.rstrip("/") for o in allowed_origins)
        self.ancestors = frame_ancestors(self.allowed)

    def allows(self, origin: str) -> bool:
        return origin_allowed(origin, self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")
        origin = Headers(scope=scope).get("origin")
        if is_api and scope["method"] == "OPTIONS" and origin:
            await self.preflight(origin, scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if is_api and origin and self.allows(origin):
                    headers["Access-Control-Allow-Origin"] = origin
                    headers.add_vary_header("Origin")
                if headers.get("content-type", "").startswith("text/html"):
                    policy = headers.get("content-security-policy")
                    headers["Content-Security-Policy"] = f"{policy}; {self.ancestors}" if policy else self.ancestors
                    headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def preflight(self, origin: str, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if self.allows(origin):
            response = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "600",
                    "Vary": "Origin",
                },
            )
        else:
            response = error(403, NOT_ALLOWED_VI.format(origin=origin))
        await response(scope, receive, send)


HTML_LANG = re.compile(rb'(<html\s+)lang="[^"]*"')


class VietnamesePage:
    """ASGI middleware: the chat page's HTML says `<html lang="vi">` (Gradio's template says "en")."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        parts: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(parts)
            headers = MutableHeaders(scope=start)
            if headers.get("content-type", "").startswith("text/html") and "content-encoding" not in headers:
                body = HTML_LANG.sub(rb'\1lang="vi"', body, count=1)
                headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes (checked while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def document_page(document: Document, start: int, end: int) -> str:
    """A whole document as an HTML page, every character escaped, with [start:end] marked as #trich-dan,
    its headings in bold and the start of every page marked ("Trang 3")."""
    e = html.escape
    text = document.text
    meta = " · ".join(x for x in (document.date, document.doc) if x)
    pages = {offset: n for n, offset in reversed(list(enumerate(document.pages, 1)))}
    cuts = sorted({0, len(text), start, end, *pages, *(o for h in document.headings for o in h[:2])})
    # Every heading starts and ends at a cut, so the pieces between cuts are wholly in a heading or not.
    bold = {
        cut for a, b, _ in document.headings for cut in cuts[bisect.bisect_left(cuts, a) : bisect.bisect_left(cuts, b)]
    }
    body = []
    for lo, hi in itertools.pairwise(cuts):
        if lo in pages:
            body.append(f'<span class="page" id="trang-{pages[lo]}">Trang {pages[lo]}</span>')
        piece = e(text[lo:hi])
        if lo in bold:
            piece = f"<b>{piece}</b>"
        if start <= lo < end:
            anchor = ' id="trich-dan"' if lo == start else ""
            piece = f"<mark{anchor}>{piece}</mark>"
        body.append(piece)
    if start == end:
        body.insert(0, '<span id="trich-dan"></span>')
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(document.title)}</title><style>"
        "body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;max-width:52rem;"
        "margin:0 auto;padding:1rem 1.25rem 4rem;line-height:1.6;color:#1f2937}"
        "h1{font-size:1.35rem;line-height:1.35}.meta{color:#6b7280;font-size:.9rem}"
        ".text{white-space:pre-wrap;word-wrap:break-word}"
        ".page{display:block;margin:1rem 0 .25rem;color:#6b7280;font-size:.8rem;border-top:1px dashed #d1d5db}"
        "mark{background:#fff1a8;padding:0 2px;scroll-margin-top:30vh}"
        "</style></head><body>"
        f'<h1>{e(document.title)}</h1><p class="meta">{e(meta)}</p>'
        f'<div class="text">{"".join(body)}</div>'
        "</body></html>"
    )


def create_app(
    pipeline: Pipeline | LivePipeline | None, settings: Settings, db: Database | None = None
) -> FastAPI:
    """The whole server as one ASGI app: API, admin and widget routes first, then the chat page at "/".

    Opens (or creates) the SQLite store in `settings.data_dir` and starts the job worker.

    Args:
        pipeline: the loaded pipeline; a LivePipeline that follows the index folder (as `serve`
            uses); or None (the API then answers 503, the page says how to index).
        settings: settings; `allowed_origins` sets CORS and frame-ancestors.
        db: the store opened already (default: opened from `settings.data_dir`).

    Raises:
        HoidapError: the data folder or its database cannot be used.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from rag.conversation import read_question
    from rag.database import Database
    from rag.jobs import Jobs
    from rag.pipeline import LivePipeline, answer_json, clean_question
    from ui.admin import add_admin_routes
    from ui.app import PAGE_HEAD, PAGE_JS, THEME, build_app, example_questions, page_css

    live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline.fixed(pipeline, NO_INDEX)
    db = db or Database.in_folder(settings.data_dir)

    def loaded_encoder() -> Encoder | None:
        current = live.get()
        return current.encoder if current is not None else None

    jobs = Jobs(settings, db, loaded_encoder, built=live.reload)
    jobs.start()
    app = FastAPI(title="hoidap", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db, app.state.jobs = db, jobs

    @app.get("/api/health")
    def health() -> JSONResponse:
        current = live.get()
        if current is None:
            return JSONResponse({"status": "error", "error": live.problem}, status_code=503)
        return JSONResponse(current.health())

    @app.post("/api/ask")
    async def ask(request: Request) -> JSONResponse:
        # Looking at the index folder may reopen it (seconds): not on the event loop.
        current = await run_in_threadpool(live.get)
        if current is None:
            return error(503, NO_INDEX_VI.format(problem=live.problem))
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return error(413, TOO_BIG_VI.format(kb=MAX_BODY_BYTES // 1024))
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            return error(400, NOT_JSON_VI)
        if not isinstance(data, dict) or "question" not in data:
            return error(400, NOT_OBJECT_VI)
        explain = data.get("explain", False)
        if not isinstance(explain, bool):
            return error(400, '"explain" phải là true hoặc false.')
        conversation = data.get("conversation")
        if conversation is not None and (not isinstance(conversation, str) or len(conversation) > 100):
            return error(400, '"conversation" phải là mã mà câu trả lời trước đã trả về, hoặc bỏ trống.')
        try:
            question = clean_question(data["question"])
            previous = await run_in_threadpool(db.last_question, conversation) if conversation else None
            reading = read_question(question, previous)
            # The pipeline is read-only; asks run side by side in the thread pool.
            answer = await run_in_threadpool(current.ask, reading.searched, data.get("k"), None, explain)
        except BadQuestion as exc:
            return error(400, exc.vi)
        except HoidapError as exc:
            return error(400, str(exc))
        reply = {**answer_json(answer), "question": question}
        reply["understood_as"] = reading.searched if reading.follow_up else None
        client = f"{request.client.host if request.client else '?'} {request.headers.get('user-agent', '')[:200]}"
        # Logged (and committed) before the reply goes out.
        known = conversation if previous is not None else None  # an unknown id starts a new conversation
        reply["conversation"], _turn = await run_in_threadpool(
            db.log_reply, known, reply, client if settings.log_clients else None
        )
        return JSONResponse(reply)

    @app.get("/api/conversations/{conversation}")
    def conversation_turns(conversation: str) -> JSONResponse:
        turns = db.conversation(conversation)
        if not turns:
            return error(404, "Không tìm thấy cuộc trò chuyện này; hãy bắt đầu cuộc trò chuyện mới.")
        return JSONResponse({"id": conversation, "turns": turns})

    @app.get("/widget/config")
    def widget_config(request: Request) -> JSONResponse:
        # Read by widget.js on any page before it opens the frame, so it may answer every origin: it
        # says whether that page may use the widget (the frame and the API would be refused otherwise).
        origin = request.headers.get("origin")
        allowed = origin is None or origin == own_origin(request) or origin_allowed(origin, settings.allowed_origins)
        return JSONResponse(
            {
                "title": settings.title,
                "color": settings.brand_color,
                "examples": example_questions(settings, live.get()),
                "max_question_chars": MAX_QUESTION_CHARS,
                "allowed": allowed,
                "message": None if allowed else NOT_ALLOWED_VI.format(origin=origin),
            },
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    @app.get("/widget")
    def widget() -> FileResponse:
        return FileResponse(
            STATIC / "widget.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/widget/app.js")
    def widget_app() -> FileResponse:
        return FileResponse(STATIC / "widget-app.js", media_type="text/javascript; charset=utf-8")

    @app.get("/widget/style.css")
    def widget_style() -> FileResponse:
        return FileResponse(STATIC / "widget.css", media_type="text/css; charset=utf-8")

    @app.get("/widget.js")
    def widget_loader() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js",
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    @app.get("/document", response_class=HTMLResponse)
    def document(doc: str, start: int = 0, end: int = 0) -> Response:
        current = live.get()
        if current is None:
            return HTMLResponse("<p>Chưa có chỉ mục tài liệu.</p>", status_code=503)
        found = current.index.documents.get(doc)
        if found is None:
            return HTMLResponse("<p>Không tìm thấy tài liệu.</p>", status_code=404)
        start = min(max(start, 0), len(found.text))
        end = min(max(end, start), len(found.text))
        page = document_page(found, start, end)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCUMENT_CSP})

    add_admin_routes(app, live, settings, db, jobs)

    app = gr.mount_gradio_app(
        app,
        build_app(live, settings, db),
        path="/",
        theme=THEME,
        css=page_css(settings),
        js=PAGE_JS,
        head=PAGE_HEAD,
        footer_links=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
    )
    app.add_middleware(OriginPolicy, allowed_origins=settings.allowed_origins)
    app.add_middleware(VietnamesePage)
    return app


def own_origin(request: Request) -> str:
    """This server's origin as the browser sees it ("http://host:port")."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0: any free port); a HoidapError when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise HoidapError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --port or --host, "
            "or stop the program using it"
        ) from None


def serve(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until Ctrl-C, following the index folder: a missing or damaged index is reported, not fatal.

    Without a usable index the API answers 503 with the reason; when `hoidap index`
    builds or rebuilds the index, the server loads it by itself.

    Raises:
        HoidapError: the address cannot be listened on, or the data folder cannot be used.
    """
    import uvicorn

    from rag.database import Database
    from rag.pipeline import LivePipeline

    sock = listen(host, port)
    db = Database.in_folder(settings.data_dir)  # a damaged store is said before the model loads
    live = LivePipeline(settings)
    if live.get() is None:
        print(
            f"hoidap: warning: {live.problem}; serving anyway: the API answers 503 until a usable index "
            "is built (no restart needed)",
            file=sys.stderr,
            flush=True,
        )
    from ui.app import fallback_notice

    if (notice := fallback_notice(live.get())) is not None:
        print(f"hoidap: warning: {notice}", file=sys.stderr, flush=True)
    app = create_app(live, settings, db)
    base = f"http://{host}:{sock.getsockname()[1]}"
    print(f"hoidap: chat at {base}/  ·  API {base}/api/ask  ·  widget {base}/widget", flush=True)
    print(f'hoidap: embed in a page with <script src="{base}/widget.js" defer></script>', flush=True)
    if settings.admin_token:
        print(f"hoidap: administration at {base}/quan-tri (the HOIDAP_ADMIN_TOKEN logs in)", flush=True)
    else:
        print("hoidap: document changes from the browser are off; set HOIDAP_ADMIN_TOKEN to use "
              f"{base}/quan-tri", flush=True)
    if not settings.allowed_origins:
        print("hoidap: only this origin may frame the widget; set HOIDAP_ALLOWED_ORIGINS to allow others", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
