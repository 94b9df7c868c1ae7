"""The fp32 PyTorch encoder against its int8 ONNX build: speed, embedding agreement and development-set quality.

int8 is only worth having if it is faster *and* the classifier trained on its vectors is as good, so one run
measures all three: encoding the same passages (after loading and a warm-up, each encoder timed twice,
alternating, the faster run counting), the cosine between the two embeddings of each passage, and the
5-fold cross-validated metrics of the evidence classifier (text only) with everything it is fitted on (entry
bank, dev-set and non-evidence vectors) embedded by one encoder, then by the other, on the same folds.
"""

from __future__ import annotations

import numpy as np

from bench.classification import sample_passages
from bench.common import Figure, timed
from pipeline.embed import Encoder, load_encoder
from pipeline.paths import DEVSET, MODELS_DIR
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from pipeline.training.crossval import evidence_fit_predict
from pipeline.training.dataset import TrainingSet, load_devset
from pipeline.training.evaluate import EvaluationReport, cross_validate, load_gold

METRICS = ("failure_flag_f1", "theme_macro_f1", "entry_recall_at_5", "evidence_f1")
TOLERANCE = 0.01  # int8 may become the default only if every metric is this close to fp32


def run() -> list[Figure]:
    texts = sample_passages()
    fp32, int8 = load_encoder("fp32"), load_encoder("onnx-int8")
    seconds, vectors = [float("inf")] * 2, [np.empty(0)] * 2
    for encoder in (fp32, int8):
        encoder.encode(texts[:64])  # load and warm up
    for _ in range(2):
        for i, encoder in enumerate((fp32, int8)):
            elapsed, vectors[i] = timed(lambda encoder=encoder: encoder.encode(texts))
            seconds[i] = min(seconds[i], elapsed)
    cosines = np.sum(vectors[0] * vectors[1], axis=1)
    figures = [Figure("encoders", f"int8 ONNX encode, {len(texts)} passages", seconds[1], "s",
                      "fp32 PyTorch encode of the same passages", seconds[0], seconds[0] / seconds[1])]
    for name, cosine in (("mean", float(cosines.mean())), ("minimum", float(cosines.min()))):
        # the table shows two decimals; the measure carries the figure that matters
        figures.append(Figure("encoders", f"{name} cosine, int8 vs fp32 embedding ({cosine:.4f})", cosine, "",
                              "identical embeddings", 1.0, cosine))
    reference, candidate = _cross_validated(fp32), _cross_validated(int8)
    for metric in METRICS:
        ours, theirs = float(getattr(candidate, metric)), float(getattr(reference, metric))
        verdict = "within" if abs(ours - theirs) <= TOLERANCE else "NOT within"
        figures.append(Figure("encoders", f"dev-set 5-fold CV {metric}, int8 {ours:.4f} - fp32 {theirs:.4f} = "
                              f"{ours - theirs:+.4f} ({verdict} {TOLERANCE})", ours, "", "fp32", theirs, ours / theirs))
    return figures


def _cross_validated(encoder: Encoder) -> EvaluationReport:
    """The evidence classifier's CV report with every vector it is fitted on from ``encoder``.

    Vectors are rounded to float16, as the shipped and cached ones are stored: a first run (freshly
    encoded int8 vectors) and later runs (read from the cache) then give the same figures.
    """
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    shipped = MODELS_DIR / taxonomy.id
    data = TrainingSet.load(encoder, taxonomy, shipped, rows=load_devset()).stored()
    return cross_validate(load_gold(DEVSET), evidence_fit_predict(encoder, data), 5,
                          themes=taxonomy.theme_ids)
