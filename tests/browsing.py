"""Helpers for the browser tests: watching a page, asking in the chat page and waiting for its answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import CORPUS, ROOT

from rag.pipeline import Pipeline
from rag.settings import Settings

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
GOALS = ("Thứ nhất", "Thứ hai", "Thứ ba", "Thứ tư")
TIMEOUT_MS = 60_000


def watch(page: Any, server_url: str) -> dict[str, list[str]]:
    """Record dialogs, requests that leave the test servers, and console messages of a page."""
    seen: dict[str, list[str]] = {"dialogs": [], "outside": [], "console": [], "requests": []}

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    def on_request(request: Any) -> None:
        seen["requests"].append(request.url)
        if not request.url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
            seen["outside"].append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("console", lambda message: seen["console"].append(message.text))
    return seen


BOT = "#hd-chat [data-testid='bot']"


def wait_for_answer(page: Any, answers_before: int) -> None:
    """Wait until the chat holds one more answer than before and the search is over."""
    page.wait_for_function(
        """([selector, n]) => {
            const bots = document.querySelectorAll(selector);
            return bots.length === n + 1 && !document.querySelector('#hd-sources .hd-searching')
                && !bots[n].innerText.includes('Đang tìm');
        }""",
        arg=[BOT, answers_before],
        timeout=TIMEOUT_MS,
    )


def ask_in_chat(page: Any, question: str) -> None:
    before = page.locator(BOT).count()
    page.locator("#hd-question textarea").fill(question)
    page.locator("#hd-send").click()
    wait_for_answer(page, before)


def intranet_copy(folder: Path, server_url: str) -> Path:
    """examples/intranet.html with its script pointing at the test server."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "examples" / "intranet.html").read_text(encoding="utf-8")
    assert "http://127.0.0.1:7860/widget.js" in text
    text = text.replace("http://127.0.0.1:7860/widget.js", f"{server_url}/widget.js")
    (folder / "intranet.html").write_text(text, encoding="utf-8")
    return folder / "intranet.html"


def allowed_intranet(
    site: Path,
    static_server: Callable[[Path], Any],
    live_server: Callable[..., Any],
    pipeline: Pipeline,
    index_dir: Path,
) -> tuple[Any, Any, Path]:
    """An intranet site on its own port, a hoidap server that allows it, and the site's page."""
    site.mkdir()
    intranet = static_server(site)  # started first: its origin goes into the allowed list
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir, allowed_origins=(intranet.url,)))
    return intranet, server, intranet_copy(site, server.url)


def refused_intranet(
    tmp_path: Path,
    static_server: Callable[[Path], Any],
    live_server: Callable[..., Any],
    pipeline: Pipeline,
    index_dir: Path,
) -> tuple[Any, Any, Any]:
    """Two intranet sites (folders tmp_path/allowed and tmp_path/other), a hoidap server that allows only
    the first, and the second site's page: (the site allowed, the site not allowed, the server)."""
    allowed_site, other_site = tmp_path / "allowed", tmp_path / "other"
    allowed_site.mkdir()
    other_site.mkdir()
    allowed = static_server(allowed_site)
    other = static_server(other_site)
    server = live_server(pipeline, Settings(corpus_dir=CORPUS, index_dir=index_dir, allowed_origins=(allowed.url,)))
    intranet_copy(other_site, server.url)
    return allowed, other, server


# WCAG contrast of the text's colour on the first opaque background behind it, in the browser.
CONTRAST_JS = """
(element) => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = element, background = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c[3] > 0.5) { background = c; break; }
    node = node.parentElement;
  }
  background = background || [255, 255, 255, 1];
  const text = parse(getComputedStyle(element).color);
  const [a, b] = [lum(text), lum(background)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""
