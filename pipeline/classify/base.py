"""What every classifier offers: predictions for passage texts, an id that names what produced them.

``Classifier`` is what ``triage predict`` and evaluation need (the evidence, similarity and BM25
classifiers all implement it); ``VectorClassifier`` adds scoring of precomputed embeddings, which
ingestion needs so that a text is embedded once and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from pipeline.domain import PassageContext, Prediction
from pipeline.taxonomy import Taxonomy

if TYPE_CHECKING:
    from pipeline.embed import Encoder

DEFAULT_TOP_K = 5
Context = PassageContext


@runtime_checkable
class Classifier(Protocol):
    taxonomy: Taxonomy

    @property
    def id(self) -> str: ...

    def predict_texts(self, texts: list[str], top_k: int = DEFAULT_TOP_K,
                      contexts: Sequence[Context | None] | None = None) -> list[Prediction]: ...


@runtime_checkable
class VectorClassifier(Classifier, Protocol):
    encoder: Encoder

    def predict_vectors(self, vectors: np.ndarray, top_k: int = DEFAULT_TOP_K, texts: Sequence[str] | None = None,
                        contexts: Sequence[Context | None] | None = None) -> list[Prediction]: ...


def contexts_for(contexts: Sequence[Context | None] | None, n: int) -> list[Context | None]:
    if contexts is None:
        return [None] * n
    if len(contexts) != n:
        raise ValueError(f"{n} passages but {len(contexts)} contexts")
    return list(contexts)
