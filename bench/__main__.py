"""Run every benchmark and print one table; the figures are also written to bench/results.json."""

from __future__ import annotations

import sys

from pipeline.settings import configure_environment

configure_environment()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import classification, encoders, extraction, ingest  # noqa: E402
from bench.common import Figure, corpora, machine, markdown_table, write_results  # noqa: E402


def main(argv: list[str]) -> int:
    console = Console()
    figures: list[Figure] = []
    console.print("classification")
    figures += classification.run()
    console.print("encoders")
    figures += encoders.run()
    for name, folder in corpora().items():
        console.print(f"extraction: {name}")
        figures += extraction.run(name, folder)
        console.print(f"ingest: {name}")
        ingest_figures, db = ingest.run(name, folder, "evaldocs" if name == "evaldocs" else None,
                                        text_only=name == "evaldocs")
        figures += ingest_figures
        ingest.cleanup(db)
    table = Table(title=f"bv-triage benchmarks on {machine()['processor']}, {machine()['cpus']} CPUs")
    for column in ("benchmark", "measure", "value", "reference (same run)", "ratio"):
        table.add_column(column)
    for figure in figures:
        table.add_row(*figure.row())
    console.print(table)
    write_results(figures)
    if "--markdown" in argv:
        print(markdown_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
