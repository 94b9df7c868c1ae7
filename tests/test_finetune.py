"""Fine-tuning MiniLM: SetFit-style pairs drawn by label, a seeded tune, the int8 export cached by rows; the
classification objective's weights, its cached lower layers and what its tune learns."""

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from pipeline.embed.onnx import BUILD, OnnxEncoder
from pipeline.training.dataset import LabelledRow
from pipeline.training.finetune import (
    FinetuneSettings,
    FrozenStates,
    classify_targets,
    classify_tune,
    contrastive_pairs,
    finetuned_encoder,
    row_label,
    top_layers_pooled,
    trainable_model,
)

ROWS = [
    LabelledRow("r1", "The Council set a balanced budget without drawing on reserves.", "R", False, ("R005",)),
    LabelledRow("r2", "Reserves were kept at the level the Section 151 officer advised.", "R", False, ("R005",)),
    LabelledRow("r3", "The Council has had to use reserves to balance the budget for three years.", "R", True,
                ("R-F06",)),
    LabelledRow("r4", "Reserves will be exhausted next year unless savings are found.", "R", True, ("R-F06",)),
    LabelledRow("r5", "The Ombudsman found fault causing injustice and upheld the complaint.", "SD", True,
                ("SD-F02",)),
    LabelledRow("r6", "The Ombudsman found maladministration in the handling of housing repairs.", "SD", True,
                ("SD-F02",)),
    LabelledRow("r7", "Apologies were received from Councillor Smith.", None, False, ()),
    LabelledRow("r8", "The meeting closed at 8.15 pm.", None, False, ()),
    LabelledRow("r9", "A single row of its label cannot form a positive pair.", "C", False, ()),
]


def test_pairs_join_same_labels_and_part_different_ones():
    labels = {r.text: row_label(r) for r in ROWS}
    pairs = contrastive_pairs(ROWS, 200, seed=3)
    assert len(pairs) == 400
    assert Counter(y for _, _, y in pairs) == {1.0: 200, 0.0: 200}
    for a, b, y in pairs:
        assert (labels[a] == labels[b]) == (y == 1.0)
    anchors = Counter(labels[a] for a, _, y in pairs if y == 1.0)
    assert ROWS[8].text not in {a for a, _, _ in pairs}  # a label with one row anchors nothing
    assert set(anchors) == {"R:other", "R:failure", "SD:failure", "none:other"}
    assert min(anchors.values()) > 30  # labels drawn uniformly, not by their number of rows
    assert contrastive_pairs(ROWS, 200, seed=3) == pairs  # seeded
    assert contrastive_pairs(ROWS, 200, seed=4) != pairs


def test_real_only_pairs_leave_the_written_rows_out():
    real = {"r3", "r4", "r7", "r8"}
    rows = [replace(r, group="devdocs/minutes.pdf") if r.id in real else r for r in ROWS]
    pairs = contrastive_pairs(rows, 50, seed=1, real_only=True)
    texts = {a for a, _, _ in pairs} | {b for _, b, _ in pairs}
    assert texts == {r.text for r in rows if r.id in real}
    everyone = {a for a, _, _ in contrastive_pairs(rows, 50, seed=1)}
    assert everyone - texts  # without it, the written rows are anchors too
    assert FinetuneSettings(real_only=True).key() != FinetuneSettings().key()  # a tuned model is cached apart


def test_pairs_need_two_labels():
    with pytest.raises(ValueError, match="two labels"):
        contrastive_pairs(ROWS[:2], 10, seed=0)


@pytest.mark.slow
def test_finetuned_encoder_is_seeded_cached_by_rows_and_exported_to_int8(tmp_path, encoder):
    settings = FinetuneSettings(pairs=16, batch_size=16)
    tuned = finetuned_encoder(ROWS, settings, cache=tmp_path)
    assert "+setfit-" in tuned.model_id and tuned.model_id.endswith(BUILD)
    assert tuned.file.is_file() and tuned.file.stat().st_size < 30e6  # int8: about 23 MB
    assert not list(tmp_path.rglob("*.safetensors"))  # the fp32 weights are not kept
    texts = [r.text for r in ROWS]
    vectors = tuned.encode(texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors, encoder.encode(texts), atol=1e-3)  # it learned something
    again = finetuned_encoder(ROWS, settings, cache=tmp_path)  # from the cache: the same model
    assert again.model_id == tuned.model_id and np.array_equal(again.encode(texts), vectors)
    rebuilt = finetuned_encoder(ROWS, settings, cache=tmp_path / "other")  # trained again: the same weights
    assert isinstance(rebuilt, OnnxEncoder) and np.allclose(rebuilt.encode(texts), vectors, atol=1e-6)


CLASSIFY = FinetuneSettings(objective="classify", batch_size=4, learning_rate=1e-4, head_learning_rate=1e-2,
                            max_tokens=32, epochs=6)


def test_classify_weights_rare_classes_up_to_the_cap_and_written_rows_apart():
    rows = [replace(r, group="devdocs/minutes.pdf") if r.id in {"r1", "r2", "r7", "r8", "r9"} else r for r in ROWS]
    kept, classes, weights = classify_targets(rows, replace(CLASSIFY, class_weight_cap=1.5, written_weight=0.5))
    assert classes == ["C", "R", "SD", "none"] and kept == rows
    by_id = dict(zip([r.id for r in kept], weights, strict=True))
    assert by_id["r1"] == 1.0 and by_id["r3"] == 0.5  # R, the largest class (4 rows): real 1, written half
    assert by_id["r7"] == 1.5 and by_id["r9"] == 1.5  # none (2 rows) and C (1 row) capped at 1.5
    assert by_id["r5"] == 0.75  # SD: capped, then halved as written
    real, classes, _ = classify_targets(rows, replace(CLASSIFY, written_weight=0.0))
    assert [r.id for r in real] == ["r1", "r2", "r7", "r8", "r9"] and classes == ["C", "R", "none"]
    assert replace(CLASSIFY, written_weight=0.5).key() != CLASSIFY.key() != FinetuneSettings().key()
    with pytest.raises(ValueError, match="two classes"):
        classify_targets(ROWS[:4], CLASSIFY)


def _separation(vectors: np.ndarray) -> float:
    """Mean cosine between rows of the same class minus that between rows of different classes."""
    classes = [r.theme or "none" for r in ROWS]
    same, other = [], []
    for i in range(len(ROWS)):
        for j in range(i + 1, len(ROWS)):
            (same if classes[i] == classes[j] else other).append(float(vectors[i] @ vectors[j]))
    return float(np.mean(same) - np.mean(other))


@pytest.mark.slow
def test_classify_tune_learns_the_classes_from_cached_lower_layers():
    import torch

    model = trainable_model(CLASSIFY)
    texts = [r.text for r in ROWS]
    before = model.encode(texts)
    frozen = FrozenStates(CLASSIFY.trained_layers, CLASSIFY.max_tokens)
    with torch.no_grad():  # the cached states through the top layers: the model's own vectors
        assert np.allclose(top_layers_pooled(model[0].auto_model, frozen(model, texts), 2).numpy(), before,
                           atol=1e-5)
    losses = classify_tune(model, ROWS, CLASSIFY, frozen)
    assert len(losses) == CLASSIFY.epochs and losses[-1] < losses[0] / 4
    after = model.encode(texts)
    assert not np.allclose(after, before, atol=1e-3)
    assert _separation(after) > _separation(before) + 0.05
