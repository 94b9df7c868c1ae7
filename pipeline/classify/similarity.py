"""The similarity fallback: the best cosine between a passage and each entry's vectors, fixed thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.classify.base import DEFAULT_TOP_K, Context, contexts_for
from pipeline.classify.entry_vectors import EntryBank, load_entry_bank
from pipeline.classify.rules.polarity import cue_counts
from pipeline.classify.rules.priors import suppression_reason
from pipeline.domain import Match, Polarity, Prediction
from pipeline.embed import Encoder
from pipeline.ids import short_hash
from pipeline.taxonomy import Taxonomy


@dataclass(frozen=True)
class Thresholds:
    """Similarity fallback: cosine a passage needs to be evidence for an entry, and to flag a failure."""

    evidence: float = 0.45
    flag: float = 0.50

    def key(self) -> str:
        return f"evidence={self.evidence:.4f};flag={self.flag:.4f}"


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
        ctx = contexts_for(contexts, len(vectors))
        predictions = []
        for i, (row_scores, row_order) in enumerate(zip(scores, order, strict=True)):
            suppressed = suppression_reason(texts[i], cue_counts(texts[i]), ctx[i]) if texts is not None else None
            predictions.append(self._prediction(row_scores, row_order, suppressed))
        return predictions

    def _prediction(self, row_scores: np.ndarray, row_order: np.ndarray, suppressed: str | None) -> Prediction:
        matches = [Match(self.entries[i], float(row_scores[i])) for i in row_order]
        if suppressed or matches[0].score < self.thresholds.evidence:
            return Prediction(matches, None, [], [], suppressed=suppressed)
        flagged = [m.entry.id for m in matches if m.entry.is_failure and m.score >= self.thresholds.flag]
        evidence = [m for m in matches if m.score >= self.thresholds.evidence]
        return Prediction(matches, matches[0].entry.theme, flagged, evidence,
                          polarity=Polarity.FAILURE if flagged else Polarity.NEUTRAL)
