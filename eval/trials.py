"""What the trial scripts share: build each variant's index afresh for each set, score it, print a row.

`eval/chunking_trial.py` and `eval/segmentation_trial.py` each give their variants (a context manager
that makes the build and the questions work the variant's way) to `main`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.runner import pipeline_ask, run_items
from eval.suite import load_suite, open_pipeline, stored_texts
from rag.settings import Settings

SCORES = ("hit@1", "hit@5", "key_facts_shown", "answer_rate", "wrong_answer_rate")
Seed = Callable[[Path, str, Path], None]  # (seed root, set name, the variant's index folder)


def main(
    argv: list[str] | None,
    doc: str,
    variants: Sequence[str],
    dev_sets: Sequence[str],
    variant: Callable[[str], AbstractContextManager[None]],
    seed: Seed | None = None,
) -> int:
    """Parse the trial's options, then score every variant on every set; `seed`, when given, adds
    `--seed ROOT` and prepares each variant's index folder from ROOT before it is brought up to date."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="embedding model (default: the packaged one)")
    parser.add_argument("--sets", nargs="+", default=list(dev_sets))
    parser.add_argument("--variants", nargs="+", default=list(variants), choices=variants)
    parser.add_argument("--json", type=Path, help="write the scores here too")
    if seed is not None:
        parser.add_argument("--seed", type=Path, help="start from the sets' indexes under this folder")
    args = parser.parse_args(argv)
    root: Path | None = getattr(args, "seed", None)
    settings = Settings.from_env()
    if args.model:
        settings = replace(settings, embedding_model=args.model)
    suite = {name: (items, own) for name, items, own, _ in load_suite(settings)}
    scores: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hoidap-trial-") as tmp:
        for name in args.sets:
            items, own = suite[name]
            for v in args.variants:
                started = time.perf_counter()
                with variant(v):
                    at = replace(own, index_dir=Path(tmp) / f"{name}-{v}")
                    if seed is not None and root is not None:
                        seed(root, name, at.index_dir)
                    pipeline = open_pipeline(at, update=root is not None, log=lambda _: None)
                    texts = stored_texts(pipeline, at.corpus_dir)
                    s = run_items(items, pipeline_ask(pipeline, at.retrieval), texts, v).summary
                row = {"set": name, "variant": v, "chunks": len(pipeline.index.chunks), **{k: s.get(k) for k in SCORES}}
                scores.append(row)
                print(
                    f"{name:12} {v:16} chunks {row['chunks']:5}  hit@1 {s['hit@1']:.3f}  hit@5 {s['hit@5']:.3f}  "
                    f"shown {s['key_facts_shown']:.3f}  answer {s['answer_rate']:.3f}  "
                    f"wrong {s['wrong_answer_rate']:.3f}  ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(scores, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0
