"""``triage learn`` and ``triage evaluate``: refit from decisions, and score on labelled passages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ExistingDb, TaxonomyId, out
from pipeline.paths import DEVSET
from pipeline.taxonomy import DEFAULT_TAXONOMY


def learn(
    db: ExistingDb = None,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Refit and report, but never activate.")] = False,
) -> None:
    """Refit thresholds and heads from confirmed and rejected evidence; activate only if not worse."""
    from flows.learn import learn_flow

    report = learn_flow(str(db), taxonomy, activate=not dry_run)
    from pipeline.training.learn import format_report

    out.print(format_report(report), highlight=False, markup=False)
    if report.activated:
        out.print("The next `triage run` re-classifies stored passages with it (from cached embeddings).",
                  highlight=False, markup=False)


def evaluate(
    gold: Annotated[Path, typer.Option("--gold", help="Labelled JSONL (see LABELLING.md): id or gid, text, theme, "
                                       "polarity, entries.")] = DEVSET,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    json_output: Annotated[Path | None, typer.Option("--json", help="Also write the reports as JSON.")] = None,
) -> None:
    """Score the classifier and a BM25 baseline (thresholds fitted on the development set) on a gold file."""
    from pipeline.training.evaluate import evaluate_gold, format_report, report_to_dict

    reports = evaluate_gold(gold, taxonomy)
    out.print(format_report(reports), highlight=False, markup=False)
    if json_output:
        json_output.write_text(json.dumps({k: report_to_dict(v) for k, v in reports.items()}, indent=2))
