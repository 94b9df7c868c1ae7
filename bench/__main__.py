"""Run every benchmark and print one table; the figures are also written to bench/results.json.

    python -m bench                      everything (what `make bench` runs)
    python -m bench ingest scale         only the named parts (classification encoders extraction ingest scale)

The README's and docs' performance blocks are generated from bench/results.json by
``python docs/samples.py --bench`` (`make bench` runs it after the benchmarks).
"""

from __future__ import annotations

import sys

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
    if "classification" in parts:
        console.print("classification")
        figures += classification.run()
    if "encoders" in parts:
        console.print("encoders")
        figures += encoders.run()
    if "extraction" in parts:
        for name, folder in corpora().items():
            console.print(f"extraction: {name}")
            figures += extraction.run(name, folder)
    if "ingest" in parts and EVALDOCS.is_dir():
        console.print("ingest: evaldocs (first run with its time budget, re-run, bare int8 and fp32 encodes)")
        ingest_figures, details["ingest"] = ingest.run("evaldocs", EVALDOCS, "evaldocs")
        figures += ingest_figures
    if "scale" in parts and scale.available():
        console.print("scale: 25%, 50%, 100% of the shared folders' pages, then 100% on a 2-worker Dask cluster")
        scale_figures, details["scale"] = scale.run()
        figures += scale_figures
    table = Table(title=f"bv-triage benchmarks on {machine()['processor']}, {machine()['cpus']} CPUs")
    for column in ("benchmark", "measure", "value", "reference (same run)", "ratio"):
        table.add_column(column)
    for figure in figures:
        table.add_row(*figure.row())
    console.print(table)
    write_results(figures, details, parts)
    if "--markdown" in argv:
        print(markdown_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
