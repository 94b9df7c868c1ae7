"""Light learned heads over the frozen sentence embeddings: logistic regressions.

Inference is numpy only (one matrix product per head); scikit-learn is needed only to fit
them (``python -m pipeline.training``). Fitting runs with one BLAS thread: on two cores,
scikit-learn's lbfgs with two threads was ten times slower than with one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """Multinomial (softmax) or binary (sigmoid, one weight row) logistic regression."""

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray  # (classes, features), or (1, features) for a binary head
    bias: np.ndarray  # (classes,) or (1,)

    @property
    def binary(self) -> bool:
        return self.weights.shape[0] == 1

    @property
    def n_features(self) -> int:
        return int(self.weights.shape[1])

    def logits(self, features: np.ndarray) -> np.ndarray:
        if features.shape[1] != self.n_features:
            raise ValueError(f"head {self.name} expects {self.n_features} features, got {features.shape[1]}")
        return features @ self.weights.T + self.bias

    def proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (columns in ``classes`` order); a binary head gives P(classes[1]) as one column."""
        z = self.logits(features).astype(np.float64)
        if self.binary:
            return 0.5 * (1.0 + np.tanh(0.5 * z))
        return softmax(z)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"{self.name}.weights": self.weights.astype(np.float32),
                f"{self.name}.bias": self.bias.astype(np.float32)}

    @classmethod
    def from_arrays(cls, name: str, classes: Sequence[str], arrays: dict[str, np.ndarray]) -> LinearHead:
        return cls(name, tuple(classes), np.asarray(arrays[f"{name}.weights"], dtype=np.float32),
                   np.asarray(arrays[f"{name}.bias"], dtype=np.float32))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise class probabilities of multinomial logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_head(name: str, features: np.ndarray, labels: Sequence[str], classes: Sequence[str],
             sample_weight: np.ndarray | None = None, c: float = 16.0) -> LinearHead:
    """L2 logistic regression (lbfgs, deterministic); ``classes`` fixes the column order.

    A binary head (two classes) predicts ``classes[1]``. Classes absent from ``labels`` get a
    zero weight row and a very low bias, so the head still has a column for them. ``features`` may be a scipy
    sparse matrix (the lexical head's terms).
    """
    from scipy.sparse import issparse
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    classes = tuple(classes)
    y = np.array([classes.index(label) for label in labels])
    present = sorted(set(y.tolist()))
    x = features.astype(np.float64) if issparse(features) else np.asarray(features, dtype=np.float64)
    with threadpool_limits(1):
        model = LogisticRegression(C=c, max_iter=5000, tol=1e-6).fit(x, y, sample_weight=sample_weight)
    if len(classes) == 2:
        if present != [0, 1]:
            raise ValueError(f"head {name} needs both classes {classes} in its training labels")
        return LinearHead(name, classes, model.coef_.astype(np.float32), model.intercept_.astype(np.float32))
    weights = np.zeros((len(classes), x.shape[1]), dtype=np.float32)
    bias = np.full(len(classes), -30.0, dtype=np.float32)
    weights[present] = model.coef_
    bias[present] = model.intercept_
    return LinearHead(name, classes, weights, bias)
