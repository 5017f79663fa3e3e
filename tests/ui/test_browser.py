"""The chat page, the widget and the embed script in a real browser (Debian's Chromium via Playwright).

Servers run on free ports of 127.0.0.1 and stop at the end of each test. Screenshots
are saved under each test's tmp_path.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browsing import (
    BOT,
    CONTRAST_JS,
    GOALS,
    QUESTION,
    TIMEOUT_MS,
    allowed_intranet,
    ask_in_chat,
    refused_intranet,
    wait_for_answer,
    watch,
)
from conftest import CORPUS, PACKAGED, ROOT

from rag.pipeline import Pipeline
from rag.settings import Settings

SCRIPT_TEXT = "<script>alert(1)</script>"
IMG_TEXT = "<img src=x onerror=alert(1)>"
INJECTION_DOC = """Hội nghị an toàn thông tin của Sở Thông tin và Truyền thông năm 2022 (08:00 10/05/2022)

HNP - Ngày 10/5, Sở Thông tin và Truyền thông tổ chức hội nghị về an toàn thông tin trong các cơ quan hành chính \
của thành phố, với sự tham dự của đại diện các sở, ngành và quận, huyện trên địa bàn.

Tại hội nghị, chuyên gia trình bày các mẫu mã độc nhúng trong tài liệu như <script>alert(1)</script> và thẻ ảnh \
giả mạo <img src=x onerror=alert(1)> để cảnh báo cán bộ về nguy cơ bị tấn công khi mở tài liệu từ nguồn không rõ ràng.

Hội nghị thống nhất yêu cầu các cơ quan rà soát hệ thống thông tin, cập nhật phần mềm thường xuyên và tổ chức tập \
huấn an toàn thông tin cho toàn bộ cán bộ, công chức trong năm 2022.
"""
INJECTION_QUESTION = "Chuyên gia trình bày các mẫu mã độc nhúng trong tài liệu nào tại hội nghị an toàn thông tin?"


def test_chat_page_answers_the_four_goals_with_sources(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    seen = watch(page, server.url)
    page.goto(server.url + "/")
    page.locator("#hd-question textarea").wait_for(timeout=TIMEOUT_MS)
    assert page.title() == "Hỏi đáp tài liệu"
    for label in ("Gửi", "Cuộc trò chuyện mới", "Sao chép", "Câu hỏi mẫu"):
        assert page.get_by_text(label, exact=True).first.is_visible()
    if pipeline.index.fallback_model:
        assert "mô hình dự phòng" in page.locator("#hd-fallback").inner_text()

    ask_in_chat(page, QUESTION)
    bot = page.locator(BOT).last
    answer = bot.inner_text()
    for goal in GOALS:
        assert goal in answer
    assert bot.locator("li").count() >= 4
    assert "Nguồn:" in answer and "[1]" in answer
    assert page.locator("#hd-chat [data-testid='user']").last.inner_text().strip() == QUESTION
    sources = page.locator("#hd-sources .hd-source")
    assert sources.count() == 5
    assert sources.nth(1).locator("mark").inner_text().startswith("Thứ nhất là:")
    assert "13/12/2020" in page.locator("#hd-sources .hd-group .hd-meta").first.inner_text()
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

    # Open the whole document at the second source: the quote is marked and scrolled into view.
    with page.expect_popup() as popup:
        sources.nth(1).locator("a.hd-open").click()
    document = popup.value
    document.wait_for_load_state()
    mark = document.locator("mark#trich-dan")
    assert mark.inner_text().startswith("Thứ nhất là:")
    document.wait_for_function(
        "() => { const r = document.querySelector('#trich-dan').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }",
        timeout=TIMEOUT_MS,
    )
    document.screenshot(path=str(tmp_path / "document.png"))
    document.close()

    page.locator("#hd-copy").click()
    page.wait_for_function("() => navigator.clipboard.readText().then(t => t.includes('Thứ tư'))", timeout=TIMEOUT_MS)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("Báo cáo của Thành ủy") and "Nguồn:" in copied and "“Thứ nhất là:" in copied

    page.locator("#hd-clear").click()
    page.wait_for_function("() => !document.querySelector('#hd-chat [data-testid=\"bot\"]')", timeout=TIMEOUT_MS)
    assert page.locator("#hd-sources .hd-source").count() == 0

    page.locator(".hd-example").first.click()  # an example question asks at once
    wait_for_answer(page, 0)
    assert page.locator("#hd-chat [data-testid='user']").last.inner_text().strip() == QUESTION

    assert seen["dialogs"] == []
    assert seen["outside"] == [], "the page must load nothing from outside the machine"
    context.close()


def test_widget_on_an_allowed_intranet_page(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    intranet, server, _ = allowed_intranet(site, static_server, live_server, pipeline, index_dir)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = watch(page, server.url)
    page.goto(f"{intranet.url}/intranet.html")
    bubble = page.locator("#hoidap-bubble")
    bubble.wait_for(timeout=TIMEOUT_MS)
    assert bubble.get_attribute("aria-expanded") == "false"
    assert not page.locator("#hoidap-panel").is_visible()
    bubble.click()
    panel = page.locator("#hoidap-panel")
    assert panel.is_visible()
    box = panel.bounding_box()
    assert box is not None and round(box["width"]) == 380 and round(box["height"]) == 600

    widget = page.frame_locator("#hoidap-panel iframe")
    widget.locator("html[data-ready]").wait_for(state="attached", timeout=TIMEOUT_MS)
    widget.locator("#hd-question").fill(QUESTION)
    widget.locator("#hd-question").press("Enter")
    source = widget.locator(".msg.bot .source").first
    source.wait_for(timeout=TIMEOUT_MS)
    answer = widget.locator(".msg.bot .answer").last.inner_text()
    for goal in GOALS:
        assert goal in answer
    assert widget.locator(".msg.bot .answer li").count() >= 4
    assert "Xác định rõ 4 mục tiêu" in source.inner_text()
    assert widget.locator(".msg.user").last.inner_text() == QUESTION
    assert widget.locator("#hd-title").inner_text() == "Hỏi đáp tài liệu"
    page.screenshot(path=str(tmp_path / "intranet-widget.png"))

    with page.expect_popup() as popup:
        source.locator("a.open").click()
    popup.value.wait_for_load_state()
    assert popup.value.locator("mark#trich-dan").inner_text()
    popup.value.close()

    widget.locator("#hd-close").click()  # the close button inside the iframe hides the panel
    page.wait_for_function("() => document.querySelector('#hoidap-bubble').getAttribute('aria-expanded') === 'false'")
    assert not panel.is_visible()

    assert seen["dialogs"] == []
    assert seen["outside"] == []
    page.close()


def test_widget_options_and_phone_width(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    intranet, _server, page_file = allowed_intranet(site, static_server, live_server, pipeline, index_dir)
    text = page_file.read_text(encoding="utf-8").replace(
        'data-title="Hỏi đáp tài liệu" data-position="right"',
        'data-title="Trợ lý văn bản" data-position="left" data-open="true"',
    )
    page_file.write_text(text, encoding="utf-8")

    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto(f"{intranet.url}/intranet.html")
    panel = page.locator("#hoidap-panel")
    panel.wait_for(state="visible", timeout=TIMEOUT_MS)  # data-open="true"
    box = panel.bounding_box()
    assert box is not None and round(box["width"]) == 375 and round(box["height"]) == 700  # full screen on a phone
    widget = page.frame_locator("#hoidap-panel iframe")
    widget.locator("html[data-ready]").wait_for(state="attached", timeout=TIMEOUT_MS)
    assert widget.locator("#hd-title").inner_text() == "Trợ lý văn bản"
    page.screenshot(path=str(tmp_path / "phone.png"))
    page.keyboard.press("Escape")
    bubble = page.locator("#hoidap-bubble")
    bubble.wait_for(state="visible", timeout=TIMEOUT_MS)
    bubble_box = bubble.bounding_box()
    assert bubble_box is not None and bubble_box["x"] < 100  # data-position="left"
    page.close()


def test_a_site_not_allowed_cannot_frame_the_widget(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    _allowed, other, server = refused_intranet(tmp_path, static_server, live_server, pipeline, index_dir)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = watch(page, server.url)
    page.goto(f"{other.url}/intranet.html")
    page.locator("#hoidap-bubble").click()
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.includes('/widget?'))", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(500)
    widget_frames = [f for f in page.frames if f.url.startswith(server.url)]
    assert widget_frames == [], "the widget must not load inside a page from an origin not allowed"
    assert any("frame-ancestors" in text for text in seen["console"]), seen["console"]
    assert page.frame_locator("#hoidap-panel iframe").locator("#hd-form").count() == 0
    page.screenshot(path=str(tmp_path / "refused.png"))
    page.close()


@pytest.fixture(scope="session")
def injection_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of a small corpus whose article text holds <script> and <img onerror> markup."""
    from rag.index import build_index

    root = tmp_path_factory.mktemp("injection")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "900_injection.txt").write_text(INJECTION_DOC, encoding="utf-8")
    shutil.copy(CORPUS / "000_cf24b04885448ff3.txt", corpus)
    index = root / "index"
    build_index(Settings(corpus_dir=corpus, index_dir=index, embedding_model=PACKAGED), log=lambda _m: None)
    return index


@pytest.fixture
def injection_pipeline(injection_index: Path) -> Pipeline:
    return Pipeline.open(Settings(index_dir=injection_index))


def test_markup_in_documents_shows_as_text(
    browser: Any, live_server: Callable[..., Any], injection_pipeline: Pipeline, tmp_path: Path
) -> None:
    server = live_server(injection_pipeline, Settings(index_dir=injection_pipeline.index.folder))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    seen = watch(page, server.url)

    page.goto(server.url + "/")
    page.locator("#hd-question textarea").wait_for(timeout=TIMEOUT_MS)
    # The question alone: markup added to it would change what is found (it is in the question bubble, as text).
    ask_in_chat(page, INJECTION_QUESTION)
    chat_text = page.locator(BOT).last.inner_text()
    sources_text = page.locator("#hd-sources").inner_text()
    for text in (chat_text, sources_text):
        assert SCRIPT_TEXT in text
        assert IMG_TEXT in text
    assert page.locator("#hd-chat script, #hd-sources script, #hd-chat img[src='x'], #hd-sources img").count() == 0
    page.screenshot(path=str(tmp_path / "injection-chat.png"), full_page=True)

    page.goto(server.url + "/widget")
    page.locator("html[data-ready]").wait_for(state="attached", timeout=TIMEOUT_MS)
    page.locator("#hd-question").fill(INJECTION_QUESTION)
    page.locator("#hd-send").click()
    page.locator(".msg.bot .source").first.wait_for(timeout=TIMEOUT_MS)
    widget_text = page.locator("#hd-log").inner_text()
    assert SCRIPT_TEXT in widget_text and IMG_TEXT in widget_text
    assert page.locator("#hd-log script, #hd-log img").count() == 0
    page.screenshot(path=str(tmp_path / "injection-widget.png"))

    with page.expect_popup() as popup:
        page.locator(".msg.bot .source a.open").first.click()
    popup.value.wait_for_load_state()
    assert SCRIPT_TEXT in popup.value.locator("mark#trich-dan").inner_text()
    popup.value.close()

    page.wait_for_timeout(300)  # give any injected handler the chance to fire
    assert seen["dialogs"] == []
    assert not [u for u in seen["requests"] if u.rstrip("/").endswith("/x")], "an <img src=x> was rendered"
    assert seen["outside"] == []
    page.close()


def test_examples_page_is_self_contained() -> None:
    text = (ROOT / "examples" / "intranet.html").read_text(encoding="utf-8")
    assert text.count("<script") == 1 and "/widget.js" in text and "defer" in text
    # Only the widget script points at another host; no fonts, images or scripts from the internet.
    assert "https://" not in text


ADMIN_TOKEN = "browser-admin-token-0123456789"
DOCX_QUESTION = "Sinh viên đăng ký tối thiểu bao nhiêu tín chỉ trong mỗi học kỳ chính?"


def test_admin_uploads_a_word_file_that_the_chat_then_answers_from_and_deletes_it(
    browser: Any, live_server: Callable[..., Any], index_dir: Path, tmp_path: Path
) -> None:
    from bench.documents import regulation, write_docx
    from rag.pipeline import LivePipeline

    shutil.copytree(CORPUS, tmp_path / "corpus")
    shutil.copytree(index_dir, tmp_path / "index")
    settings = Settings(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
    )
    server = live_server(LivePipeline(settings), settings)
    (tmp_path / "upload").mkdir()
    docx = write_docx(tmp_path / "upload" / "quy-che-dao-tao.docx", regulation(8))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    admin = context.new_page()
    confirmed: list[str] = []
    console: list[str] = []

    def accept(dialog: Any) -> None:  # the delete confirmation
        confirmed.append(dialog.message)
        dialog.accept()

    admin.on("dialog", accept)
    admin.on("console", lambda message: console.append(message.text))
    admin.goto(server.url + "/quan-tri")

    admin.locator("#token").fill("sai-ma-quan-tri-000000")
    admin.locator("#login-submit").click()
    admin.locator("#login-error").wait_for(timeout=TIMEOUT_MS)
    assert "không đúng" in admin.locator("#login-error").inner_text()
    admin.locator("#token").fill(ADMIN_TOKEN)
    admin.locator("#login-submit").click()
    admin.locator("#main").wait_for(timeout=TIMEOUT_MS)
    admin.locator('#doc-table tr[data-doc="000_cf24b04885448ff3.txt"]').wait_for(timeout=TIMEOUT_MS)
    admin.screenshot(path=str(tmp_path / "admin-before.png"), full_page=True)

    admin.locator("#file-input").set_input_files(str(docx))
    job = admin.locator("#jobs li.job[data-job]")
    job.wait_for(timeout=TIMEOUT_MS)
    assert job.locator("progress.job-progress").count() == 1
    admin.locator("#jobs li.job[data-state=done]").wait_for(timeout=TIMEOUT_MS * 3)
    progress = job.locator("progress.job-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max")
    row = admin.locator('#doc-table tr[data-doc="quy-che-dao-tao.docx"]')
    row.wait_for(timeout=TIMEOUT_MS)
    assert "Word" in row.inner_text() or "docx" in row.inner_text()
    admin.screenshot(path=str(tmp_path / "admin-after-upload.png"), full_page=True)

    chat = context.new_page()
    chat.goto(server.url + "/")
    chat.locator("#hd-question textarea").wait_for(timeout=TIMEOUT_MS)
    ask_in_chat(chat, DOCX_QUESTION)
    assert "14 tín chỉ" in chat.locator(BOT).last.inner_text()
    assert chat.locator("#hd-sources").inner_text().count("quy-che-dao-tao.docx") >= 1
    chat.locator("#hd-documents").get_by_text("Tài liệu", exact=True).click()
    listed = chat.locator('#hd-document-list tr[data-doc="quy-che-dao-tao.docx"]')
    listed.wait_for(timeout=TIMEOUT_MS)
    assert "Quy chế đào tạo" in listed.inner_text() and "Word" in listed.inner_text()
    chat.screenshot(path=str(tmp_path / "chat-documents.png"), full_page=True)

    row.get_by_role("button").click()
    admin.locator("#jobs li.job[data-state=done]").nth(1).wait_for(timeout=TIMEOUT_MS * 3)
    row.wait_for(state="detached", timeout=TIMEOUT_MS)

    chat.reload()
    chat.locator(BOT).first.wait_for(timeout=TIMEOUT_MS)  # the conversation is shown again after the reload
    chat.locator("#hd-clear").click()  # "Cuộc trò chuyện mới"
    chat.wait_for_function(f"() => !document.querySelector(\"{BOT}\")", timeout=TIMEOUT_MS)
    ask_in_chat(chat, DOCX_QUESTION)
    assert "14 tín chỉ" not in chat.locator(BOT).last.inner_text()
    assert "quy-che-dao-tao.docx" not in chat.locator("#hd-sources").inner_text()
    assert chat.locator('#hd-document-list tr[data-doc="quy-che-dao-tao.docx"]').count() == 0
    # What the chat could not answer shows on the admin page, the same question in two wordings as one group.
    for question in ("Giá vé tàu điện Cát Linh – Hà Đông là bao nhiêu?", "Giá vé tàu Cát Linh Hà Đông bao nhiêu tiền?"):
        ask_in_chat(chat, question)
    admin.locator("#tab-questions").click()
    admin.locator("#questions-table tbody tr").first.wait_for(timeout=TIMEOUT_MS)
    assert "Giá vé tàu Cát Linh Hà Đông bao nhiêu tiền?" in admin.locator("#questions-table").inner_text()
    admin.locator("#tab-unanswered").click()
    group = admin.locator("#unanswered li.group").first
    group.wait_for(timeout=TIMEOUT_MS)
    assert group.locator(".badge").inner_text() == "2" and "Cát Linh" in group.inner_text()
    admin.screenshot(path=str(tmp_path / "admin-unanswered.png"), full_page=True)
    assert confirmed == ["Xoá “quy-che-dao-tao.docx” khỏi bộ tài liệu và chỉ mục?"]
    assert not [m for m in console if "Content Security Policy" in m]


def test_the_widget_reads_a_follow_up_in_its_conversation_and_keeps_it_over_a_reload(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    page = browser.new_context(viewport={"width": 420, "height": 800}).new_page()
    page.goto(server.url + "/widget")
    page.locator("html[data-ready]").wait_for(state="attached", timeout=TIMEOUT_MS)

    def ask(question: str, answers: int) -> None:
        page.locator("#hd-question").fill(question)
        page.locator("#hd-question").press("Enter")
        page.locator(".msg.bot:not(.searching) .answer").nth(answers - 1).wait_for(timeout=TIMEOUT_MS)

    ask(QUESTION, 1)
    assert page.locator(".msg.bot .understood").count() == 0
    ask("Còn mục tiêu thứ ba là gì?", 2)
    understood = page.locator(".msg.bot .understood")
    assert understood.count() == 1
    assert understood.inner_text() == (
        "Hiểu câu hỏi là: Mục tiêu thứ ba là gì (Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021)?"
    )
    page.screenshot(path=str(tmp_path / "widget-follow-up.png"))

    page.reload()
    page.locator(".msg.bot .answer").nth(1).wait_for(timeout=TIMEOUT_MS)  # both turns come back
    assert page.locator(".msg.user").all_inner_texts() == [QUESTION, "Còn mục tiêu thứ ba là gì?"]
    assert page.locator(".msg.bot .understood").count() == 1

    page.locator("#hd-new").click()
    assert page.locator(".msg").count() == 0
    ask("Còn mục tiêu thứ ba là gì?", 1)  # a new conversation: nothing to lean on
    assert page.locator(".msg.bot .understood").count() == 0




@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_admin_page_tells_only_related_passages_from_nothing_found(
    browser: Any, live_server: Callable[..., Any], tmp_path: Path, scheme: str
) -> None:
    from rag.database import Database

    data = tmp_path / "data"
    db = Database.in_folder(data)
    cited = [{"doc": "000_cf24b04885448ff3.txt", "n": 1}]
    for i, (question, outcome) in enumerate([
        ("Báo cáo xác định 4 mục tiêu năm 2021 là gì?", "answer"),
        ("Mục tiêu năm 2022 của Thành ủy là gì?", "closest"),
        ("Thành ủy đặt mục tiêu gì cho năm 2022?", "closest"),
        ("Giá vé tàu điện Cát Linh – Hà Đông là bao nhiêu?", "none"),
        ("Lịch tiêm vắc xin cho trẻ em tháng 12?", "none"),
    ]):
        reply = {"refused": outcome == "none", "outcome": outcome, "answer": "…",
                 "citations": [] if outcome == "none" else cited}
        db.log_question(f"c{i}", question, None, reply, 5.0)
    server = live_server(None, Settings(data_dir=data, admin_token=ADMIN_TOKEN))
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme).new_page()
    admin.goto(server.url + "/quan-tri#cau-hoi")
    admin.locator("#token").fill(ADMIN_TOKEN)
    admin.locator("#login-submit").click()
    rows = admin.locator("#questions-table tbody tr")
    rows.nth(4).wait_for(timeout=TIMEOUT_MS)
    tags = {o: admin.locator(f"#questions-table .tag[data-outcome={o}]") for o in ("answer", "closest", "none")}
    assert [tags[o].count() for o in tags] == [1, 2, 2]
    assert tags["answer"].first.inner_text() == "Đã trả lời"
    assert tags["closest"].first.inner_text() == "Chỉ có đoạn liên quan"
    assert tags["none"].first.inner_text() == "Không có trong tài liệu"
    measured = {o: round(tags[o].first.evaluate(CONTRAST_JS), 2) for o in tags}
    admin.locator("#q-outcome").select_option("closest")
    admin.locator("#q-filter button[type=submit]").click()
    admin.wait_for_function("() => document.querySelectorAll('#questions-table tbody tr').length === 2",
                            timeout=TIMEOUT_MS)
    assert tags["closest"].count() == 2 and tags["none"].count() == 0
    assert "Tổng: 2 câu hỏi" in admin.locator("#q-total").inner_text()

    admin.locator("#tab-unanswered").click()
    groups = admin.locator("#unanswered li.group")
    groups.nth(2).wait_for(timeout=TIMEOUT_MS)
    assert admin.locator("#u-counts").inner_text() == "Chỉ có đoạn liên quan: 2 · Không có trong tài liệu: 2"
    related = admin.locator("#unanswered li.group[data-outcome=closest]")
    assert groups.count() == 3 and related.count() == 1  # the two wordings of 2022's goals are one group
    assert related.locator(".badge").inner_text() == "2"
    assert related.locator(".tag").inner_text() == "Chỉ có đoạn liên quan"
    nothing = admin.locator("#unanswered li.group[data-outcome=none]")
    assert nothing.count() == 2 and nothing.locator(".tag").all_inner_texts() == ["Không có trong tài liệu"] * 2
    measured["group"] = round(related.locator(".tag").evaluate(CONTRAST_JS), 2)
    measured["counts"] = round(admin.locator("#u-counts .count").first.evaluate(CONTRAST_JS), 2)
    admin.locator("#u-outcome").select_option("none")
    admin.locator("#u-filter button[type=submit]").click()
    admin.wait_for_function("() => !document.querySelector('#unanswered li.group[data-outcome=closest]')",
                            timeout=TIMEOUT_MS)
    assert groups.count() == 2
    admin.screenshot(path=str(tmp_path / f"admin-outcomes-{scheme}.png"), full_page=True)
    print(scheme, measured)
    assert all(ratio >= 4.5 for ratio in measured.values()), measured
