"""The evaluation suite: every Q&A set, each answered from its own documents and index.

Sets written from the project's sample corpus (`sample`, `heldout`) are answered from
the corpus and index of the settings; the others carry their corpus beside their
questions (`eval/data/<set>/corpus/`) and get an index of their own next to the
settings' index folder (`data/index-<set>/`), built on first use and updated after.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eval.qa import DEFAULT_QA, QAItem, load_qa
from eval.runner import Run, pipeline_ask, run_items
from rag.documents import read_text
from rag.errors import IndexMissing
from rag.index import build_index, read_manifest
from rag.pipeline import Pipeline
from rag.settings import RETRIEVAL_MODES, Settings
from rag.text import nfc

DATA = DEFAULT_QA.parent
# (name, Q&A file, own corpus folder or None for the settings' corpus). The dev sets (sample,
# uit-dev, legal-dev, notice-dev, statute-dev) are for tuning; uit-test, legal, notice and statute are
# for reporting (the legal, notice and statute sets were written blind to the code; the statute sets
# are real laws of ../shared/data/statutes/, split by law, with some articles left out of the corpus
# copies for unanswerable questions: see each set's left-out.json). sample-wrapped asks the sample
# questions of hard-wrapped copies of the articles (eval/build_wrapped.py).
SETS: tuple[tuple[str, Path, Path | None], ...] = (
    ("sample", DATA / "qa.jsonl", None),
    ("sample-wrapped", DATA / "qa.jsonl", DATA / "sample-wrapped" / "corpus"),
    ("heldout", DATA / "heldout.jsonl", None),
    ("uit-dev", DATA / "uit-dev" / "qa.jsonl", DATA / "uit-dev" / "corpus"),
    ("uit-test", DATA / "uit-test" / "qa.jsonl", DATA / "uit-test" / "corpus"),
    ("legal-dev", DATA / "legal-dev" / "qa.jsonl", DATA / "legal-dev" / "corpus"),
    ("legal", DATA / "legal" / "qa.jsonl", DATA / "legal" / "corpus"),
    ("notice-dev", DATA / "notice-dev" / "qa.jsonl", DATA / "notice-dev" / "corpus"),
    ("notice", DATA / "notice" / "qa.jsonl", DATA / "notice" / "corpus"),
    ("statute-dev", DATA / "statute-dev" / "qa.jsonl", DATA / "statute-dev" / "corpus"),
    ("statute", DATA / "statute" / "qa.jsonl", DATA / "statute" / "corpus"),
)

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SetRun:
    """One Q&A set scored: the main run and, with --compare, one run per mode and the baseline."""

    name: str
    items: list[QAItem]
    main: Run
    compare: dict[str, Run]
    model: str


def set_settings(settings: Settings, corpus: Path | None, name: str) -> Settings:
    """The settings a set is answered with: its own corpus and index, or the settings' ones."""
    if corpus is None:
        return settings
    return replace(settings, corpus_dir=corpus, index_dir=settings.index_dir.parent / f"index-{name}")


def open_pipeline(settings: Settings, update: bool, log: Log = _stderr) -> Pipeline:
    """The pipeline over `settings`' index: built first when there is none, brought up to date
    when `update` (a set's own index; unchanged documents are not re-embedded)."""
    try:
        read_manifest(settings.index_dir)
    except IndexMissing:
        log(f"no index at {settings.index_dir}: building it first")
        build_index(settings, log=log)
    else:
        if update:
            build_index(settings, log=log)
    return Pipeline.open(settings)


def stored_texts(pipeline: Pipeline, corpus_dir: Path) -> dict[str, str]:
    """The documents as stored on disk (citations are checked against them, not the index's copy)."""
    texts = {}
    for doc in pipeline.index.documents:
        try:
            texts[doc] = nfc(read_text(corpus_dir / doc))
        except (OSError, ValueError):
            texts[doc] = pipeline.index.documents[doc].text
    return texts


def run_set(
    name: str, items: list[QAItem], settings: Settings, compare: bool, own_index: bool, log: Log = _stderr
) -> SetRun:
    """Answer and score one set (and, with `compare`, every retrieval mode and the baseline)."""
    from eval.baseline import Baseline

    pipeline = open_pipeline(settings, own_index, log)
    texts = stored_texts(pipeline, settings.corpus_dir)
    main = run_items(items, pipeline_ask(pipeline, settings.retrieval), texts, f"{name} {settings.retrieval}")
    runs: dict[str, Run] = {}
    if compare:
        for mode in RETRIEVAL_MODES:
            runs[mode] = (
                main if mode == settings.retrieval else run_items(items, pipeline_ask(pipeline, mode), texts, mode)
            )
        runs["baseline"] = run_items(items, Baseline(pipeline.encoder, settings.corpus_dir).ask, texts, "baseline")
    model = pipeline.index.model + (" (offline fallback)" if pipeline.index.fallback_model else "")
    return SetRun(name=name, items=items, main=main, compare=runs, model=model)


def load_suite(settings: Settings) -> list[tuple[str, list[QAItem], Settings, bool]]:
    """Every set of the suite with its settings and whether its index is its own,
    loaded and checked before any work (a bad file fails first)."""
    out = []
    for name, qa, corpus in SETS:
        own = set_settings(settings, corpus, name)
        out.append((name, load_qa(qa, own.corpus_dir), own, corpus is not None))
    return out


def as_json(run: SetRun) -> dict[str, Any]:
    """The JSON of eval-format.md for one set."""
    out: dict[str, Any] = {"summary": run.main.summary, "by_kind": run.main.by_kind, "results": run.main.results}
    if run.compare:
        out["compare"] = {mode: r.summary for mode, r in run.compare.items()}
    return out
