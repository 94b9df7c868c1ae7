"""Fit the evidence model from labelled passages and write its artefacts.

Everything fitted is fitted here, deterministically, from the development set
(``corpus/devset/devset.jsonl``), the entry exemplars and the written non-evidence passages
(``taxonomy/<taxonomy>.exemplars.yaml``, ``taxonomy/<taxonomy>.non-evidence.yaml``):

1. passage vectors (cached in ``models/<taxonomy>/devset-vectors.npz``, keyed by model and texts)
   and entry-side vectors (``entry-vectors.npz``);
2. out-of-fold head outputs on the labelled rows (stratified inner folds), on which the evidence and
   polarity stages, the entry calibration and the thresholds (evidence; flag, global and per theme; entry
   link, global and per entry) are fitted, so no probability is calibrated on a head's own
   training rows;
3. the final heads on all rows.

Everything a fit reads travels as one ``TrainingSet`` (``pipeline.training.dataset``): the labelled
rows with their vectors, the entry bank and the non-evidence passages. ``build`` writes the
artefacts (``python -m pipeline.training``); ``crossval`` scores the same fit on held-out folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.classify.calibration import Platt, bagged_threshold, best_threshold, fit_platt, shrunk_threshold
from pipeline.classify.heads import LinearHead, fit_head
from pipeline.classify.lexical import Lexicon, lexical_matrix, terms
from pipeline.classify.model import (
    EVIDENCE_INPUTS,
    NONE_CLASS,
    POLARITY_INPUTS,
    Calibration,
    CombineWeights,
    EvidenceModel,
    ModelThresholds,
    evidence_features,
    failure_features,
    polarity_features,
    save_model,
    theme_features,
)
from pipeline.classify.rules.polarity import CueCounts, cue_counts, cue_features
from pipeline.classify.rules.priors import suppression_reason
from pipeline.ids import short_hash
from pipeline.taxonomy import Taxonomy
from pipeline.training.dataset import Exemplars, LabelledRow, TrainingSet, training_hash
from pipeline.training.evaluate import fold_assignments

if TYPE_CHECKING:
    from pipeline.embed import Encoder

FAILURE_CLASSES = ("other", "failure")
EVIDENCE_CLASSES = ("other", "evidence")
LINK_CANDIDATES = 5  # entry calibration and link thresholds are fitted on each row's top five


@dataclass(frozen=True)
class TrainSettings:
    c_theme: float = 4.0  # inverse L2 strength of each head (features: unit-norm 384-d vectors + cues)
    c_failure: float = 1.0
    c_entry: float = 64.0
    c_polarity: float = 1.0
    c_lexical: float = 16.0  # the lexical head (features: L2-normalised TF-IDF of ~10,000 terms)
    c_evidence: float = 1.0  # the evidence stage (two logits and a cosine)
    exemplar_weight: float = 0.5  # weight of an exemplar passage against a labelled passage
    inner_folds: int = 5
    seed: int = 0
    flag_shrink: float = 20.0  # per-theme flag thresholds: pseudo-positives pulling towards the global one
    link_shrink: float = 10.0  # per-entry link thresholds, likewise
    # The evidence stage (P(evidence), calibrated) and threshold on the real-text rows only (when there are any):
    # written passages are three quarters evidence and real papers a fifth, so fitted on both they over-call real text.
    evidence_on_real: bool = True
    # The flag thresholds (global and per theme) on the real-text rows only, when they hold a failure: the written rows'
    # failures are a third of them and real papers' a few in a thousand, so a threshold fitted on both over-flags
    # real text. Inner folds keep the rows of a test fold out of it.
    flag_on_real: bool = True
    weights: CombineWeights = field(default_factory=CombineWeights)

    def key(self) -> str:
        return (f"c_theme={self.c_theme};c_failure={self.c_failure};c_entry={self.c_entry};c_pol={self.c_polarity};"
                f"c_lexical={self.c_lexical};c_evidence={self.c_evidence};"
                f"exemplar_weight={self.exemplar_weight};inner_folds={self.inner_folds};seed={self.seed};"
                f"flag_shrink={self.flag_shrink};link_shrink={self.link_shrink};evidence_on_real={self.evidence_on_real};"
                f"flag_on_real={self.flag_on_real};{self.weights.key()}")


DEFAULT_SETTINGS = TrainSettings()


@dataclass
class Heads:
    theme: LinearHead
    failure: LinearHead
    entry: LinearHead
    lexicon: Lexicon
    lexical: LinearHead


@dataclass(frozen=True)
class RowFeatures:
    """The labelled rows' head inputs: vectors, polarity cues (their counts, read by the rules too, and features),
    entry similarities and lexical terms, computed once and sliced per fold (so every fold's fit sees exactly the
    numbers of the whole, and no row's text is read again)."""

    vectors: np.ndarray
    counts: tuple[CueCounts, ...]
    cues: np.ndarray
    sims: np.ndarray
    terms: tuple[list[str], ...]  # each row's ``pipeline.classify.lexical.terms``

    @classmethod
    def of(cls, data: TrainingSet) -> RowFeatures:
        vectors = np.asarray(data.vectors, dtype=np.float32)
        counts = tuple(cue_counts(text) for text in data.texts)
        return cls(vectors, counts, cue_features(data.texts, counts),
                   data.bank.entry_scores(data.bank.similarities(vectors)), tuple(terms(text) for text in data.texts))

    def take(self, mask: np.ndarray) -> RowFeatures:
        counts = tuple(c for c, keep in zip(self.counts, mask, strict=True) if keep)
        kept_terms = tuple(t for t, keep in zip(self.terms, mask, strict=True) if keep)
        return RowFeatures(self.vectors[mask], counts, self.cues[mask], self.sims[mask], kept_terms)


@dataclass(frozen=True)
class OutOfFold:
    """Each labelled row's combined scores from heads fitted without it, and the rows calibration reads."""

    theme_score: np.ndarray  # (rows, themes)
    entry_score: np.ndarray  # (rows, entries)
    evidence_inputs: np.ndarray  # (rows, EVIDENCE_INPUTS) the evidence stage's features
    failure_raw: np.ndarray  # (rows,) first-stage failure logit
    live: np.ndarray  # rows the procedural-passage rule does not suppress
    evidence_rows: np.ndarray  # rows the evidence stage and threshold are fitted on


def pass_through_stage(name: str, classes: tuple[str, str], n_features: int) -> LinearHead:
    """A second stage that passes its first input (a head's logit) through: the provisional stage of out-of-fold
    runs, before the stage itself is fitted on their outputs."""
    weights = np.zeros((1, n_features), dtype=np.float32)
    weights[0, 0] = 1.0
    return LinearHead(name, classes, weights, np.zeros(1, dtype=np.float32))


def fit_heads(rows: Sequence[LabelledRow], features: RowFeatures, ex: Exemplars, taxonomy: Taxonomy,
              settings: TrainSettings) -> Heads:
    themes = tuple(taxonomy.theme_ids)
    entry_ids = tuple(e.id for e in taxonomy.entries)
    is_failure = np.array([e.is_failure for e in taxonomy.entries])
    weight = np.r_[np.ones(len(rows)), np.full(len(ex.texts), settings.exemplar_weight)]
    theme_x = np.vstack([theme_features(features.vectors, features.cues), theme_features(ex.vectors, ex.cues)])
    theme_y = [r.theme or NONE_CLASS for r in rows] + ex.themes
    theme = fit_head("theme", theme_x, theme_y, (*themes, NONE_CLASS), weight, settings.c_theme)
    lexicon = Lexicon.fit(features.terms)
    lexical = fit_head("lexical", lexical_matrix(lexicon, features.terms), theme_y[: len(rows)],
                       (*themes, NONE_CLASS), None, settings.c_lexical)
    failure_x = np.vstack([failure_features(features.vectors, features.cues, features.sims, is_failure),
                           failure_features(ex.vectors, ex.cues, ex.sims, is_failure)])
    failure_y = [FAILURE_CLASSES[int(r.failure)] for r in rows] + [FAILURE_CLASSES[int(f)] for f in ex.failures]
    failure = fit_head("failure", failure_x, failure_y, FAILURE_CLASSES, weight, settings.c_failure)
    entry_x, entry_y, entry_w = [ex.entry_vectors], list(ex.entry_labels), [np.ones(len(ex.entry_labels))]
    for row, vector in zip(rows, features.vectors, strict=True):
        for rank, entry_id in enumerate(row.entries):
            entry_x.append(vector[None, :])
            entry_y.append(entry_id)
            entry_w.append(np.array([1.0 if rank == 0 else 0.5]))
    entry = fit_head("entry", np.vstack(entry_x), entry_y, entry_ids, np.concatenate(entry_w), settings.c_entry)
    return Heads(theme, failure, entry, lexicon, lexical)


def _model(data: TrainingSet, heads: Heads, settings: TrainSettings) -> EvidenceModel:
    """A model of these heads with pass-through evidence and polarity stages and no calibration or thresholds
    (the provisional model of an out-of-fold run; ``fit_model`` replaces them with fitted ones)."""
    taxonomy = data.taxonomy
    themes = tuple(taxonomy.theme_ids)
    return EvidenceModel(
        taxonomy=taxonomy.id, model_id=data.model_id, themes=themes, entries=tuple(e.id for e in taxonomy.entries),
        entry_is_failure=np.array([e.is_failure for e in taxonomy.entries]),
        entry_theme=np.array([themes.index(e.theme) for e in taxonomy.entries]),
        theme_head=heads.theme, failure_head=heads.failure, entry_head=heads.entry, lexicon=heads.lexicon,
        lexical_head=heads.lexical, evidence_head=pass_through_stage("evidence", EVIDENCE_CLASSES, EVIDENCE_INPUTS),
        polarity_head=pass_through_stage("polarity", FAILURE_CLASSES, POLARITY_INPUTS),
        calibration=Calibration(Platt()),
        thresholds=ModelThresholds(), weights=settings.weights, training={},
    )


def fit_model(data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS) -> EvidenceModel:
    """Heads on all rows; calibration and thresholds on out-of-fold outputs.

    The written non-evidence passages of ``data`` are training rows of the heads only.
    """
    taxonomy, rows = data.taxonomy, data.rows
    ex = Exemplars.of(data)
    features = RowFeatures.of(data)
    oof = _out_of_fold(data, features, ex, settings)
    calibration = Calibration(entry=_fit_entry_calibration(rows, oof.entry_score, oof.live, taxonomy))
    evidence = fit_stage("evidence", EVIDENCE_CLASSES, oof.evidence_inputs[oof.evidence_rows],
                         data.gold_evidence[oof.evidence_rows], settings.c_evidence, head_logits=2)
    p_evidence = np.where(oof.live, evidence.proba(oof.evidence_inputs)[:, 0], 0.0)
    live = oof.live
    polarity = fit_stage("polarity", FAILURE_CLASSES, polarity_features(oof.failure_raw[live], features.cues[live]),
                         data.gold_failure[live], settings.c_polarity, head_logits=1)
    p_failure = polarity.proba(polarity_features(oof.failure_raw, features.cues))[:, 0]
    thresholds = _fit_thresholds(data, oof, calibration, p_evidence, p_failure, settings)
    heads = fit_heads(rows, features, ex, taxonomy, settings)
    import sklearn

    none_texts = data.none_texts
    training = {
        "training_data_hash": training_hash(rows), "rows": len(rows), "exemplars": len(ex.texts) - len(none_texts),
        "entry_texts": len(ex.entry_labels), "entry_vectors_key": data.bank.key, "settings": settings.key(),
        "non_evidence": len(none_texts), "non_evidence_hash": short_hash("non-evidence", *none_texts, length=16),
        "scikit_learn": sklearn.__version__,
    }
    return replace(_model(data, heads, settings), evidence_head=evidence, polarity_head=polarity,
                   calibration=calibration,
                   thresholds=thresholds, training=training)


def _out_of_fold(data: TrainingSet, features: RowFeatures, ex: Exemplars, settings: TrainSettings) -> OutOfFold:
    """Scores of each row from heads fitted on the other inner folds (folds by document for real text)."""
    rows, bank = data.rows, data.bank
    fold_of = np.array(fold_assignments([r.gold() for r in rows], settings.inner_folds, settings.seed, data.groups))
    theme_score = np.zeros((len(rows), len(data.taxonomy.themes)))
    entry_score = np.zeros((len(rows), len(data.taxonomy.entries)))
    evidence_inputs = np.zeros((len(rows), EVIDENCE_INPUTS))
    failure_raw = np.zeros(len(rows))
    for fold in range(settings.inner_folds):
        train, test = fold_of != fold, fold_of == fold
        heads = fit_heads([r for r, k in zip(rows, train, strict=True) if k], features.take(train), ex,
                          data.taxonomy, settings)
        provisional = _model(data, heads, settings)
        test_texts = [r.text for r, k in zip(rows, test, strict=True) if k]
        tested = features.take(test)
        raw = provisional.raw_scores(bank, tested.vectors, test_texts, tested.counts, tested.terms)
        combined = provisional.combine(raw)
        theme_score[test], entry_score[test] = combined.theme_score, combined.entry_score
        evidence_inputs[test], failure_raw[test] = evidence_features(raw), combined.failure_logit
    live = ~np.array([suppression_reason(r.text, cues) is not None
                      for r, cues in zip(rows, features.counts, strict=True)])
    real = data.real
    evidence_rows = live & real if settings.evidence_on_real and (live & real).any() else live
    return OutOfFold(theme_score, entry_score, evidence_inputs, failure_raw, live, evidence_rows)


def fit_stage(name: str, classes: tuple[str, str], inputs: np.ndarray, gold: np.ndarray, c: float,
              head_logits: int) -> LinearHead:
    """A second stage on out-of-fold outputs whose first ``head_logits`` inputs are heads' logits: it may never let a
    head's higher logit lower its probability (the evidence stage: theme and lexical heads; polarity: failure head)."""
    head = fit_head(name, inputs, [classes[int(g)] for g in gold], classes, None, c)
    if (head.weights[0, :head_logits] < 0).any():
        raise ValueError(f"the {name} stage inverted a head's logit; that head is useless on these rows")
    return head


def _candidates(rows: Sequence[LabelledRow], entry_score: np.ndarray, mask: np.ndarray,
                taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, is-gold, entry index) of each masked row's top LINK_CANDIDATES entries, for rows with gold entries."""
    entry_index = {e.id: i for i, e in enumerate(taxonomy.entries)}
    scores, labels, which = [], [], []
    for i, row in enumerate(rows):
        if not mask[i] or not row.entries:
            continue
        gold = {entry_index[e] for e in row.entries if e in entry_index}
        for j in np.argsort(-entry_score[i], kind="stable")[:LINK_CANDIDATES]:
            scores.append(entry_score[i, j])
            labels.append(int(j) in gold)
            which.append(int(j))
    return np.array(scores), np.array(labels, dtype=bool), np.array(which, dtype=int)


def _fit_entry_calibration(rows: Sequence[LabelledRow], entry_score: np.ndarray, live: np.ndarray,
                           taxonomy: Taxonomy) -> Platt:
    scores, labels, _ = _candidates(rows, entry_score, live, taxonomy)
    return fit_platt(scores, labels)


def _fit_thresholds(data: TrainingSet, oof: OutOfFold, calibration: Calibration, p_evidence: np.ndarray,
                    p_failure_all: np.ndarray, settings: TrainSettings) -> ModelThresholds:
    taxonomy, evidence_rows = data.taxonomy, oof.evidence_rows
    themes = taxonomy.theme_ids
    gold_evidence, gold_failure = data.gold_evidence, data.gold_failure
    evidence = best_threshold(p_evidence[evidence_rows], gold_evidence[evidence_rows])
    predicted_evidence = p_evidence >= evidence
    p_failure = np.where(predicted_evidence, p_evidence * p_failure_all, 0.0)  # the flag probability
    real_failures = settings.flag_on_real and bool(gold_failure[data.real].any())
    flag_rows = data.real if real_failures else np.ones(len(gold_failure), dtype=bool)
    flag = bagged_threshold(p_failure[flag_rows], gold_failure[flag_rows])
    predicted_theme = np.argmax(oof.theme_score, axis=1)
    flag_by_theme = {}
    for t, theme in enumerate(themes):
        group = flag_rows & predicted_evidence & (predicted_theme == t)
        positives = int(gold_failure[group].sum())
        if positives:
            own = best_threshold(p_failure[group], gold_failure[group])
            flag_by_theme[theme] = shrunk_threshold(own, flag, positives, settings.flag_shrink)
    scores, labels, which = _candidates(data.rows, oof.entry_score, oof.live & gold_evidence, taxonomy)
    p_entry = calibration.entry(scores)
    link = best_threshold(p_entry, labels) if labels.size else 0.3
    link_by_entry = {}
    for j, entry in enumerate(taxonomy.entries):
        group = which == j
        positives = int(labels[group].sum())
        if positives:
            own = best_threshold(p_entry[group], labels[group])
            link_by_entry[entry.id] = shrunk_threshold(own, link, positives, settings.link_shrink)
    return ModelThresholds(evidence, flag, link, flag_by_theme, link_by_entry)


def build(encoder: Encoder, taxonomy: Taxonomy, output_dir: Path, vectors_dir: Path | None = None,
          settings: TrainSettings = DEFAULT_SETTINGS) -> EvidenceModel:
    """Fit on the written and real-text development rows and write every artefact into ``output_dir``."""
    data = TrainingSet.load(encoder, taxonomy, vectors_dir or output_dir)
    data.write_vectors(output_dir)
    # Train on the float16-rounded vectors, exactly as they are read back: rebuilds then match bit for bit.
    model = fit_model(data.stored(), settings)
    save_model(model, output_dir)
    return model
