"""Documents: read the corpus folder, find the article text inside scraped pages, read metadata.

Cleaning never edits the text: it marks which regions are article content, and
only those are chunked, so every offset still points into the stored text.
The rules look at the shape of a line (length, final punctuation, list markers,
repetition, broken encoding), never at these particular files' lines.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections import Counter
from datetime import date
from pathlib import Path

from rag.errors import CorpusError
from rag.records import Document
from rag.structure import (
    HEADING,
    ITEM,
    Line,
    is_structured,
    is_terminated,
    is_timestamp,
    lines,
    sentence_bounds,
    unwrap,
)
from rag.text import nfc

SUFFIXES = (".txt", ".md")
# One document is read whole into memory, and again for every index build; a bigger file is
# skipped with a warning (a long book is about 2 MB of text).
MAX_FILE_BYTES = 20 * 1024 * 1024
MIN_WORDS = 20  # a paragraph of article prose; captions, bylines and menus are shorter
MIN_LIST_ITEM_WORDS = 4
HEADER_LINES = 5  # a document that is content from its first line has its title and date within these

_WORD = re.compile(r"\w+")
_MOJIBAKE = re.compile(r"\ufffd|[^\W\d_]\?[^\W\d_]")
_DATE_DMY = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TITLE_DATE = re.compile(r"\s*\([^()]*\d{1,2}/\d{1,2}/\d{4}[^()]*\)\s*$")
# Letters only Vietnamese writes (đ, and vowels with a tone mark or a dot below): a text decoded with
# the wrong code page has few of them.
_VIETNAMESE_LETTER = re.compile(r"[đĐ\u1ea0-\u1ef9]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_FORM_FIELD = re.compile(r":\s*\(\*\)\s*$")
_AGENCY = re.compile(r"^(?:\(([A-ZĐ][A-ZĐ0-9]{1,7})\)|([A-ZĐ][A-ZĐ0-9]{1,7})\s*[-–—])")


def is_article_line(line: str) -> bool:
    """True for a line of article prose or a list item; false for page furniture."""
    if _MOJIBAKE.search(line):
        return False
    n_words = len(_WORD.findall(line))
    terminated = is_terminated(line)
    if ITEM.match(line) and terminated and n_words >= MIN_LIST_ITEM_WORDS:
        return True
    if n_words < MIN_WORDS:
        return False
    # Prose ends a sentence; a run of related-article titles or a caption does not.
    return terminated or sum(1 for _ in sentence_bounds(line, 0, len(line))) >= 3


def _is_doubled(line: str) -> bool:
    half = len(line) // 2
    return len(line) > 3 and line[:half].strip() == line[half:].strip()


def _find_title(header: list[str], fallback: str, min_words: int = 3) -> str:
    for line in header:
        if (
            len(_WORD.findall(line)) >= min_words
            and not HEADING.match(line)
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


def looks_like_web_page(found: list[Line]) -> bool:
    """Whether a file is a saved web page, judged on the whole file.

    A page carries traces of its site: a line of links or fields split by "|", a line
    written twice over ("Bình chọn Bình chọn"), a form field ("Họ tên:(*)"), text in a
    broken encoding, a line that is only a date and a time; or short lines that carry
    no document structure (captions, menus) while no line does (a heading, a list
    item, a "label: value" row). A regulation, a notice or a report has structure.
    """
    short = [line.text for line in found if len(_WORD.findall(line.text)) < MIN_WORDS]
    traces = sum(
        1
        for line in short
        if ("|" in line and not line.startswith("|"))
        or _is_doubled(line)
        or _FORM_FIELD.search(line)
        or _MOJIBAKE.search(line)
        or is_timestamp(line)
    )
    if traces:
        return True
    plain = [line for line in short if not is_structured(line) and not is_terminated(line)]
    return len(plain) >= 3 and not any(is_structured(line) for line in short)


def parse(doc: str, text: str) -> Document:
    """Build a Document from stored text: content regions and metadata.

    A saved web page keeps only its article lines (see `is_article_line`); any other
    file is content whole. Hard-wrapped lines are judged as the paragraphs they form.
    """
    text = nfc(text)
    flow = unwrap(text)
    found = list(lines(flow))
    furniture = 0
    if looks_like_web_page(found):
        counts = Counter(line.text for line in found)
        keep = [is_article_line(line.text) and counts[line.text] == 1 for line in found]
        furniture = keep.count(False)
        if not any(keep):  # nothing reads as an article: never lose the file, keep it whole
            keep, furniture = [True] * len(found), 0
    else:
        keep = [True] * len(found)

    # Runs of kept lines (blank lines between them allowed) become content regions.
    regions: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for line, kept in zip(found, keep):
        if kept:
            run = (run[0] if run else line.start, line.end)
        elif run:
            regions.append(run)
            run = None
    if run:
        regions.append(run)
    content = tuple(regions)

    first = next((i for i, kept in enumerate(keep) if kept), len(found))
    header = [line.text for line in found[: first if furniture else HEADER_LINES]]
    lead = flow[content[0][0] : content[0][1]] if content else ""
    agency = _AGENCY.match(lead) if furniture else None
    return Document(
        doc=doc,
        text=text,
        title=_find_title(header, fallback=Path(doc).stem, min_words=3 if furniture else 1),
        date=_find_date(header),
        source=(agency.group(1) or agency.group(2)) if agency else None,
        content=content,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        furniture=furniture,
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


def looks_vietnamese(text: str) -> bool:
    """True for NFC text without control characters where at least one word in ten is Vietnamese."""
    words = _WORD.findall(text)
    marked = sum(1 for w in words if _VIETNAMESE_LETTER.search(w))
    return bool(words) and marked * 10 >= len(words) and not _CONTROL.search(text)


def decode(data: bytes) -> str:
    """The text of a corpus file's bytes, or raise ValueError saying why not.

    UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1258 when the
    result reads as Vietnamese (its tone marks are combining characters:
    `parse` composes them to NFC).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValueError(f"is not valid UTF-16 (byte {exc.start}); re-save it as UTF-8") from None
    elif b"\x00" in data[:8192]:
        raise ValueError("looks binary (NUL bytes)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = _decode_cp1258(data, exc.start)
    if not text.strip():
        raise ValueError("is empty")
    return text


def _decode_cp1258(data: bytes, bad_byte: int) -> str:
    lenient = data.decode("utf-8", errors="replace")
    invalid = lenient.count("\ufffd")
    if sum(1 for ch in lenient if ord(ch) > 127) - invalid > invalid:
        # Mostly well-formed UTF-8 with a few broken bytes: a damaged file, not another code page.
        raise ValueError(f"is not valid UTF-8 (byte {bad_byte} is broken); repair it or re-save it as UTF-8")
    try:
        text = nfc(data.decode("cp1258"))
    except UnicodeDecodeError:
        text = ""
    if not looks_vietnamese(text):
        raise ValueError(
            f"is not UTF-8 (byte {bad_byte}) and does not read as Vietnamese in Windows-1258; "
            "convert it to UTF-8, e.g. iconv -f CP1252 -t UTF-8"
        )
    return text


def read_text(path: Path) -> str:
    """Read a corpus file as text (see `decode`), or raise ValueError saying why not."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"is {size / 2**20:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit for one document; "
            "split it into smaller files, e.g. split -C 10M --additional-suffix=.txt FILE part-"
        )
    return decode(path.read_bytes())


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
        docs.append(document)
    if not docs:
        why = "; ".join(line.removeprefix("skipped ") for line in warn) if warn else "it holds no .txt or .md files"
        raise CorpusError(
            f"no readable .txt or .md documents in {str(corpus_dir)!r} ({why}); "
            "add UTF-8 text files or point --corpus at the right folder"
        )
    return docs
