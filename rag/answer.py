"""Extractive answers: pick source sentences, say them verbatim, cite each one.

No language model is needed. The answerer reads the sentences of the retrieved
passages, scores each by how much of the question it covers (IDF-weighted
words and word pairs, in canonical or unaccented keys) and by what the kind of
question wants (a number, a name, a date), and answers with the best ones.
For a list question it reads on in the source document from the sentence
that announces the list ("… 4 mục tiêu …") and collects the items ("Thứ nhất …
Thứ tư …"), even when they lie in other chunks. When no sentence covers
enough of the question it refuses.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from itertools import pairwise

from rag.index import Index
from rag.records import Chunk, Citation, Document, Passage
from rag.retrieval import Retrieved
from rag.text import canonical, content_terms, fold, has_diacritics, key, nfc, terms

REFUSAL = (
    "Các tài liệu hiện có không chứa thông tin để trả lời câu hỏi này. "
    "Bạn có thể hỏi lại với từ ngữ khác hoặc bổ sung tài liệu liên quan."
)
SUPPORT_THRESHOLD = 0.45  # share of the question's weight a sentence must cover to be an answer
MAX_SAY = 600  # longest stretch of a sentence said at once; longer ones are cut at a clause
MAX_ITEMS = 12
LIST_RUNNERS_UP = 5  # sentences after the best that may announce the list a list question asks for
LIST_MARGIN = 0.25  # how far below the best such a sentence may score
STRONG_SUPPORT = 0.8  # coverage that outweighs a question word the corpus never uses
BIGRAM_WEIGHT = 0.7
RANK_WEIGHT = 0.3  # weight of the fused retrieval score when reranking passages
CONTEXT_WEIGHT = 0.5  # a question word found only in the sentences just before counts this much
CONTEXT_SENTENCES = 2  # how many sentences before, within the paragraph, give that context
CACHED_DOCUMENTS = 1024  # documents whose sentence splits and title terms are kept
CACHED_SPANS = 200_000  # sentences (and parts of them) whose terms are kept

_NUMBER_WORDS = {
    "một": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8,
    "chín": 9, "mười": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_KINDS = (
    ("count", r"\b(bao nhiêu|bao nhieu|mấy|số lượng|tỷ lệ|how many|how much|what percentage|what share)\b"),
    (
        "when",
        r"\b(khi nào|khi nao|ngày nào|ngay nao|bao giờ|bao gio|năm nào|tháng nào|thời gian nào"
        r"|when|what date|which day)\b",
    ),
    ("who", r"(^|\s)(ai|who|whom|người nào|đồng chí nào)(\s|\?|$)"),
    ("about", r"\b(về gì|ve gi|về vấn đề gì|về việc gì|nội dung gì|nội dung về|what is .* about|about what)\b"),
    ("list", r"\b(những|các|nhung|cac)\b.*\b(nào|nao|gì|gi)\b|\b(gồm|liệt kê|what are|which are|list)\b"),
)
# "4 mục tiêu", "bốn nhóm": a number before a noun (not "4 năm", a span of years)
_COUNT = re.compile(r"(?<![\w\-/])(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?!năm\b|nam\b)[^\W\d_]")
_ITEM = re.compile(
    r"^(?:(?P<ord>thứ\s+(?:nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười))"
    r"|(?P<la>(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\s+là)"
    r"|(?P<num>\d{1,2}[.)])\s|(?P<let>[a-zđ][)])\s|(?P<bul>[-–•+*])\s)",
    re.IGNORECASE,
)
_FIRST_ITEM = re.compile(r"^(?:thứ\s+nhất|một\s+là|1[.)]|a[)])", re.IGNORECASE)
# A quantity: digits not glued to letters or dashes ("193/226", "85,39%", "10.000"; not "15-NQ/TU").
_QUANTITY = re.compile(r"(?<![\w\-/])\d[\d.,/]*%?(?![\w\-])")
_DATE = re.compile(r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b|\bngày\b|\btháng\b")
# Common Vietnamese family names: a run of capitalized words that starts with one names a person.
_SURNAMES = frozenset(
    "nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đào trịnh mai trương "
    "lưu tạ cao lâm phùng tô chu đoàn vương lương kiều thái quách tăng hà triệu khổng doãn lại".split()
)
_ADDRESS = frozenset({"đồng chí", "ông", "bà"})  # words that come before a person's name
_PERCENT_WORDS = ("phần", "trăm", "tỷ", "tỉ", "lệ")
# A question that asks for a total, on unaccented lower-case text ("tổng cộng", "tất cả", …),
# and a sentence that gives one: a total word, or a number that is had ("có", "với", "gồm" N …),
# not a number that is acted on ("tặng giấy khen … 140 đảng viên").
_TOTAL_ASKED = re.compile(r"\b(tong cong|tong so|tat ca|in total|total|altogether)\b")
_TOTAL_GIVEN = re.compile(
    r"\b(tong|tat ca|toan bo)\b|\b(?:co|voi|gom|bao gom)\s+(?:(?:khoang|hon|gan|tren|toi|chung)\s+)?\d"
)
# Units of amount, unaccented: a number before one measures rather than counts.
_UNITS = frozenset("ty trieu nghin ngan tram dong usd ha km m2 tan lit phan".split())
# Offices, unaccented, with "phó" (deputy) kept as part of the office.
_OFFICE = re.compile(r"(?<!\w)(pho\s+)?(bi thu|chu tich|giam doc|truong ban|thu tuong|truong doan)(?!\w)")
# "số 1", "lần thứ XVII", "khóa XV" (unaccented): a number that names one of several things.
# A list after one marker names each ("khóa XI, XII", "số 6 và 7").
_NUMBER_MARKERS = ("so", "thu", "khoa")
_NUMBER_NAME = r"(?:\d+|[ivxlc]+)(?![\w\-/]|[.,]\d)"
_NUMBERED = re.compile(rf"(?<!\w)({'|'.join(_NUMBER_MARKERS)})\s+({_NUMBER_NAME}(?:\s*(?:,|va)\s*{_NUMBER_NAME})*)")
_DAY_ASKED = re.compile(r"\b(ngày nào|ngay nao|hôm nào|what date|which day)\b", re.IGNORECASE)  # a year will not do
_DAY = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?")
_YEAR = re.compile(r"(?:19|20)\d\d")
# Levels of government in canonical keys ("quận" is quân5; "cơ quan" is not a level);
# a committee names its level (Thành ủy: the city).
_LEVEL = re.compile(r"(?<!\w)(thanh2 phô1|tp|thanh2 uy3|quân5|huyên5|tinh3|phương2)(?!\w)")
_LEVEL_OF = {"tp": "thanh2 phô1", "thanh2 uy3": "thanh2 phô1"}
_ABBREVIATIONS = frozenset({"tp", "ts", "ths", "pgs", "gs", "bs", "ks", "th", "st", "ông", "bà"})


@dataclass(frozen=True)
class Question:
    """What the answerer reads from a question."""

    text: str
    kind: str  # count, when, who, about, list or fact
    count: int | None  # "4 mục tiêu" -> 4
    folded: bool  # typed without marks: match on unaccented keys
    weights: dict[str, float]  # content term -> weight
    unseen: tuple[str, ...] = ()  # content words (not numbers) that no chunk contains
    counted: str | None = None  # "bao nhiêu nhiệm vụ" -> canonical "nhiệm"; "%" for percentages
    initials: frozenset[str] = frozenset()  # abbreviations of the counted phrase: "tccsd" for "tổ chức cơ sở đảng"
    total: bool = False  # asks for a total ("có tổng cộng bao nhiêu …?")
    percent: frozenset[str] = frozenset()  # terms ("phần trăm", "tỷ lệ") that a "%" in a sentence stands for
    # word -> the question's word pairs that hold it ("tông3" -> {"tông3_công5"}), for context matching
    pairs: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """A sentence (or part of one) in a document."""

    doc: str
    start: int
    end: int


def sentences(document: Document) -> list[Span]:
    """Sentences of a document's content regions, in order."""
    out: list[Span] = []
    text = document.text
    for region_start, region_end in document.content:
        for para in re.finditer(r"[^\n]+", text[region_start:region_end]):
            p_start = region_start + para.start()
            body = para.group()
            cursor = 0
            for m in re.finditer(r"([.!?…][”\"’)]*)\s+", body):
                nxt = body[m.end() : m.end() + 2]
                if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "“\"(["):
                    continue
                before = body[cursor : m.start(1)].split()
                last = before[-1].lower() if before else ""
                if body[m.start(1)] == "." and (len(last) == 1 or last in _ABBREVIATIONS):
                    continue
                out.append(_stripped(document, p_start + cursor, p_start + m.end(1)))
                cursor = m.end()
            if body[cursor:].strip():
                out.append(_stripped(document, p_start + cursor, p_start + len(body)))
    return [s for s in out if s.end > s.start]


def _stripped(document: Document, start: int, end: int) -> Span:
    piece = document.text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return Span(document.doc, start + lead, end - trail)


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
    # A number after a name or "số" names a thing ("Trung ương 4", "Chương trình 01"); it does not count.
    m = next((c for c in _COUNT.finditer(lower) if not _names_number(text, c.start())), None)
    if m:
        word = m.group(1)
        count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
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
    for name in proper_names(text):
        parts = [to_key(w) for w in name]
        if any(not index.lexical.has(f"{a}_{b}", folded=folded) for a, b in pairwise(parts)):
            unseen.append("_".join(parts))
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
        unseen=tuple(unseen),
        counted=counted,
        initials=initials,
        total=kind == "count" and _TOTAL_ASKED.search(fold(lower)) is not None,
        percent=percent,
        pairs={word: frozenset(found) for word, found in pairs.items()},
    )


def _names_number(text: str, at: int) -> bool:
    """Whether the number at `at` belongs to a name: after a capitalized word or "số", "thứ", "khóa"."""
    before = text[:at].split()
    return bool(before) and (_capitalized(before[-1]) or fold(before[-1]) in _NUMBER_MARKERS)


def has_amount(said: str) -> bool:
    """Whether a sentence holds a number that is not a date or a year."""
    for m in _QUANTITY.finditer(said):
        number = m.group().rstrip(".,/")
        if _DAY.fullmatch(number) or (_YEAR.fullmatch(number) and not number.endswith("%")):
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


def offices(text: str) -> set[str]:
    """Offices a text names, unaccented, a deputy's apart: {"bi thu", "pho bi thu", "chu tich"}."""
    return {(m.group(1) or "") + m.group(2) for m in _OFFICE.finditer(fold(text))}


def numbered(text: str) -> set[tuple[str, str]]:
    """Numbered names in a text, unaccented: "đoàn kiểm tra số 1" -> {("so", "1")}, "khóa XV" -> {("khoa", "xv")}."""
    return {
        (m.group(1), value) for m in _NUMBERED.finditer(fold(text)) for value in re.split(r"\s*(?:,|va)\s*", m.group(2))
    }


def levels(text: str) -> frozenset[str]:
    """The administrative levels a text names: "thành phố" (or TP, Thành ủy), "quận", "huyện", …"""
    found = set()
    for m in _LEVEL.finditer(canonical(text)):
        found.add(_LEVEL_OF.get(m.group(1), m.group(1)))
    return frozenset(found)


def _after(text: str, number: re.Match[str]) -> list[str]:
    """The two words after a number."""
    return re.findall(r"\w+", text[number.end() : number.end() + 40])[:2]


def _overlaps(chunk: Chunk, span: Span) -> bool:
    return chunk.doc == span.doc and span.start < chunk.end and span.end > chunk.start


class Answerer:
    """Builds extractive answers from an index; caches sentence splits per document."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._sentences: dict[str, tuple[list[Span], list[int]]] = {}  # spans and their starts
        self._about: dict[tuple[str, bool], frozenset[str]] = {}
        self._terms: dict[tuple[str, int, int, bool], frozenset[str]] = {}

    def sentences_of(self, doc: str) -> list[Span]:
        return self._split(doc)[0]

    def _split(self, doc: str) -> tuple[list[Span], list[int]]:
        found = self._sentences.get(doc)
        if found is None:
            if len(self._sentences) >= CACHED_DOCUMENTS:
                self._sentences.clear()  # a long-running server over a large archive stays bounded
            spans = sentences(self.index.documents[doc])
            found = self._sentences[doc] = (spans, [s.start for s in spans])
        return found

    def _position(self, span: Span) -> int:
        """Index of the sentence of its document that holds the start of `span`."""
        return max(bisect.bisect_right(self._split(span.doc)[1], span.start) - 1, 0)

    def text(self, span: Span) -> str:
        return self.index.documents[span.doc].text[span.start : span.end]

    def coverage(self, q: Question, span: Span) -> float:
        """Share of the question's term weight found in the sentence."""
        total = sum(q.weights.values())
        if total <= 0:
            return 0.0
        found = self.terms_of(span, q.folded)
        if q.percent and "%" in self.text(span):
            found = found | q.percent
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
            found = frozenset(terms(self.text(span), folded=folded))
            self._terms[key] = found
        return found

    def context(self, span: Span) -> list[Span]:
        """The sentences just before `span` in its paragraph (who "Cùng đó, …" is about)."""
        spans = self.sentences_of(span.doc)
        text = self.index.documents[span.doc].text
        out = []
        i = self._position(span)
        for j in range(i - 1, max(i - 1 - CONTEXT_SENTENCES, -1), -1):
            if "\n" in text[spans[j].end : span.start]:
                break
            out.append(spans[j])
        return out

    def context_terms(self, span: Span, folded: bool) -> frozenset[str]:
        """Terms of what a sentence is about: the sentences just before it, and its document's
        title and lead sentence (a news lead names the report or event the article is about)."""
        title = self._about.get((span.doc, folded))
        if title is None:
            if len(self._about) >= CACHED_DOCUMENTS:
                self._about.clear()
            document = self.index.documents[span.doc]
            spans = self.sentences_of(span.doc)
            lead = self.text(spans[0]) if spans else ""
            title = frozenset(terms(document.title + "\n" + lead, folded=folded))
            self._about[span.doc, folded] = title
        return title.union(*(self.terms_of(before, folded) for before in self.context(span)))

    def score(self, q: Question, span: Span, rank: int) -> float:
        """Coverage plus what the kind of question wants, plus a little for passage rank."""
        said = self.text(span)
        bonus = 0.0
        if q.kind == "count" and _QUANTITY.search(said):
            bonus += 0.15
        if q.count is not None and re.search(rf"(?<![\d.,]){q.count}\s+[^\W\d_]", said):
            bonus += 0.15
        if q.counted and q.counted != "%" and self.counts(q, said):
            bonus += 0.15  # "bao nhiêu nhiệm vụ" prefers a sentence that counts nhiệm vụ ("10 nhiệm vụ")
        if q.kind == "when" and _DATE.search(said):
            bonus += 0.15
        if q.kind == "who" and names_person(said):
            bonus += 0.15
        return self.coverage(q, span) + bonus + 0.05 / rank

    def candidates(self, retrieved: Retrieved) -> list[tuple[Span, int]]:
        """Sentences overlapping the retrieved passages, with the best passage rank of each."""
        seen: dict[Span, int] = {}
        for passage in retrieved.passages:
            chunk = passage.chunk
            for span in self.sentences_of(chunk.doc):
                if _overlaps(chunk, span) and span not in seen:
                    seen[span] = passage.rank
        return list(seen.items())

    def rerank(
        self, retrieved: Retrieved, scored: list[tuple[float, Span]], answer: Span | None
    ) -> tuple[Passage, ...]:
        """Passages ordered for the reader: the one holding `answer` (the sentence the
        answer rests on) first, the rest by their best sentence's score plus a share
        of their fused score.

        The fused score ranks whole chunks; the best sentence says whether a chunk
        holds what was asked. Passage scores are those sums, so the first may score
        below the second.
        """
        best: dict[int, float] = {}
        for value, span in scored:
            for passage in retrieved.passages:
                if _overlaps(passage.chunk, span):
                    best[passage.chunk.id] = max(best.get(passage.chunk.id, 0.0), value)
        combined = {p.chunk.id: best.get(p.chunk.id, 0.0) + RANK_WEIGHT * p.score for p in retrieved.passages}
        ordered = sorted(
            retrieved.passages,
            key=lambda p: (answer is None or not _overlaps(p.chunk, answer), -combined[p.chunk.id]),
        )
        return tuple(
            Passage(chunk=p.chunk, score=round(combined[p.chunk.id], 4), rank=i + 1) for i, p in enumerate(ordered)
        )

    def answer(
        self, question: str, retrieved: Retrieved, folded: bool | None = None
    ) -> tuple[str, bool, tuple[Citation, ...], tuple[Passage, ...]]:
        """Markdown answer, refused flag, citations, and the passages reranked for `question`."""
        q = analyze(question, self.index, folded)
        scored = sorted(
            ((self.score(q, span, rank), span) for span, rank in self.candidates(retrieved)),
            key=lambda pair: -pair[0],
        )
        best, top = next(((span, value) for value, span in scored if self.supported(q, span)), (None, 0.0))
        if best is None:
            return REFUSAL, True, (), self.rerank(retrieved, scored, None)

        said: list[Span] = [best]
        items: list[Span] = []
        if q.kind == "list" or q.count is not None:
            anchor, items = self.list_items(best, q.count)
            said = [anchor]
            if not items and q.kind == "list":
                # A list question is answered by a list: a close runner-up that announces one wins.
                for value, span in scored[:LIST_RUNNERS_UP]:
                    if span != best and value >= top - LIST_MARGIN and self.supported(q, span):
                        found, listed = self.list_items(span, q.count)
                        if listed:
                            best, said, items = span, [found], listed
                            break
        elif not _ITEM.match(self.text(best)):
            # A sentence that announces a list ("… xác định rõ 4 mục tiêu năm 2021.") is said with it.
            items = self.list_items(best, None)[1]
        if not items:
            # A second sentence when it covers question terms the first one lacks.
            for _, span in scored[1:4]:
                if self.supported(q, span) and self._adds(q, said, span):
                    said.append(span)
                    break
            said.sort(key=lambda s: (s.doc, s.start))
        return (*self.render(q, said, items), self.rerank(retrieved, scored, best))

    def supported(self, q: Question, span: Span) -> bool:
        """Whether a sentence answers the question well enough to be said."""
        coverage = self.coverage(q, span)
        if coverage < SUPPORT_THRESHOLD:
            return False
        # A content word no document ever uses ("lượt xem", "thời tiết") names something
        # the corpus does not hold, unless the sentence covers nearly all the rest.
        if q.unseen and coverage < STRONG_SUPPORT:
            return False
        said = self.text(span)
        # "Bao nhiêu …?" is answered by an amount, not by a date or a year ("Sáng 15/1/2021 …");
        # "bao nhiêu phần trăm?" by a percentage.
        if q.counted == "%":
            return "%" in said
        if q.kind == "count" and q.count is None and not has_amount(said):
            return False
        # "Bao nhiêu ủy viên?" is not answered by a sentence whose numbers count other things ("10 ban chỉ đạo").
        if q.kind == "count" and q.counted and q.counted != "%" and not self.counts(q, said):
            return False
        # A total is not answered by the count of a part ("140 đảng viên hoàn thành xuất sắc …").
        if q.total and not _TOTAL_GIVEN.search(fold(said)):
            return False
        # "Đoàn kiểm tra số 2" is not "đoàn kiểm tra số 1", nor "khóa XV" "khóa XIV".
        found_numbers = numbered(said)
        for marker, value in numbered(q.text):
            others = {v for m, v in found_numbers if m == marker}
            if others and value not in others:
                return False
        # "Khi nào …?" is answered by a time: a date, a month, a year ("đầu tháng 4", "ngày 11/12").
        if q.kind == "when" and not (_DATE.search(said) or (_YEAR.search(said) and not _DAY_ASKED.search(q.text))):
            return False
        if q.kind not in ("who", "count"):
            return True
        around = " ".join([*map(self.text, self.context(span)), said])  # the sentence and those just before
        # "Ai là Bí thư …?" is not answered by a "Phó Bí thư" (a deputy), nor the other way round.
        if q.kind == "who":
            return offices(q.text) <= offices(around)
        # A city figure does not answer a district question, nor the other way round.
        asked, found = levels(q.text), levels(around)
        return not (asked and found and not asked & found)

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
        """The sentence announcing a list and the first sentence of each item after it."""
        spans = self.sentences_of(best.doc)
        i = spans.index(best)
        text = self.text
        # If the best sentence is itself an item, step back to the sentence before item one.
        if _ITEM.match(text(best)):
            j = i
            while j > 0 and not _FIRST_ITEM.match(text(spans[j])):
                j -= 1
            if _FIRST_ITEM.match(text(spans[j])) and j > 0:
                i = j - 1
        anchor = spans[i]
        items: list[Span] = []
        gap = 0
        for span in spans[i + 1 :]:
            if _ITEM.match(text(span)):
                if not items and not _FIRST_ITEM.match(text(span)):
                    break
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

    def render(self, q: Question, said: list[Span], items: list[Span]) -> tuple[str, bool, tuple[Citation, ...]]:
        """Markdown with a [n] after every sentence, and the matching citations."""
        citations: list[Citation] = []
        parts: list[str] = []
        for span in said:
            shown, quoted = self.excerpt(q, span, keep_start=False)
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
        )

    def excerpt(self, q: Question, span: Span, keep_start: bool) -> tuple[str, Span]:
        """A sentence as said (with … where cut) and the exact span quoted.

        Long sentences are cut at clause boundaries: from the start for list
        items, else around the clauses that cover most of the question.
        """
        said = self.text(span)
        if len(said) <= MAX_SAY:
            return said, span
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
                    value = self.score(q, part, rank=1) - 0.001 * a + 1e-6 * (cuts[b] - cuts[a])
                    if best is None or value > best[0]:
                        best = (value, cuts[a], cuts[b])
        assert best is not None
        piece = said[best[1] : best[2]].strip().rstrip(",;:").rstrip()
        start = span.start + best[1] + (len(said[best[1] :]) - len(said[best[1] :].lstrip()))
        part = Span(span.doc, start, start + len(piece))
        shown = piece
        if best[1] > 0:
            shown = "… " + shown
        if best[2] < len(said):
            shown = shown + " …"
        return shown, part
