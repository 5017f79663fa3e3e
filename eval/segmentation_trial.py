"""Word segmentation for the lexical keys, measured against today's syllable and pair keys.

    pip install pyvi                                              # MIT; not a dependency of hoidap
    HF_HUB_OFFLINE=1 python -m eval.segmentation_trial            # the dev sets, packaged model

Variants of what BM25 indexes and asks for (the dense side and the answerer are the same in all):
- `today`: each syllable's key and each pair of neighbouring syllables in a clause;
- `pyvi`: each syllable's key and each word of pyvi's segmentation that has two syllables or more
  (a pair across a word boundary, "thu_ngân", is no longer a term);
- `pyvi+pairs`: today's keys plus pyvi's words of three syllables or more.
The folded (unaccented) index is segmented on the text with its marks, then folded; a question typed
without marks is segmented as typed (pyvi reads it worse, which is part of what is measured).
Prints one line a variant and set: hit@1, hit@5, key facts shown, answer rate; each index is built
afresh in a temporary folder.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

import rag.lexical
from eval import trials
from rag.text import content_terms, fold, is_question_word, key, nfc, terms

VARIANTS = ("today", "pyvi", "pyvi+pairs")
DEV_SETS = ("statute-dev", "legal-dev", "notice-dev", "uit-dev", "sample")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=200_000)
def _segment(clause: str) -> tuple[tuple[str, ...], ...]:
    """pyvi's words of a text, each as its syllables."""
    from pyvi import ViTokenizer

    return tuple(tuple(w.split("_")) for w in ViTokenizer.tokenize(clause).split() if _WORD.search(w))


def _words(text: str, least: int, drop: Callable[[str], bool] = lambda _: False) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for line in nfc(text).splitlines():
        if line.strip():
            out.extend(w for w in _segment(line) if len(w) >= least and not any(drop(s) for s in w))
    return out


def _joined(word: tuple[str, ...], folded: bool) -> str:
    to_key = fold if folded else key
    return "_".join(to_key(s) for s in word)


def _doc_terms(variant: str) -> Callable[..., list[str]]:
    least = 2 if variant == "pyvi" else 3

    def doc_terms(text: str, *, folded: bool = False, bigrams: bool = True) -> list[str]:
        base = terms(text, folded=folded, bigrams=variant != "pyvi")
        return base + [_joined(w, folded) for w in _words(text, least)]

    return doc_terms


def _question_terms(variant: str) -> Callable[..., list[str]]:
    least = 2 if variant == "pyvi" else 3

    def question_terms(
        question: str, *, folded: bool = False, phrase: Callable[[str], bool] | None = None
    ) -> list[str]:
        base = content_terms(question, folded=folded, phrase=phrase)
        if variant == "pyvi":
            base = [t for t in base if "_" not in t]
        return base + [_joined(w, folded) for w in _words(question, least, drop=is_question_word)]

    return question_terms


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """BM25 indexes and asks with the variant's terms inside this block."""
    if name != "today":
        rag.lexical.terms = _doc_terms(name)
        rag.lexical.content_terms = _question_terms(name)
    try:
        yield
    finally:
        rag.lexical.terms = terms
        rag.lexical.content_terms = content_terms


def main(argv: list[str] | None = None) -> int:
    return trials.main(argv, __doc__ or "", VARIANTS, DEV_SETS, variant)


if __name__ == "__main__":
    raise SystemExit(main())
