"""A BM25 keyword baseline with the ``triage predict`` output format.

It tells us how much of the embedding classifier's score a bag of words already gets.
Each taxonomy entry is one document: its text plus its theme's name and description, so
words typical of a theme lift all of that theme's entries. Scores are unbounded and
depend on the taxonomy, so the two thresholds are fitted on labelled rows rather than
fixed; unfitted, any word in common counts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.classify.base import DEFAULT_TOP_K, Context
from pipeline.classify.calibration import binary_f1
from pipeline.domain import GoldPassage, Match, Prediction
from pipeline.ids import short_hash
from pipeline.taxonomy import Taxonomy

QUANTILES = np.linspace(0.0, 1.0, 101)

STOPWORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did",
    "do", "does", "doing", "down", "during", "each", "either", "few", "for", "from", "further", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "may", "me", "might", "more", "most", "must", "my", "no", "nor", "not", "now", "of", "off",
    "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some",
    "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "upon", "very", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "you", "your",
})

_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = (("sses", "ss"), ("ies", "y"), ("ied", "y"), ("ingly", ""), ("edly", ""), ("ing", ""), ("ed", ""),
             ("ly", ""), ("es", "e"), ("ss", "ss"), ("us", "us"), ("is", "is"), ("s", ""))


def tokenize(text: str) -> list[str]:
    """Lowercase words, without stopwords or one-letter words, lightly stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


def stem(word: str) -> str:
    """Strip common inflections so "reserves", "reserved" and "reserve" meet; no dictionary, so stems need not be words.

    Only the first matching suffix is removed; then a final "e" and (after "-ed"/"-ing") a doubled consonant go,
    so "planning" meets "plan" and "managed" meets "manage".
    """
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


@dataclass(frozen=True)
class BM25Thresholds:
    evidence: float = 0.0  # a passage has a theme when its best score is at least this
    flag: float = 0.0  # a failure indicator in the top K is flagged when its score is at least this


class BM25Classifier:
    """Okapi BM25 between a passage (the query) and each taxonomy entry (a document)."""

    def __init__(self, taxonomy: Taxonomy, k1: float = 1.5, b: float = 0.75,
                 thresholds: BM25Thresholds | None = None) -> None:
        self.taxonomy = taxonomy
        self.k1, self.b = k1, b
        self.thresholds = thresholds or BM25Thresholds()
        self.entries = list(taxonomy.entries)
        descriptions = {t.id: f"{t.name} {t.description}" for t in taxonomy.themes}
        documents = [Counter(tokenize(f"{e.text} {descriptions[e.theme]}")) for e in self.entries]
        self.vocabulary = {term: i for i, term in enumerate(sorted(set().union(*documents)))}
        tf = np.zeros((len(documents), len(self.vocabulary)))
        for row, counts in enumerate(documents):
            for term, count in counts.items():
                tf[row, self.vocabulary[term]] = count
        lengths = tf.sum(axis=1, keepdims=True)
        df = (tf > 0).sum(axis=0)
        idf = np.log1p((len(documents) - df + 0.5) / (df + 0.5))  # never negative, unlike the original BM25 idf
        saturation = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / lengths.mean()))
        self._weights = saturation * idf  # n_entries x n_terms; a query sums the columns of its words

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """BM25 score of each text (rows) against each entry (columns); repeated query words count again."""
        queries = np.zeros((len(texts), len(self.vocabulary)))
        for row, text in enumerate(texts):
            for term in tokenize(text):
                if term in self.vocabulary:
                    queries[row, self.vocabulary[term]] += 1
        return queries @ self._weights.T

    @property
    def id(self) -> str:
        return "bm25-" + short_hash(self.taxonomy.id, self.taxonomy.content_hash, self.k1, self.b,
                                    self.thresholds.evidence, self.thresholds.flag, length=10)

    def predict_texts(self, texts: list[str], top_k: int = DEFAULT_TOP_K,
                      contexts: Sequence[Context | None] | None = None) -> list[Prediction]:
        """Predictions for passage texts; the context is not used (a bag of words has no priors)."""
        scores = self.scores(texts)
        return [self._prediction(row, order) for row, order in zip(scores, _ranks(scores, top_k), strict=True)]

    def predict(self, records: Sequence[dict], top_k: int = DEFAULT_TOP_K) -> list[dict]:
        """One prediction per record, in order, as ``triage predict`` writes them."""
        predictions = self.predict_texts([str(r.get("text") or "") for r in records], top_k)
        return [p.as_record(r.get("id")) for r, p in zip(records, predictions, strict=True)]

    def _prediction(self, row: np.ndarray, order: np.ndarray) -> Prediction:
        matches = [Match(self.entries[i], float(row[i])) for i in order if row[i] > 0]
        evidence = [m for m in matches if m.score >= self.thresholds.evidence] if matches else []
        flagged = [m.entry.id for m in matches if m.entry.is_failure and m.score >= self.thresholds.flag]
        return Prediction(matches, matches[0].entry.theme if evidence else None, flagged, evidence)

    def fit_thresholds(self, gold: Sequence[GoldPassage], top_k: int = DEFAULT_TOP_K) -> BM25Thresholds:
        """Pick each threshold from the percentiles of the rows' scores to maximise evidence F1 and failure flag F1.

        The two are independent: the theme depends only on the best score, flagging only on the failure
        indicators in the top K. Ties go to the lowest threshold, so the result is deterministic.
        """
        scores = self.scores([g.text for g in gold])
        ranks = _ranks(scores, top_k)
        top = np.take_along_axis(scores, ranks, axis=1)
        is_failure = np.array([e.is_failure for e in self.entries])[ranks]
        best_failure = np.where(is_failure, top, 0.0).max(axis=1)
        self.thresholds = BM25Thresholds(
            evidence=_best_threshold(top[:, 0], [g.theme is not None for g in gold]),
            flag=_best_threshold(best_failure, [g.polarity == "failure" for g in gold]),
        )
        return self.thresholds


def _ranks(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Column indices of each row's ``top_k`` best scores, best first; ties keep taxonomy order."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :top_k]


def _best_threshold(values: np.ndarray, gold: list[bool]) -> float:
    """The percentile of positive ``values`` whose ``value >= threshold`` rule has the best F1 against ``gold``."""
    positive = values[values > 0]
    if positive.size == 0:
        return 0.0
    candidates = np.unique(np.quantile(positive, QUANTILES))
    f1s = [binary_f1(gold, list((values >= t) & (values > 0))) or 0.0 for t in candidates]
    return float(candidates[int(np.argmax(f1s))])
