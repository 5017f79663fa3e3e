"""The multi-turn sets: conversations of 2–4 turns, each turn marked follow-up or standalone.

    .venv/bin/python -m eval.dialogues [--json OUT]

A line of `eval/data/dialogues*.jsonl`:
    {"id": "dd01", "corpus": "sample" | "uit-dev" | "uit-test",
     "turns": [{"question", "follow_up": bool, "standalone": the question a careful reader would ask
                alone, "doc": file answering it, "evidence": a sentence copied from that file}]}

Each turn is asked as the chat page, the widget and the API ask it (rag.conversation.read_question
on the conversation so far). Scores per set:
- `detected`: follow-ups read as follow-ups, and standalone turns read as standalone;
- `same_evidence`: of the follow-ups whose standalone form retrieves its evidence in the top k,
  the share whose reading retrieves it too (target ≥ 0.9);
- `standalone_unchanged`: standalone turns after the first answered exactly as without a
  conversation: same answer, same citations (target 1.0).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.qa import DEFAULT_QA, locate
from rag.conversation import read_question
from rag.documents import read_text
from rag.errors import HoidapError
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.text import nfc

DATA = DEFAULT_QA.parent
DIALOGUE_SETS = (("dialogues-dev", DATA / "dialogues-dev.jsonl"), ("dialogues", DATA / "dialogues.jsonl"))
CORPORA = {"sample": None, "uit-dev": DATA / "uit-dev" / "corpus", "uit-test": DATA / "uit-test" / "corpus"}
K = 5


@dataclass(frozen=True)
class Turn:
    question: str
    follow_up: bool
    standalone: str
    doc: str
    evidence: str


@dataclass(frozen=True)
class Dialogue:
    id: str
    corpus: str
    turns: tuple[Turn, ...]


def load_dialogues(path: Path, sample_corpus: Path) -> list[Dialogue]:
    """Read and check a dialogue file: every evidence string must be in its document."""
    dialogues = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            corpus = data["corpus"]
            folder = CORPORA[corpus] or sample_corpus
            turns = tuple(
                Turn(nfc(t["question"]), bool(t["follow_up"]), nfc(t["standalone"]), t["doc"], nfc(t["evidence"]))
                for t in data["turns"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise HoidapError(f"{path}:{number}: not a dialogue ({type(exc).__name__}: {exc})") from None
        for turn in turns:
            if locate(nfc(read_text(folder / turn.doc)), turn.evidence) is None:
                raise HoidapError(f"{path}:{number}: evidence not found in {turn.doc}: {turn.evidence[:60]}")
        dialogues.append(Dialogue(data["id"], corpus, turns))
    return dialogues


def _finds(pipeline: Pipeline, question: str, turn: Turn) -> bool:
    answer = pipeline.ask(question, K)
    return any(p.chunk.doc == turn.doc and locate(p.chunk.text, turn.evidence) for p in answer.passages) or any(
        c.doc == turn.doc and (turn.evidence in c.quote or c.quote in turn.evidence) for c in answer.citations
    )


def score(dialogues: list[Dialogue], pipelines: dict[str, Pipeline]) -> dict[str, Any]:
    """Ask every turn in its conversation and score it (see the module docstring)."""
    follow, alone, detected, comparable, same, found_reading, found_standalone = 0, 0, 0, 0, 0, 0, 0
    unchanged, failures = 0, []
    for dialogue in dialogues:
        pipeline = pipelines[dialogue.corpus]
        previous: str | None = None
        for n, turn in enumerate(dialogue.turns):
            reading = read_question(turn.question, previous)
            previous = reading.searched
            if n == 0:
                continue
            detected += reading.follow_up == turn.follow_up
            if turn.follow_up:
                follow += 1
                by_reading = _finds(pipeline, reading.searched, turn)
                by_standalone = _finds(pipeline, turn.standalone, turn)
                found_reading += by_reading
                found_standalone += by_standalone
                if by_standalone:
                    comparable += 1
                    same += by_reading
                    if not by_reading:
                        failures.append({"id": dialogue.id, "turn": n + 1, "question": turn.question,
                                         "read_as": reading.searched, "standalone": turn.standalone})
            else:
                alone += 1
                with_context, without = pipeline.ask(reading.searched), pipeline.ask(turn.question)
                kept = with_context.text == without.text and with_context.citations == without.citations
                unchanged += kept
                if not kept:
                    failures.append({"id": dialogue.id, "turn": n + 1, "question": turn.question,
                                     "read_as": reading.searched, "standalone": None})
    return {
        "dialogues": len(dialogues),
        "follow_ups": follow,
        "standalone_turns": alone,
        "detected": round(detected / max(1, follow + alone), 3),
        "same_evidence": round(same / max(1, comparable), 3),
        f"evidence@{K}_reading": round(found_reading / max(1, follow), 3),
        f"evidence@{K}_standalone": round(found_standalone / max(1, follow), 3),
        "standalone_unchanged": round(unchanged / max(1, alone), 3),
        "failures": failures,
    }


def run_dialogue_sets(settings: Settings) -> dict[str, dict[str, Any]]:
    """Both dialogue sets scored, each corpus answered from its suite index."""
    from eval.suite import open_pipeline, set_settings

    pipelines: dict[str, Pipeline] = {}
    out = {}
    for name, path in DIALOGUE_SETS:
        dialogues = load_dialogues(path, settings.corpus_dir)
        for corpus in {d.corpus for d in dialogues} - set(pipelines):
            own = set_settings(settings, CORPORA[corpus], corpus)
            pipelines[corpus] = open_pipeline(own, CORPORA[corpus] is not None)
        out[name] = score(dialogues, pipelines)
    return out


def format_dialogues(results: dict[str, dict[str, Any]]) -> str:
    """One line per dialogue set, then each turn that missed."""
    lines = []
    for name, r in results.items():
        lines.append(
            f"{name}: {r['dialogues']} dialogues, {r['follow_ups']} follow-ups, {r['standalone_turns']} standalone "
            f"turns; detected {r['detected']}, same evidence {r['same_evidence']}, "
            f"evidence@{K} {r[f'evidence@{K}_reading']} (standalone form {r[f'evidence@{K}_standalone']}), "
            f"standalone unchanged {r['standalone_unchanged']}"
        )
        lines += [f"  {f['id']} turn {f['turn']}: {f['question']!r} read as {f['read_as']!r}" for f in r["failures"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = run_dialogue_sets(Settings.from_env())
    print(format_dialogues(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
