"""Records passed between stages. Fields only; JSON happens at the edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One corpus file as stored: NFC text and the regions that are article content."""

    doc: str
    text: str
    title: str
    date: str | None
    source: str | None
    content: tuple[tuple[int, int], ...]
    sha256: str
    furniture: int = 0  # lines of a saved web page left out as page furniture
    format: str = "txt"  # how the file was read: txt, md, docx, pdf, html, doc, odt, rtf, image
    pages: tuple[int, ...] = ()  # offset where each page starts (paged formats), else empty
    headings: tuple[tuple[int, int, int], ...] = ()  # (start, end, level) of each heading in the content
    file_sha256: str = ""  # hash of the file's bytes (formats that are not text), to skip reading it again


@dataclass(frozen=True)
class Chunk:
    """A piece of a document; `text == document.text[start:end]`."""

    id: int
    doc: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk and its score (higher is better)."""

    chunk: Chunk
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: `document.text[start:end] == quote`."""

    n: int
    doc: str
    title: str
    date: str | None
    start: int
    end: int
    quote: str
    section: str | None = None  # the heading path the quote stands under ("Chương II › Điều 6. Thời gian học tập")
    page: int | None = None  # the 1-based page the quote starts on, for paged formats


@dataclass(frozen=True)
class Answer:
    """What `ask` returns; `answer.text` is Markdown with `[n]` markers."""

    question: str
    text: str
    refused: bool  # true exactly when outcome is "none"
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    model: str
    outcome: str = "answer"  # answer (confident), closest (the closest passages quoted) or none
    timings_ms: dict[str, float] = field(default_factory=dict)
    explain: dict[str, Any] | None = None  # why this answer or refusal, when asked for
