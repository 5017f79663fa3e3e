"""The plain dense baseline a tutorial builds: 1000/200 character chunks of the raw text,
the same model with no prompts, FAISS flat top-k, no cleaning and no Vietnamese handling.
It answers with its top passage and never refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from embeddings.encoder import Encoder
from rag.documents import corpus_files, read_text
from rag.text import nfc


class Baseline:
    """Tutorial-style dense retrieval over the raw corpus."""

    def __init__(self, encoder: Encoder, corpus_dir: Path) -> None:
        self.encoder = encoder
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.chunks: list[tuple[str, int, str]] = []
        for path in corpus_files(corpus_dir):
            try:
                text = nfc(read_text(path))
            except ValueError:
                continue
            name = path.relative_to(corpus_dir).as_posix()
            for piece in splitter.create_documents([text]):
                start = int(piece.metadata["start_index"])
                if text[start : start + len(piece.page_content)] == piece.page_content:
                    self.chunks.append((name, start, piece.page_content))
        vectors = encoder.model.encode([c[2] for c in self.chunks], normalize_embeddings=True)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.asarray(vectors, dtype=np.float32))

    def ask(self, question: str, k: int = 10) -> dict[str, Any]:
        """An answer object: the top passage as the answer, cited."""
        vector = self.encoder.model.encode([question], normalize_embeddings=True)
        scores, ids = self.index.search(np.asarray(vector, dtype=np.float32), min(k, len(self.chunks)))
        passages = [
            {"rank": r + 1, "doc": self.chunks[i][0], "start": self.chunks[i][1],
             "end": self.chunks[i][1] + len(self.chunks[i][2]), "score": float(s), "text": self.chunks[i][2]}
            for r, (i, s) in enumerate(zip(ids[0], scores[0])) if i >= 0
        ]
        top = passages[0]
        citation = {"n": 1, "doc": top["doc"], "title": "", "date": None,
                    "start": top["start"], "end": top["end"], "quote": top["text"]}
        return {"question": question, "answer": f"{top['text']} [1]", "refused": False, "outcome": "answer",
                "citations": [citation], "passages": passages}
