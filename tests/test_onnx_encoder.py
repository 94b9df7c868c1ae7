"""The int8 ONNX encoder (the default): built locally from the bundled weights, close to fp32, and
independent of what it is encoded with."""

import numpy as np
import pytest

from pipeline.embed import load_encoder
from pipeline.embed.model import bundled_model
from pipeline.embed.onnx import OnnxEncoder

pytestmark = pytest.mark.slow

TEXTS = [
    "The Council set a balanced budget for 2024/25 without drawing on reserves.",
    "The Ombudsman found fault causing injustice and upheld the complaint.",
    "Apologies were received from Councillor Smith.",
    "The external auditor reported a significant weakness in arrangements for financial sustainability, "
    "and made statutory recommendations under section 24 of the Local Audit and Accountability Act 2014.",
]


def test_onnx_int8_is_built_locally_and_agrees_with_fp32(tmp_path, encoder):
    path, _ = bundled_model()
    onnx = OnnxEncoder(path, encoder.model_id, cache=tmp_path)
    assert not onnx.loaded and not list(tmp_path.rglob("*.onnx"))  # built on first use, not before
    fp32 = load_encoder("fp32")
    assert encoder.model_id.endswith("+onnx-int8") and fp32.model_id != encoder.model_id  # ids follow the build
    fast = onnx.encode(TEXTS)
    assert [f.name for f in tmp_path.rglob("*.onnx")] == ["model.int8.onnx"] and not list(tmp_path.rglob(".build-*"))
    slow = fp32.encode(TEXTS)
    assert fast.shape == slow.shape
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosine = (fast * slow).sum(axis=1)
    assert cosine.min() > 0.97
    alone = np.vstack([onnx.encode([t]) for t in TEXTS])
    assert np.array_equal(alone, fast)  # a text's vector never depends on what it is encoded with
    again = OnnxEncoder(path, encoder.model_id, cache=tmp_path)  # the cached build is reused
    assert np.array_equal(again.encode(TEXTS), fast)
