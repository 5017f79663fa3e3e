"""`hoidap eval`: run the Q&A set, score it with the metrics of eval-format.md, print a table."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eval.qa import QAItem
from rag.pipeline import Pipeline, answer_json
from rag.text import canonical

METRICS = (
    "hit@1", "hit@3", "hit@5", "mrr", "key_fact_recall", "key_facts_shown", "full_answer_rate", "citation_support",
    "answer_rate", "wrong_answer_rate", "false_refusal_rate", "citation_exact", "refusal_accuracy",
    "unanswerable_answered", "answer_chars_p50", "latency_ms_p50", "latency_ms_p95", "n", "answerable",
    "outcome_answer", "outcome_closest", "outcome_none",
)
OUTCOMES = ("answer", "closest", "none")
DEPTH = 10  # passages read for mrr

AskFn = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Run:
    """One pass over the Q&A set: per-question results and their summary."""

    results: list[dict[str, Any]]
    summary: dict[str, float]
    by_kind: dict[str, dict[str, float]]


def score_one(item: QAItem, data: dict[str, Any], texts: dict[str, str], latency_ms: float) -> dict[str, Any]:
    """Per-question scores from an answer object (with up to DEPTH passages)."""
    passages = data["passages"]
    first = next(
        (p["rank"] for p in passages if item.cites(p["doc"], p["start"], p["end"])), None
    )
    outcome = data.get("outcome", "none" if data["refused"] else "answer")
    shown = canonical(data["answer"]) if outcome != "none" else ""
    facts = [canonical(f) in shown for f in item.key_facts]
    return {
        "id": item.id,
        "kind": item.kind,
        "question": item.question,
        "answerable": item.answerable,
        "refused": data["refused"],
        "outcome": outcome,
        "answer": data["answer"],
        "first_hit_rank": first,
        # in a confident answer; key_facts_shown also counts the quotes of outcome `closest`
        "key_facts_found": sum(facts) if outcome == "answer" else 0,
        "key_facts_shown": sum(facts),
        "key_facts_total": len(facts),
        "citation_supported": any(
            item.cites(c["doc"], c["start"], c["end"]) for c in data["citations"]
        ),
        "citations_exact": sum(
            texts.get(c["doc"], "")[c["start"] : c["end"]] == c["quote"] for c in data["citations"]
        ),
        "citations_total": len(data["citations"]),
        "latency_ms": round(latency_ms, 2),
        "passages": passages[:5],
        "citations": data["citations"],
        "evidence": list(item.evidence),
    }


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The summary metrics of eval-format.md over `results`."""
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    answered = [r for r in answerable if r["outcome"] == "answer"]

    def share(rows: Sequence[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> float:
        return round(sum(map(test, rows)) / len(rows), 4) if rows else 0.0

    def hit(k: int) -> Callable[[dict[str, Any]], bool]:
        return lambda r: r["first_hit_rank"] is not None and r["first_hit_rank"] <= k

    facts_total = sum(r["key_facts_total"] for r in answerable)
    cites_total = sum(r["citations_total"] for r in results)
    latencies = sorted(r["latency_ms"] for r in results)
    return {
        "hit@1": share(answerable, hit(1)),
        "hit@3": share(answerable, hit(3)),
        "hit@5": share(answerable, hit(5)),
        "mrr": round(
            sum(1 / r["first_hit_rank"] for r in answerable if r["first_hit_rank"]) / len(answerable), 4
        )
        if answerable
        else 0.0,
        "key_fact_recall": round(sum(r["key_facts_found"] for r in answerable) / facts_total, 4)
        if facts_total
        else 0.0,
        "key_facts_shown": round(sum(r["key_facts_shown"] for r in answerable) / facts_total, 4)
        if facts_total
        else 0.0,
        "full_answer_rate": share(answerable, lambda r: r["key_facts_found"] == r["key_facts_total"]),
        "citation_support": share(answered, lambda r: r["citation_supported"]),
        "answer_rate": share(answerable, lambda r: r["outcome"] == "answer"),
        "wrong_answer_rate": share(
            answerable, lambda r: r["outcome"] == "answer" and r["key_facts_total"] > 0 and r["key_facts_found"] == 0
        ),
        "false_refusal_rate": share(answerable, lambda r: r["outcome"] == "none"),
        "citation_exact": round(sum(r["citations_exact"] for r in results) / cites_total, 4)
        if cites_total
        else 1.0,
        "refusal_accuracy": share(unanswerable, lambda r: r["outcome"] == "none"),
        "unanswerable_answered": share(unanswerable, lambda r: r["outcome"] == "answer"),
        "answer_chars_p50": round(statistics.median(len(r["answer"]) for r in answered), 1) if answered else 0.0,
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else 0.0,
        "latency_ms_p95": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2)
        if latencies
        else 0.0,
        "n": len(results),
        "answerable": len(answerable),
        **{f"outcome_{o}": sum(r["outcome"] == o for r in results) for o in OUTCOMES},
    }


def run_items(items: Sequence[QAItem], ask: AskFn, texts: dict[str, str], label: str) -> Run:
    """Ask every question (after one untimed warm-up ask) and score the answers."""
    from tqdm import tqdm

    ask(items[0].question)  # warm: model, caches
    results = []
    for item in tqdm(items, desc=f"eval {label}", unit="q", file=sys.stderr, leave=False):
        t0 = time.perf_counter()
        data = ask(item.question)
        results.append(score_one(item, data, texts, (time.perf_counter() - t0) * 1000))
    kinds = sorted({r["kind"] for r in results})
    by_kind = {kind: summarize([r for r in results if r["kind"] == kind]) for kind in kinds}
    return Run(results=results, summary=summarize(results), by_kind=by_kind)


def pipeline_ask(pipeline: Pipeline, mode: str) -> AskFn:
    """An ask function over the pipeline that returns DEPTH passages."""
    return lambda question: answer_json(pipeline.ask(question, k=DEPTH, mode=mode))


# ---------------------------------------------------------------- printing

_COLUMNS = (
    ("hit@1", "hit@1"), ("hit@5", "hit@5"), ("key_fact_recall", "facts"), ("key_facts_shown", "shown"),
    ("answer_rate", "answered"), ("wrong_answer_rate", "wrong"), ("false_refusal_rate", "none_ans"),
    ("refusal_accuracy", "none_una"), ("unanswerable_answered", "ans_una"), ("citation_exact", "cite_exact"),
    ("answer_chars_p50", "chars_p50"), ("latency_ms_p95", "p95_ms"), ("outcome_answer", "#answer"),
    ("outcome_closest", "#closest"), ("outcome_none", "#none"), ("n", "n"),
)
_COUNTS = frozenset({"n", "outcome_answer", "outcome_closest", "outcome_none"})


def table(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    """A fixed-width table, one row per (label, summary)."""
    width = max(12, *(len(label) for label, _ in rows))
    head = "".ljust(width) + "".join(name.rjust(11) for _, name in _COLUMNS)
    lines = [head, "-" * len(head)]
    for label, summary in rows:
        cells = []
        for key, _ in _COLUMNS:
            value = summary.get(key, 0)
            text = f"{value:.0f}" if key in _COUNTS or value >= 100 else f"{value:.3f}"
            cells.append(text.rjust(11))
        lines.append(label.ljust(width) + "".join(cells))
    return "\n".join(lines)


def failures(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions that missed: no hit in 5, a key fact not shown, told `none` wrongly, or answered wrongly."""
    out = []
    for r in results:
        if r["answerable"]:
            missed = (
                r["outcome"] == "none"
                or r["first_hit_rank"] is None
                or r["first_hit_rank"] > 5
                or r["key_facts_shown"] < r["key_facts_total"]
            )
        else:
            missed = r["outcome"] == "answer"
        if missed:
            out.append(r)
    return out


def format_failures(results: Sequence[dict[str, Any]]) -> str:
    lines = []
    for r in failures(results):
        top = r["passages"][0] if r["passages"] else None
        lines.append(f"✗ {r['id']} [{r['kind']}] {r['question']}")
        if r["evidence"]:
            lines.append(f"    expected: {r['evidence'][0][:110]}")
        if top:
            lines.append(f"    first:    {top['doc'][:3]}… {top['text'][:110]!r}")
        found = f"{r['key_facts_shown']}/{r['key_facts_total']} facts" if r["answerable"] else "should not answer"
        answer = f"[{r['outcome']}] " + ("" if r["outcome"] == "none" else r["answer"][:160].replace("\n", " "))
        lines.append(f"    answer:   ({found}, first hit {r['first_hit_rank']}) {answer}")
    return "\n".join(lines) if lines else "(none)"
