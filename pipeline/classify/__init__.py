"""Link passages to taxonomy entries: is it evidence, for which theme and entries, and is it a failure?

Two classifiers share one interface (``predict_texts``, ``predict_vectors``, ``id``):

- ``EvidenceClassifier`` (the default, ``evidence-v1``): multi-vector entry similarity, polarity
  cues, learned logistic heads, calibrated probabilities, per-theme and per-entry thresholds
  and high-precision tripwires. Its artefacts ship under
  ``models/<taxonomy>/`` and are rebuilt by ``python -m pipeline.training``.
- ``SimilarityClassifier`` (the fallback for a taxonomy without trained artefacts, e.g.
  ``wales-2013``): the best cosine between a passage and an entry's vectors, fixed thresholds.

``load_classifier(encoder, taxonomy_id)`` picks the first that can load. Each classifier's id
hashes everything that changes its output (model, taxonomy version and text, entry texts,
artefacts, thresholds, tripwire table), so stored evidence always says what produced it.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.classify.evidence import EvidenceClassifier
from pipeline.classify.model import load_model, model_files_exist
from pipeline.classify.registry import active_model_dir
from pipeline.classify.similarity import SimilarityClassifier
from pipeline.embed import Encoder
from pipeline.paths import MODELS_DIR
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy


def load_classifier(encoder: Encoder, taxonomy_id: str = DEFAULT_TAXONOMY, model_dir: Path | None = None,
                    registry: Path | None = None) -> EvidenceClassifier | SimilarityClassifier:
    """The evidence classifier when the taxonomy has artefacts for this encoder, else the similarity fallback.

    The artefacts come from ``model_dir`` if given, else from the registry's active model (see
    ``pipeline.classify.registry``; ``triage learn`` writes it), else from the shipped ``models/<taxonomy>/``.
    """
    taxonomy = load_taxonomy(taxonomy_id)
    directory = model_dir or (registry and active_model_dir(registry, taxonomy.id)) or MODELS_DIR / taxonomy.id
    if model_files_exist(directory):
        model = load_model(directory)
        if model.model_id == encoder.model_id:
            return EvidenceClassifier(encoder, taxonomy, model_dir=directory, model=model)
    return SimilarityClassifier(encoder, taxonomy)
