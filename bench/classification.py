"""`triage predict` against the bare fp32 ``encode`` of the same passages, and how the
classifier's own time grows with the number of passages and of taxonomy entries.

Both sides run in this process after the model is loaded and warmed up; each is timed
twice, alternating, and the faster run counts. Growth with the number of entries is measured on
the real classifier with its taxonomy, entry vectors and entry head repeated k times.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from bench.common import Figure, timed
from pipeline.classify import load_classifier
from pipeline.classify.entry_vectors import EntryBank
from pipeline.classify.evidence import EvidenceClassifier
from pipeline.collect.corpus import discover
from pipeline.embed import load_encoder
from pipeline.extract import extract_document
from pipeline.passages.segment import Segmenter
from pipeline.paths import DEMO_CORPUS, DEVSET
from pipeline.predict import predict_records

PASSAGES = 1000
PASSAGE_SCALES = (250, 500, 1000, 2000, 4000)
ENTRY_COPIES = (1, 2, 4, 8)


def sample_passages(n: int = PASSAGES) -> list[str]:
    """The bundled corpus's passages, then development-set passages, to ``n``: realistic lengths."""
    texts: list[str] = []
    segmenter = Segmenter()
    for source in discover([DEMO_CORPUS])[1]:
        texts += [p.text for p in segmenter.passages(extract_document(source.path)) if not p.boilerplate]
    with DEVSET.open(encoding="utf-8") as lines:
        texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return texts[:n]


def run() -> list[Figure]:
    texts = sample_passages()
    classifier = load_classifier(load_encoder())
    fp32 = load_encoder("fp32")
    for encoder in (classifier.encoder, fp32):
        encoder.encode(texts[:64])  # load and warm up
    records = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    bare = predict = float("inf")
    for _ in range(2):
        bare = min(bare, timed(lambda: fp32.encode(texts))[0])
        predict = min(predict, timed(lambda: list(predict_records(records, classifier, top_k=5)))[0])
    figures = [Figure("classification", f"triage predict, {len(texts)} passages", predict, "s",
                      "bare fp32 encode of the same passages (target: predict within 1.3x)", bare, bare / predict)]
    vectors = classifier.encoder.encode(texts)
    by_passages = {n: _classify_seconds(classifier, vectors, texts, n) for n in PASSAGE_SCALES}
    figures.append(_growth("passages", by_passages))
    by_entries = {len(classifier.entries) * k: _classify_seconds(_repeated(classifier, k), vectors, texts, PASSAGES)
                  for k in ENTRY_COPIES}
    figures.append(_growth("taxonomy entries", by_entries))
    return figures


def _classify_seconds(classifier: EvidenceClassifier, vectors: np.ndarray, texts: list[str], n: int) -> float:
    """The classifier alone (vectors given), on ``n`` passages: the best of three."""
    reps = -(-n // len(texts))
    v, t = np.tile(vectors, (reps, 1))[:n], (texts * reps)[:n]
    return min(timed(lambda: classifier.predict_vectors(v, 5, t))[0] for _ in range(3))


def _growth(what: str, seconds: dict[int, float]) -> Figure:
    """Fit time ~ size^b on a log-log scale; linear growth (b = 1) is the reference."""
    sizes = np.log(np.array(list(seconds)))
    times = np.log(np.array(list(seconds.values())))
    exponent = float(np.polyfit(sizes, times, 1)[0])
    low, high = min(seconds), max(seconds)
    return Figure("classification", f"time exponent in {what} ({low}-{high}; {seconds[high]:.2f} s at {high})",
                  exponent, "", "linear growth", 1.0, 1.0 / max(exponent, 1e-9))


def _repeated(classifier: EvidenceClassifier, k: int) -> EvidenceClassifier:
    """The classifier with every entry present k times (copies get ids ``X~1``...): k times the entries."""
    if k == 1:
        return classifier
    taxonomy, bank, model = classifier.taxonomy, classifier.bank, classifier.model

    def copy_id(entry_id: str, i: int) -> str:
        return entry_id if i == 0 else f"{entry_id}~{i}"

    entries = tuple(replace(e, id=copy_id(e.id, i)) for i in range(k) for e in taxonomy.entries)
    rows = [j for j, t in enumerate(bank.texts) if t.kind != "theme"]
    themes = [j for j, t in enumerate(bank.texts) if t.kind == "theme"]
    texts = [replace(bank.texts[j], owner=copy_id(bank.texts[j].owner, i)) for i in range(k) for j in rows]
    texts += [bank.texts[j] for j in themes]
    vectors = np.vstack([bank.vectors[rows]] * k + [bank.vectors[themes]])
    repeated_taxonomy = replace(taxonomy, entries=entries)
    head = model.entry_head
    repeated_model = replace(
        model, entries=tuple(e.id for e in entries), entry_is_failure=np.tile(model.entry_is_failure, k),
        entry_theme=np.tile(model.entry_theme, k),
        entry_head=replace(head, classes=tuple(e.id for e in entries), weights=np.tile(head.weights, (k, 1)),
                           bias=np.tile(head.bias, k)))
    return EvidenceClassifier(classifier.encoder, repeated_taxonomy, model=repeated_model,
                              bank=EntryBank(repeated_taxonomy, texts, vectors, f"{bank.key}x{k}"),
                              tripwires=classifier.tripwires)
