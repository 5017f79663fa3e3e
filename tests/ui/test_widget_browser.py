"""The widget (/widget in its iframe, and the widget.js loader on an intranet page) in a real browser.

Debian's Chromium via Playwright, servers on free ports of 127.0.0.1 (fixtures of tests/ui/conftest.py),
screenshots saved under each test's tmp_path and their paths printed (pytest -s shows them).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browsing import QUESTION, TIMEOUT_MS, allowed_intranet, intranet_copy, refused_intranet, watch
from conftest import CORPUS

from rag.pipeline import Pipeline
from rag.settings import Settings
from ui.app import contrast, text_on

TOKEN = "widget-browser-admin-token-0123456789"
FOLLOW_UP = "Còn mục tiêu thứ ba là gì?"
COMMENT = "Thiếu mục tiêu thứ tư trong câu trả lời"
LONG_QUESTION = ("Báo cáo của Thành ủy xác định những mục tiêu nào cho năm 2021 và giải pháp thực hiện ra sao? " * 30)[
    :2300
]
# The WCAG AA minimum for normal text.
AA = 4.5


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    """Save a screenshot of the page (frames included) under tmp_path and print where."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def open_widget(browser: Any, url: str, **options: Any) -> tuple[Any, Any]:
    """A new context and page showing /widget with its settings read (examples, limits, colour)."""
    context = browser.new_context(viewport=options.pop("viewport", {"width": 400, "height": 700}), **options)
    page = context.new_page()
    page.goto(url + "/widget")
    page.locator("html[data-config]").wait_for(state="attached", timeout=TIMEOUT_MS)
    return context, page


def ask(where: Any, question: str, answers: int) -> None:
    """Ask in the widget (a page or a frame locator) and wait for its `answers`-th answer."""
    where.locator("#hd-question").fill(question)
    where.locator("#hd-question").press("Enter")
    where.locator(".msg.bot:not(.searching) .answer").nth(answers - 1).wait_for(timeout=TIMEOUT_MS)


def get_json(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def widget_frame(page: Any, server_url: str) -> Any:
    """The widget's frame inside an intranet page, once it has loaded."""
    page.frame_locator("#hoidap-panel iframe").locator("html[data-ready]").wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    return next(f for f in page.frames if f.url.startswith(server_url + "/widget"))


def rgb(css: str) -> str:
    """'rgb(29, 78, 216)' as '#1d4ed8', as ui.app's colour functions take it."""
    inside = css[css.index("(") + 1 : css.index(")")].replace(",", " ").split()
    return "#" + "".join(f"{int(x):02x}" for x in inside[:3])


# ---------------------------------------------------------------- feedback


def test_feedback_from_the_widget_is_stored_with_its_turn(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=index_dir, data_dir=tmp_path / "data", admin_token=TOKEN)
    server = live_server(pipeline, settings)
    context, page = open_widget(browser, server.url)
    seen = watch(page, server.url)

    ask(page, QUESTION, 1)
    page.reload()  # the first turn comes back from the server: the next answer is turn 2
    page.locator(".msg.bot .answer").first.wait_for(timeout=TIMEOUT_MS)
    ask(page, FOLLOW_UP, 2)
    second = page.locator(".msg.bot").nth(1)
    assert second.get_by_role("button", name="Câu trả lời hữu ích").count() == 1
    down = second.get_by_role("button", name="Câu trả lời chưa đúng")
    down.click()
    assert down.get_attribute("aria-pressed") == "true"
    box = second.locator(".feedback textarea")
    box.wait_for(timeout=TIMEOUT_MS)
    box.fill(COMMENT)
    second.get_by_role("button", name="Gửi góp ý").click()
    thanks = second.locator(".thanks")
    thanks.wait_for(timeout=TIMEOUT_MS)
    assert thanks.inner_text() == "Cảm ơn góp ý của bạn."
    page.locator(".msg.bot").first.get_by_role("button", name="Câu trả lời hữu ích").click()
    page.locator(".msg.bot").first.locator(".feedback textarea").wait_for(timeout=TIMEOUT_MS)
    shot(page, tmp_path, "widget-feedback.png")

    def rated(rating: int) -> list[tuple[str, int, str | None]]:
        rows = get_json(f"{server.url}/api/questions?rating={rating}", TOKEN)["questions"]
        return [(r["question"], r["turn"], r["comment"]) for r in rows]

    assert rated(-1) == [(FOLLOW_UP, 2, COMMENT)]
    liked: list[tuple[str, int, str | None]] = []
    for _ in range(100):  # the 👍 is sent at the click, before any comment: wait for it to land
        liked = rated(1)
        if liked:
            break
        page.wait_for_timeout(100)
    assert liked == [(QUESTION, 1, None)]
    assert seen["dialogs"] == [] and seen["outside"] == []
    context.close()


# ---------------------------------------------------------------- Esc, focus


def test_escape_inside_the_widget_closes_it_and_gives_the_focus_back(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    intranet, server, _ = allowed_intranet(tmp_path / "site", static_server, live_server, pipeline, index_dir)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{intranet.url}/intranet.html")
    bubble = page.locator("#hoidap-bubble")
    bubble.click()
    frame = widget_frame(page, server.url)
    # Opening puts the keyboard in the question box, inside the frame.
    frame.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'hd-question'", timeout=TIMEOUT_MS
    )
    page.keyboard.type("Esc")
    assert frame.locator("#hd-question").input_value() == "Esc"
    shot(page, tmp_path, "widget-open-focused.png")

    page.keyboard.press("Escape")  # pressed inside the iframe
    page.wait_for_function(
        "() => document.querySelector('#hoidap-bubble').getAttribute('aria-expanded') === 'false'", timeout=TIMEOUT_MS
    )
    assert not page.locator("#hoidap-panel").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "hoidap-bubble"

    # A click elsewhere inside the widget (not the question box): Esc still closes.
    bubble.click()
    frame.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'hd-question'", timeout=TIMEOUT_MS
    )
    frame.locator("#hd-new").focus()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector('#hoidap-bubble').getAttribute('aria-expanded') === 'false'", timeout=TIMEOUT_MS
    )
    assert page.evaluate("() => document.activeElement.id") == "hoidap-bubble"
    shot(page, tmp_path, "widget-closed-by-escape.png")
    page.close()


# ---------------------------------------------------------------- examples, clear, copy


def test_examples_clear_button_and_copy_disabled_until_an_answer(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    config = get_json(server.url + "/widget/config")
    assert config["examples"], "the bundled corpus has example questions"
    context, page = open_widget(browser, server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    seen = watch(page, server.url)
    assert page.locator("html").get_attribute("lang") == "vi"

    examples = page.locator(".example")
    assert examples.all_inner_texts() == config["examples"]
    copy = page.locator("#hd-copy")
    assert copy.inner_text() == "Sao chép" and copy.is_disabled()
    shot(page, tmp_path, "widget-empty-examples.png")

    clear = page.get_by_role("button", name="Xoá câu hỏi")
    assert not clear.is_visible()  # nothing to clear yet
    page.locator("#hd-question").fill("Một câu hỏi gõ nhầm")
    assert clear.is_visible() and page.locator("#hd-clear").count() == 1
    clear.click()
    assert page.locator("#hd-question").input_value() == ""
    assert page.locator(".msg").count() == 0

    examples.first.click()  # an example asks at once
    page.locator(".msg.bot:not(.searching) .answer").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".msg.user").all_inner_texts() == [config["examples"][0]]
    assert page.locator(".example").count() == 0  # the conversation is no longer empty
    assert page.locator("#hd-question").input_value() == ""  # cleared after the answer
    assert copy.is_enabled()
    copy.click()
    page.wait_for_function("() => navigator.clipboard.readText().then(t => t.includes('Nguồn:'))", timeout=TIMEOUT_MS)
    shot(page, tmp_path, "widget-example-answered.png")

    page.locator("#hd-new").click()  # a new conversation: empty again, examples back, nothing to copy
    assert page.locator(".msg").count() == 0
    assert page.locator(".example").count() == len(config["examples"])
    assert copy.is_disabled()
    assert seen["dialogs"] == [] and seen["outside"] == []
    context.close()


# ---------------------------------------------------------------- questions that are refused


def test_an_over_long_or_refused_question_stays_in_the_box(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    context, page = open_widget(browser, server.url)
    seen = watch(page, server.url)
    box = page.locator("#hd-question")
    message = page.locator("#hd-form-message")

    box.fill(LONG_QUESTION)  # no maxlength: a pasted question is never cut silently
    assert box.input_value() == LONG_QUESTION
    box.press("Enter")
    message.wait_for(timeout=TIMEOUT_MS)
    assert box.input_value() == LONG_QUESTION
    text = message.inner_text()
    assert "2300" in text and "2000" in text and "rút gọn" in text, text
    assert box.get_attribute("aria-invalid") == "true"
    assert page.locator(".msg").count() == 0
    assert not [u for u in seen["requests"] if u.endswith("/api/ask")], "the widget must not send it"
    box_rect, message_rect = box.bounding_box(), message.bounding_box()
    assert box_rect and message_rect and message_rect["y"] >= box_rect["y"] + box_rect["height"] - 1  # under the box
    shot(page, tmp_path, "widget-too-long.png")

    box.fill(LONG_QUESTION[:1900])  # shortened: the message goes
    assert not message.is_visible()

    # A question the server answers 400 (only invisible characters): its message, the text kept.
    box.fill("\u200b\u200b")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#hd-form-message').textContent.includes('trống')", timeout=TIMEOUT_MS
    )
    assert box.input_value() == "\u200b\u200b"
    assert message.inner_text() == "Câu hỏi đang trống; hãy nhập một câu hỏi."
    assert page.locator(".msg").count() == 0

    # The server away: a Vietnamese message in the log, and the question still in the box.
    page.route("**/api/ask", lambda route: route.abort())
    box.fill(QUESTION)
    box.press("Enter")
    page.locator(".msg.bot.error").wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".msg.bot.error").inner_text() == "Không kết nối được máy chủ hỏi đáp; thử lại sau."
    assert box.input_value() == QUESTION
    page.unroute("**/api/ask")
    page.route("**/api/ask", lambda route: route.fulfill(status=502, body="Bad Gateway", content_type="text/plain"))
    box.press("Enter")
    page.locator(".msg.bot.error").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".msg.bot.error").nth(1).inner_text() == "Máy chủ hỏi đáp gặp lỗi (mã 502); thử lại sau."
    assert "Bad Gateway" not in page.locator("body").inner_text()
    shot(page, tmp_path, "widget-errors.png")
    context.close()


# ---------------------------------------------------------------- brand colour and title


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [('data-color="#facc15"', "#facc15"), ('data-color="#0e7490"', "#0e7490"), ('data-color="red"', "#7c3aed")],
)
def test_data_color_paints_the_bubble_and_the_widget(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
    attribute: str,
    expected: str,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    intranet = static_server(site)
    settings = Settings(
        corpus_dir=CORPUS,
        index_dir=index_dir,
        allowed_origins=(intranet.url,),
        brand_color="#7c3aed",
        title="Trợ lý Sở Nội vụ",
    )
    server = live_server(pipeline, settings)
    page_file = intranet_copy(site, server.url)
    text = page_file.read_text(encoding="utf-8").replace('data-title="Hỏi đáp tài liệu" ', attribute + " ")
    page_file.write_text(text, encoding="utf-8")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{intranet.url}/intranet.html")
    bubble = page.locator("#hoidap-bubble")
    # No data-title: the server's title, once the loader has read /widget/config.
    page.wait_for_function(
        "() => document.querySelector('#hoidap-bubble').getAttribute('aria-label') === 'Trợ lý Sở Nội vụ'",
        timeout=TIMEOUT_MS,
    )
    background = bubble.evaluate("b => getComputedStyle(b).backgroundColor")
    assert rgb(background) == expected
    assert rgb(bubble.evaluate("b => getComputedStyle(b).color")) == text_on(expected)
    bubble.click()
    frame = widget_frame(page, server.url)
    assert f"color={expected.replace('#', '%23')}" in frame.url
    assert frame.locator("#hd-title").inner_text() == "Trợ lý Sở Nội vụ"
    ask(page.frame_locator("#hoidap-panel iframe"), QUESTION, 1)
    for selector in ("#hd-send", ".bar", ".msg.user"):
        background, color = frame.locator(selector).first.evaluate(
            "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
        )
        assert rgb(background) == expected, selector
        assert rgb(color) == text_on(expected), selector
    # Links in the brand colour, darkened where needed to stay readable on the white answer.
    link = frame.locator(".msg.bot .cite").first
    link_color = rgb(link.evaluate("e => getComputedStyle(e).color"))
    assert contrast(link_color, "#ffffff") >= AA
    shot(page, tmp_path, f"widget-color-{expected[1:]}.png")
    page.close()


# ---------------------------------------------------------------- a page not allowed, a server away


def test_a_page_not_allowed_sees_why_in_the_panel(
    browser: Any,
    live_server: Callable[..., Any],
    static_server: Callable[[Path], Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    allowed, other, server = refused_intranet(tmp_path, static_server, live_server, pipeline, index_dir)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{other.url}/intranet.html")
    page.locator("#hoidap-bubble").click()
    blocked = page.locator("#hoidap-panel #hoidap-blocked")
    blocked.wait_for(timeout=TIMEOUT_MS)
    text = blocked.inner_text()
    assert other.url in text and "HOIDAP_ALLOWED_ORIGINS" in text and "chưa được phép" in text, text
    assert not page.locator("#hoidap-panel iframe").is_visible()  # no blank frame
    shot(page, tmp_path, "widget-not-allowed.png")
    page.keyboard.press("Escape")
    assert not page.locator("#hoidap-panel").is_visible()
    page.close()

    # The server unreachable when the page asks for the widget's settings: the panel says so.
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/widget/config", lambda route: route.abort())
    allowed_page = intranet_copy(tmp_path / "allowed", server.url)
    page.goto(f"{allowed.url}/{allowed_page.name}")
    page.locator("#hoidap-bubble").click()
    status = page.locator("#hoidap-panel #hoidap-status")
    page.wait_for_function(
        "() => document.querySelector('#hoidap-status').textContent.includes('Không kết nối được')",
        timeout=TIMEOUT_MS,
    )
    assert "Không kết nối được máy chủ hỏi đáp" in status.inner_text()
    assert not page.locator("#hoidap-panel iframe").is_visible()
    shot(page, tmp_path, "widget-server-away.png")
    page.unroute("**/widget/config")  # back again: opening once more tries again and shows the widget
    page.locator("#hoidap-panel button[aria-label='Đóng']").click()
    page.locator("#hoidap-bubble").click()
    widget_frame(page, server.url)
    assert page.locator("#hoidap-panel iframe").is_visible() and not status.is_visible()
    page.close()


# ---------------------------------------------------------------- [n] links, grouped sources, scrolling


IN_VIEW = """(id) => {
    const log = document.querySelector('#hd-log').getBoundingClientRect();
    const r = document.getElementById(id).getBoundingClientRect();
    return r.top >= log.top - 1 && r.bottom <= log.bottom + 1;
}"""


def test_citation_markers_scroll_to_their_source(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path, tmp_path: Path
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    context, page = open_widget(browser, server.url, viewport={"width": 380, "height": 600})
    ask(page, QUESTION, 1)
    # The new answer is read from its beginning: its question is in view, at the top of the log.
    assert page.evaluate(
        """() => {
            const log = document.querySelector('#hd-log').getBoundingClientRect();
            const q = document.querySelector('.msg.user').getBoundingClientRect();
            return q.top >= log.top && q.top < log.top + 40;
        }"""
    )
    answer = page.locator(".msg.bot").first
    citations = get_json(
        server.url + "/api/conversations/" + page.evaluate("() => sessionStorage.getItem('hoidap-conversation')")
    )["turns"][0]["citations"]
    docs = list(dict.fromkeys(c["doc"] for c in citations))
    # One title per document, each quote under it marked with its [n].
    assert answer.locator(".source-title").count() == len(docs)
    assert answer.locator(".source").count() == len(citations)
    assert answer.locator(".source .n").all_inner_texts() == [f"[{c['n']}]" for c in citations]
    links = answer.locator(".answer a.cite")
    assert links.count() >= 4
    last = links.last
    n = last.inner_text().strip("[]")
    target = f"hd-src-1-{n}"
    assert last.get_attribute("href") == f"#{target}"
    assert not page.evaluate(IN_VIEW, target), "the source starts out of view"
    last.click()
    page.wait_for_function(IN_VIEW, arg=target, timeout=TIMEOUT_MS)
    assert "highlight" in (page.locator(f"#{target}").get_attribute("class") or "")
    assert page.locator(".source.highlight").count() == 1
    assert page.evaluate("() => window.scrollY") == 0  # only the log scrolled
    shot(page, tmp_path, "widget-citation-highlight.png")

    links.first.click()  # another marker moves the highlight
    first_target = "hd-src-1-" + links.first.inner_text().strip("[]")
    page.wait_for_function(IN_VIEW, arg=first_target, timeout=TIMEOUT_MS)
    assert page.locator(".source.highlight").count() == 1
    assert "highlight" in (page.locator(f"#{first_target}").get_attribute("class") or "")
    context.close()


# ---------------------------------------------------------------- contrast in light and dark mode


CONTRAST = """() => {
    function parse(css) {
        const m = /rgba?\\(([^)]+)\\)/.exec(css);
        if (!m) return null;
        const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    function over(top, bottom) {
        const a = top[3];
        return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
    }
    // The background behind an element: the first opaque one up the tree, with any translucent ones over it.
    function background(node) {
        const layers = [];
        for (let n = node; n; n = n.parentElement) {
            const c = parse(getComputedStyle(n).backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let base = layers.length && layers[layers.length - 1][3] >= 1 ? layers.pop() : [255, 255, 255, 1];
        for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
        return base;
    }
    function luminance(c) {
        const [r, g, b] = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92
            : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    }
    function ratio(node) {
        const bg = background(node);
        const fg = over(parse(getComputedStyle(node).color), bg);
        const a = luminance(fg), b = luminance(bg);
        return Math.round((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) * 100) / 100;
    }
    function name(node) {
        return node.tagName.toLowerCase() + (node.id ? '#' + node.id : '')
            + (node.className && typeof node.className === 'string' ? '.' + node.className.split(' ').join('.') : '')
            + ' "' + (node.textContent || node.value || '').trim().slice(0, 30) + '"';
    }
    const all = [];
    for (const node of document.querySelectorAll('body *')) {
        if (!node.getClientRects().length || node.closest(':disabled')) continue;
        const own = Array.from(node.childNodes).some(t => t.nodeType === 3 && t.textContent.trim());
        if (own || node.matches('textarea')) all.push([name(node), ratio(node)]);
    }
    const pick = s => Array.from(document.querySelectorAll(s)).map(n => [name(n), ratio(n)]);
    return {
        all: all,
        answer: pick('.msg.bot .answer li, .msg.bot .answer p'),
        quote: pick('.source:not(.highlight) .quote'),
        highlight: pick('.source.highlight .quote, .source.highlight .n, .source.highlight .source-title'),
        closest: pick('.msg.bot.closest .closest-label, .msg.bot.closest blockquote.said'),
        page: luminance(background(document.body)),
    };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_keeps_aa_contrast(
    browser: Any,
    live_server: Callable[..., Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
    scheme: str,
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    context, page = open_widget(browser, server.url, color_scheme=scheme, viewport={"width": 400, "height": 800})
    empty = page.evaluate(CONTRAST)  # the hint and the example questions
    ask(page, QUESTION, 1)
    page.get_by_role("button", name="Câu trả lời hữu ích").click()  # the comment box
    page.locator(".feedback textarea").wait_for(timeout=TIMEOUT_MS)
    page.locator("#hd-question").fill(LONG_QUESTION)  # the message under the box
    page.locator("#hd-form-message").wait_for(timeout=TIMEOUT_MS)
    cite = page.locator(".msg.bot .answer a.cite").nth(1)
    cite.click()  # a highlighted source
    page.wait_for_function(IN_VIEW, arg=cite.get_attribute("href")[1:], timeout=TIMEOUT_MS)
    measured = page.evaluate(CONTRAST)
    shot(page, tmp_path, f"widget-{scheme}.png")

    assert (measured["page"] < 0.05) == (scheme == "dark")
    for group in ("answer", "quote", "highlight"):
        assert measured[group], f"nothing measured for {group}"
        low = [m for m in measured[group] if m[1] < AA]
        assert not low, (scheme, group, low)
    print(scheme, {g: min(r for _, r in measured[g]) for g in ("answer", "quote", "highlight")})
    low = [m for m in empty["all"] + measured["all"] if m[1] < AA]
    assert not low, (scheme, low)
    assert len(measured["all"]) > 20
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_closest_answer_is_marked_keeps_aa_contrast_and_comes_back_so(
    browser: Any,
    live_server: Callable[..., Any],
    pipeline: Pipeline,
    index_dir: Path,
    tmp_path: Path,
    closest_question: str,
    answered_question: str,
    scheme: str,
) -> None:
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))
    context, page = open_widget(browser, server.url, color_scheme=scheme, viewport={"width": 400, "height": 800})
    ask(page, answered_question, 1)
    ask(page, closest_question, 2)
    confident, closest = page.locator(".msg.bot").nth(0), page.locator(".msg.bot").nth(1)
    assert "closest" in (closest.get_attribute("class") or "") and closest.get_attribute("data-outcome") == "closest"
    assert "closest" not in (confident.get_attribute("class") or "")
    assert closest.locator(".closest-label").inner_text() == "Chưa có câu trả lời chắc chắn"
    assert confident.locator(".closest-label, blockquote.said").count() == 0
    edge = "e => getComputedStyle(e).borderLeftWidth + ' ' + getComputedStyle(e).borderLeftColor"
    assert closest.evaluate(edge) != confident.evaluate(edge)
    quotes = closest.locator(".answer blockquote.said")
    assert quotes.count() == closest.locator(".source").count() >= 1  # each passage quoted, each with its source

    cite = quotes.last.locator("a.cite")
    target = (cite.get_attribute("href") or "#")[1:]
    assert target.startswith("hd-src-2-")
    cite.click()  # a quote's [n] scrolls to its source and highlights it, as in an answer
    page.wait_for_function(IN_VIEW, arg=target, timeout=TIMEOUT_MS)
    assert "highlight" in (page.locator(f"#{target}").get_attribute("class") or "")
    measured = page.evaluate(CONTRAST)
    shot(page, tmp_path, f"widget-closest-{scheme}.png")
    assert len(measured["closest"]) == 1 + quotes.count()
    low = [m for m in measured["closest"] + measured["all"] if m[1] < AA]
    assert not low, (scheme, low)

    shown = closest.inner_text()
    page.reload()  # the conversation comes back from the server, outcome and all
    page.locator(".msg.bot .answer").nth(1).wait_for(timeout=TIMEOUT_MS)
    restored = page.locator(".msg.bot").nth(1)
    assert "closest" in (restored.get_attribute("class") or "") and restored.inner_text() == shown
    assert page.locator(".msg.bot.closest").count() == 1
    context.close()
