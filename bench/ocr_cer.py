"""How well does hoidap's OCR (`rag.readers.ocr_image`, Tesseract `-l vie`) read printed Vietnamese?

The body lines (>= 20 words) of each article in data/corpus become an A4 PDF (`bench.documents.write_text_pdf`:
DejaVu Sans 12 pt, running header, "Trang N" footer) in a temporary directory. The first N pages, taken round-robin
across the articles (page 1 of each, then page 2 of each, ...), are rendered at 200 and 300 dpi with pdftoppm and
read by `ocr_image`. The truth is the page's text layer (pypdfium2). Header and footer (the first and last non-empty
lines) are dropped on both sides; both are NFC with whitespace runs collapsed to one space. Reported per dpi:

- CER: character Levenshtein distance / truth characters, summed over pages;
- wrong-diacritic words: truth and OCR words aligned by difflib on their base letters (diacritics removed, đ -> d,
  lowercased); of the aligned pairs with equal base letters, the share whose full words differ (case-insensitive);
- seconds per page spent in `ocr_image`.

Target: CER <= 2% at 300 dpi.

Run: .venv/bin/python bench/ocr_cer.py [--pages 6] [--json OUT]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import tempfile
import time
import unicodedata
from pathlib import Path

import pypdfium2

from bench.documents import render_page, write_text_pdf
from rag.readers import ocr_image

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
DPIS = (200, 300)


def normalize(text: str) -> str:
    """NFC with every whitespace run collapsed to one space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def body(text: str) -> str:
    """The page text without its first and last non-empty lines (running header and "Trang N" footer)."""
    kept = [line for line in text.splitlines() if line.strip()]
    return normalize("\n".join(kept[1:-1]))


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insertions, deletions, substitutions), row by row."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def base(word: str) -> str:
    """The word's letters without diacritics (đ -> d), lowercased."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def diacritic_errors(truth: str, ocr: str) -> tuple[int, int]:
    """(aligned words whose full forms differ, aligned words), aligning words on their base letters."""
    t_words, o_words = truth.split(), ocr.split()
    matcher = difflib.SequenceMatcher(None, [base(w) for w in t_words], [base(w) for w in o_words], autojunk=False)
    wrong = aligned = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            aligned += 1
            wrong += t_words[block.a + k].lower() != o_words[block.b + k].lower()
    return wrong, aligned


def articles() -> list[list[str]]:
    """Each article's body paragraphs: its lines of at least 20 words."""
    return [
        [line.strip() for line in path.read_text("utf-8").splitlines() if len(line.split()) >= 20]
        for path in sorted(CORPUS.glob("*.txt"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=6, help="pages in all, round-robin across articles")
    parser.add_argument("--json", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args()

    totals = {dpi: {"pages": 0, "characters": 0, "edits": 0, "wrong": 0, "aligned": 0, "seconds": 0.0} for dpi in DPIS}
    with tempfile.TemporaryDirectory(prefix="hoidap-ocr-") as tmp:
        pdfs = [write_text_pdf(Path(tmp) / f"article{i}.pdf", paras) for i, paras in enumerate(articles())]
        counts = [len(pypdfium2.PdfDocument(pdf)) for pdf in pdfs]
        chosen = [(pdf, p) for p in range(max(counts)) for pdf, n in zip(pdfs, counts) if p < n][: args.pages]
        for pdf, page in chosen:
            document = pypdfium2.PdfDocument(pdf)
            truth = body(document[page].get_textpage().get_text_range())
            document.close()
            for dpi in DPIS:
                png = render_page(pdf, page + 1, dpi, Path(tmp) / f"{pdf.stem}-{page + 1}-{dpi}.png")
                start = time.perf_counter()
                found = ocr_image(png.read_bytes())
                seconds = time.perf_counter() - start
                ocr = body(found)
                wrong, aligned = diacritic_errors(truth, ocr)
                row = totals[dpi]
                row["pages"] += 1
                row["characters"] += len(truth)
                row["edits"] += levenshtein(truth, ocr)
                row["wrong"] += wrong
                row["aligned"] += aligned
                row["seconds"] += seconds

    results = [
        {
            "dpi": dpi,
            "pages": int(t["pages"]),
            "characters": int(t["characters"]),
            "edits": int(t["edits"]),
            "cer": t["edits"] / max(t["characters"], 1),
            "wrong_diacritic_words": int(t["wrong"]),
            "aligned_words": int(t["aligned"]),
            "wrong_diacritic_share": t["wrong"] / max(t["aligned"], 1),
            "seconds_per_page": t["seconds"] / max(t["pages"], 1),
        }
        for dpi, t in totals.items()
    ]
    print("| dpi | pages | characters | CER | wrong-diacritic words | s/page |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['dpi']} | {r['pages']} | {r['characters']} | {r['cer']:.2%} ({r['edits']} edits) "
            f"| {r['wrong_diacritic_share']:.2%} ({r['wrong_diacritic_words']}/{r['aligned_words']}) "
            f"| {r['seconds_per_page']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
