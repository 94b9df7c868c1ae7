"""Link passages to taxonomy entries: is it evidence, for which theme and entries, and is it a failure?

Two classifiers share one interface (``predict_texts``, ``predict_vectors``, ``id``):

- ``EvidenceClassifier`` (the default, ``evidence-v1``): multi-vector entry similarity, polarity
  cues, learned logistic heads, calibrated probabilities, per-theme and per-entry thresholds,
  document-type priors and high-precision tripwires. Its artefacts ship under
  ``models/<taxonomy>/`` and are rebuilt by ``python -m pipeline.train``.
- ``SimilarityClassifier`` (the fallback for a taxonomy without trained artefacts, e.g.
  ``wales-2013``): the best cosine between a passage and an entry's vectors, fixed thresholds.

``load_classifier(encoder, taxonomy_id)`` picks the first that can load. Each classifier's id
hashes everything that changes its output (model, taxonomy version and text, entry texts,
artefacts, thresholds, tripwire table), so stored evidence always says what produced it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.calibration import sigmoid
from pipeline.embed import Encoder
from pipeline.entry_vectors import EntryBank, load_entry_bank
from pipeline.errors import ModelError
from pipeline.evidence_model import EvidenceModel, ModelThresholds, load_model, model_files_exist
from pipeline.ids import short_hash
from pipeline.paths import MODELS_DIR
from pipeline.priors import doc_kind_of, rules_key, suppression_reason
from pipeline.registry import active_model_dir
from pipeline.taxonomy import DEFAULT_TAXONOMY, Entry, Taxonomy, load_taxonomy
from pipeline.tripwires import TripwireHit, Tripwires, load_tripwires

DEFAULT_TOP_K = 5
TRIPWIRE_PROBABILITY = 0.95  # an entry a tripwire names is at least this probable (its first entry)
TRIPWIRE_FAILURE = 0.95  # P(failure) when a failure tripwire fires
TRIPWIRE_HEALTHY = 0.05  # P(failure) at most, when only a positive (or negated) tripwire fires
Context = Mapping[str, object]


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float  # ranking score, best first; for the evidence classifier the calibrated probability
    probability: float | None = None  # calibrated P(the passage evidences this entry)
    reason: str = "similarity"  # "similarity", "model", or "tripwire:<rule>[:negated]"

    def as_record(self) -> dict[str, object]:
        return {"id": self.entry.id, "theme": self.entry.theme, "kind": self.entry.kind,
                "score": round(self.score, 4)}


@dataclass
class Prediction:
    matches: list[Match]  # best first, at most top_k
    theme: str | None  # None when the passage evidences no theme
    flagged: list[str]  # failure indicators evidenced at the calibrated thresholds (a subset of matches)
    evidence: list[Match]  # the links to store: matches judged evidence
    polarity: str | None = None  # "failure", "positive", "neutral"; None when not evidence
    evidence_probability: float | None = None
    failure_probability: float | None = None
    suppressed: str | None = None  # boilerplate / procedural reason: never evidence
    tripwires: list[str] = field(default_factory=list)  # reasons of the tripwires that fired


@dataclass(frozen=True)
class Thresholds:
    """Similarity fallback: cosine a passage needs to be evidence for an entry, and to flag a failure."""

    evidence: float = 0.45
    flag: float = 0.50

    def key(self) -> str:
        return f"evidence={self.evidence:.4f};flag={self.flag:.4f}"


def _contexts(contexts: Sequence[Context | None] | None, n: int) -> list[Context | None]:
    if contexts is None:
        return [None] * n
    if len(contexts) != n:
        raise ValueError(f"{n} passages but {len(contexts)} contexts")
    return list(contexts)


class SimilarityClassifier:
    """The best cosine between a passage and each entry's vectors (text, paraphrases, exemplars); fixed thresholds."""

    name = "similarity-v2"

    def __init__(self, encoder: Encoder, taxonomy: Taxonomy, thresholds: Thresholds | None = None,
                 bank: EntryBank | None = None) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.thresholds = thresholds or Thresholds()
        self.entries = list(taxonomy.entries)
        self.bank = bank or load_entry_bank(encoder, taxonomy)

    @property
    def id(self) -> str:
        return "clf-" + short_hash(self.name, self.encoder.model_id, self.taxonomy.id, self.taxonomy.content_hash,
                                   self.bank.key, self.thresholds.key(), length=10)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        return self.bank.entry_scores(self.bank.similarities(vectors))

    def predict_texts(self, texts: list[str], top_k: int = DEFAULT_TOP_K,
                      contexts: Sequence[Context | None] | None = None) -> list[Prediction]:
        return self.predict_vectors(self.encoder.encode(texts), top_k, texts, contexts)

    def predict_vectors(self, vectors: np.ndarray, top_k: int = DEFAULT_TOP_K, texts: Sequence[str] | None = None,
                        contexts: Sequence[Context | None] | None = None) -> list[Prediction]:
        if len(vectors) == 0:
            return []
        scores = self.scores(vectors)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
        ctx = _contexts(contexts, len(vectors))
        predictions = []
        for i, (row_scores, row_order) in enumerate(zip(scores, order, strict=True)):
            suppressed = suppression_reason(texts[i], ctx[i]) if texts is not None else None
            predictions.append(self._prediction(row_scores, row_order, suppressed))
        return predictions

    def _prediction(self, row_scores: np.ndarray, row_order: np.ndarray, suppressed: str | None) -> Prediction:
        matches = [Match(self.entries[i], float(row_scores[i])) for i in row_order]
        if suppressed or matches[0].score < self.thresholds.evidence:
            return Prediction(matches, None, [], [], suppressed=suppressed)
        flagged = [m.entry.id for m in matches if m.entry.is_failure and m.score >= self.thresholds.flag]
        evidence = [m for m in matches if m.score >= self.thresholds.evidence]
        return Prediction(matches, matches[0].entry.theme, flagged, evidence,
                          polarity="failure" if flagged else "neutral")


class EvidenceClassifier:
    """Calibrated evidence classifier: learned heads over frozen embeddings, polarity, priors and tripwires.

    Args:
        encoder: the sentence encoder the model was trained on (its ``model_id`` must match).
        taxonomy: the taxonomy the model was trained for.
        model_dir: where ``heads.npz``/``model.json``/``entry-vectors.npz`` are (default ``models/<taxonomy>/``).
        thresholds: override the fitted thresholds (changes the id).
        model: an in-memory model (training and cross-validation), instead of reading ``model_dir``.

    Example:
        >>> classifier = EvidenceClassifier(load_encoder(), load_taxonomy())  # doctest: +SKIP
        >>> classifier.predict_texts(["The Ombudsman found fault causing injustice."])[0].flagged  # doctest: +SKIP
        ['SD-F02', 'SD-F04']
    """

    name = "evidence-v1"

    def __init__(self, encoder: Encoder, taxonomy: Taxonomy, *, model_dir: Path | None = None,
                 thresholds: ModelThresholds | None = None, model: EvidenceModel | None = None,
                 bank: EntryBank | None = None, tripwires: Tripwires | None = None) -> None:
        directory = model_dir or MODELS_DIR / taxonomy.id
        model = model or load_model(directory)
        if model.taxonomy != taxonomy.id:
            raise ModelError(f"the model in {directory} is for taxonomy {model.taxonomy}, not {taxonomy.id}")
        if model.model_id != encoder.model_id:
            raise ModelError(f"the model was trained on {model.model_id}, not {encoder.model_id}; retrain it")
        if tuple(e.id for e in taxonomy.entries) != model.entries:
            raise ModelError(f"the model's entries differ from taxonomy {taxonomy.id}; retrain it")
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.model = model.with_thresholds(thresholds) if thresholds else model
        self.bank = bank or load_entry_bank(encoder, taxonomy, shipped_dir=directory)
        self.tripwires = tripwires if tripwires is not None else load_tripwires(taxonomy)
        self.entries = list(taxonomy.entries)
        self._entry_index = {e.id: i for i, e in enumerate(self.entries)}

    @property
    def thresholds(self) -> ModelThresholds:
        return self.model.thresholds

    @property
    def id(self) -> str:
        return "clf-" + short_hash(self.name, self.encoder.model_id, self.taxonomy.id, self.taxonomy.content_hash,
                                   self.bank.key, self.model.artefact_hash, self.thresholds.key(),
                                   self.model.weights.key(), self.tripwires.key, rules_key(), length=10)

    def predict_texts(self, texts: list[str], top_k: int = DEFAULT_TOP_K,
                      contexts: Sequence[Context | None] | None = None) -> list[Prediction]:
        return self.predict_vectors(self.encoder.encode(texts), top_k, texts, contexts)

    def predict_vectors(self, vectors: np.ndarray, top_k: int = DEFAULT_TOP_K, texts: Sequence[str] | None = None,
                        contexts: Sequence[Context | None] | None = None) -> list[Prediction]:
        """Predictions for precomputed vectors; pass ``texts`` too, or polarity cues and tripwires are off."""
        n = len(vectors)
        if n == 0:
            return []
        if texts is not None and len(texts) != n:
            raise ValueError(f"{n} vectors but {len(texts)} texts")
        ctx = _contexts(contexts, n)
        model = self.model
        combined = model.combine(model.raw_scores(self.bank, np.asarray(vectors, dtype=np.float32), texts))
        evidence_logit, failure_logit = combined.evidence_logit.copy(), combined.failure_logit.copy()
        theme_score = combined.theme_score.copy()
        for i, context in enumerate(ctx):
            offsets = model.priors.get(doc_kind_of(context))
            if offsets:
                evidence_logit[i] += offsets.evidence
                failure_logit[i] += offsets.failure
                theme_score[i] += np.asarray(offsets.themes)
        p_evidence, p_failure = sigmoid(evidence_logit), sigmoid(failure_logit)
        p_entry = model.calibration.entry(combined.entry_score)
        order = np.argsort(-combined.entry_score, axis=1, kind="stable")[:, :top_k]
        best_failure = np.argmax(np.where(model.entry_is_failure, combined.entry_score, -np.inf), axis=1)
        best_theme = np.argmax(theme_score, axis=1)
        return [
            self._prediction(
                text=texts[i] if texts is not None else None, context=ctx[i], top_k=top_k, order=order[i],
                p_entry=p_entry[i], entry_score=combined.entry_score[i], p_evidence=float(p_evidence[i]),
                p_failure=float(p_failure[i]), best_theme=model.themes[best_theme[i]],
                best_failure=int(best_failure[i]),
            )
            for i in range(n)
        ]

    def _prediction(self, *, text: str | None, context: Context | None, top_k: int, order: np.ndarray,
                    p_entry: np.ndarray, entry_score: np.ndarray, p_evidence: float, p_failure: float,
                    best_theme: str, best_failure: int) -> Prediction:
        t = self.thresholds
        suppressed = suppression_reason(text, context) if text is not None else None
        hits = self.tripwires.match(text) if text is not None and not suppressed else []
        failure_hits = [h for h in hits if h.polarity == "failure"]
        if hits:
            decided = max(p_failure, TRIPWIRE_FAILURE) if failure_hits else min(p_failure, TRIPWIRE_HEALTHY)
            if decided != p_failure:  # re-rank with the tripwire's polarity, as if the model had decided it
                entry_score = self._repolarised(entry_score, p_failure, decided)
                p_entry = self.model.calibration.entry(entry_score)
                order = np.argsort(-entry_score, kind="stable")[:top_k]
            p_failure = decided
        matches = self._matches(order, p_entry, entry_score, hits, top_k)
        is_evidence = not suppressed and (p_evidence >= t.evidence or bool(hits))
        if not is_evidence:
            return Prediction(matches, None, [], [], None, p_evidence, p_failure, suppressed,
                              [h.reason for h in hits])
        theme = self._theme(best_theme, failure_hits or hits)
        flagged: list[str] = []
        if p_failure >= t.flag_for(theme):
            flagged = [m.entry.id for m in matches if m.entry.is_failure
                       and (m.reason.startswith("tripwire") or (m.probability or 0.0) >= t.link_for(m.entry.id))]
            if not flagged:
                failures = [m for m in matches if m.entry.is_failure]
                if not failures:  # the best failure indicator takes the last place
                    j = best_failure
                    failures = [Match(self.entries[j], float(p_entry[j]), float(p_entry[j]), "model")]
                    matches = [*matches[: top_k - 1], failures[0]]
                flagged = [failures[0].entry.id]
        if flagged:
            evidence = [m for m in matches if m.entry.id in flagged]
            polarity = "failure"
        else:
            evidence = [m for m in matches if not m.entry.is_failure
                        and (m.reason.startswith("tripwire") or (m.probability or 0.0) >= t.link_for(m.entry.id))]
            polarity = "positive" if hits or p_failure < t.flag_for(theme) / 2 else "neutral"
        if not evidence:
            evidence = [next((m for m in matches if not m.entry.is_failure or flagged), matches[0])]
        return Prediction(matches, theme, flagged, evidence, polarity, p_evidence, p_failure, None,
                          [h.reason for h in hits])

    def _repolarised(self, entry_score: np.ndarray, before: float, after: float) -> np.ndarray:
        """The entry scores with the polarity term recomputed for P(failure) = ``after`` instead of ``before``."""
        before, after = min(max(before, 1e-6), 1 - 1e-6), min(max(after, 1e-6), 1 - 1e-6)
        shift = np.where(self.model.entry_is_failure, np.log(after) - np.log(before),
                         np.log1p(-after) - np.log1p(-before))
        return entry_score + self.model.weights.polarity * shift

    def _matches(self, order: np.ndarray, p_entry: np.ndarray, entry_score: np.ndarray,
                 hits: list[TripwireHit], top_k: int) -> list[Match]:
        """The model's top entries, with tripwire entries lifted to at least TRIPWIRE_PROBABILITY, best first."""
        chosen: dict[int, tuple[float, str]] = {int(j): (float(p_entry[j]), "model") for j in order}
        for hit in hits:
            for rank, entry_id in enumerate(hit.entries):
                j = self._entry_index[entry_id]
                floor = TRIPWIRE_PROBABILITY - 0.01 * rank
                probability = max(float(p_entry[j]), floor)
                if j not in chosen or chosen[j][1] == "model":
                    chosen[j] = (probability, hit.reason)
        ranked = sorted(chosen.items(), key=lambda kv: (-kv[1][0], -float(entry_score[kv[0]]), kv[0]))[:top_k]
        return [Match(self.entries[j], probability, probability, reason) for j, (probability, reason) in ranked]

    def _theme(self, best_theme: str, hits: list[TripwireHit]) -> str:
        """The model's theme, unless a tripwire names entries of other themes only: then its first entry's."""
        if not hits:
            return best_theme
        rule_themes = {self.entries[self._entry_index[e]].theme for h in hits for e in h.entries}
        if best_theme in rule_themes:
            return best_theme
        return self.entries[self._entry_index[hits[0].entries[0]]].theme


Classifier = EvidenceClassifier


def load_classifier(encoder: Encoder, taxonomy_id: str = DEFAULT_TAXONOMY, model_dir: Path | None = None,
                    registry: Path | None = None) -> EvidenceClassifier | SimilarityClassifier:
    """The evidence classifier when the taxonomy has artefacts for this encoder, else the similarity fallback.

    The artefacts come from ``model_dir`` if given, else from the registry's active model (see
    ``pipeline.registry``; ``triage learn`` writes it), else from the shipped ``models/<taxonomy>/``.
    """
    taxonomy = load_taxonomy(taxonomy_id)
    directory = model_dir or (registry and active_model_dir(registry, taxonomy.id)) or MODELS_DIR / taxonomy.id
    if model_files_exist(directory):
        model = load_model(directory)
        if model.model_id == encoder.model_id:
            return EvidenceClassifier(encoder, taxonomy, model_dir=directory, model=model)
    return SimilarityClassifier(encoder, taxonomy)
