"""The server's own records in one SQLite file (`HOIDAP_DATA_DIR/hoidap.sqlite3`): jobs, the question log, feedback.

WAL mode with synchronous=FULL: every write is committed (and on disk) before the reply
that reports it is sent, so a server killed with SIGKILL loses nothing it has answered.
The schema carries a version (`PRAGMA user_version`); `MIGRATIONS[n]` takes a database from
version n to n + 1, so an older file is brought up to date when it is opened.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import HoidapError
from rag.groups import connected
from rag.text import content_terms, fold, nfc

FILE_NAME = "hoidap.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another one (the job thread, an answer) to commit

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: jobs, the question log (one row per answered turn) and feedback on a turn.
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,            -- upload, delete, reindex
        state TEXT NOT NULL,           -- queued, running, done, failed
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        files TEXT NOT NULL DEFAULT '[]',   -- JSON: the documents the job adds or removes
        undo TEXT NOT NULL DEFAULT '[]',    -- JSON: [[path, backup or null]] to put back if the job fails
        created TEXT NOT NULL,
        finished TEXT
    );
    CREATE INDEX jobs_state ON jobs (state, created);
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        question TEXT NOT NULL,
        understood_as TEXT,
        refused INTEGER NOT NULL,
        answer TEXT NOT NULL,
        citations TEXT NOT NULL,       -- JSON: the answer object's citations
        docs TEXT NOT NULL,            -- JSON: the cited documents, in order
        latency_ms REAL NOT NULL,
        conversation TEXT NOT NULL,
        turn INTEGER NOT NULL,
        client TEXT,                   -- only with HOIDAP_LOG_CLIENTS=true
        UNIQUE (conversation, turn)
    );
    CREATE INDEX questions_at ON questions (at);
    CREATE TABLE feedback (
        question_id INTEGER PRIMARY KEY REFERENCES questions (id),
        rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
        comment TEXT,
        at TEXT NOT NULL
    );
    """,
    # 1 -> 2: the outcome of each turn (answer, closest, none); a turn logged before was answered or refused.
    """
    ALTER TABLE questions ADD COLUMN outcome TEXT NOT NULL DEFAULT 'answer'
        CHECK (outcome IN ('answer', 'closest', 'none'));
    UPDATE questions SET outcome = 'none' WHERE refused = 1;
    CREATE INDEX questions_outcome ON questions (outcome, at);
    """,
)
OUTCOMES = ("answer", "closest", "none")  # as rag.answer.OUTCOMES; the log does not load the answerer
SCHEMA_VERSION = len(MIGRATIONS)
Undo = Sequence[tuple[str, str | None]]  # a job's (corpus file, backup of it in the trash or None)


def _fold(text: str | None) -> str | None:
    return None if text is None else fold(nfc(text))


def outcome_of(answer: Mapping[str, Any]) -> str:
    """An answer object's outcome; one from before outcomes were told apart was answered or refused."""
    outcome = answer.get("outcome") or ("none" if answer.get("refused") else "answer")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    return str(outcome)


def now() -> str:
    """The local time as ISO 8601 with its offset, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def new_id() -> str:
    """An id nobody can guess (job and conversation ids are handed to browsers)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Job:
    job: str
    kind: str
    state: str
    done: int
    total: int
    message: str
    files: tuple[str, ...]
    created: str
    finished: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "files": list(self.files),
            "created": self.created,
            "finished": self.finished,
        }


def _job(row: sqlite3.Row) -> Job:
    return Job(
        row["id"], row["kind"], row["state"], row["done"], row["total"], row["message"],
        tuple(json.loads(row["files"])), row["created"], row["finished"],
    )


@dataclass(frozen=True)
class QuestionFilter:
    """What GET /api/questions asks for; None: any."""

    refused: bool | None = None
    outcome: str | None = None  # answer, closest or none
    rating: int | None = None
    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None  # YYYY-MM-DD, inclusive
    text: str | None = None
    limit: int = 200


class Database:
    """One SQLite file, one connection per thread (sqlite3 connections are not shared across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HoidapError(
                f"cannot create the data folder {path.parent} ({exc.strerror}); "
                "set HOIDAP_DATA_DIR to a writable folder"
            ) from None
        self._migrate()

    @classmethod
    def in_folder(cls, data_dir: Path) -> Database:
        return cls(data_dir / FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.create_function("fold", 1, _fold, deterministic=True)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that takes the write lock at once and commits on leaving (rolls back on error)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        try:
            with self.write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise HoidapError(
                        f"the database {self.path} was written by a newer hoidap (schema {version}, this one "
                        f"knows {SCHEMA_VERSION}); upgrade hoidap, or set HOIDAP_DATA_DIR to another folder"
                    )
                for step in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
        except sqlite3.DatabaseError as exc:
            raise HoidapError(
                f"the database {self.path} is damaged or not a hoidap database ({exc}); move it aside "
                "(hoidap then starts a new one) or set HOIDAP_DATA_DIR to another folder"
            ) from None

    def version(self) -> int:
        return int(self._connect().execute("PRAGMA user_version").fetchone()[0])

    def integrity(self) -> str:
        return str(self._connect().execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------ jobs

    def add_job(self, kind: str, files: Sequence[str], total: int = 0, undo: Undo = ()) -> Job:
        job_id = new_id()
        with self.write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, state, total, files, undo, created, message) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, kind, total, json.dumps(list(files), ensure_ascii=False), json.dumps(list(undo)), now(),
                 "Đang chờ"),
            )
        found = self.job(job_id)
        assert found is not None
        return found

    def job(self, job_id: str) -> Job | None:
        row = self._connect().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, limit: int = 20) -> list[Job]:
        rows = self._connect().execute("SELECT * FROM jobs ORDER BY created DESC, rowid DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]

    def job_undo(self, job_id: str) -> Undo:
        """What to put back if the job fails: (corpus file, its backup in the trash or None) pairs."""
        row = self._connect().execute("SELECT undo FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return [(name, backup) for name, backup in json.loads(row["undo"])] if row else []

    def next_job(self) -> Job | None:
        """The oldest queued job, now marked running; None when nothing waits."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created, rowid LIMIT 1").fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET state = 'running', message = 'Đang xử lý' WHERE id = ?", (row["id"],))
        return self.job(row["id"])

    def update_job(self, job_id: str, **fields: Any) -> None:
        allowed = {"state", "done", "total", "message", "finished"}
        assert set(fields) <= allowed, fields
        if fields.get("state") in ("done", "failed"):
            fields.setdefault("finished", now())
        names = ", ".join(f"{name} = ?" for name in fields)
        with self.write() as conn:
            conn.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def requeue_interrupted(self) -> list[str]:
        """Jobs a killed server left running go back in the queue (re-running a job is safe); their ids."""
        with self.write() as conn:
            ids = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE state = 'running'")]
            conn.execute(
                "UPDATE jobs SET state = 'queued', done = 0, "
                "message = 'Máy chủ đã dừng giữa chừng; công việc chạy lại' WHERE state = 'running'"
            )
        return ids

    # ------------------------------------------------------------ the question log

    def last_question(self, conversation: str) -> str | None:
        """The last standalone question of a conversation (what it was understood as), or None if unknown."""
        row = self._connect().execute(
            "SELECT COALESCE(understood_as, question) FROM questions WHERE conversation = ? ORDER BY turn DESC LIMIT 1",
            (conversation,),
        ).fetchone()
        return None if row is None else str(row[0])

    def conversation(self, conversation: str) -> list[dict[str, Any]]:
        """The turns of a conversation, first first (empty for an unknown id)."""
        rows = self._connect().execute(
            "SELECT * FROM questions WHERE conversation = ? ORDER BY turn", (conversation,)
        ).fetchall()
        return [
            {
                "question": r["question"],
                "understood_as": r["understood_as"],
                "answer": r["answer"],
                "refused": bool(r["refused"]),
                "outcome": r["outcome"],
                "citations": json.loads(r["citations"]),
                "at": r["at"],
            }
            for r in rows
        ]

    def log_question(
        self,
        conversation: str,
        question: str,
        understood_as: str | None,
        answer: dict[str, Any],
        latency_ms: float,
        client: str | None = None,
    ) -> int:
        """Store one answered turn (committed before returning); its turn number in the conversation."""
        citations = answer.get("citations", [])
        outcome = outcome_of(answer)
        docs = list(dict.fromkeys(c["doc"] for c in citations))
        with self.write() as conn:
            turn = int(
                conn.execute(
                    "SELECT COALESCE(MAX(turn), 0) + 1 FROM questions WHERE conversation = ?", (conversation,)
                ).fetchone()[0]
            )
            conn.execute(
                "INSERT INTO questions (at, question, understood_as, refused, outcome, answer, citations, docs, "
                "latency_ms, conversation, turn, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now(), question, understood_as, int(outcome == "none"), outcome, answer["answer"],
                    json.dumps(citations, ensure_ascii=False), json.dumps(docs, ensure_ascii=False),
                    round(latency_ms, 1), conversation, turn, client,
                ),
            )
        return turn

    def log_reply(
        self, conversation: str | None, reply: dict[str, Any], client: str | None = None
    ) -> tuple[str, int]:
        """Log an answer object (`question`, `understood_as`, `timings_ms` and the answer) as the next turn
        of `conversation`, or of a new one when None; the conversation's id and the turn's number."""
        conversation = conversation or new_id()
        turn = self.log_question(
            conversation, reply["question"], reply["understood_as"], reply, reply["timings_ms"]["total"], client
        )
        return conversation, turn

    def add_feedback(self, conversation: str, turn: int, rating: int, comment: str | None) -> bool:
        """Store (or replace) the rating of a logged turn; False when there is no such turn."""
        with self.write() as conn:
            row = conn.execute(
                "SELECT id FROM questions WHERE conversation = ? AND turn = ?", (conversation, turn)
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "INSERT INTO feedback (question_id, rating, comment, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (question_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, "
                "at = excluded.at",
                (row["id"], rating, comment, now()),
            )
        return True

    def questions(self, where: QuestionFilter) -> tuple[int, list[dict[str, Any]]]:
        """The log, newest first, filtered: (how many match, the first `limit` of them)."""
        clauses: list[str] = []
        params: list[Any] = []
        if where.refused is not None:
            clauses.append("q.refused = ?")
            params.append(int(where.refused))
        if where.outcome is not None:
            clauses.append("q.outcome = ?")
            params.append(where.outcome)
        if where.rating is not None:
            clauses.append("f.rating = ?")
            params.append(where.rating)
        if where.since:
            clauses.append("q.at >= ?")
            params.append(where.since)
        if where.until:
            clauses.append("q.at < ?")
            params.append(where.until + "~")  # "~" sorts after every time of that day
        if where.text:
            # Case and marks do not matter: "ngan sach" finds "Ngân sách".
            clauses.append("(fold(q.question) LIKE ? ESCAPE '\\' OR fold(q.understood_as) LIKE ? ESCAPE '\\')")
            folded = fold(where.text)
            pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        sql = " FROM questions q LEFT JOIN feedback f ON f.question_id = q.id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        conn = self._connect()
        total = int(conn.execute("SELECT COUNT(*)" + sql, params).fetchone()[0])
        rows = conn.execute(
            "SELECT q.*, f.rating, f.comment" + sql + " ORDER BY q.id DESC LIMIT ?", [*params, where.limit]
        ).fetchall()
        return total, [
            {
                "id": r["id"],
                "at": r["at"],
                "question": r["question"],
                "understood_as": r["understood_as"],
                "refused": bool(r["refused"]),
                "outcome": r["outcome"],
                "docs": json.loads(r["docs"]),
                "latency_ms": r["latency_ms"],
                "conversation": r["conversation"],
                "turn": r["turn"],
                "rating": r["rating"],
                "comment": r["comment"],
                **({"client": r["client"]} if r["client"] is not None else {}),
            }
            for r in rows
        ]


# ---------------------------------------------------------------- questions nobody could answer

SAME_WORDING = 0.5  # Jaccard of content terms: two questions group when they share at least as many as they do not


def wording(question: str) -> frozenset[str]:
    """What a question asks about: its words and word pairs, unaccented, without question words ("là gì",
    "bao nhiêu", "những"). The pairs keep "nghỉ học tạm thời" apart from "buộc thôi học"."""
    return frozenset(content_terms(question, folded=True))


def similar_groups(questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions (newest first, as `Database.questions` gives them) grouped by similar wording.

    Two questions are in one group when their content words overlap by `SAME_WORDING` or more
    (Jaccard), directly or through other questions of the group. Groups come most frequent first;
    each names its newest wording, its distinct wordings and when it was last asked.
    """
    keys = [wording(q["question"]) for q in questions]
    by_word: dict[str, list[int]] = {}
    for i, words_of in enumerate(keys):
        for w in words_of:
            by_word.setdefault(w, []).append(i)
    similar = (  # pairs found through a shared word, so they share at least one
        (i, j)
        for i, words_of in enumerate(keys)
        for j in {j for w in words_of for j in by_word[w] if j < i}
        if len(words_of & keys[j]) >= SAME_WORDING * len(words_of | keys[j])
    )
    groups: dict[int, list[int]] = {}
    for i, group in enumerate(connected(len(questions), similar)):
        groups.setdefault(group, []).append(i)
    out = []
    for members in groups.values():
        texts = list(dict.fromkeys(questions[i]["question"] for i in members))
        last = questions[members[0]]["at"]
        out.append({"count": len(members), "question": texts[0], "questions": texts, "last": last})
    out.sort(key=lambda g: (g["count"], g["last"]), reverse=True)
    return out
