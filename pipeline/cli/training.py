"""``triage learn`` and ``triage evaluate``: refit from decisions, and score on labelled passages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import DbPath, TaxonomyId, fail, out
from pipeline.errors import TriageError
from pipeline.paths import DEFAULT_DB, DEVSET
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy


def learn(
    db: DbPath = DEFAULT_DB,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Refit and report, but never activate.")] = False,
) -> None:
    """Refit thresholds and heads from confirmed and rejected evidence; activate only if not worse."""
    from flows.learn import learn_flow

    if not db.exists():
        raise fail(f"no database at {db}")
    try:
        report = learn_flow(str(db), taxonomy, activate=not dry_run)
    except TriageError as e:
        raise fail(str(e)) from e
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
    from pipeline.classify import load_classifier
    from pipeline.classify.bm25 import BM25Classifier
    from pipeline.embed import load_encoder
    from pipeline.predict import predict_records
    from pipeline.training.evaluate import format_report, load_gold, report_to_dict, score

    try:
        tax = load_taxonomy(taxonomy)
        rows = load_gold(gold)
        records = [{"id": row.id, "text": row.text} for row in rows]
        bm25 = BM25Classifier(tax)
        bm25.fit_thresholds(load_gold(DEVSET))
        classifier = load_classifier(load_encoder(), tax.id)
        themes = [t.id for t in tax.themes]
        reports = {
            "bv-triage": score(rows, predict_records(records, classifier, top_k=5), themes),
            "bm25": score(rows, bm25.predict(records, top_k=5), themes),
        }
    except TriageError as e:
        raise fail(str(e)) from e
    out.print(format_report(reports), highlight=False, markup=False)
    if json_output:
        json_output.write_text(json.dumps({k: report_to_dict(v) for k, v in reports.items()}, indent=2))
