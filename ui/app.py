"""The chat page: a Gradio Blocks app from `build_app(pipeline, settings)`, driven by tests without a server.

Document text and questions are data: every piece of them is HTML-escaped (and,
inside Markdown, backslash-escaped) before it reaches a component, so a
document holding `<script>` shows those characters and runs nothing.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import gradio as gr

from rag.conversation import read_question
from rag.documents import display_date, place
from rag.errors import HoidapError
from rag.settings import MAX_QUESTION_CHARS, Settings

if TYPE_CHECKING:
    from rag.database import Database
    from rag.pipeline import LivePipeline, Pipeline
    from rag.records import Answer, Citation, Document

# Example questions for the bundled corpus, each with the document it was written for: shown only
# while the index holds that document. An administrator writes their own in HOIDAP_DATA_DIR/examples.txt.
EXAMPLES = (
    ("Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?", "000_cf24b04885448ff3.txt"),
    ("Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?", "003_e976d13c0d4f5caf.txt"),
    ("Ước thu ngân sách trên địa bàn quận Đống Đa năm 2020 là bao nhiêu?", "004_0b6753d6958e9fca.txt"),
    ("Thành ủy Hà Nội ban hành Báo cáo số 17-BC/TU vào ngày nào?", "000_cf24b04885448ff3.txt"),
)
EXAMPLES_FILE = "examples.txt"
MAX_EXAMPLES = 4
SEARCHING = "Đang tìm…"
UNDERSTOOD = "Hiểu câu hỏi là:"
NO_INDEX = "Chưa có chỉ mục tài liệu dùng được. Chạy `hoidap index`: `hoidap serve` tự nạp chỉ mục mới."
FALLBACK_NOTICE = (
    "⚠️ **Chỉ mục được xây dựng bằng mô hình dự phòng tiếng Anh** ({model}), nên tìm kiếm tiếng Việt "
    "kém chính xác hơn. Để dùng mô hình đa ngôn ngữ: đặt biến môi trường "
    "`HOIDAP_EMBEDDING_MODEL=intfloat/multilingual-e5-small` (tên mô hình hoặc thư mục chứa mô hình), "
    "chạy lại `hoidap index`, rồi khởi động lại `hoidap serve`."
)
CONTEXT_CHARS = 280  # surrounding text shown on each side of a quote
STREAM_DELAY_S = 0.02  # pause between streamed lines, so the answer visibly builds up

# System fonts only: the default theme's web fonts would be one more thing to serve, and a
# Google Fonts link would not load on an intranet without internet.
THEME = gr.themes.Default(
    font=["Segoe UI", "Roboto", "Noto Sans", "Helvetica Neue", "Arial", "sans-serif"],
    font_mono=["Consolas", "DejaVu Sans Mono", "Liberation Mono", "monospace"],
)
CSS = """
#hd-sources .hd-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 10px 12px; margin: 0 0 10px 0; background: var(--background-fill-primary); }
#hd-sources .hd-source-head { font-weight: 600; }
#hd-sources .hd-n { color: var(--color-accent); margin-right: 4px; }
#hd-sources .hd-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 2px 0 6px 0; }
#hd-sources .hd-quote { margin: 0 0 6px 0; padding: 6px 10px; border-left: 3px solid var(--color-accent);
  white-space: pre-wrap; font-size: 0.95em; line-height: 1.5; }
#hd-sources .hd-quote mark { background: #fff1a8; color: inherit; padding: 0 1px; }
#hd-sources .hd-empty, #hd-sources .hd-searching { color: var(--body-text-color-subdued); }
#hd-document-list table.hd-docs { width: 100%; border-collapse: collapse; font-size: 0.9em; }
#hd-document-list th, #hd-document-list td { text-align: left; padding: 4px 6px; border: 0;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
#hd-document-list .hd-doc-count { color: var(--body-text-color-subdued); margin: 0 0 6px 0; }
#hd-fallback { border: 1px solid #e0b252; background: #fff8e6; border-radius: 8px; padding: 8px 12px; }
#hd-fallback, #hd-fallback * { color: #5c4400 !important; }
"""
# Copies the plain-text answer with its sources; execCommand is the fallback for plain-http
# intranet hosts, where navigator.clipboard does not exist.
COPY_JS = """
(text) => {
  if (!text) return;
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = text; area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select(); document.execCommand("copy"); area.remove();
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).catch(fallback);
  } else {
    fallback();
  }
  const button = document.querySelector("#hd-copy");
  if (button) {
    const label = button.textContent;
    button.textContent = "Đã sao chép";
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}
"""

def example_questions(settings: Settings, pipeline: Pipeline | None) -> list[str]:
    """The example questions offered under the chat: HOIDAP_DATA_DIR/examples.txt (one a line, "#" for
    comments) when it exists, else the bundled corpus's examples whose document the index holds."""
    try:
        lines = (settings.data_dir / EXAMPLES_FILE).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        held = pipeline.index.catalog if pipeline is not None else {}
        return [question for question, doc in EXAMPLES if doc in held][:MAX_EXAMPLES]
    found = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [q for q in found if len(q) <= MAX_QUESTION_CHARS][:MAX_EXAMPLES]


def _luminance(color: str) -> float:
    """WCAG relative luminance of "#rrggbb"."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(color: str) -> str:
    """White or near-black, whichever reads better on `color` (a button in the brand colour)."""
    return "#ffffff" if contrast(color, "#ffffff") >= contrast(color, "#111827") else "#111827"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")
_ORDERED = re.compile(r"^(\s*\d+)([.)])")
_BULLET = re.compile(r"^(\s*)- ")
_HEADING_CHARS = re.compile(r"^(\s*)([>=])")


def escape_markdown(text: str) -> str:
    """Text shown literally by a Markdown renderer: HTML special characters and Markdown punctuation escaped."""
    out = []
    for line in text.split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        line = _ORDERED.sub(r"\1\\\2", line)
        line = html.escape(line, quote=False)
        out.append(_HEADING_CHARS.sub(r"\1\\\2", line))
    return "\n".join(out)


def answer_markdown(text: str) -> str:
    """The engine's answer (paragraphs and "- " bullets) as safe Markdown: structure kept, words escaped."""
    out = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            out.append(f"{bullet.group(1)}- {escape_markdown(line[bullet.end() :])}")
        else:
            out.append(escape_markdown(line))
    return "\n".join(out)


def document_href(doc: str, start: int, end: int) -> str:
    """Relative link to the whole document with the quote marked and scrolled to."""
    return "document?" + urlencode({"doc": doc, "start": start, "end": end}) + "#trich-dan"


def citation_groups(citations: Sequence[Citation]) -> list[tuple[list[int], Citation]]:
    """Citations grouped by document, in first-cited order: ([n, …], first citation of that document)."""
    groups: dict[str, tuple[list[int], Citation]] = {}
    for c in citations:
        groups.setdefault(c.doc, ([], c))[0].append(c.n)
    return list(groups.values())


def message_markdown(answer: Answer) -> str:
    """The chat message: the answer, then a short list of the documents it cites."""
    body = answer_markdown(answer.text)
    if not answer.citations:
        return body
    lines = [body, "", "**Nguồn:**", ""]
    for numbers, c in citation_groups(answer.citations):
        marks = ", ".join(f"\\[{n}\\]" for n in numbers)
        meta = " · ".join(x for x in (display_date(c.date), c.doc) if x)
        lines.append(f"- {marks} {escape_markdown(c.title)} — {escape_markdown(meta)}")
    return "\n".join(lines)


def copy_text(answer: Answer) -> str:
    """Plain text for the clipboard: the answer, then every source with its quote."""
    lines = [answer.text]
    if answer.citations:
        lines += ["", "Nguồn:"]
        for c in answer.citations:
            date = f", {display_date(c.date)}" if c.date else ""
            lines.append(f"[{c.n}] {c.title}{date} — {c.doc}")
            lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def context_around(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> tuple[str, str]:
    """The text before and after [start:end] within its paragraph, at most `width` characters each side."""
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    lo, hi = max(para_start, start - width), min(para_end, end + width)
    before, after = text[lo:start], text[end:hi]
    if lo > para_start:
        before = "…" + before[before.find(" ") + 1 :] if " " in before else "…" + before
    if hi < para_end:
        after = after[: after.rfind(" ")] + "…" if " " in after else after + "…"
    return before.lstrip(), after.rstrip()


def sources_html(answer: Answer, documents: Mapping[str, Document]) -> str:
    """The sources panel: one card per citation, the quote highlighted inside its surrounding text."""
    if answer.refused or not answer.citations:
        return '<p class="hd-empty">Không có nguồn: tài liệu không chứa câu trả lời.</p>'
    cards = ['<h3 class="hd-heading">Nguồn</h3>']
    for c in answer.citations:
        document = documents.get(c.doc)
        before, after = context_around(document.text, c.start, c.end) if document else ("", "")
        meta = " · ".join(x for x in (display_date(c.date), c.doc, place(c.page, c.section)) if x)
        cards.append(
            f'<div class="hd-source" id="nguon-{c.n}" data-doc="{html.escape(c.doc)}">'
            f'<div class="hd-source-head"><span class="hd-n">[{c.n}]</span>{html.escape(c.title)}</div>'
            f'<div class="hd-meta">{html.escape(meta)}</div>'
            f'<blockquote class="hd-quote">{html.escape(before)}<mark>{html.escape(c.quote)}</mark>'
            f"{html.escape(after)}</blockquote>"
            f'<a class="hd-open" href="{html.escape(document_href(c.doc, c.start, c.end))}" target="_blank" '
            f'rel="noopener">Mở toàn văn</a></div>'
        )
    return "\n".join(cards)


FORMAT_LABELS = {"txt": "Văn bản", "md": "Markdown", "docx": "Word", "doc": "Word 97–2003", "odt": "OpenDocument",
                 "rtf": "RTF", "pdf": "PDF", "html": "Trang web", "image": "Ảnh quét"}
DOCUMENTS_SHOWN = 1000  # rows of the "Tài liệu" panel; the admin page lists every document


def documents_html(pipeline: Pipeline | None) -> str:
    """The "Tài liệu" panel: every indexed document's title, date and format."""
    if pipeline is None:
        return '<p class="hd-empty">Chưa có tài liệu nào được lập chỉ mục.</p>'
    catalog = pipeline.index.catalog
    names = list(catalog)
    rows = []
    for name in names[:DOCUMENTS_SHOWN]:
        entry = catalog[name]
        rows.append(
            f'<tr data-doc="{html.escape(name)}"><td>{html.escape(entry["title"])}</td>'
            f"<td>{html.escape(display_date(entry['date']))}</td>"
            f"<td>{html.escape(FORMAT_LABELS.get(entry['format'], entry['format']))}</td></tr>"
        )
    more = (
        f'<p class="hd-empty">… và {len(names) - DOCUMENTS_SHOWN} tài liệu khác.</p>'
        if len(names) > DOCUMENTS_SHOWN
        else ""
    )
    return (
        f'<p class="hd-doc-count">{len(names)} tài liệu đã lập chỉ mục.</p>'
        '<table class="hd-docs"><thead><tr><th>Tiêu đề</th><th>Ngày</th><th>Định dạng</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


SOURCES_EMPTY = '<p class="hd-empty">Nguồn trích dẫn của câu trả lời sẽ hiện ở đây.</p>'
SOURCES_SEARCHING = f'<p class="hd-searching">{SEARCHING}</p>'

# textbox, chat history, topic, sources panel, copy text, conversation id
Outputs = tuple[Any, list[Any], str, str, str, str]


class Chat:
    """The chat page's event handlers, bound to one pipeline (None: no index loaded) or a LivePipeline.

    With a database, every answered turn is logged in the question log, in its conversation.
    """

    def __init__(self, pipeline: Pipeline | LivePipeline | None, db: Database | None = None) -> None:
        from rag.pipeline import LivePipeline

        self.live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline.fixed(pipeline, NO_INDEX)
        self.db = db

    def documents(self) -> str:
        """The "Tài liệu" panel for the index loaded now (refreshed on every page load)."""
        return documents_html(self.live.get())

    def log(self, conversation: str, question: str, understood_as: str | None, answer: Answer) -> str:
        """Log an answered turn; the conversation id (a new one at the start of a conversation)."""
        from rag.database import new_id
        from rag.pipeline import answer_json

        if self.db is None:
            return conversation
        conversation = conversation or new_id()
        self.db.log_question(conversation, question, understood_as, answer_json(answer), answer.timings_ms["total"])
        return conversation

    def banner(self) -> Any:
        """The notice above the chat for the index loaded now (refreshed on every page load)."""
        text = banner_text(self.live.get())
        return gr.Markdown(text or "", visible=text is not None)

    def respond(
        self, message: str, history: list[Any] | None, topic: str, conversation: str = ""
    ) -> Iterator[Outputs]:
        """Stream one turn: the question and "Đang tìm…" at once, then the answer line by line, then sources."""
        history = list(history or [])
        question = (message or "").strip()
        if not question:
            yield gr.skip(), history, topic, gr.skip(), gr.skip(), conversation
            return
        history += [
            {"role": "user", "content": escape_markdown(question)},
            {"role": "assistant", "content": f"⏳ {SEARCHING}"},
        ]
        yield "", list(history), topic, SOURCES_SEARCHING, "", conversation

        pipeline = self.live.get()
        if pipeline is None:
            history[-1] = {"role": "assistant", "content": f"{NO_INDEX} ({escape_markdown(self.live.problem)})"}
            yield "", list(history), topic, SOURCES_EMPTY, "", conversation
            return
        if len(question) > MAX_QUESTION_CHARS:
            history[-1] = {
                "role": "assistant",
                "content": f"Câu hỏi dài {len(question)} ký tự; hãy rút gọn dưới {MAX_QUESTION_CHARS} ký tự.",
            }
            yield "", list(history), topic, SOURCES_EMPTY, "", conversation
            return
        # The same reading as the API's: a follow-up is searched as a standalone question, shown above the answer.
        reading = read_question(question, topic or None)
        try:
            answer = pipeline.ask(reading.searched)
        except HoidapError as exc:
            history[-1] = {"role": "assistant", "content": f"Không trả lời được: {escape_markdown(str(exc))}"}
            yield "", list(history), topic, SOURCES_EMPTY, "", conversation
            return
        understood = reading.searched if reading.follow_up else None
        conversation = self.log(conversation, question, understood, answer)
        new_topic = reading.searched
        said = message_markdown(answer).split("\n")
        lines = ([f"*{UNDERSTOOD} {escape_markdown(understood)}*", ""] if understood else []) + said
        for i in range(1, len(lines)):
            if lines[i - 1].strip():  # one update per non-empty line
                history[-1] = {"role": "assistant", "content": "\n".join(lines[:i])}
                yield "", list(history), new_topic, SOURCES_SEARCHING, "", conversation
                time.sleep(STREAM_DELAY_S)
        history[-1] = {"role": "assistant", "content": "\n".join(lines)}
        sources = sources_html(answer, pipeline.index.documents)
        yield "", list(history), new_topic, sources, copy_text(answer), conversation

    @staticmethod
    def clear() -> Outputs:
        """An empty conversation."""
        return "", [], "", SOURCES_EMPTY, "", ""


def fallback_notice(pipeline: Pipeline | None) -> str | None:
    """The warning shown when the index was built with the English fallback model, else None."""
    if pipeline is None or not pipeline.index.fallback_model:
        return None
    return FALLBACK_NOTICE.format(model=pipeline.index.model)


def banner_text(pipeline: Pipeline | None) -> str | None:
    """The notice above the chat: how to build an index, the fallback model warning, or None."""
    if pipeline is None:
        return f"⚠️ {NO_INDEX}"
    return fallback_notice(pipeline)


def build_app(
    pipeline: Pipeline | LivePipeline | None, settings: Settings, db: Database | None = None
) -> gr.Blocks:
    """The chat page as Gradio Blocks; mount it with THEME and CSS (see ui.server.create_app).

    Args:
        pipeline: the loaded pipeline, a LivePipeline that follows the index folder, or None
            to show how to build the index.
        settings: the settings the server runs with.
        db: the store the question log goes to (None: questions are not logged).
    """
    chat = Chat(pipeline, db)
    with gr.Blocks(title=settings.title, analytics_enabled=False) as blocks:
        gr.Markdown(
            f"# {escape_markdown(settings.title)}\nĐặt câu hỏi bằng tiếng Việt về các tài liệu đã lập chỉ mục; "
            "mỗi câu trả lời trích dẫn nguyên văn đoạn tài liệu nguồn."
        )
        notice = banner_text(chat.live.get())
        banner = gr.Markdown(notice or "", elem_id="hd-fallback", visible=notice is not None)
        topic = gr.State("")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Hội thoại",
                    elem_id="hd-chat",
                    height=560,
                    latex_delimiters=[],
                    buttons=[],
                    sanitize_html=True,
                    placeholder="Câu trả lời kèm số [n] trỏ tới nguồn trích dẫn ở bên phải.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Đặt câu hỏi…",
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        scale=5,
                        autofocus=True,
                        elem_id="hd-question",
                    )
                    send = gr.Button("Gửi", variant="primary", scale=1, min_width=80, elem_id="hd-send")
                with gr.Row():
                    copy = gr.Button("Sao chép", size="sm", elem_id="hd-copy")
                    clear = gr.Button("Xoá hội thoại", size="sm", elem_id="hd-clear")
                gr.Markdown("**Câu hỏi mẫu**")
                with gr.Row(elem_id="hd-examples"):
                    examples = [gr.Button(q, size="sm", elem_classes="hd-example") for q in example_questions(settings, chat.live.get())]
            with gr.Column(scale=2):
                sources = gr.HTML(SOURCES_EMPTY, elem_id="hd-sources", js_on_load=None, max_height=820)
                with gr.Accordion("Tài liệu", open=False, elem_id="hd-documents"):
                    documents = gr.HTML(chat.documents(), elem_id="hd-document-list", max_height=480)
        copied = gr.Textbox(visible="hidden", elem_id="hd-copy-text")
        conversation = gr.State("")

        outputs = [box, chatbot, topic, sources, copied, conversation]
        # One shared pool for every way of asking: questions from several users run side by side.
        ask_options: dict[str, Any] = {
            "outputs": outputs,
            "concurrency_id": "ask",
            "concurrency_limit": 8,
            "show_progress": "minimal",
        }
        box.submit(chat.respond, inputs=[box, chatbot, topic, conversation], **ask_options)
        send.click(chat.respond, inputs=[box, chatbot, topic, conversation], **ask_options)
        for button in examples:
            button.click(chat.respond, inputs=[button, chatbot, topic, conversation], **ask_options)
        clear.click(chat.clear, outputs=outputs, queue=False)
        chatbot.clear(chat.clear, outputs=outputs, queue=False)  # the chat's own trash icon forgets the topic too
        copy.click(None, inputs=[copied], js=COPY_JS)
        blocks.load(chat.banner, outputs=[banner], queue=False)
        blocks.load(chat.documents, outputs=[documents], queue=False)
    return blocks
