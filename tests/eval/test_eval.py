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

# Floors per set, below the figures the packaged offline model measured with the scored answerer
# (see the closing note of the multi-genre issue). Raise them when the code improves; never lower one
# without saying why. uit-test, legal and notice are report sets: their floors guard against
# regressions, and no code was changed by looking at their failures. Lowered once, on purpose: the
# refusal threshold is now held against a sentence's support (its score without rank, answer type
# and counted noun), fitted on four dev sets; that answers more (uit-test key facts 0.645 -> 0.722,
# false refusals 0.245 -> 0.189) and refuses fewer unanswerable uit questions (0.663 -> 0.565).
FLOORS = {
    "sample": {
        "hit@1": 0.9, "hit@5": 0.97, "key_fact_recall": 0.95, "refusal_accuracy": 0.92, "citation_support": 0.95,
    },
    "sample-wrapped": {"hit@1": 0.9, "hit@5": 0.97, "key_fact_recall": 0.94, "refusal_accuracy": 0.92},
    "heldout": {"hit@1": 0.78, "hit@5": 0.9, "key_fact_recall": 0.78, "refusal_accuracy": 0.35},
    "uit-dev": {"hit@1": 0.77, "hit@5": 0.93, "key_fact_recall": 0.64, "refusal_accuracy": 0.72},
    "uit-test": {"hit@1": 0.81, "hit@5": 0.95, "key_fact_recall": 0.7, "refusal_accuracy": 0.54},
    "legal-dev": {"hit@1": 0.55, "hit@5": 0.7, "key_fact_recall": 0.32, "refusal_accuracy": 0.85},
    "legal": {"hit@1": 0.75, "hit@5": 0.9, "key_fact_recall": 0.5, "refusal_accuracy": 0.7},
    "notice-dev": {"hit@1": 0.8, "hit@5": 0.93, "key_fact_recall": 0.25, "refusal_accuracy": 0.85},
    "notice": {"hit@1": 0.75, "hit@5": 0.93, "key_fact_recall": 0.5, "refusal_accuracy": 0.8},
}
CEILINGS = {
    "sample": {"false_refusal_rate": 0.03},
    "sample-wrapped": {"false_refusal_rate": 0.03},
    "heldout": {"false_refusal_rate": 0.08},
    "uit-dev": {"false_refusal_rate": 0.22},
    "uit-test": {"false_refusal_rate": 0.21},
    "legal-dev": {"false_refusal_rate": 0.6},
    "legal": {"false_refusal_rate": 0.4},
    "notice-dev": {"false_refusal_rate": 0.62},
    "notice": {"false_refusal_rate": 0.4},
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
