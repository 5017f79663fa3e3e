"""Fit `rag.conversation.ELLIPSIS_WORDS` on the dev dialogues: how many content words a question without a
name, number or code may have and still be read as leaning on the conversation ("Ai chủ trì?").

    .venv/bin/python -m eval.fit_followup

Prints, for each value, how many non-first turns of eval/data/dialogues-dev.jsonl are read as what
they are (follow-up or standalone). The constant is the value with the most right among those that
take no standalone question for a follow-up (a standalone question must never be merged; a follow-up
left alone is the safer mistake), the smaller one on a tie. Needs no index: detection reads the text only.
"""

from __future__ import annotations

import sys

import rag.conversation as conversation
from eval.dialogues import DATA, load_dialogues
from rag.settings import Settings

VALUES = range(7)


def main() -> int:
    dialogues = load_dialogues(DATA / "dialogues-dev.jsonl", Settings().corpus_dir)
    turns = [t for d in dialogues for t in d.turns[1:]]
    follow_ups = sum(t.follow_up for t in turns)
    print(f"{len(turns)} non-first turns of {len(dialogues)} dev dialogues: {follow_ups} follow-ups, "
          f"{len(turns) - follow_ups} standalone")
    print("ELLIPSIS_WORDS  right  follow-ups missed  standalone taken for follow-ups")
    best = None
    for value in VALUES:
        conversation.ELLIPSIS_WORDS = value
        missed = sum(t.follow_up and not conversation.is_follow_up(t.question) for t in turns)
        taken = sum(not t.follow_up and conversation.is_follow_up(t.question) for t in turns)
        right = len(turns) - missed - taken
        print(f"{value:14d}  {right:5d}  {missed:17d}  {taken:30d}")
        if taken == 0 and (best is None or right > best[1]):
            best = (value, right)
    assert best is not None
    print(f"best: ELLIPSIS_WORDS = {best[0]} ({best[1]}/{len(turns)} right, no standalone turn merged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
