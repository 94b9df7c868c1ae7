"""The evidence classifier: learned heads over frozen embeddings, polarity, calibration and tripwires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.classify.base import DEFAULT_TOP_K, Context, contexts_for
from pipeline.classify.calibration import sigmoid
from pipeline.classify.entry_vectors import EntryBank, load_entry_bank
from pipeline.classify.model import EvidenceModel, ModelThresholds, load_model
from pipeline.classify.rules.polarity import CueCounts
from pipeline.classify.rules.priors import rules_key, suppression_reason
from pipeline.classify.rules.tripwires import TripwireHit, Tripwires, load_tripwires
from pipeline.domain import Match, Polarity, Prediction
from pipeline.embed import Encoder
from pipeline.errors import ModelError
from pipeline.ids import short_hash
from pipeline.paths import MODELS_DIR
from pipeline.taxonomy import Taxonomy

TRIPWIRE_PROBABILITY = 0.95  # an entry a tripwire names is at least this probable (its first entry)
TRIPWIRE_FAILURE = 0.95  # P(failure) when a failure tripwire fires
TRIPWIRE_HEALTHY = 0.05  # P(failure) at most, when only a positive (or negated) tripwire fires


class EvidenceClassifier:
    """Calibrated evidence classifier: learned heads over frozen embeddings, polarity and tripwires.

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
        ctx = contexts_for(contexts, n)
        model = self.model
        raw = model.raw_scores(self.bank, np.asarray(vectors, dtype=np.float32), texts)
        combined = model.combine(raw)
        p_evidence, p_failure = sigmoid(combined.evidence_logit), sigmoid(combined.failure_logit)
        p_entry = model.calibration.entry(combined.entry_score)
        order = np.argsort(-combined.entry_score, axis=1, kind="stable")[:, :top_k]
        best_failure = np.argmax(np.where(model.entry_is_failure, combined.entry_score, -np.inf), axis=1)
        best_theme = np.argmax(combined.theme_score, axis=1)
        return [
            self._prediction(
                text=texts[i] if texts is not None else None, cues=raw.counts[i] if raw.counts is not None else None,
                context=ctx[i], top_k=top_k, order=order[i],
                p_entry=p_entry[i], entry_score=combined.entry_score[i], p_evidence=float(p_evidence[i]),
                p_failure=float(p_failure[i]), best_theme=model.themes[best_theme[i]],
                best_failure=int(best_failure[i]),
            )
            for i in range(n)
        ]

    def _prediction(self, *, text: str | None, cues: CueCounts | None, context: Context | None, top_k: int,
                    order: np.ndarray, p_entry: np.ndarray, entry_score: np.ndarray, p_evidence: float,
                    p_failure: float, best_theme: str, best_failure: int) -> Prediction:
        """One passage's prediction; ``cues`` are its cue counts from ``raw_scores``, read again by the rules."""
        t = self.thresholds
        suppressed, hits = None, []
        if text is not None and cues is not None:  # a passage without its text has no cues and no rules
            suppressed = suppression_reason(text, cues, context)
            hits = [] if suppressed else self.tripwires.match(text, cues)
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
        # The one number: P(the passage evidences a failure) = P(evidence) x P(failure | evidence), or the
        # tripwire's certainty. It decides the flag against the theme's threshold and is the probability
        # every flagged link carries, so no link is flagged below its threshold.
        p_flag = p_failure if failure_hits else p_evidence * p_failure
        if not is_evidence:
            return Prediction(matches, None, [], [], None, p_evidence, p_failure, suppressed,
                              [h.reason for h in hits], p_flag)
        theme = self._theme(best_theme, failure_hits or hits)
        flagged: list[str] = []
        if p_flag >= t.flag_for(theme):
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
            matches = [replace(m, probability=p_flag) if m.entry.id in flagged else m for m in matches]
            evidence = [m for m in matches if m.entry.id in flagged]
            polarity = Polarity.FAILURE
        else:
            evidence = [m for m in matches if not m.entry.is_failure
                        and (m.reason.startswith("tripwire") or (m.probability or 0.0) >= t.link_for(m.entry.id))]
            polarity = Polarity.POSITIVE if hits or p_flag < t.flag_for(theme) / 2 else Polarity.NEUTRAL
        if not evidence:
            evidence = [next((m for m in matches if not m.entry.is_failure or flagged), matches[0])]
        return Prediction(matches, theme, flagged, evidence, polarity, p_evidence, p_failure, None,
                          [h.reason for h in hits], p_flag)

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

