"""Cross-validated figures of the evidence classifier beside the BM25 baseline (``--cv``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pipeline.classify.bm25 import DEFAULT_TOP_K, BM25Classifier
from pipeline.classify.entry_vectors import EntryBank
from pipeline.domain import GoldPassage
from pipeline.paths import DEVSET
from pipeline.taxonomy import Taxonomy
from pipeline.training.dataset import LabelledRow
from pipeline.training.evaluate import FitPredict
from pipeline.training.fit import DEFAULT_SETTINGS, TrainSettings, fit_model

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


def evidence_fit_predict(encoder: Encoder, taxonomy: Taxonomy, rows: Sequence[LabelledRow], vectors: np.ndarray,
                         bank: EntryBank, settings: TrainSettings = DEFAULT_SETTINGS, top_k: int = 5,
                         with_context: bool = False, none_texts: Sequence[str] = (),
                         none_vectors: np.ndarray | None = None) -> FitPredict:
    """A ``cross_validate`` system: fit the whole model on the training folds, predict the test fold from text."""
    from pipeline.classify.evidence import EvidenceClassifier
    from pipeline.classify.rules.tripwires import load_tripwires

    index = {r.id: i for i, r in enumerate(rows)}
    tripwires = load_tripwires(taxonomy)

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        train_idx = [index[g.id] for g in train]
        test_idx = [index[g.id] for g in test]
        model = fit_model([rows[i] for i in train_idx], vectors[train_idx], bank, taxonomy, encoder.model_id, settings,
                          none_texts, none_vectors)
        classifier = EvidenceClassifier(encoder, taxonomy, model=model, bank=bank, tripwires=tripwires)
        contexts = [{"doc_kind": rows[i].doc_kind} for i in test_idx] if with_context else None
        predictions = classifier.predict_vectors(vectors[test_idx], top_k, [rows[i].text for i in test_idx], contexts)
        return [{"id": rows[i].id, "theme": p.theme, "matches": [m.as_record() for m in p.matches],
                 "flagged": p.flagged} for i, p in zip(test_idx, predictions, strict=True)]

    return fit_predict


def cross_validation_report(encoder: Encoder, taxonomy: Taxonomy, rows: Sequence[LabelledRow], vectors: np.ndarray,
                            bank: EntryBank, settings: TrainSettings = DEFAULT_SETTINGS, folds: int = 5,
                            none_texts: Sequence[str] = (), none_vectors: np.ndarray | None = None) -> str:
    """5-fold CV tables: this classifier (text only, and with ``doc_kind``) beside BM25, on all rows and on the
    rows taken from real council papers (the dev set's ``source`` other than "written")."""
    from pipeline.training.crossval import bm25_fit_predict
    from pipeline.training.evaluate import cross_validate, format_report, load_gold, score

    gold = load_gold(DEVSET)
    if {g.id for g in gold} != {r.id for r in rows}:
        raise ValueError("cross-validation runs on the development set rows")
    themes = [t.id for t in taxonomy.themes]
    systems = {
        "evidence-v1": evidence_fit_predict(encoder, taxonomy, rows, vectors, bank, settings, none_texts=none_texts,
                                            none_vectors=none_vectors),
        "evidence-v1+doc_kind": evidence_fit_predict(encoder, taxonomy, rows, vectors, bank, settings,
                                                     with_context=True, none_texts=none_texts,
                                                     none_vectors=none_vectors),
        "bm25": bm25_fit_predict(taxonomy),
    }
    reports, predictions = {}, {}
    for name, fit_predict in systems.items():
        predictions[name] = sink = []

        def recording(train: list[GoldPassage], test: list[GoldPassage], fit_predict=fit_predict, sink=sink):
            out = fit_predict(train, test)
            sink.extend(out)
            return out

        reports[name] = cross_validate(gold, recording, folds, themes=themes)
    sources = {}
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            sources[str(raw.get("gid", raw.get("id")))] = raw.get("source", "written")
    real = [g for g in gold if sources.get(g.id, "written") != "written"]
    subset = {name: score(real, predictions[name], themes) for name in systems}
    return (f"All {len(gold)} development-set passages, 5-fold cross-validation\n\n{format_report(reports)}\n\n"
            f"The {len(real)} passages taken from real council papers (source != written), same folds\n\n"
            f"{format_report(subset)}")
