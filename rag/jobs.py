"""Changes to the collection made from the browser: files stored safely in the corpus folder, and jobs
that re-index in the background, one at a time, while the server keeps answering from the current index.

A job re-runs `build_index` (incremental: unchanged documents keep their vectors); the new index
is swapped in whole, and the server's LivePipeline loads it. A job that fails puts the corpus
folder back as it was (uploaded files removed, replaced or deleted files restored), so corpus
and index agree. Jobs live in the SQLite store: one that a killed server left running is run again.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.database import Database, Job, Undo, new_id
from rag.errors import HoidapError
from rag.index import build_index, read_manifest
from rag.readers import SUFFIXES, file_format
from rag.settings import Settings

if TYPE_CHECKING:
    from embeddings.encoder import Encoder

TRASH = ".hoidap-trash"  # hidden folder in the corpus: files a running job may have to put back
UPLOADING = ".hoidap-upload-"  # prefix of a file being received (hidden: never indexed)
MAX_NAME_BYTES = 200  # file names longer than this (in UTF-8) are refused; most file systems stop at 255
PROGRESS_EVERY_S = 0.5  # a job's progress is written to the store at most this often
# Names Windows reserves for devices, with or without an extension: a file called so cannot be opened there.
DEVICE_NAMES = frozenset(
    ["con", "prn", "aux", "nul", "clock$"] + [f"{p}{n}" for p in ("com", "lpt") for n in "123456789"]
)
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")
STAGES = {
    "read": "Đang đọc tài liệu",
    "embed": "Đang tạo vectơ cho các đoạn",
    "embed sentences": "Đang tạo vectơ cho các câu",
}


class Refused(HoidapError):
    """An upload or delete the server will not do; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def safe_name(raw: object) -> str:
    """The name an uploaded file is stored under in the corpus folder, or Refused (400/415) saying why.

    The name must be a plain file name: no folder part, not hidden, not a device name,
    no control or reserved characters, and an extension hoidap reads.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise Refused(400, "a file has no name; upload it as a named file")
    name = unicodedata.normalize("NFC", raw.strip())
    shown = ascii(name)[1:-1][:80]
    if "\x00" in name or _BAD_CHARS.search(name):
        raise Refused(400, f"the file name {shown!r} holds control or reserved characters; rename the file")
    if "/" in name or "\\" in name:
        raise Refused(400, f"the file name {shown!r} holds a folder (/ or \\); upload the file under its own name")
    if name.startswith((".", "~$")):
        raise Refused(400, f"the file name {shown!r} is hidden (starts with . or ~$); rename the file")
    if name.split(".")[0].strip().lower() in DEVICE_NAMES:
        raise Refused(400, f"the file name {shown!r} is a device name on Windows; rename the file")
    if name.endswith((" ", ".")):
        raise Refused(400, f"the file name {shown!r} ends with a space or dot; rename the file")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise Refused(400, f"the file name is over {MAX_NAME_BYTES} bytes long; shorten it")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise Refused(415, f"hoidap does not read {shown!r}; upload one of {', '.join(sorted(SUFFIXES))}")
    return name


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, or Refused(404) when that would be outside `folder` or hidden."""
    root = folder.resolve()
    path = (root / name.replace("\x00", "")).resolve()
    if (
        "\x00" in name
        or root not in path.parents
        or path.relative_to(root).as_posix() != name  # "a/../b.txt", "/etc/x", a link out of the folder
        or any(p.startswith((".", "~$")) for p in Path(name).parts)
    ):
        raise Refused(404, f"no document {name!r} in the collection; GET /api/documents lists them")
    return path


@dataclass
class Received:
    """A file received into a hidden temporary file of the corpus folder, checked, not yet in place."""

    name: str
    temp: Path
    size: int


def check_format(item: Received) -> None:
    """Refused(415) unless the content is a format hoidap reads (a lying extension or a zip bomb is refused)."""
    with item.temp.open("rb") as f:
        head = f.read(2048)
    try:
        _kind, notes = file_format(item.temp, head)
    except ValueError as exc:
        raise Refused(415, f"{item.name} {exc}") from None
    if notes:  # the content is another format than the extension says
        raise Refused(415, f"{item.name} {notes[0].removesuffix('; read as such')}; rename it to its real extension")
    if item.size == 0:
        raise Refused(400, f"{item.name} is empty; upload the document itself")


class Jobs:
    """The job queue of one server: a worker thread runs queued jobs one at a time."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        encoder: Callable[[], Encoder | None],
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
        built: Callable[[], object] = lambda: None,
    ) -> None:
        """
        Args:
            settings: corpus and index folders, chunking, upload limit.
            db: where jobs are kept.
            encoder: the model the server has loaded now (None: a build loads its own).
            log: where warnings go (the server's log).
            built: called after each build, before its job is marked done: the server loads the
                new index there, so a job that is done is answerable.
        """
        self.settings = settings
        self.db = db
        self.encoder = encoder
        self.log = log
        self.built = built
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._names_lock = threading.Lock()
        self._receiving: set[str] = set()
        self._thread: threading.Thread | None = None

    @property
    def corpus(self) -> Path:
        return self.settings.corpus_dir

    def start(self) -> None:
        """Clean what a killed server left (half-received files), requeue its jobs, start the worker."""
        if self.corpus.is_dir():
            for stale in self.corpus.glob(f"{UPLOADING}*"):
                with contextlib.suppress(OSError):
                    stale.unlink()
        again = self.db.requeue_interrupted()
        if again:
            self.log(f"hoidap: {len(again)} job(s) interrupted by a stop are run again")
        self._thread = threading.Thread(target=self._loop, name="hoidap-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    # ------------------------------------------------------------ requests (run in the server's threads)

    @contextlib.contextmanager
    def receiving(self, names: list[str]) -> Iterator[None]:
        """Claim names being uploaded now; Refused(409) when another upload holds one."""
        with self._names_lock:
            busy = [n for n in names if n.lower() in self._receiving]
            if busy or len({n.lower() for n in names}) < len(names):
                raise Refused(409, f"{(busy or names)[0]} is being uploaded twice at once; upload it once")
            self._receiving.update(n.lower() for n in names)
        try:
            yield
        finally:
            with self._names_lock:
                self._receiving.difference_update(n.lower() for n in names)

    def temp_file(self, name: str) -> Path:
        self.corpus.mkdir(parents=True, exist_ok=True)
        return self.corpus / f"{UPLOADING}{new_id()}{Path(name).suffix.lower()}"

    def add(self, items: list[Received], replace: bool) -> Job:
        """Put received files in place (all or none) and queue the job that indexes them."""
        undo: list[tuple[str, str | None]] = []
        try:
            for item in items:
                target = self.corpus / item.name
                if target.exists() and not replace:
                    raise Refused(
                        409, f"{item.name} is already in the collection; send replace=true to replace it"
                    )
                backup = None
                if target.exists():
                    backup = self._to_trash(item.name)
                os.replace(item.temp, target)
                undo.append((item.name, backup))
        except BaseException:
            self._undo(undo)
            for item in items:
                with contextlib.suppress(FileNotFoundError):
                    item.temp.unlink()
            raise
        return self._submit("upload", [i.name for i in items], undo)

    def delete(self, name: str) -> Job:
        path = inside(self.corpus, name)
        if not path.is_file():
            raise Refused(404, f"no document {name!r} in the collection; GET /api/documents lists them")
        backup = self._to_trash(path.relative_to(self.corpus.resolve()).as_posix())
        return self._submit("delete", [name], [(name, backup)])

    def reindex(self) -> Job:
        return self._submit("reindex", [], [])

    def _submit(self, kind: str, files: list[str], undo: Undo) -> Job:
        job = self.db.add_job(kind, files, undo=undo)
        self._wake.set()
        return job

    def _to_trash(self, name: str) -> str:
        """Move a corpus file into the hidden trash folder; its path there, relative to the corpus."""
        trash = self.corpus / TRASH
        trash.mkdir(exist_ok=True)
        backup = f"{TRASH}/{new_id()}-{Path(name).name}"
        os.replace(self.corpus / name, self.corpus / backup)
        return backup

    def _undo(self, undo: Undo) -> None:
        """Put the corpus folder back: files the job added go, files it moved to the trash come back."""
        for name, backup in reversed(undo):
            target = self.corpus / name
            if backup is None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            elif (self.corpus / backup).exists():
                os.replace(self.corpus / backup, target)

    def _forget(self, undo: Undo) -> None:
        """The job is done: the backups it kept go."""
        for _name, backup in undo:
            if backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    (self.corpus / backup).unlink()

    # ------------------------------------------------------------ the worker

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.db.next_job()
                if job is not None:
                    self.run(job)
                    continue
            except Exception:  # the store is locked or gone for a moment: say so and try again, never die
                self.log("hoidap: the job worker hit an error and goes on:\n" + traceback.format_exc())
            self._wake.wait(timeout=1.0)
            self._wake.clear()

    def run(self, job: Job) -> None:
        """Run one job (marked running) to done or failed."""
        warnings: list[str] = []
        last = [0.0]

        def progress(done: int, total: int, stage: str) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_S or done == total:
                last[0] = time.monotonic()
                self.db.update_job(job.job, done=done, total=total, message=f"{STAGES[stage]} ({done}/{total})")

        undo = self.db.job_undo(job.job)
        try:
            build_index(self.settings, log=warnings.append, encoder=self.encoder(), progress=progress)
            indexed = set(read_manifest(self.settings.index_dir)["documents"])
            self.built()
        except HoidapError as exc:
            self._fail(job, undo, str(exc))
            return
        except Exception as exc:  # a bug: the index is unchanged, the job says so, the log has the traceback
            self.log("hoidap: job failed:\n" + traceback.format_exc())
            self._fail(job, undo, f"{type(exc).__name__}: {exc}")
            return
        for line in warnings:
            self.log(line if line.startswith("hoidap:") else f"hoidap: {line}")
        # Only an upload's files must be in the index (a delete's never are).
        skipped = [name for name in job.files if name not in indexed] if job.kind == "upload" else []
        if not skipped:
            self._forget(undo)
            self.db.update_job(job.job, state="done", done=1, total=1, message=done_message(job))
            return
        # Files that could not be read leave the corpus (a replaced one comes back), and the index follows.
        reasons = [why(name, warnings) for name in skipped]
        self._undo([u for u in undo if u[0] in skipped])
        self._forget([u for u in undo if u[0] not in skipped])
        # The corpus may now hold nothing readable: the index of the first build then stays.
        with contextlib.suppress(HoidapError):
            build_index(self.settings, log=lambda _m: None, encoder=self.encoder())
            self.built()
        kept = [n for n in job.files if n not in skipped]
        added = f"Đã thêm {len(kept)} tệp. " if kept else ""
        self.db.update_job(
            job.job, state="failed", done=1, total=1, message=added + "Không đọc được: " + "; ".join(reasons)
        )

    def _fail(self, job: Job, undo: Undo, reason: str) -> None:
        self._undo(undo)
        self.db.update_job(
            job.job, state="failed", message=f"Lỗi, chỉ mục giữ nguyên như trước: {reason}"
        )


def why(name: str, warnings: list[str]) -> str:
    """The build's reason for skipping `name`."""
    for line in warnings:
        _, found, reason = line.partition(f"skipped {name}: ")
        if found:
            return f"{name}: {reason}"
    return f"{name}: không rõ lý do"


def done_message(job: Job) -> str:
    files = ", ".join(job.files)
    if job.kind == "upload":
        return f"Đã thêm vào chỉ mục: {files}"
    if job.kind == "delete":
        return f"Đã xoá khỏi bộ tài liệu và chỉ mục: {files}"
    return "Đã lập chỉ mục lại toàn bộ"
