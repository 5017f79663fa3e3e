"""Errors a user can fix. The CLI prints the message as one line and exits 2."""

from __future__ import annotations


class HoidapError(Exception):
    """A mistake in input, settings or files; the message says what to do."""


class BadQuestion(HoidapError):
    """The question is empty, too long or not text; `vi` says so in Vietnamese, for the chat and the widget."""

    def __init__(self, message: str, vi: str | None = None) -> None:
        super().__init__(message)
        self.vi = vi or message


class IndexMissing(HoidapError):
    """No usable index at the given folder."""


class ModelError(HoidapError):
    """The embedding model cannot be loaded or does not match the index."""


class CorpusError(HoidapError):
    """The corpus folder is missing or holds no readable documents."""
