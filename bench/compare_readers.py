"""Which library should hoidap use to read Vietnamese PDFs (with a text layer) and .docx files?

From the five articles in data/corpus it writes, in a temporary directory, one A4 PDF per article
(fpdf2, DejaVu Sans 11 pt, running header, "Trang N" footer), one PDF of 100+ pages repeating them,
and one .docx per article (Heading 1 title, paragraphs, a 3x2 table, a 3-item 'List Number' list).
It measures pages/s (PDF: the long file) or docs/s (DOCX: the 5 files x 20), best of 3; in-order
recall of the NFC source's words (difflib.SequenceMatcher over whitespace-split words of the
NFC-normalized output, PDF header/footer lines dropped), overall and for words with a Vietnamese
diacritic; whether the raw output was already NFC; and for DOCX whether table cells, list
numbers ("1.", "2.") and the heading level come through.

Run: .venv/bin/python bench/compare_readers.py
"""

import difflib
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import docx
import pypdfium2
from docx.table import Table
from docx2python import docx2python
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTTextContainer
from pypdf import PdfReader

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TABLE = [["Đơn vị", "Kết quả"], ["Quận Đống Đa", "Hoàn thành vượt mức"], ["Huyện Sóc Sơn", "Đạt yêu cầu"]]
LIST_ITEMS = ["Nâng cao chất lượng tổ chức cơ sở đảng", "Đẩy mạnh cải cách hành chính", "Tăng cường kiểm tra, giám sát"]


class ArticlePdf(FPDF):
    """A4 PDF in DejaVu Sans with a running header and a "Trang N" footer."""

    def __init__(self) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", fname=FONT)
        self.running_header = ""

    def header(self) -> None:
        self.set_font("DejaVu", size=9)
        self.cell(0, 8, self.running_header, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", size=9)
        self.cell(0, 10, f"Trang {self.page_no()}", align="C")

    def add_article(self, paragraphs: list[str]) -> None:
        self.running_header = paragraphs[0][:60]
        self.add_page()
        self.set_font("DejaVu", size=11)
        for paragraph in paragraphs:
            self.multi_cell(0, 6, paragraph, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)


def write_docx(paragraphs: list[str], path: Path) -> None:
    document = docx.Document()
    document.add_heading(paragraphs[0], level=1)
    for paragraph in paragraphs[1:]:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for row, texts in zip(table.rows, TABLE):
        for cell, text in zip(row.cells, texts):
            cell.text = text
    for item in LIST_ITEMS:
        document.add_paragraph(item, style="List Number")
    document.save(str(path))


def read_pypdf(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def read_pdfminer(path: Path) -> list[str]:
    return ["".join(el.get_text() for el in page if isinstance(el, LTTextContainer)) for page in extract_pages(path)]


def read_pypdfium2(path: Path) -> list[str]:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()  # closes its pages and text pages too


def read_python_docx(path: Path) -> str:
    """Paragraphs and table cells in document order (iter_inner_content walks document.element.body)."""
    lines: list[str] = []
    for block in docx.Document(str(path)).iter_inner_content():
        lines += [cell.text for row in block.rows for cell in row.cells] if isinstance(block, Table) else [block.text]
    return "\n".join(lines)


def read_docx2python(path: Path) -> str:
    with docx2python(path) as content:
        return content.text


def first_style_python_docx(path: Path) -> str:
    style = docx.Document(str(path)).paragraphs[0].style
    return style.name if style is not None and style.name is not None else ""


def first_style_docx2python(path: Path) -> str:
    with docx2python(path) as content:
        return content.document_pars[0][0][0][0].style  # tables > rows > cells > paragraphs


def drop_header_footer(pages: list[str], header: str) -> str:
    """Remove one running-header line and one "Trang N" line from each page, wherever the reader put them."""
    kept = []
    for number, page in enumerate(pages, 1):
        lines = [" ".join(line.split()) for line in page.splitlines()]
        for extra in (" ".join(header.split()), f"Trang {number}"):
            if extra in lines:
                lines.remove(extra)
        kept += lines
    return "\n".join(kept)


def has_diacritic(word: str) -> bool:
    return any(c in "đĐ" or (c.isalpha() and unicodedata.normalize("NFD", c) != c) for c in word)


def match_counts(source: str, output: str) -> tuple[int, int, int, int]:
    """Source words, matched in order, and the same two counts for words with a diacritic."""
    src = source.split()
    out = unicodedata.normalize("NFC", output).split()
    blocks = difflib.SequenceMatcher(None, src, out, autojunk=False).get_matching_blocks()
    matched = [word for block in blocks for word in src[block.a : block.a + block.size]]
    return len(src), len(matched), sum(map(has_diacritic, src)), sum(map(has_diacritic, matched))


def best_rate(read: Callable[[Path], object], paths: list[Path], units: int) -> float:
    """`units` (pages or documents) per second reading every path, best of 3 runs."""
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        for path in paths:
            read(path)
        seconds.append(time.perf_counter() - start)
    return units / min(seconds)


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def common_columns(name: str, spdx: str, rate: float, outputs: list[str], sources: list[str]) -> list[str]:
    """Name, version, license, rate, word recall, raw NFC and diacritic-word recall over all files."""
    src, hit, src_dia, hit_dia = (sum(c) for c in zip(*map(match_counts, sources, outputs)))
    nfc = all(unicodedata.is_normalized("NFC", text) for text in outputs)
    recall, dia_recall = f"{hit / src:.2%} ({hit}/{src})", f"{hit_dia / src_dia:.2%} ({hit_dia}/{src_dia})"
    return [name, version(name), spdx, f"{rate:.1f}", recall, yes_no(nfc), dia_recall]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in [header, ["---"] * len(header), *rows])


def main() -> None:
    articles = [
        [line.strip() for line in unicodedata.normalize("NFC", p.read_text("utf-8")).splitlines() if line.strip()]
        for p in sorted(CORPUS.glob("*.txt"))
    ]
    pdf_sources = ["\n".join(paragraphs) for paragraphs in articles]
    extras = [cell for row in TABLE for cell in row] + LIST_ITEMS
    docx_sources = ["\n".join(paragraphs + extras) for paragraphs in articles]
    pdf_readers = [
        ("pypdf", "BSD-3-Clause", read_pypdf),
        ("pdfminer.six", "MIT", read_pdfminer),
        ("pypdfium2", "Apache-2.0 or BSD-3-Clause", read_pypdfium2),
    ]
    docx_readers = [
        ("python-docx", "MIT", read_python_docx, first_style_python_docx),
        ("docx2python", "MIT", read_docx2python, first_style_docx2python),
    ]
    pdf_rows, docx_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = [Path(tmp, f"{i}.pdf") for i in range(len(articles))]
        docxs = [pdf_path.with_suffix(".docx") for pdf_path in pdfs]
        for paragraphs, pdf_path, docx_path in zip(articles, pdfs, docxs):
            pdf = ArticlePdf()
            pdf.add_article(paragraphs)
            pdf.output(str(pdf_path))
            write_docx(paragraphs, docx_path)
        long_pdf, long_path = ArticlePdf(), Path(tmp, "long.pdf")
        while long_pdf.page_no() < 100:
            for paragraphs in articles:
                long_pdf.add_article(paragraphs)
        long_pdf.output(str(long_path))
        long_pages = long_pdf.page_no()
        for name, spdx, read_pdf in pdf_readers:
            rate = best_rate(read_pdf, [long_path], long_pages)
            outputs = [drop_header_footer(read_pdf(p), a[0][:60]) for p, a in zip(pdfs, articles)]
            pdf_rows.append(common_columns(name, spdx, rate, outputs, pdf_sources))
        for name, spdx, read_doc, first_style in docx_readers:
            rate = best_rate(read_doc, docxs * 20, len(docxs) * 20)
            outputs = [read_doc(p) for p in docxs]
            cells = all(cell in text for text in outputs for row in TABLE for cell in row)
            numbered = [rf"(?m)^\s*{n}\.\s*{re.escape(item)}" for n, item in enumerate(LIST_ITEMS, 1)]
            numbers = all(re.search(pattern, text) for text in outputs for pattern in numbered)
            checks = [yes_no(cells), yes_no(numbers), " / ".join(sorted({first_style(p) for p in docxs}))]
            docx_rows.append([*common_columns(name, spdx, rate, outputs, docx_sources), *checks])
    columns = ["library", "version", "license", "{}", "word recall", "raw NFC", "diacritic-word recall"]
    print(f"## PDF (speed: {long_pages}-page PDF, best of 3; quality: {len(pdfs)} article PDFs)\n")
    print(markdown([c.format("pages/s") for c in columns], pdf_rows))
    print(f"\n## DOCX (speed: {len(docxs)} files x 20, best of 3; quality: {len(docxs)} files)\n")
    docx_columns = [c.format("docs/s") for c in columns] + ["table cells", "list numbers", "heading (title style)"]
    print(markdown(docx_columns, docx_rows))


if __name__ == "__main__":
    main()
