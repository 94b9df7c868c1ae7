"""Cross-validated figures of the evidence classifier beside the BM25 baseline (``--cv``): on real text, in
folds by document (the yardstick), and on the written passages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.classify.bm25 import DEFAULT_TOP_K, BM25Classifier
from pipeline.domain import GoldPassage
from pipeline.taxonomy import Taxonomy
from pipeline.training.dataset import TrainingSet
from pipeline.training.evaluate import EvaluationReport, FitPredict
from pipeline.training.fit import DEFAULT_SETTINGS, TrainSettings, fit_model
from pipeline.training.reliability import reliability_bins, reliability_svg, reliability_table

if TYPE_CHECKING:
    from pipeline.embed import Encoder


def bm25_fit_predict(taxonomy: Taxonomy, k1: float = 1.5, b: float = 0.75,
                     top_k: int = DEFAULT_TOP_K) -> FitPredict:
    """A ``cross_validate`` system: fit the thresholds on the training rows, predict the test rows."""

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        classifier = BM25Classifier(taxonomy, k1, b)
        classifier.fit_thresholds(train, top_k)
        return classifier.predict([{"id": g.id, "text": g.text} for g in test], top_k)

    return fit_predict


def evidence_fit_predict(encoder: Encoder, data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS,
                         top_k: int = 5) -> FitPredict:
    """A ``cross_validate`` system: fit the whole model on the training folds, predict the test fold from text.

    Each prediction also carries the passage's evidence and flag probabilities (for reliability tables).
    """
    from pipeline.classify.evidence import EvidenceClassifier
    from pipeline.classify.rules.tripwires import load_tripwires

    index = {r.id: i for i, r in enumerate(data.rows)}
    tripwires = load_tripwires(data.taxonomy)

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        model = fit_model(data.subset([index[g.id] for g in train]), settings)
        classifier = EvidenceClassifier(encoder, data.taxonomy, model=model, bank=data.bank, tripwires=tripwires)
        tested = data.subset([index[g.id] for g in test])
        predictions = classifier.predict_vectors(tested.vectors, top_k, tested.texts)
        return [{"id": r.id, "theme": p.theme, "matches": [m.as_record() for m in p.matches],
                 "flagged": p.flagged, "evidence_probability": p.evidence_probability,
                 "flag_probability": p.flag_probability}
                for r, p in zip(tested.rows, predictions, strict=True)]

    return fit_predict


@dataclass
class CrossValidation:
    """Out-of-fold reports and predictions of each system on one set of test rows."""

    title: str
    reports: dict[str, EvaluationReport]
    predictions: dict[str, list[dict]]


def cross_validations(encoder: Encoder, data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS,
                      folds: int = 5, written: bool = True,
                      evidence: FitPredict | None = None) -> list[CrossValidation]:
    """The yardstick and its companion, each for evidence-v1 beside BM25.

    ``evidence`` replaces the evidence-v1 system fitted on ``data`` (an encoder fine-tuned per fold, say).

    1. Real text: the real-text rows in folds by document (a document's passages never train the model
       that scores them), every written row a training row in every fold.
    2. Written text (``written``): the written rows in folds stratified by theme, every real row training.
    Everything fitted (heads, calibration, thresholds, BM25's thresholds) sees the training rows only.
    """
    from pipeline.training.evaluate import cross_validate

    themes = data.taxonomy.theme_ids
    real = [r.gold() for r in data.rows if r.group is not None]
    written_rows = [r.gold() for r in data.rows if r.group is None]
    groups = [r.group for r in data.rows if r.group is not None]
    plans = [(f"real text: {len(real)} passages of {len(set(groups))} real documents, {folds} folds by document "
              "(written rows always in training)", real, groups, written_rows)]
    if written:
        plans.append((f"written text: {len(written_rows)} written passages, {folds} folds stratified by theme "
                      "(real rows always in training)", written_rows, None, real))
    out = []
    for title, test_rows, test_groups, always in plans:
        if not test_rows:
            continue
        systems = {"evidence-v1": evidence or evidence_fit_predict(encoder, data, settings),
                   "bm25": bm25_fit_predict(data.taxonomy)}
        reports, predictions = {}, {}
        for name, fit_predict in systems.items():
            predictions[name] = sink = []

            def recording(train: list[GoldPassage], test: list[GoldPassage], fit_predict=fit_predict, sink=sink):
                out = fit_predict(train, test)
                sink.extend(out)
                return out

            reports[name] = cross_validate(test_rows, recording, folds, themes=themes, groups=test_groups,
                                           always_train=always)
        out.append(CrossValidation(title, reports, predictions))
    return out


def cross_validation_report(encoder: Encoder, data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS,
                            folds: int = 5, plots: Path | None = None) -> str:
    """The cross-validation tables of the model card, and the reliability of the flag probability and of
    P(evidence) on real text; with ``plots``, also those two diagrams as SVG files in that folder."""
    from pipeline.training.evaluate import format_report

    parts = []
    results = cross_validations(encoder, data, settings, folds)
    for cv in results:
        parts.append(f"{cv.title}\n\n{format_report(cv.reports)}")
    real = results[0] if results and results[0].title.startswith("real") else None
    if real is not None:
        gold = {r.id: r for r in data.rows}
        predictions = real.predictions["evidence-v1"]
        flagged = sum(bool(p["flagged"]) for p in predictions)
        parts.append(f"real text: {flagged} of {len(predictions)} passages flagged "
                     f"({sum(gold[p['id']].failure for p in predictions)} gold failures)")
        diagrams = {
            "reliability-flag": ("the flag probability on real text (out of fold)",
                                 reliability_bins([p["flag_probability"] for p in predictions],
                                                  [gold[p["id"]].failure for p in predictions])),
            "reliability-evidence": ("P(evidence) on real text (out of fold)",
                                     reliability_bins([p["evidence_probability"] for p in predictions],
                                                      [gold[p["id"]].theme is not None for p in predictions])),
        }
        for name, (what, bins) in diagrams.items():
            parts.append(reliability_table(bins, what))
            if plots is not None:
                plots.mkdir(parents=True, exist_ok=True)
                (plots / f"{name}.svg").write_text(reliability_svg(bins, what), encoding="utf-8")
    return "\n\n".join(parts)
