"""The chat page's logic, driven without a server: build_app, the streaming handler, escaping, follow-ups."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from conftest import CORPUS

from rag.pipeline import LivePipeline, Pipeline, answer_json
from rag.settings import Settings
from ui.app import (
    EXAMPLES,
    FALLBACK_LINE,
    NEW_CONVERSATION,
    NO_INDEX,
    SEARCHING,
    Chat,
    answer_markdown,
    build_app,
    context_around,
    copy_text,
    escape_markdown,
    fallback_notice,
    sources_html,
)

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"


def test_build_app_gives_blocks_with_vietnamese_controls(pipeline: Pipeline, index_dir: Path) -> None:
    blocks = build_app(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    assert isinstance(blocks, gr.Blocks)
    config = str(blocks.get_config_file())
    for text in ("Hỏi đáp tài liệu", "Đặt câu hỏi…", "Gửi", NEW_CONVERSATION, "Câu hỏi mẫu", "Sao chép"):
        assert text in config


def test_build_app_without_an_index_says_how_to_build_one() -> None:
    blocks = build_app(None, Settings())
    assert "hoidap index" in str(blocks.get_config_file())
    turns = list(Chat(None).respond(QUESTION, [], ""))
    assert "hoidap index" in turns[-1][1][-1]["content"]


def test_the_page_follows_an_index_that_appears(index_dir: Path, tmp_path: Path) -> None:
    live = LivePipeline(Settings(corpus_dir=CORPUS, index_dir=tmp_path / "ix"), interval_s=0)
    chat = Chat(live)
    assert NO_INDEX in chat.banner().value
    assert "hoidap index" in list(chat.respond(QUESTION, [], ""))[-1][1][-1]["content"]
    shutil.copytree(index_dir, tmp_path / "ix")
    assert NO_INDEX not in chat.banner().value  # what the page shows when next loaded
    assert "Thứ nhất" in list(chat.respond(QUESTION, [], ""))[-1][1][-1]["content"]


def test_respond_streams_searching_then_the_answer_and_its_sources(pipeline: Pipeline) -> None:
    turns = list(Chat(pipeline).respond(QUESTION, [], ""))
    box, history, topic, sources, copied, _conversation, copy, _turns = turns[0]
    assert box == ""
    assert copy["interactive"] is False  # nothing to copy yet
    assert history[0] == {"role": "user", "content": escape_markdown(QUESTION)}
    assert SEARCHING in history[1]["content"]
    assert SEARCHING in sources
    assert len(turns) > 3  # the answer builds up line by line
    lengths = [len(t[1][-1]["content"]) for t in turns[1:]]
    assert lengths == sorted(lengths)

    box, history, topic, sources, copied, _conversation, copy, _turns = turns[-1]
    answer = history[-1]["content"]
    for marker in ("Thứ nhất", "Thứ hai", "Thứ ba", "Thứ tư", "**Nguồn:**", "[\\[1\\]](#nguon-1-1)"):
        assert marker in answer
    assert copy["interactive"] is True
    assert topic == QUESTION
    assert sources.count('class="hd-source"') == 5
    assert sources.count('class="hd-group"') == 1  # one document: its title said once
    assert 'id="nguon-1-5"' in sources
    assert "<mark>Thứ nhất là:" in sources
    assert "Mở toàn văn" in sources and "document?doc=000_cf24b04885448ff3.txt" in sources
    assert copied.startswith("Báo cáo của Thành ủy") and "Nguồn:" in copied and "“Thứ tư là:" in copied


def test_respond_ignores_an_empty_question(pipeline: Pipeline) -> None:
    turns = list(Chat(pipeline).respond("   ", [], ""))
    assert len(turns) == 1
    assert turns[0][1] == []


def test_respond_says_when_a_question_is_too_long_and_keeps_it_in_the_box(pipeline: Pipeline) -> None:
    long = "dài " * 600
    turns = list(Chat(pipeline).respond(long, [], ""))
    assert "rút gọn" in turns[-1][1][-1]["content"]
    assert all(t[0] == long for t in turns)  # left in the box, to be shortened


def test_follow_up_questions_carry_the_previous_topic(pipeline: Pipeline) -> None:
    chat = Chat(pipeline)
    first = list(chat.respond(QUESTION, [], ""))[-1]
    follow = list(chat.respond("Còn mục tiêu thứ ba là gì?", first[1], first[2]))[-1]
    history = follow[1]
    assert history[2] == {"role": "user", "content": "Còn mục tiêu thứ ba là gì?"}  # shown as typed
    understood = "Mục tiêu thứ ba là gì (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"
    assert follow[2] == understood  # the next turn reads from the standalone question
    assert history[-1]["content"].startswith(f"*Hiểu câu hỏi là: {escape_markdown(understood)}*")
    assert "Thứ ba" in history[-1]["content"]
    other = list(chat.respond("Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?", follow[1], follow[2]))[-1]
    assert other[2] == "Nghị quyết số 15-NQ/TU của Thành ủy Hà Nội về gì?"  # stands on its own: no context
    assert "Hiểu câu hỏi là" not in other[1][-1]["content"]


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[bấm](javascript:alert(1))",
        "![ảnh](http://example.com/x.png)",
        "**đậm** _nghiêng_ `mã`",
        "# tiêu đề",
        "> trích",
        "1. mục",
        "&lt;b&gt;",
    ],
)
def test_escape_markdown_leaves_no_markup(markup: str) -> None:
    escaped = escape_markdown(markup)
    assert "<" not in escaped and ">" not in escaped
    assert "](" not in escaped and "**" not in escaped
    for line in escaped.split("\n"):
        assert not line.startswith(("#", ">", "1.", "-", "!"))


def test_answer_markdown_keeps_bullets_and_escapes_their_text() -> None:
    md = answer_markdown("Mở đầu <b>x</b> [1]\n\n- Thứ nhất là: <script>alert(1)</script> [2]\n- Thứ hai [3]")
    lines = md.split("\n")
    assert lines[0] == "Mở đầu &lt;b&gt;x&lt;/b&gt; \\[1\\]"
    assert lines[2] == "- Thứ nhất là: &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\[2\\]"
    assert lines[3].startswith("- Thứ hai")


def test_sources_html_escapes_document_text(pipeline: Pipeline) -> None:
    from rag.records import Answer, Citation, Document

    text = "Đoạn trước. Câu có <script>alert(1)</script> và <img src=x onerror=alert(1)>. Đoạn sau."
    start = text.index("Câu")
    end = text.index(" Đoạn sau")
    doc = Document("x.txt", text, "<i>Tiêu đề</i>", "2021-01-15", None, ((0, len(text)),), "0")
    answer = Answer(
        question="q",
        text=text[start:end] + " [1]",
        refused=False,
        citations=(Citation(1, "x.txt", doc.title, doc.date, start, end, text[start:end]),),
        passages=(),
        model="m",
    )
    out = sources_html(answer_json(answer), {"x.txt": doc})
    assert "<script" not in out and "<img" not in out and "<i>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "15/01/2021 · x.txt" in out
    assert "<mark>Câu có &lt;script&gt;" in out
    assert "Đoạn trước. " in out and "Đoạn sau." in out
    assert "<script>" in copy_text(answer_json(answer))  # the clipboard gets plain text, not HTML


def test_context_around_stays_in_the_paragraph() -> None:
    text = "Tiêu đề\n\nCâu một. Câu hai được trích. Câu ba.\n\nĐoạn khác."
    start = text.index("Câu hai")
    end = text.index(" Câu ba")
    before, after = context_around(text, start, end)
    assert before == "Câu một. "
    assert after == " Câu ba."
    before, after = context_around(text, start, end, width=5)
    assert before.startswith("…") and after.endswith("…")


def test_fallback_notice_tells_how_to_set_a_multilingual_model(pipeline: Any) -> None:
    notice = fallback_notice(pipeline)
    if pipeline.index.fallback_model:
        assert notice is not None
        assert "HOIDAP_EMBEDDING_MODEL" in notice and "hoidap index" in notice
        page = str(build_app(pipeline, Settings()).get_config_file())
        assert FALLBACK_LINE in page and "HOIDAP_EMBEDDING_MODEL" not in page  # users get one short line
    else:
        assert notice is None
    assert fallback_notice(None) is None


def test_example_questions_come_from_the_admin_file_or_only_for_documents_held(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    from ui.app import example_questions

    settings = Settings(data_dir=tmp_path)
    assert example_questions(settings, pipeline) == [q for q, _doc in EXAMPLES]  # the bundled corpus
    assert example_questions(settings, None) == []  # no index: no question written for other documents
    (tmp_path / "examples.txt").write_text("# ví dụ của Sở\nHọc phí năm 2025 là bao nhiêu?\n\n", "utf-8")
    assert example_questions(settings, pipeline) == ["Học phí năm 2025 là bao nhiêu?"]


def test_brand_colours_are_made_readable_in_light_and_dark() -> None:
    from ui.app import DARK_BACKGROUND, LIGHT_BACKGROUND, contrast, page_css, readable, text_on

    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert text_on("#1d4ed8") == "#ffffff" and text_on("#fde047") == "#111827"
    assert readable("#1d4ed8", LIGHT_BACKGROUND) == "#1d4ed8"  # already readable: left alone
    dark = readable("#1d4ed8", DARK_BACKGROUND)
    assert dark != "#1d4ed8" and contrast(dark, DARK_BACKGROUND) >= 4.5
    assert contrast(readable("#fde047", LIGHT_BACKGROUND), LIGHT_BACKGROUND) >= 4.5
    css = page_css(Settings(brand_color="#7a1f1f"))
    assert "--button-primary-background-fill: #7a1f1f" in css and "orange" not in css


def test_a_conversation_is_restored_and_rated_from_the_store(pipeline: Pipeline, tmp_path: Path) -> None:
    from rag.database import Database, QuestionFilter
    from ui.app import NO_CONVERSATION

    db = Database.in_folder(tmp_path)
    chat = Chat(pipeline, db)
    first = list(chat.respond(QUESTION, [], "", ""))[-1]
    conversation, turns = first[5], first[7]
    second = list(chat.respond("Còn mục tiêu thứ ba là gì?", first[1], first[2], conversation, turns))[-1]
    assert second[5] == conversation and turns.logged == {1: 1, 2: 2}

    _box, history, topic, sources, _copied, restored, copy, kept = Chat(pipeline, db).restore(conversation)
    assert history == second[1]  # the same messages as when they were answered
    assert topic == second[2] and restored == conversation and copy["interactive"] is True
    assert 'data-turn="2"' in sources and sources.count(" hidden>") == 1  # turn 1's sources kept, hidden
    # Nothing to show again: the page is left alone, so a question asked while the page loaded stays.
    assert all(x == gr.skip() for x in Chat(pipeline, db).restore(NO_CONVERSATION))
    assert all(x == gr.skip() for x in Chat(pipeline, db).restore("unknown"))

    disliked = gr.LikeData(None, {"index": 3, "value": "", "liked": False})  # message 3: the second answer
    rated, row, _box, _thanks = chat.rate(conversation, kept, disliked)
    assert rated == (2, -1) and row["visible"] is True
    chat.comment(conversation, rated, "  Thiếu ngày ban hành  ")
    _total, rows = db.questions(QuestionFilter(rating=-1))
    assert [(r["turn"], r["comment"]) for r in rows] == [(2, "Thiếu ngày ban hành")]


def test_a_new_conversation_starts_afresh_after_the_old_one(pipeline: Pipeline, tmp_path: Path) -> None:
    from rag.database import Database
    from ui.app import NO_CONVERSATION

    db = Database.in_folder(tmp_path)
    chat = Chat(pipeline, db)
    old = list(chat.respond(QUESTION, [], "", ""))[-1][5]
    cleared = Chat.clear()
    assert cleared[5] == NO_CONVERSATION and cleared[1] == []
    new = list(chat.respond("Còn mục tiêu thứ ba là gì?", [], cleared[2], cleared[5], cleared[7]))[-1]
    assert new[5] not in (old, NO_CONVERSATION)
    assert "Hiểu câu hỏi là" not in new[1][-1]["content"]  # nothing to follow in a new conversation


def test_a_closest_answer_is_labelled_quotes_its_passages_and_is_restored_so(
    pipeline: Pipeline, closest_question: str, answered_question: str, tmp_path: Path
) -> None:
    from rag.database import Database
    from ui.app import CLOSEST_LABEL

    db = Database.in_folder(tmp_path)
    chat = Chat(pipeline, db)
    last = list(chat.respond(closest_question, [], "", ""))[-1]
    _box, history, _topic, sources, copied, conversation, _copy, _turns = last
    reply = db.conversation(conversation)[0]
    assert reply["outcome"] == "closest" and reply["citations"]
    lines = history[-1]["content"].split("\n")
    assert lines[0] == f'<span class="hd-closest">{CLOSEST_LABEL}</span>'
    quotes = [line for line in lines if line.startswith("> ")]
    assert len(quotes) == len(reply["citations"])
    for quote, c in zip(quotes, reply["citations"]):
        assert quote.endswith(f"[\\[{c['n']}\\]](#nguon-1-{c['n']})")  # the marker opens its source card
        assert f'id="nguon-1-{c["n"]}"' in sources
    assert sources.count('class="hd-source"') == len(reply["citations"])
    assert copied.startswith("Tài liệu không nêu trực tiếp") and "Nguồn:" in copied

    restored = Chat(pipeline, db).restore(conversation)
    assert restored[1] == history and restored[3] == sources  # after a reload it looks the same

    confident = list(chat.respond(answered_question, history, "", conversation))[-1][1][-1]["content"]
    assert CLOSEST_LABEL not in confident and "\n> " not in confident


def test_message_markdown_quotes_only_a_closest_answer_and_escapes_its_quotes() -> None:
    from rag.answer import CLOSEST, REFUSAL
    from ui.app import CLOSEST_LABEL, message_markdown

    cited = [{"n": 1, "doc": "a.txt", "title": "A", "date": None, "start": 0, "end": 9, "quote": "x",
              "page": None, "section": None}]
    closest = message_markdown(
        {"answer": f"{CLOSEST}\n\n> Câu có <script>alert(1)</script> [1]", "outcome": "closest", "refused": False,
         "citations": cited},
        3,
    )
    assert f'<span class="hd-closest">{CLOSEST_LABEL}</span>' in closest
    assert "> Câu có &lt;script&gt;alert\\(1\\)&lt;/script&gt; [\\[1\\]](#nguon-3-1)" in closest
    assert "<script" not in closest
    # In a confident answer a sentence that starts with ">" is text, not a quote; a refusal is its sentence alone.
    answer = message_markdown({"answer": "> 5 tỷ đồng [1]", "outcome": "answer", "refused": False,
                               "citations": cited}, 3)
    assert answer.startswith("&gt; 5 tỷ đồng") and "\n> " not in answer and CLOSEST_LABEL not in answer
    assert message_markdown({"answer": REFUSAL, "refused": True, "citations": []}) == escape_markdown(REFUSAL)


def test_the_closest_label_keeps_its_contrast_in_light_and_dark() -> None:
    from ui.app import CLOSEST_DARK, CLOSEST_EDGE, CLOSEST_LIGHT, DARK_BACKGROUND, LIGHT_BACKGROUND, contrast, page_css

    for text, background in (CLOSEST_LIGHT, CLOSEST_DARK):
        assert contrast(text, background) >= 4.5
    # The amber edge tells the message apart (WCAG 1.4.11: 3:1 for a part of the interface), on either page.
    assert contrast(CLOSEST_EDGE[0], LIGHT_BACKGROUND) >= 3 and contrast(CLOSEST_EDGE[1], DARK_BACKGROUND) >= 3
    css = page_css(Settings())
    assert f"--hd-closest-text: {CLOSEST_LIGHT[0]}" in css and f"--hd-closest-text: {CLOSEST_DARK[0]}" in css
