"""Vietnamese text keys: NFC, canonical tone placement, folding, and tokens for matching.

Vietnamese places a tone mark on one vowel of a syllable, and two conventions
disagree on which one ("ủy"/"uỷ", "hóa"/"hoá"). Matching on a key that takes
the tone off the vowel and writes it after the syllable ("uy" + tone) makes the
two styles, and composed/decomposed input, one and the same key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import pairwise

# The five tone marks as combining characters, and the digit written for each.
_TONES = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_COMBINING = re.compile(r"[\u0300-\u036f]")

# A token is a run of letters/digits, with inner . , / - joining parts of one
# number or code ("11.085,046", "193/226", "17-BC/TU", "Covid-19"); "%" stays
# with its number.
_TOKEN = re.compile(r"\w+(?:[.,/\-]\w+)*%?")
# Clause boundaries: bigrams never cross them.
_CLAUSE = re.compile(r"[.;:!?…](?:\s|$)|[()\[\]“”\"«»\n]|,\s|\s[-–]\s")
_PURE_NUMBER = re.compile(r"^[\d.,/\-]+%?$")

# Words that ask, not what is asked about. Keys are canonical (see `key`).
_QUESTION_WORDS_RAW = (
    "gì nào ai đâu sao mấy bao nhiêu khi bao giờ hỏi cho biết hãy không vậy thế "
    "là những các của và có được trong với thì mà này đó ra như thế nào tại vì "
    "what which who whom when where why how many much is are was were the a an "
    "of in on for to did does do by about and from list name tell me please "
    "so với riêng nhất đã đang sẽ cũng còn rồi lại nữa hiện nay "
    "tôi mình i you my we"
)


def nfc(text: str) -> str:
    """Return `text` in Unicode NFC."""
    return unicodedata.normalize("NFC", text)


def key(word: str) -> str:
    """Canonical matching key of one word: lower case, tone mark moved after it.

    >>> key("Uỷ") == key("ủy") == "uy3"
    True
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = ""
    kept = []
    for ch in decomposed:
        if ch in _TONES:
            tone = _TONES[ch]
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def fold(word: str) -> str:
    """Key of a word with every mark taken off and đ written d (for unaccented typing)."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("đ", "d"))
    return _COMBINING.sub("", decomposed)


def has_diacritics(text: str) -> bool:
    """True when `text` carries any Vietnamese mark (so it was not typed unaccented)."""
    if "đ" in text or "Đ" in text:
        return True
    return bool(_COMBINING.search(unicodedata.normalize("NFD", text)))


def canonical(text: str) -> str:
    """Text for loose comparison: NFC, case-folded, every word's tone placed canonically."""
    return _TOKEN.sub(lambda m: key(m.group()), nfc(text).casefold())


def words(text: str) -> list[list[str]]:
    """Split text into clauses of raw word tokens (number and code tokens kept whole)."""
    return [found for clause in _CLAUSE.split(text) if (found := _TOKEN.findall(clause))]


def _code_parts(clause: list[str], to_key: Callable[[str], str]) -> list[str]:
    """The parts of codes: "17-BC/TU" also matches "BC" and "TU"; a pure number stays whole."""
    return [
        to_key(part)
        for word in clause
        if not _PURE_NUMBER.match(word) and re.search(r"[.,/\-]", word)
        for part in re.split(r"[.,/\-]", word)
        if part
    ]


def terms(text: str, *, folded: bool = False, bigrams: bool = True) -> list[str]:
    """Matching terms of `text`: word keys, the letter parts of codes, and word bigrams.

    Args:
        text: any text (NFC or not).
        folded: use the unaccented key (`fold`) instead of the canonical one (`key`).
        bigrams: add "a_b" for each pair of neighbouring words inside a clause.

    Returns:
        Terms in text order; duplicates kept (BM25 counts them).
    """
    to_key = fold if folded else key
    out: list[str] = []
    for clause in words(nfc(text)):
        keys = [to_key(w) for w in clause]
        out.extend(keys)
        out.extend(_code_parts(clause, to_key))
        if bigrams:
            out.extend(f"{a}_{b}" for a, b in pairwise(keys))
    return out


_QUESTION_KEYS = frozenset(key(w) for w in _QUESTION_WORDS_RAW.split())
QUESTION_WORDS = _QUESTION_KEYS | frozenset(fold(w) for w in _QUESTION_WORDS_RAW.split())


def is_question_word(word: str) -> bool:
    """Whether a raw word asks rather than names: "bao" may be "bao nhiêu", "báo" never is."""
    return key(word) in _QUESTION_KEYS if has_diacritics(word) else fold(word) in QUESTION_WORDS


def content_terms(question: str, *, folded: bool = False, phrase: Callable[[str], bool] | None = None) -> list[str]:
    """Terms of a question without its question words (unigrams and bigrams).

    Args:
        question: the question.
        folded: use unaccented keys.
        phrase: says whether the documents use a word pair; two question words that
            form such a pair are content ("không khí", the atmosphere), not a question.
    """
    to_key = fold if folded else key
    out: list[str] = []
    for clause in words(nfc(question)):
        keys = [to_key(w) for w in clause]
        asks = [is_question_word(w) for w in clause]
        out.extend(k for k, q in zip(keys, asks) if not q)
        out.extend(_code_parts(clause, to_key))  # "Covid-19" also finds "Covid -19"
        for (a, qa), (b, qb) in pairwise(zip(keys, asks)):
            pair = f"{a}_{b}"
            if not (qa or qb) or (phrase is not None and qa and qb and phrase(pair)):
                out.append(pair)
    return out
