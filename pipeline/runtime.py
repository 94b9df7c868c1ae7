"""The processes of a run: a pool of document workers, and a lifeline that outlives nothing.

No document can take a run down with it. Each document is prepared (read, extracted,
segmented and, for a local run, embedded) in a worker process, a fresh ``python -m
pipeline.runtime`` that imports neither Prefect nor the store and sends back plain data: a
``Prepared``, carrying a reason code and a message when the document failed, never an
exception object. The pool watches every worker from outside: a document that runs past its
time budget or its memory budget has its worker killed and fails as ``timeout`` or
``too_large``; a worker that dies fails its document as ``crashed``; either way a fresh worker
takes its place and the run goes on.

Nothing a run starts outlives it. Workers ask the kernel to kill them when their parent dies
(``PR_SET_PDEATHSIG``). Processes started by libraries (Prefect's ephemeral server, Dask,
tesseract) cannot be asked, so a lifeline process watches the run: it keeps the list of the
run's descendants and, if the run dies without saying goodbye (SIGKILL included), kills them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.embed.onnx import THREADS_VARIABLE
from pipeline.errors import FailureReason, TriageError
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.ids import sha256_bytes
from pipeline.paths import path_text
from pipeline.timing import WORKER_START, process_age

if TYPE_CHECKING:
    from pipeline.domain import DocumentSource
    from pipeline.ingest import Prepared

WORKERS = 2  # document workers of a local run: one per core, each preparing and encoding
POLL_SECONDS = 0.05  # how often the pool looks at its workers' clocks and memory
PR_SET_PDEATHSIG = 1
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent dies (Linux), and exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


def resident_bytes(pid: int) -> int:
    """A process's resident memory, from /proc (0 where there is none)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


# -- the worker ------------------------------------------------------------------------------------------

def _worker_main(parent: int, jobs_fd: int, results_fd: int, embed: bool) -> None:
    """A worker's life: load the segmenter (and encoder) before any document's clock starts, then
    prepare one document after another until told to stop or its parent dies."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it stops the workers
    from pipeline.ingest import process_encoder, process_segmenter

    encoder = process_encoder() if embed else None
    if encoder is not None:
        encoder.encode(["warm"])  # builds the int8 model the first time on a machine, with torch
    keep_torch_out()
    segmenter = process_segmenter()
    segmenter.count_tokens("warm")  # spaCy and the tokenizer load now, not inside a document's budget
    segmenter.nlp  # noqa: B018
    started = {WORKER_START: process_age()}  # reported with the first document
    jobs, results = Connection(jobs_fd, writable=False), Connection(results_fd, readable=False)
    while True:
        try:
            job = jobs.recv()
        except EOFError:
            return
        if job is None:
            return
        index, source, limits = job
        results.send(("start", index))
        prepared = prepare_safely(source, limits, encoder)
        prepared.timings.update(started)
        started = {}
        results.send(("done", index, prepared))


def keep_torch_out() -> None:
    """Make ``import torch`` fail in this process from now on, unless it is already loaded.

    spaCy's thinc imports torch when it can (about 190 MB and a second or two per worker) though
    splitting sentences never uses it, and nothing else a worker does needs it once the int8 model
    is built.
    """
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]


def prepare_safely(source: DocumentSource, limits: Limits, encoder: object) -> Prepared:
    """Prepare one document; whatever goes wrong comes back as plain data with a reason code (a
    worker's or a cluster's result must never be an exception object: lxml's cannot be pickled)."""
    from pipeline.ingest import Prepared, prepare

    try:
        return prepare(source, limits, encoder=encoder)  # type: ignore[arg-type]
    except MemoryError:
        return _failed(source, FailureReason.TOO_LARGE, "ran out of memory while preparing it")
    except RecursionError:
        return _failed(source, FailureReason.TOO_LARGE, "nested too deeply to prepare")
    except Exception as e:  # a bug in bv-triage: name it and where, and let the run go on
        where = traceback.extract_tb(e.__traceback__)[-1]
        return Prepared(source, source_key(source), error_reason=FailureReason.INTERNAL_ERROR,
                        error=f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno})")


def source_key(source: DocumentSource) -> str:
    """A document's id: the sha256 of its bytes, or of its path when they cannot be read."""
    try:
        return sha256_bytes(source.path.read_bytes())
    except OSError:
        return sha256_bytes(path_text(source.path).encode())


def _failed(source: DocumentSource, reason: FailureReason, message: str) -> Prepared:
    from pipeline.ingest import Prepared

    return Prepared(source, source_key(source), error_reason=reason, error=message)


# -- the pool --------------------------------------------------------------------------------------------

@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    jobs: Connection
    results: Connection
    queued: deque[int] = field(default_factory=deque)  # job indexes sent, oldest first
    running: int | None = None  # the job it is working on
    started: float = 0.0
    began_any: bool = False  # it has started a job: it imports and runs

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        self.jobs.close()
        self.results.close()


class WorkerPool:
    """Worker processes that prepare documents in parallel, each within the limits' budgets.

    ``prepare`` yields the documents back in the order given, so runs store the same rows
    whatever the timing. A thread of the pool drives the workers (hands out jobs, collects
    results, enforces the budgets), so they keep working while the caller does something else:
    ``begin`` starts documents before the caller is ready to store them (a run starts its workers
    and its first documents while Prefect starts). The workers stay at most ``AHEAD`` documents
    ahead of the caller, so a run never holds a corpus in memory. Use the pool as a context
    manager: leaving it stops every worker.
    """

    # Documents prepared and not yet taken that the pool may hold: enough to keep the workers busy through
    # Prefect's start (a few MB of passages and vectors), few enough to keep a corpus out of memory.
    AHEAD = 32

    def __init__(self, workers: int = 2, limits: Limits = DEFAULT_LIMITS, embed: bool = True) -> None:
        self.size = max(1, workers)
        self.limits = limits
        self.embed = embed
        self.workers: list[_Worker] = []
        self.replaced = 0  # workers killed or dead and started again
        self._stillborn = 0  # workers in a row that died before starting any job
        self._sources: list[DocumentSource] = []
        self._done: dict[int, Prepared] = {}
        self._taken = 0  # documents handed to the caller
        self._error: BaseException | None = None
        self._stopping = False
        self._changed = threading.Condition()
        self._driver: threading.Thread | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers (``prepare`` does when it has work; earlier, they import while the caller works)."""
        while len(self.workers) < self.size:
            self.workers.append(self._spawn())

    def close(self) -> None:
        self._stop_driver()
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.jobs.send(None)
        deadline = time.monotonic() + 5
        for worker in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            worker.kill()
        self.workers = []

    @property
    def ready(self) -> int:
        """Documents prepared and not yet taken."""
        with self._changed:
            return len(self._done)

    def begin(self, sources: list[DocumentSource]) -> None:
        """Start preparing these documents now; ``prepare`` with the same list then takes them."""
        if self._driver is not None:
            raise RuntimeError("this pool is already preparing documents")
        self.start()
        self._sources, self._done, self._taken, self._error = list(sources), {}, 0, None
        self._driver = threading.Thread(target=self._drive, name="document-workers", daemon=True)
        self._driver.start()

    def prepare(self, sources: list[DocumentSource]) -> Iterator[Prepared]:
        """Prepare every source; yield each result in the order given, as soon as it and all before it are in."""
        if not sources:
            return
        if self._driver is None or self._sources != sources:
            self._stop_driver()
            self.begin(sources)
        while self._taken < len(sources):
            with self._changed:
                while self._taken not in self._done and self._error is None:
                    self._changed.wait()
                if self._error is not None:
                    raise self._error
                prepared = self._done.pop(self._taken)
                self._taken += 1
                self._changed.notify_all()
            yield prepared
        self._stop_driver()

    def _stop_driver(self) -> None:
        """Let the driving thread end (its documents are done, or not wanted after all)."""
        if self._driver is None:
            return
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._driver.join()
        self._driver, self._stopping = None, False
        if any(worker.queued for worker in self.workers):  # jobs of documents not wanted: start afresh
            for worker in self.workers:
                worker.kill()
            self.workers = []

    def _drive(self) -> None:
        """The pool's thread: hand out jobs and collect results until every document is in or the pool stops."""
        waiting = deque(range(len(self._sources)))
        try:
            while not self._stopping and len(self._done) + self._taken < len(self._sources):
                self._dispatch(self._sources, waiting)
                self._collect(self._sources, waiting, self._done)
        except BaseException as e:  # a pool that cannot go on (workers that never start): the caller raises it
            with self._changed:
                self._error = e
                self._changed.notify_all()

    def _dispatch(self, sources: list[DocumentSource], waiting: deque[int]) -> None:
        """Keep two jobs with each worker (one running, one ready, so none waits for this process), and no
        more than ``AHEAD`` documents beyond what the caller has taken."""
        for worker in self.workers:
            while waiting and len(worker.queued) < 2 and waiting[0] < self._taken + self.AHEAD:
                index = waiting.popleft()
                worker.queued.append(index)
                try:
                    worker.jobs.send((index, sources[index], self.limits))
                except OSError:  # it died idle: its results pipe will say so
                    break

    def _collect(self, sources: list[DocumentSource], waiting: deque[int], done: dict[int, Prepared]) -> None:
        ready = wait([w.results for w in self.workers if w.queued], timeout=POLL_SECONDS)
        for worker in list(self.workers):
            if worker.results in ready:
                self._receive(worker, sources, waiting, done)
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.running is None:
                continue
            if now - worker.started > self.limits.seconds:
                self._replace(worker, sources, waiting, done, FailureReason.TIMEOUT,
                              f"preparing it took longer than its budget of {self.limits.seconds:g} s")
                continue
            if resident_bytes(worker.process.pid) > self.limits.memory_bytes:
                self._replace(worker, sources, waiting, done, FailureReason.TOO_LARGE,
                              f"preparing it took more than its memory budget of "
                              f"{self.limits.memory_bytes // 2**20:,} MB")

    def _receive(self, worker: _Worker, sources: list[DocumentSource], waiting: deque[int],
                 done: dict[int, Prepared]) -> None:
        try:
            message = worker.results.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            try:
                code = worker.process.wait(2)
            except subprocess.TimeoutExpired:  # alive but talking nonsense: it is killed below
                code = None
            how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit status {code}"
            self._replace(worker, sources, waiting, done, FailureReason.CRASHED,
                          f"the process preparing it died ({how})")
            return
        if message[0] == "start":
            worker.running, worker.started, worker.began_any = message[1], time.monotonic(), True
            self._stillborn = 0
        else:
            _, index, prepared = message
            worker.queued.remove(index)
            worker.running = None
            with self._changed:
                done[index] = prepared
                self._changed.notify_all()

    def _replace(self, worker: _Worker, sources: list[DocumentSource], waiting: deque[int],
                 done: dict[int, Prepared], reason: FailureReason, message: str) -> None:
        """Kill a worker, fail the document it was on, give its other job back, start another worker."""
        worker.kill()
        if not worker.began_any:
            self._stillborn += 1
            if self._stillborn >= 3:
                raise TriageError(f"document workers die before starting any work ({message}); check the "
                                  "installation with `make setup`")
        failed = worker.running
        if failed is not None:
            with self._changed:
                done[failed] = _failed(sources[failed], reason, message)
                self._changed.notify_all()
        waiting.extendleft(reversed([i for i in worker.queued if i != failed]))
        self.workers[self.workers.index(worker)] = self._spawn()
        self.replaced += 1

    def _spawn(self) -> _Worker:
        jobs_read, jobs_write = os.pipe()
        results_read, results_write = os.pipe()
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.runtime", "worker", str(os.getpid()), str(jobs_read),
             str(results_write), "embed" if self.embed else "no-embed"],
            pass_fds=(jobs_read, results_write), stdin=subprocess.DEVNULL,
            env={**os.environ, THREADS_VARIABLE: "1"},  # one core per worker: the workers fill the machine
        )
        os.close(jobs_read)
        os.close(results_write)
        return _Worker(process, Connection(jobs_write, readable=False), Connection(results_read, writable=False))


_OFFERED: ContextVar[WorkerPool | None] = ContextVar("bv_triage_offered_pool", default=None)


@contextlib.contextmanager
def offered(pool: WorkerPool) -> Iterator[WorkerPool]:
    """Offer a pool started before the flow to the flow that runs inside this block: a run starts its
    workers and its first documents first, so they load and work while Prefect starts."""
    token = _OFFERED.set(pool)
    try:
        yield pool
    finally:
        _OFFERED.reset(token)


def offered_pool() -> WorkerPool | None:
    """The pool offered by the caller of the running flow, if any (the flow does not close it)."""
    return _OFFERED.get()


# -- the lifeline ----------------------------------------------------------------------------------------

def _processes() -> dict[int, tuple[int, int]]:
    """Every process: pid -> (parent pid, start time in clock ticks), from /proc."""
    found: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            found[int(entry)] = (int(fields[1]), int(fields[19]))
    return found


def _group(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


def descendants(pid: int, processes: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """Every living descendant of a process: pid -> start time (so a reused pid is never mistaken for it)."""
    processes = _processes() if processes is None else processes
    children: dict[int, list[int]] = {}
    for child, (parent, _) in processes.items():
        children.setdefault(parent, []).append(child)
    found: dict[int, int] = {}
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found[child] = processes[child][1]
                stack.append(child)
    return found


def _lifeline_main(parent: int, signal_fd: int) -> None:
    """Watch the run: remember its descendants; if it dies without saying goodbye, kill them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me = os.getpid()
    own_group = os.getpgid(parent) == parent  # the run leads its process group (a shell job): all of it is the run's
    known: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([signal_fd], [], [], 0.25)
        if readable:
            if os.read(signal_fd, 1) == b"":  # the run's end of the pipe closed without goodbye: it died
                break
            return  # goodbye: the run ends normally and stops its own processes
        if os.getppid() != parent:
            break
        known.update(descendants(parent))
        known.pop(me, None)
    processes = _processes()
    for pid in list(known):  # what they started since the last look, now orphaned
        known.update(descendants(pid, processes))
    if own_group:  # and what the run started in its last quarter second
        known.update({pid: started for pid, (_, started) in processes.items() if _group(pid) == parent})
    for pid, started in known.items():
        if pid != me and processes.get(pid, (0, -1))[1] == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


class Lifeline:
    """Start one per run, in the run's process: if the run dies, what it started dies too."""

    def __init__(self) -> None:
        read, self._write = os.pipe()
        self.process = subprocess.Popen([sys.executable, "-m", "pipeline.runtime", "lifeline", str(os.getpid()),
                                         str(read)], pass_fds=(read,), stdin=subprocess.DEVNULL)
        os.close(read)

    def __enter__(self) -> Lifeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, b"g")
            os.close(self._write)
        self.process.wait()


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        _worker_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "embed")
    elif sys.argv[1] == "lifeline":
        _lifeline_main(int(sys.argv[2]), int(sys.argv[3]))
