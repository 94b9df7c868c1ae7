"""The performance blocks of the README and docs, written from bench/results.json (``python docs/samples.py
--bench`` puts them in place): the headline figures, the first run's time budget, the scale curve,
the capacity plan recomputed from them, and the full table."""

from __future__ import annotations

import math
from typing import Any

from bench.common import Figure, markdown_table

Results = dict[str, Any]

NIGHTLY_DOCUMENTS = 3300  # about 330 English principal and combined authorities, 5-10 documents a working day
WINDOW_HOURS = 2.0  # the nightly window a national run must fit in
EMBEDDING_BYTES = 1536  # a cached 384-dimension vector (float32) per passage


def _when(results: Results) -> str:
    machine = results["machine"]
    kernels = f" with {machine['kernels']}" if machine.get("kernels") else ""
    return f"{machine['processor']}{kernels}, {machine['cpus']} CPUs, {results.get('date', 'date not recorded')}"


def performance(results: Results) -> str:
    """The headline: end to end against the bare encodes, the re-run, memory, the scale and Dask checks."""
    ingest, scale = results.get("ingest"), results.get("scale")
    if not ingest:
        return "No end-to-end figures in bench/results.json yet: run `make bench`.\n"
    wall, n = ingest["first_run_seconds"], ingest["passages"]
    int8, fp32 = ingest["bare_int8_seconds"], ingest["bare_fp32_seconds"]
    lines = [f"Latest `make bench` ({_when(results)}; every ratio is against a reference measured in the same run; "
             "the full table is in [Benchmarks](docs/benchmarks.md)):", "",
             f"- `triage run` on the {n:,} classified passages of the text-bearing evaluation documents: "
             f"{wall:.1f} s from a cold start, {n / wall:.0f} passages a second, **{int8 / wall:.2f}** "
             f"of a bare encode of the same passages by the project's int8 encoder in a fresh process "
             f"({int8:.1f} s, the limit) and {fp32 / wall:.2f}x a bare fp32 encode ({fp32:.1f} s);",
             f"- a re-run of the unchanged corpus: {ingest['rerun_seconds']:.1f} s, "
             f"{100 * ingest['rerun_seconds'] / wall:.1f}% of the first run;",
             f"- peak memory of the whole process tree (the run, its workers, Prefect's server): "
             f"{ingest['peak_tree_mib']:,.0f} MiB"]
    if scale:
        full = scale["points"][-1]
        dask = scale["dask"]
        rows = "the same rows as the local run" if dask["same_rows"] else "ROWS DIFFER from the local run"
        lines[-1] += f"; {full['peak_tree_mib']:,.0f} MiB on {full['pages']:,} pages;"
        lines.append(f"- seconds per page at 100% of the scale corpus are {scale['growth']:.2f} times those at 25%; "
                     f"on a local Dask cluster of {dask['workers']} workers the 100% run takes {dask['seconds']:.0f} s "
                     f"({rows}).")
    else:
        lines[-1] += "."
    return "\n".join(lines) + "\n"


def time_budget(results: Results) -> str:
    """Where the first run's wall time went, from the run's own clocks, beside the bare encodes."""
    ingest = results.get("ingest")
    if not ingest:
        return "No time budget in bench/results.json yet: run `make bench`.\n"
    wall, budget, workers = ingest["first_run_seconds"], ingest["budget"], ingest["worker_seconds"]
    lines = ["| phase (the run's process, wall) | seconds | share |", "|---|---:|---:|"]
    for name, seconds in budget.items():
        lines.append(f"| {name} | {seconds:.1f} | {100 * seconds / wall:.0f}% |")
    rest = wall - sum(budget.values())
    lines.append(f"| process exit and what the clocks do not see | {rest:.1f} | {100 * rest / wall:.0f}% |")
    lines.append(f"| **the run, wall** | **{wall:.1f}** | 100% |")
    lines += ["", "| the document workers (busy seconds, all together) | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in workers.items()]
    lines += ["", "| reference, fresh process (import, load, encode the same passages) | seconds |", "|---|---:|",
              f"| the project's int8 encoder | {ingest['bare_int8_seconds']:.1f} |",
              f"| the fp32 model | {ingest['bare_fp32_seconds']:.1f} |"]
    return "\n".join(lines) + "\n"


def scale_curve(results: Results) -> str:
    scale = results.get("scale")
    if not scale:
        return "No scale curve in bench/results.json yet: run `make bench` with ../shared present.\n"
    lines = ["| share of pages | documents | pages read | passages | wall (s) | s/page | peak RSS, process tree |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for p in scale["points"]:
        lines.append(f"| {p['share']}% | {p['documents']} | {p['pages']:,} | {p['passages']:,} | {p['seconds']:.1f} "
                     f"| {p['seconds_per_page']:.3f} | {p['peak_tree_mib']:,.0f} MiB |")
    dask, full = scale["dask"], scale["points"][-1]
    lines.append(f"| 100%, Dask ({dask['workers']} workers) | {full['documents']} | {full['pages']:,} | "
                 f"{full['passages']:,} | {dask['seconds']:.1f} | {dask['seconds'] / max(full['pages'], 1):.3f} | "
                 f"{dask['peak_tree_mib']:,.0f} MiB |")
    lines += ["", f"Growth: s/page at 100% / s/page at 25% = {scale['growth']:.2f} (target at most 1.15); the "
              f"marginal cost between them is {scale['marginal_seconds_per_page']:.3f} s a page. Dask rows "
              f"{'equal the local run' if dask['same_rows'] else 'DIFFER: ' + '; '.join(dask['differences'])}."]
    return "\n".join(lines) + "\n"


def capacity_plan(results: Results) -> str:
    """A national nightly run sized from the scale curve's marginal cost and fixed start."""
    scale = results.get("scale")
    if not scale:
        return "No scale curve in bench/results.json yet: run `make bench` with ../shared present.\n"
    full, quarter = scale["points"][-1], scale["points"][0]
    marginal = scale["marginal_seconds_per_page"]
    fixed = max(0.0, quarter["seconds"] - marginal * quarter["pages"])
    pages_per_doc = full["pages"] / max(full["documents"], 1)
    passages_per_page = full["passages"] / max(full["pages"], 1)
    per_day = 86400 / marginal
    nightly_pages = NIGHTLY_DOCUMENTS * pages_per_doc
    hours = (fixed + nightly_pages * marginal) / 3600
    machines = max(1, math.ceil(hours / WINDOW_HOURS))
    gigabytes = nightly_pages * passages_per_page * EMBEDDING_BYTES / 1e9
    return (f"Measured on {full['documents']} real council documents ({full['pages']:,} text pages, "
            f"{pages_per_doc:.0f} pages and {passages_per_page:.1f} classified passages a page on average): a run "
            f"costs {fixed:.0f} s to start and {marginal:.3f} s a page after that on one 2-core machine, so one "
            f"machine ingests about {per_day:,.0f} pages ({per_day / pages_per_doc:,.0f} such documents) a day. "
            f"A national nightly run of about {NIGHTLY_DOCUMENTS:,} documents ({nightly_pages:,.0f} pages) takes "
            f"about {hours:.1f} hours on one machine: {machines} machine{'s' if machines > 1 else ''} for a "
            f"{WINDOW_HOURS:.0f}-hour window, twice that for headroom, backfills and OCR (a scanned page costs "
            f"a few seconds of tesseract). The embedding cache grows by about {gigabytes:.1f} GB a night.\n")


def figures_table(results: Results) -> str:
    figures = [Figure(**f) for f in results["figures"]]
    return f"Latest run: {_when(results)}.\n\n" + markdown_table(figures) + "\n"
