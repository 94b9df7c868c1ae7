"""The int8 ONNX encoder (the default): built locally from the bundled weights, close to fp32, and
independent of what it is encoded with and of the processor it runs on."""

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.embed import load_encoder
from pipeline.embed.model import bundled_model
from pipeline.embed.onnx import BUILD, OnnxEncoder, kernel_features

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
    assert encoder.model_id.endswith(BUILD) and fp32.model_id != encoder.model_id  # ids follow the build
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


EMULATED_CPU = "Haswell"  # AVX2 without AVX-512 or VNNI: int8 products are summed in 16 bits there
ENCODE_AND_PRINT = """
import json, sys
from pathlib import Path
from pipeline.embed.onnx import OnnxEncoder
path, model_id, cache = sys.argv[1:4]
print(json.dumps(OnnxEncoder(Path(path), model_id, cache=Path(cache)).encode(json.loads(sys.stdin.read())).tolist()))
"""


def test_a_vector_does_not_depend_on_the_processor(tmp_path, encoder):
    """The same build gives the same vectors on a processor without VNNI (emulated by qemu) as on this one: with
    8-bit weights the two summed differently (cosine 0.97 on some texts), so results depended on the machine."""
    if platform.machine() != "x86_64":
        pytest.skip(f"needs an x86-64 machine to emulate another x86-64 processor, not {platform.machine()}")
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.skip("needs qemu-x86_64 (Debian's qemu-user; .ci/run installs it) to emulate a processor without VNNI")
    path, _ = bundled_model()
    here = OnnxEncoder(path, encoder.model_id, cache=tmp_path).encode(TEXTS)
    emulated = subprocess.run([qemu, "-cpu", EMULATED_CPU, sys.executable, "-c", ENCODE_AND_PRINT, str(path),
                               encoder.model_id, str(tmp_path)], input=json.dumps(TEXTS), capture_output=True,
                              text=True, timeout=900, check=True, cwd=Path(__file__).parents[1])
    there = np.array(json.loads(emulated.stdout), dtype=np.float32)
    cosine = (here * there).sum(axis=1)
    assert cosine.min() > 0.998, cosine


def test_kernel_features_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni fma\n\nprocessor\t: 1\n")
    assert kernel_features(cpuinfo) == "avx2 avx512f avx512_vnni"  # in KERNEL_FEATURES' order, the rest left out
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2\n")
    assert kernel_features(cpuinfo) == platform.machine()  # none of them: the architecture says what there is
    assert kernel_features(tmp_path / "absent") == platform.machine()
