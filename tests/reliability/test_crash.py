"""`hoidap index` killed (SIGKILL) while it writes the new index: the previous index stays whole and answers.

tests/rag/test_index.py kills a build at its start and while it embeds; these
kill it at several points of writing, stepping the process with SIGSTOP/SIGCONT
so that the kill lands right after its temporary folder holds a given number of
entries (whatever the files are called and in whatever order they are written).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import QUIET_ENV, ROOT

from rag.index import FILES, _previous, build_index, load_index
from rag.pipeline import Pipeline
from rag.settings import Settings

QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"
NEW_DOC = (
    "Đông Anh mở rộng trường học\n\n"
    "Năm học 2021-2022, huyện Đông Anh đưa vào sử dụng 14 trường học mới đạt chuẩn quốc gia, với tổng vốn "
    "đầu tư hơn 350 tỷ đồng từ ngân sách thành phố và huyện, đáp ứng nhu cầu học tập của con em nhân dân.\n"
)
STEP_S = 0.002  # the build runs this long between two looks at its folder
TIMEOUT_S = 300
QUIET = lambda _m: None  # noqa: E731


def build_folders(index: Path) -> list[Path]:
    """The folders a build writes beside the index (named after it), whatever their exact names; not the
    previous index, moved aside for a moment once the new one is whole (killing then is after the build)."""
    aside = _previous(index)
    return [
        p for p in index.parent.iterdir() if p.is_dir() and p.name != index.name and index.name in p.name and p != aside
    ]


def kill_when_written(proc: subprocess.Popen[bytes], index: Path, entries: int, log: Path) -> None:
    """SIGKILL `proc` as soon as a build folder beside `index` holds `entries` files or folders.

    It runs freely until it starts embedding, then in steps of STEP_S between SIGSTOP and SIGCONT.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while proc.poll() is None and "embedding" not in log.read_text("utf-8", "replace") and not build_folders(index):
        assert time.monotonic() < deadline, "the build never started embedding"
        time.sleep(0.05)
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the build never wrote its files"
        proc.send_signal(signal.SIGSTOP)
        if any(len(list(folder.iterdir())) >= entries for folder in build_folders(index)):
            proc.kill()
            break
        proc.send_signal(signal.SIGCONT)
        time.sleep(STEP_S)
    proc.wait(timeout=60)


# Kill when the build folder has just been made, is half written, and holds everything (manifest too).
@pytest.mark.parametrize("entries", [0, len(FILES) // 2, len(FILES) + 1], ids=["created", "half", "all"])
def test_build_killed_while_writing_keeps_the_previous_index(
    index_dir: Path, corpus_copy: Path, tmp_path: Path, entries: int
) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "ix")
    shutil.copytree(index_dir, settings.index_dir)
    old = load_index(settings.index_dir)
    before, old_chunks = set(old.documents), len(old.chunks)
    (corpus_copy / "dong-anh.txt").write_text(NEW_DOC, "utf-8")

    log = tmp_path / "index.log"
    env = {
        **os.environ,
        **QUIET_ENV,
        "HOIDAP_CORPUS_DIR": str(corpus_copy),
        "HOIDAP_INDEX_DIR": str(settings.index_dir),
    }
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "index"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            kill_when_written(proc, settings.index_dir, entries, log)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=60)

    # Killed, or (rarely) it finished within one step: the index is then the new one, whole.
    assert proc.returncode in (-signal.SIGKILL, 0), log.read_text("utf-8", "replace")
    after = set(load_index(settings.index_dir).documents)
    assert after == (before if proc.returncode else before | {"dong-anh.txt"})
    assert not Pipeline.open(settings).ask(QUESTION).refused

    second = build_index(settings, log=QUIET)
    assert set(load_index(settings.index_dir).documents) == before | {"dong-anh.txt"}
    assert second.reused >= old_chunks  # the old vectors were reused, not rebuilt
    assert build_folders(settings.index_dir) == []
