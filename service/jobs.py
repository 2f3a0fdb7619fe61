"""Background ingest jobs for uploads and deletes: one at a time, journaled, retried after a crash.

An upload's files are staged under ``<uploads>/.incoming/<job>/`` (hidden, so an ingest running meanwhile
never sees a half-written file) and the job is queued. The one worker thread moves them into the uploads
folder, runs the ordinary incremental ingest (``index.build.update_index``) over the corpus sources and the
uploads folder, and swaps the new index in (``IndexHolder.refresh``) before the job says ``done``. A delete
moves the file to ``<uploads>/.removed/<job>/`` and deletes it only once the new index is published. A job
that fails puts the folder back as it was, so the folder always matches the index being served.

Every state change is written to ``<uploads>/.jobs/<job>.json``. At start-up a job that is neither done nor
failed was cut short by a crash or kill: the index it was building was never published (``index.versions``
switches atomically), so the old one still serves, and the job runs again; a job cut short twice is failed
and undone.

Staging left behind (a kill while files were being staged, a job that ended) is removed at start-up and when
its job ends. A journal file is written only for a job that was queued (an upload with nothing to ingest is
answered and remembered in memory only), and finished jobs beyond ``KEEP_JOURNALS`` are trimmed as jobs end.
An upload and a delete of the same document run in the order they came: an upload while that document's
delete is pending is staged and queued behind the delete (it is not "identical, already added").
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from footnote.errors import FootnoteError, IndexBusy, IndexError_, NotFound, NothingIngested, ReadOnlyDocument
from footnote.index import versions
from footnote.index.embed import file_sha256
from footnote.index.manifest import Manifest, read_manifest
from footnote.service.names import NameBook
from footnote.settings import Settings

if TYPE_CHECKING:
    from footnote.index.build import UpdateReport
    from footnote.service.state import IndexHolder

log = logging.getLogger("footnote.service")

MAX_ATTEMPTS = 2  # runs a job gets; one cut short by a crash is retried once
KEEP_JOURNALS = 200  # finished jobs remembered across restarts
BUSY_WAIT_SECONDS = 300.0  # how long a job waits for a `footnote ingest` holding the writer lock


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FileResult(BaseModel):
    """One file of a job: what became of it."""

    name: str = Field(description="The file name as sent (a delete: the document's file).")
    stored_as: str | None = Field(default=None, description="Its name in the uploads folder, made safe and unique.")
    status: Literal["waiting", "ingested", "skipped", "removed"]
    reason: str | None = Field(default=None, description="Why it was skipped, as ingest says it.")
    doc_id: str | None = None
    passages: int | None = None
    sha256: str | None = None


class Job(BaseModel):
    """An upload or a delete and the ingest it runs."""

    id: str
    kind: Literal["upload", "delete", "sync"]  # sync: a change in a watched corpus folder (service.watch)
    state: Literal["queued", "parsing", "embedding", "done", "failed"]
    created: str
    finished: str | None = None
    files: list[FileResult]
    files_done: int = Field(default=0, description="Files read so far by the ingest (parsing).")
    files_total: int = 0
    passages_done: int = Field(default=0, description="Passages embedded so far, their sentences included (embedding).")
    passages_total: int = 0
    index_version: str | None = Field(default=None, description="The index version serving when the job finished.")
    error: str | None = None
    attempts: int = 0
    note: str | None = None


class JobStopped(FootnoteError):
    """A job ended before its index was published: cancelled, or past ``FOOTNOTE_JOB_TIMEOUT_SECONDS``."""


class JobRunner:
    """The queue of jobs and the one thread that runs them.

    A job runs for ``job_timeout_seconds`` at most: past it, it fails with that reason on that run (its files
    are read in the parse workers, which a hostile file cannot stall for longer than their own limits, so the
    check is made while files are read and between embedding slices). ``cancel`` ends a queued job at once
    and a running one at its next check; a job whose new index is being published finishes.
    """

    def __init__(self, holder: IndexHolder, settings: Settings) -> None:
        self.holder = holder
        self.settings = settings
        self.index_dir: Path = holder.index_dir
        self.uploads: Path = versions.uploads_dir(self.index_dir)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._running: str | None = None  # the job being run
        self._stop: dict[str, str] = {}  # job id -> why it must stop (cancelled)
        # Called with a deleted document's sha256 once its job is done (the app drops its rendered pages).
        self.on_removed: Callable[[str], object] | None = None

    # -- folders ------------------------------------------------------------------------------------

    def _incoming(self, job_id: str) -> Path:
        return self.uploads / ".incoming" / job_id

    def _removed(self, job_id: str) -> Path:
        return self.uploads / ".removed" / job_id

    def _journal(self, job_id: str) -> Path:
        return self.uploads / ".jobs" / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        path = self._journal(job.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(job.model_dump_json(), encoding="utf-8")
        os.replace(tmp, path)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Reload the journal, queue again what a crash cut short, remove staging no job needs, and start
        the worker."""
        for job in self._read_journal():
            self._jobs[job.id] = job
            if job.state in ("done", "failed"):
                continue
            if job.attempts >= MAX_ATTEMPTS:
                self._undo(job)
                self._finish(job, "failed", error="the server stopped during this job twice; nothing was changed")
                continue
            job.state, job.note = "queued", "the server stopped during this job; it runs again"
            self._save(job)
            self._queue.put(job.id)
        self._remove_leftovers()
        self._thread = threading.Thread(target=self._work, name="footnote-ingest-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _remove_leftovers(self) -> None:
        """Staging (``.incoming/<job>``) and trash (``.removed/<job>``) of jobs that are not queued: what a kill
        during staging left, or a job that ended before it could clean up."""
        live = {job.id for job in self._jobs.values() if job.state not in ("done", "failed")}
        for folder in (self.uploads / ".incoming", self.uploads / ".removed"):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.name in live:
                    continue
                log.info("removing %s, left by an upload or delete that did not finish", entry)
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()

    def _trim(self) -> None:
        """Forget finished jobs beyond ``KEEP_JOURNALS``, oldest first, in memory and on disk (hold the lock)."""
        finished = [job for job in self._jobs.values() if job.state in ("done", "failed")]
        for job in finished[:max(0, len(finished) - KEEP_JOURNALS)]:
            del self._jobs[job.id]
            with contextlib.suppress(OSError):
                self._journal(job.id).unlink()

    def _read_journal(self) -> list[Job]:
        folder = self.uploads / ".jobs"
        if not folder.is_dir():
            return []
        jobs: list[tuple[Path, Job]] = []
        for path in folder.glob("*.json"):
            try:
                jobs.append((path, Job.model_validate_json(path.read_bytes())))
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable job file %s: %s", path, exc)
        jobs.sort(key=lambda pair: (pair[1].created, pair[0].name))
        finished = [pair for pair in jobs if pair[1].state in ("done", "failed")]
        for path, _job in finished[:max(0, len(finished) - KEEP_JOURNALS)]:
            with contextlib.suppress(OSError):
                path.unlink()
        return [job for path, job in jobs if path.exists()]

    # -- submitting ---------------------------------------------------------------------------------

    def submit_upload(self, files: list[tuple[str, IO[bytes]]]) -> Job:
        """Stage ``files`` (name as sent, readable binary file) and queue their ingest."""
        job = Job(id=secrets.token_hex(8), kind="upload", state="queued", created=_now(), files=[])
        with self._lock:
            # A document whose delete is queued is gone by the time this job runs (the queue keeps order):
            # its name and bytes are free again, so the same file uploaded now is added back, not "identical".
            leaving = {f.stored_as for j in self._jobs.values() if j.kind == "delete"
                       and j.state not in ("done", "failed") for f in j.files}
            entries = [e for e in self._entries() if e.get("root") != str(self.uploads.resolve())
                       or str(e.get("path")) not in leaving]
            book = NameBook(entries, [(f.stored_as, f.sha256) for f in self._active_files()
                                      if f.stored_as and f.status == "waiting" and f.stored_as not in leaving])
            staging = self._incoming(job.id)
            try:
                self._stage(job, files, book, staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            if not any(f.status == "waiting" for f in job.files):
                shutil.rmtree(staging, ignore_errors=True)
                self._jobs[job.id] = job
                self._finish(job, "done", note="nothing to ingest", persist=False)
                return job
            self._jobs[job.id] = job
            self._save(job)
        self._queue.put(job.id)
        return job

    def _stage(self, job: Job, files: list[tuple[str, IO[bytes]]], book: NameBook, staging: Path) -> None:
        """Copy each file into ``staging`` under the name it will have, or mark it skipped (hold the lock)."""
        from footnote.ingest.documents import unsupported_reason
        from footnote.ingest.loaders import FORMATS

        for raw_name, handle in files:
            name = book.safe(raw_name)
            result = FileResult(name=raw_name, status="waiting")
            job.files.append(result)
            if Path(name).suffix.lower() not in FORMATS:
                result.status, result.reason = "skipped", unsupported_reason(Path(name))
                continue
            staging.mkdir(parents=True, exist_ok=True)
            tmp = staging / f".part-{len(job.files)}"
            with tmp.open("wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
            result.sha256 = file_sha256(tmp)
            if tmp.stat().st_size == 0:
                result.status, result.reason = "skipped", "empty file"
                tmp.unlink()
                continue
            same = book.same_content(result.sha256)
            if same is not None:
                result.status, result.reason = "skipped", f"identical to {same}, already added"
                tmp.unlink()
                continue
            result.stored_as = book.claim(name, result.sha256)
            os.replace(tmp, staging / result.stored_as)

    def submit_delete(self, doc_id: str) -> Job:
        """Queue the removal of an uploaded document; corpus documents are read-only here."""
        entries = self._entries()
        entry = next((e for e in entries if e.get("doc_id") == doc_id), None)
        if entry is None:
            from footnote.ingest.documents import slug

            with self._lock:
                adding = next((j for j in self._jobs.values() if j.kind == "upload" and j.state not in
                               ("done", "failed") and any(f.status == "waiting" and f.stored_as
                                                          and slug(f.stored_as) == doc_id for f in j.files)), None)
            if adding is not None:  # refused, not "not found": the upload would land after the delete ran
                raise ReadOnlyDocument(f"{doc_id!r} is still being added by upload job {adding.id}: delete it once "
                                       f"that job is done (GET /jobs/{adding.id})")
            raise NotFound(f"no document with id {doc_id!r}: GET /documents lists them")
        if entry.get("root") != str(self.uploads.resolve()):
            raise ReadOnlyDocument(
                f"{doc_id!r} is part of the corpus folder ({entry.get('path')}), which is read-only here: only "
                "uploaded documents can be deleted; remove the file from the folder and run `footnote ingest`")
        if len(entries) <= 1:
            raise ReadOnlyDocument(f"{doc_id!r} is the only document: the index cannot be empty")
        stored = str(entry["path"])
        with self._lock:
            pending = next((j for j in self._jobs.values() if j.kind == "delete" and j.state not in
                            ("done", "failed") and j.files[0].stored_as == stored), None)
            if pending is not None:
                return pending
            job = Job(id=secrets.token_hex(8), kind="delete", state="queued", created=_now(),
                      files=[FileResult(name=stored, stored_as=stored, status="waiting", doc_id=doc_id,
                                        sha256=entry.get("sha256"))])
            self._jobs[job.id] = job
            self._save(job)
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFound(f"no job with id {job_id!r}: POST /documents returns one")
            return job.model_copy(deep=True)

    def recent(self, limit: int = 20) -> list[Job]:
        """The latest jobs, newest first."""
        with self._lock:
            jobs = list(reversed(self._jobs.values()))[:limit]  # kept in the order they were created
            return [j.model_copy(deep=True) for j in jobs]

    def _active_files(self) -> list[FileResult]:
        return [f for j in self._jobs.values() if j.state not in ("done", "failed") for f in j.files
                if f.status == "waiting"]

    def _manifest(self) -> Manifest | None:
        """The current version's manifest (not the one loaded: a CLI ingest may have published since)."""
        folder = versions.resolve(self.index_dir)
        if folder is None:
            return None
        try:
            return read_manifest(folder, self.index_dir)
        except IndexError_:
            return None

    def _entries(self) -> list[dict[str, Any]]:
        manifest = self._manifest()
        return list(manifest.documents) if manifest is not None else []

    # -- running ------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            job = self._jobs[job_id]
            if job.state in ("done", "failed"):  # cancelled while queued
                continue
            with self._lock:
                self._running = job_id
            try:
                self._run(job)
            except Exception as exc:  # the worker must outlive any one job
                if isinstance(exc, FootnoteError):
                    error = str(exc)
                else:
                    log.exception("ingest job %s failed", job.id)
                    error = "internal error: see the server log"
                if isinstance(exc, NothingIngested) and job.kind == "delete":
                    error = "the index cannot be empty: add another document first"
                self._undo(job)
                self._finish(job, "failed", error=error)
            finally:
                with self._lock:
                    self._running = None
                    self._stop.pop(job_id, None)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (``DELETE /jobs/{id}``): a queued one fails at once, a running one at
        its next check, before its index is published. A finished job is returned as it is."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFound(f"no job with id {job_id!r}: GET /jobs lists them")
            if job.state in ("done", "failed"):
                return job.model_copy(deep=True)
            if self._running == job_id:
                self._stop[job_id] = "cancelled (DELETE /jobs/{id}) while it ran; nothing was changed"
                job.note = "cancelling"
                return job.model_copy(deep=True)
            self._undo(job)
            self._finish(job, "failed", error="cancelled (DELETE /jobs/{id}) before it ran; nothing was changed")
            return job.model_copy(deep=True)

    def _check(self, job: Job, deadline: float) -> None:
        """Raise ``JobStopped`` when ``job`` was cancelled or is past its time limit."""
        reason = self._stop.get(job.id)
        if reason is not None:
            raise JobStopped(reason)
        if time.monotonic() > deadline:
            raise JobStopped(f"stopped: the job ran for more than {self.settings.job_timeout_seconds:g} s "
                             "(FOOTNOTE_JOB_TIMEOUT_SECONDS); nothing was changed")

    def _set(self, job: Job, **changes: Any) -> None:
        with self._lock:
            state_changed = "state" in changes and changes["state"] != job.state
            for key, value in changes.items():
                setattr(job, key, value)
            if state_changed:
                self._save(job)

    def _finish(self, job: Job, state: Literal["done", "failed"], *, error: str | None = None,
                note: str | None = None, persist: bool = True) -> None:
        """End ``job``; ``persist`` False: a job that never ran (nothing to ingest) is kept in memory only."""
        with self._lock:
            job.state, job.finished, job.error = state, _now(), error
            job.note = note or job.note
            job.index_version = self.holder.version
            if persist:
                self._save(job)
            self._trim()

    def _run(self, job: Job) -> None:
        self._set(job, attempts=job.attempts + 1)
        self._set(job, state="parsing")
        self.uploads.mkdir(parents=True, exist_ok=True)
        if job.kind == "upload":
            staging = self._incoming(job.id)
            for f in job.files:
                if f.status == "waiting" and f.stored_as and (staging / f.stored_as).exists():
                    os.replace(staging / f.stored_as, self.uploads / f.stored_as)
        elif job.kind == "delete":
            trash = self._removed(job.id)
            trash.mkdir(parents=True, exist_ok=True)
            stored = job.files[0].stored_as or ""
            if (self.uploads / stored).exists():
                os.replace(self.uploads / stored, trash / Path(stored).name)
        report = self._ingest(job)
        self.holder.refresh()  # the new index serves before the job says done
        self._record(job, report)
        if job.kind == "delete" and job.files[0].sha256 and self.on_removed is not None:
            self.on_removed(job.files[0].sha256)  # its rendered pages (service.render)
        shutil.rmtree(self._incoming(job.id) if job.kind == "upload" else self._removed(job.id), ignore_errors=True)
        self._finish(job, "done")

    def _sources(self) -> list[Path]:
        """What the index holds besides uploads: the paths its last ingest was given, else the corpus folder."""
        manifest = self._manifest()
        uploads = str(self.uploads.resolve())
        if manifest is not None and manifest.sources is not None:
            return [Path(p) for p in manifest.sources]
        if manifest is not None:  # an index from before sources were recorded: the roots it holds
            return sorted({Path(e["root"]) for e in manifest.documents if e.get("root") != uploads})
        corpus = Path(self.settings.corpus_dir)
        return [corpus] if corpus.exists() else []

    def _ingest(self, job: Job) -> UpdateReport:
        from footnote.index.build import update_from_settings

        deadline = time.monotonic() + self.settings.job_timeout_seconds

        def progress(stage: str, done: int, total: int) -> None:
            self._check(job, deadline)  # called while files are read (a few times a second) and per slice
            if stage == "parsing":
                self._set(job, state="parsing", files_done=done, files_total=total)
            else:
                self._set(job, state="embedding", passages_done=done, passages_total=total)

        waited = 0.0
        while True:
            try:
                return update_from_settings(
                    [*self._sources(), self.uploads], self.settings, index_dir=self.index_dir,
                    echo=lambda line: log.info("ingest job %s: %s", job.id, line), on_progress=progress,
                    keep_failed=self.settings.watch or job.kind == "sync")
            except IndexBusy:
                if waited >= BUSY_WAIT_SECONDS:
                    raise
                self._check(job, deadline)
                time.sleep(1.0)
                waited += 1.0

    def _record(self, job: Job, report: UpdateReport) -> None:
        """Per-file results from the published manifest; a skipped upload leaves the folder."""
        if job.kind == "sync":
            self._record_sync(job, report)
            return
        by_source = {e["source"]: e for e in self._entries()}
        skipped = {str(Path(shown).resolve()): why for shown, why in report.skipped}
        with self._lock:
            for f in job.files:
                if f.status != "waiting" or not f.stored_as:
                    continue
                path = (self.uploads / f.stored_as).resolve()
                if job.kind == "delete":
                    f.status = "removed"
                    continue
                entry = by_source.get(str(path))
                if entry is not None:
                    f.status, f.doc_id, f.passages = "ingested", entry["doc_id"], int(entry.get("passages", 0))
                else:
                    f.status, f.reason = "skipped", skipped.get(str(path), "not indexed")
                    with contextlib.suppress(OSError):
                        path.unlink()
            job.files_done = job.files_total
            job.passages_done = job.passages_total

    def _undo(self, job: Job) -> None:
        """Put the uploads folder back as the served index has it."""
        indexed = {e["source"] for e in self._entries()}
        for f in job.files:
            if not f.stored_as:
                continue
            path = self.uploads / f.stored_as
            if job.kind == "upload" and path.exists() and str(path.resolve()) not in indexed:
                with contextlib.suppress(OSError):
                    path.unlink()
            if job.kind == "delete":
                kept = self._removed(job.id) / Path(f.stored_as).name
                if kept.exists() and str(path.resolve()) in indexed:
                    os.replace(kept, path)
            if f.status == "waiting":
                f.status = "skipped"
                f.reason = "not added: the job failed" if job.kind == "upload" else "not removed: the job failed"
        shutil.rmtree(self._incoming(job.id), ignore_errors=True)
        shutil.rmtree(self._removed(job.id), ignore_errors=True)

    # -- a watched corpus folder (service.watch) ---------------------------------------------------

    def submit_sync(self, names: list[str]) -> Job:
        """Queue the ingest of changes in the corpus folder: ``names`` are the changed files' paths relative
        to their folder. A sync job still queued takes the new names instead of queueing another."""
        with self._lock:
            queued = next((j for j in self._jobs.values() if j.kind == "sync" and j.state == "queued"), None)
            if queued is not None:
                known = {f.name for f in queued.files}
                queued.files.extend(FileResult(name=n, status="waiting") for n in names if n not in known)
                self._save(queued)
                return queued.model_copy(deep=True)
            job = Job(id=secrets.token_hex(8), kind="sync", state="queued", created=_now(),
                      files=[FileResult(name=n, status="waiting") for n in names])
            self._jobs[job.id] = job
            self._save(job)
        self._queue.put(job.id)
        return job.model_copy(deep=True)

    def watched_folders(self) -> list[Path]:
        """The corpus paths the index is built from (not the uploads folder): what ``--watch`` watches."""
        return [path for path in self._sources() if path.exists()]

    def _record_sync(self, job: Job, report: UpdateReport) -> None:
        """Each changed file of a sync job: ingested, removed, or skipped with its reason (a file that no
        longer parses keeps its previous version, and its reason says so)."""
        by_source = {e["source"]: e for e in self._entries()}
        skipped = {str(Path(shown).resolve()): why for shown, why in report.skipped}
        folders = [p for p in self.watched_folders() if p.is_dir()]
        with self._lock:
            for f in job.files:
                if f.status != "waiting":
                    continue
                candidates = [(folder / f.name).resolve() for folder in folders]
                path = next((c for c in candidates if str(c) in by_source or str(c) in skipped), None)
                if path is None:
                    f.status = "removed" if not any(c.exists() for c in candidates) else "skipped"
                    f.reason = None if f.status == "removed" else "not indexed"
                    continue
                entry = by_source.get(str(path))
                if str(path) in skipped:
                    f.status, f.reason = "skipped", skipped[str(path)]
                    f.doc_id = entry["doc_id"] if entry is not None else None
                elif entry is not None:
                    f.status, f.doc_id, f.passages = "ingested", entry["doc_id"], int(entry.get("passages", 0))
                    f.sha256 = entry.get("sha256")
            job.files_done = job.files_total
            job.passages_done = job.passages_total
