"""Run every benchmark and print one table; the figures are also written to bench/results.json.

    python -m bench                      everything (what `make bench` runs)
    python -m bench ingest scale         only the named parts (classification encoders extraction ingest scale)

The README's and docs' performance blocks are generated from bench/results.json by
``python docs/samples.py --bench`` (`make bench` runs it after the benchmarks).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from pipeline.settings import configure_environment

configure_environment()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import classification, encoders, extraction, ingest, scale  # noqa: E402
from bench.common import EVALDOCS, Figure, corpora, machine, markdown_table, write_results  # noqa: E402

PARTS = ("classification", "encoders", "extraction", "ingest", "scale")


def main(argv: list[str]) -> int:
    parts = [a for a in argv if not a.startswith("--")] or list(PARTS)
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}", file=sys.stderr)
        return 2
    console = Console()
    figures: list[Figure] = []
    details: dict[str, object] = {}
    failed: list[str] = []

    def measure(part: str, title: str, run: Callable[[], list[Figure]]) -> None:
        """One part's figures; a part that fails is reported and the others still run and are written."""
        if part not in parts:
            return
        console.print(title)
        try:
            figures.extend(run())
        except Exception as e:  # reported below and in the exit status, never silently
            console.print(f"[red]{part} failed: {type(e).__name__}: {e}[/red]")
            failed.append(part)

    def ingest_part() -> list[Figure]:
        ingest_figures, details["ingest"] = ingest.run("evaldocs", EVALDOCS, "evaldocs")
        return ingest_figures

    def scale_part() -> list[Figure]:
        scale_figures, details["scale"] = scale.run()
        return scale_figures

    measure("classification", "classification", classification.run)
    measure("encoders", "encoders", encoders.run)
    measure("extraction", "extraction", lambda: [f for name, folder in corpora().items()
                                                 for f in extraction.run(name, folder)])
    if EVALDOCS.is_dir():
        measure("ingest", "ingest: evaldocs (first run with its time budget, re-run, bare int8 and fp32 encodes)",
                ingest_part)
    if scale.available():
        measure("scale", "scale: 25%, 50%, 100% of the shared folders' pages, then 100% on a 2-worker Dask cluster",
                scale_part)
    table = Table(title=f"bv-triage benchmarks on {machine()['processor']}, {machine()['cpus']} CPUs")
    for column in ("benchmark", "measure", "value", "reference (same run)", "ratio"):
        table.add_column(column)
    for figure in figures:
        table.add_row(*figure.row())
    console.print(table)
    write_results(figures, details, [part for part in parts if part not in failed])
    if "--markdown" in argv:
        print(markdown_table(figures))
    if failed:
        console.print(f"[red]failed: {', '.join(failed)} (bench/results.json keeps their earlier figures)[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
