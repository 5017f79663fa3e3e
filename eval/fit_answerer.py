"""Fit the answerer's weights and refusal threshold on the dev sets; write rag/answer_weights.json.

    HF_HUB_OFFLINE=1 python -m eval.fit_answerer            # fit and write
    HF_HUB_OFFLINE=1 python -m eval.fit_answerer --dry-run  # fit and print only

Input: the dev sets (`sample`, the shipped set written from the sample corpus, `uit-dev`,
`legal-dev` and `notice-dev`), each answered from its own index with the settings' model (the packaged
offline model by default). For every question the retrieved sentences are weighed
once; a candidate is right when it overlaps an evidence span of the source.

The fit: coordinate search over a grid per weight, a few rounds from the current
defaults; for each setting the threshold that does best is found exactly (it is held
against the chosen sentence's support: its score without the ordering-only features). A set's
score is the share of answerable questions whose chosen sentence is right (a
refusal is wrong) plus the share of unanswerable questions refused, halved; the
objective is the mean over the dev sets. The output holds the weights, the scores
they gave on each dev set and the scores of the starting weights, so a rerun
reproduces them and the next person can refit instead of guessing. Then the margin within
which a runner-up is said with the best sentence is chosen by running the answerer itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from eval.qa import QAItem
from eval.suite import SETS, load_suite, open_pipeline
from rag.answer import FEATURES, ORDERING_ONLY, PENALTIES, WEIGHTS_FILE, Question, Weights
from rag.pipeline import ANSWER_DEPTH, Pipeline
from rag.retrieval import Retrieved
from rag.settings import Settings

DEV_SETS = ("sample", "uit-dev", "legal-dev", "notice-dev")
# The values each weight may take; "unseen", "unnamed", "misses" and "clash" are penalties (subtracted).
GRID: dict[str, tuple[float, ...]] = {
    "coverage": (1.0,),  # the unit the others are measured in
    "dense": (0.0, 0.1, 0.2, 0.3, 0.5, 0.8),
    "rank": (0.0, 0.025, 0.05, 0.1, 0.2),
    "fits": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    "misses": (0.0, -0.05, -0.1, -0.2, -0.3, -0.5),
    "counted": (0.0, 0.05, 0.1, 0.15, 0.25),
    "clash": (0.0, -0.1, -0.2, -0.4, -1.0),
    "unnamed": (0.0, -0.1, -0.2, -0.4, -0.6, -1.0),
    "unseen": (0.0, -0.1, -0.2, -0.4, -0.6, -1.0),
}
# How far below the best a runner-up may score and still be said with it; tried after the weights.
SECOND_MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
# The longest median answer (characters, answered questions of a dev set) a margin may give:
# the bound on concise answers.
MEDIAN_CHARS = 400
ROUNDS = 3


@dataclass(frozen=True)
class Weighed:
    """One question's candidates: their feature matrix and which of them are right."""

    id: str
    answerable: bool
    features: np.ndarray  # (candidates, FEATURES)
    right: np.ndarray  # (candidates,) bool


Searched = list[tuple[QAItem, Question, Retrieved]]


def search_set(pipeline: Pipeline, items: list[QAItem]) -> Searched:
    """Every question of a set parsed and retrieved once, as the ask path does (hybrid retrieval)."""
    return [(item, *pipeline.search(item.question, ANSWER_DEPTH, "hybrid")) for item in items]


def weigh_set(pipeline: Pipeline, searched: Searched) -> list[Weighed]:
    """Candidates of every question of a set, as the pipeline would weigh them."""
    out = []
    for item, q, retrieved in searched:
        scored = pipeline.answerer.weigh(q, retrieved)
        rows = [[c.features[f] for f in FEATURES] for c in scored]
        matrix = np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))
        right = np.array([item.cites(c.span.doc, c.span.start, c.span.end) for c in scored], dtype=bool)
        out.append(Weighed(item.id, item.answerable, matrix, right))
    return out


# Zero where a feature only orders sentences (rag.answer.ORDERING_ONLY): the support vector.
SUPPORT = np.array([0.0 if f in ORDERING_ONLY else 1.0 for f in FEATURES])


def _tops(data: list[Weighed], vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: the best candidate's support, whether it is right, whether the question is answerable."""
    top = np.full(len(data), -np.inf)
    right = np.zeros(len(data), dtype=bool)
    for n, q in enumerate(data):
        if len(q.features):
            i = int(np.argmax(q.features @ vector))
            top[n], right[n] = q.features[i] @ (vector * SUPPORT), q.right[i]
    return top, right, np.array([q.answerable for q in data], dtype=bool)


def _scores(top: np.ndarray, right: np.ndarray, answerable: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The set's score ((right-sentence rate + refusal accuracy) / 2) for each threshold."""
    answered = top[None, :] >= thresholds[:, None]
    n_ans = max(int(answerable.sum()), 1)
    n_un = int((~answerable).sum())
    right_rate = (answered & right[None, :] & answerable[None, :]).sum(axis=1) / n_ans
    refusal = (~answered & ~answerable[None, :]).sum(axis=1) / n_un if n_un else np.ones(len(thresholds))
    return (right_rate + refusal) / 2


def evaluate(data: list[Weighed], vector: np.ndarray, threshold: float) -> dict[str, float]:
    """Scores of one set under weights `vector` and `threshold`."""
    top, right, answerable = _tops(data, vector)
    answered = top >= threshold
    n_ans, n_un = max(int(answerable.sum()), 1), int((~answerable).sum())
    answer_rate = float((answered & right & answerable).sum()) / n_ans
    refusal = float((~answered & ~answerable).sum()) / n_un if n_un else 1.0
    return {
        "right_sentence": round(answer_rate, 4),
        "refusal_accuracy": round(refusal, 4),
        "false_refusal_rate": round(float((~answered & answerable).sum()) / n_ans, 4),
        "score": round((answer_rate + refusal) / 2, 4),
    }


def best_threshold(sets: dict[str, list[Weighed]], vector: np.ndarray) -> tuple[float, float]:
    """The threshold that maximizes the objective (the mean of the sets' scores) for `vector`."""
    tops = [_tops(data, vector) for data in sets.values()]
    values = np.unique(np.round(np.concatenate([t[0][np.isfinite(t[0])] for t in tops]), 4))
    # Midpoints between neighbouring top scores: every distinct refusal decision is tried once.
    options = np.concatenate([[values[0] - 0.01], (values[:-1] + values[1:]) / 2, [values[-1] + 0.01]])
    objective = np.mean([_scores(*t, options) for t in tops], axis=0)
    best = np.flatnonzero(objective >= objective.max() - 1e-12)
    i = best[np.argmin(np.abs(options[best] - Weights().threshold))]  # ties: nearest the default
    return float(objective[i]), round(float(options[i]), 4)


def to_vector(weights: Weights) -> np.ndarray:
    """Weights as signed coefficients of the features (penalties negative)."""
    return np.array([(-1.0 if f in PENALTIES else 1.0) * getattr(weights, f) for f in FEATURES])


def to_weights(vector: np.ndarray, threshold: float, start: Weights) -> Weights:
    values = {f: abs(float(v)) if f in PENALTIES else float(v) for f, v in zip(FEATURES, vector)}
    return replace(start, **values, threshold=threshold)


def fit(sets: dict[str, list[Weighed]], start: Weights, log: bool = True) -> tuple[Weights, float]:
    """Coordinate search over GRID from `start`; returns the weights and their objective."""
    vector = to_vector(start)
    value, threshold = best_threshold(sets, vector)
    for round_ in range(ROUNDS):
        changed = False
        for j, name in enumerate(FEATURES):
            for option in GRID[name]:
                trial = vector.copy()
                trial[j] = option
                trial_value, trial_threshold = best_threshold(sets, trial)
                if trial_value > value + 1e-9:
                    vector, value, threshold, changed = trial, trial_value, trial_threshold, True
        if log:
            print(f"round {round_ + 1}: objective {value:.4f}", file=sys.stderr)
        if not changed:
            break
    return to_weights(vector, threshold, start), value


def said_right(pipeline: Pipeline, searched: Searched) -> tuple[float, float]:
    """Share of answerable questions whose answer cites an evidence span, and the median answer length."""
    right, lengths = 0, []
    for item, q, retrieved in searched:
        text, refused, citations, _, _ = pipeline.answerer.answer(q, retrieved)
        if refused:
            continue
        lengths.append(len(text))
        right += any(item.cites(c.doc, c.start, c.end) for c in citations)
    answerable = max(sum(item.answerable for item, _, _ in searched), 1)
    return round(right / answerable, 4), float(np.median(lengths)) if lengths else 0.0


def fit_second_margin(pipelines: dict[str, tuple[Pipeline, Searched]], fitted: Weights) -> tuple[float, dict]:
    """The margin with the most answers citing their evidence (mean over the dev sets) whose median
    answer stays within MEDIAN_CHARS on every dev set; ties go to the smaller margin."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    best, best_value = 0.0, -1.0
    for margin in SECOND_MARGINS:
        weights = replace(fitted, second_margin=margin)
        row = {}
        for name, (pipeline, searched) in pipelines.items():
            pipeline.answerer.weights = weights
            row[name] = said_right(pipeline, searched)
        table[str(margin)] = row
        value = float(np.mean([r for r, _ in row.values()]))
        print(f"second margin {margin}: {row}", file=sys.stderr)
        if all(length <= MEDIAN_CHARS for _, length in row.values()) and value > best_value + 1e-9:
            best, best_value = margin, value
    return best, {"cites_evidence_and_median_chars": table, "chosen": best, "median_chars_at_most": MEDIAN_CHARS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE, help="where to write the weights")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    suite = {name: (items, own, own_index) for name, items, own, own_index in load_suite(settings)}
    sets, pipelines = {}, {}
    for name in DEV_SETS:
        items, own, own_index = suite[name]
        print(f"weighing {name} ({len(items)} questions)", file=sys.stderr)
        pipeline = open_pipeline(own, own_index)
        searched = search_set(pipeline, items)
        pipelines[name] = (pipeline, searched)
        sets[name] = weigh_set(pipeline, searched)

    start = Weights()
    start_vector = to_vector(start)
    fitted, value = fit(sets, start)
    vector = to_vector(fitted)
    margin, margins = fit_second_margin(pipelines, fitted)
    fitted = replace(fitted, second_margin=margin)
    report = {
        "weights": {k: round(v, 4) for k, v in asdict(fitted).items()},
        "fitted_on": list(DEV_SETS),
        "model": settings.embedding_model or "default (packaged offline model where the hub cannot be reached)",
        "objective": round(value, 4),
        "dev_scores": {name: evaluate(data, vector, fitted.threshold) for name, data in sets.items()},
        "second_margin": margins,
        "start_weights": asdict(start),
        "start_scores": {name: evaluate(data, start_vector, start.threshold) for name, data in sets.items()},
        "note": "written by `python -m eval.fit_answerer`; see its docstring for the objective",
        "sets_known": [name for name, _, _ in SETS],
    }
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    print(text)
    if not args.dry_run:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
