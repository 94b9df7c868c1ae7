"""Map raw scores to calibrated probabilities, and pick decision thresholds on them.

Platt scaling (a logistic curve with a non-negative slope) is fitted on out-of-fold scores, so
a probability is never learned from a head's own training rows. The slope is kept at or
above zero, so a higher score never gets a lower probability. Thresholds maximise F1 on those
out-of-fold probabilities; per-group thresholds (per theme, per entry) are shrunk towards the
global one by the group's number of positives, so a group with three labels cannot move far, and
a threshold resting on a handful of positives is bagged over bootstrap resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
EPS = 1e-6


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free


@dataclass(frozen=True)
class Platt:
    """``p = sigmoid(slope * score + intercept)`` with ``slope >= 0``: monotone non-decreasing."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, scores: np.ndarray | float) -> np.ndarray:
        return sigmoid(self.slope * np.asarray(scores, dtype=np.float64) + self.intercept)

    def logit(self, scores: np.ndarray | float) -> np.ndarray:
        return self.slope * np.asarray(scores, dtype=np.float64) + self.intercept

    def key(self) -> str:
        return f"{self.slope:.6f},{self.intercept:.6f}"


def fit_platt(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray,
              iterations: int = 100) -> Platt:
    """Platt's method with his smoothed targets ((n+ + 1) / (n+ + 2), 1 / (n- + 2)), by Newton steps."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if s.size == 0 or y.all() or not y.any():
        rate = (y.sum() + 1) / (y.size + 2)
        return Platt(0.0, float(logit(rate)))
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    target = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, float(logit(n_pos / y.size))
    for _ in range(iterations):
        p = sigmoid(a * s + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - target) * s), np.sum(p - target)])
        h = np.array([[np.sum(w * s * s), np.sum(w * s)], [np.sum(w * s), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if a < 0:  # never invert a score; fall back to the base rate
        return Platt(0.0, float(logit((n_pos + 1) / (y.size + 2))))
    return Platt(float(a), float(b))


def f1_at(probabilities: np.ndarray, gold: np.ndarray, threshold: float) -> float:
    predicted = probabilities >= threshold
    tp = int(np.sum(predicted & gold))
    fp = int(np.sum(predicted & ~gold))
    fn = int(np.sum(~predicted & gold))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def binary_f1(gold: Sequence[bool], predicted: Sequence[bool]) -> float | None:
    """F1 of the positive class; None when neither gold nor predictions have a positive."""
    tp, fp, fn = confusion_counts(gold, predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


def confusion_counts(gold: Sequence[bool], predicted: Sequence[bool]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives)."""
    pairs = list(zip(gold, predicted, strict=True))
    return (sum(g and p for g, p in pairs), sum(p and not g for g, p in pairs), sum(g and not p for g, p in pairs))


def best_threshold(probabilities: Sequence[float] | np.ndarray, gold: Sequence[bool] | np.ndarray,
                   grid: np.ndarray = THRESHOLD_GRID, tolerance: float = 0.005) -> float:
    """The middle of the thresholds whose F1 is within ``tolerance`` of the best (a plateau, not a spike)."""
    p = np.asarray(probabilities, dtype=np.float64)
    g = np.asarray(gold, dtype=bool)
    if not g.any():
        return float(grid[-1])
    f1s = np.array([f1_at(p, g, t) for t in grid])
    good = grid[f1s >= f1s.max() - tolerance]
    return float(good[len(good) // 2])


def bagged_threshold(probabilities: Sequence[float] | np.ndarray, gold: Sequence[bool] | np.ndarray,
                     resamples: int = 200, seed: int = 0) -> float:
    """The mean of ``best_threshold`` over bootstrap resamples: the F1-best threshold of a handful of positives
    jumps with which of them happen to be in the sample (real papers hold a few failures in a thousand passages),
    and bagging it keeps the estimate and drops the jump."""
    p = np.asarray(probabilities, dtype=np.float64)
    g = np.asarray(gold, dtype=bool)
    if not g.any():
        return best_threshold(p, g)
    rng = np.random.default_rng(seed)
    picked = []
    for _ in range(resamples):
        sample = rng.integers(0, len(p), len(p))
        if g[sample].any():
            picked.append(best_threshold(p[sample], g[sample]))
    return round(float(np.mean(picked)), 4)


def shrunk_threshold(own: float, global_: float, positives: int, strength: float = 20.0) -> float:
    """A group's threshold pulled towards the global one: weight positives / (positives + strength)."""
    weight = positives / (positives + strength)
    return round(weight * own + (1 - weight) * global_, 4)
