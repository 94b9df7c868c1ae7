"""A fit on real written rows and their shipped vectors reads each row's text for its lexical terms once, however
many inner folds fit and score it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pipeline.classify.lexical import terms
from pipeline.classify.model import load_model
from pipeline.paths import MODELS_DIR
from pipeline.taxonomy import load_taxonomy
from pipeline.training.dataset import TrainingSet, load_devset
from pipeline.training.fit import TrainSettings, fit_model

pytestmark = pytest.mark.slow

SHIPPED = MODELS_DIR / "bv-2023-draft"


class ShippedVectors:
    """The encoder's boundary: the shipped model's id, and a failure if anything would be encoded (the written rows'
    vectors are shipped)."""

    def __init__(self) -> None:
        self.model_id = load_model(SHIPPED).model_id

    def encode(self, texts: list[str]) -> np.ndarray:
        raise AssertionError(f"{len(texts)} texts encoded; the shipped vectors should have been read")


def test_a_fit_reads_each_rows_terms_once(reads_of):
    """Every inner fold fits the lexical head on some rows and scores the others; all of them take the terms read
    once per row (two folds and 61 rows keep the fit to seconds)."""
    written = TrainingSet.load(ShippedVectors(), load_taxonomy(), SHIPPED, rows=load_devset())
    data = written.subset(range(0, len(written.rows), 13)).stored()
    read = reads_of(terms)
    model = fit_model(data, TrainSettings(inner_folds=2))
    assert read == Counter(data.texts)
    assert model.lexical_head.n_features == len(model.lexicon.vocabulary) > 100
