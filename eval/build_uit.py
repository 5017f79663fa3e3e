"""Build the uit-dev and uit-test Q&A sets from the public uit-qa reading-comprehension set.

Every paragraph of the SQuAD-format `train.json` (see `../shared/data/uit-qa/README.md`) becomes one
document, `corpus/uit-NNN.txt` (NNN: the paragraph's 0-based index in the file): the article's title,
a blank line, then the paragraph, all in NFC. The paragraphs are split into `uit-dev` (tune on it) and
`uit-test` (report on it), about half each and the same share of every genre. Paragraphs that share a
sentence stay in one split, so no text is in both.

Each question of a document in a split's corpus becomes an answerable item whose evidence is its
shortest gold answer (`eval.qa.load_qa` locates evidence by its first occurrence in the document, so an
answer whose first occurrence is elsewhere is extended word by word until it is found where the gold
answer is). About one paragraph in six of each split is left out of that split's corpus, chosen among
those closest in topic to a paragraph that stays in; its questions become unanswerable items when none
of their gold answers is in any document of that corpus.

The output is deterministic: running it twice gives the same bytes. Rerun it after changing it with

    python -m eval.build_uit [--source PATH/train.json] [--out DIR]

which deletes and rewrites `DIR/uit-dev/` and `DIR/uit-test/` (qa.jsonl, corpus/, README.md, LICENSE)
and prints a summary. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import shutil
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.groups import connected

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "uit-qa" / "train.json"
DEFAULT_OUT = Path(__file__).resolve().parent / "data"
DESCRIPTION = "Build eval/data/uit-dev and eval/data/uit-test from the uit-qa train.json (deterministic)."
SPLITS = (("uit-dev", "ud"), ("uit-test", "ut"))  # folder name, id prefix
FIELDS = ("id", "question", "answerable", "source", "evidence", "key_facts", "kind")
LEAVE_OUT_SHARE = 1 / 6  # of each split's paragraphs (per stratum), for unanswerable questions
MIN_ANSWER_CHARS = 2
MIN_SHARED_SENTENCE = 40  # characters: a shared sentence this long means shared text, not a phrase
SIMILARITY_DIGITS = 9  # cosines are rounded so that a last-bit difference between platforms never reorders

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
# Words a question almost always has and that are always written with marks: without their marks,
# the writer typed without diacritics (a question like "Ai tham gia SEA Games?" just needs none).
_FOLDED_MARKED = frozenset({"gi", "nao", "nhieu", "duoc", "khong", "la", "cua", "nhung", "dau"})
_NUMBER = re.compile(r"\b(?:bao nhiêu|mấy)\b")
_WHEN = re.compile(r"\b(?:khi nào|năm nào|ngày nào|bao giờ|thời gian nào)\b")
_WHO = re.compile(r"(?<!\w)ai(?!\w)|\bngười nào\b")
_DURATION = re.compile(r"\bbao lâu\b")
_LIST = re.compile(r"\bnhững\b|\bcác\b.*\bnào\b|\bgồm\b")


class BuildError(Exception):
    """The source file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Question:
    """One SQuAD question: its text and gold answers (text, answer_start in the raw context)."""

    number: int  # position within its paragraph
    text: str
    answers: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the source and the document written for it."""

    index: int
    title: str
    context: str  # as in the source
    body: str  # NFC, stripped: the document's text after the title line
    body_shift: int  # body position = NFC context position - body_shift
    questions: tuple[Question, ...]

    @property
    def name(self) -> str:
        """The document's file name in the corpus folder."""
        return f"uit-{self.index:03d}.txt"

    @property
    def document(self) -> str:
        """The stored document text: title line, blank line, paragraph."""
        return f"{self.title}\n\n{self.body}\n"

    @property
    def offset(self) -> int:
        """Where the paragraph starts in `document`."""
        return len(self.title) + 2


@dataclass
class SplitSummary:
    """Counts for one written split."""

    name: str
    documents: int = 0
    left_out: int = 0
    answerable: int = 0
    unanswerable: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    extended: int = 0  # answerable items whose evidence is the key fact grown to its gold position
    skipped: Counter[str] = field(default_factory=Counter)  # why questions were not kept


def nfc(text: str) -> str:
    """Return `text` in Unicode NFC."""
    return unicodedata.normalize("NFC", text)


def has_diacritics(text: str) -> bool:
    """True if `text` has a Vietnamese tone or vowel mark, or đ."""
    decomposed = unicodedata.normalize("NFD", text)
    return "đ" in decomposed.lower() or any(unicodedata.category(ch) == "Mn" for ch in decomposed)


def question_kind(question: str) -> str:
    """A rough label from the question's wording, to break results down."""
    if not has_diacritics(question) and _FOLDED_MARKED & set(_WORD.findall(question.lower())):
        return "no-diacritics"
    text = nfc(question).lower()
    for kind, pattern in (
        ("number", _NUMBER),
        ("when", _WHEN),
        ("who", _WHO),
        ("duration", _DURATION),
        ("list", _LIST),
    ):
        if pattern.search(text):
            return kind
    return "fact"


def load_source(path: Path) -> list[Paragraph]:
    """Read the SQuAD-format file into paragraphs, in file order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        paragraphs: list[Paragraph] = []
        for article in data["data"]:
            title = " ".join(nfc(str(article.get("title") or "")).split())
            for para in article["paragraphs"]:
                context = str(para["context"])
                full = nfc(context)
                body = full.strip()
                questions = tuple(
                    Question(
                        number=n,
                        text=" ".join(nfc(str(qa["question"])).split()),
                        answers=tuple((str(a["text"]), int(a["answer_start"])) for a in qa.get("answers") or ()),
                    )
                    for n, qa in enumerate(para.get("qas") or ())
                )
                index = len(paragraphs)
                paragraphs.append(
                    Paragraph(
                        index=index,
                        title=title or f"uit-{index:03d}",
                        context=context,
                        body=body,
                        body_shift=len(full) - len(full.lstrip()),
                        questions=questions,
                    )
                )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildError(
            f"cannot read {path} as UTF-8 JSON ({exc}); pass --source PATH to the uit-qa train.json"
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BuildError(
            f"{path} is not SQuAD format (data[].paragraphs[].context/qas, problem: {exc!r}); "
            "pass --source PATH to the uit-qa train.json"
        ) from None
    if not paragraphs:
        raise BuildError(f"{path} holds no paragraphs; pass --source PATH to the uit-qa train.json")
    return paragraphs


def gold_spans(paragraph: Paragraph, question: Question) -> list[tuple[str, int]]:
    """Each gold answer that is verbatim in the paragraph: (stripped NFC text, start in the body).

    Some answer_start values are a few characters off, so the occurrence nearest to it is taken.
    """
    spans = []
    for raw, answer_start in question.answers:
        text = nfc(raw)
        answer = text.strip()
        if not answer:
            continue
        guess = (
            len(nfc(paragraph.context[: max(answer_start, 0)])) + len(text) - len(text.lstrip()) - paragraph.body_shift
        )
        starts = [m.start() for m in re.finditer(re.escape(answer), paragraph.body)]
        if starts:
            spans.append((answer, min(starts, key=lambda s: (abs(s - guess), s))))
    return spans


def _word_start_before(text: str, at: int) -> int:
    """Start of the word before position `at` (skipping the spaces between)."""
    while at > 0 and text[at - 1].isspace():
        at -= 1
    while at > 0 and not text[at - 1].isspace():
        at -= 1
    return at


def _word_end_after(text: str, at: int) -> int:
    """End of the word after position `at` (skipping the spaces between)."""
    while at < len(text) and text[at].isspace():
        at += 1
    while at < len(text) and not text[at].isspace():
        at += 1
    return at


def extend_to_unique(paragraph: Paragraph, start: int, end: int) -> str:
    """The body's text around [start, end), grown a word at a time (left first) until its first
    occurrence in the document is this one."""
    doc, body, offset = paragraph.document, paragraph.body, paragraph.offset
    left_turn = True
    while doc.find(body[start:end]) != offset + start:
        if start == 0 and end == len(body):
            raise AssertionError(f"{paragraph.name}: the whole paragraph is not unique in its document")
        if (left_turn and start > 0) or end == len(body):
            start = _word_start_before(body, start)
        else:
            end = _word_end_after(body, end)
        left_turn = not left_turn
    return body[start:end]


def choose_evidence(paragraph: Paragraph, question: Question) -> tuple[str, str] | str:
    """(evidence, key fact) for an answerable question, or the reason it is skipped."""
    spans = gold_spans(paragraph, question)
    if not spans:
        return "no gold answer verbatim in the paragraph"
    spans = sorted((s for s in spans if len(s[0]) >= MIN_ANSWER_CHARS), key=lambda s: (len(s[0]), s[0], s[1]))
    if not spans:
        return f"answer shorter than {MIN_ANSWER_CHARS} characters"
    doc, offset = paragraph.document, paragraph.offset
    golds = [(offset + start, offset + start + len(answer)) for answer, start in spans]
    for answer, _ in spans:
        first = doc.find(answer)
        if any(first < g_end and g_start < first + len(answer) for g_start, g_end in golds):
            return answer, answer
    answer, start = spans[0]
    return extend_to_unique(paragraph, start, start + len(answer)), answer


def overlap_groups(paragraphs: list[Paragraph]) -> list[int]:
    """For each paragraph, the lowest index of the paragraphs it shares text with (transitively)."""
    shared = (
        (p.index, q.index)
        for p in paragraphs
        for sentence in (s.strip() for s in _SENTENCE.split(p.body))
        if len(sentence) >= MIN_SHARED_SENTENCE
        for q in paragraphs
        if q.index != p.index and sentence in q.body
    )
    return connected(len(paragraphs), shared)


def similarities(paragraphs: list[Paragraph]) -> list[list[float]]:
    """TF-IDF cosine between paragraph bodies (lower-cased words), rounded; 0 on the diagonal."""
    words = [_WORD.findall(p.body.lower()) for p in paragraphs]
    df = Counter(w for ws in words for w in set(ws))
    n = len(paragraphs)
    vectors = []
    for ws in words:
        weights = {w: (1 + math.log(c)) * math.log(n / df[w]) for w, c in sorted(Counter(ws).items())}
        norm = math.sqrt(sum(x * x for x in weights.values())) or 1.0
        vectors.append({w: x / norm for w, x in weights.items()})
    return [
        [
            0.0 if i == j else round(sum(x * vectors[j].get(w, 0.0) for w, x in vectors[i].items()), SIMILARITY_DIGITS)
            for j in range(n)
        ]
        for i in range(n)
    ]


def strata(paragraphs: list[Paragraph]) -> list[str]:
    """The stratum of each paragraph: its title when other paragraphs share it, else one pooled stratum
    of single-paragraph titles (the regulation articles, each one paragraph)."""
    titles = Counter(p.title for p in paragraphs)
    return [p.title if titles[p.title] > 1 else "" for p in paragraphs]


def assign_splits(paragraphs: list[Paragraph], groups: list[int], stratum: list[str]) -> list[int]:
    """0 (dev) or 1 (test) for each paragraph: groups that share text go together; within each stratum
    groups are taken in the order of a sha256 of their first paragraph and given to the smaller split."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    split = [0] * len(paragraphs)
    total = [0, 0]
    for name in sorted(set(stratum)):
        in_stratum = [0, 0]
        ordered = sorted(
            (g for g in members if stratum[g] == name),
            key=lambda g: (hashlib.sha256(paragraphs[g].body.encode("utf-8")).hexdigest(), g),
        )
        for g in ordered:
            side = min((0, 1), key=lambda s: (in_stratum[s], total[s], s))
            for i in members[g]:
                split[i] = side
            in_stratum[side] += len(members[g])
            total[side] += len(members[g])
    return split


def unanswerable_questions(paragraph: Paragraph, kept_texts: list[str]) -> list[Question]:
    """The paragraph's questions none of whose gold answers is in any kept document (case-insensitive)."""
    kept = []
    for question in paragraph.questions:
        answers = [nfc(a).strip().casefold() for a, _ in question.answers]
        if answers and all(a and not any(a in t for t in kept_texts) for a in answers):
            kept.append(question)
    return kept


def choose_left_out(
    paragraphs: list[Paragraph],
    members: list[int],
    groups: list[int],
    stratum: list[str],
    similarity: list[list[float]],
) -> set[int]:
    """About one in six of a split's paragraphs per stratum, to leave out of its corpus.

    One at a time, the paragraph with the closest kept neighbour is left out (a shared title first,
    then TF-IDF cosine, then the lower index), among those that share no text with another paragraph
    and keep at least one question whose answers no kept document holds.
    """
    group_size = Counter(groups)
    folded = {i: paragraphs[i].document.casefold() for i in members}
    left: set[int] = set()
    for name in sorted({stratum[i] for i in members}):
        in_stratum = [i for i in members if stratum[i] == name]
        for _ in range(int(len(in_stratum) * LEAVE_OUT_SHARE + 0.5)):
            best: tuple[bool, float, int] | None = None
            for c in in_stratum:
                if c in left or group_size[groups[c]] > 1:
                    continue
                kept = [k for k in members if k not in left and k != c]
                if not kept or not unanswerable_questions(paragraphs[c], [folded[k] for k in kept]):
                    continue
                key = (
                    any(paragraphs[k].title == paragraphs[c].title for k in kept),
                    max(similarity[c][k] for k in kept),
                    -c,
                )
                if best is None or key > best:
                    best = key
            if best is None:
                break
            left.add(-best[2])
    return left


def _line(item: dict[str, object]) -> str:
    return json.dumps({f: item[f] for f in FIELDS}, ensure_ascii=False)


def build_split(
    paragraphs: list[Paragraph], members: list[int], left: set[int], name: str, prefix: str
) -> tuple[list[str], SplitSummary]:
    """The qa.jsonl lines of one split, and its counts."""
    summary = SplitSummary(name=name, documents=len(members) - len(left), left_out=len(left))
    answerable: list[dict[str, object]] = []
    for i in members:
        if i in left:
            continue
        p = paragraphs[i]
        for q in p.questions:
            chosen = choose_evidence(p, q)
            if isinstance(chosen, str) or not q.text:
                summary.skipped[chosen if isinstance(chosen, str) else "empty question"] += 1
                continue
            evidence, key_fact = chosen
            summary.extended += evidence != key_fact
            answerable.append(
                {
                    "id": f"{prefix}-{p.index:03d}-{q.number:02d}",
                    "question": q.text,
                    "answerable": True,
                    "source": p.name,
                    "evidence": [evidence],
                    "key_facts": [key_fact],
                    "kind": question_kind(q.text),
                }
            )
    asked = {str(item["question"]).casefold() for item in answerable}
    kept_texts = [paragraphs[i].document.casefold() for i in members if i not in left]
    unanswerable: list[dict[str, object]] = []
    for i in sorted(left):
        p = paragraphs[i]
        keep = unanswerable_questions(p, kept_texts)
        summary.skipped["unanswerable: a gold answer is in a kept document"] += len(p.questions) - len(keep)
        for q in keep:
            if not q.text or q.text.casefold() in asked:
                summary.skipped["unanswerable: same question is answerable in the split"] += 1
                continue
            asked.add(q.text.casefold())
            unanswerable.append(
                {
                    "id": f"{prefix}-{p.index:03d}-{q.number:02d}",
                    "question": q.text,
                    "answerable": False,
                    "source": None,
                    "evidence": [],
                    "key_facts": [],
                    "kind": "unanswerable",
                }
            )
    items = answerable + unanswerable
    summary.answerable, summary.unanswerable = len(answerable), len(unanswerable)
    summary.kinds.update(str(item["kind"]) for item in items)
    return [_line(item) for item in items], summary


def _readme(name: str, source: Path, digest: str, summary: SplitSummary, licensed: bool) -> str:
    """The split's README: what it is, where it comes from, how to rebuild it."""
    role = "tune on it" if name == "uit-dev" else "report on it; do not tune on it"
    license_note = "MIT License (see LICENSE)" if licensed else "no LICENSE file was found beside the source"
    return (
        f"# {name}: Q&A set built from uit-qa ({role})\n\n"
        f"Generated by `python -m eval.build_uit` from `{source.name}` (sha256 {digest}); do not edit by hand,\n"
        "change the script and rerun it. `qa.jsonl` is answered from `corpus/` (format: eval-format.md).\n"
        f"{summary.documents} documents, {summary.answerable} answerable and {summary.unanswerable} unanswerable "
        "questions.\n\n"
        "uit-qa is Dataset/train.json of namnv1113/Nanibot_ZaloAIChallenge2019_VietnameseWikiQA,\n"
        f"{license_note}.\n"
    )


def _write_split(
    out: Path,
    name: str,
    paragraphs: list[Paragraph],
    kept: list[int],
    lines: list[str],
    readme: str,
    license_text: bytes | None,
) -> None:
    """Write one split to a temporary folder, then put it in place of the old one."""
    tmp = out / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "corpus").mkdir(parents=True)
    for i in kept:
        (tmp / "corpus" / paragraphs[i].name).write_text(paragraphs[i].document, encoding="utf-8", newline="\n")
    (tmp / "qa.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8", newline="\n")
    (tmp / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    if license_text is not None:
        (tmp / "LICENSE").write_bytes(license_text)
    final = out / name
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def build(source: Path, out: Path) -> list[SplitSummary]:
    """Build both splits from `source` into `out`/uit-dev and `out`/uit-test; return their counts."""
    if not source.is_file():
        raise BuildError(f"no uit-qa training set at {source}; pass --source PATH to train.json")
    paragraphs = load_source(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    license_path = source.with_name("LICENSE")
    license_text = license_path.read_bytes() if license_path.is_file() else None
    groups = overlap_groups(paragraphs)
    stratum = strata(paragraphs)
    split = assign_splits(paragraphs, groups, stratum)
    similarity = similarities(paragraphs)
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    for side, (name, prefix) in enumerate(SPLITS):
        members = [i for i in range(len(paragraphs)) if split[i] == side]
        left = choose_left_out(paragraphs, members, groups, stratum, similarity)
        lines, summary = build_split(paragraphs, members, left, name, prefix)
        kept = [i for i in members if i not in left]
        _write_split(
            out,
            name,
            paragraphs,
            kept,
            lines,
            _readme(name, source, digest, summary, license_text is not None),
            license_text,
        )
        summaries.append(summary)
    return summaries


def format_summary(summary: SplitSummary) -> str:
    """A few lines of counts for one split."""
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    lines = [
        f"{summary.name}: {summary.documents} documents ({summary.left_out} paragraphs left out), "
        f"{summary.answerable} answerable ({summary.extended} with extended evidence), "
        f"{summary.unanswerable} unanswerable questions",
        f"  by kind: {kinds}",
    ]
    lines += [f"  {reason}: {n}" for reason, n in sorted(summary.skipped.items())]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: build, print the summary; 2 with one line on stderr if the source is unusable."""
    parser = argparse.ArgumentParser(prog="python -m eval.build_uit", description=DESCRIPTION)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="uit-qa train.json (SQuAD format)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for uit-dev/ and uit-test/")
    args = parser.parse_args(argv)
    try:
        summaries = build(args.source, args.out)
    except BuildError as exc:
        print(f"build_uit: {exc}", file=sys.stderr)
        return 2
    for summary in summaries:
        print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
