"""Parse workers: every file is read and chunked in a separate process with limits, so a hostile file costs
one worker, not the run (or the server).

A ``ParsePool`` keeps a few worker processes (``spawn`` start method: nothing of the parent's state, no
embedding model) that stay up from file to file and job to job; a worker is replaced only after it breaks a
limit or dies. Each worker, once its imports are done, limits itself:

- address space (``RLIMIT_AS``): what it holds when ready plus ``max_mb``;
- processor time (``RLIMIT_CPU``): ``cpu_seconds`` more for each file (the kernel ends it with SIGXCPU);
- the parent kills it after ``wall_seconds`` on one file;
- a result (document and passages, pickled) over ``max_output_mb`` is not sent.

A breach skips only that file, as ``UnreadableDocument`` with a reason a person understands ("stopped: it
needed more than 1 GB of memory to read (FOOTNOTE_PARSE_MAX_MB)"); the run goes on with the other files.
``workers=0`` parses in the calling process, without limits (debugging only).

The caller's ``on_progress`` is also called every ``HEARTBEAT`` seconds while files are read: an exception
it raises (a job cancelled or out of time) kills the busy workers and ends the call.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from footnote.errors import DocumentError, FootnoteError, UnreadableDocument
from footnote.ingest.guards import GuardLimits
from footnote.ingest.models import Document, Passage
from footnote.ingest.ocr import OcrOptions
from footnote.ingest.tokens import WordPieces

HEARTBEAT = 0.25  # seconds between progress calls while a file is read
# A pool none of whose workers is ready by then is a failure of the set-up, not of a file. Generous: a fresh
# interpreter importing PyMuPDF on two busy cores has taken minutes.
START_SECONDS = 300.0
_MB = 1 << 20
_PEAK_SLACK = 64 * _MB  # a failure within this of the address-space limit is taken as the limit's doing


@dataclass(frozen=True)
class ParseLimits:
    """What one file may cost its worker (``footnote.settings``: ``FOOTNOTE_PARSE_*``)."""

    workers: int = 2
    max_mb: int = 1024
    cpu_seconds: int = 120
    wall_seconds: float = 120.0
    max_output_mb: int = 256
    guards: GuardLimits = field(default_factory=GuardLimits)


@dataclass(frozen=True)
class ParseTask:
    """One file to read and chunk."""

    path: Path
    root: Path | None
    chunk_tokens: int = 160
    overlap: int = 0
    word_pieces: WordPieces = field(default_factory=WordPieces)
    ocr: OcrOptions | None = None  # how scanned PDF pages are OCRed (None: not at all)


Parsed = tuple[Document, list[Passage]]
Outcome = Parsed | DocumentError
OnProgress = Callable[[int, int], Any]


def _size(mb: float) -> str:
    return f"{mb / 1024:g} GB" if mb >= 1024 else f"{mb:g} MB"


def memory_reason(limits: ParseLimits) -> str:
    return f"stopped: it needed more than {_size(limits.max_mb)} of memory to read (FOOTNOTE_PARSE_MAX_MB)"


def cpu_reason(limits: ParseLimits) -> str:
    return (f"stopped: it needed more than {limits.cpu_seconds} s of processor time to read "
            "(FOOTNOTE_PARSE_CPU_SECONDS)")


def wall_reason(limits: ParseLimits) -> str:
    return f"stopped: reading it took more than {limits.wall_seconds:g} s (FOOTNOTE_PARSE_WALL_SECONDS)"


def output_reason(limits: ParseLimits) -> str:
    return (f"stopped: its text and passages came to more than {_size(limits.max_output_mb)} "
            "(FOOTNOTE_PARSE_MAX_OUTPUT_MB)")


def crash_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"stopped: the reader crashed on it ({name})"
    return f"stopped: the reader crashed on it (exit status {exitcode})"


def _name(task: ParseTask) -> str:
    from footnote.ingest.documents import _relative

    return _relative(Path(task.path), task.root)


def parse_and_chunk(task: ParseTask, guards: GuardLimits | None = None) -> Parsed:
    """Read and chunk one file here, in this process (what a worker runs)."""
    from footnote.ingest import chunk, parse
    from footnote.ingest import guards as guard_module

    with guard_module.limits(guards or GuardLimits()):
        document = parse(task.path, task.root, task.ocr)
        try:
            passages = chunk(document, task.chunk_tokens, task.overlap, task.word_pieces)
        except DocumentError:
            raise
        except RecursionError as exc:
            raise UnreadableDocument(document.path, f"cannot split into passages ({type(exc).__name__})") from exc
    return document, passages


# --- the worker process ------------------------------------------------------------------------------------

def _vm_bytes(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii", errors="replace") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(conn: Connection, limits: ParseLimits) -> None:  # pragma: no cover - runs in the worker process
    """A worker's life: warm up, limit itself, then read files until told to stop."""
    sys.modules["sentence_transformers"] = None  # type: ignore[assignment]  # the model never loads here
    from footnote.ingest import chunk, parse  # noqa: F401 - imported before the limit, like the tokenizers
    from footnote.ingest.tokens import count_tokens

    count_tokens("warm up")
    WordPieces().count("warm up")
    ceiling = _vm_bytes("VmSize") + limits.max_mb * _MB
    near = ceiling - min(_PEAK_SLACK, limits.max_mb * _MB // 8)  # a new peak past this, after a failure: the limit's
    peak = _vm_bytes("VmPeak")
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, resource.getrlimit(resource.RLIMIT_AS)[1]))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message == "modules":
            conn.send(("modules", sorted(name for name, mod in sys.modules.items() if mod is not None)))
            continue
        task: ParseTask = message
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = int(_cpu_used()) + limits.cpu_seconds + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        try:
            result: object = parse_and_chunk(task, limits.guards)
        except MemoryError:
            result = ("memory",)
        except DocumentError as exc:
            result = exc
        except Exception as exc:  # noqa: BLE001 - the file's problem, reported as such
            result = UnreadableDocument(_name(task), f"cannot read ({type(exc).__name__}: {exc})"[:240])
        if not isinstance(result, tuple) and (_vm_bytes("VmPeak") >= max(near, peak + 1) or _out_of_memory(result)):
            result = ("memory",)  # a C library's failed allocation reported as its own error
        if result == ("memory",):
            with contextlib.suppress(OSError):
                conn.send(("memory",))
            return  # a fresh worker for the next file
        try:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            with contextlib.suppress(OSError):
                conn.send(("memory",))
            return
        if len(payload) > limits.max_output_mb * _MB:
            conn.send(("output",))
            continue
        conn.send_bytes(payload)
        if _vm_bytes("VmPeak") >= near:
            return  # came close to the limit: a fresh worker (fresh peak) reads the next file


def _out_of_memory(error: object) -> bool:
    """Whether a ``MemoryError`` is behind ``error`` (``parse`` reports any parser failure as its own)."""
    seen = 0
    while isinstance(error, BaseException) and seen < 20:
        if isinstance(error, MemoryError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def main() -> None:  # pragma: no cover - the worker process: ``python -c "...main()" FD``
    """A worker's entry point: the socket's descriptor is the last argument, the limits its first message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    conn = Connection(int(sys.argv[-1]))
    limits: ParseLimits = conn.recv()
    try:
        _serve(conn, limits)
    except MemoryError:
        with contextlib.suppress(Exception):
            conn.send(("memory",))


# --- the pool, in the parent -------------------------------------------------------------------------------

class _Worker:
    """One worker: a fresh interpreter (nothing inherited but the environment) and a socket to it."""

    def __init__(self, limits: ParseLimits) -> None:
        mine, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from footnote.ingest.worker import main; main()", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True)
        self.conn = Connection(mine.detach())
        self.conn.send(limits)
        self.ready = False
        self.started = time.monotonic()
        self.task: int | None = None  # index of the task it reads
        self.deadline = 0.0

    def alive(self) -> bool:
        return self.process.poll() is None

    def exitcode(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        return self.process.returncode

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerStartFailed(FootnoteError):
    """The parse workers could not start (the machine, not a file)."""


class ParsePool:
    """A few persistent parse workers. ``run`` is one batch of files; one batch at a time."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the workers now (they warm up while the caller does other work)."""
        with self._lock:
            self._fill()

    def _fill(self) -> None:
        self._workers = [w for w in self._workers if w.alive() or not w.ready]
        while len(self._workers) < max(1, self.limits.workers):
            self._workers.append(_Worker(self.limits))

    def close(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.stop()
            self._workers = []

    def modules(self) -> list[str]:
        """The modules loaded in a ready worker (tests: no embedding model, no torch)."""
        results = self.run([])
        del results
        with self._lock:
            worker = self._workers[0]
            worker.conn.send("modules")
            return list(worker.conn.recv()[1])

    def run(self, tasks: Sequence[ParseTask], on_progress: OnProgress | None = None) -> list[Outcome]:
        """Each task's document and passages, or the ``DocumentError`` that skips it, in task order."""
        with self._lock:
            return self._run(tasks, on_progress)

    def _run(self, tasks: Sequence[ParseTask], on_progress: OnProgress | None) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        pending = list(range(len(tasks)))[::-1]
        self._fill()
        last_beat = 0.0
        try:
            while True:
                now = time.monotonic()
                if not tasks and all(w.ready for w in self._workers):
                    break
                for worker in self._workers:
                    if worker.ready and worker.task is None and pending:
                        worker.task = pending.pop()
                        worker.deadline = now + self.limits.wall_seconds
                        try:
                            worker.conn.send(tasks[worker.task])
                        except OSError:
                            pass  # it died: found below
                    elif (not worker.ready and now - worker.started > START_SECONDS
                          and not any(w.ready for w in self._workers)):
                        raise WorkerStartFailed(f"no parse worker started within {START_SECONDS:g} s")
                if len(outcomes) == len(tasks) and tasks:
                    break
                deadlines = [w.deadline for w in self._workers if w.task is not None]
                timeout = min([HEARTBEAT, *(d - now for d in deadlines)])
                ready = wait([w.conn for w in self._workers], timeout=max(0.0, timeout))
                now = time.monotonic()
                for worker in list(self._workers):
                    if worker.conn in ready:
                        self._receive(worker, tasks, outcomes)
                    elif worker.task is not None and now >= worker.deadline:
                        outcomes[worker.task] = UnreadableDocument(_name(tasks[worker.task]),
                                                                   wall_reason(self.limits))
                        self._replace(worker)
                if on_progress is not None and (now - last_beat >= HEARTBEAT or ready):
                    last_beat = now
                    on_progress(len(outcomes), len(tasks))
        except BaseException:
            for worker in list(self._workers):
                if worker.task is not None or not worker.alive():
                    self._replace(worker)
            raise
        return [outcomes[i] for i in range(len(tasks))]

    def _receive(self, worker: _Worker, tasks: Sequence[ParseTask], outcomes: dict[int, Outcome]) -> None:
        message: object
        try:
            if not worker.conn.poll():
                raise EOFError
            payload = worker.conn.recv_bytes()
            message = pickle.loads(payload)  # noqa: S301 - our own worker's bytes
        except (EOFError, OSError):
            message = ("died",)
        if isinstance(message, tuple) and message and message[0] == "ready":
            worker.ready = True
            return
        index = worker.task
        worker.task = None
        if index is None:  # died while starting or idle
            if message == ("died",) and not worker.ready:
                code = worker.exitcode()
                self._replace(worker)
                raise WorkerStartFailed(f"a parse worker failed to start ({crash_reason(code)})")
            self._replace(worker)
            return
        name = _name(tasks[index])
        if message == ("memory",):
            outcomes[index] = UnreadableDocument(name, memory_reason(self.limits))
            self._replace(worker)
        elif message == ("output",):
            outcomes[index] = UnreadableDocument(name, output_reason(self.limits))
        elif message == ("died",):
            code = worker.exitcode()
            if code == -signal.SIGXCPU:
                outcomes[index] = UnreadableDocument(name, cpu_reason(self.limits))
            elif code == -signal.SIGKILL:
                outcomes[index] = UnreadableDocument(name, memory_reason(self.limits))
            else:
                outcomes[index] = UnreadableDocument(name, crash_reason(code))
            self._replace(worker)
        elif isinstance(message, DocumentError) or (isinstance(message, tuple) and len(message) == 2):
            outcomes[index] = message
        else:
            outcomes[index] = UnreadableDocument(name, "stopped: the reader sent something unexpected")
            self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)
        self._workers.append(_Worker(self.limits))


_shared: ParsePool | None = None
_shared_lock = threading.Lock()


def shared_pool(limits: ParseLimits) -> ParsePool:
    """The process's pool for these limits: started once and kept (a server's jobs, a CLI run's files)."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.limits != limits:
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = ParsePool(limits)
        return _shared


@atexit.register
def close_shared_pool() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


def parse_files(tasks: Sequence[ParseTask], limits: ParseLimits | None = None,
                on_progress: OnProgress | None = None) -> list[Outcome]:
    """Read and chunk ``tasks`` under ``limits`` (None: the defaults), in the shared pool; in order."""
    limits = limits or ParseLimits()
    if limits.workers <= 0:
        outcomes: list[Outcome] = []
        for done, task in enumerate(tasks):
            if on_progress is not None:
                on_progress(done, len(tasks))
            try:
                outcomes.append(parse_and_chunk(task, limits.guards))
            except DocumentError as exc:
                outcomes.append(exc)
        return outcomes
    if not tasks:
        return []
    return shared_pool(limits).run(tasks, on_progress)
