"""Readers: one per file format, behind `read`, each returning the text to store and its structure.

The stored text is what citations point into, so a reader writes it once, as a
person would read the document: paragraphs separated by a blank line, a list
item with its marker ("1.", "a)", "-"), a table row on one line with its cells
separated by " | ". Structure comes with it as offsets into that text: the
start of every page (PDF) and every heading with its level (Word styles, HTML
tags; in plain text and PDF the numbered headings of `rag.structure`).

The format is judged by content, not only by the extension: a ".pdf" that is
a Word file is read as Word, with a note saying so. A file that cannot be read
raises ValueError with a one-line reason and what to do.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.structure import HEADING, ITEM, is_terminated, lines
from rag.text import fold, nfc

TEXT_SUFFIXES = {".txt": "txt", ".md": "md"}
SUFFIXES = {
    **TEXT_SUFFIXES,
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".doc": "doc",
    ".odt": "odt",
    ".rtf": "rtf",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
FORMAT_NAMES = {
    "txt": "a text file",
    "md": "a Markdown file",
    "docx": "a Word document",
    "pdf": "a PDF",
    "html": "a web page",
    "doc": "an old Word document (.doc)",
    "odt": "an OpenDocument text",
    "rtf": "an RTF document",
    "image": "an image",
}
# Word and OpenDocument files are zip archives; one that would unpack to more than this is refused
# (a "zip bomb" would fill memory). A 500-page report unpacks to about 10 MB.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
OCR_DPI = 300  # the resolution Tesseract is trained for; bench/ocr_cer.py measures 200 against 300
OCR_TIMEOUT_S = 120  # one page; a page Tesseract cannot finish in two minutes is not text
CONVERT_TIMEOUT_S = 180  # LibreOffice converting one document
# A PDF page with fewer letters than this in its text layer is taken for a scan (a page number or a
# stamp is not a page of text).
SCAN_MAX_LETTERS = 20
SHORT_LINE = 0.8  # a printed line shorter than this share of the text width ends its paragraph
MARGIN_LINES = 3  # running headers and footers sit within this many lines of a page's top or bottom
PAGE_NUMBER = re.compile(
    r"^(?:(?:trang|page|tr\.)\s*)?[-–—(]?\s*\d{1,4}\s*(?:(?:/|of|trên)\s*\d{1,4})?\s*[-–—)]?$", re.IGNORECASE
)
TESSERACT_PACKAGES = "tesseract-ocr tesseract-ocr-vie"
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"

_SPACES = re.compile(r"[ \t\u00a0]+")
_MD_HEADING = re.compile(r"^(#{1,6})\s+\S")


@dataclass(frozen=True)
class Heading:
    """A heading as offsets into the stored text, with its level (1 is the top)."""

    start: int
    end: int
    level: int


@dataclass(frozen=True)
class Extracted:
    """What a reader returns: the text to store and the structure found in it."""

    text: str
    format: str
    title: str | None = None
    date: str | None = None
    pages: tuple[int, ...] = ()  # offset of the start of each page; empty for formats without pages
    headings: tuple[Heading, ...] | None = None  # None: find them in the text (numbered headings)
    notes: tuple[str, ...] = ()  # what a reader wants the person indexing to know (pages skipped, …)


class Builder:
    """Writes the stored text block by block, recording headings as it goes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.headings: list[Heading] = []

    def add(self, block: str, heading: int | None = None) -> None:
        """Append a block (a paragraph, a list item, a table row) after a blank line."""
        block = nfc(block).strip()
        if not block:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.size += 2
        if heading is not None:
            self.headings.append(Heading(self.size, self.size + len(block), heading))
        self.parts.append(block)
        self.size += len(block)

    def text(self) -> str:
        return "".join(self.parts)


def heading_level(line: str) -> int | None:
    """Level of a numbered heading ("Phần I" 1, "Chương II" 2, "Mục 1" 3, "Điều 6." 4; "I." 1, "1.1." 2,
    "1.1.1." 3), or None for a line that is not one."""
    if not HEADING.match(line):
        return None
    word = fold(line.split()[0]).rstrip(".)")
    named = {"phan": 1, "phu": 1, "chuong": 2, "muc": 3, "dieu": 4}
    if word in named:
        return named[word]
    return word.count(".") + 1 if word[0].isdigit() else 1


def text_headings(text: str, markdown: bool = False) -> tuple[Heading, ...]:
    """The numbered headings of a plain text (and "#" headings of Markdown), one per line."""
    found = []
    for line in lines(text):
        hashes = _MD_HEADING.match(line.text) if markdown else None
        level = len(hashes.group(1)) if hashes else heading_level(line.text)
        if level is not None and len(line.text) <= 200:
            found.append(Heading(line.start, line.end, level))
    return tuple(found)


# ---------------------------------------------------------------- the format of a file


def sniff(data: bytes) -> str | None:
    """The format the bytes say they are, or None for text (or anything unknown)."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if data.startswith(b"{\\rtf"):
        return "rtf"
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return "image"
    return None


def _zip_kind(path: Path) -> str:
    """"docx" or "odt" for a zip archive that is one, after checking what it would unpack to."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            unpacked = sum(info.file_size for info in infos)
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, RuntimeError, ValueError) as exc:
        raise ValueError(f"is a damaged zip archive ({exc}); open and re-save it in Word") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValueError(
            f"would unpack to {unpacked / 2**20:.0f} MB, over {MAX_UNPACKED_BYTES // 2**20} MB "
            "(a zip bomb, or a document of images); save the text alone as .docx or .pdf"
        )
    if "word/document.xml" in names:
        return "docx"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
        return "odt"
    raise ValueError("is a zip archive, not a Word or OpenDocument file; unpack it and add the documents inside")


def file_format(path: Path, head: bytes) -> tuple[str, tuple[str, ...]]:
    """The format to read a file as, judged by content first, and a note when the extension lies."""
    claimed = SUFFIXES.get(path.suffix.lower())
    if claimed is None:
        raise ValueError(f"has an extension hoidap does not read; use one of {', '.join(sorted(SUFFIXES))}")
    found = sniff(head)
    if found == "zip":
        found = _zip_kind(path)
    if found is None:
        if claimed in ("txt", "md", "html"):
            return claimed, ()
        raise ValueError(
            f"is not {FORMAT_NAMES[claimed]} (its content does not start as one); "
            "the file is damaged or its extension is wrong"
        )
    if found == claimed:
        return found, ()
    return found, (f"is {FORMAT_NAMES[found]}, not {FORMAT_NAMES[claimed]} as its extension says; read as such",)


def read(path: Path) -> Extracted:
    """Read a corpus file of any supported format (`SUFFIXES`); ValueError says why one cannot be read."""
    with path.open("rb") as f:
        head = f.read(2048)
    kind, notes = file_format(path, head)
    if kind in ("txt", "md"):
        return Extracted(text="", format=kind, notes=notes)  # decoded by rag.documents, which knows text encodings
    try:
        found = read_converted(path, kind) if kind in CONVERTED else READERS[kind](path)
    except ValueError:
        raise
    except MemoryError:
        raise ValueError("is too large to read in memory; split it into smaller files") from None
    except Exception as exc:  # a parser's own error on a damaged file: say which, never a traceback
        raise ValueError(
            f"cannot be read as {FORMAT_NAMES[kind]} ({type(exc).__name__}: {str(exc)[:120]}); "
            "the file is damaged, or open it and save it again"
        ) from None
    if not found.text.strip():
        raise ValueError(f"holds no text ({FORMAT_NAMES[kind]} with nothing to read)")
    return replace(found, notes=notes + found.notes)


# ---------------------------------------------------------------- Word (.docx)


def _style_level(style: Any) -> int | None:
    """Heading level of a paragraph style or one it is based on ("Heading 2" or an outline level)."""
    seen = 0
    while style is not None and seen < 10:
        name = (style.name or "").lower()
        if name == "title":
            return 1
        m = re.fullmatch(r"(?:heading|tiêu đề)\s*(\d)", name)
        if m:
            return int(m.group(1))
        outline = _outline_level(style.element)
        if outline is not None:
            return outline
        style = style.base_style
        seen += 1
    return None


class Styles:
    """Heading levels and list numbering of a document's paragraph styles, looked up once (python-docx's
    `paragraph.style` searches the style list on every call)."""

    def __init__(self, docx: Any) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        self.levels: dict[str, int | None] = {}
        self.numbering: dict[str, Any] = {}
        self.default: str | None = None
        for style in docx.styles:
            if style.type != WD_STYLE_TYPE.PARAGRAPH:
                continue
            self.levels[style.style_id] = _style_level(style)
            num_pr = style.element.find(f"{_w('pPr')}/{_w('numPr')}")
            if num_pr is not None:
                self.numbering[style.style_id] = num_pr
            if style.element.get(_w("default")) in ("1", "true"):
                self.default = style.style_id

    def style_of(self, p: Any) -> str | None:
        found = p.find(f"{_w('pPr')}/{_w('pStyle')}")
        return found.get(_w("val")) if found is not None else self.default

    def level(self, p: Any) -> int | None:
        outline = _outline_level(p)
        if outline is not None:
            return outline
        style = self.style_of(p)
        return self.levels.get(style) if style else None


def _w(name: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + name


def _outline_level(element: Any) -> int | None:
    """The heading level a paragraph or a style sets by its outline level (Word's 0-8; 9 is body text)."""
    outline = element.find(f"{_w('pPr')}/{_w('outlineLvl')}")
    value = outline.get(_w("val"), "9") if outline is not None else "9"
    return int(value) + 1 if value.isdigit() and value != "9" else None


_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip


def _roman(n: int) -> str:
    out = ""
    for value, digits in _ROMAN:
        while n >= value:
            out, n = out + digits, n - value
    return out


def _number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = "abcdefghijklmnopqrstuvwxyz"
        s = letters[(n - 1) % 26] * ((n - 1) // 26 + 1)
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    return str(n)


class Numbering:
    """Word's automatic list numbers, which are not in the paragraph text: "1.", "a)", bullets as "-"."""

    def __init__(self, docx: Any) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId -> level -> (format, text, start)
        self.counters: dict[str, list[int]] = {}
        try:
            root = docx.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {}
        for node in root.findall(_w("abstractNum")):
            levels = {}
            for lvl in node.findall(_w("lvl")):
                fmt = lvl.find(_w("numFmt"))
                text = lvl.find(_w("lvlText"))
                start = lvl.find(_w("start"))
                levels[int(lvl.get(_w("ilvl"), "0"))] = (
                    fmt.get(_w("val"), "decimal") if fmt is not None else "decimal",
                    text.get(_w("val"), "") if text is not None else "",
                    int(start.get(_w("val"), "1")) if start is not None else 1,
                )
            abstract[node.get(_w("abstractNumId"))] = levels
        for num in root.findall(_w("num")):
            ref = num.find(_w("abstractNumId"))
            if ref is not None:
                self.levels[num.get(_w("numId"), "")] = abstract.get(ref.get(_w("val")), {})

    def marker(self, p: Any, styles: Styles) -> str | None:
        """The list marker of a paragraph element, or None; a nested item counts at its own level."""
        num_pr = p.find(f"{_w('pPr')}/{_w('numPr')}")
        if num_pr is None:
            num_pr = styles.numbering.get(styles.style_of(p) or "")
        if num_pr is None:
            return None
        num_id = num_pr.find(_w("numId"))
        ilvl = num_pr.find(_w("ilvl"))
        key = num_id.get(_w("val"), "") if num_id is not None else ""
        depth = int(ilvl.get(_w("val"), "0")) if ilvl is not None else 0
        levels = self.levels.get(key)
        if not levels or key == "0":
            return None
        counts = self.counters.setdefault(key, [0] * 10)
        depth = min(depth, 9)
        counts[depth] += 1
        for deeper in range(depth + 1, 10):
            counts[deeper] = 0
        fmt, text, _ = levels.get(depth, ("decimal", f"%{depth + 1}.", 1))
        if fmt in ("bullet", "none"):
            return "-"

        def value(m: re.Match[str]) -> str:
            level = int(m.group(1)) - 1
            level_fmt, _, start = levels.get(level, ("decimal", "", 1))
            return _number(counts[level] + start - 1 if level < len(counts) else 1, level_fmt)

        return re.sub(r"%(\d)", value, text).strip() or f"{counts[depth]}."


def read_docx(path: Path) -> Extracted:
    """Paragraphs, headings by style, numbered and bulleted lists, tables by row, in reading order.

    Headers and footers are not in the body and are never read.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    numbering = Numbering(document)
    styles = Styles(document)
    out = Builder()
    title = None

    def tables(table: Any) -> Iterator[str]:
        for row in table.rows:
            cells, seen = [], set()
            for cell in row.cells:
                if id(cell._tc) in seen:
                    continue  # a merged cell is listed once per grid column it spans
                seen.add(id(cell._tc))
                cells.append(_SPACES.sub(" ", cell.text.replace("\n", " ")).strip())
            if any(cells):
                yield " | ".join(cells)

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in tables(block):
                out.add(row)
            continue
        assert isinstance(block, Paragraph)
        text = block.text
        if not text.strip():
            continue
        level = styles.level(block._p)
        if level is not None:
            out.add(text, heading=level)
            title = title or text.strip()
            continue
        marker = numbering.marker(block._p, styles)
        out.add(f"{marker} {text.strip()}" if marker else text)
    core_title = (document.core_properties.title or "").strip()
    return Extracted(
        text=out.text(), format="docx", title=core_title or title, headings=tuple(out.headings)
    )


# ---------------------------------------------------------------- PDF


def _fold_digits(line: str) -> str:
    return re.sub(r"\d+", "#", fold(line))


def furniture(pages: list[list[str]]) -> set[tuple[int, int]]:
    """(page, line) of running headers, footers and page numbers.

    A line within `MARGIN_LINES` of a page's top or bottom is furniture when, with its digits
    ignored, it stands at the same distance from the same edge on at least half the pages (two
    at least), or when it is a bare page number ("Trang 3", "- 3 -", "3/10") at the very top or
    bottom. A title printed under a running header of the same words stays: it stands lower.
    """

    def margin(page: list[str]) -> Iterator[tuple[int, tuple[str, int, str]]]:
        for j in range(len(page)):
            if j < MARGIN_LINES:
                yield j, ("top", j, _fold_digits(page[j]))
            elif j >= len(page) - MARGIN_LINES:
                yield j, ("bottom", len(page) - 1 - j, _fold_digits(page[j]))

    seen = Counter(key for page in pages for _, key in margin(page))
    needed = max(2, (len(pages) + 1) // 2)
    return {
        (i, j)
        for i, page in enumerate(pages)
        for j, key in margin(page)
        if (len(pages) >= 2 and seen[key] >= needed) or (key[1] == 0 and PAGE_NUMBER.match(page[j]))
    }


def paragraphs(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """Printed lines, page by page, as stored text (paragraphs split by a blank line) and the
    offset where each page starts. A hyphenated word and a line that runs on are joined, across
    a page break too.

    A line runs on into the next unless it ends a sentence or clause or the next line opens a
    list item or a heading; and then only when the next line goes on in lower case or the line
    is about as wide as the text (not the last line of a paragraph, a heading, a table row).
    The text width is the longest line's, counted in characters, so "about" leaves room for a
    proportional font (`SHORT_LINE`).
    """
    width = max((len(line) for page in pages for line in page), default=0)
    parts: list[str] = []
    size = 0
    starts: list[int] = []
    previous = ""
    for number, page in enumerate(pages):
        for line in (nfc(line) for line in page):
            if parts and _runs_on(previous, line, width):
                if previous.endswith("-") and previous[-2:-1].isalpha() and line[:1].islower():
                    parts[-1], size = parts[-1][:-1], size - 1  # a word hyphenated at the line's end
                else:
                    parts.append(" ")
                    size += 1
            elif parts:
                parts.append("\n\n")
                size += 2
            while len(starts) <= number:  # a page without text starts where the next text does
                starts.append(size)
            parts.append(line)
            size += len(line)
            previous = line
    text = "".join(parts)
    starts += [size] * (len(pages) - len(starts))
    return text, tuple(min(start, max(len(text) - 1, 0)) for start in starts)


def _runs_on(line: str, nxt: str, width: int) -> bool:
    if is_terminated(line) or ITEM.match(nxt) or HEADING.match(nxt):
        return False
    return nxt[:1].islower() or len(line) >= SHORT_LINE * width


def read_pdf(path: Path) -> Extracted:
    """Text per page in reading order, furniture removed, wrapped lines joined; scans read by OCR."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        # PDFium's own reason can be stale (left from an earlier file), so look at the file itself.
        data = path.read_bytes()
        if b"/Encrypt" in data:
            raise ValueError("is password-protected; save a copy without a password and add that") from None
        if re.search(rb"/Type\s*/Pages\b[^>]*/Count\s+0\b", data):
            raise ValueError("has no pages") from None
        raise ValueError("cannot be read as a PDF (damaged); open it and save or print it to PDF again") from None
    notes: list[str] = []
    try:
        if len(pdf) == 0:
            raise ValueError("has no pages")
        pages: list[list[str]] = []
        scans: list[int] = []
        for i in range(len(pdf)):
            page = pdf[i]
            raw = page.get_textpage().get_text_range()
            letters = sum(ch.isalpha() for ch in raw)
            if letters < SCAN_MAX_LETTERS and _has_image(page):
                scans.append(i)
            pages.append([_SPACES.sub(" ", line).strip() for line in raw.splitlines() if line.strip()])
        if scans:
            ocr = tesseract()
            if ocr is None:
                notes.append(
                    f"{len(scans)} scanned page(s) skipped ({_page_list(scans)}): OCR needs Tesseract; "
                    f"install it: apt-get install {TESSERACT_PACKAGES}"
                )
            else:
                for i in _progress(scans, f"OCR {path.name}"):
                    image = pdf[i].render(scale=OCR_DPI / 72).to_pil()
                    buffer = io.BytesIO()
                    image.save(buffer, format="PNG")
                    pages[i] = [line.strip() for line in ocr(buffer.getvalue()).splitlines() if line.strip()]
    finally:
        pdf.close()
    dropped = furniture(pages)
    kept = [[line for j, line in enumerate(page) if (i, j) not in dropped] for i, page in enumerate(pages)]
    text, starts = paragraphs(kept)
    return Extracted(text=text, format="pdf", pages=starts, notes=tuple(notes))


def _has_image(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _page_list(pages: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in pages[:10])
    return f"page {shown}" + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")


def _progress(items: list[int], label: str) -> Iterator[int]:
    """`items` with a progress bar on stderr when there are several."""
    if len(items) < 2:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=label, unit="page", file=sys.stderr, leave=False)


# ---------------------------------------------------------------- OCR (scanned pages and images)


def tesseract() -> Callable[[bytes], str] | None:
    """The OCR function when Tesseract and its Vietnamese model are installed, else None."""
    if shutil.which("tesseract") is None:
        return None
    try:
        listed = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ocr_image if "vie" in listed.stdout.split() else None


def ocr_image(image: bytes) -> str:
    """The text Tesseract reads in an image (PNG, JPEG or TIFF bytes), NFC; pages of a TIFF end with a form feed."""
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "vie"],
            input=image,
            capture_output=True,
            timeout=OCR_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ValueError(f"OCR took over {OCR_TIMEOUT_S} s for one page; is it an image of text?") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(f"OCR failed ({why[-1] if why else 'tesseract exit ' + str(done.returncode)})")
    return nfc(done.stdout.decode("utf-8", "replace"))


def read_image(path: Path) -> Extracted:
    """A scanned page (.png, .jpg, .tif) read by OCR; a multi-page TIFF page by page."""
    if tesseract() is None:
        raise ValueError(f"is an image and OCR needs Tesseract; install it: apt-get install {TESSERACT_PACKAGES}")
    found = ocr_image(path.read_bytes())
    pages = [[line.strip() for line in page.splitlines() if line.strip()] for page in found.split("\f")]
    while len(pages) > 1 and not pages[-1]:
        pages.pop()  # Tesseract ends the last page with a form feed too
    text, starts = paragraphs(pages)
    return Extracted(text=text, format="image", pages=starts)


# ---------------------------------------------------------------- web pages (.html)


def read_html(path: Path) -> Extracted:
    """The main content of a saved web page (trafilatura), with its title and date from the page's metadata."""
    import trafilatura
    from lxml import etree

    found = trafilatura.extract(
        path.read_bytes(),
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        with_metadata=True,
    )
    if not found:
        raise ValueError("has no main text that reads as an article (only navigation or links)")
    root = etree.fromstring(found.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    out = Builder()

    def text_of(node: Any) -> str:
        return " ".join("".join(node.itertext()).split())

    def walk(node: Any) -> None:
        for child in node:
            tag = child.tag
            if tag == "head":
                rend = child.get("rend", "h2")
                out.add(text_of(child), heading=int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2)
            elif tag == "list":
                number = 0
                for item in child:
                    if item.tag != "item":
                        continue
                    number += 1
                    nested = [sub for sub in item if sub.tag == "list"]
                    for sub in nested:
                        item.remove(sub)
                    marker = f"{number}." if child.get("rend") == "ol" else "-"
                    out.add(f"{marker} {text_of(item)}")
                    for sub in nested:
                        wrapper = etree.Element("main")
                        wrapper.append(sub)
                        walk(wrapper)
            elif tag == "table":
                for row in child.iter("row"):
                    cells = [text_of(cell) for cell in row if cell.tag == "cell"]
                    if any(cells):
                        out.add(" | ".join(cells))
            elif tag in ("p", "quote", "code"):
                out.add(text_of(child))
            elif len(child):
                walk(child)
            else:
                out.add(text_of(child))

    main = root.find("main")
    walk(main if main is not None else root)
    date = root.get("date")
    return Extracted(
        text=out.text(),
        format="html",
        title=root.get("title") or None,
        date=date if date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else None,
        headings=tuple(out.headings),
    )


# ---------------------------------------------------------------- .doc, .odt, .rtf through LibreOffice


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def read_converted(path: Path, kind: str) -> Extracted:
    """A .doc, .odt or .rtf file (`kind`) converted to .docx by LibreOffice, then read as Word."""
    program = soffice()
    if program is None:
        raise ValueError(
            f"is {FORMAT_NAMES[kind]} and reading it needs LibreOffice; "
            f"install it: apt-get install {LIBREOFFICE_PACKAGE} (or save the file as .docx)"
        )
    with tempfile.TemporaryDirectory(prefix="hoidap-convert-") as tmp:
        source = Path(tmp) / f"input.{kind}"
        shutil.copyfile(path, source)
        profile = Path(tmp) / "profile"
        try:
            subprocess.run(
                [program, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                 "--convert-to", "docx", "--outdir", tmp, str(source)],
                capture_output=True, timeout=CONVERT_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ValueError(f"LibreOffice did not convert it within {CONVERT_TIMEOUT_S} s; save it as .docx") from None
        converted = Path(tmp) / "input.docx"
        if not converted.is_file():
            raise ValueError("LibreOffice could not convert it (damaged?); open it and save it as .docx")
        return replace(read_docx(converted), format=kind)


READERS: dict[str, Callable[[Path], Extracted]] = {
    "docx": read_docx,
    "pdf": read_pdf,
    "html": read_html,
    "image": read_image,
}
CONVERTED = ("doc", "odt", "rtf")

