"""``triage run``, ``triage summary`` and ``triage doctor``: fill the database, read it back, check it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pipeline.cli.common import AuthorityOpt, DbPath, ExistingDb, TaxonomyId, err, fail, in_data_dir, note, out
from pipeline.paths import DEMO_CORPUS, data_dir, default_heatmap
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from pipeline.terminal import printable
from pipeline.text import squash_space

if TYPE_CHECKING:
    from pipeline.report.summary import AuthoritySummary

SUMMARY_CAPTION = ("docs: current documents, failed and ocr among them; passages: of the documents read; "
                   "evidence links: passage-entry links; flagged passages: passages linked to an indicator of "
                   "potential failure")
HeatmapPath = Annotated[Path, typer.Option("--html", help="Where to write the HTML heat map (default: summary.html "
                                          "in the data directory).", callback=in_data_dir(default_heatmap))]


def run(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the bundled corpus).")] = None,
    db: DbPath = None,
    authority: AuthorityOpt = None,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    dask_workers: Annotated[int | None, typer.Option("--dask-workers", help="Prepare documents on a local Dask "
                                                     "cluster of this many worker processes.")] = None,
    dask_address: Annotated[str | None, typer.Option("--dask-address", help="Prepare documents on the Dask "
                                                     "scheduler at this address (tcp://host:8786).")] = None,
    timings: Annotated[bool, typer.Option("--timings", help="Print where the run's time went, phase by phase "
                                          "(the run's record keeps it either way).")] = False,
) -> None:
    """Ingest documents into the database with the Prefect flow, then print a summary."""
    from flows.run import run_paths
    from pipeline.report.summary import authority_summaries
    from pipeline.store import Store
    from pipeline.timing import IMPORTS, SUMMARY, Budget, process_age

    budget = Budget()
    budget.add(IMPORTS, process_age())
    summary = run_paths(paths or [DEMO_CORPUS], db, authority, taxonomy, budget, note, dask_workers, dask_address)
    with budget.phase(SUMMARY):
        with Store(db) as store:
            print_summary(authority_summaries(store, authority if paths else None))
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary.outcomes.items()))
        out.print(f"run {summary.run_id}: {summary.documents} documents ({outcomes}); database {db}", highlight=False)
    summary.timings = budget.as_dict()
    with Store(db) as store:
        store.record_timings(summary.run_id, summary.timings, summary.worker_seconds)
    if timings:
        print_timings(summary.timings, summary.worker_seconds)


def summary(
    db: ExistingDb = None,
    authority: AuthorityOpt = None,
    html: HeatmapPath = None,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
) -> None:
    """Per-authority evidence by theme, polarity and status, the strongest flagged passages, and an
    HTML heat map."""
    from pipeline.report.heatmap import render_heatmap
    from pipeline.report.summary import authority_summaries
    from pipeline.store import Store

    with Store(db) as store:
        summaries = authority_summaries(store, authority)
    if authority and not summaries:
        raise fail(f"no authority {authority!r} in {db}")
    print_summary(summaries)
    for s in summaries:
        out.print(f"\n[bold]{s.name}[/bold] ({s.slug})", highlight=False)
        for theme, counts in sorted(s.by_theme.items()):
            cells = [f"{polarity} {status} {n}" for (polarity, status), n in sorted(counts.items())]
            out.print(f"  {theme:4} " + ", ".join(cells), highlight=False)
        for p in s.strongest[:3]:
            score = f"{p.score:.2f}" if p.score is not None else "n/a"
            out.print(f"  flagged {p.entry} {score} {p.status}: {p.title or p.document[:12]} p.{p.page or '-'}: "
                      f"{squash_space(p.text)[:140]}", highlight=False, markup=False)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_heatmap(summaries, load_taxonomy(taxonomy)), encoding="utf-8")
    out.print(f"\nheat map: {html}", highlight=False)


def doctor(
    db: DbPath = None,
    repair: Annotated[bool, typer.Option("--repair", help="Repair what is safe to repair.")] = False,
) -> None:
    """Check this machine (model package, int8 encoder, OCR, Chromium for the tests, Prefect's home, disk
    space: with what to install) and the database (schema, integrity, orphan rows, unclassified documents,
    stuck runs)."""
    from pipeline.environment import check_environment

    problems = 0
    out.print("[bold]this machine[/bold]")
    for check in check_environment(data_dir(), Path(os.environ["PREFECT_HOME"])):
        problems += check.status == "fail"
        fix = f"; fix: {check.fix}" if check.fix else ""
        out.print(f"{check.status.upper() if check.status != 'ok' else 'ok':9} {check.name}: {check.detail}{fix}",
                  highlight=False, markup=False)
    out.print(f"\n[bold]database[/bold] {db}", highlight=False)
    if not db.exists():
        out.print("no database yet: `triage run` creates it", highlight=False)
    else:
        from pipeline.store import Store
        from pipeline.store.doctor import check

        with Store(db) as store:
            findings = check(store, repair=repair)
        for finding in findings:
            mark = "ok" if finding.count == 0 else ("repaired" if finding.repaired else "PROBLEM")
            out.print(f"{mark:9} {finding.check}: {finding.count}" + (f" ({finding.detail})" if finding.count else ""),
                      highlight=False, markup=False)
        problems += sum(not f.ok for f in findings)
    if problems:
        raise typer.Exit(1)


def print_summary(summaries: list[AuthoritySummary]) -> None:
    table = Table(title="Evidence by authority", caption=SUMMARY_CAPTION, caption_justify="left")
    for column in ("authority", "docs", "failed", "ocr", "passages", "evidence links", "flagged passages",
                   "top themes (links)"):
        table.add_column(column, justify="left" if column in ("authority", "top themes (links)") else "right")
    for s in summaries:
        themes = " ".join(f"{k}:{v}" for k, v in sorted(s.themes.items(), key=lambda kv: -kv[1])[:3])
        table.add_row(s.slug, str(s.documents), str(s.failed), str(s.ocr), str(s.passages), str(s.evidence),
                      str(s.flagged_passages), themes)
    out.print(table)
    for s in summaries:
        for path, reason in s.failures:
            out.print(printable(f"failed: {s.slug} {Path(path).name}: {reason}"), highlight=False, markup=False)


def print_timings(wall: dict[str, float], workers: dict[str, float]) -> None:
    """The run's time budget on stderr: this process's wall time by phase, then the workers' busy time."""
    table = Table(title="Where the run's time went", caption="run: wall seconds of this process, adding up to the "
                  "run; workers: busy seconds of all document workers together", caption_justify="left")
    for column in ("", "phase", "seconds", "share"):
        table.add_column(column, justify="right" if column in ("seconds", "share") else "left")
    total = sum(wall.values()) or 1.0
    for name, seconds in wall.items():
        table.add_row("run", name, f"{seconds:.2f}", f"{100 * seconds / total:.0f}%")
    table.add_row("run", "total", f"{total:.2f}", "100%")
    for name, seconds in workers.items():
        table.add_row("workers", name, f"{seconds:.2f}", "")
    err.print(table)
