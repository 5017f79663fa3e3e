"""The measurement scripts' variants do what their names say, and leave hoidap as it was."""

from __future__ import annotations

import rag.chunking
import rag.index
import rag.lexical
from eval.chunking_trial import _article_regions, variant
from eval.segmentation_trial import variant as segmentation
from rag.chunking import chunk_document, make_splitter
from rag.documents import parse

LAW = """LUẬT THANH TRA

Chương I
NHỮNG QUY ĐỊNH CHUNG

Điều 1. Phạm vi điều chỉnh
Luật này quy định về tổ chức và hoạt động thanh tra.

Mục 1
Điều 2. Đối tượng áp dụng
1. Cơ quan thực hiện chức năng thanh tra.
2. Cơ quan, tổ chức, cá nhân có liên quan.
"""

NEWS = """Hà Nội khởi công cầu mới

Sáng nay, thành phố khởi công cầu Trần Hưng Đạo bắc qua sông Hồng.

Cây cầu dài 1,2 km, dự kiến hoàn thành năm 2027.
"""


def test_article_variant_cuts_a_law_at_each_article() -> None:
    law = parse("thanh-tra.txt", LAW)
    regions = _article_regions(law)
    starts = [law.text[s:].split("\n", 1)[0] for s, _ in regions]
    assert starts[1:] == ["Điều 1. Phạm vi điều chỉnh", "Mục 1"]  # a heading alone before an article opens it
    splitter = make_splitter(2000, 0)
    with variant("article"):
        chunks = chunk_document(law, splitter)
    assert [c.text.split("\n", 1)[0] for c in chunks][1:] == ["Điều 1. Phạm vi điều chỉnh", "Mục 1"]
    assert len(chunk_document(law, splitter)) == 1  # today's: one chunk runs across both articles


def test_article_variant_leaves_a_news_article_alone() -> None:
    news = parse("cau.txt", NEWS)
    assert _article_regions(news) == news.content


def test_variants_restore_what_they_replace() -> None:
    def replaced() -> tuple[object, ...]:
        return (
            rag.index.embedding_text, rag.index._reusable_chunks, rag.chunking.chunk_regions,
            rag.lexical.terms, rag.lexical.content_terms,
        )

    before = replaced()
    with variant("article+heading"):
        assert rag.chunking.chunk_regions is _article_regions
    with segmentation("today"):
        pass
    assert replaced() == before

