"""The Q&A file (JSON Lines): load, check against the corpus, refuse what is wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag.documents import read_text
from rag.errors import HoidapError
from rag.text import nfc

DEFAULT_QA = Path(__file__).resolve().parent / "data" / "qa.jsonl"
FIELDS = ("id", "question", "answerable", "source", "evidence", "key_facts", "kind")


class QAError(HoidapError):
    """The Q&A file is not valid; the message names the line."""


@dataclass(frozen=True)
class QAItem:
    """One question of the evaluation set, with its evidence located in the source."""

    line: int
    id: str
    question: str
    answerable: bool
    source: str | None
    evidence: tuple[str, ...]
    key_facts: tuple[str, ...]
    kind: str
    spans: tuple[tuple[int, int], ...]  # where each evidence string lies in the source text

    def cites(self, doc: str, start: int, end: int) -> bool:
        """Whether a stretch of a document overlaps this question's evidence."""
        return doc == self.source and any(start < b and end > a for a, b in self.spans)


def locate(text: str, evidence: str) -> tuple[int, int] | None:
    """Where `evidence` lies in `text`: verbatim, or with its spaces as line breaks (a hard-wrapped
    copy of the source, where one sentence runs over several lines)."""
    at = text.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    m = re.search(r"\s+".join(map(re.escape, evidence.split())), text)
    return (m.start(), m.end()) if m else None


def load_qa(path: Path, corpus_dir: Path) -> list[QAItem]:
    """Read and check a Q&A file; every evidence string must be verbatim in its source."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QAError(f"no Q&A file at {path}; pass --qa FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {path} as UTF-8 text ({exc}); save it as UTF-8 JSON Lines") from None
    texts: dict[str, str] = {}
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QAError(f"{where}: not valid JSON ({exc.msg}); one JSON object per line") from None
        if not isinstance(row, dict) or any(f not in row for f in FIELDS):
            raise QAError(f"{where}: needs the fields {', '.join(FIELDS)}")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise QAError(f"{where}: question must be non-empty text")
        if row["id"] in seen:
            raise QAError(f"{where}: id {row['id']!r} is used twice")
        seen.add(row["id"])
        evidence = tuple(nfc(e) for e in row["evidence"] or ())
        spans: list[tuple[int, int]] = []
        source = row["source"]
        if row["answerable"]:
            if not isinstance(source, str) or not evidence:
                raise QAError(f"{where}: an answerable question needs a source and evidence")
            if source not in texts:
                try:
                    texts[source] = nfc(read_text(corpus_dir / source))
                except (OSError, ValueError) as exc:
                    raise QAError(f"{where}: source {source!r} cannot be read from {corpus_dir}: {exc}") from None
            for e in evidence:
                span = locate(texts[source], e)
                if span is None:
                    raise QAError(f"{where}: evidence is not verbatim in {source}: {e[:60]!r}…")
                spans.append(span)
        items.append(
            QAItem(
                line=number,
                id=str(row["id"]),
                question=nfc(row["question"]),
                answerable=bool(row["answerable"]),
                source=source,
                evidence=evidence,
                key_facts=tuple(nfc(k) for k in row["key_facts"] or ()),
                kind=str(row["kind"]),
                spans=tuple(spans),
            )
        )
    if not items:
        raise QAError(f"{path} holds no questions")
    return items
