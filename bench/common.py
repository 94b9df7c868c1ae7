"""Shared pieces: the document sets to measure, timing, and the results table."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.paths import DEMO_CORPUS

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

EVALDOCS = PROJECT_ROOT.parent / "shared" / "evaldocs"
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


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def machine() -> dict[str, str]:
    import os

    return {"python": platform.python_version(), "cpus": str(os.cpu_count()), "machine": platform.machine(),
            "processor": _cpu_name(), "system": platform.platform(terse=True)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_results(figures: list[Figure]) -> None:
    RESULTS.write_text(json.dumps({"machine": machine(), "figures": [asdict(f) for f in figures]}, indent=2) + "\n")


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| benchmark | measure | value | reference (same run) | ratio |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(f.row()) + " |" for f in figures]
    return "\n".join(lines)
