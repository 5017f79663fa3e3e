"""The chat page as a person uses it, in a real browser (Debian's Chromium via Playwright): a follow-up
shown with how it was understood, the conversation kept over a reload, feedback stored, the answer
shown from its beginning, [n] links, contrast in light and dark mode, a phone's layout, the brand
colour. Screenshots are saved under each test's tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browsing import BOT, CONTRAST_JS, QUESTION, TIMEOUT_MS, ask_in_chat, watch
from conftest import CORPUS

from rag.pipeline import Pipeline
from rag.settings import Settings

FOLLOW_UP = "Còn mục tiêu thứ ba là gì?"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def open_chat(browser: Any, url: str, **options: Any) -> Any:
    page = browser.new_context(**{"viewport": DESKTOP, **options}).new_page()
    page.goto(url + "/")
    page.locator("#hd-question textarea").wait_for(timeout=TIMEOUT_MS)
    return page


@pytest.fixture
def chat_server(live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path) -> Any:
    return live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir))


def test_a_follow_up_is_shown_as_understood_and_the_conversation_survives_a_reload(
    browser: Any, chat_server: Any, tmp_path: Path
) -> None:
    page = open_chat(browser, chat_server.url)
    assert page.evaluate("document.documentElement.lang") == "vi"
    ask_in_chat(page, QUESTION)
    ask_in_chat(page, FOLLOW_UP)
    answer = page.locator(BOT).last.inner_text()
    assert answer.startswith("Hiểu câu hỏi là: Mục tiêu thứ ba là gì")
    assert "Thứ ba là:" in answer and "Thứ nhất là:" not in answer  # the third goal, not the list again
    cards = page.locator("#hd-sources .hd-turn:not([hidden]) .hd-source").count()
    page.screenshot(path=str(tmp_path / "follow-up.png"))

    page.reload()
    page.wait_for_function(f"() => document.querySelectorAll(\"{BOT}\").length === 2", timeout=TIMEOUT_MS)
    assert page.locator(BOT).last.inner_text() == answer
    # The last answer's sources as they were (one card for an answer of the third goal alone, one for each
    # passage quoted when the decision gives only the closest passages).
    assert page.locator("#hd-sources .hd-turn:not([hidden]) .hd-source").count() == cards >= 1
    assert page.locator("#hd-copy").is_enabled()
    ask_in_chat(page, "Thế còn mục tiêu thứ tư?")  # the restored conversation goes on
    # Read in the restored conversation. (Its answer is now `closest`: the follow-up of a follow-up reads as
    # "Mục tiêu thứ tư (Mục tiêu thứ ba; Báo cáo …)?", and P(answer) stays under the threshold; issue 20 note.)
    assert page.locator(BOT).last.inner_text().startswith("Hiểu câu hỏi là: Mục tiêu thứ tư")
    page.screenshot(path=str(tmp_path / "after-reload.png"))

    page.locator("#hd-clear").click()  # "Cuộc trò chuyện mới"
    page.wait_for_function(f"() => !document.querySelector(\"{BOT}\")", timeout=TIMEOUT_MS)
    page.reload()
    page.locator("#hd-question textarea").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    assert page.locator(BOT).count() == 0  # the new conversation is empty after a reload too
    print("screenshots:", tmp_path)


def test_feedback_with_a_comment_is_stored(browser: Any, chat_server: Any, tmp_path: Path) -> None:
    from rag.database import Database, QuestionFilter

    page = open_chat(browser, chat_server.url)
    assert not page.locator("#hd-copy").is_enabled()  # nothing to copy before an answer
    ask_in_chat(page, QUESTION)
    assert page.locator("[aria-label='Like'], [aria-label='Dislike'], [aria-label='Clear']").count() == 0
    page.locator("#hd-chat button[aria-label='Câu trả lời chưa đúng']").last.click()
    page.locator("#hd-comment textarea").wait_for(timeout=TIMEOUT_MS)
    page.locator("#hd-comment textarea").fill("Thiếu số liệu năm 2020")
    page.locator("#hd-comment-send").click()
    page.get_by_text("Cảm ơn góp ý của bạn.").wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "feedback.png"))
    _total, rows = Database.in_folder(tmp_path / "data-0").questions(QuestionFilter(rating=-1))
    assert [(r["question"], r["comment"]) for r in rows] == [(QUESTION, "Thiếu số liệu năm 2020")]


def test_an_answer_is_shown_from_its_beginning_and_its_markers_open_their_source(
    browser: Any, chat_server: Any, tmp_path: Path
) -> None:
    page = open_chat(browser, chat_server.url)
    for _ in range(2):
        ask_in_chat(page, QUESTION)  # two long answers: the second starts below the fold of the chat
    top = page.evaluate(
        """() => { const rows = document.querySelectorAll('#hd-chat .user-row');
                   const log = rows[0].closest('.bubble-wrap');
                   return rows[rows.length - 1].getBoundingClientRect().top - log.getBoundingClientRect().top; }"""
    )
    assert 0 <= top < 60  # the last question sits at the top of the chat, its answer under it
    page.screenshot(path=str(tmp_path / "answer-start.png"))

    page.locator(f"{BOT} a[href='#nguon-2-4']").last.click()
    card = page.locator("#nguon-2-4")
    page.wait_for_function(
        "() => { const r = document.querySelector('#nguon-2-4').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }",
        timeout=TIMEOUT_MS,
    )
    assert "Thứ ba là:" in card.locator("mark").inner_text()
    page.locator(f"{BOT} a[href='#nguon-1-2']").first.click()  # the first answer's sources come back
    assert page.locator("#nguon-1-2").is_visible() and not page.locator("#nguon-2-2").is_visible()
    groups = page.locator("#hd-sources .hd-turn:not([hidden]) .hd-group")
    assert groups.count() == 1 and groups.locator(".hd-group-head").count() == 1  # the title once
    page.screenshot(path=str(tmp_path / "source-link.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_quotes_and_highlights_keep_their_contrast(
    browser: Any, chat_server: Any, tmp_path: Path, scheme: str
) -> None:
    page = open_chat(browser, chat_server.url, color_scheme=scheme)
    ask_in_chat(page, QUESTION)
    measured = {}
    for name, selector in {
        "answer": f"{BOT} li",
        "quote": "#hd-sources .hd-quote",
        "highlight": "#hd-sources .hd-quote mark",
        "marker": "#hd-sources .hd-n",
        "title": "#hd-sources .hd-group-head",
        "meta": "#hd-sources .hd-meta",
        "link": "#hd-sources a.hd-open",
        "banner": "#hd-fallback p",
        "send": "#hd-send",
    }.items():
        found = page.locator(selector)
        if found.count():
            measured[name] = round(found.first.evaluate(CONTRAST_JS), 2)
    page.screenshot(path=str(tmp_path / f"desktop-{scheme}.png"), full_page=True)
    print(scheme, measured)
    assert {"answer", "quote", "highlight", "marker", "link", "send"} <= set(measured)
    assert all(ratio >= 4.5 for ratio in measured.values()), measured


# The amber edge of a closest answer's message, light and dark, as the browser reports it.
EDGE_JS = "e => { const m = e.closest('.bot.message'); return getComputedStyle(m).borderLeft; }"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_closest_answer_looks_unlike_an_answer_and_stays_so_after_a_reload(
    browser: Any, chat_server: Any, closest_question: str, answered_question: str, tmp_path: Path, scheme: str
) -> None:
    from ui.app import CLOSEST_EDGE, CLOSEST_LABEL

    page = open_chat(browser, chat_server.url, color_scheme=scheme)
    ask_in_chat(page, answered_question)
    ask_in_chat(page, closest_question)
    confident, closest = page.locator(BOT).nth(0), page.locator(BOT).nth(1)
    assert closest.locator(".hd-closest").inner_text() == CLOSEST_LABEL
    assert confident.locator(".hd-closest").count() == 0 and confident.locator("blockquote").count() == 0
    edge = CLOSEST_EDGE[scheme == "dark"]
    amber = "4px solid rgb({}, {}, {})".format(*(int(edge[i : i + 2], 16) for i in (1, 3, 5)))
    assert closest.evaluate(EDGE_JS) == amber and confident.evaluate(EDGE_JS) != amber
    cards = page.locator("#hd-sources .hd-turn:not([hidden]) .hd-source")
    quotes = closest.locator("blockquote")
    assert quotes.count() == cards.count() >= 1  # each closest passage quoted, each with its source card
    measured = {
        "label": closest.locator(".hd-closest").evaluate(CONTRAST_JS),
        "quote": quotes.first.locator("p").evaluate(CONTRAST_JS),
        "marker": quotes.first.locator("a").evaluate(CONTRAST_JS),
        "intro": closest.locator("p").nth(1).evaluate(CONTRAST_JS),
    }
    print(scheme, measured)
    assert all(ratio >= 4.5 for ratio in measured.values()), measured
    page.screenshot(path=str(tmp_path / f"closest-{scheme}.png"))

    marker = quotes.last.locator("a")
    target = marker.get_attribute("href")
    assert target and target.startswith("#nguon-2-")
    marker.click()  # the [n] of a quote opens its source card, as in an answer
    page.wait_for_function(
        "(id) => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }",
        arg=target[1:],
        timeout=TIMEOUT_MS,
    )

    shown = closest.inner_text()
    page.reload()
    page.wait_for_function(f"() => document.querySelectorAll(\"{BOT}\").length === 2", timeout=TIMEOUT_MS)
    restored = page.locator(BOT).nth(1)
    restored.locator(".hd-closest").wait_for(timeout=TIMEOUT_MS)
    assert restored.inner_text() == shown and restored.evaluate(EDGE_JS) == amber
    assert restored.locator("blockquote").count() == quotes.count()
    assert page.locator(BOT).nth(0).locator(".hd-closest").count() == 0


def test_on_a_phone_the_sources_follow_the_answer(browser: Any, chat_server: Any, tmp_path: Path) -> None:
    page = open_chat(browser, chat_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    ask_in_chat(page, QUESTION)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the screen
    sources_top = page.evaluate("document.querySelector('#hd-sources .hd-source').getBoundingClientRect().top"
                                " + window.scrollY")
    assert sources_top < 2 * PHONE["height"], sources_top  # within the first two screens
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)


def test_brand_colour_and_title_come_from_the_settings(
    browser: Any, live_server: Callable[..., Any], pipeline: Pipeline, index_dir: Path
) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=index_dir, title="Hỏi đáp văn bản — Sở Nội vụ",
                        brand_color="#7a1f1f")
    page = open_chat(browser, live_server(pipeline, settings).url)
    seen = watch(page, "")
    assert page.title() == "Hỏi đáp văn bản — Sở Nội vụ"
    assert page.locator("#hd-send").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 31)"
    orange = page.evaluate(
        """() => [...document.querySelectorAll('button, a, h1, h2, span')].filter((e) => {
             const c = getComputedStyle(e); return [c.color, c.backgroundColor, c.borderColor]
               .some((v) => /rgb\\(2(3\\d|4\\d|5\\d), 1(0\\d|1\\d|2\\d|3\\d|4\\d), \\d{1,2}\\)/.test(v)); }).length"""
    )
    assert orange == 0  # no stock orange left anywhere
    assert seen["dialogs"] == []


def test_an_over_long_question_stays_in_the_box(browser: Any, chat_server: Any) -> None:
    page = open_chat(browser, chat_server.url)
    long = "Báo cáo năm 2021 " * 150
    page.locator("#hd-question textarea").fill(long)
    page.locator("#hd-send").click()
    page.get_by_text("hãy rút gọn dưới 2000 ký tự").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#hd-question textarea").input_value() == long.strip() or long
