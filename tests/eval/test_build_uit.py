"""The uit-dev/uit-test builder: valid, leak-free and byte-stable sets, and the committed sets are its output."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from eval import build_uit
from eval.qa import load_qa

SPLITS = ("uit-dev", "uit-test")
CITIES = ["Lạc An", "Bình Sơn", "Cẩm Khê", "Đồng Xuân", "Gia Lâm", "Hòa Vang"]
KINGS = ["Trần Nhân", "Lý Công", "Lê Lợi", "Đinh Bộ", "Ngô Quyền", "Mạc Đăng"]
MARKETS = ["Mai Hương", "Đào Viên", "Sen Hồ", "Cúc Phương", "Lan Đài", "Trúc Lâm"]
MOUNTAINS = ["Pù Luông", "Tà Xùa", "Mẫu Sơn", "Bà Đen", "Ngọc Linh", "Chư Yang"]
PROVINCES = ["Thanh Hóa", "Sơn La", "Lạng Sơn", "Tây Ninh", "Kon Tum", "Đắk Lắk"]
NICKNAMES = ["mái nhà mây", "sống lưng khủng long", "đỉnh sương", "núi lửa cổ", "nóc rừng", "thác bạc"]


def _qa(qid: str, question: str, context: str, *answers: str, shift: int = 0) -> dict[str, Any]:
    """A SQuAD question whose answers are located in `context` (answer_start moved by `shift`)."""
    return {
        "id": qid,
        "question": question,
        "answers": [{"text": a, "answer_start": max(context.find(a.strip()), 0) + shift} for a in answers],
    }


def _nfd(paragraph: dict[str, Any]) -> dict[str, Any]:
    """The paragraph written in NFD (decomposed tone marks), answer_start counted in the NFD text."""
    context = paragraph["context"]

    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    return {
        "context": nfd(context),
        "qas": [
            {
                "id": q["id"],
                "question": nfd(q["question"]),
                "answers": [
                    {"text": nfd(a["text"]), "answer_start": len(nfd(context[: a["answer_start"]]))}
                    for a in q["answers"]
                ],
            }
            for q in paragraph["qas"]
        ],
    }


def synthetic_source() -> dict[str, Any]:
    """Two shared titles of six paragraphs each (one written in NFD), two single-paragraph titles,
    and the awkward answers the real set has: in the title first, off by a few characters, one
    character long, not verbatim, padded with spaces, several per question."""
    cities = []
    for k, (city, king, market) in enumerate(zip(CITIES, KINGS, MARKETS)):
        context = (
            f"Thành phố {city} nằm bên bờ sông Hồng và có dân số {2000 + 113 * k} người. "
            f"Thành phố được vua {king} xây dựng vào năm {1500 + 7 * k}, có {k + 3} cổng thành. "
            f"Chợ lớn nhất của {city} là chợ {market}, mở cửa mỗi ngày từ sáng sớm."
        )
        qas = [
            _qa(f"c{k}-pop", f"Dân số của {city} là bao nhiêu?", context, f"{2000 + 113 * k} người"),
            _qa(f"c{k}-year", f"{city} được xây dựng vào năm nào?", context, f"năm {1500 + 7 * k}", shift=3 * (k % 2)),
            _qa(f"c{k}-who", f"Ai xây dựng {city}?", context, f"  vua {king} ", f"vua {king} xây dựng vào năm"),
            _qa(f"c{k}-market", f"Chợ lớn nhất của {city} là chợ nào?", context, f"chợ {market}"),
            _qa(f"c{k}-river", f"Thành phố {city} nằm bên bờ sông nào?", context, "sông Hồng"),
            _qa(f"c{k}-gates", f"{city} có mấy cổng thành?", context, f"{k + 3}"),
            _qa(f"c{k}-none", f"Thị trưởng của {city} là ai?", context, "ông Vương Bảo Tín"),
        ]
        if k == 0:
            qas.append(_qa("c0-plain", "Dan so cua Lac An la bao nhieu?", context, "2000 người"))
        cities.append({"context": context, "qas": qas})
    mountains = []
    for k, (mountain, province, nickname) in enumerate(zip(MOUNTAINS, PROVINCES, NICKNAMES)):
        context = (
            f"Núi {mountain} cao {1700 + 91 * k} mét và nằm ở tỉnh {province}. "
            f"Người dân gọi đỉnh núi là {nickname}, vì quanh năm có mây phủ trên những rặng đá vôi."
        )
        qas = [
            _qa(f"m{k}-height", f"Núi {mountain} cao bao nhiêu mét?", context, f"{1700 + 91 * k} mét"),
            _qa(f"m{k}-where", f"Núi {mountain} nằm ở tỉnh nào?", context, f"tỉnh {province}"),
            _qa(f"m{k}-name", f"Người dân gọi đỉnh núi {mountain} là gì?", context, nickname),
        ]
        mountains.append(_nfd({"context": context, "qas": qas}))
    singles = []
    fees = [("Học phí học kỳ hè", "350.000 đồng"), ("Lệ phí cấp bảng điểm", "20.000 đồng")]
    for k, (title, fee) in enumerate(fees):
        context = f"{title}: sinh viên đóng {fee} cho mỗi tín chỉ và nộp tại Phòng Kế hoạch Tài chính trước hạn."
        qas = [_qa(f"s{k}", f"{title} là bao nhiêu?", context, fee)]
        singles.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    return {
        "data": [
            {"title": "Ven sông Hồng", "paragraphs": cities[:3]},
            {"title": "Ven sông Hồng", "paragraphs": cities[3:]},
            {"title": "Núi Việt Nam", "paragraphs": mountains},
            *singles,
        ]
    }


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _items(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "qa.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    source = synthetic_source()
    path = tmp_path / "train.json"
    path.write_text(json.dumps(source, ensure_ascii=False), "utf-8")
    out = tmp_path / "out"
    assert build_uit.main(["--source", str(path), "--out", str(out)]) == 0
    return path, out, source


def test_synthetic_sets_are_valid_and_leak_free(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, source = built
    paragraphs = [(a["title"], p) for a in source["data"] for p in a["paragraphs"]]
    names: list[set[str]] = []
    for split in SPLITS:
        corpus = out / split / "corpus"
        docs = {p.name: p.read_text("utf-8") for p in corpus.glob("*.txt")}
        names.append(set(docs))
        for name, text in docs.items():
            title, body = paragraphs[int(name[4:7])]
            assert text == unicodedata.normalize("NFC", f"{title}\n\n{body['context']}\n")
        items = _items(out / split)
        assert len({i["id"] for i in items}) == len(items)
        assert all(list(i) == list(build_uit.FIELDS) for i in items)
        answerable = [i for i in items if i["answerable"]]
        unanswerable = [i for i in items if not i["answerable"]]
        assert answerable and unanswerable
        for item in answerable:
            doc = unicodedata.normalize("NFC", docs[str(item["source"])])
            evidence, key_fact = item["evidence"][0], item["key_facts"][0]
            at = doc.find(evidence)
            assert at >= doc.index("\n\n") + 2, item  # found in the paragraph, not in the title line
            assert key_fact in evidence and len(key_fact) >= 2
            if "sông nào" in str(item["question"]):
                assert evidence != key_fact == "sông Hồng"  # first seen in the title: grown to its place
        folded = [unicodedata.normalize("NFC", t).casefold() for t in docs.values()]
        for item in unanswerable:
            assert item["source"] is None and item["evidence"] == item["key_facts"] == []
            assert item["kind"] == "unanswerable"
            index, number = (int(x) for x in str(item["id"]).split("-")[1:])
            assert f"uit-{index:03d}.txt" not in docs
            for answer in paragraphs[index][1]["qas"][number]["answers"]:
                text = unicodedata.normalize("NFC", answer["text"]).strip().casefold()
                assert not any(text in t for t in folded), (item, text)
        kinds = {str(i["kind"]) for i in items}
        assert {"number", "who", "fact", "unanswerable"} <= kinds
        # The one-character and the non-verbatim answers are never answerable items.
        assert not [i for i in answerable if "cổng thành" in str(i["question"]) or "Thị trưởng" in str(i["question"])]
    assert not names[0] & names[1]
    for title in ("Ven sông Hồng", "Núi Việt Nam"):
        for split_names in names:
            assert any(paragraphs[int(n[4:7])][0] == title for n in split_names)


def test_two_runs_give_the_same_bytes(built: tuple[Path, Path, dict[str, Any]], tmp_path: Path) -> None:
    path, out, _ = built
    first = {split: _tree(out / split) for split in SPLITS}
    assert build_uit.main(["--source", str(path), "--out", str(out)]) == 0  # rewrites in place
    other = tmp_path / "other"
    assert build_uit.main(["--source", str(path), "--out", str(other)]) == 0
    for split in SPLITS:
        assert first[split] and _tree(out / split) == first[split] == _tree(other / split)


def test_synthetic_sets_load(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, _ = built
    for split in SPLITS:
        assert load_qa(out / split / "qa.jsonl", out / split / "corpus")


def test_missing_source_says_to_pass_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert build_uit.main(["--source", str(tmp_path / "absent.json"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--source" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Năm học có bao nhiêu học kỳ chính?", "number"),
        ("Ronaldo sinh tháng mấy?", "number"),
        ("Dota 2 được công bố vào năm nào?", "when"),
        ("Ai là người thành lập giải thưởng?", "who"),
        ("Người nào ký quyết định?", "who"),
        ("Một học kỳ hè diễn ra trong bao lâu?", "duration"),
        ("Những học phần nào là bắt buộc?", "list"),
        ("Mặt trăng là gì?", "fact"),
        ("Dan so cua Lac An la bao nhieu?", "no-diacritics"),
        ("Ai tham gia SEA Games?", "who"),  # no marks, but none needed
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert build_uit.question_kind(question) == kind


def test_evidence_is_found_where_the_gold_answer_is() -> None:
    # The gold answer is the second "hồ Tây", and answer_start is two characters off, as in the real set.
    context = "Hà Nội có hồ Tây. Ở Huế cũng có hồ Tây, rộng hơn."
    gold = context.rindex("hồ Tây")
    paragraph = build_uit.Paragraph(index=0, title="Hồ Tây", context=context, body=context, body_shift=0, questions=())
    doc = paragraph.document

    def covers_gold(evidence: str) -> bool:
        at = doc.find(evidence)
        return at <= paragraph.offset + gold < at + len(evidence)

    longer = build_uit.Question(0, "Huế có hồ gì?", (("hồ Tây", gold + 2), ("hồ Tây, rộng hơn", gold)))
    assert build_uit.choose_evidence(paragraph, longer) == ("hồ Tây, rộng hơn", "hồ Tây, rộng hơn")
    only = build_uit.Question(1, "Huế có hồ gì?", (("hồ Tây", gold - 2),))
    chosen = build_uit.choose_evidence(paragraph, only)
    assert isinstance(chosen, tuple)
    evidence, key_fact = chosen
    assert key_fact == "hồ Tây" and key_fact in evidence and covers_gold(evidence)
    short = build_uit.Question(2, "Chữ đầu là gì?", (("H", 0),))
    assert build_uit.choose_evidence(paragraph, short) == "answer shorter than 2 characters"
    missing = build_uit.Question(3, "Huế có mấy hồ?", (("hai hồ", 0),))
    assert build_uit.choose_evidence(paragraph, missing) == "no gold answer verbatim in the paragraph"


def test_committed_sets_are_the_builders_output(tmp_path: Path) -> None:
    if not build_uit.DEFAULT_SOURCE.is_file():
        pytest.skip(f"no uit-qa training set at {build_uit.DEFAULT_SOURCE}")
    assert build_uit.main(["--out", str(tmp_path)]) == 0
    for split in SPLITS:
        committed = build_uit.DEFAULT_OUT / split
        assert committed.is_dir(), f"{committed} is missing: run python -m eval.build_uit"
        assert _tree(committed) == _tree(tmp_path / split), f"{committed} is stale: run python -m eval.build_uit"
        assert len(load_qa(committed / "qa.jsonl", committed / "corpus")) > 400
