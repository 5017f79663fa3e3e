"""How many sentences outcome `closest` quotes (rag.answer.CLOSEST_QUOTES), fitted on the dev sets.

    HF_HUB_OFFLINE=1 python -m eval.fit_closest [--model DIR]

For each count, and for quotes drawn from different passages (today's rule) or from any, every dev set
is answered again from its index (built first when missing, as `hoidap eval --suite` does) and scored:
key facts shown (in the answer or the closest quotes) over the answerable questions, and the median
length of what is said. The decision (which outcome) does not change with the count, only what a
`closest` reply quotes. The count kept is the smallest whose macro key facts shown is within 0.005 of
the best while the median reply stays ≤ 400 characters (the issue's bound) on every set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import rag.answer
from eval.runner import pipeline_ask, run_items
from eval.suite import load_suite, open_pipeline, stored_texts
from eval.train_decision import DEV_SETS
from rag.answer import Answerer, Candidate, Span
from rag.retrieval import Retrieved
from rag.settings import Settings

COUNTS = (1, 2, 3, 4)
MAX_CHARS_P50 = 400  # the bound on the median reply
NEAR = 0.005  # a count this close to the best macro score is as good
_TODAY = Answerer.closest


def _any_passage(self: Answerer, scored: list[Candidate], retrieved: Retrieved) -> list[Span]:
    del self, retrieved
    return [c.span for c in scored[: rag.answer.CLOSEST_QUOTES]]


@contextlib.contextmanager
def quoting(count: int, distinct: bool) -> Iterator[None]:
    before = rag.answer.CLOSEST_QUOTES
    rag.answer.CLOSEST_QUOTES = count
    Answerer.closest = _TODAY if distinct else _any_passage  # type: ignore[method-assign]
    try:
        yield
    finally:
        rag.answer.CLOSEST_QUOTES = before
        Answerer.closest = _TODAY  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="embedding model (default: the packaged one)")
    parser.add_argument("--json", type=Path, help="write the scores here too")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.model:
        settings = replace(settings, embedding_model=args.model)
    sets = [(n, items, own, is_own) for n, items, own, is_own in load_suite(settings) if n in DEV_SETS]
    opened = {n: open_pipeline(own, is_own) for n, _, own, is_own in sets}
    rows: list[dict[str, Any]] = []
    for distinct in (True, False):
        for count in COUNTS:
            row: dict[str, Any] = {"quotes": count, "from": "different passages" if distinct else "any passage"}
            with quoting(count, distinct):
                for name, items, own, _ in sets:
                    pipeline = opened[name]
                    texts = stored_texts(pipeline, own.corpus_dir)
                    s = run_items(items, pipeline_ask(pipeline, own.retrieval), texts, f"{name} {count}").summary
                    row[name] = {"shown": s["key_facts_shown"], "chars_p50": s["answer_chars_p50"]}
            row["macro_shown"] = round(sum(row[n]["shown"] for n, *_ in sets) / len(sets), 4)
            row["max_chars_p50"] = max(row[n]["chars_p50"] for n, *_ in sets)
            rows.append(row)
            print(
                f"{count} quote(s) from {row['from']:18}  macro shown {row['macro_shown']:.4f}  "
                + "  ".join(f"{n} {row[n]['shown']:.3f}/{row[n]['chars_p50']:.0f}" for n, *_ in sets),
                flush=True,
            )
    fitting = [r for r in rows if r["max_chars_p50"] <= MAX_CHARS_P50]
    best = max(r["macro_shown"] for r in fitting)
    chosen = min((r for r in fitting if r["macro_shown"] >= best - NEAR), key=lambda r: (r["quotes"], r["from"]))
    print(f"chosen: {chosen['quotes']} quote(s) from {chosen['from']} (macro key facts shown {chosen['macro_shown']})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "chosen": chosen}, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
