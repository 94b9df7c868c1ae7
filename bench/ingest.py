"""End-to-end `triage run` in a fresh process: first ingest, re-run, and peak memory.

The re-run is compared with the first run; the first run also with the fixed cost of a run
(the interpreter, imports, Prefect's ephemeral server) measured on an empty folder. A re-run
with nothing to do starts no flow, so it can cost less than that fixed cost. With ``text_only`` the
run skips OCR (``TRIAGE_OCR=off``): scanned documents are recorded as needing it, so the
figures are for the text-bearing documents, as the throughput target is stated.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure
from pipeline.store import Store

TRIAGE = [sys.executable, "-m", "pipeline.cli"]


def _triage(*args: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `triage` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([*TRIAGE, *args], check=True, capture_output=True, env=env)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def run(name: str, folder: Path, authority: str | None, text_only: bool = False) -> tuple[list[Figure], Path]:
    env = {**os.environ, "TRIAGE_OCR": "off"} if text_only else None
    if text_only:
        name += ", text-bearing documents"
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    db = work / "bench.db"
    extra = ["--authority", authority] if authority else []
    empty = work / "empty"
    empty.mkdir()
    fixed, _ = _triage("run", str(empty), "--db", str(work / "fixed.db"), "--authority", "bench")
    first, peak = _triage("run", str(folder), "--db", str(db), *extra, env=env)
    again, _ = _triage("run", str(folder), "--db", str(db), *extra, env=env)
    bare = _bare_encode(db, work)
    with Store(db) as store:
        passages = store.db.execute("select count(*) from passages where boilerplate = 0").fetchone()[0]
    share = 100 * again / first
    figures = [
        Figure(f"ingest ({name})", "first run, wall", first, "s", "fixed start-up cost (empty folder)", fixed,
               first / fixed),
        Figure(f"ingest ({name})", "re-run of the unchanged corpus, wall", again, "s", "first run", first,
               first / again),
        Figure(f"ingest ({name})", "re-run, share of the first run", share, "%", "target (at most)", 5.0,
               min(5.0 / max(share, 1e-9), 99.0)),
        Figure(f"ingest ({name})", "peak RSS of the first run", peak, "MiB", "target (at most)", 1536.0,
               1536.0 / peak),
        Figure(f"ingest ({name})", f"end-to-end passages/s ({passages} passages)", passages / first, "passages/s",
               "bare fp32 encode of the same passages, with import and load", passages / bare, bare / first),
    ]
    return figures, db


BARE_ENCODE = """
import sqlite3, sys
from pipeline.embed import load_encoder
texts = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("select text from passages where boilerplate = 0")]
load_encoder("fp32").encode(texts)
"""


def _bare_encode(db: Path, work: Path) -> float:
    """A fresh process that imports the stack, loads the model and encodes the run's passages."""
    copy = work / "passages.db"
    shutil.copy(db, copy)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BARE_ENCODE, str(copy)], check=True, capture_output=True)
    return time.perf_counter() - start


def cleanup(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)
