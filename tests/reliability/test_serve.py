"""`hoidap serve` follows its index folder (an index built or rebuilt while it runs is picked up without a
restart), and says in one line when it cannot listen."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from conftest import assert_one_line_error, run_cli

from rag.index import MANIFEST, build_index, load_index
from rag.pipeline import RELOAD_CHECK_S
from rag.settings import Settings

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
NEW_DOC = (
    "Sóc Sơn trồng thêm cây xanh\n\n"
    "Ngày 5/3/2021, Ủy ban nhân dân huyện Sóc Sơn cho biết đã trồng mới 12.345 cây xanh dọc tuyến đường "
    "Võ Nguyên Giáp trong quý I năm 2021, góp phần cải thiện môi trường và cảnh quan đô thị của huyện.\n"
)
NEW_QUESTION = "Huyện Sóc Sơn đã trồng mới bao nhiêu cây xanh trong quý I năm 2021?"
QUIET = lambda _m: None  # noqa: E731


def test_serve_picks_up_a_new_then_rebuilt_index(
    index_dir: Path, corpus_copy: Path, tmp_path: Path, serve: Any, check_answer: Any
) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "ix")
    server = serve(settings.index_dir)
    status, data = server.ask({"question": QUESTION})
    assert status == 503 and "hoidap index" in data["error"]
    status, data = server.health()
    assert status == 503 and data["status"] == "error" and "hoidap index" in data["error"]

    # An index appears while the server runs (moved into place, as a build swaps it in): the next
    # question after the check interval is answered.
    shutil.copytree(index_dir, tmp_path / "built")
    (tmp_path / "built").rename(settings.index_dir)
    time.sleep(RELOAD_CHECK_S)
    status, data = server.ask({"question": QUESTION})
    assert status == 200, data
    check_answer(data, load_index(settings.index_dir).documents)
    assert not data["refused"]
    assert server.health()[1]["documents"] == 5

    # Rebuilt by `build_index` with one more document while a client keeps asking: every answer is whole.
    (corpus_copy / "soc-son.txt").write_text(NEW_DOC, "utf-8")
    replies: list[tuple[int, Any]] = []
    done = threading.Event()

    def keep_asking() -> None:
        conn = server.connection()
        while not done.is_set():
            replies.append(server.ask({"question": QUESTION}, conn))
        conn.close()

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        build_index(settings, log=QUIET)
        time.sleep(RELOAD_CHECK_S)
        status, data = server.ask({"question": NEW_QUESTION})
    finally:
        done.set()
        asker.join(timeout=120)
    documents = load_index(settings.index_dir).documents
    assert status == 200, data
    check_answer(data, documents)
    assert "soc-son.txt" in {c["doc"] for c in data["citations"]}
    assert replies and all(status == 200 for status, _ in replies), [r for r in replies if r[0] != 200][:3]
    for _status, reply in replies:
        check_answer(reply, documents)  # the five old documents are unchanged in the new index

    # A damaged index is not loaded: the server keeps answering with the one it has.
    (settings.index_dir / MANIFEST).write_text("{not json", "utf-8")
    time.sleep(RELOAD_CHECK_S)
    status, data = server.ask({"question": NEW_QUESTION})
    assert status == 200 and "soc-son.txt" in {c["doc"] for c in data["citations"]}
    assert server.health()[1]["documents"] == 6

    server.stop()
    assert "Traceback" not in server.errors
    assert "hoidap: loaded the new index" in server.errors
    assert "still answering with the index loaded before" in server.errors


def test_an_open_index_reads_its_own_documents_after_a_rebuild(
    index_dir: Path, corpus_copy: Path, tmp_path: Path
) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "ix")
    shutil.copytree(index_dir, settings.index_dir)
    expected = {name: d.text for name, d in load_index(index_dir).documents.items()}
    open_before = load_index(settings.index_dir)  # what a running server holds until it reloads
    (corpus_copy / "000-soc-son.txt").write_text(NEW_DOC, "utf-8")  # sorts first: every later line moves
    build_index(settings, log=QUIET)
    assert {name: d.text for name, d in open_before.documents.items()} == expected


def test_a_busy_port_is_one_line_not_a_traceback(index_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run_cli("serve", "--index", str(index_dir), "--host", "127.0.0.1", "--port", str(port))
    assert_one_line_error(result, f"127.0.0.1:{port}", "--port")
