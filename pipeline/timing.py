"""Where a run's time goes: phases timed by clocks in the code, summed per phase.

A run's process keeps one ``Budget`` and wraps each stage in ``budget.phase(name)``; the document
workers time their own stages per document and the run adds them up (``add_all``). The run's
phases are wall time of its own process and add up to the run; the workers' are busy seconds of
all of them together (two workers busy for the whole run give twice its wall time). ``triage run
--timings`` prints both and the run's record in the database keeps them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

# The phases of a run, in the order they happen; the names are what reports print.
IMPORTS = "interpreter and imports"
PLANNING = "finding and planning documents"
PREFECT = "Prefect: start, tasks, finish"
WAITING = "waiting for prepared documents"
CLASSIFICATION = "classification"
WRITES = "writes and indexes"
SUMMARY = "summary"
RUN_PHASES = (IMPORTS, PLANNING, PREFECT, WAITING, CLASSIFICATION, WRITES, SUMMARY)

WORKER_START = "worker start: interpreter, imports, models"
READING = "reading"
EXTRACTION = "extraction"
SEGMENTATION = "segmentation"
ENCODING = "encoding"
WORKER_PHASES = (WORKER_START, READING, EXTRACTION, SEGMENTATION, ENCODING)


class Budget:
    """Seconds per phase. Cheap (two clock reads a phase) and safe to add to from several threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def add_all(self, seconds: Mapping[str, float]) -> None:
        for name, value in seconds.items():
            self.add(name, value)

    def total(self) -> float:
        return sum(self.seconds.values())

    def as_dict(self) -> dict[str, float]:
        """The phases in the order they happen (known ones first), rounded to milliseconds."""
        order = {name: i for i, name in enumerate(RUN_PHASES + WORKER_PHASES)}
        with self._lock:
            items = sorted(self.seconds.items(), key=lambda item: order.get(item[0], len(order)))
        return {name: round(value, 3) for name, value in items}


def process_age() -> float:
    """Seconds since this process started (the interpreter's own start-up included), from /proc;
    0 where there is no /proc."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            started_ticks = int(handle.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
