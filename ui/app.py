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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import gradio as gr

from rag.conversation import read_question
from rag.database import outcome_of
from rag.documents import display_date, place
from rag.errors import HoidapError
from rag.settings import MAX_QUESTION_CHARS, Settings

if TYPE_CHECKING:
    from rag.database import Database
    from rag.pipeline import LivePipeline, Pipeline
    from rag.records import Document

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
NEW_CONVERSATION = "Cuộc trò chuyện mới"
NO_INDEX = "Chưa có chỉ mục tài liệu dùng được. Chạy `hoidap index`: `hoidap serve` tự nạp chỉ mục mới."
# Users see one short line; the full notice and how to fix it are on the admin page and in the server log.
FALLBACK_LINE = "⚠️ Tìm kiếm đang dùng mô hình dự phòng tiếng Anh nên có thể kém chính xác; hãy báo quản trị viên."
FALLBACK_NOTICE = (
    "the index was built with the English fallback model ({model}), so Vietnamese search is less accurate; "
    "set HOIDAP_EMBEDDING_MODEL to a multilingual model (a name, or a folder from `hoidap model download`), "
    "run `hoidap index`, then restart `hoidap serve`"
)
FEEDBACK_THANKS = "Cảm ơn góp ý của bạn."
# Above an answer of outcome "closest": the documents only come near the question, and the reader sees so.
CLOSEST_LABEL = "Chưa có câu trả lời chắc chắn"
# Its label's text and background, light and dark (contrast ≥ 4.5, tested), and the amber edge of its message.
CLOSEST_LIGHT = ("#78350f", "#fef3c7")
CLOSEST_DARK = ("#fde68a", "#422006")
CLOSEST_EDGE = ("#d97706", "#f59e0b")
CONTEXT_CHARS = 280  # surrounding text shown on each side of a quote
STREAM_DELAY_S = 0.02  # pause between streamed lines, so the answer visibly builds up
NO_CONVERSATION = "-"  # the browser's conversation id after "Cuộc trò chuyện mới": none yet
SOURCE_TURNS_KEPT = 20  # the sources of this many last answers stay on the page, for their [n] links

# System fonts only: the default theme's web fonts would be one more thing to serve, and a
# Google Fonts link would not load on an intranet without internet. Blue and grey, no stock orange;
# the brand colour (HOIDAP_BRAND_COLOR) is laid over it by page_css.
THEME = gr.themes.Default(
    primary_hue="blue",
    secondary_hue="slate",
    neutral_hue="slate",
    font=["Segoe UI", "Roboto", "Noto Sans", "Helvetica Neue", "Arial", "sans-serif"],
    font_mono=["Consolas", "DejaVu Sans Mono", "Liberation Mono", "monospace"],
)
# Gradio's page backgrounds (slate-50/white and slate-950): brand text must read on these.
LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#0f172a"
CSS = """
#hd-sources .hd-group { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 10px 12px; margin: 0 0 10px 0; background: var(--background-fill-primary); }
#hd-sources .hd-group-head { font-weight: 600; }
#hd-sources .hd-n { color: var(--hd-link); font-weight: 600; margin-right: 4px; }
#hd-sources .hd-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 2px 0 6px 0; }
#hd-sources .hd-source { margin: 10px 0 0 0; scroll-margin-top: 12px; border-radius: 6px; }
#hd-sources .hd-source-line { margin: 0 !important; line-height: 1.4; }
#hd-sources .hd-source.hd-flash { outline: 3px solid var(--hd-link); outline-offset: 2px; }
#hd-sources .hd-place { color: var(--body-text-color-subdued); font-size: 0.85em; }
#hd-sources .hd-open { font-size: 0.9em; display: inline-block; margin: 0 !important; padding: 0 !important; }
#hd-sources blockquote.hd-quote { margin: 4px 0 2px 0 !important; padding: 4px 10px;
  border-left: 3px solid var(--hd-brand); white-space: pre-wrap; font-size: 0.95em;
  line-height: 1.5; color: var(--body-text-color); }
#hd-sources .hd-quote mark, .hd-doc mark { background: #fde68a; color: #1f2937; padding: 0 1px; }
#hd-sources a, #hd-chat a { color: var(--hd-link); }
#hd-sources .hd-empty, #hd-sources .hd-searching { color: var(--body-text-color-subdued); }
#hd-document-list table.hd-docs { width: 100%; border-collapse: collapse; font-size: 0.9em; }
#hd-document-list th, #hd-document-list td { text-align: left; padding: 4px 6px; border: 0;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
#hd-document-list .hd-doc-count { color: var(--body-text-color-subdued); margin: 0 0 6px 0; }
#hd-fallback { border: 1px solid #e0b252; background: #fff8e6; border-radius: 8px; padding: 4px 12px; }
#hd-fallback, #hd-fallback * { color: #5c4400 !important; }
#hd-feedback-thanks { color: var(--body-text-color-subdued); }
/* An answer of outcome "closest": a label above it, an amber edge, and its passages as quotes. */
#hd-chat .hd-closest { display: inline-block; margin: 0 0 2px 0; padding: 1px 8px; border-radius: 999px;
  font-size: 0.85em; font-weight: 600; color: var(--hd-closest-text); background: var(--hd-closest-bg);
  border: 1px solid var(--hd-closest-edge); }
#hd-chat .bot.message:has(.hd-closest) { border-left: 4px solid var(--hd-closest-edge) !important; }
#hd-chat .bot.message:has(.hd-closest) blockquote { margin: 6px 0 !important; padding: 2px 0 2px 10px !important;
  border-left: 3px solid var(--hd-closest-edge) !important; color: var(--body-text-color) !important;
  font-style: normal; }
/* A phone: one column, the chat no taller than most of the screen, so the sources follow soon after. */
@media (max-width: 768px) {
  #hd-chat { height: 62vh !important; max-height: 62vh !important; }
  #hd-examples button { font-size: 0.85em; }
  .gradio-container { padding: 0 6px !important; }
}
"""


def readable(color: str, background: str, minimum: float = 4.5) -> str:
    """`color`, mixed towards white or black just enough to reach `minimum` contrast on `background`."""
    toward = "#ffffff" if _luminance(background) < 0.5 else "#000000"
    for step in range(21):
        t = step / 20
        mixed = "#" + "".join(
            f"{round(int(color[i : i + 2], 16) * (1 - t) + int(toward[i : i + 2], 16) * t):02x}" for i in (1, 3, 5)
        )
        if contrast(mixed, background) >= minimum:
            return mixed
    return toward


def page_css(settings: Settings) -> str:
    """CSS for the chat page: CSS above with the brand colour for buttons, links and accents, light and dark."""
    brand = settings.brand_color
    light, dark = readable(brand, LIGHT_BACKGROUND), readable(brand, DARK_BACKGROUND)
    on_brand = text_on(brand)
    return (
        f"""
:root, .gradio-container {{ --hd-brand: {brand}; --hd-link: {light};
  --color-accent: {brand}; --color-accent-soft: {brand}22; --border-color-accent: {brand};
  --button-primary-background-fill: {brand}; --button-primary-background-fill-hover: {brand};
  --button-primary-border-color: {brand}; --button-primary-text-color: {on_brand};
  --button-primary-text-color-hover: {on_brand}; --loader-color: {brand};
  --link-text-color: {light}; --link-text-color-hover: {light}; --link-text-color-visited: {light};
  --body-text-color-subdued: #475569;
  --hd-closest-text: {CLOSEST_LIGHT[0]}; --hd-closest-bg: {CLOSEST_LIGHT[1]}; --hd-closest-edge: {CLOSEST_EDGE[0]}; }}
.dark, .dark .gradio-container {{ --hd-link: {dark}; --body-text-color-subdued: #94a3b8;
  --hd-closest-text: {CLOSEST_DARK[0]}; --hd-closest-bg: {CLOSEST_DARK[1]}; --hd-closest-edge: {CLOSEST_EDGE[1]};
  --link-text-color: {dark}; --link-text-color-hover: {dark};
  --link-text-color-visited: {dark}; }}
"""
        + CSS
    )


# In the page's <head>, before Gradio runs: keeps <html lang="vi"> (Gradio sets the browser's locale).
PAGE_HEAD = """<script>
(() => {
  const root = document.documentElement;
  const pin = () => { if (root.lang !== "vi") root.lang = "vi"; };
  pin();
  new MutationObserver(pin).observe(root, { attributes: true, attributeFilter: ["lang"] });
})();
</script>"""
# Runs once when the page loads: brings each new question to the top of the chat, so its answer is read
# from its beginning as it comes in (and the last one after a reload); makes the [n] markers of the
# answers jump to their source card; says Gradio's English button labels in Vietnamese.
PAGE_JS = """
() => {
  // Gradio's own buttons are labelled in English: their labels as a screen reader says them, in Vietnamese.
  const labels = { "Like": "Câu trả lời hữu ích", "Dislike": "Câu trả lời chưa đúng", "Copy": "Sao chép",
                   "Copy message": "Sao chép câu trả lời", "Scroll down": "Cuộn xuống", "Clear": "Xoá" };
  const translate = () => {
    document.querySelectorAll("[aria-label], [title]").forEach((node) => {
      ["aria-label", "title"].forEach((name) => {
        const value = node.getAttribute(name);
        if (value && labels[value]) node.setAttribute(name, labels[value]);
      });
    });
  };
  // The last question stays at the top of the chat while its answer streams in and renders, until the
  // reader scrolls; a question asked at the very end cannot be scrolled up before its answer is there.
  let asked = 0, pinned = null, readerScrolled = false;
  ["wheel", "touchmove"].forEach((type) => {
    document.addEventListener(type, () => { readerScrolled = true; }, { passive: true });
  });
  const pin = (row) => {
    const log = row.closest(".bubble-wrap");
    if (log) log.scrollTop += row.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  };
  window.hoidapShowLastQuestion = () => {
    const rows = document.querySelectorAll("#hd-chat .user-row");
    const last = rows[rows.length - 1];
    asked = rows.length;
    pinned = last || null;
    readerScrolled = false;
    if (!last) return;
    pin(last);
    const top = last.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 80) last.scrollIntoView({ block: "start" });
  };
  // The answer is done: its question is put at the top once more, then the chat is the reader's again.
  // The page may render the last update a moment after the event ends: the pin holds one second more.
  window.hoidapAnswered = () => {
    const done = pinned;
    if (done && done.isConnected && !readerScrolled) pin(done);
    setTimeout(() => { if (pinned === done) pinned = null; }, 1000);
  };
  new MutationObserver(() => {
    translate();
    if (document.querySelectorAll("#hd-chat .user-row").length !== asked) window.hoidapShowLastQuestion();
    else if (pinned && pinned.isConnected && !readerScrolled) pin(pinned);
  }).observe(document.body, { childList: true, subtree: true });
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest('a[href^="#nguon-"]') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return;
    const turn = card.closest(".hd-turn");
    document.querySelectorAll("#hd-sources .hd-turn").forEach((t) => { t.hidden = t !== turn; });
    card.scrollIntoView({ block: "start" });
    card.classList.add("hd-flash");
    setTimeout(() => card.classList.remove("hd-flash"), 1600);
  }, true);
}
"""
# After an answer: its question at the top once more (the answer may have changed the layout), then no more.
SHOW_ANSWER_START_JS = "() => { if (window.hoidapAnswered) window.hoidapAnswered(); }"
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
_QUOTED = re.compile(r"^> ")


def escape_markdown(text: str) -> str:
    """Text shown literally by a Markdown renderer: HTML special characters and Markdown punctuation escaped."""
    out = []
    for line in text.split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        line = _ORDERED.sub(r"\1\\\2", line)
        line = html.escape(line, quote=False)
        out.append(_HEADING_CHARS.sub(r"\1\\\2", line))
    return "\n".join(out)


def answer_markdown(text: str, quotes: bool = False) -> str:
    """The engine's answer (paragraphs and "- " bullets; with `quotes`, "> " lines: the passages of a
    `closest` answer) as safe Markdown: structure kept, words escaped."""
    out = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if quotes and _QUOTED.match(line):
            out.append(f"> {escape_markdown(line[2:])}")
        elif bullet:
            out.append(f"{bullet.group(1)}- {escape_markdown(line[bullet.end() :])}")
        else:
            out.append(escape_markdown(line))
    return "\n".join(out)


def document_href(doc: str, start: int, end: int) -> str:
    """Relative link to the whole document with the quote marked and scrolled to."""
    return "document?" + urlencode({"doc": doc, "start": start, "end": end}) + "#trich-dan"


def citation_groups(citations: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Citations grouped by document, in first-cited order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in citations:
        groups.setdefault(c["doc"], []).append(c)
    return list(groups.values())


def link_markers(markdown: str, turn: int) -> str:
    """The escaped "\\[n\\]" markers of an answer as links to that turn's source cards."""
    return re.sub(r"\\\[(\d+)\\\]", lambda m: f"[\\[{m.group(1)}\\]](#nguon-{turn}-{m.group(1)})", markdown)


def message_markdown(reply: Mapping[str, Any], turn: int = 0) -> str:
    """The chat message for an answer (the answer object's fields): the text, its [n] markers linked to the
    source cards of `turn`, then a short list of the documents it cites. An answer of outcome `closest`
    starts with CLOSEST_LABEL (the page's CSS gives its message an amber edge) and shows its passages as quotes."""
    closest = outcome_of(reply) == "closest"
    body = answer_markdown(reply["answer"], quotes=closest)
    if closest:
        body = f'<span class="hd-closest">{CLOSEST_LABEL}</span>\n\n{body}'
    if not reply["citations"]:
        return body
    lines = [link_markers(body, turn) if turn else body, "", "**Nguồn:**", ""]
    for group in citation_groups(reply["citations"]):
        c = group[0]
        marks = ", ".join(f"\\[{x['n']}\\]" for x in group)
        meta = " · ".join(x for x in (display_date(c["date"]), c["doc"]) if x)
        lines.append(f"- {marks} {escape_markdown(c['title'])} — {escape_markdown(meta)}")
    return "\n".join(lines)


def copy_text(reply: Mapping[str, Any]) -> str:
    """Plain text for the clipboard: the answer, then every source with its quote."""
    lines = [reply["answer"]]
    if reply["citations"]:
        lines += ["", "Nguồn:"]
        for c in reply["citations"]:
            date = f", {display_date(c['date'])}" if c["date"] else ""
            lines.append(f"[{c['n']}] {c['title']}{date} — {c['doc']}")
            lines.append(f"    “{c['quote']}”")
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


def sources_html(reply: Mapping[str, Any], documents: Mapping[str, Document], turn: int = 0) -> str:
    """One answer's sources: a card per document, its title said once, then each quote with its [n]
    and place, highlighted inside its surrounding text. Card ids are "nguon-{turn}-{n}"."""
    if reply["refused"] or not reply["citations"]:
        return '<p class="hd-empty">Không có nguồn: tài liệu không chứa câu trả lời.</p>'
    groups = []
    for group in citation_groups(reply["citations"]):
        first = group[0]
        meta = " · ".join(x for x in (display_date(first["date"]), first["doc"]) if x)
        quotes = []
        for c in group:
            document = documents.get(c["doc"])
            before, after = context_around(document.text, c["start"], c["end"]) if document else ("", "")
            where = place(c["page"], c["section"])
            quotes.append(
                f'<div class="hd-source" id="nguon-{turn}-{c["n"]}"><p class="hd-source-line">'
                f'<span class="hd-n">[{c["n"]}]</span><span class="hd-place">{html.escape(where)}</span></p>'
                f'<blockquote class="hd-quote">{html.escape(before)}<mark>{html.escape(c["quote"])}</mark>'
                f"{html.escape(after)}</blockquote>"
                f'<a class="hd-open" href="{html.escape(document_href(c["doc"], c["start"], c["end"]))}" '
                f'target="_blank" rel="noopener">Mở toàn văn</a></div>'
            )
        groups.append(
            f'<div class="hd-group" data-doc="{html.escape(first["doc"])}">'
            f'<div class="hd-group-head">{html.escape(first["title"])}</div>'
            f'<div class="hd-meta">{html.escape(meta)}</div>{"".join(quotes)}</div>'
        )
    return '<h3 class="hd-heading">Nguồn</h3>' + "\n".join(groups)


def sources_panel(turns: Sequence[tuple[int, str]]) -> str:
    """The sources panel: the last answers' sources, each in its own section, the newest shown."""
    if not turns:
        return SOURCES_EMPTY
    kept = turns[-SOURCE_TURNS_KEPT:]
    return "".join(
        f'<section class="hd-turn" data-turn="{turn}"{"" if i == len(kept) - 1 else " hidden"}>{body}</section>'
        for i, (turn, body) in enumerate(kept)
    )


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


@dataclass
class Turns:
    """What the page keeps of its conversation: for each answer (by its pair of messages, 1 = first) its
    turn number in the question log, and its sources section."""

    logged: dict[int, int] = field(default_factory=dict)
    sources: list[tuple[int, str]] = field(default_factory=list)


# textbox, chat history, topic, sources panel, copy text, conversation id, copy button, turns
Outputs = tuple[Any, list[Any], str, str, str, str, Any, Turns]


class Chat:
    """The chat page's event handlers, bound to one pipeline (None: no index loaded) or a LivePipeline.

    With a database, every answered turn is logged in the question log, in its conversation, and a
    page reloaded with its conversation id is shown that conversation again.
    """

    def __init__(self, pipeline: Pipeline | LivePipeline | None, db: Database | None = None) -> None:
        from rag.pipeline import LivePipeline

        self.live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline.fixed(pipeline, NO_INDEX)
        self.db = db

    def documents(self) -> str:
        """The "Tài liệu" panel for the index loaded now (refreshed on every page load)."""
        return documents_html(self.live.get())

    def log(self, conversation: str, reply: dict[str, Any]) -> tuple[str, int]:
        """Log an answered turn: the conversation id (a new one at the start) and the turn's number (0: no log)."""
        if self.db is None:
            return conversation, 0
        if conversation == NO_CONVERSATION or (conversation and self.db.last_question(conversation) is None):
            conversation = ""  # an id the store does not know (another server's, or a wiped store)
        return self.db.log_reply(conversation or None, reply)

    def banner(self) -> Any:
        """The notice above the chat for the index loaded now (refreshed on every page load)."""
        text = banner_text(self.live.get())
        return gr.Markdown(text or "", visible=text is not None)

    def respond(
        self,
        message: str,
        history: list[Any] | None,
        topic: str,
        conversation: str = "",
        turns: Turns | None = None,
    ) -> Iterator[Outputs]:
        """Stream one turn: the question and "Đang tìm…" at once, then the answer line by line, then sources.

        A question the engine cannot take (too long, no index) stays in the box with the reason below it.
        """
        history = list(history or [])
        turns = turns if turns is not None else Turns()
        question = (message or "").strip()
        copy_ready = gr.update(interactive=bool(turns.sources))
        if not question:
            yield gr.skip(), history, topic, gr.skip(), gr.skip(), conversation, gr.skip(), turns
            return
        history += [
            {"role": "user", "content": escape_markdown(question)},
            {"role": "assistant", "content": f"⏳ {SEARCHING}"},
        ]
        pair = len(history) // 2
        pipeline = self.live.get()
        problem = None
        if pipeline is None:
            problem = f"{NO_INDEX} ({escape_markdown(self.live.problem)})"
        elif len(question) > MAX_QUESTION_CHARS:
            problem = f"Câu hỏi dài {len(question)} ký tự; hãy rút gọn dưới {MAX_QUESTION_CHARS} ký tự rồi gửi lại."
        if problem is not None:
            history[-1] = {"role": "assistant", "content": problem}
            yield message, list(history), topic, gr.skip(), gr.skip(), conversation, copy_ready, turns
            return
        assert pipeline is not None
        yield "", list(history), topic, SOURCES_SEARCHING, gr.skip(), conversation, copy_ready, turns
        # The same reading as the API's: a follow-up is searched as a standalone question, shown above the answer.
        reading = read_question(question, topic or None)
        try:
            answer = pipeline.ask(reading.searched)
        except HoidapError as exc:
            history[-1] = {"role": "assistant", "content": f"Không trả lời được: {escape_markdown(str(exc))}"}
            panel = sources_panel(turns.sources)
            yield message, list(history), topic, panel, gr.skip(), conversation, copy_ready, turns
            return
        from rag.pipeline import answer_json

        understood = reading.searched if reading.follow_up else None
        reply = {**answer_json(answer), "question": question, "understood_as": understood}
        conversation, logged = self.log(conversation, reply)
        if logged:
            turns.logged[pair] = logged
        said = message_markdown(reply, pair).split("\n")
        lines = ([f"*{UNDERSTOOD} {escape_markdown(understood)}*", ""] if understood else []) + said
        for i in range(1, len(lines)):
            if lines[i - 1].strip():  # one update per non-empty line
                history[-1] = {"role": "assistant", "content": "\n".join(lines[:i])}
                yield "", list(history), reading.searched, SOURCES_SEARCHING, gr.skip(), conversation, gr.skip(), turns
                time.sleep(STREAM_DELAY_S)
        history[-1] = {"role": "assistant", "content": "\n".join(lines)}
        turns.sources.append((pair, sources_html(reply, pipeline.index.documents, pair)))
        del turns.sources[:-SOURCE_TURNS_KEPT]
        yield (
            "", list(history), reading.searched, sources_panel(turns.sources), copy_text(reply), conversation,
            gr.update(interactive=True), turns,
        )

    def restore(self, conversation: str | None) -> Outputs:
        """The page for a conversation id kept by the browser: its turns as they were answered, or empty."""
        turns = Turns()
        rows = self.db.conversation(conversation) if self.db is not None and conversation else []
        if not rows:
            # Nothing to show again: the page is left as it is (a question asked while this loaded stays).
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        pipeline = self.live.get()
        documents = pipeline.index.documents if pipeline is not None else {}
        history: list[Any] = []
        for number, row in enumerate(rows, start=1):
            pair = number
            reply = {
                "answer": row["answer"], "refused": row["refused"], "outcome": row["outcome"],
                "citations": row["citations"],
            }
            said = message_markdown(reply, pair)
            if row["understood_as"]:
                said = f"*{UNDERSTOOD} {escape_markdown(row['understood_as'])}*\n\n{said}"
            history += [
                {"role": "user", "content": escape_markdown(row["question"])},
                {"role": "assistant", "content": said},
            ]
            turns.logged[pair] = number
            turns.sources.append((pair, sources_html(reply, documents, pair)))
        del turns.sources[:-SOURCE_TURNS_KEPT]
        last = rows[-1]
        topic = last["understood_as"] or last["question"]
        reply = {"answer": last["answer"], "citations": last["citations"]}
        return (
            "", history, topic, sources_panel(turns.sources), copy_text(reply), conversation or "",
            gr.update(interactive=True), turns,
        )

    def rate(self, conversation: str, turns: Turns | None, liked: gr.LikeData) -> tuple[Any, Any, Any, Any]:
        """👍/👎 on an answer: stored at once; the comment box opens for an optional word more.

        Returns the rated (turn, rating), the comment row, the comment box and the thanks line."""
        pair = (liked.index if isinstance(liked.index, int) else liked.index[0]) // 2 + 1
        turn = (turns.logged if turns is not None else {}).get(pair)
        if self.db is None or not conversation or turn is None or liked.liked not in (True, False):
            return None, gr.update(visible=False), gr.skip(), gr.update(visible=False)
        rating = 1 if liked.liked else -1
        self.db.add_feedback(conversation, turn, rating, None)
        label = "Câu trả lời hữu ích. Góp ý thêm (không bắt buộc):" if rating == 1 else (
            "Câu trả lời chưa đúng hoặc chưa đủ? Góp ý thêm (không bắt buộc):"
        )
        return (turn, rating), gr.update(visible=True), gr.update(value="", label=label), gr.update(visible=False)

    def comment(self, conversation: str, rated: tuple[int, int] | None, text: str) -> tuple[Any, Any, Any]:
        """The comment on the last rated answer: stored with its rating; the row closes with thanks."""
        from ui.admin import MAX_COMMENT_CHARS

        if self.db is not None and conversation and rated is not None:
            self.db.add_feedback(conversation, rated[0], rated[1], (text or "").strip()[:MAX_COMMENT_CHARS] or None)
        return gr.update(visible=False), gr.update(value=""), gr.update(value=FEEDBACK_THANKS, visible=True)

    @staticmethod
    def clear() -> Outputs:
        """A new conversation: nothing asked, no sources, and an id no conversation has (the browser keeps
        only a non-empty value, so "" would leave the old id in place for the next reload)."""
        return "", [], "", SOURCES_EMPTY, "", NO_CONVERSATION, gr.update(interactive=False), Turns()


def fallback_notice(pipeline: Pipeline | None) -> str | None:
    """The full warning, for administrators, when the index was built with the English fallback model; else None."""
    if pipeline is None or not pipeline.index.fallback_model:
        return None
    return FALLBACK_NOTICE.format(model=pipeline.index.model)


def banner_text(pipeline: Pipeline | None) -> str | None:
    """The line above the chat: how to build an index, a short fallback-model line, or None."""
    if pipeline is None:
        return f"⚠️ {NO_INDEX}"
    return FALLBACK_LINE if pipeline.index.fallback_model else None


def build_app(
    pipeline: Pipeline | LivePipeline | None, settings: Settings, db: Database | None = None
) -> gr.Blocks:
    """The chat page as Gradio Blocks; mount it with THEME, page_css(settings) and PAGE_JS (see ui.server).

    Args:
        pipeline: the loaded pipeline, a LivePipeline that follows the index folder, or None
            to show how to build the index.
        settings: the settings the server runs with (title, examples).
        db: the store the question log, conversations and feedback go to (None: nothing is kept).
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
        turns = gr.State(Turns())
        rated = gr.State(None)
        # The conversation id stays in the browser (localStorage), so a reload shows the conversation again.
        conversation = gr.BrowserState("", storage_key="hoidap-conversation")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Hội thoại",
                    elem_id="hd-chat",
                    height=560,
                    autoscroll=False,  # PAGE_JS shows each new question at the top instead
                    latex_delimiters=[],
                    buttons=[],
                    sanitize_html=True,
                    placeholder="Câu trả lời kèm số [n]; bấm vào số để xem đoạn nguồn.",
                )
                with gr.Row(visible=False, elem_id="hd-feedback") as feedback_row:
                    feedback_text = gr.Textbox(
                        label="Góp ý thêm (không bắt buộc)", lines=2, max_lines=6, scale=5, elem_id="hd-comment"
                    )
                    feedback_send = gr.Button("Gửi góp ý", size="sm", scale=1, elem_id="hd-comment-send")
                thanks = gr.Markdown(FEEDBACK_THANKS, visible=False, elem_id="hd-feedback-thanks")
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
                    copy = gr.Button("Sao chép", size="sm", interactive=False, elem_id="hd-copy")
                    clear = gr.Button(NEW_CONVERSATION, size="sm", elem_id="hd-clear")
                examples_shown = example_questions(settings, chat.live.get())
                gr.Markdown("**Câu hỏi mẫu**", visible=bool(examples_shown))
                with gr.Row(elem_id="hd-examples"):
                    examples = [gr.Button(q, size="sm", elem_classes="hd-example") for q in examples_shown]
            with gr.Column(scale=2, min_width=320):
                sources = gr.HTML(SOURCES_EMPTY, elem_id="hd-sources")
                with gr.Accordion("Tài liệu", open=False, elem_id="hd-documents"):
                    documents = gr.HTML(chat.documents(), elem_id="hd-document-list")
        copied = gr.Textbox(visible="hidden", elem_id="hd-copy-text")

        outputs = [box, chatbot, topic, sources, copied, conversation, copy, turns]
        # One shared pool for every way of asking: questions from several users run side by side.
        ask_options: dict[str, Any] = {
            "outputs": outputs,
            "concurrency_id": "ask",
            "concurrency_limit": 8,
            "show_progress": "minimal",
        }
        asked = [
            box.submit(chat.respond, inputs=[box, chatbot, topic, conversation, turns], **ask_options),
            send.click(chat.respond, inputs=[box, chatbot, topic, conversation, turns], **ask_options),
            *(b.click(chat.respond, inputs=[b, chatbot, topic, conversation, turns], **ask_options) for b in examples),
        ]
        for event in asked:
            event.then(None, js=SHOW_ANSWER_START_JS)
        hide_feedback = [feedback_row, feedback_text, thanks]
        clear.click(chat.clear, outputs=outputs, queue=False).then(
            lambda: (gr.update(visible=False), "", gr.update(visible=False)), outputs=hide_feedback, queue=False
        )
        chatbot.clear(chat.clear, outputs=outputs, queue=False)  # the chat's own trash icon starts afresh too
        chatbot.like(chat.rate, inputs=[conversation, turns], outputs=[rated, feedback_row, feedback_text, thanks],
                     queue=False)
        feedback_send.click(chat.comment, inputs=[conversation, rated, feedback_text],
                            outputs=[feedback_row, feedback_text, thanks], queue=False)
        copy.click(None, inputs=[copied], js=COPY_JS)
        blocks.load(chat.restore, inputs=[conversation], outputs=outputs, queue=False)
        blocks.load(chat.banner, outputs=[banner], queue=False)
        blocks.load(chat.documents, outputs=[documents], queue=False)
    return blocks
