"""Documents: read the corpus folder, find the article text inside scraped pages, read metadata.

Cleaning never edits the text: it marks which regions are article content, and
only those are chunked, so every offset still points into the stored text.
The rules look at the shape of a line (length, final punctuation, list markers,
repetition, broken encoding), never at these particular files' lines.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from rag.errors import CorpusError
from rag.readers import SUFFIXES, TEXT_SUFFIXES, Extracted, read, text_headings
from rag.records import Document
from rag.structure import (
    HEADING,
    ITEM,
    Line,
    is_structured,
    is_terminated,
    is_timestamp,
    lines,
    one_line,
    sentence_bounds,
    unwrap,
)
from rag.text import nfc

FORMATS_SAID = ".txt, .md, .docx, .pdf, .html, .doc, .odt, .rtf, .png, .jpg, .tif"
# One document is read whole into memory, and again for every index build; a bigger file is
# skipped with a warning (a long book is about 2 MB of text).
MAX_FILE_BYTES = 20 * 1024 * 1024
# A PDF or Word file holds images and fonts besides its text: a 500-page scanned report is about 150 MB.
MAX_BINARY_BYTES = 200 * 1024 * 1024
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


def parse(doc: str, text: str, extracted: Extracted | None = None, file_sha256: str = "") -> Document:
    """Build a Document from stored text: content regions, structure and metadata.

    A plain-text file (`extracted` None, or a .txt/.md reading) that is a saved web page
    keeps only its article lines (see `is_article_line`); any other file is content whole.
    Hard-wrapped lines are judged as the paragraphs they form. A reader's own title, date,
    headings and pages (Word styles, a PDF's pages) are kept; else they are found in the text.
    """
    text = nfc(text)
    fmt = extracted.format if extracted else (Path(doc).suffix.lower().lstrip(".") or "txt")
    plain = fmt in ("txt", "md")
    flow = unwrap(text) if plain else text
    found = list(lines(flow))
    furniture = 0
    if plain and looks_like_web_page(found):
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
    headings = extracted.headings if extracted and extracted.headings is not None else None
    if headings is None:
        headings = text_headings(flow, markdown=fmt == "md")
    title = (extracted.title if extracted and extracted.title else None) or _find_title(
        header, fallback=Path(doc).stem, min_words=3 if furniture else 1
    )
    return Document(
        doc=doc,
        text=text,
        title=title,
        date=(extracted.date if extracted else None) or _find_date(header),
        source=(agency.group(1) or agency.group(2)) if agency else None,
        content=content,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        furniture=furniture,
        format=fmt,
        pages=extracted.pages if extracted else (),
        headings=tuple(  # the document's own title heads no section: every path would start with it
            (h.start, h.end, h.level)
            for h in headings
            if any(a <= h.start < b for a, b in content) and one_line(text[h.start : h.end]) != title
        ),
        file_sha256=file_sha256,
    )


SECTION_SEPARATOR = " › "
MAX_HEADING_CHARS = 100  # a heading longer than this is shown cut, with "…"


def section_path(document: Document, offset: int) -> str | None:
    """The headings that hold `offset`, outermost first ("Chương II › Điều 6. Thời gian học tập"), or None.

    A heading holds the text after it up to the next heading of its level or a higher one.
    """
    path: list[tuple[int, int, int]] = []
    for heading in document.headings:
        if heading[0] > offset:
            break
        while path and path[-1][2] >= heading[2]:
            path.pop()
        path.append(heading)
    if not path:
        return None
    shown = []
    for start, end, _ in path:
        words = one_line(document.text[start:end])
        shown.append(words if len(words) <= MAX_HEADING_CHARS else words[: MAX_HEADING_CHARS - 1].rstrip() + "…")
    return SECTION_SEPARATOR.join(shown)


def page_of(document: Document, offset: int) -> int | None:
    """The 1-based page on which `offset` lies, for a paged document; else None."""
    return max(bisect.bisect_right(document.pages, offset), 1) if document.pages else None


def display_date(date: str | None) -> str:
    """An ISO date as Vietnamese readers write it (13/12/2020); other text unchanged."""
    if date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        y, m, d = date.split("-")
        return f"{d}/{m}/{y}"
    return date or ""


def place(page: int | None, section: str | None) -> str:
    """Where a quote stands, as readers cite it: "tr. 3 · Chương II › Điều 6. Thời gian học tập" ("" if unknown)."""
    return " · ".join(x for x in (f"tr. {page}" if page else "", section or "") if x)


def corpus_files(corpus_dir: Path, warn: list[str] | None = None) -> list[Path]:
    """The files under `corpus_dir` in a format hoidap reads, sorted; a missing folder is an error.

    Any other file gets a line in `warn`, except hidden files and Office's lock files ("~$…").
    """
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {str(corpus_dir)!r} does not exist; "
            f"pass --corpus DIR or set HOIDAP_CORPUS_DIR to a folder of documents ({FORMATS_SAID})"
        )
    found = []
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        name = path.relative_to(corpus_dir).as_posix()
        if any(part.startswith((".", "~$")) for part in Path(name).parts):
            continue
        if path.suffix.lower() in SUFFIXES:
            found.append(path)
        elif warn is not None:
            what = path.suffix or "files without an extension"
            warn.append(f"skipped {name}: hoidap does not read {what} ({FORMATS_SAID})")
    return found


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
    """Read a text corpus file (see `decode`), or raise ValueError saying why not."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"is {size / 2**20:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit for one document; "
            "split it into smaller files, e.g. split -C 10M --additional-suffix=.txt FILE part-"
        )
    return decode(path.read_bytes())


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_document(
    path: Path, name: str, known: Mapping[str, Document] | None = None
) -> tuple[Document, tuple[str, ...]]:
    """One corpus file as a Document, and the reader's notes; ValueError says why it cannot be read.

    `known`: documents of the previous index by file name; one whose file bytes are unchanged
    is taken as it is (a scanned PDF is not read by OCR again).
    """
    digest = ""
    if path.suffix.lower() not in TEXT_SUFFIXES:
        size = path.stat().st_size
        if size > MAX_BINARY_BYTES:
            raise ValueError(
                f"is {size / 2**20:.0f} MB, over the {MAX_BINARY_BYTES // 2**20} MB limit for one document; "
                "split it into smaller files"
            )
        digest = file_hash(path)
        old = known.get(name) if known else None
        if old is not None and old.file_sha256 == digest:
            return old, ()
    extracted = read(path)
    if extracted.format in ("txt", "md"):
        return parse(name, read_text(path), extracted), extracted.notes
    if len(extracted.text) > MAX_FILE_BYTES:
        raise ValueError(
            f"holds {len(extracted.text) / 2**20:.0f} M characters of text, over the "
            f"{MAX_FILE_BYTES // 2**20} M limit for one document; split it into smaller files"
        )
    return parse(name, extracted.text, extracted, file_sha256=digest), extracted.notes


def load_corpus(
    corpus_dir: Path,
    warn: list[str],
    known: Mapping[str, Document] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Document]:
    """Read every document of the corpus; unreadable files are skipped with a line in `warn`.

    `known`: the previous index's documents, reused when their file is unchanged (see `read_document`).
    `progress(done, total)` is called before each file is read.
    """
    docs = []
    paths = corpus_files(corpus_dir, warn)
    for done, path in enumerate(paths):
        if progress is not None:
            progress(done, len(paths))
        name = path.relative_to(corpus_dir).as_posix()
        try:
            document, notes = read_document(path, name, known)
        except (ValueError, OSError) as exc:
            warn.append(f"skipped {name}: {exc}")
            continue
        warn.extend(f"{name}: {note}" for note in notes)
        docs.append(document)
    if not docs:
        why = "; ".join(line.removeprefix("skipped ") for line in warn) if warn else "it holds no documents"
        raise CorpusError(
            f"no readable documents in {str(corpus_dir)!r} ({why}); "
            f"add documents ({FORMATS_SAID}) or point --corpus at the right folder"
        )
    return docs
