"""The shipped Q&A set: valid, and scored above floors the current code clears with margin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, run_cli

from eval import build_wrapped
from eval.qa import DEFAULT_QA, QAError, load_qa, locate
from eval.runner import METRICS
from eval.suite import SETS, run_set
from rag.settings import Settings

# Floors and ceilings per set, a margin (0.03; 0.06 for a set under 60 answerable questions; 0.05 and
# 0.1 for answered unanswerable ones) beyond the figures the packaged offline model measured with the
# learned decision (issue 20's closing note). Raise them when the code improves; never loosen one
# without saying why. uit-test, legal, notice and statute are report sets: their bounds guard against
# regressions, and no code was changed by looking at their failures. The metrics changed with the
# three outcomes: key facts are now counted in what the reader is shown (key_facts_shown: the answer,
# or the quotes of outcome `closest`), confident answers are bounded from below (answer_rate) and
# confident wrong ones from above (wrong_answer_rate), as are `none` on answerable questions
# (false_refusal_rate) and answered unanswerable ones.
FLOORS = {
    "sample": {"hit@1": 0.85, "hit@5": 0.97, "key_facts_shown": 0.95, "answer_rate": 0.79},
    "sample-wrapped": {"hit@1": 0.85, "hit@5": 0.97, "key_facts_shown": 0.94, "answer_rate": 0.79},
    "heldout": {"hit@1": 0.8, "hit@5": 0.87, "key_facts_shown": 0.79, "answer_rate": 0.69},
    "uit-dev": {"hit@1": 0.76, "hit@5": 0.94, "key_facts_shown": 0.71, "answer_rate": 0.37},
    "uit-test": {"hit@1": 0.79, "hit@5": 0.96, "key_facts_shown": 0.75, "answer_rate": 0.4},
    "legal-dev": {"hit@1": 0.53, "hit@5": 0.68, "key_facts_shown": 0.43, "answer_rate": 0.05},
    "legal": {"hit@1": 0.73, "hit@5": 0.88, "key_facts_shown": 0.54, "answer_rate": 0.21},
    "notice-dev": {"hit@1": 0.75, "hit@5": 0.94, "key_facts_shown": 0.67, "answer_rate": 0.09},
    "notice": {"hit@1": 0.73, "hit@5": 0.91, "key_facts_shown": 0.59, "answer_rate": 0.21},
    "statute-dev": {"hit@1": 0.69, "hit@5": 0.9, "key_facts_shown": 0.53, "answer_rate": 0.29},
    "statute": {"hit@1": 0.67, "hit@5": 0.89, "key_facts_shown": 0.56, "answer_rate": 0.28},
}
CEILINGS = {
    "sample": {"wrong_answer_rate": 0.04, "false_refusal_rate": 0.03, "unanswerable_answered": 0.12},
    "sample-wrapped": {"wrong_answer_rate": 0.04, "false_refusal_rate": 0.03, "unanswerable_answered": 0.12},
    "heldout": {"wrong_answer_rate": 0.13, "false_refusal_rate": 0.06, "unanswerable_answered": 0.47},
    "uit-dev": {"wrong_answer_rate": 0.08, "false_refusal_rate": 0.05, "unanswerable_answered": 0.09},
    "uit-test": {"wrong_answer_rate": 0.06, "false_refusal_rate": 0.06, "unanswerable_answered": 0.23},
    "legal-dev": {"wrong_answer_rate": 0.1, "false_refusal_rate": 0.13, "unanswerable_answered": 0.1},
    "legal": {"wrong_answer_rate": 0.06, "false_refusal_rate": 0.12, "unanswerable_answered": 0.24},
    "notice-dev": {"wrong_answer_rate": 0.06, "false_refusal_rate": 0.13, "unanswerable_answered": 0.1},
    "notice": {"wrong_answer_rate": 0.06, "false_refusal_rate": 0.15, "unanswerable_answered": 0.1},
    "statute-dev": {"wrong_answer_rate": 0.06, "false_refusal_rate": 0.03, "unanswerable_answered": 0.08},
    "statute": {"wrong_answer_rate": 0.04, "false_refusal_rate": 0.03, "unanswerable_answered": 0.15},
}


def test_shipped_set_is_valid_and_covers_every_document() -> None:
    items = load_qa(DEFAULT_QA, CORPUS)
    assert len(items) >= 60
    assert {i.source for i in items if i.source} == {p.name for p in CORPUS.glob("*.txt")}
    kinds = [i.kind for i in items]
    assert kinds.count("no-diacritics") >= 8 and kinds.count("tone-style") >= 6
    assert kinds.count("cross-lingual") >= 6 and kinds.count("unanswerable") >= 10


def test_held_out_set_is_valid() -> None:
    # Written blind from the texts, to check that tuning on the shipped set carries over; no floors.
    items = load_qa(DEFAULT_QA.with_name("heldout.jsonl"), CORPUS)
    assert len(items) >= 30
    assert not {i.id for i in items} & {i.id for i in load_qa(DEFAULT_QA, CORPUS)}


@pytest.mark.parametrize("name", [name for name, _, _ in SETS])
def test_every_set_clears_its_floors(name: str, index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    qa, corpus = next((qa, corpus) for set_name, qa, corpus in SETS if set_name == name)
    if corpus is None:  # written from the sample corpus: the session's index of it
        settings = Settings(corpus_dir=CORPUS, index_dir=index_dir)
    else:
        settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp(name) / "index")
    items = load_qa(qa, settings.corpus_dir)
    run = run_set(name, items, settings, compare=False, own_index=corpus is not None, log=lambda _m: None)
    summary = run.main.summary
    assert set(summary) == set(METRICS)
    assert summary["citation_exact"] == 1.0
    for metric, floor in FLOORS[name].items():
        assert summary[metric] >= floor, (name, metric, summary[metric])
    for metric, ceiling in CEILINGS[name].items():
        assert summary[metric] <= ceiling, (name, metric, summary[metric])


def test_wrapped_copies_are_rebuilt_exactly_and_keep_the_evidence(tmp_path: Path) -> None:
    assert build_wrapped.main(["--corpus", str(CORPUS), "--out", str(tmp_path)]) == 0
    committed = build_wrapped.OUT
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in committed.iterdir())
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (committed / path.name).read_bytes()
        assert max(len(line) for line in path.read_text("utf-8").splitlines()) <= build_wrapped.WIDTH + 30
    # An evidence sentence now runs over line breaks and is still found, and only there.
    text = (committed / sorted(p.name for p in committed.iterdir())[0]).read_text("utf-8")
    assert locate(text, "câu này không có trong bài") is None
    sentence = " ".join(text[300:700].split())
    found = locate(text, sentence)
    assert found and "\n" in text[found[0] : found[1]] and " ".join(text[found[0] : found[1]].split()) == sentence


def test_every_set_is_valid() -> None:
    for name, qa, corpus in SETS:
        items = load_qa(qa, corpus or CORPUS)
        assert len(items) >= 30, name
        assert sum(not i.answerable for i in items) >= 7, name


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", "question": "x"\n', ":1: not valid JSON"),
        ("[1, 2]\n", ":1: needs the fields"),
        (
            '{"id": "a", "question": "Ai?", "answerable": true, "source": "000_cf24b04885448ff3.txt", '
            '"evidence": ["không có trong bài"], "key_facts": [], "kind": "fact"}\n',
            ":1: evidence is not verbatim",
        ),
    ],
)
def test_bad_qa_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(content, "utf-8")
    with pytest.raises(QAError, match=message):
        load_qa(path, CORPUS)


def test_eval_cli_writes_json_and_rejects_bad_files(index_dir: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    lines = DEFAULT_QA.read_text("utf-8").splitlines()
    small.write_text("\n".join(lines[:3] + lines[-2:]) + "\n", "utf-8")
    out = tmp_path / "out.json"
    result = run_cli("eval", "--qa", str(small), "--index", str(index_dir), "--json", str(out), "--compare")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == {"summary", "by_kind", "results", "compare"}
    assert set(data["compare"]) == {"hybrid", "dense", "lexical", "baseline"}
    assert set(data["summary"]) == set(METRICS)
    assert "Failed questions" in result.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n{oops\n", "utf-8")
    result = run_cli("eval", "--qa", str(bad), "--index", str(index_dir))
    assert result.returncode == 2 and ":2: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


# The multi-turn sets (issue 13): follow-ups read in context must retrieve what their standalone form
# retrieves, and standalone turns must be answered exactly as without a conversation. Measured with the
# packaged model: dev 0.844 detected / 0.9 same evidence / 1.0 unchanged; report 0.859 / 0.955 / 1.0.
DIALOGUE_FLOORS = {
    "dialogues-dev": {"detected": 0.82, "same_evidence": 0.88, "standalone_unchanged": 1.0},
    "dialogues": {"detected": 0.84, "same_evidence": 0.93, "standalone_unchanged": 1.0},
}


def test_the_dialogue_sets_clear_their_floors(index_dir: Path) -> None:
    from eval.dialogues import DIALOGUE_SETS, load_dialogues, run_dialogue_sets

    for _name, path in DIALOGUE_SETS:
        dialogues = load_dialogues(path, CORPUS)
        assert len(dialogues) >= 20 and all(2 <= len(d.turns) <= 4 for d in dialogues)
    results = run_dialogue_sets(Settings(corpus_dir=CORPUS, index_dir=index_dir))
    for name, floors in DIALOGUE_FLOORS.items():
        for metric, floor in floors.items():
            assert results[name][metric] >= floor, (name, metric, results[name][metric], results[name]["failures"])
