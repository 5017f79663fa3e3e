"""The `hoidap` command. Heavy imports happen inside the commands, so --help is instant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rag.errors import HoidapError
from rag.settings import RETRIEVAL_MODES, Settings

SAMPLE_QUESTION = "Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?"


def _quiet_libraries() -> None:
    """Keep third-party libraries from phoning out or printing noise."""
    for name, value in (
        ("GRADIO_ANALYTICS_ENABLED", "False"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
    ):
        os.environ.setdefault(name, value)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    flags = {
        "corpus_dir": getattr(args, "corpus", None),
        "index_dir": getattr(args, "index", None),
        "embedding_model": getattr(args, "model", None),
        "k": getattr(args, "k", None),
        "retrieval": getattr(args, "retrieval", None),
    }
    return replace(settings, **{k: v for k, v in flags.items() if v is not None}).checked()


def cmd_index(args: argparse.Namespace) -> int:
    from rag.index import build_index

    settings = _settings(args)
    report = build_index(settings)
    if report.unchanged:
        print(
            f"index at {settings.index_dir} is up to date: {report.documents} documents, "
            f"{report.chunks} chunks, nothing re-embedded ({report.seconds:.1f} s)"
        )
    else:
        print(
            f"indexed {report.documents} documents into {report.chunks} chunks at "
            f"{settings.index_dir}: {report.embedded} embedded, {report.reused} reused, "
            f"model {report.model} ({report.seconds:.1f} s)"
        )
    return 0


def format_answer(data: dict[str, object]) -> str:
    """The answer object as text for a terminal: answer, then numbered sources."""
    lines = [str(data["answer"])]
    citations = data["citations"]
    assert isinstance(citations, list)
    if citations:
        lines += ["", "Nguồn:"]
        for c in citations:
            date = f", {c['date']}" if c["date"] else ""
            lines.append(f"[{c['n']}] {c['title']}{date} — {c['doc']} [{c['start']}:{c['end']}]")
            lines.append(f"    “{c['quote']}”")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline, answer_json, clean_question

    settings = _settings(args)
    clean_question(args.question)  # a bad question fails before the model loads
    pipeline = Pipeline.open(settings)
    data = answer_json(pipeline.ask(args.question))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_answer(data))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hoidap",
        description="Hỏi đáp: answer Vietnamese questions from a folder of documents, "
        "citing the exact source passage of every sentence.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index of the corpus")
    p.add_argument("--corpus", type=Path, help="folder of .txt/.md files (default data/corpus)")
    p.add_argument("--index", type=Path, help="index folder (default data/index)")
    p.add_argument("--model", help="embedding model: hub name or local folder")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--index", type=Path, help="index folder (default data/index)")
    p.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.set_defaults(func=cmd_ask)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_libraries()
    try:
        return int(args.func(args))
    except HoidapError as exc:
        print(f"hoidap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hoidap: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
