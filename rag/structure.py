"""Vietnamese text structure, in one place: lines, hard wraps, sentence ends, list markers,
headings and their numbering (Chương, Điều, Khoản), dates, number words.

Cleaning (`rag.documents`), chunking (`rag.chunking`) and answering (`rag.answer`)
all read text through these functions, so they agree on where a sentence ends,
what a list item or a heading is, and which newlines are only hard wraps.

Nothing here edits text: `unwrap` returns a text of the same length (a soft
newline becomes a space), so every offset into it is an offset into the stored text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from rag.text import fold

NUMBER_WORDS = {
    "một": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8,
    "chín": 9, "mười": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_ORDINALS = "nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười"
_CARDINALS = "một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười"

# A list item's marker: "1.", "a)", "-", "Thứ nhất", "Một là", "Bước 2:".
ITEM = re.compile(
    rf"^(?:(?P<ord>thứ\s+(?:{_ORDINALS}))\b"
    rf"|(?P<la>(?:{_CARDINALS})\s+là)\b"
    r"|(?P<step>bước\s+\d{1,2})\b"
    r"|(?P<num>\d{1,2}[.)])\s|(?P<let>[a-zđ][)])\s|(?P<bul>[-–•+*])\s)",
    re.IGNORECASE,
)
# "mục tiêu thứ ba", "nhiệm vụ thứ 2": one item of a list, by its place. Not after a word that makes the
# ordinal part of a name or a day ("lần thứ XVII", "khóa thứ 3", "kỳ họp thứ 5", "ngày thứ hai").
ORDINAL_ITEM = re.compile(
    rf"(?<!\S)(?P<before>[^\W\d_]+)\s+thứ\s+(?P<n>{_ORDINALS}|\d{{1,2}})(?![\w/])",
    re.IGNORECASE,
)
NOT_ITEM_BEFORE = frozenset({"lần", "khóa", "khoá", "kỳ", "kì", "họp", "phiên", "ngày", "hạng", "đợt", "vòng", "giải"})
ORDINAL_NUMBERS = {"nhất": 1, "hai": 2, "ba": 3, "tư": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9, "mười": 10}


def asked_item(question: str) -> int | None:
    """The place of the one list item a question asks for ("Mục tiêu thứ ba là gì?" -> 3), else None."""
    for m in ORDINAL_ITEM.finditer(question):
        if m.group("before").lower() in NOT_ITEM_BEFORE:
            continue
        n = m.group("n").lower()
        return int(n) if n.isdigit() else ORDINAL_NUMBERS[n]
    return None


FIRST_ITEM = re.compile(r"^(?:thứ\s+nhất|một\s+là|bước\s+1\b|1[.)]|a[)])", re.IGNORECASE)
# A heading of a statute or report: "Chương II", "Mục 1", "Điều 6.", "PHẦN I", "I.", "1.1.".
HEADING = re.compile(
    r"^(?:(?:chương|mục|phần|điều|phụ lục)\s+(?:\d+|[IVXLC]+)\b|(?-i:[IVXLC]+)[.)]\s|\d+\.\d+(?:\.\d+)*\.?\s)",
    re.IGNORECASE,
)
# "Xe máy: 4.000 đồng/lượt", "Điện thoại: 024.3825.1234": a label and its value on one line.
LABELLED = re.compile(r"^[^\W\d_][^\s:]*(?:\s[^\s:]+){0,5}:\s*\S")
# Words written with a final dot inside a sentence: "TP.HCM", "PGS.TS.", "ThS.", "Ông", initials ("H.").
ABBREVIATIONS = frozenset({"tp", "ts", "ths", "pgs", "gs", "bs", "ks", "th", "st", "ông", "bà", "tt", "q", "p"})
_NUMBERING = re.compile(r"^\s*(?:(?:chương|mục|phần|điều|khoản|bước)\s+)?(?:\d+(?:\.\d+)*|[IVXLC]+)$", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"([.!?…][”\"’)»]*)\s+")
_TERMINAL = re.compile(r"[.!?…;:][”\"’')»\]]*$")

# Dates and times.
DAY = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?")
YEAR = re.compile(r"(?:19|20)\d\d")
DATE = re.compile(
    r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b|\bngày\s+\d{1,2}\b|\btháng\s+\d{1,2}\b|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(r"^\(?\s*(?:\d{1,2}:\d{2}\s*)?\d{1,2}/\d{1,2}/\d{4}(?:\s*\|?\s*\d{1,2}:\d{2})?\s*\)?$")
# A duration: "02 học kỳ", "15 ngày", "3 tháng", "tối đa hai năm".
DURATION = re.compile(
    rf"(?:\d+|{_CARDINALS})\s+(?:học\s+kỳ|năm|tháng|tuần|ngày|giờ|phút|tiết|buổi)\b", re.IGNORECASE
)

# "Điều 6", "khoản 2", "số 1", "khóa XV", "lần thứ XVII", "Chương II": a number that names one of several.
# A list after one marker names each ("khóa XI, XII", "Điều 6 và 7"). Matched on unaccented lower-case text.
# Words that name a thing by the number after them, unaccented, with their written form.
NUMBER_MARKERS = {
    "dieu": "điều",
    "khoan": "khoản",
    "diem": "điểm",
    "chuong": "chương",
    "muc": "mục",
    "phan": "phần",
    "so": "số",
    "thu": "thứ",
    "khoa": "khóa",
    "buoc": "bước",
}
_NUMBER_NAME = r"(?:\d+|[ivxlc]+|[a-z](?=\)))(?![\w\-/]|[.,]\d)"
_NUMBERED = re.compile(rf"(?<!\w)({'|'.join(NUMBER_MARKERS)})\s+({_NUMBER_NAME}(?:\s*(?:,|va)\s*{_NUMBER_NAME})*)")


def numbered(text: str) -> set[tuple[str, str]]:
    """Numbered names in a text: "Điều 6" -> {("dieu", "6")}, "khóa XI, XII" -> {("khoa", "xi"), ("khoa", "xii")}."""
    return {
        (m.group(1), value) for m in _NUMBERED.finditer(fold(text)) for value in re.split(r"\s*(?:,|va)\s*", m.group(2))
    }


def item_names(sentence: str, heading: str | None) -> set[tuple[str, str]]:
    """Names an item takes from its place in a statute: "3. …" under "Điều 5. …" is khoản 3,
    "a) …" there is điểm a. Outside an article ("Điều") a numbered item names nothing."""
    if not heading or not _ARTICLE.match(fold(heading.lstrip())):
        return set()
    m = _CLAUSE.match(sentence)
    if not m:
        return set()
    return {("khoan", m.group(1))} if m.group(1) else {("diem", fold(m.group(2)))}


_ARTICLE = re.compile(r"dieu\s+\d", re.IGNORECASE)
_CLAUSE = re.compile(r"^\s*(?:(\d{1,2})\.|([a-zđ])\))\s", re.IGNORECASE)


# ---------------------------------------------------------------- lines and hard wraps


@dataclass(frozen=True)
class Line:
    """A non-blank line: its stripped text and where that lies in the text."""

    start: int
    end: int
    text: str


def lines(text: str) -> Iterator[Line]:
    """The non-blank lines of `text`, with offsets around the stripped part."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            start = pos + (len(body) - len(body.lstrip()))
            yield Line(start, start + len(stripped), stripped)
        pos += len(raw)


WRAP_MAX = 100  # a file whose lines are all this short or shorter may be hard-wrapped
WRAP_SHARE = 0.3  # share of its lines that must end near the wrap width


def wrap_width(text: str) -> int | None:
    """The column a hard-wrapped text is broken at, or None when its lines are not wrapped.

    Text exported from a PDF or an e-mail breaks every line of a paragraph at about the
    same column, mid-sentence: many lines end within a word's length of the longest
    one, and the line after such a line mostly goes on in lower case.
    """
    found = list(lines(text))
    if len(found) < 6:
        return None
    width = max(len(line.text) for line in found)
    if width > WRAP_MAX or width < 40:
        return None
    near = [(line, nxt) for line, nxt in pairwise(found) if len(line.text) >= width - 15]
    going_on = sum(1 for _, nxt in near if nxt.text[0].islower())
    return width if len(near) >= WRAP_SHARE * len(found) and going_on * 2 >= len(near) else None


def unwrap(text: str) -> str:
    """`text` with the newlines of hard wraps written as spaces (same length, same offsets).

    A newline is a hard wrap when the line before it is full: the first word of the
    next line would not have fitted on it. A next line that opens a list item or a
    heading starts anew.
    """
    width = wrap_width(text)
    if width is None:
        return text
    out = list(text)
    found = list(lines(text))
    for line, nxt in pairwise(found):
        gap = text[line.end : nxt.start]
        if gap.count("\n") != 1 or ITEM.match(nxt.text) or HEADING.match(nxt.text):
            continue
        first_word = nxt.text.split()[0]
        if len(line.text) + 1 + len(first_word) > width:
            for i in range(line.end, nxt.start):
                if out[i] in "\r\n":
                    out[i] = " "
    return "".join(out)


def is_terminated(line: str) -> bool:
    """Whether a line ends as a sentence or clause does (. ! ? … ; :)."""
    return bool(_TERMINAL.search(line))


def is_structured(line: str) -> bool:
    """A line that carries document structure: a heading, a list item, or a label with its value."""
    return bool(HEADING.match(line) or ITEM.match(line) or LABELLED.match(line))


def is_timestamp(line: str) -> bool:
    """A line that is only a date and a time ("15/01/2021 11:53", "(12:19 13/12/2020)")."""
    return bool(_TIMESTAMP.match(line)) and ":" in line


# ---------------------------------------------------------------- sentences


def sentence_bounds(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of the paragraph text[start:end], whitespace trimmed.

    A sentence ends at . ! ? … followed by a space and a capital, a digit or an
    opening quote; not after an initial ("H.") or a title ("TP.", "PGS.TS.").
    """
    body = text[start:end]
    cursor = 0
    for m in _SENTENCE_BREAK.finditer(body):
        nxt = body[m.end() : m.end() + 2]
        if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "“\"(["):
            continue
        before = body[cursor : m.start(1)].split()
        last = before[-1].lower().split(".")[-1] if before else ""
        if body[m.start(1)] == "." and (len(last) <= 1 or last in ABBREVIATIONS):
            continue
        if body[m.start(1)] == "." and _NUMBERING.match(body[cursor : m.start(1)]):
            continue  # "Điều 12. Thời gian học tập", "1. Sinh viên …": the dot of a numbering
        yield from _trimmed(text, start + cursor, start + m.end(1))
        cursor = m.end()
    yield from _trimmed(text, start + cursor, end)


def sentence_spans(flow: str, regions: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """(start, end) of every sentence of a document's content regions, in order; `flow` is
    `unwrap(text)`, so hard-wrapped lines read as one paragraph. The index embeds these spans and
    the answerer weighs them: both must cut a document the same way."""
    out: list[tuple[int, int]] = []
    for region_start, region_end in regions:
        for para in re.finditer(r"[^\n]+", flow[region_start:region_end]):
            a = region_start + para.start()
            out.extend(sentence_bounds(flow, a, a + len(para.group())))
    return out


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    if end - trail > start + lead:
        yield start + lead, end - trail


def one_line(text: str) -> str:
    """A quote as shown: hard wraps and runs of spaces read as one space."""
    return " ".join(text.split())
