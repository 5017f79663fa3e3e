"""English questions: add the Vietnamese terms of Party and government work they name.

An English-only or weak multilingual model cannot match an English question to
Vietnamese text; a domain glossary lets the lexical side do it. The glossary is
the general vocabulary of Party-building documents, not lines of any corpus.
"""

from __future__ import annotations

import re

from rag.text import has_diacritics

# English words that are not also unaccented Vietnamese ("do", "to", "an", "the" are).
_ENGLISH = frozenset(
    "what which who whom when where why how is are was were of for did does "
    "about and from with that this these those many much".split()
)

# English phrase -> Vietnamese terms (longest phrases are matched first).
GLOSSARY: dict[str, str] = {
    "city party committee": "Thành ủy",
    "hanoi party committee": "Thành ủy Hà Nội",
    "municipal party committee": "Thành ủy",
    "district party committee": "Quận ủy",
    "party committee": "cấp ủy đảng ủy",
    "party committees": "cấp ủy",
    "standing board": "Ban Thường vụ",
    "standing committee": "Ban Thường vụ",
    "executive committee": "Ban Chấp hành",
    "central committee": "Trung ương",
    "politburo": "Bộ Chính trị",
    "general secretary": "Tổng Bí thư",
    "deputy secretary": "Phó Bí thư",
    "deputy secretaries": "Phó Bí thư",
    "permanent deputy secretary": "Phó Bí thư Thường trực",
    "standing deputy secretary": "Phó Bí thư Thường trực",
    "standing": "Thường trực",
    "secretary": "Bí thư",
    "secretaries": "Bí thư",
    "prime minister": "Thủ tướng",
    "party members": "đảng viên",
    "party member": "đảng viên",
    "party cells": "chi bộ",
    "party cell": "chi bộ",
    "grassroots party organisations": "tổ chức cơ sở đảng TCCSĐ",
    "grassroots party organizations": "tổ chức cơ sở đảng TCCSĐ",
    "grassroots party organisation": "tổ chức cơ sở đảng TCCSĐ",
    "grassroots party organization": "tổ chức cơ sở đảng TCCSĐ",
    "party organisations": "tổ chức đảng",
    "party organizations": "tổ chức đảng",
    "party": "Đảng",
    "resolution": "Nghị quyết",
    "resolutions": "Nghị quyết",
    "directive": "Chỉ thị",
    "programme": "Chương trình",
    "programmes": "Chương trình",
    "program": "Chương trình",
    "programs": "Chương trình",
    "scheme": "Đề án",
    "project": "Đề án",
    "report": "Báo cáo",
    "plan": "kế hoạch",
    "goals": "mục tiêu",
    "goal": "mục tiêu",
    "objectives": "mục tiêu",
    "targets": "mục tiêu chỉ tiêu",
    "key tasks": "nhiệm vụ trọng tâm",
    "tasks": "nhiệm vụ",
    "task": "nhiệm vụ",
    "solutions": "giải pháp",
    "groups": "nhóm",
    "group": "nhóm",
    "limitations": "hạn chế",
    "shortcomings": "hạn chế khuyết điểm",
    "congress": "Đại hội",
    "conference": "Hội nghị",
    "term": "nhiệm kỳ",
    "district": "quận",
    "city": "thành phố",
    "hanoi": "Hà Nội",
    "capital": "Thủ đô",
    "budget revenue": "thu ngân sách",
    "budget": "ngân sách",
    "revenue": "thu",
    "estimate": "dự toán",
    "elections": "bầu cử",
    "election": "bầu cử",
    "national assembly": "Quốc hội",
    "people's councils": "Hội đồng nhân dân HĐND",
    "people's council": "Hội đồng nhân dân HĐND",
    "deputies": "đại biểu",
    "delegates": "đại biểu",
    "inspection": "kiểm tra",
    "supervision": "giám sát",
    "mass mobilisation": "dân vận",
    "mass mobilization": "dân vận",
    "models": "mô hình",
    "model": "mô hình",
    "collective": "tập thể",
    "individual": "cá nhân",
    "streamlining": "tinh giản biên chế",
    "staff reduction": "tinh giản biên chế",
    "downsizing": "tinh giản biên chế",
    "payroll": "biên chế",
    "officials": "cán bộ",
    "cadres": "cán bộ",
    "civil servants": "công chức",
    "public employees": "viên chức",
    "corruption": "tham nhũng",
    "culture": "văn hóa",
    "science and technology": "khoa học công nghệ KHCN",
    "social security": "an sinh xã hội",
    "economic": "kinh tế",
    "economy": "kinh tế",
    "growth": "tăng trưởng",
    "pandemic": "dịch",
    "epidemic": "dịch",
    "consolidate": "củng cố kiện toàn",
    "consolidated": "củng cố kiện toàn",
    "strengthened": "củng cố",
    "strengthen": "củng cố",
    "opened": "khai mạc",
    "opening": "khai mạc",
    "percentage": "tỷ lệ %",
    "documents": "văn kiện",
    "commended": "khen thưởng giấy khen",
    "awarded": "khen thưởng giấy khen",
    "bloc": "Khối",
    "agencies": "cơ quan",
    "urban government": "chính quyền đô thị",
    "pilot": "thí điểm",
    "administrative reform": "cải cách hành chính",
    "weather": "thời tiết",
    "exchange rate": "tỷ giá",
    "population": "dân số",
    "register": "đăng ký",
    "registered": "đăng ký",
    "organise": "tổ chức",
    "organize": "tổ chức",
    # Question words, so that the answerer knows what kind of answer is wanted.
    "in total": "tổng cộng",
    "altogether": "tổng cộng",
    "total": "tổng số",
    "what are": "những gì",
    "what were": "những gì",
    "how many": "bao nhiêu",
    "how much": "bao nhiêu",
    "what percentage": "tỷ lệ bao nhiêu phần trăm",
    "what share": "tỷ lệ bao nhiêu phần trăm",
    "when": "khi nào",
    "what date": "ngày nào",
    "who": "ai",
    "four": "4",
    "three": "3",
    "two": "2",
    "five": "5",
    "ten": "10",
}
# The head noun of "how many …": the last word before the verb or preposition that ends the phrase.
_COUNTED = re.compile(
    r"\bhow (?:many|much)\s+(?P<phrase>(?:\S+\s+){0,6}?(?P<head>[a-z]+))\s+"
    r"(?:did|does|do|were|are|was|is|have|has|had|will|can|could|in|of|for|at|on|from|with|to|by|there)\b"
)
_LEADS = ("bao nhiêu", "phần trăm", "khi nào", "ngày nào")
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(GLOSSARY, key=len, reverse=True)) + r")\b"
)


def is_english(question: str) -> bool:
    """True for a question written in English (two or more English function words).

    A few Vietnamese words may be quoted in it ("How many 'Dân vận khéo' models …?").
    """
    words = question.lower().split()
    marked = sum(has_diacritics(w) for w in words)
    english = sum(w in _ENGLISH for w in re.findall(r"[a-z']+", question.lower()))
    if marked:
        return english >= 3 and marked * 4 <= len(words)
    return english >= 2


def expand(question: str) -> str:
    """For an English question, the Vietnamese terms it names plus its names, numbers and codes.

    Other questions are returned unchanged.
    """
    if not is_english(question):
        return question
    lower = question.lower()
    matches = list(_PATTERN.finditer(lower))
    placed = [(float(m.start()), GLOSSARY[m.group(1)]) for m in matches]
    # What "how many" counts follows "bao nhiêu" ("how many … models" -> "bao nhiêu mô hình"). It must be
    # known: "How many Covid-19 cases …?" with no word for "cases" keeps "cases", which no document has,
    # so the answerer sees a question about something the documents do not hold.
    counted = _COUNTED.search(lower)
    if counted:
        after_how = counted.start() + 0.5
        # the last known term in the phrase ("… mass mobilisation) models"), else its last word
        inside = [i for i, m in enumerate(matches) if counted.start("phrase") <= m.start() < counted.end("phrase")]
        if inside:
            placed[inside[-1]] = (after_how, placed[inside[-1]][1])
        else:
            placed.append((after_how, counted.group("head")))
    found = [term for _, term in sorted(placed)]
    rest = _PATTERN.sub(" ", lower)
    # Keep what a glossary cannot translate and the text does use: numbers, codes, names.
    words = re.findall(r"[\w'./-]+", question)[1:]  # the first word is capitalized anyway
    kept = [
        w
        for w in words
        if any(ch.isdigit() for ch in w)
        or has_diacritics(w)
        or (w[:1].isupper() and w.lower() in rest and w.lower() not in _ENGLISH)
    ]
    # Terms are separate clauses, so that no word pair spans two of them ("mục tiêu, Thành ủy"),
    # except that a question word or a number leads its term ("bao nhiêu mục tiêu", "4 mục tiêu").
    out = ""
    for i, term in enumerate(found + kept):
        leads = i > 0 and (out.endswith(_LEADS) or (i < len(found) and found[i - 1].isdigit()))
        out += term if not out else (" " if leads else ", ") + term
    return out
