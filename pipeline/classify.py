"""Score passages against taxonomy entries by embedding similarity.

The classifier's id hashes everything that changes its output (model, taxonomy
version and text, thresholds), so stored evidence always says what produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.embed import Encoder
from pipeline.ids import short_hash
from pipeline.taxonomy import Entry, Taxonomy

DEFAULT_TOP_K = 5


@dataclass(frozen=True)
class Thresholds:
    """Cosine similarity a passage needs to be evidence for an entry, and to flag a failure."""

    evidence: float = 0.45
    flag: float = 0.50

    def key(self) -> str:
        return f"evidence={self.evidence:.4f};flag={self.flag:.4f}"


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float

    def as_record(self) -> dict[str, object]:
        return {"id": self.entry.id, "theme": self.entry.theme, "kind": self.entry.kind,
                "score": round(self.score, 4)}


@dataclass
class Prediction:
    matches: list[Match]  # best first
    theme: str | None  # None when the passage evidences no theme
    flagged: list[str]  # failure indicators evidenced at the flag threshold
    evidence: list[Match]  # matches at or above the evidence threshold, kept as evidence links


class SimilarityClassifier:
    """Cosine similarity between a passage and each entry's text, one matrix product per batch."""

    name = "similarity-v1"

    def __init__(self, encoder: Encoder, taxonomy: Taxonomy, thresholds: Thresholds | None = None) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.thresholds = thresholds or Thresholds()
        self.entries = list(taxonomy.entries)
        self._entry_vectors = encoder.encode([e.text for e in self.entries])

    @property
    def id(self) -> str:
        return "clf-" + short_hash(self.name, self.encoder.model_id, self.taxonomy.id, self.taxonomy.content_hash,
                                   self.thresholds.key(), length=10)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self._entry_vectors.T

    def predict_texts(self, texts: list[str], top_k: int = DEFAULT_TOP_K) -> list[Prediction]:
        return self.predict_vectors(self.encoder.encode(texts), top_k)

    def predict_vectors(self, vectors: np.ndarray, top_k: int = DEFAULT_TOP_K) -> list[Prediction]:
        if len(vectors) == 0:
            return []
        scores = self.scores(vectors)
        order = np.argsort(-scores, axis=1)[:, :top_k]
        return [self._prediction(row_scores, row_order) for row_scores, row_order in zip(scores, order, strict=True)]

    def _prediction(self, row_scores: np.ndarray, row_order: np.ndarray) -> Prediction:
        matches = [Match(self.entries[i], float(row_scores[i])) for i in row_order]
        best = matches[0]
        theme = best.entry.theme if best.score >= self.thresholds.evidence else None
        flagged = [m.entry.id for m in matches if m.entry.is_failure and m.score >= self.thresholds.flag]
        evidence = [m for m in matches if m.score >= self.thresholds.evidence]
        return Prediction(matches, theme, flagged, evidence)
