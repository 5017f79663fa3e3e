"""Extractive answers: pick source sentences, say them verbatim, cite each one.

No language model is needed. Every sentence of the retrieved passages is a
candidate; one scoring function weighs its named features (how much of the
question it covers, in canonical or unaccented keys, its own words or those of
its context; the dense similarity of its passage; the passage's rank; whether it
holds what the kind of question asks for: an amount, a duration, a time, a
person; whether a numbered name clashes: "Điều 6" is not "Điều 60"; how much of
the question no document uses). The best-scoring candidate answers when its
support (the score without the features that only order sentences: passage
rank, answer type, counted noun) clears a threshold; else the answerer refuses. The weights and the threshold
are fitted on the dev sets by `eval/fit_answerer.py` and live in
`rag/answer_weights.json`, beside the scores they gave.

For a list question (or a sentence or heading that announces a list) it reads
on in the source document and collects the items ("Thứ nhất …", "1.", "a)").
`explain` returns the chosen sentence and the runners-up with their features.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from rag.documents import page_of, section_path
from rag.index import Index
from rag.records import Chunk, Citation, Document, Passage
from rag.retrieval import Retrieved
from rag.structure import (
    DATE,
    DAY,
    DURATION,
    FIRST_ITEM,
    HEADING,
    ITEM,
    NUMBER_MARKERS,
    NUMBER_WORDS,
    YEAR,
    asked_item,
    item_names,
    numbered,
    one_line,
    sentence_bounds,
    unwrap,
)
from rag.text import canonical, content_terms, fold, has_diacritics, key, nfc, terms

REFUSAL = (
    "Các tài liệu hiện có không chứa thông tin để trả lời câu hỏi này. "
    "Bạn có thể hỏi lại với từ ngữ khác hoặc bổ sung tài liệu liên quan."
)
WEIGHTS_FILE = Path(__file__).with_name("answer_weights.json")
MAX_SAY = 600  # longest stretch of a sentence said at once; longer ones are cut at a clause
MAX_ITEMS = 12
LIST_RUNNERS_UP = 5  # sentences after the best that may announce the list a list question asks for
BIGRAM_WEIGHT = 0.7
RANK_WEIGHT = 0.3  # weight of the fused retrieval score when reranking passages
CONTEXT_WEIGHT = 0.5  # a question word found only in the sentence's context counts this much
CONTEXT_SENTENCES = 2  # how many sentences before, within the paragraph, give that context
CACHED_DOCUMENTS = 1024  # documents whose sentence splits and title terms are kept
CACHED_SPANS = 200_000  # sentences (and parts of them) whose terms are kept
EXPLAIN_RUNNERS_UP = 4

FEATURES = ("coverage", "dense", "rank", "fits", "misses", "counted", "clash", "unnamed", "unseen")
PENALTIES = frozenset({"misses", "clash", "unnamed", "unseen"})
# Features that choose among sentences but do not show that the documents answer: in a fee table every
# line holds an amount, so a "bao nhiêu" question is not more answerable for it. Support leaves them out.
ORDERING_ONLY = frozenset({"rank", "fits", "counted"})
# What each feature is, for `explain` and the fitting script's report.
FEATURE_NOTES = {
    "coverage": "share of the question's IDF weight in the sentence (its context at half weight)",
    "dense": "cosine similarity of question and the sentence's passage (the index's embedding model), "
    "less the best passage's: it ranks sentences without moving the refusal line, whose level differs by model",
    "rank": "1 / rank of the sentence's passage in retrieval",
    "fits": "holds what the kind of question asks for (amount, duration, time, person)",
    "misses": "lacks what the kind of question asks for",
    "counted": "counts what a 'bao nhiêu X' question counts (a number before X, its initials, or a unit)",
    "clash": "names another number of a numbered name the question names (Điều 60 for Điều 6)",
    "unnamed": "share of the numbered names the question asks for (Điều 6, khoản 2, khóa XI) that neither "
    "the sentence, its heading, the sentences before it nor the document's title carries",
    "unseen": "share of the question's weight on words no document uses",
}


@dataclass(frozen=True)
class Weights:
    """The scoring function's weights and refusal threshold (fitted; see eval/fit_answerer.py)."""

    coverage: float = 1.0
    dense: float = 0.0
    rank: float = 0.05
    fits: float = 0.15
    misses: float = 0.3
    counted: float = 0.15
    clash: float = 1.0
    unnamed: float = 0.0
    unseen: float = 1.0
    threshold: float = 0.45
    list_margin: float = 0.25  # how far below the best a list-announcing runner-up may score
    second_margin: float = 0.0  # how far below the best a runner-up may score and still be said with it

    def score(self, features: dict[str, float]) -> float:
        """The weighted sum: rewards add, penalties (misses, clash, unnamed, unseen) subtract."""
        return sum(
            (-1.0 if name in PENALTIES else 1.0) * getattr(self, name) * features[name] for name in FEATURES
        )

    def support(self, features: dict[str, float]) -> float:
        """The score without the ORDERING_ONLY features: what the threshold is held against."""
        return self.score({name: 0.0 if name in ORDERING_ONLY else v for name, v in features.items()})


@cache
def fitted_weights(path: Path = WEIGHTS_FILE) -> Weights:
    """The weights of `answer_weights.json`, or the defaults when it is missing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Weights()
    return Weights(**data["weights"])


_KINDS = (
    ("count", r"\b(bao nhiêu|bao nhieu|mấy|số lượng|tỷ lệ|mức phạt|how many|how much|what percentage|what share)\b"),
    ("duration", r"\b(bao lâu|bao lau|trong bao lâu|mấy năm|mấy tháng|mấy ngày|how long)\b"),
    (
        "when",
        r"\b(khi nào|khi nao|ngày nào|ngay nao|bao giờ|bao gio|năm nào|nam nao|tháng nào|thời gian nào|thời điểm nào"
        r"|when|what date|which day|which year)\b",
    ),
    ("who", r"(^|\s)(ai|who|whom|người nào|đồng chí nào|cơ quan nào|đơn vị nào)(\s|\?|$)"),
    (
        "about",
        r"\b(về gì|ve gi|về vấn đề gì|về việc gì|nội dung gì|nội dung về|quy định gì|what is .* about|about what)\b",
    ),
    ("list", r"\b(những|các|nhung|cac)\b.*\b(nào|nao|gì|gi)\b|\b(gồm|liệt kê|what are|which are|list)\b"),
)
# "4 mục tiêu", "bốn nhóm": a number before a noun (not "4 năm", a span of years)
_COUNT = re.compile(r"(?<![\w\-/])(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\s+(?!năm\b|nam\b)[^\W\d_]")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")  # a blank line (spaces allowed) between two lines
# A quantity: digits not glued to letters or dashes ("193/226", "85,39%", "10.000"; not "15-NQ/TU").
_QUANTITY = re.compile(r"(?<![\w\-/])\d[\d.,/]*%?(?![\w\-])")
# "Khi nào" asks for a time only with words of time; "khi nào sinh viên bị buộc thôi học?" asks for a condition.
_TIME_ASKED = re.compile(
    r"\b(ngày nào|ngay nao|năm nào|nam nao|tháng nào|bao giờ|bao gio|thời gian nào|thời điểm nào|hiệu lực|diễn ra"
    r"|tổ chức|ban hành|when|what date|which day|which year)\b",
    re.IGNORECASE,
)
_DAY_ASKED = re.compile(r"\b(ngày nào|ngay nao|hôm nào|what date|which day)\b", re.IGNORECASE)  # a year will not do
# Common Vietnamese family names: a run of capitalized words that starts with one names a person.
_SURNAMES = frozenset(
    "nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đào trịnh mai trương "
    "lưu tạ cao lâm phùng tô chu đoàn vương lương kiều thái quách tăng hà triệu khổng doãn lại".split()
)
_ADDRESS = frozenset({"đồng chí", "ông", "bà"})  # words that come before a person's name
# Who holds an office or acts for an organisation, unaccented: the head of a body is an answer to "ai".
_ROLE = re.compile(r"(?<!\w)(truong|giam doc|chu tich|bi thu|chanh|thu tuong|co quan|uy ban|hoi dong|ban)(?!\w)")
_PERCENT_WORDS = ("phần", "trăm", "tỷ", "tỉ", "lệ")
# Units of amount, unaccented: a number before one measures rather than counts.
_UNITS = frozenset("ty trieu nghin ngan tram dong usd ha km m2 tan lit phan".split())


@dataclass(frozen=True)
class Question:
    """A question parsed once: what retrieval searches and what the answerer weighs."""

    text: str
    kind: str  # count, duration, when, who, about, list or fact
    count: int | None  # "4 mục tiêu" -> 4
    folded: bool  # typed without marks: match on unaccented keys
    weights: dict[str, float]  # content term -> weight
    unseen: tuple[str, ...] = ()  # content words (not numbers) that no chunk contains
    unseen_share: float = 0.0  # their share of the question's weight
    counted: str | None = None  # "bao nhiêu nhiệm vụ" -> canonical "nhiệm"; "%" for percentages
    initials: frozenset[str] = frozenset()  # abbreviations of the counted phrase: "tccsd" for "tổ chức cơ sở đảng"
    percent: frozenset[str] = frozenset()  # terms ("phần trăm", "tỷ lệ") that a "%" in a sentence stands for
    wants_time: bool = False  # a "when" question that asks for a time, not a condition
    wants_day: bool = False  # … a day, where a year will not do
    names: frozenset[tuple[str, str]] = frozenset()  # numbered names: {("dieu", "6")}
    # term -> the numbered names it is part of ("điêu2_6" -> {("dieu", "6")}): a sentence that carries
    # the name (clause 2 under article 6 is "khoản 2 Điều 6") holds these terms without writing them
    name_terms: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    # word -> the question's word pairs that hold it ("tông3" -> {"tông3_công5"}), for context matching
    pairs: dict[str, frozenset[str]] = field(default_factory=dict)
    item: int | None = None  # "mục tiêu thứ ba" -> 3: the one list item asked for


@dataclass(frozen=True)
class Span:
    """A sentence (or part of one) in a document."""

    doc: str
    start: int
    end: int


@dataclass(frozen=True)
class Candidate:
    """A sentence weighed as an answer: its features and score."""

    span: Span
    rank: int
    features: dict[str, float]
    score: float  # orders the candidates
    support: float  # whether the best one answers (held against the threshold)


def sentences(document: Document, flow: str | None = None) -> list[Span]:
    """Sentences of a document's content regions, in order; hard-wrapped lines read as one paragraph.

    `flow` is `unwrap(document.text)` when the caller has it already.
    """
    flow = unwrap(document.text) if flow is None else flow
    out: list[Span] = []
    for region_start, region_end in document.content:
        for para in re.finditer(r"[^\n]+", flow[region_start:region_end]):
            a = region_start + para.start()
            out.extend(Span(document.doc, s, e) for s, e in sentence_bounds(flow, a, a + len(para.group())))
    return out


def analyze(question: str, index: Index, folded: bool | None = None) -> Question:
    """Kind, count and weighted content terms of a question.

    Args:
        question: the question (or its Vietnamese expansion, for an English one).
        index: the loaded index (for term weights).
        folded: match on unaccented keys; default: when the question has no marks.
    """
    text = nfc(question).strip()
    lower = text.lower()
    kind = next((name for name, pattern in _KINDS if re.search(pattern, lower)), "fact")
    count = None
    # A number after a name or "số" names a thing ("Trung ương 4", "Điều 6"); it does not count.
    m = next((c for c in _COUNT.finditer(lower) if not _names_number(text, c.start())), None)
    if m:
        word = m.group(1)
        count = int(word) if word.isdigit() else NUMBER_WORDS[word]
        if kind == "fact" and re.search(r"\b(là gì|la gi|what)\b", lower):
            kind = "list"
    if folded is None:
        folded = not has_diacritics(text)
    weights: dict[str, float] = {}
    unseen: list[str] = []
    for term in content_terms(text, folded=folded, phrase=lambda t: index.lexical.is_phrase(t, folded=folded)):
        weight = index.lexical.idf(term, folded=folded)
        weights[term] = weight * (BIGRAM_WEIGHT if "_" in term else 1.0)
        if "_" not in term and not any(ch.isdigit() for ch in term) and not index.lexical.has(term, folded=folded):
            unseen.append(term)
    # A name the documents never use ("quận Cầu Giấy") is something they do not hold,
    # even when each of its words is common ("cầu", "giấy").
    to_key = fold if folded else key
    unseen_names = []
    for name in proper_names(text):
        parts = [to_key(w) for w in name]
        if any(not index.lexical.has(f"{a}_{b}", folded=folded) for a, b in pairwise(parts)):
            unseen_names.append(parts)
    counted = None
    initials: frozenset[str] = frozenset()
    m = re.search(r"\b(?:bao nhiêu|bao nhieu|mấy|how many|how much)\s+([^\W\d_]+)(?:\s+([^\W\d_]+))?", lower)
    if m:
        if m.group(1) in ("phần", "phan", "percent") or (m.group(2) or "") in ("trăm", "tram"):
            counted = "%"
        else:
            counted = canonical(fold(m.group(1)) if folded else m.group(1))
            # "tổ chức cơ sở đảng" may be written "TCCSĐ": the initials of the phrase's first words
            phrase = re.findall(r"[^\W\d_]+", fold(lower[m.start(1) :]))[:6]
            initials = frozenset("".join(w[0] for w in phrase[:n]) for n in range(2, len(phrase) + 1))
    # Documents often write a share as "đạt 85,39%": a "%" stands for the words of "per cent".
    percent_words = {canonical(fold(w) if folded else w) for w in _PERCENT_WORDS}
    percent = frozenset(t for t in weights if set(t.split("_")) <= percent_words)
    unseen = [t for t in unseen if t not in percent]
    total = sum(weights.values()) or 1.0
    missing = set(unseen) | {w for parts in unseen_names for w in parts}
    unseen_share = min(1.0, sum(w for t, w in weights.items() if t in missing) / total + 0.25 * len(unseen_names))
    names = frozenset(numbered(text))
    word_names: dict[str, set[tuple[str, str]]] = {}
    for marker, value in names:
        for word in (to_key(NUMBER_MARKERS[marker]), to_key(value)):
            word_names.setdefault(word, set()).add((marker, value))
    # A pair that joins a name to the word after it ("6_quy" of "Điều 6 quy định") goes with the name.
    name_terms = {
        term: frozenset().union(*(word_names.get(w, ()) for w in term.split("_")))
        for term in weights
        if any(w in word_names for w in term.split("_"))
    }
    pairs: dict[str, set[str]] = {}
    for term in weights:
        for word in term.split("_") if "_" in term else ():
            pairs.setdefault(word, set()).add(term)
    return Question(
        text=text,
        kind=kind,
        count=count,
        folded=folded,
        weights=weights,
        unseen=tuple(unseen) + tuple("_".join(parts) for parts in unseen_names),
        unseen_share=round(unseen_share, 4),
        counted=counted,
        initials=initials,
        percent=percent,
        wants_time=kind == "when" and bool(_TIME_ASKED.search(lower)),
        wants_day=bool(_DAY_ASKED.search(lower)),
        names=names,
        name_terms=name_terms,
        pairs={word: frozenset(found) for word, found in pairs.items()},
        item=asked_item(text),
    )


def _names_number(text: str, at: int) -> bool:
    """Whether the number at `at` belongs to a name: after a capitalized word or a marker ("số", "Điều")."""
    before = text[:at].split()
    return bool(before) and (_capitalized(before[-1]) or fold(before[-1]) in NUMBER_MARKERS)


def has_amount(said: str) -> bool:
    """Whether a sentence holds a number that is not a date or a year."""
    for m in _QUANTITY.finditer(said):
        number = m.group().rstrip(".,/")
        if DAY.fullmatch(number) or (YEAR.fullmatch(number) and not number.endswith("%")):
            continue
        return True
    return False


_PUNCTUATION = ".,;:!?()“”\"'"  # stripped from a word's ends before it is judged a name


def _capitalized(word: str) -> bool:
    """"Giấy", "Nguyễn": a capital then lower case; not "TP", "XVII" or "Covid-19"."""
    return len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()


def proper_names(text: str) -> list[list[str]]:
    """Runs of two or more capitalized words ("Cầu Giấy", "Nguyễn Anh Cường"), not abbreviations ("TP").

    The first word counts only as lower case: every sentence capitalizes it ("Theo Chương trình …").
    """
    names: list[list[str]] = []
    run: list[str] = []
    for i, word in enumerate(text.split()):
        bare = word.strip(_PUNCTUATION)
        capitalized = i > 0 and _capitalized(bare)
        if capitalized:
            run.append(bare)
        if not capitalized or bare != word:  # a lower-case word or punctuation ends a run
            if len(run) >= 2:
                names.append(run)
            run = []
    if len(run) >= 2:
        names.append(run)
    return names


def names_person(text: str) -> bool:
    """Whether a text names a person: "Nguyễn Thị Tuyến", "đồng chí Đinh Tiến Dũng", "ông Cường"."""
    words = text.split()
    for i in range(len(words)):
        name = [w.strip(_PUNCTUATION) for w in words[i : i + 4]]
        capitalized = [_capitalized(w) for w in name]
        run = next((n for n, c in enumerate(capitalized) if not c), len(name))
        if run >= 3 and nfc(name[0]).lower() in _SURNAMES:
            return True
        before = " ".join(words[max(i - 2, 0) : i]).lower()
        if run >= 1 and i > 0 and (before in _ADDRESS or before.split()[-1] in _ADDRESS):
            return True
    return False


def fits(q: Question, said: str) -> bool | None:
    """Whether a sentence holds what the kind of question asks for; None when it asks for nothing in particular."""
    if q.counted == "%":
        return "%" in said
    if q.kind == "count":
        return has_amount(said)
    if q.kind == "duration":
        return bool(DURATION.search(said))
    if q.kind == "when" and q.wants_time:
        if q.wants_day:
            return bool(DAY.search(said) or re.search(r"\bngày\s+\d", said))
        return bool(DATE.search(said))
    if q.kind == "who":
        return names_person(said) or bool(_ROLE.search(fold(said)))
    return None


def _after(text: str, number: re.Match[str]) -> list[str]:
    """The two words after a number."""
    return re.findall(r"\w+", text[number.end() : number.end() + 40])[:2]


def _overlaps(chunk: Chunk, span: Span) -> bool:
    return chunk.doc == span.doc and span.start < chunk.end and span.end > chunk.start


class Answerer:
    """Builds extractive answers from an index; caches sentence splits per document."""

    def __init__(self, index: Index, weights: Weights | None = None) -> None:
        self.index = index
        self.weights = weights or fitted_weights()
        self._sentences: dict[str, tuple[list[Span], list[int], str]] = {}  # spans, their starts, the unwrapped text
        self._headings: dict[str, tuple[list[int], list[Span]]] = {}  # heading starts and spans, per document
        self._about: dict[tuple[str, bool], frozenset[str]] = {}
        self._terms: dict[tuple[str, int, int, bool], frozenset[str]] = {}

    def sentences_of(self, doc: str) -> list[Span]:
        return self._split(doc)[0]

    def _split(self, doc: str) -> tuple[list[Span], list[int], str]:
        found = self._sentences.get(doc)
        if found is None:
            if len(self._sentences) >= CACHED_DOCUMENTS:
                self._sentences.clear()  # a long-running server over a large archive stays bounded
                self._headings.clear()
            document = self.index.documents[doc]
            flow = unwrap(document.text)
            spans = sentences(document, flow)
            found = self._sentences[doc] = (spans, [s.start for s in spans], flow)
        return found

    def _position(self, span: Span) -> int:
        """Index of the sentence of its document that holds the start of `span`."""
        return max(bisect.bisect_right(self._split(span.doc)[1], span.start) - 1, 0)

    def text(self, span: Span) -> str:
        return self.index.documents[span.doc].text[span.start : span.end]

    def section(self, span: Span) -> Span | None:
        """The heading ("Điều 6. Thời gian học tập", "Chương II") under which a sentence stands (a heading
        stands under itself), if any."""
        found = self._headings.get(span.doc)
        if found is None:
            heads = [s for s in self.sentences_of(span.doc) if HEADING.match(self.text(s))]
            found = self._headings[span.doc] = ([s.start for s in heads], heads)
        i = bisect.bisect_right(found[0], span.start) - 1
        return found[1][i] if i >= 0 else None

    def coverage(self, q: Question, span: Span, carried: set[tuple[str, str]] | None = None) -> float:
        """Share of the question's term weight found in the sentence (`carried`: its numbered names,
        when the caller has them)."""
        total = sum(q.weights.values())
        if total <= 0:
            return 0.0
        found = self.terms_of(span, q.folded)
        if q.percent and "%" in self.text(span):
            found = found | q.percent
        if q.name_terms:
            carried = self.names_of(span) if carried is None else carried
            found = found | {t for t, names in q.name_terms.items() if not names.isdisjoint(carried)}
        context = self.context_terms(span, q.folded)
        got = sum(
            w if t in found else CONTEXT_WEIGHT * w
            for t, w in q.weights.items()
            if t in found or (t in context and self._in_context(q, t, context))
        )
        return got / total

    @staticmethod
    def _in_context(q: Question, term: str, context: frozenset[str]) -> bool:
        """Whether context lends `term`: a word the question uses in a phrase counts only
        with that phrase ("tổng" of "tổng cộng" is not lent by a title's "Tổng kết")."""
        phrases = q.pairs.get(term)
        return not phrases or not phrases.isdisjoint(context)

    def terms_of(self, span: Span, folded: bool) -> frozenset[str]:
        key = (span.doc, span.start, span.end, folded)
        found = self._terms.get(key)
        if found is None:
            if len(self._terms) >= CACHED_SPANS:
                self._terms.clear()
            found = frozenset(terms(one_line(self.text(span)), folded=folded))
            self._terms[key] = found
        return found

    def context(self, span: Span) -> list[Span]:
        """The sentences just before `span` in its paragraph or block of lines (who "Cùng đó, …" is about;
        which office "Điện thoại: …" belongs to)."""
        spans, _, flow = self._split(span.doc)
        out = []
        i = self._position(span)
        for j in range(i - 1, max(i - 1 - CONTEXT_SENTENCES, -1), -1):
            if _PARAGRAPH_BREAK.search(flow, spans[j].end, span.start):
                break
            out.append(spans[j])
        return out

    def context_terms(self, span: Span, folded: bool) -> frozenset[str]:
        """Terms of what a sentence is about: the sentences just before it, the heading it stands
        under, and its document's title and lead sentence (a news lead names the report or event)."""
        title = self._about.get((span.doc, folded))
        if title is None:
            if len(self._about) >= CACHED_DOCUMENTS:
                self._about.clear()
            document = self.index.documents[span.doc]
            spans = self.sentences_of(span.doc)
            lead = self.text(spans[0]) if spans else ""
            title = frozenset(terms(document.title + "\n" + lead, folded=folded))
            self._about[span.doc, folded] = title
        heading = self.section(span)
        around = [*self.context(span), *([heading] if heading else [])]
        return title.union(*(self.terms_of(before, folded) for before in around))

    def features(self, q: Question, span: Span, rank: int, dense: float) -> dict[str, float]:
        """The named features of one candidate sentence (see FEATURES and FEATURE_NOTES)."""
        said = self.text(span)
        fit = fits(q, said)
        names = self.names_of(span) if q.names else set()
        clash = any(
            (others := {v for m, v in names if m == marker}) and value not in others for marker, value in q.names
        )
        unnamed = 0.0
        if q.names:
            around = names | self.names_around(span)
            unnamed = sum(name not in around for name in q.names) / len(q.names)
        return {
            "coverage": round(self.coverage(q, span, names), 4),
            "dense": round(dense, 4),
            "rank": round(1.0 / rank, 4),
            "fits": float(fit is True),
            "misses": float(fit is False),
            "counted": float(bool(q.counted and q.counted != "%" and self.counts(q, said))),
            "clash": float(clash),
            "unnamed": round(unnamed, 4),
            "unseen": q.unseen_share,
        }

    def names_of(self, span: Span) -> set[tuple[str, str]]:
        """Numbered names a sentence carries: its own, its heading's, and its place as a clause or point
        of an article ("2. …" under "Điều 6. …" is khoản 2)."""
        said = self.text(span)
        heading = self.section(span)
        head = self.text(heading) if heading else None
        return numbered(said + ("\n" + head if head else "")) | item_names(said, head)

    def names_around(self, span: Span) -> set[tuple[str, str]]:
        """Numbered names of a sentence's surroundings: its document's title and the sentences just before it."""
        document = self.index.documents[span.doc]
        return numbered("\n".join([document.title, *(self.text(s) for s in self.context(span))]))

    def local_score(self, q: Question, span: Span) -> float:
        """Coverage and type fit of a part of a sentence (which clause of a long sentence to say)."""
        fit = fits(q, self.text(span))
        return self.coverage(q, span) + self.weights.fits * float(fit is True)

    def candidates(self, retrieved: Retrieved) -> list[tuple[Span, int, float]]:
        """Sentences overlapping the retrieved passages, with the best passage rank and dense score of each."""
        seen: dict[Span, tuple[int, float]] = {}
        for passage in retrieved.passages:
            chunk = passage.chunk
            dense = retrieved.dense.get(chunk.id, 0.0)
            for span in self.sentences_of(chunk.doc):
                if _overlaps(chunk, span):
                    rank, best = seen.get(span, (passage.rank, dense))
                    seen[span] = (min(rank, passage.rank), max(best, dense))
        return [(span, rank, dense) for span, (rank, dense) in seen.items()]

    def weigh(self, q: Question, retrieved: Retrieved) -> list[Candidate]:
        """Every candidate sentence scored, best first."""
        out = []
        found = self.candidates(retrieved)
        top_dense = max((dense for _, _, dense in found), default=0.0)
        for span, rank, dense in found:
            features = self.features(q, span, rank, dense - top_dense)
            w = self.weights
            out.append(Candidate(span, rank, features, round(w.score(features), 4), round(w.support(features), 4)))
        out.sort(key=lambda c: -c.score)
        return out

    def rerank(self, retrieved: Retrieved, scored: list[Candidate], answer: Span | None) -> tuple[Passage, ...]:
        """Passages ordered for the reader: the one holding `answer` (the sentence the
        answer rests on) first, the rest by their best sentence's score plus a share
        of their fused score.

        The fused score ranks whole chunks; the best sentence says whether a chunk
        holds what was asked. Passage scores are those sums, so the first may score
        below the second.
        """
        best: dict[int, float] = {}
        for candidate in scored:
            for passage in retrieved.passages:
                if _overlaps(passage.chunk, candidate.span):
                    best[passage.chunk.id] = max(best.get(passage.chunk.id, 0.0), candidate.score)
        combined = {p.chunk.id: best.get(p.chunk.id, 0.0) + RANK_WEIGHT * p.score for p in retrieved.passages}
        ordered = sorted(
            retrieved.passages,
            key=lambda p: (answer is None or not _overlaps(p.chunk, answer), -combined[p.chunk.id]),
        )
        return tuple(
            Passage(chunk=p.chunk, score=round(combined[p.chunk.id], 4), rank=i + 1) for i, p in enumerate(ordered)
        )

    def answer(
        self, q: Question, retrieved: Retrieved
    ) -> tuple[str, bool, tuple[Citation, ...], tuple[Passage, ...], dict[str, Any]]:
        """Markdown answer, refused flag, citations, the passages reranked for `q`, and the explanation."""
        w = self.weights
        scored = self.weigh(q, retrieved)
        top = scored[0] if scored else None
        if top is None or top.support < w.threshold:
            why = (
                "no sentence of the retrieved passages"
                if top is None
                else f"the best sentence's support is {top.support:.3f}, under the threshold {w.threshold:.3f}"
            )
            explain = self.explain(q, scored, None, f"refused: {why}")
            return REFUSAL, True, (), self.rerank(retrieved, scored, None), explain

        best = top.span
        said: list[Span] = [best]
        items: list[Span] = []
        picked = self.picked_item(q, scored) if q.item is not None else None
        if picked is not None:
            # "Mục tiêu thứ ba là gì?": that item of the list alone, said from its start.
            best = picked
            chosen = next((c for c in scored if c.span == best), top)
            verdict = f"answered: item {q.item} of the list around the best sentences (support {top.support:.3f})"
            explain = self.explain(q, scored, chosen, verdict)
            return (*self.render(q, [best], [], keep_start=True), self.rerank(retrieved, scored, best), explain)
        if q.kind == "list" or q.count is not None or HEADING.match(self.text(best)):
            anchor, items = self.list_items(best, q.count)
            said = [anchor]
            if not items and q.kind == "list":
                # A list question is answered by a list: a close runner-up that announces one wins.
                for c in scored[1:LIST_RUNNERS_UP]:
                    if c.support >= w.threshold and c.score >= top.score - w.list_margin:
                        found, listed = self.list_items(c.span, q.count)
                        if listed:
                            best, said, items = c.span, [found], listed
                            break
            if not items and HEADING.match(self.text(best)):
                # A heading alone says little: the sentence that opens its section is said with it.
                after = self._position(best) + 1
                spans = self.sentences_of(best.doc)
                if after < len(spans):
                    said.append(spans[after])
        elif not ITEM.match(self.text(best)) or self.text(best).rstrip().endswith(":"):
            # A sentence that announces a list ("… xác định rõ 4 mục tiêu năm 2021.") is said with it.
            items = self.list_items(best, None)[1]
        if not items and len(said) == 1:
            # A second sentence when it clears the threshold and either covers question terms the first
            # one lacks or scores nearly as well (the reader then sees both candidates, each cited).
            for c in scored[1:4]:
                if c.support >= w.threshold and (
                    c.score >= top.score - w.second_margin or self._adds(q, said, c.span)
                ):
                    said.append(c.span)
                    break
            said.sort(key=lambda s: (s.doc, s.start))
        chosen = next(c for c in scored if c.span == best)
        verdict = f"answered: the best sentence's support is {chosen.support:.3f}, threshold {w.threshold:.3f}"
        explain = self.explain(q, scored, chosen, verdict)
        return (*self.render(q, said, items), self.rerank(retrieved, scored, best), explain)

    def explain(self, q: Question, scored: list[Candidate], chosen: Candidate | None, verdict: str) -> dict[str, Any]:
        """Why this answer or refusal: the question as read, the chosen sentence and the runners-up."""

        def row(c: Candidate) -> dict[str, Any]:
            return {
                "doc": c.span.doc,
                "start": c.span.start,
                "end": c.span.end,
                "sentence": one_line(self.text(c.span)),
                "score": c.score,
                "support": c.support,
                "features": c.features,
            }

        return {
            "verdict": verdict,
            "question": {
                "kind": q.kind,
                "count": q.count,
                "folded": q.folded,
                "counted": q.counted,
                "names": sorted(" ".join(n) for n in q.names),
                "unseen": list(q.unseen),
            },
            "weights": {name: getattr(self.weights, name) for name in (*FEATURES, "threshold")},
            "chosen": row(chosen) if chosen else None,
            "runners_up": [row(c) for c in scored if c is not chosen][:EXPLAIN_RUNNERS_UP],
        }

    @staticmethod
    def counts(q: Question, said: str) -> bool:
        """Whether a number in `said` counts what the question counts: the noun within two words
        after it ("3 nhóm nhiệm vụ"), its abbreviation ("43/68 TCCSĐ"), or a unit of amount ("tỷ đồng")."""
        assert q.counted is not None
        seen = fold(said) if q.folded else canonical(said)
        if any(q.counted in _after(seen, m) or m.group().endswith("%") for m in _QUANTITY.finditer(seen)):
            return True
        plain = fold(said)
        return any(set(_after(plain, m)[:1]) & (q.initials | _UNITS) for m in _QUANTITY.finditer(plain))

    def _adds(self, q: Question, said: list[Span], span: Span) -> bool:
        have = frozenset().union(*(self.terms_of(s, q.folded) for s in said))
        new = self.terms_of(span, q.folded) - have
        gained = sum(w for t, w in q.weights.items() if t in new)
        return gained >= 0.15 * sum(q.weights.values())

    def list_items(self, best: Span, count: int | None) -> tuple[Span, list[Span]]:
        """The sentence announcing a list and the first sentence of each item after it.

        An item that ends with ":" announces the items nested under it ("1. … các điều kiện sau:"
        then "a)", "b)"); they run until the next item of its own kind ("2.") or a heading.
        """
        spans = self.sentences_of(best.doc)
        i = spans.index(best)
        text = self.text
        # If the best sentence is an item (not one announcing its own), step back to the sentence before item one.
        if ITEM.match(text(best)) and not text(best).rstrip().endswith(":"):
            j = i
            while j > 0 and not FIRST_ITEM.match(text(spans[j])):
                j -= 1
            if FIRST_ITEM.match(text(spans[j])) and j > 0:
                i = j - 1
        anchor = spans[i]
        own = ITEM.match(text(anchor))
        own_kind = own.lastgroup if own else None
        items: list[Span] = []
        kind: str | None = None
        gap = 0
        for span in spans[i + 1 :]:
            said = text(span)
            if HEADING.match(said):
                break  # the next article or chapter
            marker = ITEM.match(said)
            if marker:
                if marker.lastgroup == own_kind:
                    break  # the anchor's next sibling
                if not items:
                    if not FIRST_ITEM.match(said):
                        break
                    kind = marker.lastgroup
                if marker.lastgroup == kind:  # items of the first level; deeper ones stay inside them
                    items.append(span)
                gap = 0
                if len(items) == (count or MAX_ITEMS):
                    break
            else:
                gap += 1
                if gap > 3:
                    break
        if len(items) < 2:
            items = []
        return anchor, items

    def picked_item(self, q: Question, scored: list[Candidate]) -> Span | None:
        """The list item the question asks for by its place, from the list around one of the best
        sentences (the answer as a whole has cleared the threshold: the ordinal says a list is meant,
        and its items often share few words with the question); None when none of them belongs to a
        list that long."""
        assert q.item is not None
        for c in scored[:LIST_RUNNERS_UP]:
            _, items = self.list_items(c.span, None)
            if len(items) >= q.item:
                return items[q.item - 1]
        return None

    def render(
        self, q: Question, said: list[Span], items: list[Span], keep_start: bool = False
    ) -> tuple[str, bool, tuple[Citation, ...]]:
        """Markdown with a [n] after every sentence, and the matching citations."""
        citations: list[Citation] = []
        parts: list[str] = []
        for span in said:
            shown, quoted = self.excerpt(q, span, keep_start=keep_start)
            citations.append(self.cite(len(citations) + 1, quoted))
            parts.append(f"{shown} [{len(citations)}]")
        body = " ".join(parts)
        if items:
            lines = []
            for span in items:
                shown, quoted = self.excerpt(q, span, keep_start=True)
                citations.append(self.cite(len(citations) + 1, quoted))
                lines.append(f"- {shown} [{len(citations)}]")
            body += "\n\n" + "\n".join(lines)
        return body, False, tuple(citations)

    def cite(self, n: int, span: Span) -> Citation:
        document = self.index.documents[span.doc]
        return Citation(
            n=n,
            doc=span.doc,
            title=document.title,
            date=document.date,
            start=span.start,
            end=span.end,
            quote=document.text[span.start : span.end],
            section=section_path(document, span.start),
            page=page_of(document, span.start),
        )

    def excerpt(self, q: Question, span: Span, keep_start: bool) -> tuple[str, Span]:
        """A sentence as said (with … where cut) and the exact span quoted.

        Long sentences are cut at clause boundaries: from the start for list
        items, else around the clauses that cover most of the question.
        """
        said = self.text(span)
        if len(said) <= MAX_SAY:
            return one_line(said), span
        cuts = [0] + [m.end() for m in re.finditer(r"[,;:]\s", said)] + [len(said)]
        best: tuple[float, int, int] | None = None
        if keep_start:
            # A list item: as much of its start as fits (at least one clause past its marker).
            fits = [b for b in cuts[1:] if b <= MAX_SAY] or [cuts[1]]
            end = fits[-1] if len(fits) > 1 or len(cuts) < 3 else max(fits[-1], cuts[2])
            best = (0.0, 0, end)
        else:
            for a in range(len(cuts) - 1):
                for b in range(a + 1, len(cuts)):
                    if cuts[b] - cuts[a] > MAX_SAY and b > a + 1:
                        break
                    part = Span(span.doc, span.start + cuts[a], span.start + cuts[b])
                    # What the question wants, then the earliest, then the longest part.
                    value = self.local_score(q, part) - 0.001 * a + 1e-6 * (cuts[b] - cuts[a])
                    if best is None or value > best[0]:
                        best = (value, cuts[a], cuts[b])
        assert best is not None
        piece = said[best[1] : best[2]].strip().rstrip(",;:").rstrip()
        start = span.start + best[1] + (len(said[best[1] :]) - len(said[best[1] :].lstrip()))
        part = Span(span.doc, start, start + len(piece))
        shown = one_line(piece)
        if best[1] > 0:
            shown = "… " + shown
        if best[2] < len(said):
            shown = shown + " …"
        return shown, part
