"""Documents: read the corpus folder, find the article text inside scraped pages, read metadata.

Cleaning never edits the text: it marks which regions are article content, and
only those are chunked, so every offset still points into the stored text.
The rules look at the shape of a line (length, final punctuation, list markers,
repetition, broken encoding), never at these particular files' lines.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from rag.errors import CorpusError
from rag.records import Document
from rag.text import nfc

SUFFIXES = (".txt", ".md")
MIN_WORDS = 20  # a paragraph of article prose; captions, bylines and menus are shorter
MIN_LIST_ITEM_WORDS = 4

_WORD = re.compile(r"\w+")
_TERMINATED = re.compile(r"[.!?…;:][”\"’')»\]]*$")
_SENTENCE_END = re.compile(r"[.!?…](?=[”\"’')»]*\s+[\"“(]?[A-ZÀ-ỸĐ0-9])")
_LIST_MARKER = re.compile(
    r"^(?:\(?[a-zđ0-9]{1,2}[.)]\s|[-–•+*]\s|(?:thứ|bước)\s+(?:nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười)\b"
    r"|(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\s+là\b)",
    re.IGNORECASE,
)
_MOJIBAKE = re.compile(r"\ufffd|[^\W\d_]\?[^\W\d_]")
_DATE_DMY = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TITLE_DATE = re.compile(r"\s*\([^()]*\d{1,2}/\d{1,2}/\d{4}[^()]*\)\s*$")
_AGENCY = re.compile(r"^(?:\(([A-ZĐ][A-ZĐ0-9]{1,7})\)|([A-ZĐ][A-ZĐ0-9]{1,7})\s*[-–—])")


def _lines(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, stripped line) for each line, offsets around the stripped part."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            start = pos + (len(body) - len(body.lstrip()))
            yield start, start + len(stripped), stripped
        pos += len(raw)


def is_article_line(line: str) -> bool:
    """True for a line of article prose or a list item; false for page furniture."""
    if _MOJIBAKE.search(line):
        return False
    n_words = len(_WORD.findall(line))
    terminated = bool(_TERMINATED.search(line))
    if _LIST_MARKER.match(line) and terminated and n_words >= MIN_LIST_ITEM_WORDS:
        return True
    if n_words < MIN_WORDS:
        return False
    # Prose ends a sentence; a run of related-article titles or a caption does not.
    return terminated or len(_SENTENCE_END.findall(line)) >= 2


def _is_doubled(line: str) -> bool:
    half = len(line) // 2
    return len(line) > 3 and line[:half].strip() == line[half:].strip()


def _find_title(header: list[str], fallback: str) -> str:
    for line in header:
        if (
            len(_WORD.findall(line)) >= 3
            and "|" not in line
            and not _MOJIBAKE.search(line)
            and not _is_doubled(line)
            and not _DATE_DMY.fullmatch(line.split()[0])
        ):
            return _TITLE_DATE.sub("", line)
    return fallback


def _find_date(header: list[str]) -> str | None:
    for line in header:
        for m in _DATE_DMY.finditer(line):
            day, month, year = (int(g) for g in m.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                continue
        for m in _DATE_ISO.finditer(line):
            try:
                return date(*(int(g) for g in m.groups())).isoformat()
            except ValueError:
                continue
    return None


def parse(doc: str, text: str) -> Document:
    """Build a Document from stored text: content regions and metadata."""
    text = nfc(text)
    lines = list(_lines(text))
    counts = Counter(line for _, _, line in lines)
    keep = [is_article_line(line) and counts[line] == 1 for _, _, line in lines]

    # Runs of article lines (blank lines between them allowed) become content regions.
    regions: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for (start, end, _), kept in zip(lines, keep):
        if kept:
            run = (run[0] if run else start, end)
        elif run:
            regions.append(run)
            run = None
    if run:
        regions.append(run)
    content = tuple(regions)

    first = next((i for i, kept in enumerate(keep) if kept), len(lines))
    header = [line for _, _, line in lines[:first]]
    lead = text[content[0][0] : content[0][1]] if content else ""
    agency = _AGENCY.match(lead)
    return Document(
        doc=doc,
        text=text,
        title=_find_title(header, fallback=Path(doc).stem),
        date=_find_date(header),
        source=(agency.group(1) or agency.group(2)) if agency else None,
        content=content,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The .txt and .md files under `corpus_dir`, sorted; a missing folder is an error."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {str(corpus_dir)!r} does not exist; "
            "pass --corpus DIR or set HOIDAP_CORPUS_DIR to a folder of .txt/.md files"
        )
    return sorted(
        p for p in corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
    )


def read_text(path: Path) -> str:
    """Decode a corpus file as UTF-8 text, or raise ValueError saying why not."""
    data = path.read_bytes()
    if not data.strip():
        raise ValueError("is empty")
    if b"\x00" in data[:8192]:
        raise ValueError("looks binary (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"is not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f CP1258 -t UTF-8"
        ) from None


def load_corpus(corpus_dir: Path, warn: list[str]) -> list[Document]:
    """Read every document of the corpus; unreadable files are skipped with a line in `warn`."""
    docs = []
    for path in corpus_files(corpus_dir):
        name = path.relative_to(corpus_dir).as_posix()
        try:
            document = parse(name, read_text(path))
        except (ValueError, OSError) as exc:
            warn.append(f"skipped {name}: {exc}")
            continue
        if not document.content:
            warn.append(f"skipped {name}: no article text found (only short lines)")
            continue
        docs.append(document)
    if not docs:
        raise CorpusError(
            f"no readable .txt or .md documents in {str(corpus_dir)!r}; "
            "add UTF-8 text files or point --corpus at the right folder"
        )
    return docs
