"""How fast hoidap reads documents: text PDFs and Word files (read and chunk, no embedding), OCR of a
scanned page, and the whole `hoidap index` of a 500-page PDF with the packaged model.

    .venv/bin/python -m bench.ingest [--pages 500] [--ocr-pages 2] [--json OUT]

The documents are bench/documents.py's regulation, repeated until the PDF has `--pages` pages;
the Word file holds the same text, so its speed is given in the PDF's pages per second too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.documents import regulation, render_page, write_docx, write_pdf
from rag.chunking import chunk_document, make_splitter
from rag.documents import read_document
from rag.readers import ocr_image, tesseract
from rag.settings import Settings

ARTICLES_PER_PAGE = 4.0  # the regulation fills about 4 articles an A4 page at 12 pt (1600 made 401 pages)


def read_and_chunk(path: Path, settings: Settings) -> tuple[float, int]:
    """Seconds to read and chunk one file (best of 3), and its chunk count."""
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    best, chunks = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        document, _ = read_document(path, path.name)
        chunks = len(chunk_document(document, splitter))
        best = min(best, time.perf_counter() - started)
    return best, chunks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--ocr-pages", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hoidap-ingest-") as tmp:
        folder = Path(tmp)
        corpus = folder / "corpus"
        corpus.mkdir()
        blocks = regulation(int(args.pages * ARTICLES_PER_PAGE))
        pdf = write_pdf(corpus / "quy-che.pdf", blocks)
        docx = write_docx(folder / "quy-che.docx", blocks)
        document, _ = read_document(pdf, pdf.name)
        pages = len(document.pages)
        results["pdf_pages"] = pages
        seconds, chunks = read_and_chunk(pdf, settings)
        results["pdf_read_chunk_pages_per_s"] = pages / seconds
        results["pdf_chunks"] = chunks
        seconds, _ = read_and_chunk(docx, settings)
        results["docx_read_chunk_pages_per_s"] = pages / seconds

        if tesseract() is not None and args.ocr_pages:
            spent = 0.0
            for page in range(1, args.ocr_pages + 1):
                image = render_page(pdf, page, 300, folder / f"page-{page}.png").read_bytes()
                started = time.perf_counter()
                ocr_image(image)
                spent += time.perf_counter() - started
            results["ocr_s_per_page"] = spent / args.ocr_pages

        from rag.index import build_index

        started = time.perf_counter()
        report = build_index(Settings(corpus_dir=corpus, index_dir=folder / "index"), log=lambda _m: None)
        results["index_s"] = time.perf_counter() - started
        results["index_chunks"] = report.chunks
        results["model"] = report.model

    print(f"text PDF, {results['pdf_pages']} pages: read and chunk {results['pdf_read_chunk_pages_per_s']:.1f} pages/s")
    print(f"Word, the same text: read and chunk {results['docx_read_chunk_pages_per_s']:.1f} pages/s")
    if "ocr_s_per_page" in results:
        print(f"OCR at 300 dpi: {results['ocr_s_per_page']:.1f} s/page")
    print(
        f"hoidap index of the {results['pdf_pages']}-page PDF: {results['index_s']:.1f} s "
        f"({results['index_chunks']} chunks embedded with {results['model']})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
