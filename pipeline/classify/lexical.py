"""The passage's words, for the evidence decision: TF-IDF over the BM25 tokenizer's stems and stem bigrams.

A whole-passage embedding blurs what real papers' words say plainly: a minute's furniture ("moved and seconded",
"apologies"), a traffic scheme's detail or a constitution's procedure is no evidence, while "reserves",
"scrutiny" or "consultation" lean towards it. A logistic head over these terms (``lexical`` in ``heads.npz``) gives
the evidence stage a second opinion beside the theme head's (see ``pipeline.classify.model``).

Fitting and scoring read passages the same way: each passage's ``terms``, read from its text once (training carries
every row's terms through its folds), then ``lexical_matrix``, one sparse row of (term, weight) pairs each.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix

from pipeline.classify.bm25 import tokenize
from pipeline.classify.heads import LinearHead

MIN_DOCUMENT_FREQUENCY = 2  # a term of one training passage only is that passage's, not the theme's


def terms(text: str) -> list[str]:
    """Stems (BM25's tokenizer: lowercased, stopwords out) and the bigrams of neighbouring stems."""
    stems = tokenize(text)
    return stems + [f"{a} {b}" for a, b in pairwise(stems)]


def _as_terms(passage: Sequence[str]) -> Sequence[str]:
    """A passage's ``terms``; its text (a string is a sequence of strings too) would be read as one-letter terms."""
    if isinstance(passage, str):
        raise TypeError(f"a passage's terms(text) expected, not its text: {passage[:40]!r}")
    return passage


@dataclass(frozen=True)
class Lexicon:
    """The vocabulary and inverse document frequencies fitted on the training passages."""

    vocabulary: tuple[str, ...]
    idf: np.ndarray  # (terms,) float32, smoothed: ln((1 + n) / (1 + df)) + 1
    _column: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.vocabulary) != len(self.idf):
            raise ValueError(f"{len(self.vocabulary)} terms but {len(self.idf)} idf weights")
        object.__setattr__(self, "_column", {t: i for i, t in enumerate(self.vocabulary)})

    @classmethod
    def fit(cls, passages: Iterable[Sequence[str]], min_df: int = MIN_DOCUMENT_FREQUENCY) -> Lexicon:
        """The lexicon of these passages' ``terms``."""
        document_frequency: Counter[str] = Counter()
        n = 0
        for passage in passages:
            document_frequency.update(set(_as_terms(passage)))
            n += 1
        vocabulary = tuple(sorted(t for t, df in document_frequency.items() if df >= min_df))
        idf = [math.log((1 + n) / (1 + document_frequency[t])) + 1.0 for t in vocabulary]
        return cls(vocabulary, np.asarray(idf, dtype=np.float32))

    def weighted_terms(self, passage: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(columns, weights) of the passage's known ``terms``: sublinear tf times idf, L2-normalised."""
        counts = Counter(t for t in _as_terms(passage) if t in self._column)
        columns = np.fromiter((self._column[t] for t in counts), dtype=np.int64, count=len(counts))
        weights = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
        weights *= self.idf[columns]
        norm = float(np.linalg.norm(weights))
        return columns, weights / norm if norm else weights


def lexical_matrix(lexicon: Lexicon, passages: Sequence[Sequence[str]]) -> csr_matrix:
    """The passages' TF-IDF terms (from each passage's ``terms``), a sparse row each: what the lexical head is fitted
    on and scores."""
    columns, weights, starts = [], [], [0]
    for passage in passages:
        c, w = lexicon.weighted_terms(passage)
        columns.append(c)
        weights.append(w)
        starts.append(starts[-1] + len(c))
    return csr_matrix((np.concatenate([np.zeros(0, np.float32), *weights]),
                       np.concatenate([np.zeros(0, np.int64), *columns]), np.array(starts)),
                      shape=(len(passages), len(lexicon.vocabulary)))


def lexical_logits(head: LinearHead, lexicon: Lexicon, passages: Sequence[Sequence[str]]) -> np.ndarray:
    """(passages, classes) logits of a head over the lexicon's columns, from each passage's ``terms``."""
    if head.n_features != len(lexicon.vocabulary):
        raise ValueError(f"head {head.name} expects {head.n_features} terms, the lexicon has {len(lexicon.vocabulary)}")
    matrix = lexical_matrix(lexicon, passages).astype(np.float64)
    return np.asarray(matrix @ head.weights.T.astype(np.float64)) + head.bias
