"""Follow-up questions read in the context of their conversation, the same way for the chat page, the widget
and the API.

A question stands on its own unless it says it does not: it opens with a word that carries on the
conversation ("Còn …", "Thế còn …", "Vậy …"), ends by asking about the last answer ("… thì sao?"),
points back ("nghị quyết đó", "ông ấy", "văn bản này", "họ"), or names nothing to search for (no
name, number or code, and at most `ELLIPSIS_WORDS` words besides the question words: "Ai chủ trì?",
"Ban hành ngày nào?"). A question that stands on its own is searched as it is, whatever came before.

A follow-up becomes a standalone question, which the answer shows as `understood_as`:
- a new value for what the last question named ("Thế còn năm 2022?", "Còn quận Ba Đình thì sao?")
  replaces that value in it: "Ước thu ngân sách quận Ba Đình năm 2020 là bao nhiêu?";
- anything else is asked about the last question's subject: "Mục tiêu thứ ba là gì (Báo cáo của
  Thành ủy xác định 4 mục tiêu năm 2021)?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import is_question_word, nfc, words

# Words that open a question carrying on the conversation (lower case, with and without marks).
# Unaccented forms only where they are not everyday words ("con", "vay" are).
CARRY_ON = (
    "thế còn", "the con", "vậy còn", "vay con", "còn", "vậy thì", "vay thi", "vậy", "thế thì", "the thi", "và",
    "ngoài ra", "ngoai ra", "tiếp theo", "tiep theo", "cụ thể", "cu the", "trong đó", "trong do",
)
# Endings that ask about the last answer's subject.
# ("… ra sao?" alone is an ordinary "how" question: only "thì ra sao" asks about the last answer.)
ABOUT_LAST = (
    "thì sao", "thi sao", "thì thế nào", "thi the nao", "thì ra sao", "thi ra sao", "thì như thế nào", "thi nhu the nao"
)
# Words that point back to something named before; marked forms only ("do", "nay", "no" are other words
# unmarked), and not "trên", which is mostly "trên địa bàn".
POINTERS = frozenset({"đó", "đấy", "ấy", "này", "kia", "nó", "họ", "chúng"})
POINTER_PHRASES = ("cả hai", "tương tự", "như vậy", "như thế", "cùng năm", "cùng ngày")
# "Ai chủ trì?", "Ban hành ngày nào?": too few words to name what is asked about. Fitted by
# `python -m eval.fit_followup` on the dev dialogues: the most turns read right with no standalone one merged.
ELLIPSIS_WORDS = 4
# What a slot holds: a year, or a place or numbered part named by its kind ("quận Ba Đình", "Điều 7").
_YEAR = re.compile(r"\b(?:năm\s+)?((?:19|20)\d\d)\b", re.IGNORECASE)
# Kinds of one class stand in for each other: "Còn huyện Mê Linh?" after a question about "quận Đống Đa".
_CLASSES = {
    "place": ("quận", "huyện", "thị xã", "phường", "xã", "tỉnh", "thành phố"),
    "part": ("điều", "khoản", "chương", "mục", "phần"),
    "text": ("nghị quyết", "quyết định", "báo cáo", "thông tư", "nghị định", "kế hoạch", "chỉ thị"),
    "term": ("khóa", "khoá"),
}
_CLASS_OF = {kind: name for name, kinds in _CLASSES.items() for kind in kinds}
_KINDS = tuple(_CLASS_OF)
# The kind in any case, the name in capitals or digits: "quận Ba Đình", "Điều 7", "Nghị quyết số 15-NQ/TU".
_NAMED = re.compile(
    r"\b((?i:" + "|".join(re.escape(k) for k in sorted(_KINDS, key=len, reverse=True)) + r"))\s+"
    r"((?:số\s+)?(?:[A-ZĐÀÁẢÃẠĂẮẰẲẴẶÂẤẦẨẪẬÈÉẺẼẸÊẾỀỂỄỆÌÍỈĨỊÒÓỎÕỌÔỐỒỔỖỘƠỚỜỞỠỢÙÚỦŨỤƯỨỪỬỮỰỲÝỶỸỴ0-9][\w\-/.]*)"
    r"(?:\s+[A-ZĐÀÁẢÃẠĂẮẰẲẴẶÂẤẦẨẪẬÈÉẺẼẸÊẾỀỂỄỆÌÍỈĨỊÒÓỎÕỌÔỐỒỔỖỘƠỚỜỞỠỢÙÚỦŨỤƯỨỪỬỮỰỲÝỶỸỴ0-9][\w\-/.]*)*)"
)


@dataclass(frozen=True)
class Reading:
    """How a question was read: the question to search, and whether it leaned on the conversation."""

    searched: str
    follow_up: bool


def _strip_carry_on(question: str) -> str:
    text = question.strip()
    lowered = text.lower()
    for opener in CARRY_ON:
        if lowered.startswith(opener + " ") or lowered.startswith(opener + ","):
            return text[len(opener) :].lstrip(" ,")
    return text


def _strip_about_last(text: str) -> str:
    core = text.rstrip(" ?.!")
    lowered = core.lower()
    for ending in ABOUT_LAST:
        if lowered.endswith(" " + ending) or lowered == ending:
            return core[: len(core) - len(ending)].rstrip(" ,")
    return core


def _has_own_name(question: str) -> bool:
    """A name, number or code of its own: a capitalised word after the first, or any digit."""
    found = [w for clause in words(question) for w in clause]
    return any(any(ch.isdigit() for ch in w) for w in found) or any(w[:1].isupper() for w in found[1:])


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation before it (see the module docstring)."""
    text = nfc(question).strip()
    lowered = text.lower()
    if _strip_carry_on(text) != text:
        return True
    if _strip_about_last(text).lower() != lowered.rstrip(" ?.!"):
        return True
    found = [w for clause in words(text) for w in clause]
    if any(w.lower() in POINTERS for w in found[1:]) or (found and found[0].lower() in {"nó", "họ", "chúng"}):
        return True
    if any(re.search(rf"(?<!\w){phrase}(?!\w)(?! nào)", lowered) for phrase in POINTER_PHRASES):  # not "như thế nào"
        return True
    content = [w for w in found if not is_question_word(w)]
    # "Học kỳ là gì?" asks what a term means: it names its subject, however short.
    defines = re.fullmatch(r"[^?]*\S\s+(?:là gì|la gi)\s*\??", lowered) is not None and len(content) >= 2
    return not _has_own_name(text) and not defines and len(content) <= ELLIPSIS_WORDS


def _subject(question: str) -> str:
    """The last standalone question without its question words at the end and its punctuation; the context
    a follow-up of a follow-up carries is kept, after a semicolon rather than nested in brackets."""
    text = nfc(question).strip().rstrip(" ?.!")
    context = ""
    opening = _opening(text)
    if opening > 0:
        text, context = text[:opening].rstrip(), text[opening + 1 : -1]
    return _without_question_words(text) + (f"; {context}" if context else "")


def _opening(text: str) -> int:
    """Where the bracket that closes `text` opens (-1 when it does not end with one)."""
    depth = 0
    for at in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth == 0:
            return at if at < len(text) - 1 else -1
    return -1


def _without_question_words(text: str) -> str:
    parts = text.split()
    while parts and is_question_word(parts[-1].strip(",")):
        parts.pop()
    return " ".join(parts) or text


def _substitute(value: str, previous: str) -> str | None:
    """The previous question with what it named replaced by `value`, when `value` is a new one of its kind."""
    value = value.strip().rstrip(" ?.!")
    year = _YEAR.fullmatch(value)
    if year:
        old = _YEAR.search(previous)
        if old:
            return previous[: old.start(1)] + year.group(1) + previous[old.end(1) :]
        return None
    named = _NAMED.fullmatch(value)
    if named:
        kind = _CLASS_OF[named.group(1).lower()]
        for old in _NAMED.finditer(previous):
            if _CLASS_OF[old.group(1).lower()] == kind:
                said = named.group(0) if old.start() else named.group(0)[0].upper() + named.group(0)[1:]
                return previous[: old.start()] + said + previous[old.end() :]
    return None


def read_question(question: str, previous: str | None) -> Reading:
    """The question to search, given the last standalone question of the conversation (None at its start)."""
    text = nfc(question).strip()
    if previous is None or not is_follow_up(text):
        return Reading(text, False)
    core = _strip_about_last(_strip_carry_on(text))
    replaced = _substitute(core, previous)
    if replaced is not None:
        return Reading(replaced, True)
    if not core:
        return Reading(previous, True)
    core = core[0].upper() + core[1:]
    return Reading(f"{core} ({_subject(previous)})?", True)
