"""Extractive answers: pick source sentences, say them verbatim, cite each one.

No language model is needed. Every sentence of the retrieved passages is a candidate with named
features (how much of the question it covers, in canonical or unaccented keys, its own words or
those of its context; the question's similarity to the sentence itself and to its passage, by the
index's embedding model; the passage's rank; whether it holds what the kind of question asks for:
an amount, a duration, a time, a person; whether a numbered name clashes: "Điều 6" is not "Điều
60"; how much of the question no document uses). A learned decision (`rag.decision`, trained by
`eval/train_decision.py` per embedding model) orders the candidates and says which of three
outcomes the reader gets: `answer` (the best sentences, cited), `closest` (the documents discuss
the question but no sentence is a confident answer: the closest passages' best sentences are
quoted, plainly marked as such) or `none` (nothing in the documents addresses it).

For a list question (or a sentence or heading that announces a list) it reads
on in the source document and collects the items ("Thứ nhất …", "1.", "a)").
`explain` returns the probabilities, the features that moved them, the chosen sentence and the
runners-up.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from rag.decision import Decision, Logistic, decision_for
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
    sentence_spans,
    unwrap,
)
from rag.text import canonical, content_terms, fold, has_diacritics, key, nfc, terms

REFUSAL = (
    "Các tài liệu hiện có không chứa thông tin để trả lời câu hỏi này. "
    "Bạn có thể hỏi lại với từ ngữ khác hoặc bổ sung tài liệu liên quan."
)
CLOSEST = "Tài liệu không nêu trực tiếp câu trả lời cho câu hỏi này; các đoạn liên quan nhất:"
OUTCOMES = ("answer", "closest", "none")
MAX_SAY = 600  # longest stretch of a sentence said at once; longer ones are cut at a clause
MAX_ITEMS = 12
LIST_RUNNERS_UP = 5  # sentences after the best that may announce the list a list question asks for
CLOSEST_QUOTES = 2  # sentences quoted for outcome `closest`, from different passages (eval/fit_closest.py)
BIGRAM_WEIGHT = 0.7
RANK_WEIGHT = 0.3  # weight of the fused retrieval score when reranking passages
CONTEXT_WEIGHT = 0.5  # a question word found only in the sentence's context counts this much
CONTEXT_SENTENCES = 2  # how many sentences before, within the paragraph, give that context
CLAUSE_FIT = 0.3  # what holding the asked-for type adds when choosing the clause of a long sentence to say
CACHED_DOCUMENTS = 1024  # documents whose sentence splits and title terms are kept
CACHED_SPANS = 200_000  # sentences (and parts of them) whose terms are kept
EXPLAIN_RUNNERS_UP = 4
LONG_SENTENCE = 400  # characters at which the `length` feature is 1

# The features of one candidate sentence (the ranker's input).
FEATURES = (
    "coverage", "own", "dense", "sdense", "sdense_abs", "pdense_abs", "rank", "fits", "misses", "counted",
    "clash", "unnamed", "unseen", "heading", "item", "length", "announces",
)
# The features of a question's best candidates (the `answer` and `about` models' input).
QUESTION_FEATURES = (
    "top", "margin", "top_p", "coverage", "own", "sdense_abs", "pdense_abs", "best_sdense", "best_coverage",
    "best_own", "missing", "unseen", "clash", "unnamed", "misses", "fits", "listed",
)
# What each feature is, for `explain` and the training script's report.
FEATURE_NOTES = {
    "coverage": "share of the question's IDF weight in the sentence (its context at half weight)",
    "own": "share of the question's IDF weight in the sentence's own words",
    "dense": "cosine of question and the sentence's passage, less the best passage's",
    "sdense": "cosine of question and the sentence itself, less the best candidate sentence's",
    "sdense_abs": "cosine of question and the sentence (the index's embedding model; stored per sentence)",
    "pdense_abs": "cosine of question and the sentence's passage",
    "rank": "1 / rank of the sentence's passage in retrieval",
    "fits": "holds what the kind of question asks for (amount, duration, time, person)",
    "misses": "lacks what the kind of question asks for",
    "counted": "counts what a 'bao nhiêu X' question counts (a number before X, its initials, or a unit)",
    "clash": "names another number of a numbered name the question names (Điều 60 for Điều 6)",
    "unnamed": "share of the numbered names the question asks for (Điều 6, khoản 2, khóa XI) that neither "
    "the sentence, its heading, the sentences before it nor the document's title carries",
    "unseen": "share of the question's weight on words no document uses",
    "heading": "the sentence is a heading (Chương, Điều, I., 1.1.)",
    "item": "the sentence is a list item (1., a), -, Thứ nhất)",
    "length": f"the sentence's length, 1 at {LONG_SENTENCE} characters or more",
    "announces": "for a list question: the sentence is followed by a list (of as many items as the question counts)",
    "listed": "for a list question: the best sentence announces its list",
    "top": "the ranker's log-odds for the best sentence",
    "margin": "how far the best sentence's log-odds is above the second's",
    "top_p": "the ranker's probability for the best sentence",
    "best_sdense": "the highest question-sentence cosine among the candidates",
    "best_coverage": "the highest coverage among the candidates",
    "best_own": "the highest own-word coverage among the candidates",
    "missing": "share of the question's weight that no candidate sentence holds (its distinctive terms are not there)",
}


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
# "năm nào", "năm nay", "năm học": "năm" is the year there, not the number five.
_YEAR_WORD = re.compile(r"năm\s+(?:nào|nao|nay|này|ấy|đó|qua|ngoái|sau|trước|tới|học|tài|thứ|đầu|cuối)\b")
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
    """A sentence weighed as an answer: its features, the ranker's log-odds and probability."""

    span: Span
    rank: int
    features: dict[str, float]
    score: float  # the ranker's log-odds: orders the candidates
    p: float  # the ranker's probability that the sentence holds the answer


@dataclass(frozen=True)
class Verdict:
    """The outcome for a question and the probabilities behind it."""

    outcome: str  # answer, closest or none
    p_answer: float
    p_about: float
    features: dict[str, float]


def sentences(document: Document, flow: str | None = None) -> list[Span]:
    """Sentences of a document's content regions, in order; hard-wrapped lines read as one paragraph.

    `flow` is `unwrap(document.text)` when the caller has it already.
    """
    flow = unwrap(document.text) if flow is None else flow
    return [Span(document.doc, s, e) for s, e in sentence_spans(flow, document.content)]


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
    m = next(
        (
            c
            for c in _COUNT.finditer(lower)
            if not _names_number(text, c.start()) and not _YEAR_WORD.match(lower, c.start())
        ),
        None,
    )
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


def ranked(ranker: Logistic, rows: list[tuple[Span, int, dict[str, float]]]) -> list[Candidate]:
    """Featurized candidates (span, passage rank, features) scored by `ranker`, best first."""
    out = [Candidate(span, rank, f, round(ranker.z(f), 4), round(ranker.probability(f), 4)) for span, rank, f in rows]
    out.sort(key=lambda c: (-c.score, c.span.doc, c.span.start))
    return out


def question_features(unseen: float, missing: float, scored: list[Candidate]) -> dict[str, float]:
    """The features of a question's best candidates that the `answer` and `about` models read
    (`unseen`: the question's share of weight on words no document uses; `missing`: on words no
    candidate sentence holds)."""
    if not scored:
        return dict.fromkeys(QUESTION_FEATURES, 0.0) | {"top": -10.0, "unseen": unseen, "missing": 1.0}
    top = scored[0]
    second = scored[1].score if len(scored) > 1 else top.score - 5.0
    f = top.features
    return {
        "top": max(top.score, -10.0),
        "margin": round(min(top.score - second, 5.0), 4),
        "top_p": top.p,
        "coverage": f["coverage"],
        "own": f["own"],
        "sdense_abs": f["sdense_abs"],
        "pdense_abs": f["pdense_abs"],
        "best_sdense": max(c.features["sdense_abs"] for c in scored),
        "best_coverage": max(c.features["coverage"] for c in scored),
        "best_own": max(c.features["own"] for c in scored),
        "missing": round(missing, 4),
        "unseen": unseen,
        "clash": f["clash"],
        "unnamed": f["unnamed"],
        "misses": f["misses"],
        "fits": f["fits"],
        "listed": f["announces"],
    }


class Answerer:
    """Builds extractive answers from an index; caches sentence splits per document."""

    def __init__(self, index: Index, decision: Decision | None = None) -> None:
        self.index = index
        self._decision = decision
        self._sentences: dict[str, tuple[list[Span], list[int], str]] = {}  # spans, their starts, the unwrapped text
        self._headings: dict[str, tuple[list[int], list[Span]]] = {}  # heading starts and spans, per document
        self._about: dict[tuple[str, bool], frozenset[str]] = {}
        self._terms: dict[tuple[str, int, int, bool], frozenset[str]] = {}

    @property
    def decision(self) -> Decision:
        """The learned decision for the index's embedding model (its own file, else the default)."""
        if self._decision is None:
            self._decision = decision_for(self.index.model)
        return self._decision

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

    def features(
        self, q: Question, span: Span, rank: int, dense: float, top_dense: float, sim: float, top_sim: float
    ) -> dict[str, float]:
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
            "own": round(self.own_coverage(q, span), 4),
            "dense": round(dense - top_dense, 4),
            "sdense": round(sim - top_sim, 4),
            "sdense_abs": round(sim, 4),
            "pdense_abs": round(dense, 4),
            "rank": round(1.0 / rank, 4),
            "fits": float(fit is True),
            "misses": float(fit is False),
            "counted": float(bool(q.counted and q.counted != "%" and self.counts(q, said))),
            "clash": float(clash),
            "unnamed": round(unnamed, 4),
            "unseen": q.unseen_share,
            "heading": float(bool(HEADING.match(said))),
            "item": float(bool(ITEM.match(said))),
            "length": round(min(len(said) / LONG_SENTENCE, 1.0), 4),
            "announces": float(self.announces(q, span)),
        }

    def announces(self, q: Question, span: Span) -> bool:
        """For a list question ("các … nào", "4 mục tiêu"): whether a list follows the sentence, of as many
        items as the question counts when it counts them."""
        if q.kind != "list" and q.count is None:
            return False
        items = self.list_items(span, q.count)[1]
        return bool(items) and (q.count is None or len(items) == q.count)

    def missing(self, q: Question, spans: list[Span]) -> float:
        """Share of the question's term weight that none of `spans` holds in its own words."""
        total = sum(q.weights.values())
        if total <= 0 or not spans:
            return 1.0
        held = frozenset().union(*(self.terms_of(s, q.folded) for s in spans))
        return sum(w for t, w in q.weights.items() if t not in held) / total

    def own_coverage(self, q: Question, span: Span) -> float:
        """Share of the question's term weight in the sentence's own words (no context, no names carried)."""
        total = sum(q.weights.values())
        if total <= 0:
            return 0.0
        found = self.terms_of(span, q.folded)
        return sum(w for t, w in q.weights.items() if t in found) / total

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
        return self.coverage(q, span) + CLAUSE_FIT * float(fit is True)

    def candidates(self, retrieved: Retrieved) -> list[tuple[Span, int, float]]:
        """Sentences overlapping the retrieved passages, with the best passage rank and dense score of each."""
        seen: dict[Span, tuple[int, float]] = {}
        for passage in retrieved.passages:
            chunk = passage.chunk
            dense = retrieved.dense.get(chunk.id, 0.0)
            spans, starts, _ = self._split(chunk.doc)
            # Sentences are in order and do not overlap: start from the one holding the chunk's start.
            for span in spans[max(bisect.bisect_right(starts, chunk.start) - 1, 0) :]:
                if span.start >= chunk.end:
                    break
                if _overlaps(chunk, span):
                    rank, best = seen.get(span, (passage.rank, dense))
                    seen[span] = (min(rank, passage.rank), max(best, dense))
        return [(span, rank, dense) for span, (rank, dense) in seen.items()]

    def similarities(self, spans: list[Span], query: np.ndarray | None) -> list[float | None]:
        """The question's cosine with each sentence, from the vectors the index stores per sentence."""
        if query is None:
            return [None] * len(spans)
        by_doc: dict[str, list[int]] = {}
        for i, span in enumerate(spans):
            by_doc.setdefault(span.doc, []).append(i)
        out: list[float | None] = [None] * len(spans)
        for doc, positions in by_doc.items():
            number = self.index.documents.number[doc]
            found = self.index.sentences.similarity(number, [spans[i].start for i in positions], query)
            for i, sim in zip(positions, found):
                out[i] = sim
        return out

    def featurize(self, q: Question, retrieved: Retrieved) -> list[tuple[Span, int, dict[str, float]]]:
        """Every candidate sentence with its passage rank and features (what the ranker reads)."""
        found = self.candidates(retrieved)
        sims = self.similarities([span for span, _, _ in found], retrieved.query)
        # A sentence without a stored vector (an index being rebuilt) takes its passage's cosine.
        sims_or = [dense if sim is None else sim for (_, _, dense), sim in zip(found, sims)]
        top_dense = max((dense for _, _, dense in found), default=0.0)
        top_sim = max(sims_or, default=0.0)
        return [
            (span, rank, self.features(q, span, rank, dense, top_dense, sim, top_sim))
            for (span, rank, dense), sim in zip(found, sims_or)
        ]

    def weigh(self, q: Question, retrieved: Retrieved) -> list[Candidate]:
        """Every candidate sentence scored by the ranker, best first."""
        return ranked(self.decision.ranker, self.featurize(q, retrieved))

    def verdict(self, q: Question, scored: list[Candidate]) -> Verdict:
        """The outcome, from the question-level features of the best candidates."""
        features = question_features(q.unseen_share, self.missing(q, [c.span for c in scored]), scored)
        d = self.decision
        p_answer = d.answer.probability(features)
        p_about = d.about.probability(features)
        if not scored:
            outcome = "none"
        elif p_answer >= d.answer_threshold:
            outcome = "answer"
        elif p_about < d.about_threshold:
            outcome = "none"
        else:
            outcome = "closest"
        return Verdict(outcome, round(p_answer, 4), round(p_about, 4), features)

    def rerank(self, retrieved: Retrieved, scored: list[Candidate], answer: Span | None) -> tuple[Passage, ...]:
        """Passages ordered for the reader: the one holding `answer` (the sentence the
        answer rests on) first, the rest by their best sentence's score plus a share
        of their fused score.

        The fused score ranks whole chunks; the best sentence's probability says whether a chunk
        holds what was asked. Passage scores are those sums, so the first may score
        below the second.
        """
        best: dict[int, float] = {}
        for candidate in scored:
            for passage in retrieved.passages:
                if _overlaps(passage.chunk, candidate.span):
                    best[passage.chunk.id] = max(best.get(passage.chunk.id, 0.0), candidate.p)
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
    ) -> tuple[str, str, tuple[Citation, ...], tuple[Passage, ...], dict[str, Any]]:
        """Markdown answer, outcome (answer, closest or none), citations, the passages reranked for `q`,
        and the explanation."""
        scored = self.weigh(q, retrieved)
        verdict = self.verdict(q, scored)
        d = self.decision
        if verdict.outcome == "none":
            why = (
                "no sentence of the retrieved passages"
                if not scored
                else f"P(answer) {verdict.p_answer:.3f} < {d.answer_threshold:.3f} and "
                f"P(the documents address it) {verdict.p_about:.3f} < {d.about_threshold:.3f}"
            )
            explain = self.explain(q, scored, None, verdict, f"none: {why}")
            return REFUSAL, "none", (), self.rerank(retrieved, scored, None), explain
        top = scored[0]
        if verdict.outcome == "closest":
            quoted = self.closest(scored, retrieved)
            text, citations = self.render_closest(q, quoted)
            why = (
                f"closest: P(answer) {verdict.p_answer:.3f} < {d.answer_threshold:.3f}, "
                f"P(the documents address it) {verdict.p_about:.3f} ≥ {d.about_threshold:.3f}"
            )
            explain = self.explain(q, scored, top, verdict, why)
            return text, "closest", citations, self.rerank(retrieved, scored, top.span), explain

        best = top.span
        said: list[Span] = [best]
        items: list[Span] = []
        why = f"answer: P(answer) {verdict.p_answer:.3f} ≥ {d.answer_threshold:.3f}"
        picked = self.picked_item(q, scored) if q.item is not None else None
        if picked is not None:
            # "Mục tiêu thứ ba là gì?": that item of the list alone, said from its start.
            chosen = next((c for c in scored if c.span == picked), top)
            why = f"{why}; item {q.item} of the list around the best sentences"
            explain = self.explain(q, scored, chosen, verdict, why)
            text, citations = self.render(q, [picked], [], keep_start=True)
            return text, "answer", citations, self.rerank(retrieved, scored, picked), explain
        if q.kind == "list" or q.count is not None or HEADING.match(self.text(best)):
            anchor, items = self.list_items(best, q.count)
            said = [anchor]
            if not items and q.kind == "list":
                # A list question is answered by a list: a runner-up that announces as many items as the question
                # counts wins ("4 mục tiêu"), or one the ranker finds likely that announces any list.
                for c in scored[1:LIST_RUNNERS_UP]:
                    if (q.count is not None and c.features["announces"]) or c.p >= d.second:
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
            # A second sentence when the ranker finds it likely too (the reader then sees both, each cited),
            # or it covers question terms the first one lacks and is not unlikely.
            for c in scored[1:4]:
                if c.features["clash"]:
                    continue  # it names another article or clause than the one asked for
                if c.p >= d.second or (c.p >= d.second / 2 and self._adds(q, said, c.span)):
                    said.append(c.span)
                    # A runner-up that announces a list ("… xác định rõ 4 mục tiêu năm 2021.") is said with it.
                    if not ITEM.match(self.text(c.span)) or self.text(c.span).rstrip().endswith(":"):
                        items = self.list_items(c.span, None)[1]
                    break
            said.sort(key=lambda s: (s.doc, s.start))
        chosen = next(c for c in scored if c.span == best)
        explain = self.explain(q, scored, chosen, verdict, why)
        text, citations = self.render(q, said, items)
        return text, "answer", citations, self.rerank(retrieved, scored, best), explain

    def closest(self, scored: list[Candidate], retrieved: Retrieved) -> list[Span]:
        """The best sentences of the best passages: the top candidate, then the best one of another passage."""
        quoted: list[Span] = []
        used: list[Chunk] = []
        for c in scored:
            home = next((p.chunk for p in retrieved.passages if _overlaps(p.chunk, c.span)), None)
            if home is not None and any(h.id == home.id for h in used):
                continue
            quoted.append(c.span)
            if home is not None:
                used.append(home)
            if len(quoted) == CLOSEST_QUOTES:
                break
        return quoted

    def render_closest(self, q: Question, quoted: list[Span]) -> tuple[str, tuple[Citation, ...]]:
        """The plain notice that no sentence answers directly, then each closest sentence as a quote, cited."""
        citations: list[Citation] = []
        parts = [CLOSEST]
        for span in quoted:
            shown, part = self.excerpt(q, span, keep_start=False)
            citations.append(self.cite(len(citations) + 1, part))
            parts.append(f"> {shown} [{len(citations)}]")
        return "\n\n".join(parts), tuple(citations)

    def explain(
        self, q: Question, scored: list[Candidate], chosen: Candidate | None, verdict: Verdict, why: str
    ) -> dict[str, Any]:
        """Why this outcome: the probabilities and what moved them, the chosen sentence and the runners-up."""
        d = self.decision

        def row(c: Candidate) -> dict[str, Any]:
            return {
                "doc": c.span.doc,
                "start": c.span.start,
                "end": c.span.end,
                "sentence": one_line(self.text(c.span)),
                "score": c.score,
                "p": c.p,
                "features": c.features,
                "moved_most": d.ranker.reasons(c.features),
            }

        return {
            "verdict": why,
            "outcome": verdict.outcome,
            "probabilities": {
                "answer": verdict.p_answer,
                "about": verdict.p_about,
                "thresholds": {"answer": d.answer_threshold, "about": d.about_threshold},
            },
            "decision_file": d.file,
            "moved_most": {
                "answer": d.answer.reasons(verdict.features),
                "about": d.about.reasons(verdict.features),
            },
            "question": {
                "kind": q.kind,
                "count": q.count,
                "folded": q.folded,
                "counted": q.counted,
                "names": sorted(" ".join(n) for n in q.names),
                "unseen": list(q.unseen),
                "features": verdict.features,
            },
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
        i = self._position(best)
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
        sentences (the outcome is `answer`: the ordinal says a list is meant,
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
    ) -> tuple[str, tuple[Citation, ...]]:
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
        return body, tuple(citations)

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
