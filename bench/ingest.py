"""End-to-end `triage run` in a fresh process: first ingest, re-run, and peak memory.

The re-run is compared with the first run, and also with the fixed cost of a run (the
interpreter, Prefect's ephemeral server, the model) measured on an empty folder.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure

TRIAGE = [sys.executable, "-m", "pipeline.cli"]


def _triage(*args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `triage` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([*TRIAGE, *args], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def run(name: str, folder: Path, authority: str | None) -> tuple[list[Figure], Path]:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    db = work / "bench.db"
    extra = ["--authority", authority] if authority else []
    empty = work / "empty"
    empty.mkdir()
    fixed, _ = _triage("run", str(empty), "--db", str(work / "fixed.db"), "--authority", "bench")
    first, peak = _triage("run", str(folder), "--db", str(db), *extra)
    again, _ = _triage("run", str(folder), "--db", str(db), *extra)
    overhead = max(again - fixed, 0.0)
    work_time = max(first - fixed, 1e-9)
    figures = [
        Figure(f"ingest ({name})", "first run, wall", first, "s", "fixed start-up cost (empty folder)", fixed,
               first / fixed),
        Figure(f"ingest ({name})", "re-run, wall", again, "s", "first run", first, first / again),
        Figure(f"ingest ({name})", "re-run beyond start-up, share of first run's work", 100 * overhead / work_time,
               "%", "target (at most)", 5.0, min(5.0 / max(100 * overhead / work_time, 1e-9), 99.0)),
        Figure(f"ingest ({name})", "peak RSS of the first run", peak, "MiB", "target", 1536.0, 1536.0 / peak),
    ]
    return figures, db


def cleanup(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)
