"""Shared pieces: the document sets to measure, timing, and the results table."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.embed.onnx import kernel_features
from pipeline.paths import DEMO_CORPUS
from pipeline.runtime import descendants, resident_bytes

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

SHARED = PROJECT_ROOT.parent / "shared"
EVALDOCS = SHARED / "evaldocs"
SCALE_FOLDERS = (SHARED / "evaldocs", SHARED / "devdocs", SHARED / "evaldocs-2")  # speed only, never tuning
TRIAGE = [sys.executable, "-m", "pipeline.cli"]
SAMPLE_SECONDS = 0.1  # how often a command's process tree is measured
RESULTS = PROJECT_ROOT / "bench" / "results.json"


@dataclass
class Figure:
    benchmark: str
    measure: str
    value: float
    unit: str
    reference: str
    reference_value: float
    ratio: float  # how many times better than the reference (capped at 99): > 1 is better

    def row(self) -> list[str]:
        return [self.benchmark, self.measure, f"{self.value:,.2f} {self.unit}",
                f"{self.reference}: {self.reference_value:,.2f}", f"{self.ratio:.2f}x"]


def corpora() -> dict[str, Path]:
    """The bundled corpus always; the evaluation documents when present (robustness and speed only)."""
    found = {"bundled": DEMO_CORPUS}
    if EVALDOCS.is_dir():
        found["evaldocs"] = EVALDOCS
    return found


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall time of the whole command
    peak_mib: float  # the largest sum of resident memory of the command and all its descendants at one moment


def measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command to its end (failing loudly), sampling its whole process tree's memory as it runs."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.wait(SAMPLE_SECONDS):
            tree = [process.pid, *descendants(process.pid)]
            peak = max(peak, sum(resident_bytes(pid) for pid in tree))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - start
    finished.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {process.returncode}: {err.decode()[-2000:]}")
    return Measured(seconds, peak / 2**20)


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def machine() -> dict[str, str]:
    """Where the figures were measured; ``kernels`` because int8 speed depends on them (VNNI or not) as much as
    on the processor's name."""
    import os

    return {"python": platform.python_version(), "cpus": str(os.cpu_count()), "machine": platform.machine(),
            "processor": _cpu_name(), "kernels": kernel_features(), "system": platform.platform(terse=True)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_results(figures: list[Figure], details: dict[str, object], parts: list[str]) -> None:
    """The run's figures, and the details the README's performance blocks are generated from. A run of
    some parts only keeps the other parts' figures and details from the results file."""
    results: dict[str, object] = {"figures": []}
    if RESULTS.is_file():
        results = json.loads(RESULTS.read_text())
    kept = [f for f in results.get("figures", []) if f["benchmark"].split(" ")[0] not in parts]  # type: ignore[union-attr]
    results.update(machine=machine(), date=time.strftime("%Y-%m-%d"), figures=kept + [asdict(f) for f in figures],
                   **details)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| benchmark | measure | value | reference (same run) | ratio |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(f.row()) + " |" for f in figures]
    return "\n".join(lines)
