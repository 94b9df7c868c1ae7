"""The int8 ONNX encoder: built locally from the bundled weights, close to fp32."""

import numpy as np
import pytest

from pipeline.onnx_encoder import load_onnx_encoder

pytestmark = pytest.mark.slow

TEXTS = [
    "The Council set a balanced budget for 2024/25 without drawing on reserves.",
    "The Ombudsman found fault causing injustice and upheld the complaint.",
    "Apologies were received from Councillor Smith.",
    "The external auditor reported a significant weakness in arrangements for financial sustainability, "
    "and made statutory recommendations under section 24 of the Local Audit and Accountability Act 2014.",
]


def test_onnx_int8_is_built_locally_and_agrees_with_fp32(tmp_path, encoder):
    onnx = load_onnx_encoder(cache=tmp_path)
    assert list(tmp_path.rglob("*.onnx")) and onnx.model_id.endswith("+onnx-int8")
    assert onnx.model_id != encoder.model_id  # classifier ids must change with the encoder
    fast = onnx.encode(TEXTS)
    slow = encoder.encode(TEXTS)
    assert fast.shape == slow.shape
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosine = (fast * slow).sum(axis=1)
    assert cosine.min() > 0.97
    assert np.allclose(onnx.encode(TEXTS[::-1])[::-1], fast, atol=1e-5)  # order kept despite length sorting
    again = load_onnx_encoder(cache=tmp_path)  # the cached build is reused
    assert np.allclose(again.encode(TEXTS), fast, atol=1e-6)
