"""End-to-end `triage run` in a fresh process: the first run's time budget, the re-run, the process
tree's peak memory, and the bare encodes of the same passages that bound it.

The run skips OCR (``TRIAGE_OCR=off``): scanned documents are recorded as needing it, so the figures
are for the text-bearing documents, as the throughput targets are stated. The time budget is the
one the run itself recorded (``triage run --timings``; kept in the run's row). The references are
fresh processes that import the stack, load an encoder and encode the passages the run classified:
the project's own int8 encoder (the limit a run can reach) and the fp32 model.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import TRIAGE, Figure, measured

TEXT_ONLY = {**os.environ, "TRIAGE_OCR": "off"}
INT8_TARGET, INT8_STRETCH, FP32_TARGET = 0.70, 0.85, 1.2
RERUN_TARGET = 5.0  # % of the first run
TREE_TARGET_MIB = 1.2 * 1024


def run(name: str, folder: Path, authority: str) -> tuple[list[Figure], dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        db = work / "bench.db"
        command = [*TRIAGE, "run", str(folder), "--db", str(db), "--authority", authority]
        first = measured(command, env=TEXT_ONLY)
        again = measured(command, env=TEXT_ONLY)
        passages = classified_passages(db)
        int8, fp32 = bare_encode(db, work, "onnx-int8"), bare_encode(db, work, "fp32")
        budget = recorded_budget(db)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    label = f"ingest ({name}, text-bearing documents)"
    share = 100 * again.seconds / first.seconds
    rate = passages / first.seconds
    figures = [
        Figure(label, f"end-to-end passages/s ({passages} passages; target >= {INT8_TARGET} of the limit, stretch "
               f"{INT8_STRETCH})", rate, "passages/s", "bare int8 encode of the same passages (the project's "
               "encoder, fresh process, import and load included)", passages / int8, int8 / first.seconds),
        Figure(label, f"end-to-end passages/s (target >= {FP32_TARGET}x)", rate, "passages/s",
               "bare fp32 encode of the same passages, fresh process", passages / fp32, fp32 / first.seconds),
        Figure(label, "first run, wall", first.seconds, "s", "bare int8 encode, wall", int8, int8 / first.seconds),
        Figure(label, "re-run of the unchanged corpus, share of the first run", share, "%", "target (at most)",
               RERUN_TARGET, min(RERUN_TARGET / max(share, 1e-9), 99.0)),
        Figure(label, "peak RSS of the first run's process tree", first.peak_mib, "MiB", "target (at most)",
               TREE_TARGET_MIB, TREE_TARGET_MIB / first.peak_mib),
    ]
    details = {"corpus": name, "passages": passages, "first_run_seconds": round(first.seconds, 2),
               "rerun_seconds": round(again.seconds, 2), "peak_tree_mib": round(first.peak_mib, 1),
               "bare_int8_seconds": round(int8, 2), "bare_fp32_seconds": round(fp32, 2), **budget}
    return figures, details


def classified_passages(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("select count(*) from passages where boilerplate = 0").fetchone()[0])


def recorded_budget(db: Path, run_id: int = 1) -> dict[str, dict[str, float]]:
    """The time budget the run recorded: its process's wall seconds and its workers' busy seconds by phase."""
    with sqlite3.connect(db) as connection:
        counts = json.loads(connection.execute("select counts from runs where id = ?", [run_id]).fetchone()[0])
    return {"budget": counts["timings"], "worker_seconds": counts["worker_seconds"]}


BARE_ENCODE = """
import sqlite3, sys
from pipeline.settings import configure_environment
configure_environment()
from pipeline.embed import load_encoder
texts = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("select text from passages where boilerplate = 0")]
load_encoder(sys.argv[2]).encode(texts)
"""


def bare_encode(db: Path, work: Path, backend: str) -> float:
    """A fresh process that imports the stack, loads the encoder and encodes the run's classified passages."""
    copy = work / f"passages-{backend}.db"
    shutil.copy(db, copy)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BARE_ENCODE, str(copy), backend], check=True, capture_output=True)
    return time.perf_counter() - start
